//! Writes `sotto.pc` next to the built library (`target/<profile>/sotto.pc`), so that a C build
//! can use the uninstalled library through `PKG_CONFIG_PATH=target/<profile>`. `install.sh`
//! writes the installed variant from `sotto.pc.in`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=sotto.pc.in");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is target/<profile>/build/<pkg>-<hash>/out: the profile folder is three up.
    let Some(profile_dir) = out.ancestors().nth(3) else {
        return;
    };
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let template = std::fs::read_to_string(manifest.join("sotto.pc.in")).expect("sotto.pc.in");
    let pc = template
        .replace("@PREFIX@", &profile_dir.display().to_string())
        .replace("@LIBDIR@", &profile_dir.display().to_string())
        .replace(
            "@INCLUDEDIR@",
            &manifest.join("include").display().to_string(),
        )
        .replace(
            "@VERSION@",
            &std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        );
    // A read-only target folder is not worth failing the build for: the .pc is a convenience.
    let _ = std::fs::write(profile_dir.join("sotto.pc"), pc);
}
