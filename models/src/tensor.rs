//! Weight storage: owned, or borrowed zero-copy from a memory-mapped model file.
//!
//! [`Buffer<T>`] dereferences to `&[T]` either way, so kernels never care where the weights live.
//! Mapped buffers reinterpret the file's bytes in place, which is only sound when the byte range
//! lies inside the map and is aligned for `T`; [`Buffer::mapped`] checks both and returns a
//! [`TensorError`] otherwise. Values are read in native byte order (model files are
//! little-endian, as is every target sotto runs on).

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;

mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for u8 {}
    impl Sealed for i32 {}
    impl Sealed for f32 {}
}

/// Element types a [`Buffer`] may hold: plain-old-data for which every bit pattern is valid
/// (`i8`, `u8`, `i32`, `f32`), so reinterpreting mapped bytes is sound. Sealed.
pub trait Element: sealed::Sealed + Copy + Send + Sync + fmt::Debug + 'static {
    /// Type name used in error messages.
    const NAME: &'static str;
}
impl Element for i8 {
    const NAME: &'static str = "i8";
}
impl Element for u8 {
    const NAME: &'static str = "u8";
}
impl Element for i32 {
    const NAME: &'static str = "i32";
}
impl Element for f32 {
    const NAME: &'static str = "f32";
}

/// Why a mapped buffer could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    /// The requested byte range does not fit inside the map.
    #[error("{len} x {ty} at byte offset {offset} exceeds the {map_len}-byte mapped file")]
    OutOfBounds {
        ty: &'static str,
        offset: usize,
        len: usize,
        map_len: usize,
    },
    /// The start address is not aligned for the element type.
    #[error("{ty} data at byte offset {offset} is not {align}-byte aligned")]
    Misaligned {
        ty: &'static str,
        offset: usize,
        align: usize,
    },
}

/// A contiguous run of `T`, owned or borrowed from a shared memory map.
///
/// The `Mapped` variant can only be built through [`Buffer::mapped`] (it is `#[non_exhaustive]`),
/// which validates bounds and alignment.
#[derive(Clone)]
pub enum Buffer<T: Element> {
    /// Heap-allocated data.
    Owned(Vec<T>),
    /// `len` elements of `T` starting `offset` bytes into `map`.
    #[non_exhaustive]
    Mapped {
        map: Arc<Mmap>,
        offset: usize,
        len: usize,
    },
}

impl<T: Element> Buffer<T> {
    /// Borrows `len` elements of `T` starting at byte `offset` of `map`, without copying.
    pub fn mapped(map: Arc<Mmap>, offset: usize, len: usize) -> Result<Self, TensorError> {
        check_range::<T>(&map, offset, len)?;
        Ok(Buffer::Mapped { map, offset, len })
    }

    /// True when the data lives in a memory map rather than on the heap.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Buffer::Mapped { .. })
    }
}

fn check_range<T: Element>(map: &[u8], offset: usize, len: usize) -> Result<(), TensorError> {
    let oob = || TensorError::OutOfBounds {
        ty: T::NAME,
        offset,
        len,
        map_len: map.len(),
    };
    let end = len
        .checked_mul(size_of::<T>())
        .and_then(|bytes| bytes.checked_add(offset))
        .ok_or_else(oob)?;
    if end > map.len() {
        return Err(oob());
    }
    let align = align_of::<T>();
    if !(map.as_ptr() as usize)
        .wrapping_add(offset)
        .is_multiple_of(align)
    {
        return Err(TensorError::Misaligned {
            ty: T::NAME,
            offset,
            align,
        });
    }
    Ok(())
}

impl<T: Element> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Buffer::Owned(v) => v,
            Buffer::Mapped { map, offset, len } => {
                // Re-checked here (a few compares) so that no code path, even inside this crate,
                // can turn an unchecked `Mapped` into undefined behaviour.
                check_range::<T>(map, *offset, *len)
                    .expect("Buffer::Mapped built without Buffer::mapped");
                // SAFETY: the range is inside the live map (kept alive by the Arc) and aligned for T;
                // T is plain-old-data (sealed `Element`), so any bytes are a valid T; the map is
                // read-only, so no one mutates it while borrowed.
                unsafe { std::slice::from_raw_parts(map.as_ptr().add(*offset).cast::<T>(), *len) }
            }
        }
    }
}

impl<T: Element> From<Vec<T>> for Buffer<T> {
    fn from(v: Vec<T>) -> Self {
        Buffer::Owned(v)
    }
}

impl<T: Element> fmt::Debug for Buffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never dump megabytes of weights into logs.
        match self {
            Buffer::Owned(v) => write!(f, "Buffer::Owned({} x {})", v.len(), T::NAME),
            Buffer::Mapped { offset, len, .. } => {
                write!(f, "Buffer::Mapped({len} x {} at byte {offset})", T::NAME)
            }
        }
    }
}

impl<T: Element + PartialEq> PartialEq for Buffer<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
