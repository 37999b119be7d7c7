//! Endpoint detection (sherpa-onnx rules).

/// One endpoint rule: fires when the segment contains speech (if required), the trailing
/// silence is at least `min_trailing_silence` and the segment is at least
/// `min_utterance_length` long (all in seconds).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EndpointRuleConfig {
    /// Only fire once something was decoded in the segment.
    pub must_contain_nonsilence: bool,
    /// Seconds of trailing blank frames (frames without emission) required.
    pub min_trailing_silence: f32,
    /// Seconds of segment length required.
    pub min_utterance_length: f32,
}

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EndpointRule {
    /// Long silence with nothing decoded.
    Rule1,
    /// Trailing silence after speech.
    Rule2,
    /// Maximum segment length.
    Rule3,
}

/// The three sherpa-onnx endpoint rules. Silence means frames in which the best hypothesis
/// emitted nothing; lengths count encoder frames since the last
/// [`Decoder::reset`](crate::Decoder::reset).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct EndpointConfig {
    /// Default: 2.4 s of silence, speech not required.
    pub rule1: EndpointRuleConfig,
    /// Default: 1.2 s of silence after speech.
    pub rule2: EndpointRuleConfig,
    /// Default: segment of 20 s.
    pub rule3: EndpointRuleConfig,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        let rule = |must_contain_nonsilence, min_trailing_silence, min_utterance_length| {
            EndpointRuleConfig {
                must_contain_nonsilence,
                min_trailing_silence,
                min_utterance_length,
            }
        };
        Self {
            rule1: rule(false, 2.4, 0.0),
            rule2: rule(true, 1.2, 0.0),
            rule3: rule(false, 0.0, 20.0),
        }
    }
}

/// Seconds → whole frames; the small tolerance makes e.g. 1.2 s at 40 ms exactly 30 frames
/// despite float rounding.
fn frames(seconds: f32, frame_duration: f32) -> usize {
    (seconds as f64 / frame_duration as f64 - 1e-4)
        .ceil()
        .max(0.0) as usize
}

impl EndpointRuleConfig {
    fn fires(
        &self,
        utterance_frames: usize,
        trailing_blank_frames: usize,
        frame_duration: f32,
    ) -> bool {
        let contains_speech = utterance_frames > trailing_blank_frames;
        (contains_speech || !self.must_contain_nonsilence)
            && trailing_blank_frames >= frames(self.min_trailing_silence, frame_duration)
            && utterance_frames >= frames(self.min_utterance_length, frame_duration)
    }
}

impl EndpointConfig {
    /// The first rule (1, 2, 3) that fires for a segment of `utterance_frames` encoder frames
    /// ending in `trailing_blank_frames` frames without emission.
    pub fn detect(
        &self,
        utterance_frames: usize,
        trailing_blank_frames: usize,
        frame_duration: f32,
    ) -> Option<EndpointRule> {
        [
            (self.rule1, EndpointRule::Rule1),
            (self.rule2, EndpointRule::Rule2),
            (self.rule3, EndpointRule::Rule3),
        ]
        .into_iter()
        .find(|(r, _)| r.fires(utterance_frames, trailing_blank_frames, frame_duration))
        .map(|(_, id)| id)
    }
}
