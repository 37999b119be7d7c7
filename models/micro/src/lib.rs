//! sotto's wake-word path for microcontrollers: `no_std`, no heap on the hot path.
//!
//! - [`frontend`]: the TFLite-Micro audio frontend (16 kHz PCM → 40 `u16` features per 10 ms),
//!   integer arithmetic, bit-exact with TFLite-Micro.
//! - [`tflite`]: the int8 TFLite interpreter. A [`tflite::Model`] borrows the `.tflite` bytes
//!   (e.g. `&'static [u8]` in flash) and holds the compiled graph; per-stream state lives in a
//!   caller-given `&mut [u8]` arena of [`tflite::Model::arena_bytes`] bytes, planned at load.
//! - [`kernels`]: the int8 GEMM, portable scalar plus a Cortex-M DSP (`SMLAD`) path.
//!
//! `alloc` is needed only while loading a model and building the frontend (compiled ops,
//! folded biases, tables: a few KB); [`tflite::Interpreter::invoke`] and
//! [`frontend::MicroFrontend::process_with`] allocate nothing. The host crates
//! (`sotto-models`' `tflite`, `sotto-frontend`'s `micro`) wrap this same code.
//!
//! ```
//! use sotto_micro::frontend::{MicroFrontend, MicroFrontendConfig};
//! let mut fe = MicroFrontend::new(MicroFrontendConfig::default()).unwrap();
//! let mut frames = 0;
//! fe.process_with(&[0i16; 16000], |features: &[u16]| {
//!     assert_eq!(features.len(), 40);
//!     frames += 1;
//! });
//! assert_eq!(frames, 98);
//! ```
#![no_std]
#![warn(missing_docs)]
// Without `messages`, error texts are their format strings and the values go unused.
#![cfg_attr(not(feature = "messages"), allow(unused_variables))]

extern crate alloc;

/// An error message: formatted with the `messages` feature (default); otherwise just the
/// format string, which keeps the formatting code (float formatting above all) and the
/// arguments out of a firmware image.
macro_rules! msg {
    ($fmt:literal $($rest:tt)*) => {{
        #[cfg(feature = "messages")]
        let m = alloc::format!($fmt $($rest)*);
        #[cfg(not(feature = "messages"))]
        let m: &'static str = $fmt;
        m
    }};
}
#[cfg(test)]
extern crate std;

pub mod frontend;
pub mod kernels;
mod math;
pub mod tflite;
pub mod wake;
