//! Model files: safetensors, memory-mapped and zero-copy, with sotto's JSON metadata.
//!
//! Layout (see `docs/model-format.md`): a safetensors file whose `__metadata__` map holds the key
//! `sotto` with a JSON [`Metadata`] document. f32 tensors are `F32`; an int8 matrix `NAME` is stored
//! as `NAME` (`I8`, `[rows, cols]`) plus `NAME.scale` (`F32`, `[rows]`).
//!
//! Opening a file parses and validates only the header (names, dtypes, shapes, offsets, total file
//! length); tensors become [`Buffer::Mapped`] views into the map, so no weight byte is read until a
//! layer uses it. An f32 tensor whose bytes are not 4-byte aligned in the file (files written by the
//! safetensors libraries always are) is copied instead and listed by [`ModelFile::copied_tensors`].
//!
//! Architectures load through [`ModelFile::expect`] and the typed getters, which check each tensor
//! against what the architecture expects and fail on the first mismatch by name; after loading,
//! [`ModelFile::finish`] rejects tensors the architecture did not use.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;
pub use safetensors::Dtype;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use crate::quant::QMatrix;
use crate::tensor::{Buffer, Element, TensorError};
use crate::vars::Vars;

/// The `__metadata__` key holding sotto's JSON metadata.
pub const METADATA_KEY: &str = "sotto";
/// The format version this code reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// Suffix of the per-row scale tensor of an int8 matrix.
pub const SCALE_SUFFIX: &str = ".scale";

/// Why a model file could not be opened, validated or loaded. Every variant names the file and,
/// where there is one, the tensor.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The file could not be read or mapped.
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// Not a valid safetensors file (truncated, corrupt header, bad offsets).
    #[error("{file}: not a valid safetensors model file: {msg}")]
    Corrupt { file: String, msg: String },
    /// The sotto metadata is missing or invalid.
    #[error("{file}: metadata: {msg}")]
    Metadata { file: String, msg: String },
    /// A required metadata key (or hyperparameter) is missing or has the wrong type.
    #[error("{file}: metadata: missing or invalid key `{key}`{detail}")]
    MissingKey {
        file: String,
        key: String,
        detail: String,
    },
    /// The architecture needs a tensor the file does not have.
    #[error("{file}: missing tensor `{name}`")]
    MissingTensor { file: String, name: String },
    /// The file has a tensor the architecture does not use.
    #[error("{file}: unexpected tensor `{name}` (not used by architecture `{arch}`)")]
    UnexpectedTensor {
        file: String,
        name: String,
        arch: String,
    },
    /// A tensor has the wrong dtype.
    #[error("{file}: tensor `{name}`: dtype {found:?}, expected {expected}")]
    Dtype {
        file: String,
        name: String,
        expected: String,
        found: Dtype,
    },
    /// A tensor has the wrong shape.
    #[error("{file}: tensor `{name}`: shape {found:?}, expected {expected:?}")]
    Shape {
        file: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// Tensor data could not be viewed.
    #[error("{file}: tensor `{name}`: {source}")]
    Tensor {
        file: String,
        name: String,
        source: TensorError,
    },
    /// Tensors load but do not form a valid layer.
    #[error("{file}: layer `{name}`: {source}")]
    Layer {
        file: String,
        name: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The architecture is not the one the caller can load.
    #[error("{file}: architecture `{found}`, expected `{expected}`")]
    Architecture {
        file: String,
        expected: String,
        found: String,
    },
    /// Writing a model file failed.
    #[error("{file}: cannot write model file: {msg}")]
    Write { file: String, msg: String },
    /// A weight matrix could not be quantized (non-finite values).
    #[error("{file}: tensor `{name}`: cannot quantize: {source}")]
    Quantize {
        file: String,
        name: String,
        source: crate::quant::QuantError,
    },
}

/// sotto's metadata (`__metadata__["sotto"]`). Unknown keys are kept in `extra` (so tools copy
/// them through); optional parts default to empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Format version ([`FORMAT_VERSION`]); required.
    pub format_version: u32,
    /// Architecture name, e.g. `rnnt-lstm-stateless`; required.
    pub architecture: String,
    /// Architecture-specific hyperparameters.
    pub hyperparameters: serde_json::Map<String, Value>,
    /// Feature extraction config (the frontend's field names); `null` when absent.
    pub features: Value,
    /// Token pieces by id.
    pub tokens: Vec<String>,
    /// License of the weights.
    pub license: String,
    /// How the weights were produced (recipe, commit, data hashes, notes).
    pub provenance: Value,
    /// `"int8"` for files written by `sotto quantize`; absent for f32 files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantized: Option<String>,
    /// Keys this version does not know.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// Where a tensor lives in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// Byte offset of the data from the start of the file.
    pub offset: usize,
    /// Data length in bytes.
    pub bytes: usize,
}

