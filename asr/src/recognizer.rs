//! Streaming speech recognizer: a shared, immutable [`Recognizer`] (model, search options) and
//! one [`Stream`] per audio stream (resampler, fbank, encoder state, search).
//!
//! ```no_run
//! use sotto_asr::recognizer::{Recognizer, RecognizerConfig};
//! let rec = Recognizer::new(RecognizerConfig::new(Recognizer::default_model()?))?;
//! let mut stream = rec.stream();
//! let samples = vec![0.0f32; 16000]; // one second of audio at 16 kHz
//! for chunk in samples.chunks(1600) {
//!     stream.accept_waveform(16000, chunk)?;
//!     stream.decode()?;
//!     println!("{}", stream.partial());
//! }
//! println!("{}", stream.finish()?.text);
//! # Ok::<(), sotto_asr::AsrError>(())
//! ```

mod net;
pub mod words;

use crate::AsrError;
use net::Net;
use sotto_decoder::{ContextGraph, Decoder, DecoderOptions, SearchMethod, Vocab};
use sotto_frontend::fbank::{Fbank, FbankConfig};
use sotto_frontend::resample::Resampler16k;
use sotto_models::transducer::{EncoderState, Transducer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use sotto_decoder::{EndpointConfig, EndpointRule, Transcript, Word};

/// Sample rate of the model's features; other rates are resampled to it (the frontend's one
/// 16 kHz constant).
pub const MODEL_SAMPLE_RATE: u32 = sotto_frontend::resample::TARGET_RATE;

/// Environment variable that overrides the default model path.
pub const MODEL_ENV: &str = "SOTTO_MODEL";

/// File names tried, in order, in a `models/zoo` folder before any other `.safetensors` there.
pub const DEFAULT_MODEL_NAMES: [&str; 2] = ["sotto-en-int8.safetensors", "sotto-en.safetensors"];

/// Default beam size of modified beam search (see [`RecognizerConfig::beam`]): with the word
/// LM and CTC scoring, wider beams keep finding better word sequences (dev WER at 16 to 2048 in
/// the README, "Words": on the model of 2026-12-05 03:10, 512 → 1024 gave 39.37 → 39.12 %).
/// Since the CTC states stopped following hopeless paths (2026-12-05), 1024 runs at 0.048 of
/// real time on one core (dev, the model of 05:50; README "Shipped model"): inside the 0.05
/// budget of live captions, with little room (512 halves it for 0.3 point of WER); `finish()`
/// takes 29 ms (median, max 40 ms).
pub const DEFAULT_BEAM: usize = 1024;

/// Beam (prefixes) of CTC prefix beam search when none is given (see [`default_beam`]): that
/// search's cost grows faster than the transducer's with the beam (five dev files, 62 s of
/// speech: 2.2 s at 64 prefixes, 18 s at 512, 50 s at 1024, one core beside training).
pub const DEFAULT_CTC_BEAM: usize = 64;

/// The beam a front end uses when the user gives none: [`DEFAULT_CTC_BEAM`] for CTC prefix
/// beam search (`ctc`), else [`DEFAULT_BEAM`]. One place, so the CLI and the bindings agree.
pub fn default_beam(ctc: bool) -> usize {
    if ctc {
        DEFAULT_CTC_BEAM
    } else {
        DEFAULT_BEAM
    }
}

/// Default weight of the word LM (tuned on dev together with the blank penalty, the LODR and CTC
/// weights and the beam, as described in the README, "Words"; raised with the LODR weight for the
/// stronger models of 2026-12-04 19:05 and 2026-12-05 03:10).
pub const DEFAULT_LM_WEIGHT: f32 = 0.8;
/// Default per-word bonus of the word-level search (tuned on dev with
/// [`DEFAULT_BLANK_PENALTY_WITH_LM`]).
pub const DEFAULT_WORD_BONUS: f32 = 0.25;

/// Default LODR weight (see [`RecognizerConfig::lodr_weight`]); chosen on dev with
/// `tools/train/tune_search.py` together with [`DEFAULT_LM_WEIGHT`] (README, "Words").
pub const DEFAULT_LODR_WEIGHT: f32 = 0.55;

/// Default CTC scoring weight (see [`RecognizerConfig::ctc_weight`]) for modified beam search
/// over a model with a CTC head; chosen on dev with `tools/train/tune_search.py` together with
/// [`DEFAULT_CTC_EXPAND`] (README, "Words").
pub const DEFAULT_CTC_WEIGHT: f32 = 0.6;

/// Default [`RecognizerConfig::ctc_expand`]: with CTC scoring, each frame makes twice the beam's
/// extensions and keeps the beam's best by transducer + CTC score (README, "Words").
pub const DEFAULT_CTC_EXPAND: usize = 2;

/// Default [`RecognizerConfig::mbr_scale`] for modified beam search: the final result is the
/// minimum-Bayes-risk choice among the beam's likeliest texts, with posteriors
/// `softmax(2 × score)`; chosen on dev (README, "Words").
pub const DEFAULT_MBR_SCALE: f32 = 2.0;

/// Default [`RecognizerConfig::score_beam`] for modified beam search: hypotheses more than 15
/// (natural log) below the best are dropped each frame; at beam 1024 the search is about 1.5
/// times as fast (dev RTF 0.0477 → 0.0308 on one core) at the same dev WER (README, "Words").
pub const DEFAULT_SCORE_BEAM: f32 = 15.0;

/// Default [`RecognizerConfig::file_cmn`]: [`Recognizer::transcribe_file`] normalizes a file's
/// features with the mean halfway between the model's (training) mean and the file's own
/// (README, "Words": 1.1 points of greedy dev WER on the shipped model, more than 0.3 or 0.7).
pub const DEFAULT_FILE_CMN: f32 = 0.5;

/// Default blank penalty without a word LM (see [`RecognizerConfig::blank_penalty`]): the
/// shipped model deletes words (a sixth of dev's reference words at penalty 0); 0.75 was best
/// of the values tried on dev (README, "Words").
pub const DEFAULT_BLANK_PENALTY: f32 = 0.75;

/// Default blank penalty when the search has a word LM: the LM favours fewer words, so more
/// of the blank's mass is taken off, and the word bonus is lower
/// ([`DEFAULT_WORD_BONUS`]); chosen on dev with `tools/train/tune_search.py` (README, "Words").
pub const DEFAULT_BLANK_PENALTY_WITH_LM: f32 = 1.5;

/// How a [`Recognizer`] is built.
#[derive(Debug, Clone)]
pub struct RecognizerConfig {
    /// Model file (`docs/model-format.md`).
    pub model: PathBuf,
    /// Beam size of modified beam search; 1 (or 0) selects greedy search, the fastest.
    pub beam: usize,
    /// Greedy search only: most symbols emitted per encoder frame (≥ 1). Modified beam search
    /// always emits at most one.
    pub max_symbols_per_frame: usize,
    /// Decode the model's CTC head with CTC prefix beam search (`beam` prefixes, at least 1)
    /// instead of the transducer; the lexicon, word LM and hotwords apply the same way.
    pub ctc: bool,
    /// Hotwords file (one phrase per line, optional ` :boost`), if any.
    pub hotwords: Option<PathBuf>,
    /// Per-token boost of hotwords that do not give their own.
    pub hotword_boost: f32,
    /// Pronunciation lexicon (CMUdict style) for a phone model, or a word list for a BPE
    /// model; `None`: the one shipped beside the model, if any (see
    /// [`use_companions`](Self::use_companions)).
    pub lexicon: Option<PathBuf>,
    /// Word n-gram LM (sotto binary or ARPA); `None`: the one shipped beside the model, if any.
    pub lm: Option<PathBuf>,
    /// Use no word LM even if one is shipped beside the model.
    pub no_lm: bool,
    /// Look for `NAME.lexicon.txt` / `NAME.lm.bin` beside the model when `lexicon` / `lm`
    /// are not given.
    pub use_companions: bool,
    /// Weight of the word LM (natural-log probabilities) against the acoustic scores.
    pub lm_weight: f32,
    /// Score added per word in the word-level search.
    pub word_bonus: f32,
    /// LODR weight: with a word LM and a model that ships its training transcripts' token
    /// bigram (`token_bigram`, `docs/model-format.md`), this × the bigram's log-probability is
    /// taken off every emitted token (transducer search only); 0 turns it off.
    pub lodr_weight: f32,
    /// BPE models in the word-level search: also write words outside the lexicon, piece by
    /// piece, each scored as an unknown word of the LM and charged this penalty (natural
    /// log, ≥ 0); `None`: only lexicon words.
    pub spell_penalty: Option<f32>,
    /// Subtracted from the blank logit of every frame before the search (natural log; 0:
    /// none). Positive values trade deletions for insertions. `None`:
    /// [`DEFAULT_BLANK_PENALTY_WITH_LM`] when the search has a word LM, else
    /// [`DEFAULT_BLANK_PENALTY`].
    pub blank_penalty: Option<f32>,
    /// CTC scoring: modified beam search over a model with a CTC head ranks hypotheses by the
    /// transducer's score + this × the CTC head's log-likelihood of the tokens (in the beam
    /// when [`ctc_expand`](Self::ctc_expand) > 1, and always in the final choice and partial
    /// results; 0: off). `None`: [`DEFAULT_CTC_WEIGHT`] where it applies (beam search over a
    /// model with a CTC head), else off; a weight above 0 with greedy or CTC search, or a model
    /// without a CTC head, is an error.
    pub ctc_weight: Option<f32>,
    /// With CTC scoring, each frame makes `ctc_expand × beam` extensions by the transducer's
    /// score and keeps the `beam` best by transducer + CTC score; 1: the CTC term only picks
    /// the final hypothesis ([`DecoderOptions::ctc_expand`](sotto_decoder::DecoderOptions::ctc_expand)).
    /// `None`: [`DEFAULT_CTC_EXPAND`]. Ignored without CTC scoring.
    pub ctc_expand: Option<usize>,
    /// Per-file mean normalization in [`Recognizer::transcribe_file`] (0 ≤ a ≤ 1): a first
    /// pass over the file computes the mean m of its fbank frames, and the stream then
    /// normalizes with (1 − a) × the model's CMVN mean + a × m
    /// ([`Stream::set_feature_mean`]), which adapts to the speaker and channel; 0: the model's
    /// mean only, as a live stream uses. Costs a second read of the file and its features.
    pub file_cmn: f32,
    /// Endpoint rules checked by [`Stream::is_endpoint`].
    pub endpoint: EndpointConfig,
    /// Stop [`Stream::decode`] at the exact encoder frame where an endpoint rule fires, so that
    /// segments do not depend on how the audio was chunked (for live captions; the caller then
    /// takes the segment with [`Stream::finish_segment`] and calls `decode` again). When false,
    /// `decode` runs through all available frames and endpoints are only reported.
    pub stop_at_endpoints: bool,
    /// Final results also list up to this many distinct alternative texts with their scores
    /// ([`Transcript::alternatives`]; beam search; 0: none, the default).
    pub alternatives: usize,
    /// Minimum-Bayes-risk final choice ([`DecoderOptions::mbr_scale`]); 0: off, the best
    /// path. `None`: [`DEFAULT_MBR_SCALE`] for modified beam search (beam > 1), else off.
    pub mbr_scale: Option<f32>,
    /// [`DecoderOptions::score_beam`]: hypotheses this far below the best (natural log) are
    /// dropped each frame; infinity: off. `None`: [`DEFAULT_SCORE_BEAM`] for modified beam
    /// search, else off.
    pub score_beam: Option<f32>,
}

impl RecognizerConfig {
    /// Defaults for a model: beam [`DEFAULT_BEAM`], the word-LM weights and blank penalty
    /// tuned on dev, no hotwords, sherpa-onnx endpoint rules.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            beam: DEFAULT_BEAM,
            max_symbols_per_frame: 1,
            ctc: false,
            hotwords: None,
            hotword_boost: 1.5,
            lexicon: None,
            lm: None,
            no_lm: false,
            use_companions: true,
            lm_weight: DEFAULT_LM_WEIGHT,
            word_bonus: DEFAULT_WORD_BONUS,
            lodr_weight: DEFAULT_LODR_WEIGHT,
            spell_penalty: None,
            blank_penalty: None,
            ctc_weight: None,
            ctc_expand: None,
            file_cmn: DEFAULT_FILE_CMN,
            alternatives: 0,
            mbr_scale: None,
            score_beam: None,
            endpoint: EndpointConfig::default(),
            stop_at_endpoints: false,
        }
    }
}

