/*
 * sotto.h: the C API of sotto, offline streaming speech recognition, wake words and voice
 * activity detection (libsotto; `pkg-config --cflags --libs sotto`).
 *
 * Conventions, the same for every function:
 *  - A function that fails returns NULL (pointers) or -1 (integers) and leaves a message in
 *    sotto_last_error() (per thread). NULL handles and invalid UTF-8 are such failures.
 *  - Results are JSON strings owned by the caller: free them with sotto_string_free().
 *  - No Rust panic crosses the boundary; an internal failure is an error like any other.
 *  - A recognizer may be shared by threads; a stream, wake-word detector or VAD is used by one
 *    thread at a time. Free every handle once with its _free function (NULL is ignored).
 *
 * Transcripts are JSON {"text": "...", "words": [{"word", "start", "end", "confidence"}]}
 * with times in seconds from the start of the stream.
 *
 * This header is written by hand; asr/capi's tests check it against the Rust definitions.
 */
#ifndef SOTTO_H
#define SOTTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded model and search configuration. */
typedef struct SottoRecognizer SottoRecognizer;
/* One audio stream of a recognizer. */
typedef struct SottoStream SottoStream;
/* A wake-word detector over one or more microWakeWord models. */
typedef struct SottoWakeWord SottoWakeWord;
/* A streaming voice activity detector (Silero VAD). */
typedef struct SottoVad SottoVad;

/* The library version (static, do not free). */
const char *sotto_version(void);
/* The message of the last failure on this thread, or NULL; valid until the next failing
 * call on this thread; do not free. */
const char *sotto_last_error(void);
/* Frees a string returned by this library (NULL is ignored). */
void sotto_string_free(char *s);

/* Loads a recognizer. model_path NULL: the default model ($SOTTO_MODEL, else models/zoo
 * next to the executable or in the source tree). options_json NULL or a JSON object with any
 * of "beam", "no_lm", "lm", "lexicon", "hotwords", "hotword_boost", "lm_weight",
 * "word_bonus", "lodr_weight", "blank_penalty", "ctc_weight", "ctc_expand", "file_cmn"
 * (per-file mean normalization of sotto_transcribe_file, 0-1), "mbr_scale" (0: the best
 * path instead of the minimum-Bayes-risk final choice), "score_beam" (natural log; a large value
 * keeps hypotheses however far below the best), "ctc", "stop_at_endpoints"
 * (unknown keys are an error). */
SottoRecognizer *sotto_recognizer_new(const char *model_path, const char *options_json);
/* Frees a recognizer (its streams stay valid). */
void sotto_recognizer_free(SottoRecognizer *rec);
/* Transcribes an audio file (WAV, FLAC, MP3, Ogg Vorbis/Opus) like `sotto transcribe`:
 * JSON {"text", "words", "duration"}. */
char *sotto_transcribe_file(const SottoRecognizer *rec, const char *path);

/* A new stream of rec. */
SottoStream *sotto_stream_new(const SottoRecognizer *rec);
/* Frees a stream. */
void sotto_stream_free(SottoStream *stream);
/* Feeds n samples in [-1, 1) at sample_rate Hz (8-48 kHz; fixed until finish or reset) and
 * decodes them. Returns 0, or -1. */
int sotto_stream_accept(SottoStream *stream, uint32_t sample_rate, const float *samples, size_t n);
/* The current best hypothesis of this segment (transcript JSON). */
char *sotto_stream_partial(const SottoStream *stream);
/* 1 when an endpoint rule fires, 0 when not, -1 on error. */
int sotto_stream_is_endpoint(const SottoStream *stream);
/* The final result of the current segment (transcript JSON); decoding goes on in a new one. */
char *sotto_stream_finish_segment(SottoStream *stream);
/* End of audio: the final result of the current segment (transcript JSON); the stream is
 * then reset for new audio. Fails on a stream that got no audio. */
char *sotto_stream_finish(SottoStream *stream);
/* Forgets all audio and results. Returns 0, or -1. */
int sotto_stream_reset(SottoStream *stream);

/* A wake-word detector for n microWakeWord manifests (.json) on audio at sample_rate Hz. */
SottoWakeWord *sotto_wakeword_new(const char *const *manifests, size_t n, uint32_t sample_rate);
/* Frees a wake-word detector. */
void sotto_wakeword_free(SottoWakeWord *wake);
/* Feeds n samples in [-1, 1]: JSON array of detections
 * [{"wake_word", "model", "time", "score"}] (time in seconds). */
char *sotto_wakeword_accept(SottoWakeWord *wake, const float *samples, size_t n);
/* End of the stream: the last detections (JSON array); the detector is reset. */
char *sotto_wakeword_finish(SottoWakeWord *wake);

/* A VAD for audio at sample_rate Hz (8000, 16000 or a multiple of 16000). model_path NULL:
 * the built-in model. options_json NULL or a JSON object with any of "threshold",
 * "neg_threshold", "min_speech_ms", "min_silence_ms", "speech_pad_ms". */
SottoVad *sotto_vad_new(const char *model_path, uint32_t sample_rate, const char *options_json);
/* Frees a VAD. */
void sotto_vad_free(SottoVad *vad);
/* Feeds n samples in [-1, 1]: JSON array of {"event": "start", "start"} and
 * {"event": "end", "start", "end"} (seconds). */
char *sotto_vad_accept(SottoVad *vad, const float *samples, size_t n);
/* End of the stream: the last events (JSON array); the VAD is reset. */
char *sotto_vad_finish(SottoVad *vad);

#ifdef __cplusplus
}
#endif

#endif /* SOTTO_H */
