//! The arena planner: first-fit placement of a graph's tensors by lifetime, done once at load.

use super::tensor::MAX_BYTES;
use super::{bad, LoadError};
use alloc::vec::Vec;
use core::ops::Range;

/// First-fit allocator of one graph's tensors in the arena (offsets relative to `base`).
pub(crate) struct Planner {
    pub(crate) base: usize,
    /// Free holes below `end`, sorted and coalesced.
    pub(crate) free: Vec<Range<usize>>,
    pub(crate) end: usize,
}

impl Planner {
    pub(crate) fn alloc(&mut self, bytes: usize) -> Result<Range<usize>, LoadError> {
        let start = match self.free.iter().position(|f| f.len() >= bytes) {
            Some(k) if bytes > 0 => {
                let start = self.free[k].start;
                self.free[k].start += bytes;
                if self.free[k].is_empty() {
                    self.free.remove(k);
                }
                start
            }
            _ => {
                let start = self.end;
                self.end = start
                    .checked_add(bytes)
                    .filter(|&e| self.base + e <= MAX_BYTES)
                    .ok_or_else(|| bad("arena too large"))?;
                start
            }
        };
        Ok(self.base + start..self.base + start + bytes)
    }

    pub(crate) fn release(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        let r = r.start - self.base..r.end - self.base;
        let k = self.free.partition_point(|f| f.start < r.start);
        self.free.insert(k, r);
        // Coalesce with the neighbours.
        if k + 1 < self.free.len() && self.free[k].end == self.free[k + 1].start {
            self.free[k].end = self.free.remove(k + 1).end;
        }
        if k > 0 && self.free[k - 1].end == self.free[k].start {
            self.free[k - 1].end = self.free.remove(k).end;
        }
    }
}
