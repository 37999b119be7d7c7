"""Type hints of the sotto package (see __init__.py for the docs)."""

from os import PathLike
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, "PathLike[str]"]
_Samples = Union[npt.NDArray[np.float32], npt.NDArray[np.float64], npt.NDArray[np.int16], Sequence[float]]

__version__: str

class Word:
    """One recognized word; times in seconds from the stream start."""
    word: str
    start: float
    end: float
    confidence: float

class Transcript:
    """A recognition result."""
    text: str
    words: List[Word]

class Detection:
    """A wake-word detection."""
    wake_word: str
    model: int
    time: float
    score: float

class Stream:
    """One audio stream of a Recognizer."""
    def accept(self, samples: _Samples, rate: int) -> None: ...
    def partial(self) -> str: ...
    def partial_transcript(self) -> Transcript: ...
    def is_endpoint(self) -> bool: ...
    def finish_segment(self) -> Transcript: ...
    def finish(self) -> Transcript: ...
    def reset(self) -> None: ...
    @property
    def duration(self) -> float: ...

class Recognizer:
    """A loaded model and search configuration."""
    def __init__(
        self,
        model: Optional[_Path] = None,
        *,
        beam: Optional[int] = None,
        no_lm: bool = False,
        lm: Optional[_Path] = None,
        lexicon: Optional[_Path] = None,
        hotwords: Optional[_Path] = None,
        hotword_boost: float = 1.5,
        ctc: bool = False,
        stop_at_endpoints: bool = False,
        lm_weight: Optional[float] = None,
        word_bonus: Optional[float] = None,
        blank_penalty: Optional[float] = None,
        lodr_weight: Optional[float] = None,
        ctc_weight: Optional[float] = None,
        ctc_expand: Optional[int] = None,
        file_cmn: Optional[float] = None,
        mbr_scale: Optional[float] = None,
        score_beam: Optional[float] = None,
    ) -> None: ...
    @property
    def model_path(self) -> str: ...
    def stream(self) -> Stream: ...
    def transcribe(self, path: _Path) -> Transcript: ...
    def accept(self, samples: _Samples, rate: int) -> None: ...
    def partial(self) -> str: ...
    def finish(self) -> Transcript: ...

class WakeWord:
    """A wake-word detector over microWakeWord models."""
    def __init__(self, manifests: Union[_Path, Sequence[_Path]], rate: int = 16000) -> None: ...
    @property
    def names(self) -> List[str]: ...
    def accept(self, samples: _Samples) -> List[Detection]: ...
    def finish(self) -> List[Detection]: ...

_VadEvent = Union[Tuple[str, float], Tuple[str, float, float]]

class Vad:
    """Voice activity detection (Silero VAD)."""
    def __init__(
        self,
        rate: int = 16000,
        *,
        model: Optional[_Path] = None,
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
    ) -> None: ...
    def accept(self, samples: _Samples) -> List[_VadEvent]: ...
    def finish(self) -> List[_VadEvent]: ...