struct Inner {
    net: Net,
    vocab: Vocab,
    fbank: FbankConfig,
    opts: DecoderOptions,
    endpoint: EndpointConfig,
    stop_at_endpoints: bool,
    file_cmn: f32,
    model_path: PathBuf,
}

/// The immutable recognizer: one loaded model and search configuration, shared by any number
/// of [`Stream`]s (cheap to clone; `Send + Sync`).
#[derive(Clone)]
pub struct Recognizer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("model", &self.inner.model_path)
            .finish_non_exhaustive()
    }
}

/// The model's `features` metadata as an [`FbankConfig`] (missing keys keep their defaults).
fn fbank_config(path: &Path, features: &serde_json::Value) -> Result<FbankConfig, AsrError> {
    let bad = |msg: String| AsrError::ModelConfig {
        path: path.into(),
        msg,
    };
    if !features.is_object() {
        return Err(bad("`features` is not an object".into()));
    }
    let c = <FbankConfig as serde::Deserialize>::deserialize(features)
        .map_err(|e| bad(format!("features: {e}")))?;
    if c.sample_rate != MODEL_SAMPLE_RATE as f32 {
        return Err(bad(format!(
            "features.sample_rate {} (only {MODEL_SAMPLE_RATE} is supported)",
            c.sample_rate
        )));
    }
    Ok(c)
}