impl TensorInfo {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An opened, header-validated, memory-mapped model file. `Send + Sync`; tensors handed out keep
/// the map alive.
#[derive(Debug)]
pub struct ModelFile {
    path: PathBuf,
    map: Arc<Mmap>,
    tensors: BTreeMap<String, TensorInfo>,
    metadata: Metadata,
    used: Mutex<BTreeSet<String>>,
    copied: Mutex<Vec<String>>,
}

impl ModelFile {
    /// Maps `path` and validates the safetensors header and the sotto metadata (presence,
    /// `format_version`, `architecture`). Reads no tensor data.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FormatError> {
        let path = path.as_ref().to_path_buf();
        let file_name = path.display().to_string();
        let io = |source| FormatError::Io {
            file: file_name.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        // SAFETY: the map is read-only; model files are not expected to change while open (as with
        // any mmap-based loader, truncating the file under a running process is not supported).
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::from_map(path, Arc::new(map))
    }

    /// Like [`ModelFile::open`] for a file already in memory; `path` names it in errors. The bytes
    /// are copied once into an anonymous (page-aligned) map, so tensors are viewed as from a file.
    pub fn from_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self, FormatError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| FormatError::Io {
            file: path.display().to_string(),
            source,
        };
        let mut map = memmap2::MmapMut::map_anon(bytes.len()).map_err(io)?;
        map.copy_from_slice(bytes);
        let map = map.make_read_only().map_err(io)?;
        Self::from_map(path, Arc::new(map))
    }

    fn from_map(path: PathBuf, map: Arc<Mmap>) -> Result<Self, FormatError> {
        let file = path.display().to_string();
        let corrupt = |msg: String| FormatError::Corrupt {
            file: file.clone(),
            msg,
        };
        let (n, header) = safetensors::SafeTensors::read_metadata(&map)
            .map_err(|e| corrupt(safetensors_message(&e)))?;
        let data_start = 8 + n;
        let mut tensors = BTreeMap::new();
        for (name, info) in header.tensors() {
            let (s, e) = info.data_offsets;
            let t = TensorInfo {
                dtype: info.dtype,
                shape: info.shape.clone(),
                offset: data_start + s,
                bytes: e - s,
            };
            // read_metadata already checked contiguity, sizes and the total length; re-check the
            // bounds we rely on for mapping rather than trusting that.
            if !matches!(t.offset.checked_add(t.bytes), Some(end) if end <= map.len()) {
                return Err(corrupt(format!(
                    "tensor `{name}` data lies outside the file"
                )));
            }
            tensors.insert(name, t);
        }
        let meta_err = |msg: String| FormatError::Metadata {
            file: file.clone(),
            msg,
        };
        let raw = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| {
                meta_err(format!(
                    "no `{METADATA_KEY}` entry in the safetensors __metadata__"
                ))
            })?;
        let metadata: Metadata =
            serde_json::from_str(raw).map_err(|e| meta_err(format!("invalid JSON: {e}")))?;
        let missing = |key: &str, detail: String| FormatError::MissingKey {
            file: file.clone(),
            key: key.into(),
            detail,
        };
        if metadata.format_version == 0 {
            return Err(missing("format_version", String::new()));
        }
        if metadata.format_version > FORMAT_VERSION {
            return Err(meta_err(format!(
                "format_version {} is newer than supported {FORMAT_VERSION}",
                metadata.format_version
            )));
        }
        if metadata.architecture.is_empty() {
            return Err(missing("architecture", String::new()));
        }
        Ok(ModelFile {
            path,
            map,
            tensors,
            metadata,
            used: Mutex::default(),
            copied: Mutex::default(),
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self) -> String {
        self.path.display().to_string()
    }

    /// File size in bytes.
    pub fn file_size(&self) -> usize {
        self.map.len()
    }

    /// The sotto metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// All tensors, sorted by name.
    pub fn tensors(&self) -> impl Iterator<Item = (&str, &TensorInfo)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One tensor's header entry.
    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }

