//! memmap2's API subset used by sotto (`Mmap::map`, `MmapMut::map_anon`, `make_read_only`,
//! `Deref`), for targets without memory maps: anonymous maps are page-aligned heap buffers, file
//! maps are `Unsupported`.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::File;
use std::io;
use std::ops::{Deref, DerefMut};

/// The alignment of a real anonymous map (a page), so that tensor views see the same layout.
const ALIGN: usize = 4096;

/// A zeroed, page-aligned heap buffer.
struct Buf {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: `Buf` owns its allocation exclusively, like a `Vec<u8>`.
unsafe impl Send for Buf {}
unsafe impl Sync for Buf {}

impl Buf {
    fn new(len: usize) -> io::Result<Self> {
        if len == 0 {
            return Ok(Buf {
                ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(),
                len,
            });
        }
        let layout = Layout::from_size_align(len, ALIGN)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return Err(io::ErrorKind::OutOfMemory.into());
        }
        Ok(Buf { ptr, len })
    }

    fn slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` initialized (zeroed) bytes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    fn slice_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `slice`, and `&mut self` is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: allocated in `new` with this layout.
            unsafe { dealloc(self.ptr, Layout::from_size_align_unchecked(self.len, ALIGN)) }
        }
    }
}

/// A read-only "map".
pub struct Mmap {
    buf: Buf,
}

impl Mmap {
    /// Files cannot be mapped here.
    ///
    /// # Safety
    /// Same contract as memmap2's (nothing is mapped).
    pub unsafe fn map(_file: &File) -> io::Result<Mmap> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "memory-mapped files are not available on this target; load from bytes",
        ))
    }
}

impl Deref for Mmap {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.slice()
    }
}

impl AsRef<[u8]> for Mmap {
    fn as_ref(&self) -> &[u8] {
        self.buf.slice()
    }
}

impl std::fmt::Debug for Mmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mmap").field("len", &self.buf.len).finish()
    }
}

/// A writable anonymous "map".
pub struct MmapMut {
    buf: Buf,
}

impl MmapMut {
    /// A zeroed, page-aligned buffer of `len` bytes.
    pub fn map_anon(len: usize) -> io::Result<MmapMut> {
        Ok(MmapMut {
            buf: Buf::new(len)?,
        })
    }

    /// The same bytes, read-only.
    pub fn make_read_only(self) -> io::Result<Mmap> {
        Ok(Mmap { buf: self.buf })
    }
}

impl Deref for MmapMut {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.slice()
    }
}

impl DerefMut for MmapMut {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.buf.slice_mut()
    }
}

impl std::fmt::Debug for MmapMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmapMut")
            .field("len", &self.buf.len)
            .finish()
    }
}