/// Reads an audio file in one-second chunks (the last one shorter), as a live stream would
/// arrive, and hands each to `f` with the file's rate; memory stays flat however long the file
/// is. Returns the rate and the number of samples read.
fn for_each_second(
    path: &Path,
    mut f: impl FnMut(u32, &[f32]) -> Result<(), AsrError>,
) -> Result<(u32, u64), AsrError> {
    let mut reader = sotto_frontend::audio::AudioReader::open(path)?;
    let rate = reader.sample_rate();
    let second = rate as usize;
    let mut buf = Vec::with_capacity(second + 8192);
    loop {
        let n = reader.read_chunk(&mut buf)?;
        if buf.len() >= second || (n == 0 && !buf.is_empty()) {
            f(rate, &buf)?;
            buf.clear();
        }
        if n == 0 {
            return Ok((rate, reader.samples_read()));
        }
    }
}

/// Sum of fbank frames (f64, in frame order, so any chunking gives the same bits).
struct MeanAcc {
    sum: Vec<f64>,
    frames: u64,
}

impl MeanAcc {
    fn new(dim: usize) -> Self {
        Self {
            sum: vec![0.0; dim],
            frames: 0,
        }
    }

    /// Adds the frames of `feats` (`[n, F]`) and empties it.
    fn take(&mut self, feats: &mut Vec<f32>) {
        for frame in feats.chunks_exact(self.sum.len()) {
            self.sum
                .iter_mut()
                .zip(frame)
                .for_each(|(s, &v)| *s += f64::from(v));
            self.frames += 1;
        }
        feats.clear();
    }

