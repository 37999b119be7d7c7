"""sotto: offline, streaming speech recognition and wake words (Python bindings).

>>> import numpy as np, sotto
>>> rec = sotto.Recognizer()                     # the default model (models/zoo or $SOTTO_MODEL)
>>> rec.transcribe("examples/audio/fox.wav").text
>>> s = rec.stream()
>>> s.accept(np.zeros(1600, np.float32), 16000)  # float32 in [-1, 1) (int16 is scaled)
>>> s.partial(); s.finish().text

Every computing call releases the GIL. Samples may be any 1-D array: float arrays are
converted to float32, int16 arrays are scaled by 1/32768.
"""

from __future__ import annotations

import numpy as _np

from . import _sotto
from ._sotto import Detection, Transcript, Word, __version__

__all__ = ["Recognizer", "Stream", "Transcript", "Word", "WakeWord", "Detection", "Vad", "__version__"]


def _as_f32(samples) -> _np.ndarray:
    """A contiguous 1-D float32 view or copy of `samples` (int16 PCM scaled to [-1, 1))."""
    a = _np.asarray(samples)
    if a.dtype == _np.int16:
        a = a.astype(_np.float32) / 32768.0
    elif a.dtype != _np.float32:
        if not _np.issubdtype(a.dtype, _np.floating):
            raise TypeError(f"samples must be float or int16 audio, got dtype {a.dtype}")
        a = a.astype(_np.float32)
    if a.ndim != 1:
        raise ValueError(f"samples must be one-dimensional (mono), got shape {a.shape}")
    return _np.ascontiguousarray(a)


class Stream:
    """One audio stream of a :class:`Recognizer`: ``accept`` audio, read ``partial``, ``finish``."""

    def __init__(self, native):
        self._s = native

    def accept(self, samples, rate: int) -> None:
        """Feeds mono samples at ``rate`` Hz (8-48 kHz, fixed until finish/reset) and decodes."""
        self._s.accept(_as_f32(samples).tobytes(), int(rate))

    def partial(self) -> str:
        """Text of the current best hypothesis of this segment."""
        return self._s.partial()

    def partial_transcript(self) -> Transcript:
        """The current best hypothesis with words and times."""
        return self._s.partial_transcript()

    def is_endpoint(self) -> bool:
        """Whether an endpoint rule fires (take the segment with :meth:`finish_segment`)."""
        return self._s.is_endpoint()

    def finish_segment(self) -> Transcript:
        """Final result of the current segment; decoding goes on in a new segment."""
        return self._s.finish_segment()

    def finish(self) -> Transcript:
        """End of audio: decodes the rest, returns the final transcript and resets the stream."""
        return self._s.finish()

    def reset(self) -> None:
        """Forgets all audio and results."""
        self._s.reset()

    @property
    def duration(self) -> float:
        """Seconds of audio accepted since the last reset."""
        return self._s.duration


class Recognizer:
    """A loaded model and search configuration, shared by any number of streams.

    ``model`` None: the default model (``$SOTTO_MODEL``, else ``models/zoo`` of the checkout).
    ``beam``, ``lm_weight``, ``word_bonus``, ``blank_penalty``, ``lodr_weight``, ``ctc_weight``, ``ctc_expand``,
    ``file_cmn``, ``mbr_scale``, ``score_beam`` None: the library's defaults (those of ``sotto transcribe``). ``file_cmn`` (0-1) is the
    per-file mean normalization of :meth:`transcribe` (streams use the model's mean); ``mbr_scale`` 0 makes
    final results the best path instead of the minimum-Bayes-risk choice; ``score_beam`` ``float('inf')`` keeps
    hypotheses however far below the best.
    The recognizer also has one built-in stream, so that ``accept``/``partial``/``finish``
    can be called on it directly; :meth:`stream` makes independent ones.
    """

    def __init__(self, model=None, *, beam=None, no_lm: bool = False, lm=None, lexicon=None,
                 hotwords=None, hotword_boost: float = 1.5, ctc: bool = False,
                 stop_at_endpoints: bool = False, lm_weight=None, word_bonus=None,
                 blank_penalty=None, lodr_weight=None, ctc_weight=None, ctc_expand=None,
                 file_cmn=None, mbr_scale=None, score_beam=None):
        self._r = _sotto.Recognizer(model, beam=beam, no_lm=no_lm, lm=lm, lexicon=lexicon,
                                    hotwords=hotwords, hotword_boost=hotword_boost, ctc=ctc,
                                    stop_at_endpoints=stop_at_endpoints, lm_weight=lm_weight,
                                    word_bonus=word_bonus, blank_penalty=blank_penalty,
                                    lodr_weight=lodr_weight, ctc_weight=ctc_weight,
                                    ctc_expand=ctc_expand, file_cmn=file_cmn, mbr_scale=mbr_scale,
                                    score_beam=score_beam)
        self._default = None

    @property
    def model_path(self) -> str:
        """Path of the loaded model."""
        return str(self._r.model_path)

    def stream(self) -> Stream:
        """A new, independent audio stream."""
        return Stream(self._r.stream())

    def transcribe(self, path) -> Transcript:
        """Transcribes an audio file (WAV, FLAC, MP3, Ogg Vorbis/Opus) like ``sotto transcribe``."""
        return self._r.transcribe(path)

    def _stream(self) -> Stream:
        if self._default is None:
            self._default = self.stream()
        return self._default

    def accept(self, samples, rate: int) -> None:
        """:meth:`Stream.accept` on the built-in stream."""
        self._stream().accept(samples, rate)

    def partial(self) -> str:
        """:meth:`Stream.partial` on the built-in stream."""
        return self._stream().partial()

    def finish(self) -> Transcript:
        """:meth:`Stream.finish` on the built-in stream."""
        return self._stream().finish()

    def __repr__(self) -> str:
        return f"Recognizer({self.model_path!r})"


class WakeWord:
    """A wake-word detector over microWakeWord models (``.json`` manifests) at ``rate`` Hz."""

    def __init__(self, manifests, rate: int = 16000):
        if isinstance(manifests, (str, bytes)) or hasattr(manifests, "__fspath__"):
            manifests = [manifests]
        self._w = _sotto.WakeWord(list(manifests), int(rate))

    @property
    def names(self) -> list:
        """Names of the wake words, in model order."""
        return self._w.names

    def accept(self, samples) -> list:
        """Feeds mono samples; returns the :class:`Detection` s they complete."""
        return self._w.accept(_as_f32(samples).tobytes())

    def finish(self) -> list:
        """End of the stream: the last detections; the detector is reset."""
        return self._w.finish()


class Vad:
    """Voice activity detection (Silero VAD; the built-in model unless ``model`` is given)."""

    def __init__(self, rate: int = 16000, *, model=None, threshold: float = 0.5,
                 min_speech_ms: int = 250, min_silence_ms: int = 100, speech_pad_ms: int = 30):
        self._v = _sotto.Vad(int(rate), model=model, threshold=threshold,
                             min_speech_ms=min_speech_ms, min_silence_ms=min_silence_ms,
                             speech_pad_ms=speech_pad_ms)

    def accept(self, samples) -> list:
        """Feeds mono samples; returns events ``("start", t)`` and ``("end", start, end)`` (s)."""
        return self._v.accept(_as_f32(samples).tobytes())

    def finish(self) -> list:
        """End of the stream: closes an open segment, returns the last events; resets."""
        return self._v.finish()
