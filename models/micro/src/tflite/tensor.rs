//! Tensor descriptions: element types, the public [`TensorInfo`], and the parsed tensors of a
//! subgraph that the compiler and the op builders read.

use super::schema;
use super::{bad, LoadError};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Display;

/// Largest tensor or arena sotto accepts (bytes); far above any streaming model.
pub(crate) const MAX_BYTES: usize = 1 << 28;

/// Element type of a tensor (`TensorType` in the schema).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// float32.
    F32,
    /// int32.
    I32,
    /// uint8.
    U8,
    /// int8.
    I8,
    /// int16.
    I16,
    /// int64.
    I64,
    /// bool (one byte).
    Bool,
    /// A resource handle (variables).
    Resource,
    /// Any other schema type, by number.
    Other(i8),
}

impl DType {
    pub(crate) fn from_schema(t: i8) -> Self {
        match t {
            0 => DType::F32,
            2 => DType::I32,
            3 => DType::U8,
            9 => DType::I8,
            7 => DType::I16,
            4 => DType::I64,
            6 => DType::Bool,
            13 => DType::Resource,
            t => DType::Other(t),
        }
    }

    /// Bytes per element, for the types that can hold data.
    pub fn size(self) -> Option<usize> {
        match self {
            DType::U8 | DType::I8 | DType::Bool => Some(1),
            DType::I16 => Some(2),
            DType::F32 | DType::I32 => Some(4),
            DType::I64 => Some(8),
            DType::Resource | DType::Other(_) => None,
        }
    }
}

/// Public description of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    /// Tensor name in the file.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Quantization scale (0 when unquantized).
    pub scale: f32,
    /// Quantization zero point.
    pub zero_point: i32,
}

impl TensorInfo {
    /// Number of elements.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A tensor's index and name, borrowed from the file (names of real models run to 150 bytes:
/// copying them all would dominate the heap while loading). Displays as `#index name`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Name<'a> {
    pub(crate) index: usize,
    pub(crate) name: Option<&'a str>,
}

impl Display for Name<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name {
            Some(n) => write!(f, "#{} {n}", self.index),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// A parsed tensor description.
pub(crate) struct T<'a> {
    pub(crate) name: Name<'a>,
    pub(crate) shape: Vec<usize>,
    pub(crate) elems: usize,
    pub(crate) dtype: DType,
    pub(crate) scales: Vec<f32>,
    pub(crate) zps: Vec<i64>,
    /// Constant data and its offset in the file.
    pub(crate) data: Option<&'a [u8]>,
    pub(crate) at: usize,
}

