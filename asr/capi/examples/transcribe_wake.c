/*
 * transcribe_wake: streams a WAV file through the sotto C API as a live source would (100 ms
 * chunks), printing partial captions, wake-word detections and the final transcript.
 *
 *   cc -O2 transcribe_wake.c $(pkg-config --cflags --libs sotto) -o transcribe_wake
 *   ./transcribe_wake [--model M.safetensors] [--wake MANIFEST.json]... FILE.wav
 *
 * Output lines: `partial: JSON` when the hypothesis changes, `wake: JSON` per detection,
 * then `final: JSON` (text and words with times) and `rtf: X` (compute time of the
 * recognizer and detectors over the audio duration; model loading not included).
 * Reads 16-bit PCM WAV (mono, or the first channel of several); exit status 1 on any error.
 */
#include <sotto.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Little-endian integers from a byte buffer. */
static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads a 16-bit PCM WAV into floats in [-1, 1) (first channel). Returns 0, or -1 with a
 * message on stderr. */
static int read_wav(const char *path, float **out, size_t *n, uint32_t *rate) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size);
    if (!b || fread(b, 1, (size_t)size, f) != (size_t)size || size < 12 ||
        memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4)) {
        fprintf(stderr, "%s: not a RIFF/WAVE file\n", path);
        fclose(f);
        free(b);
        return -1;
    }
    fclose(f);
    uint16_t channels = 0, bits = 0, format = 0;
    for (long i = 12; i + 8 <= size;) {
        uint32_t len = le32(b + i + 4);
        if (!memcmp(b + i, "fmt ", 4) && len >= 16) {
            format = le16(b + i + 8);
            channels = le16(b + i + 10);
            *rate = le32(b + i + 12);
            bits = le16(b + i + 22);
        } else if (!memcmp(b + i, "data", 4)) {
            if (format != 1 || bits != 16 || channels == 0) {
                fprintf(stderr, "%s: only 16-bit PCM is supported here\n", path);
                free(b);
                return -1;
            }
            if (len > (uint32_t)(size - i - 8)) len = (uint32_t)(size - i - 8);
            *n = len / (2u * channels);
            *out = malloc(*n * sizeof(float) + 1);
            for (size_t k = 0; k < *n; k++)
                (*out)[k] = (int16_t)le16(b + i + 8 + 2 * channels * k) / 32768.0f;
            free(b);
            return 0;
        }
        i += 8 + len + (len & 1);
    }
    fprintf(stderr, "%s: no data chunk\n", path);
    free(b);
    return -1;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Prints the library's last error and exits. */
static void die(const char *what) {
    const char *e = sotto_last_error();
    fprintf(stderr, "%s: %s\n", what, e ? e : "unknown error");
    exit(1);
}

/* Prints each detection of a JSON array `[{...},{...}]` on its own `wake:` line. */
static void print_detections(char *json) {
    if (!json) die("wake word");
    if (strcmp(json, "[]")) printf("wake: %s\n", json);
    sotto_string_free(json);
}

int main(int argc, char **argv) {
    const char *model = NULL, *wav = NULL;
    const char *wakes[16];
    size_t nwake = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(argv[i], "--wake") && i + 1 < argc && nwake < 16) {
            wakes[nwake++] = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [--model M] [--wake MANIFEST]... FILE.wav\n", argv[0]);
            return 1;
        } else {
            wav = argv[i];
        }
    }
    if (!wav) {
        fprintf(stderr, "usage: %s [--model M] [--wake MANIFEST]... FILE.wav\n", argv[0]);
        return 1;
    }
    float *audio = NULL;
    size_t n = 0;
    uint32_t rate = 0;
    if (read_wav(wav, &audio, &n, &rate)) return 1;

    SottoRecognizer *rec = sotto_recognizer_new(model, NULL);
    if (!rec) die("recognizer");
    SottoStream *stream = sotto_stream_new(rec);
    if (!stream) die("stream");
    SottoWakeWord *wake = NULL;
    if (nwake && !(wake = sotto_wakeword_new(wakes, nwake, rate))) die("wake word");

    double compute = 0;
    char last[4096] = "";
    size_t chunk = rate / 10;
    for (size_t at = 0; at < n; at += chunk) {
        size_t len = n - at < chunk ? n - at : chunk;
        double t0 = now();
        if (sotto_stream_accept(stream, rate, audio + at, len)) die("accept");
        if (wake) print_detections(sotto_wakeword_accept(wake, audio + at, len));
        char *partial = sotto_stream_partial(stream);
        compute += now() - t0;
        if (!partial) die("partial");
        if (strcmp(partial, last)) {
            printf("partial: %s\n", partial);
            snprintf(last, sizeof last, "%s", partial);
        }
        sotto_string_free(partial);
    }
    double t0 = now();
    if (wake) print_detections(sotto_wakeword_finish(wake));
    char *final = sotto_stream_finish(stream);
    compute += now() - t0;
    if (!final) die("finish");
    printf("final: %s\n", final);
    printf("rtf: %.4f (%.3f s compute for %.3f s of audio)\n", compute / ((double)n / rate), compute,
           (double)n / rate);
    sotto_string_free(final);
    sotto_wakeword_free(wake);
    sotto_stream_free(stream);
    sotto_recognizer_free(rec);
    free(audio);
    return 0;
}