    /// (1 − a) × `global` + a × the mean; `None` without frames.
    fn blend(&self, global: &[f32], a: f32) -> Option<Vec<f32>> {
        if self.frames == 0 {
            return None;
        }
        let (a, n) = (f64::from(a), self.frames as f64);
        let mean = global
            .iter()
            .zip(&self.sum)
            .map(|(&g, &s)| ((1.0 - a) * f64::from(g) + a * s / n) as f32)
            .collect();
        Some(mean)
    }
}

/// What [`Recognizer::transcribe_file`] returns.
#[derive(Debug, Clone)]
pub struct FileTranscript {
    /// The final transcript of the file.
    pub transcript: Transcript,
    /// Seconds of audio read (at the file's own rate).
    pub audio_secs: f64,
    /// Seconds spent feeding, decoding and finishing (reading the file excluded).
    pub compute_secs: f64,
}

impl Recognizer {
    /// Load the model and prepare the search (hotwords are parsed and tokenized here).
    pub fn new(config: RecognizerConfig) -> Result<Self, AsrError> {
        let path = config.model.clone();
        if !path.exists() {
            return Err(AsrError::ModelNotFound(path));
        }
        let model = Transducer::load(&path)?;
        Self::from_transducer(model, config)
    }

    /// Build around an already loaded network (`config.model` is only used in messages).
    pub fn from_transducer(model: Transducer, config: RecognizerConfig) -> Result<Self, AsrError> {
        let path = config.model.clone();
        let info = model.info();
        let fbank = fbank_config(&path, &info.features)?;
        if fbank.dim() != model.hyper().feat_dim {
            let msg = format!(
                "{} fbank bins but feat_dim {}",
                fbank.dim(),
                model.hyper().feat_dim
            );
            return Err(AsrError::ModelConfig { path, msg });
        }
        if !(0.0..=1.0).contains(&config.file_cmn) {
            let msg = format!("file_cmn must be in [0, 1], got {}", config.file_cmn);
            return Err(AsrError::ModelConfig { path, msg });
        }
        let vocab = Vocab::new(info.tokens.clone());
        if config.ctc && !model.has_ctc() {
            let msg = "CTC decoding asked for, but the model has no CTC head".to_string();
            return Err(AsrError::ModelConfig { path, msg });
        }
        let method = if config.ctc {
            SearchMethod::CtcPrefixBeam {
                beam: config.beam.max(1),
            }
        } else if config.beam <= 1 {
            SearchMethod::Greedy {
                max_symbols_per_frame: config.max_symbols_per_frame,
            }
        } else {
            SearchMethod::ModifiedBeam { beam: config.beam }
        };
        let hotword_list = match &config.hotwords {
            None => None,
            Some(p) => Some(words::read_hotwords(p)?),
        };
        let blank = model.hyper().blank_id as usize;
        let words = words::word_graph(
            &config,
            info,
            &vocab,
            blank,
            hotword_list.as_deref(),
            model.token_bigram(),
        )?;
        // Token-level hotwords only without the word-level search (there they are words).
        let hotwords = match (&hotword_list, &words) {
            (Some(list), None) => {
                let p = config.hotwords.clone().unwrap_or_default();
                // Model pieces are upper-case (recipe normalization); match hotwords likewise.
                let upper = vocab.id("▁THE").is_some()
                    || info.tokens.iter().all(|t| t.to_uppercase() == *t);
                let graph = ContextGraph::from_hotwords(list, config.hotword_boost, |phrase| {
                    vocab.encode(&if upper {
                        phrase.to_uppercase()
                    } else {
                        phrase.to_string()
                    })
                })
                .map_err(|e| AsrError::Hotwords {
                    path: p,
                    msg: e.to_string(),
                })?;
                Some(Arc::new(graph))
            }
            _ => None,
        };
        let blank_penalty = config.blank_penalty.unwrap_or_else(|| {
            match words.as_ref().is_some_and(|w| w.lm().is_some()) {
                true => DEFAULT_BLANK_PENALTY_WITH_LM,
                false => DEFAULT_BLANK_PENALTY,
            }
        });
        let ctc_weight = match config.ctc_weight {
            Some(w) => w,
            None if model.has_ctc() && matches!(method, SearchMethod::ModifiedBeam { .. }) => {
                DEFAULT_CTC_WEIGHT
            }
            None => 0.0,
        };
        if ctc_weight > 0.0 && !model.has_ctc() {
            let msg = format!(
                "CTC rescoring (ctc_weight {ctc_weight}) asked for, but the model has no CTC head"
            );
            return Err(AsrError::ModelConfig { path, msg });
        }
        let frame_duration = model.hyper().stack as f32 * fbank.frame_shift_ms / 1000.0;
        let opts = DecoderOptions {
            method,
            frame_duration,
            hotwords,
            words,
            blank_penalty,
            ctc_weight,
            ctc_expand: config.ctc_expand.unwrap_or(DEFAULT_CTC_EXPAND),
            alternatives: config.alternatives,
            mbr_scale: config.mbr_scale.unwrap_or(match method {
                SearchMethod::ModifiedBeam { beam } if beam > 1 => DEFAULT_MBR_SCALE,
                _ => 0.0,
            }),
            score_beam: config.score_beam.unwrap_or(match method {
                SearchMethod::ModifiedBeam { .. } => DEFAULT_SCORE_BEAM,
                _ => f32::INFINITY,
            }),
            ..Default::default()
        };
        let net = Net {
            model,
            ctc: config.ctc,
            rescore: ctc_weight > 0.0,
        };
        Decoder::new(&net, opts.clone())?; // validates the options once, here
        Ok(Self {
            inner: Arc::new(Inner {
                net,
                vocab,
                fbank,
                opts,
                endpoint: config.endpoint,
                stop_at_endpoints: config.stop_at_endpoints,
                file_cmn: config.file_cmn,
                model_path: path,
            }),
        })
    }

