//! Search over transducer network outputs: greedy and modified beam search, hotword biasing,
//! LM shallow fusion, endpoint rules, timestamps and BPE pieces → words.
//! Knows nothing of audio or model files: the network is reached through the [`TransducerNet`]
//! trait.
//!
//! Pieces:
//! * [`TransducerNet`] — what the search needs from the network (prediction network + joiner);
//! * [`Decoder`] — streaming search ([`SearchMethod::Greedy`],
//!   [`SearchMethod::ModifiedBeam`], or [`SearchMethod::CtcPrefixBeam`] over a CTC head) with optional hotwords ([`ContextGraph`]) and LM shallow
//!   fusion ([`LanguageModel`]); frames in, [`Hypothesis`] / [`Transcript`] out;
//! * [`EndpointConfig`] — sherpa-onnx endpoint rules over the decoder's trailing blanks;
//! * [`Transcript`] — text, words with start/end times and confidence, tokens (serde);
//! * [`toy`] — small synthetic networks for tests, examples and benchmarks.
//!
//! # Example
//!
//! ```
//! use sotto_decoder::{toy::TableTransducer, Decoder, DecoderOptions, SearchMethod, Vocab};
//!
//! // A toy network whose joiner spells "▁hi ▁there" over 8 frames.
//! let vocab = Vocab::new(["<blk>", "▁hi", "▁the", "re"].map(String::from).to_vec());
//! let net = TableTransducer::spelling(4, &[Some(1), None, Some(2), Some(3), None, None, None, None]);
//! let opts = DecoderOptions { method: SearchMethod::ModifiedBeam { beam: 4 }, ..Default::default() };
//! let mut dec = Decoder::new(&net, opts)?;
//! for frame in net.frames().chunks(3 * net.dim()) {
//!     dec.accept_frames(&net, frame)?; // frames may arrive in any batches
//!     let _live_caption = dec.partial(&vocab).text;
//! }
//! let result = dec.finish(&vocab);
//! assert_eq!(result.text, "hi there");
//! assert_eq!(result.words[1].start, 2.0 * 0.04); // "▁the" emitted at frame 2
//! # Ok::<(), sotto_decoder::DecoderError>(())
//! ```

mod beam;
pub mod context;
mod ctc;
mod ctc_track;
mod endpoint;
mod error;
mod greedy;
mod hyp;
pub mod lexicon;
pub mod lm;
mod logmath;
mod mbr;
pub mod ngram;
mod search;
pub mod toy;
mod transcript;
mod transducer;
pub mod words;

pub use context::{parse_hotwords, ContextGraph, ContextState, Hotword};
pub use ctc_track::{MAX_LABELS as CTC_MAX_LABELS, WINDOW as CTC_WINDOW};
pub use endpoint::{EndpointConfig, EndpointRule, EndpointRuleConfig};
pub use error::DecoderError;
pub use lexicon::{Lexicon, LexiconTree};
pub use lm::{LanguageModel, NoLm};
pub(crate) use logmath::log_softmax;
pub use ngram::{LmState, NgramError, NgramLm, WordId};
pub use search::{
    Decoder, DecoderOptions, Hypothesis, SearchMethod, Token, MAX_BEAM, MAX_CTC_EXPAND,
};
pub use transcript::{Alternative, TokenInfo, Transcript, Vocab, Word, WORD_START};
pub use transducer::TransducerNet;
pub use words::{Spelling, TokenBigram, WordGraph, WordScoring, SPELLED};