impl T<'_> {
    pub(crate) fn bytes(&self) -> Result<usize, LoadError> {
        let size = self
            .dtype
            .size()
            .ok_or_else(|| self.err(msg!("has no data type size ({:?})", self.dtype)))?;
        Ok(self.elems * size)
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn err(&self, msg: impl Display + Into<String>) -> LoadError {
        #[cfg(feature = "messages")]
        return LoadError::Invalid(alloc::format!("tensor '{}': {msg}", self.name));
        #[cfg(not(feature = "messages"))]
        LoadError::Invalid(msg.into())
    }

    /// Per-tensor scale and zero point of a quantized tensor.
    pub(crate) fn quant(&self) -> Result<(f32, i32), LoadError> {
        let (Some(&s), Some(&z)) = (self.scales.first(), self.zps.first()) else {
            return Err(self.err("is not quantized"));
        };
        if !(s.is_finite() && s > 0.0) {
            return Err(self.err(msg!("invalid scale {s}")));
        }
        let range = match self.dtype {
            DType::I8 => -128..=127,
            DType::U8 => 0..=255,
            _ => i64::from(i32::MIN)..=i64::from(i32::MAX),
        };
        if !range.contains(&z) {
            return Err(self.err(msg!("zero point {z} out of range")));
        }
        Ok((s, z as i32))
    }

    pub(crate) fn expect(&self, dtype: DType) -> Result<&Self, LoadError> {
        if self.dtype != dtype {
            return Err(self.err(msg!("has type {:?}, expected {dtype:?}", self.dtype)));
        }
        Ok(self)
    }

    pub(crate) fn expect_rank(&self, rank: usize) -> Result<&Self, LoadError> {
        if self.shape.len() != rank {
            return Err(self.err(msg!("has shape {:?}, expected rank {rank}", self.shape)));
        }
        Ok(self)
    }

    pub(crate) fn const_data(&self) -> Result<&[u8], LoadError> {
        self.data.ok_or_else(|| self.err("must be constant"))
    }

    /// The file range of a constant int8 tensor (weights stay in the file).
    pub(crate) fn const_i8_range(&self) -> Result<core::ops::Range<usize>, LoadError> {
        self.expect(DType::I8)?;
        let d = self.const_data()?;
        Ok(self.at..self.at + d.len())
    }

    pub(crate) fn const_i8(&self) -> Result<Vec<i8>, LoadError> {
        self.expect(DType::I8)?;
        Ok(self.const_data()?.iter().map(|&b| b as i8).collect())
    }

    pub(crate) fn const_i32(&self) -> Result<Vec<i32>, LoadError> {
        self.expect(DType::I32)?;
        Ok(self
            .const_data()?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Per-channel filter scales (`channels` entries, or one broadcast); zero points must be 0.
    pub(crate) fn channel_scales(&self, channels: usize) -> Result<Vec<f32>, LoadError> {
        let s = &self.scales;
        if !(s.len() == 1 || s.len() == channels) {
            return Err(self.err(msg!("has {} scales for {channels} channels", s.len())));
        }
        if s.iter().any(|s| !(s.is_finite() && *s > 0.0)) || self.zps.iter().any(|&z| z != 0) {
            return Err(self.err("needs positive scales and zero points of 0"));
        }
        Ok((0..channels).map(|c| s[c.min(s.len() - 1)]).collect())
    }
}

/// The tensors of `sg`, validated (sizes, buffers inside the file).
pub(crate) fn parse<'a>(
    file: &'a [u8],
    fb: &schema::Model<'a>,
    sg: &schema::SubGraph<'a>,
) -> Result<Vec<T<'a>>, LoadError> {
    let buffers = fb.buffers();
    let Some(ts) = sg.tensors() else {
        return Ok(Vec::new());
    };
    ts.iter()
        .enumerate()
        .map(|(i, t)| {
            let name = Name {
                index: i,
                name: t.name(),
            };
            let mut shape = Vec::new();
            let mut elems = 1usize;
            for d in t.shape().iter().flat_map(|v| v.iter()) {
                let d = usize::try_from(d)
                    .map_err(|_| bad(msg!("tensor '{name}': negative or dynamic dimension {d}")))?;
                elems = elems
                    .checked_mul(d)
                    .filter(|&e| e <= MAX_BYTES)
                    .ok_or_else(|| bad(msg!("tensor '{name}' is too large")))?;
                shape.push(d);
            }
            let q = t.quantization();
            let scales = q
                .and_then(|q| q.scale())
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            let zps = q
                .and_then(|q| q.zero_point())
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            let dtype = DType::from_schema(t.tensor_type().unwrap_or(0));
            let b = t.buffer().unwrap_or(0) as usize;
            let data = if b == 0 {
                None
            } else {
                let bufs = buffers
                    .as_ref()
                    .ok_or_else(|| bad("model has no buffers"))?;
                if b >= bufs.len() {
                    return Err(bad(msg!("tensor '{name}': buffer {b} out of range")));
                }
                let buf = bufs.get(b);
                let bytes = match (
                    buf.data(),
                    buf.offset().unwrap_or(0),
                    buf.size().unwrap_or(0),
                ) {
                    (Some(d), _, _) if !d.is_empty() => Some(d.bytes()),
                    (_, off, size) if off > 1 && size > 0 => {
                        let r = usize::try_from(off)
                            .ok()
                            .zip(usize::try_from(size).ok())
                            .and_then(|(o, s)| {
                                let end = o.checked_add(s)?;
                                file.get(o..end)
                            });
                        Some(r.ok_or_else(|| {
                            bad(msg!("tensor '{name}': external buffer {b} out of file"))
                        })?)
                    }
                    _ => None,
                };
                bytes
            };
            // Offset of the data in the file: weights are read from there at run time.
            let at = data.map_or(0, |d| d.as_ptr() as usize - file.as_ptr() as usize);
            let t = T {
                at,
                name,
                shape,
                elems,
                dtype,
                scales,
                zps,
                data,
            };
            if let Some(d) = t.data {
                if d.len() != t.bytes()? {
                    return Err(t.err(msg!(
                        "holds {} bytes, shape {:?} needs {}",
                        d.len(),
                        t.shape,
                        t.bytes()?
                    )));
                }
            }
            Ok(t)
        })
        .collect()
}

pub(crate) fn info(t: &T) -> TensorInfo {
    TensorInfo {
        name: t
            .name
            .name
            .map_or_else(|| alloc::format!("#{}", t.name.index), ToString::to_string),
        shape: t.shape.clone(),
        dtype: t.dtype,
        scale: t.scales.first().copied().unwrap_or(0.0),
        zero_point: t.zps.first().map_or(0, |&z| z as i32),
    }
}

/// Tensor indices of an op or graph (-1 = absent optional input).
pub(crate) fn tensor_indices(
    v: Option<flatbuffers::Vector<'_, i32>>,
    n: usize,
) -> Result<Vec<Option<usize>>, LoadError> {
    v.iter()
        .flat_map(|v| v.iter())
        .map(|i| match i {
            -1 => Ok(None),
            i if (0..n as i64).contains(&i64::from(i)) => Ok(Some(i as usize)),
            i => Err(bad(msg!(
                "tensor index {i} out of range (subgraph has {n})"
            ))),
        })
        .collect()
}
