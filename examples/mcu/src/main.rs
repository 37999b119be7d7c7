//! sotto's wake-word path on a Cortex-M4 (qemu `mps2-an386`, semihosting): embedded 16 kHz
//! PCM → TFLite-Micro frontend → okay_nabu v2 (int8 TFLite) → one quantized output byte per
//! model step, printed for comparison with the host's `sotto wake --scores`.
//!
//! Output lines (all on the semihosting stdout):
//! - `S <clip> <step> <raw>`: the model's uint8 probability byte at each step;
//! - `M <key> <value>`: measurements (heap peak, arena, stack high-water, SysTick counts of
//!   the frontend and the model; under `qemu -icount shift=0` a tick is 40 instructions).
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};
use embedded_alloc::LlffHeap;
use sotto_micro::frontend::{MicroFrontend, MicroFrontendConfig};
use sotto_micro::tflite::{DType, Interpreter, LoadError, Model};
use sotto_micro::wake::{output_raw, FrameStacker, InputQuantizer};

mod data {
    include!(concat!(env!("OUT_DIR"), "/data.rs"));
}

/// Heap for loading only (compiled ops, folded biases, frontend tables); its high-water mark
/// is reported.
const HEAP_SIZE: usize = 96 * 1024;
/// Tensor arena; the model's need ([`Model::arena_bytes`]) is reported.
const ARENA_SIZE: usize = 48 * 1024;
/// Most model steps recorded per clip before printing.
const MAX_STEPS: usize = 1024;

/// The heap, with the peak of its used bytes.
struct TrackingHeap {
    heap: LlffHeap,
    peak: AtomicUsize,
}

