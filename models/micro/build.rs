//! Sets `cfg(sotto_arm_dsp)` for targets whose every CPU has the Armv7E-M DSP extension
//! (`SMLAD`, `SXTB16`: Cortex-M4/M7, `thumbv7em-*`). Stable Rust does not expose Arm target
//! features to `cfg`, so the target name decides. Other Arm targets use the scalar kernels.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(sotto_arm_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=sotto_arm_dsp");
    }
}
