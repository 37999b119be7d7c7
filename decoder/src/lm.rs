//! Language-model shallow fusion hook.

/// A token-level language model for shallow fusion (e.g. an n-gram over BPE pieces).
///
/// During search, for each candidate token the decoder adds `weight * score` to the
/// hypothesis score, where `score` is the LM log-probability of the token given the state.
/// No LM ships with sotto; implement this trait to plug one in.
pub trait LanguageModel {
    /// LM context of one hypothesis (e.g. the n-gram history).
    type State: Clone;

    /// The state at the start of an utterance (segment).
    fn start(&self) -> Self::State;

    /// Log-probability of `token` after `state`, and the state after it.
    fn score(&self, state: &Self::State, token: usize) -> (f32, Self::State);

    /// Log-probability of ending the utterance in `state` (e.g. `</s>`), added once by
    /// [`Decoder::finish`](crate::Decoder::finish). Zero by default.
    fn final_score(&self, _state: &Self::State) -> f32 {
        0.0
    }
}

/// The absent language model (the default of [`Decoder`](crate::Decoder)).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLm;

impl LanguageModel for NoLm {
    type State = ();

    fn start(&self) {}

    fn score(&self, _state: &(), _token: usize) -> (f32, ()) {
        (0.0, ())
    }
}