unsafe impl GlobalAlloc for TrackingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        let p = unsafe { self.heap.alloc(layout) };
        self.peak.fetch_max(self.heap.used(), Ordering::Relaxed);
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { self.heap.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static HEAP: TrackingHeap = TrackingHeap {
    heap: LlffHeap::empty(),
    peak: AtomicUsize::new(0),
};

#[repr(C, align(8))]
struct Aligned<const N: usize>([u8; N]);

static mut HEAP_MEM: Aligned<HEAP_SIZE> = Aligned([0; HEAP_SIZE]);
static mut ARENA: Aligned<ARENA_SIZE> = Aligned([0; ARENA_SIZE]);
static mut STEPS: [u8; MAX_STEPS] = [0; MAX_STEPS];

/// SysTick wraps (24-bit counter).
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Ticks since start (SysTick on the core clock, counting down from 2^24 − 1).
fn now() -> u64 {
    loop {
        let w = WRAPS.load(Ordering::Relaxed);
        let v = cortex_m::peripheral::SYST::get_current();
        if WRAPS.load(Ordering::Relaxed) == w {
            return (u64::from(w) << 24) + u64::from(0x00FF_FFFF - v);
        }
    }
}

const PAINT: u32 = 0xA5A5_A5A5;

extern "C" {
    static _stack_start: u32;
    static __sheap: u32;
}

/// Fills the free stack below the current stack pointer with [`PAINT`].
fn paint_stack() {
    let bottom = &raw const __sheap as usize;
    let sp = cortex_m::register::msp::read() as usize - 64;
    let mut p = (bottom + 3) & !3;
    while p < sp {
        // SAFETY: the words between the end of .bss and the live stack are unused.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack ever used: from the top down to the lowest overwritten paint.
fn stack_high_water() -> usize {
    let bottom = (&raw const __sheap as usize + 3) & !3;
    let top = &raw const _stack_start as usize;
    let mut p = bottom;
    // SAFETY: reads of the painted region.
    while p < top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top - p
}

#[entry]
fn main() -> ! {
    paint_stack();
    let mut cp = cortex_m::Peripherals::take().unwrap();
    cp.SYST.set_clock_source(SystClkSource::Core);
    cp.SYST.set_reload(0x00FF_FFFF);
    cp.SYST.clear_current();
    cp.SYST.enable_interrupt();
    cp.SYST.enable_counter();
    // The first reload (from the cleared 0) is not a wrap: wait for it.
    while cortex_m::peripheral::SYST::get_current() == 0 {}
    // Calibration: a loop of exactly 2 · CALIB instructions (subs + bne).
    const CALIB: u32 = 1_000_000;
    let t = now();
    // SAFETY: a register-only countdown loop.
    unsafe {
        core::arch::asm!("1:", "subs {0}, {0}, #1", "bne 1b", inout(reg) CALIB => _, options(nomem, nostack));
    }
    let calib_ticks = now() - t;
    // SAFETY: the heap memory is used by nothing else; initialised once before any allocation.
    unsafe { HEAP.heap.init(&raw mut HEAP_MEM as usize, HEAP_SIZE) };

    let t0 = now();
    // The plan made by build.rs: no flatbuffer verifier or graph compiler in flash. Errors are
    // reported without formatting (their Display code would come along).
    let model = match Model::from_plan(data::MODEL, data::PLAN) {
        Ok(m) => m,
        Err(LoadError::Invalid(m)) => fail(&m),
        Err(_) => fail("model: not loadable"),
    };
    let load_ticks = now() - t0;
    // For comparison: the portable GEMM instead of the DSP one (`--features scalar-gemm`).
    #[cfg(feature = "scalar-gemm")]
    let model = model.with_gemm(sotto_micro::kernels::gemm_i8_scalar);
    let input = model.inputs().next().unwrap();
    let (stride, channels) = match input.shape[..] {
        [1, s, c] | [s, c] => (s, c),
        _ => fail("unexpected input shape"),
    };
    let q = InputQuantizer::new(input.scale, input.zero_point);
    let out_signed = model.outputs().next().unwrap().dtype == DType::I8;
    // SAFETY: the only reference to the arena and step buffer.
    let arena: &mut [u8] = unsafe { &mut (*(&raw mut ARENA)).0 };
    let steps_buf: &mut [u8; MAX_STEPS] = unsafe { &mut *(&raw mut STEPS) };
    hprintln!("M arena {}", model.arena_bytes());
    let (mut fe_ticks, mut nn_ticks, mut frames, mut invokes) = (0u64, 0u64, 0u64, 0u64);
    let Ok(mut fe) = MicroFrontend::new(MicroFrontendConfig::default()) else {
        fail("frontend configuration")
    };
    let heap_after_load = HEAP.heap.used();
    for (ci, (_name, pcm)) in data::CLIPS.iter().enumerate() {
        // A fresh stream per clip, as the host processes each file.
        fe.reset();
        let mut stream = match Interpreter::new(&model, &mut *arena) {
            Ok(s) => s,
            Err(_) => fail("tensor arena too small"),
        };
        let mut stacker = FrameStacker::new(stride, channels);
        let mut n = 0usize;
        let mut buf = [0i16; 160];
        for chunk in pcm.chunks(320) {
            let len = chunk.len() / 2;
            for (s, b) in buf.iter_mut().zip(chunk.chunks_exact(2)) {
                *s = i16::from_le_bytes([b[0], b[1]]);
            }
            let t = now();
            let mut in_model = 0u64;
            frames += fe.process_with(&buf[..len], |frame| {
                if stacker.push(&q, stream.input_i8_mut(0).unwrap(), frame) {
                    let t = now();
                    stream.invoke();
                    in_model += now() - t;
                    if n < MAX_STEPS {
                        steps_buf[n] = output_raw(stream.output(0).unwrap()[0], out_signed);
                    }
                    n += 1;
                }
            }) as u64;
            let total = now() - t;
            nn_ticks += in_model;
            fe_ticks += total - in_model;
        }
        invokes += n as u64;
        for (k, &raw) in steps_buf[..n.min(MAX_STEPS)].iter().enumerate() {
            hprintln!("S {} {} {}", ci, k, raw);
        }
    }
    hprintln!("M calib_insns {}", 2 * CALIB);
    hprintln!("M calib_ticks {}", calib_ticks);
    hprintln!("M load_ticks {}", load_ticks);
    hprintln!("M frontend_ticks {}", fe_ticks);
    hprintln!("M model_ticks {}", nn_ticks);
    hprintln!("M frames {}", frames);
    hprintln!("M invokes {}", invokes);
    hprintln!("M stride {}", stride);
    hprintln!("M heap_peak {}", HEAP.peak.load(Ordering::Relaxed));
    hprintln!("M heap_live {}", heap_after_load);
    hprintln!("M heap_region {}", HEAP_SIZE);
    hprintln!("M arena_region {}", ARENA_SIZE);
    hprintln!("M steps_region {}", MAX_STEPS);
    hprintln!("M model_bytes {}", data::MODEL.len());
    hprintln!("M plan_bytes {}", data::PLAN.len());
    let clip_bytes: usize = data::CLIPS.iter().map(|(_, p)| p.len()).sum();
    hprintln!("M clip_bytes {}", clip_bytes);
    hprintln!("M stack {}", stack_high_water());
    hprintln!("M done 1");
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

fn fail(msg: &str) -> ! {
    hprintln!("E {}", msg);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // The location only: the message would pull in the formatting of every panic payload.
    if let Some(l) = info.location() {
        hprintln!("E panic at {}:{}", l.file(), l.line());
    } else {
        hprintln!("E panic");
    }
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