    /// The default model: `$SOTTO_MODEL` if set; otherwise the first of
    /// [`DEFAULT_MODEL_NAMES`] (then any `.safetensors`, int8 preferred) found in `models/zoo`
    /// next to the executable (or up to three folders above it), then in this workspace's
    /// `models/zoo`.
    pub fn default_model() -> Result<PathBuf, AsrError> {
        if let Some(p) = std::env::var_os(MODEL_ENV) {
            return Ok(PathBuf::from(p));
        }
        let mut dirs = Vec::new();
        if let Some(exe_dir) = std::env::current_exe()
            .ok()
            .as_deref()
            .and_then(Path::parent)
        {
            for dir in exe_dir.ancestors().take(4) {
                dirs.push(dir.join("models/zoo"));
            }
        }
        dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/zoo"));
        for dir in &dirs {
            if let Some(p) = find_in_zoo(dir) {
                return Ok(p);
            }
        }
        Err(AsrError::NoDefaultModel { searched: dirs })
    }

    /// A new, independent audio stream.
    pub fn stream(&self) -> Stream {
        let inner = &self.inner;
        Stream {
            rec: self.clone(),
            fbank: Fbank::new(inner.fbank.clone()).expect("fbank config validated at load"),
            rate: None,
            resampler: passthrough(),
            resampled: Vec::new(),
            enc_state: inner.net.model.new_state(),
            decoder: Decoder::new(&inner.net, inner.opts.clone())
                .expect("options validated at load"),
            feats: Vec::new(),
            enc: Vec::new(),
            samples: 0,
            input_frames: 0,
            pending: Vec::new(),
            segment_frames: 0,
            input_done: false,
        }
    }

