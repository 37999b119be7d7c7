//! microWakeWord model manifests (`.json`) and the settings they carry.

use crate::AsrError;
use std::path::{Path, PathBuf};

/// Detection settings of one wake-word model.
#[derive(Clone, Debug, PartialEq)]
pub struct WakeWordSettings {
    /// Name reported in detections (the manifest's `wake_word`).
    pub wake_word: String,
    /// A detection needs the sliding-window mean probability to exceed this (strictly).
    pub probability_cutoff: f64,
    /// Number of model invocations averaged (`sliding_window_size`; v1 manifests call it
    /// `sliding_window_average_size`).
    pub sliding_window_size: usize,
    /// Frontend hop in ms (`feature_step_size`; 10 when absent).
    pub feature_step_ms: u32,
}

impl WakeWordSettings {
    /// Settings with the microWakeWord v2 defaults for a wake word called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        WakeWordSettings {
            wake_word: name.into(),
            probability_cutoff: 0.97,
            sliding_window_size: 5,
            feature_step_ms: 10,
        }
    }

    /// The settings in a manifest's text (where there are no files, e.g. WebAssembly); `name`
    /// stands for its path in errors.
    pub fn from_manifest_text(text: &str, name: impl AsRef<Path>) -> Result<Self, AsrError> {
        parse_manifest(text, name.as_ref()).map(|m| m.settings)
    }

    /// Checks ranges; `path` names the offending file in the error.
    pub fn validate(&self, path: &Path) -> Result<(), AsrError> {
        let err = |msg: String| {
            Err(AsrError::WakeWord {
                path: path.to_owned(),
                msg,
            })
        };
        if !(0.0..=1.0).contains(&self.probability_cutoff) {
            return err(format!(
                "probability cutoff {} is outside [0, 1]",
                self.probability_cutoff
            ));
        }
        if !(1..=1000).contains(&self.sliding_window_size) {
            return err(format!(
                "sliding window size {} is outside 1..=1000",
                self.sliding_window_size
            ));
        }
        if !(1..=1000).contains(&self.feature_step_ms) {
            return err(format!(
                "feature step {} ms is outside 1..=1000",
                self.feature_step_ms
            ));
        }
        Ok(())
    }
}

/// A parsed manifest: settings plus the model file it points to.
#[derive(Clone, Debug)]
pub(crate) struct Manifest {
    pub(crate) settings: WakeWordSettings,
    pub(crate) model: PathBuf,
}

/// Reads a microWakeWord manifest (v1 or v2).
pub(crate) fn read_manifest(path: &Path) -> Result<Manifest, AsrError> {
    let err = |msg: String| AsrError::WakeWord {
        path: path.to_owned(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    parse_manifest(&text, path)
}

/// Parses a manifest's text; `path` names it in errors and locates the model file.
pub(crate) fn parse_manifest(text: &str, path: &Path) -> Result<Manifest, AsrError> {
    let err = |msg: String| AsrError::WakeWord {
        path: path.to_owned(),
        msg,
    };
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| err(format!("invalid JSON: {e}")))?;
    if let Some(t) = v.get("type").and_then(|t| t.as_str()) {
        if t != "micro" {
            return Err(err(format!(
                "model type \"{t}\" is not supported (only \"micro\")"
            )));
        }
    }
    let wake_word = v
        .get("wake_word")
        .and_then(|w| w.as_str())
        .ok_or_else(|| err("missing \"wake_word\"".into()))?;
    let model = v
        .get("model")
        .and_then(|m| m.as_str())
        .ok_or_else(|| err("missing \"model\"".into()))?;
    let micro = v
        .get("micro")
        .ok_or_else(|| err("missing \"micro\" settings".into()))?;
    let cutoff = micro
        .get("probability_cutoff")
        .and_then(|c| c.as_f64())
        .ok_or_else(|| err("missing micro.probability_cutoff".into()))?;
    let window = micro
        .get("sliding_window_size")
        .or_else(|| micro.get("sliding_window_average_size"))
        .and_then(|w| w.as_u64())
        .ok_or_else(|| err("missing micro.sliding_window_size".into()))?;
    let step = match micro.get("feature_step_size") {
        None => 10,
        Some(s) => s
            .as_u64()
            .ok_or_else(|| err("micro.feature_step_size is not an integer".into()))?,
    };
    let settings = WakeWordSettings {
        wake_word: wake_word.to_string(),
        probability_cutoff: cutoff,
        sliding_window_size: usize::try_from(window).unwrap_or(usize::MAX),
        feature_step_ms: u32::try_from(step).unwrap_or(u32::MAX),
    };
    settings.validate(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(Manifest {
        settings,
        model: dir.join(model),
    })
}