    /// True when the file has a tensor `name`.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Names of f32 tensors that had to be copied because they were misaligned in the file.
    pub fn copied_tensors(&self) -> Vec<String> {
        self.copied.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Checks that tensor `name` exists with `dtype` and `shape`, marks it used and returns its entry.
    pub fn expect(
        &self,
        name: &str,
        dtype: Dtype,
        shape: &[usize],
    ) -> Result<&TensorInfo, FormatError> {
        let info = self
            .tensors
            .get(name)
            .ok_or_else(|| FormatError::MissingTensor {
                file: self.file(),
                name: name.into(),
            })?;
        if info.dtype != dtype {
            return Err(FormatError::Dtype {
                file: self.file(),
                name: name.into(),
                expected: format!("{dtype:?}"),
                found: info.dtype,
            });
        }
        if info.shape != shape {
            return Err(FormatError::Shape {
                file: self.file(),
                name: name.into(),
                expected: shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        if let Ok(mut used) = self.used.lock() {
            used.insert(name.to_string());
        }
        Ok(info)
    }

    fn view<T: Element>(
        &self,
        name: &str,
        info: &TensorInfo,
        from_le: fn([u8; 4]) -> T,
    ) -> Result<Buffer<T>, FormatError> {
        let size = std::mem::size_of::<T>();
        match Buffer::mapped(self.map.clone(), info.offset, info.bytes / size) {
            Ok(b) => Ok(b),
            Err(TensorError::Misaligned { .. }) if size == 4 => {
                // Copy rather than refuse: valid safetensors need not align (e.g. hand-written).
                let bytes = &self.map[info.offset..info.offset + info.bytes];
                let v: Vec<T> = bytes
                    .chunks_exact(4)
                    .map(|c| from_le([c[0], c[1], c[2], c[3]]))
                    .collect();
                if let Ok(mut c) = self.copied.lock() {
                    c.push(name.to_string());
                }
                Ok(Buffer::Owned(v))
            }
            Err(source) => Err(FormatError::Tensor {
                file: self.file(),
                name: name.into(),
                source,
            }),
        }
    }

    /// The f32 tensor `name` with exactly `shape`.
    pub fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Buffer<f32>, FormatError> {
        let info = self.expect(name, Dtype::F32, shape)?;
        self.view(name, info, f32::from_le_bytes)
    }

    /// The i8 tensor `name` with exactly `shape`.
    pub fn tensor_i8(&self, name: &str, shape: &[usize]) -> Result<Buffer<i8>, FormatError> {
        let info = self.expect(name, Dtype::I8, shape)?;
        self.view(name, info, |_| 0)
    }

    /// The int8 matrix `name` (`I8 [rows, cols]`) with scales `name.scale` (`F32 [rows]`).
    pub fn qmatrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, FormatError> {
        let data = self.tensor_i8(name, &[rows, cols])?;
        let scale_name = format!("{name}{SCALE_SUFFIX}");
        let scales = self.tensor_f32(&scale_name, &[rows])?;
        QMatrix::from_parts(rows, cols, data, scales).map_err(|e| FormatError::Corrupt {
            file: self.file(),
            msg: format!("tensor `{name}`: {e}"),
        })
    }

    /// Wraps the error of a layer that rejected its tensors (e.g. `layers::LayerError`) with
    /// this file and the layer's name.
    pub fn layer_err(
        &self,
        name: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> FormatError {
        FormatError::Layer {
            file: self.file(),
            name: name.into(),
            source: source.into(),
        }
    }

    /// Fails if the metadata's architecture is not `expected`.
    pub fn require_architecture(&self, expected: &str) -> Result<(), FormatError> {
        if self.metadata.architecture != expected {
            return Err(FormatError::Architecture {
                file: self.file(),
                expected: expected.into(),
                found: self.metadata.architecture.clone(),
            });
        }
        Ok(())
    }

    /// Hyperparameter `key` deserialized as `T`; a missing or mistyped key is an error naming it.
    pub fn hyper<T: DeserializeOwned>(&self, key: &str) -> Result<T, FormatError> {
        let missing = |detail: String| FormatError::MissingKey {
            file: self.file(),
            key: format!("hyperparameters.{key}"),
            detail,
        };
        let v = self
            .metadata
            .hyperparameters
            .get(key)
            .ok_or_else(|| missing(String::new()))?;
        serde_json::from_value(v.clone()).map_err(|e| missing(format!(": {e}")))
    }

    /// Hyperparameter `key` as a layer dimension: an integer in `0..=2^31` (larger values cannot be
    /// real and would overflow shape arithmetic), else an error naming the key.
    pub fn dim(&self, key: &str) -> Result<usize, FormatError> {
        let v: u64 = self.hyper(key)?;
        if v > 1 << 31 {
            return Err(FormatError::MissingKey {
                file: self.file(),
                key: format!("hyperparameters.{key}"),
                detail: format!(": {v} is not a plausible dimension"),
            });
        }
        Ok(v as usize)
    }

    /// After an architecture loaded its tensors: the first (by name) tensor it did not use is an
    /// error.
    pub fn finish(&self) -> Result<(), FormatError> {
        let used = self.used.lock().map(|u| u.clone()).unwrap_or_default();
        match self.tensors.keys().find(|k| !used.contains(*k)) {
            Some(name) => Err(FormatError::UnexpectedTensor {
                file: self.file(),
                name: name.clone(),
                arch: self.metadata.architecture.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The layers load from a file through [`Vars`]: every tensor they take is checked (and marked
/// used, for [`ModelFile::finish`]) by the file's own getters.
impl Vars for ModelFile {
    type Error = FormatError;

    fn dtype(&self, name: &str) -> Option<Dtype> {
        self.info(name).map(|t| t.dtype)
    }

    fn tensor_f32(&self, name: &str, shape: &[usize]) -> Result<Buffer<f32>, FormatError> {
        ModelFile::tensor_f32(self, name, shape)
    }

    fn qmatrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatrix, FormatError> {
        ModelFile::qmatrix(self, name, rows, cols)
    }

    fn layer_err(
        &self,
        name: &str,
        source: Box<dyn std::error::Error + Send + Sync>,
    ) -> FormatError {
        ModelFile::layer_err(self, name, source)
    }
}

/// Whether `sotto quantize` turns tensor `name` into int8: 2-D f32 weight matrices of Linear/LSTM
/// layers (last name component `weight*`), but not embeddings, norms or CMVN statistics (see
/// `docs/model-format.md`; convolution kernels are 3-D/4-D and stay f32).
pub fn is_quantizable(name: &str, info: &TensorInfo) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    info.dtype == Dtype::F32
        && info.shape.len() == 2
        && last.starts_with("weight")
        && !["embed", "norm", "cmvn"].iter().any(|s| lower.contains(s))
}

/// A matrix [`quantize_model`] turned into int8, with the weight error it made.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedMatrix {
    /// Tensor name.
    pub name: String,
    /// Shape `[rows, cols]`.
    pub rows: usize,
    /// Shape `[rows, cols]`.
    pub cols: usize,
    /// Largest |w − dequantized w|.
    pub max_abs_error: f32,
    /// Mean |w − dequantized w|.
    pub mean_abs_error: f64,
    /// Largest |w|.
    pub max_abs_weight: f32,
}

/// The one int8 quantization of a model file (`sotto quantize`, the recipe through it, and
/// the random test models): every tensor [`is_quantizable`] picks becomes an int8 matrix with
/// per-row symmetric scales ([`QMatrix::try_quantize`]), the rest is copied, and the metadata
/// gets `"quantized": "int8"`. Returns the writer (not yet written) and one report per
/// quantized matrix. Fails on an already quantized file, on a file with no quantizable
/// matrix, and on non-finite weights.
pub fn quantize_model(
    file: &ModelFile,
) -> Result<(ModelWriter, Vec<QuantizedMatrix>), FormatError> {
    if let Some(q) = &file.metadata().quantized {
        return Err(FormatError::Metadata {
            file: file.file(),
            msg: format!("already quantized ({q})"),
        });
    }
    let mut meta = file.metadata().clone();
    meta.quantized = Some("int8".into());
    let mut out = ModelWriter::new(meta);
    let mut report = Vec::new();
    let tensors: Vec<(String, TensorInfo)> = file
        .tensors()
        .map(|(n, t)| (n.to_string(), t.clone()))
        .collect();
    for (name, info) in &tensors {
        if !is_quantizable(name, info) {
            out.copy_from(file, name)?;
            continue;
        }
        let (rows, cols) = (info.shape[0], info.shape[1]);
        let w = file.tensor_f32(name, &info.shape)?;
        let q = QMatrix::try_quantize(&w, rows, cols).map_err(|source| FormatError::Quantize {
            file: file.file(),
            name: name.clone(),
            source,
        })?;
        let deq = q.dequantize();
        let (max_err, sum_err) = w.iter().zip(&deq).fold((0.0f32, 0.0f64), |(m, s), (a, b)| {
            let e = (a - b).abs();
            (m.max(e), s + e as f64)
        });
        report.push(QuantizedMatrix {
            name: name.clone(),
            rows,
            cols,
            max_abs_error: max_err,
            mean_abs_error: sum_err / w.len().max(1) as f64,
            max_abs_weight: w.iter().fold(0.0f32, |m, v| m.max(v.abs())),
        });
        out.add_qmatrix(name, &q);
    }
    if report.is_empty() {
        return Err(FormatError::Metadata {
            file: file.file(),
            msg: "no quantizable weight matrices".into(),
        });
    }
    Ok((out, report))
}

/// Builds a model file in memory and writes it (used by `sotto quantize` and tests).
#[derive(Debug, Clone, Default)]
pub struct ModelWriter {
    metadata: Metadata,
    tensors: BTreeMap<String, RawTensor>,
}

#[derive(Debug, Clone)]
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl safetensors::View for &RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

impl ModelWriter {
    /// A writer with `metadata` (its `format_version` is set to [`FORMAT_VERSION`] when 0).
    pub fn new(mut metadata: Metadata) -> Self {
        if metadata.format_version == 0 {
            metadata.format_version = FORMAT_VERSION;
        }
        ModelWriter {
            metadata,
            tensors: BTreeMap::new(),
        }
    }

    /// The metadata to be written (editable).
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    fn add(
        &mut self,
        name: &str,
        dtype: Dtype,
        shape: &[usize],
        numel: usize,
        data: Vec<u8>,
    ) -> &mut Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            numel,
            "tensor `{name}`: data does not match shape {shape:?}"
        );
        self.tensors.insert(
            name.to_string(),
            RawTensor {
                dtype,
                shape: shape.to_vec(),
                data,
            },
        );
        self
    }

    /// Adds an f32 tensor. Panics if `data.len()` does not match `shape` (a caller bug).
    pub fn add_f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        self.add(
            name,
            Dtype::F32,
            shape,
            data.len(),
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
    }

    /// Adds an i8 tensor. Panics if `data.len()` does not match `shape`.
    pub fn add_i8(&mut self, name: &str, shape: &[usize], data: &[i8]) -> &mut Self {
        self.add(
            name,
            Dtype::I8,
            shape,
            data.len(),
            data.iter().map(|&v| v as u8).collect(),
        )
    }

    /// Adds an int8 matrix as `name` (`I8 [rows, cols]`) and `name.scale` (`F32 [rows]`).
    pub fn add_qmatrix(&mut self, name: &str, q: &QMatrix) -> &mut Self {
        self.add_i8(name, &[q.rows, q.cols], &q.data);
        self.add_f32(&format!("{name}{SCALE_SUFFIX}"), &[q.rows], &q.scales)
    }

    /// Copies tensor `name` unchanged from `file` (any dtype).
    pub fn copy_from(&mut self, file: &ModelFile, name: &str) -> Result<&mut Self, FormatError> {
        let info = file.info(name).ok_or_else(|| FormatError::MissingTensor {
            file: file.file(),
            name: name.into(),
        })?;
        let data = file.map[info.offset..info.offset + info.bytes].to_vec();
        self.tensors.insert(
            name.to_string(),
            RawTensor {
                dtype: info.dtype,
                shape: info.shape.clone(),
                data,
            },
        );
        Ok(self)
    }

    /// The complete file as bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let json = serde_json::to_string(&self.metadata).map_err(|e| FormatError::Write {
            file: "<memory>".into(),
            msg: e.to_string(),
        })?;
        let meta: HashMap<String, String> = [(METADATA_KEY.to_string(), json)].into();
        // safetensors orders tensors by decreasing alignment, so f32 data is 4-byte aligned.
        safetensors::serialize(
            self.tensors.iter().map(|(k, v)| (k.as_str(), v)),
            &Some(meta),
        )
        .map_err(|e| FormatError::Write {
            file: "<memory>".into(),
            msg: safetensors_message(&e),
        })
    }

    /// Writes the file to `path` (via a temporary file renamed into place).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), FormatError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let bytes = self.to_bytes().map_err(|e| match e {
            FormatError::Write { msg, .. } => FormatError::Write {
                file: file.clone(),
                msg,
            },
            e => e,
        })?;
        let tmp = path.with_extension("tmp-write");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|source| FormatError::Io { file, source })
    }
}