    /// Decodes an audio file through a fresh stream, reading and feeding it in one-second
    /// chunks as a live stream would, so memory stays flat however long the file is (the loop
    /// of `sotto transcribe` and of the C and Python bindings).
    ///
    /// With [`RecognizerConfig::file_cmn`] > 0 the file is read twice: first for the mean of its
    /// features (flat memory too), then decoded with the adapted mean.
    pub fn transcribe_file(&self, path: impl AsRef<Path>) -> Result<FileTranscript, AsrError> {
        let mut stream = self.stream();
        let mut compute = std::time::Duration::ZERO;
        if self.inner.file_cmn > 0.0 {
            let t = std::time::Instant::now();
            let mean = self.file_feature_mean(path.as_ref(), &mut stream)?;
            if let Some(m) = mean {
                stream.set_feature_mean(Some(&m))?;
            }
            compute += t.elapsed();
        }
        let (rate, samples) = for_each_second(path.as_ref(), |rate, chunk| {
            let t = std::time::Instant::now();
            stream.accept_waveform(rate, chunk)?;
            stream.decode()?;
            compute += t.elapsed();
            Ok(())
        })?;
        let t = std::time::Instant::now();
        let transcript = stream.finish()?;
        compute += t.elapsed();
        Ok(FileTranscript {
            transcript,
            audio_secs: samples as f64 / f64::from(rate),
            compute_secs: compute.as_secs_f64(),
        })
    }

    /// The adapted feature mean of a whole file for [`transcribe_file`](Self::transcribe_file):
    /// (1 − a) × the model's CMVN mean + a × the mean of the file's fbank frames, computed
    /// by `stream`'s own frontend in one-second chunks (so exactly the frames it will decode);
    /// `None` for a file too short for one frame. Leaves `stream` reset.
    fn file_feature_mean(
        &self,
        path: &Path,
        stream: &mut Stream,
    ) -> Result<Option<Vec<f32>>, AsrError> {
        let mut acc = MeanAcc::new(self.model().hyper().feat_dim);
        for_each_second(path, |rate, chunk| {
            stream.accept_waveform(rate, chunk)?;
            acc.take(&mut stream.feats);
            Ok(())
        })?;
        self.finish_mean(stream, acc)
    }

    /// [`RecognizerConfig::file_cmn`]'s adapted feature mean for audio held in memory (`rate`
    /// Hz, e.g. one speech segment): (1 − a) × the model's CMVN mean + a × the mean of the
    /// audio's fbank frames; `None` when a = 0 or the audio is shorter than one frame. Give it
    /// to [`Stream::set_feature_mean`] before feeding the same audio.
    pub fn adapted_feature_mean(
        &self,
        rate: u32,
        audio: &[f32],
    ) -> Result<Option<Vec<f32>>, AsrError> {
        if self.inner.file_cmn <= 0.0 {
            return Ok(None);
        }
        let mut stream = self.stream();
        let mut acc = MeanAcc::new(self.model().hyper().feat_dim);
        for chunk in audio.chunks(rate.max(1) as usize) {
            stream.accept_waveform(rate, chunk)?;
            acc.take(&mut stream.feats);
        }
        self.finish_mean(&mut stream, acc)
    }

    /// Flushes `stream`'s frontend into `acc`, resets the stream and blends the mean.
    fn finish_mean(
        &self,
        stream: &mut Stream,
        mut acc: MeanAcc,
    ) -> Result<Option<Vec<f32>>, AsrError> {
        stream.input_finished()?;
        acc.take(&mut stream.feats);
        stream.reset();
        Ok(acc.blend(self.model().cmvn_mean(), self.inner.file_cmn))
    }

    /// The network.
    pub fn model(&self) -> &Transducer {
        &self.inner.net.model
    }

    /// Path of the model file.
    pub fn model_path(&self) -> &Path {
        &self.inner.model_path
    }

    /// The word-level search setup (lexicon tree, LM), if the recognizer uses one.
    pub fn word_graph(&self) -> Option<&sotto_decoder::WordGraph> {
        self.inner.opts.words.as_deref()
    }

    /// Duration of one encoder frame in seconds (the time resolution of word timestamps).
    pub fn frame_duration(&self) -> f32 {
        self.inner.opts.frame_duration
    }

    /// The search options the configuration resolved to (method, blank penalty, CTC
    /// rescoring weight, …).
    pub fn decoder_options(&self) -> &DecoderOptions {
        &self.inner.opts
    }
}

