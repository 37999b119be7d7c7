//! Subcommands. Each module has an `Args` (clap) and `run(Args) -> anyhow::Result<()>`.

pub mod caption;
pub mod features;
pub mod info;
pub mod lm;
pub mod quantize;
pub mod transcribe;
pub mod vad;
pub mod wake;
pub mod wake_eval;
pub mod wake_train;

/// Model and search options shared by `transcribe` and `caption`.
#[derive(clap::Args, Debug)]
pub struct RecognizerArgs {
    /// Model file (default: $SOTTO_MODEL, else the shipped model in models/zoo).
    #[arg(long, short = 'm', value_name = "M")]
    pub model: Option<std::path::PathBuf>,
    /// Beam size of modified beam search (1 = greedy); with --ctc, the prefixes of CTC prefix
    /// beam search [default: 1024; 64 with --ctc]
    #[arg(long, value_name = "K")]
    pub beam: Option<usize>,
    /// Greedy search (--beam 1): most symbols emitted per encoder frame.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub max_symbols: u32,
    /// Word n-gram LM (`sotto lm build` binary or ARPA); default: NAME.lm.bin beside the model.
    #[arg(long, value_name = "FILE")]
    pub lm: Option<std::path::PathBuf>,
    /// Decode without a word LM even when one is shipped beside the model.
    #[arg(long, conflicts_with = "lm")]
    pub no_lm: bool,
    /// Weight of the word LM against the acoustic scores.
    #[arg(long, value_name = "W", default_value_t = sotto_asr::recognizer::DEFAULT_LM_WEIGHT)]
    pub lm_weight: f32,
    /// Score added per recognized word (word-level search).
    #[arg(long, value_name = "B", default_value_t = sotto_asr::recognizer::DEFAULT_WORD_BONUS, allow_negative_numbers = true)]
    pub word_bonus: f32,
    /// LODR weight: with a word LM, subtract W × the model's token bigram (its training
    /// transcripts', when the file ships one) per emitted token; 0 = off.
    #[arg(long, value_name = "W", default_value_t = sotto_asr::recognizer::DEFAULT_LODR_WEIGHT)]
    pub lodr_weight: f32,
    /// Pronunciation lexicon (CMUdict style, for phone models) or word list (BPE models);
    /// default: NAME.lexicon.txt beside the model.
    #[arg(long, value_name = "FILE")]
    pub lexicon: Option<std::path::PathBuf>,
    /// BPE models: also write words outside the lexicon/LM vocabulary, piece by piece, each
    /// charged penalty P (natural log) on top of the LM's unknown-word score.
    #[arg(long, value_name = "P")]
    pub spell_penalty: Option<f32>,
    /// Subtract P from the blank logit of every frame (natural log): more words, fewer
    /// deletions; 0 = the network's own distribution [default: 1.5 with a word LM, 0.75 without]
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub blank_penalty: Option<f32>,
    /// Decode the model's CTC head (CTC prefix beam search, --beam prefixes) instead of the
    /// transducer; lexicon, LM and hotwords apply the same way.
    #[arg(long)]
    pub ctc: bool,
    /// CTC scoring: beam search ranks hypotheses by the transducer's score + W × the model's
    /// CTC head log-likelihood (the beam, partial and final results); 0 = off [default: 0.6
    /// with --beam > 1 on a model with a CTC head, else off]
    #[arg(long, value_name = "W")]
    pub ctc_weight: Option<f32>,
    /// With CTC scoring, every frame makes N × beam extensions by the transducer's score and
    /// keeps the beam's best by transducer + CTC score; 1 = the CTC term only picks the final
    /// hypothesis
    #[arg(long, value_name = "N", default_value_t = sotto_asr::recognizer::DEFAULT_CTC_EXPAND)]
    pub ctc_expand: usize,
    /// Final results: the minimum-Bayes-risk choice among the beam's likeliest texts (the
    /// fewest expected word errors), posteriors softmax(S × score); 0 = the best path
    /// [default: 2 for transducer beam search (--beam > 1 without --ctc), else off]
    #[arg(long, value_name = "S")]
    pub mbr_scale: Option<f32>,
    /// Beam search: drop hypotheses more than M (natural log) below the best each frame, however
    /// many the beam could hold; inf = off [default: 15 for transducer beam search, else off]
    #[arg(long, value_name = "M")]
    pub score_beam: Option<f32>,
}

impl RecognizerArgs {
    /// The recognizer configuration these options ask for (the default model resolved here).
    pub fn config(self) -> anyhow::Result<sotto_asr::recognizer::RecognizerConfig> {
        let model = match self.model {
            Some(m) => m,
            None => sotto_asr::recognizer::Recognizer::default_model()?,
        };
        Ok(sotto_asr::recognizer::RecognizerConfig {
            beam: self
                .beam
                .unwrap_or(sotto_asr::recognizer::default_beam(self.ctc))
                .max(1),
            max_symbols_per_frame: self.max_symbols as usize,
            lm: self.lm,
            no_lm: self.no_lm,
            lm_weight: self.lm_weight,
            word_bonus: self.word_bonus,
            lodr_weight: self.lodr_weight,
            lexicon: self.lexicon,
            ctc: self.ctc,
            spell_penalty: self.spell_penalty,
            blank_penalty: self.blank_penalty,
            ctc_weight: self.ctc_weight,
            ctc_expand: Some(self.ctc_expand),
            mbr_scale: self.mbr_scale,
            score_beam: self.score_beam,
            ..sotto_asr::recognizer::RecognizerConfig::new(model)
        })
    }
}

/// Attach to an error (`anyhow::Error::new(ExitStatus(2)).context(..)` or via
/// [`with_status`]) to choose the process exit code; any other error exits with 1.
#[derive(Debug)]
pub struct ExitStatus(pub u8);

impl std::fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}
impl std::error::Error for ExitStatus {}

/// An error with message `msg` that makes the process exit with `code`.
pub fn with_status(code: u8, msg: impl std::fmt::Display + Send + Sync + 'static) -> anyhow::Error {
    anyhow::Error::new(ExitStatus(code)).context(msg)
}

#[cfg(test)]
mod tests {
    use super::RecognizerArgs;
    use sotto_asr::recognizer::{
        DEFAULT_BLANK_PENALTY, DEFAULT_BLANK_PENALTY_WITH_LM, DEFAULT_CTC_WEIGHT,
    };

    fn help(id: &str) -> String {
        let cmd = <RecognizerArgs as clap::Args>::augment_args(clap::Command::new("t"));
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_id() == id)
            .unwrap_or_else(|| panic!("no option {id}"));
        arg.get_help().expect("help").to_string()
    }

    /// `--blank-penalty` and `--ctc-weight` have no clap defaults (they depend on the LM, the
    /// search and the model), so their help states the library's defaults in words: they must
    /// stay those of the library.
    #[test]
    fn help_states_the_library_defaults() {
        let want = format!(
            "[default: {DEFAULT_BLANK_PENALTY_WITH_LM} with a word LM, {DEFAULT_BLANK_PENALTY} without]"
        );
        let h = help("blank_penalty");
        assert!(h.contains(&want), "{h:?} lacks {want:?}");
        let want = format!("[default: {DEFAULT_CTC_WEIGHT} with --beam > 1 on a model");
        let h = help("ctc_weight");
        assert!(h.contains(&want), "{h:?} lacks {want:?}");
    }
}