/// What a safetensors parse error means, in words (its `Display` is the enum variant's name).
fn safetensors_message(e: &safetensors::SafeTensorError) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => "too short for a safetensors header (truncated or empty)".into(),
        E::InvalidHeaderLength => {
            "the header length runs past the end of the file (truncated, or not a safetensors file)"
                .into()
        }
        E::HeaderTooLarge => {
            "the header length is implausibly large (corrupt, or not a safetensors file)".into()
        }
        E::InvalidHeader | E::InvalidHeaderStart | E::InvalidHeaderDeserialization => {
            "the header is not valid safetensors JSON (corrupt, or not a safetensors file)".into()
        }
        E::JsonError(j) => format!("the header is not valid safetensors JSON: {j}"),
        E::MetadataIncompleteBuffer => {
            "the tensor data does not match the file length (truncated or padded)".into()
        }
        E::InvalidOffset(name) => format!("tensor `{name}`: data offsets outside the file"),
        E::TensorInvalidInfo | E::InvalidTensorView(..) => {
            "a tensor's shape, dtype and data size disagree".into()
        }
        E::ValidationOverflow => "tensor sizes overflow (corrupt header)".into(),
        E::TensorNotFound(name) => format!("missing tensor `{name}`"),
        E::IoError(io) => io.to_string(),
    }
}