fn find_in_zoo(dir: &Path) -> Option<PathBuf> {
    if let Some(p) = DEFAULT_MODEL_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    {
        return Some(p);
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    all.sort_by_key(|p| (!p.to_string_lossy().contains("int8"), p.clone()));
    all.into_iter().next()
}

/// A 16 kHz → 16 kHz resampler (copies its input).
fn passthrough() -> Resampler16k {
    Resampler16k::new(MODEL_SAMPLE_RATE).expect("16 kHz is a supported input rate")
}

/// One audio stream: feed samples, decode, read partial results, detect endpoints, finish.
/// Owns all per-stream state; the model is shared through its [`Recognizer`].
pub struct Stream {
    rec: Recognizer,
    fbank: Fbank,
    /// Input rate fixed by the first chunk.
    rate: Option<u32>,
    /// To 16 kHz; until the first chunk sets the rate, and for 16 kHz input, a pass-through.
    resampler: Resampler16k,
    /// The resampler's output for the chunk being accepted (reused).
    resampled: Vec<f32>,
    enc_state: EncoderState,
    decoder: Decoder<Net>,
    /// Fbank frames not yet run through the encoder.
    feats: Vec<f32>,
    enc: Vec<f32>,
    /// Input samples since the last reset.
    samples: u64,
    /// Feature frames given directly since the last reset.
    input_frames: u64,
    /// Joiner-projected encoder frames not yet searched (held back at an endpoint).
    pending: Vec<f32>,
    /// Encoder frames searched in the current segment.
    segment_frames: usize,
    /// [`Stream::input_finished`] was called.
    input_done: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// Feed samples in `[-1, 1)` at `sample_rate` (resampled to 16 kHz when different; the rate
    /// must stay the same until [`reset`](Self::reset)). Computes features only; the network
    /// runs in [`decode`](Self::decode).
    pub fn accept_waveform(&mut self, sample_rate: u32, samples: &[f32]) -> Result<(), AsrError> {
        if self.input_done {
            return Err(AsrError::InputFinished);
        }
        match self.rate {
            Some(r) if r != sample_rate => {
                return Err(AsrError::RateChanged {
                    from: r,
                    to: sample_rate,
                })
            }
            Some(_) => {}
            None => {
                self.resampler = Resampler16k::new(sample_rate)?;
                self.rate = Some(sample_rate);
            }
        }
        if let Some(i) = samples.iter().position(|s| !s.is_finite()) {
            return Err(AsrError::NonFinite {
                index: self.samples + i as u64,
            });
        }
        self.samples += samples.len() as u64;
        self.resampled.clear();
        self.resampler.accept(samples, &mut self.resampled);
        self.fbank.accept(&self.resampled, &mut self.feats)?;
        Ok(())
    }

    /// Feed precomputed fbank frames (`[n, F]` row-major, computed with the model's `features`
    /// configuration) instead of audio. Do not mix with [`accept_waveform`](Self::accept_waveform)
    /// in one stream.
    pub fn accept_features(&mut self, feats: &[f32]) -> Result<(), AsrError> {
        let f = self.rec.model().hyper().feat_dim;
        if !feats.len().is_multiple_of(f) {
            let msg = format!(
                "{} values is not a whole number of {f}-dim frames",
                feats.len()
            );
            return Err(sotto_models::transducer::TransducerError::Input(msg).into());
        }
        self.feats.extend_from_slice(feats);
        self.input_frames += (feats.len() / f) as u64;
        Ok(())
    }

    /// Normalize this stream's features with `mean` (`[F]` fbank bins) instead of the model's
    /// CMVN mean, e.g. one adapted to the speaker or channel; `None`: the model's mean. Call it
    /// before the first audio so that every frame is normalized alike (later calls apply to
    /// frames not yet encoded). [`reset`](Self::reset) goes back to the model's mean.
    pub fn set_feature_mean(&mut self, mean: Option<&[f32]>) -> Result<(), AsrError> {
        let model = &self.rec.inner.net.model;
        model.set_feature_mean(&mut self.enc_state, mean)?;
        Ok(())
    }

    /// Run the encoder and the search over all features accepted so far. With
    /// [`RecognizerConfig::stop_at_endpoints`], the search stops at the frame where an endpoint
    /// rule fires; take the segment with [`finish_segment`](Self::finish_segment) and call
    /// `decode` again to go on.
    pub fn decode(&mut self) -> Result<(), AsrError> {
        self.run(self.rec.inner.stop_at_endpoints)
    }

    fn run(&mut self, stop_at_endpoints: bool) -> Result<(), AsrError> {
        let rec = self.rec.clone();
        let net = &rec.inner.net;
        // At the end of the input the encoder also releases frames held for look-ahead.
        if !self.feats.is_empty() || self.input_done {
            self.enc.clear();
            let mut n = net
                .model
                .encode(&mut self.enc_state, &self.feats, &mut self.enc)?;
            self.feats.clear();
            if self.input_done {
                n += net.model.flush(&mut self.enc_state, &mut self.enc)?;
            }
            if n > 0 {
                // The search sees joiner-projected frames (or CTC logits), computed for the
                // whole batch at once.
                net.search_frames_into(&self.enc, &mut self.pending);
            }
        }
        let j = sotto_decoder::TransducerNet::encoder_dim(net);
        if !stop_at_endpoints {
            self.decoder.accept_frames(net, &self.pending)?;
            self.segment_frames += self.pending.len() / j;
            self.pending.clear();
            return Ok(());
        }
        // Frame by frame, so that an endpoint is seen at the same frame for any chunking.
        let mut used = 0;
        while used < self.pending.len() && !self.is_endpoint() {
            self.decoder
                .accept_frames(net, &self.pending[used..used + j])?;
            self.segment_frames += 1;
            used += j;
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// Marks the end of the input: the resampler and fbank are flushed so that
    /// [`decode`](Self::decode) sees the last frames (a live caller can then still collect
    /// endpoints before [`finish`](Self::finish)). No audio may follow until a reset.
    pub fn input_finished(&mut self) -> Result<(), AsrError> {
        if self.input_done {
            return Ok(());
        }
        self.input_done = true;
        self.resampled.clear();
        self.resampler.finish(&mut self.resampled);
        self.fbank.accept(&self.resampled, &mut self.feats)?;
        self.fbank.finish(&mut self.feats);
        Ok(())
    }

    /// Text of the current best hypothesis of this segment.
    pub fn partial(&self) -> String {
        self.partial_transcript().text
    }

    /// Current best hypothesis of this segment with words and times.
    pub fn partial_transcript(&self) -> Transcript {
        self.decoder.partial(&self.rec.inner.vocab)
    }

    /// Whether an endpoint rule fires (trailing silence after speech, long silence, or a long
    /// segment). Take the segment's text with [`finish_segment`](Self::finish_segment).
    pub fn is_endpoint(&self) -> bool {
        self.segment_frames > 0 && self.endpoint_rule().is_some()
    }

    /// Which endpoint rule fires, if any.
    pub fn endpoint_rule(&self) -> Option<EndpointRule> {
        self.decoder.endpoint(&self.rec.inner.endpoint)
    }

    /// Final result of the current segment; the search starts a new segment while the audio
    /// goes on (timestamps keep counting from the stream start). As in sherpa-onnx, the
    /// prediction network keeps its last tokens as context for the next segment.
    pub fn finish_segment(&mut self) -> Transcript {
        let t = self.decoder.finish(&self.rec.inner.vocab);
        self.decoder.reset_keep_context();
        self.segment_frames = 0;
        t
    }

    /// End of audio: flush the resampler and the fbank, decode the rest and return the final
    /// transcript of the current segment. The stream is then reset for new audio. Trailing
    /// audio shorter than one encoder frame (40 ms) is dropped, as in training.
    pub fn finish(&mut self) -> Result<Transcript, AsrError> {
        if self.samples == 0 && self.input_frames == 0 {
            self.reset();
            return Err(AsrError::EmptyAudio);
        }
        // Everything left is decoded into this segment, endpoints or not.
        let result = self
            .input_finished()
            .and_then(|()| self.run(false))
            .map(|()| self.decoder.finish(&self.rec.inner.vocab));
        self.reset();
        result
    }

    /// Forget all audio and results: the stream is as new.
    pub fn reset(&mut self) {
        let net = &self.rec.inner.net;
        self.fbank.reset();
        self.rate = None;
        self.resampler = passthrough();
        self.enc_state = net.model.new_state();
        self.decoder =
            Decoder::new(net, self.rec.inner.opts.clone()).expect("options validated at load");
        self.feats.clear();
        self.samples = 0;
        self.input_frames = 0;
        self.pending.clear();
        self.segment_frames = 0;
        self.input_done = false;
    }

    /// Encoder frames the search has consumed since the last reset (each
    /// [`Recognizer::frame_duration`] long). Behind the audio by the frames that wait in the
    /// frontend, the frame stacking and, for a model with look-ahead, the unfinished chunk; all
    /// of them are decoded once the input is finished.
    pub fn frames_decoded(&self) -> usize {
        self.decoder.frames_decoded()
    }

    /// Seconds of input audio since the last reset.
    pub fn duration(&self) -> f64 {
        self.rate.map_or(0.0, |r| self.samples as f64 / r as f64)
    }
}
