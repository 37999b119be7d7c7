//! Every kernel variant this CPU supports against the scalar reference.

use proptest::prelude::*;
use sotto_models::kernels::{self, scalar, Variant};

/// A product shape with data: rows, cols in 1..300 (odd sizes and tails), n in 1..64.
fn shape() -> impl Strategy<Value = (usize, usize, usize)> {
    (1usize..300, 1usize..300, 1usize..64)
}

/// int8 data biased towards the extremes -128 and 127 (worst case for saturation bugs).
fn i8_data(len: usize) -> impl Strategy<Value = Vec<i8>> {
    prop::collection::vec(
        prop_oneof![3 => any::<i8>(), 1 => Just(i8::MIN), 1 => Just(i8::MAX)],
        len,
    )
}

fn i8_case() -> impl Strategy<Value = (usize, usize, usize, Vec<i8>, Vec<i8>)> {
    shape().prop_flat_map(|(r, c, n)| (Just(r), Just(c), Just(n), i8_data(r * c), i8_data(n * c)))
}

fn f32_case() -> impl Strategy<Value = (usize, usize, usize, Vec<f32>, Vec<f32>)> {
    shape().prop_flat_map(|(r, c, n)| {
        let v = |len| prop::collection::vec(-4.0f32..4.0, len);
        (Just(r), Just(c), Just(n), v(r * c), v(n * c))
    })
}

/// Bound on the difference of two f32 dot products summed in different orders:
/// each is within `cols·ε·Σ|w·x|` of the exact value.
fn f32_bound(w: &[f32], x: &[f32]) -> f32 {
    let mag: f32 = w.iter().zip(x).map(|(a, b)| (a * b).abs()).sum();
    2.0 * w.len() as f32 * f32::EPSILON * mag * 1.01 + 1e-30
}

fn check_f32(
    v: Variant,
    w: &[f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    n: usize,
) -> Result<(), TestCaseError> {
    let mut want = vec![0.0; n * rows];
    let mut got = vec![f32::NAN; n * rows];
    scalar::gemm_f32(w, rows, cols, x, n, &mut want);
    kernels::gemm_f32_with(v, w, rows, cols, x, n, &mut got);
    for j in 0..n {
        for r in 0..rows {
            let (a, b) = (want[j * rows + r], got[j * rows + r]);
            let tol = f32_bound(&w[r * cols..][..cols], &x[j * cols..][..cols]);
            prop_assert!((a - b).abs() <= tol, "{v} [{j},{r}] {a} vs {b} (tol {tol})");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn i8_variants_equal_scalar((rows, cols, n, w, x) in i8_case()) {
        let mut want = vec![0; n * rows];
        scalar::gemm_i8(&w, rows, cols, &x, n, &mut want);
        for v in kernels::available_variants() {
            let mut got = vec![i32::MIN; n * rows];
            kernels::gemm_i8_with(v, &w, rows, cols, &x, n, &mut got);
            prop_assert_eq!(&got, &want, "variant {}", v);
        }
    }

    #[test]
    fn f32_variants_match_scalar((rows, cols, n, w, x) in f32_case()) {
        for v in kernels::available_variants() {
            check_f32(v, &w, rows, cols, &x, n)?;
        }
    }
}

/// Hand-checked values, so the reference itself is tested, including the extremes.
#[test]
fn scalar_reference_known_values() {
    let w = [1i8, -2, 3, i8::MIN, i8::MAX, 0];
    let x = [i8::MIN, 1, 2, 3, i8::MIN, -1];
    let mut acc = [0; 4];
    scalar::gemm_i8(&w, 2, 3, &x, 2, &mut acc);
    // row0·x0 = -128 - 2 + 6; row1·x0 = 16384 + 127 + 0; row0·x1 = 3 + 256 - 3; row1·x1 = -384 - 16256.
    assert_eq!(acc, [-124, 16511, 256, -16640]);
    let mut y = [0.0; 1];
    scalar::gemm_f32(&[0.5, -1.0, 2.0], 1, 3, &[2.0, 3.0, 0.25], 1, &mut y);
    assert_eq!(y, [-1.5]);
}

/// Worst-case magnitudes on every variant: all -128 × -128 over a long row (no saturation).
#[test]
fn i8_extremes_long_rows() {
    for cols in [1, 15, 16, 17, 63, 64, 65, 1000, 4099] {
        for (wv, xv) in [(i8::MIN, i8::MIN), (i8::MIN, i8::MAX), (i8::MAX, i8::MAX)] {
            let (rows, n) = (5, 3);
            let w = vec![wv; rows * cols];
            let x = vec![xv; n * cols];
            for v in kernels::available_variants() {
                let mut got = vec![0; n * rows];
                kernels::gemm_i8_with(v, &w, rows, cols, &x, n, &mut got);
                assert!(
                    got.iter()
                        .all(|&a| a == wv as i32 * xv as i32 * cols as i32),
                    "{v} cols {cols}"
                );
            }
        }
    }
}

/// Degenerate shapes: zero rows, columns or inputs must not touch memory out of bounds.
#[test]
fn empty_shapes() {
    for v in kernels::available_variants() {
        for (rows, cols, n) in [(0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0)] {
            let mut y = vec![7.0f32; n * rows];
            kernels::gemm_f32_with(
                v,
                &vec![1.0; rows * cols],
                rows,
                cols,
                &vec![1.0; n * cols],
                n,
                &mut y,
            );
            assert!(y.iter().all(|&a| a == cols as f32), "{v}");
            let mut acc = vec![7i32; n * rows];
            kernels::gemm_i8_with(
                v,
                &vec![1; rows * cols],
                rows,
                cols,
                &vec![1; n * cols],
                n,
                &mut acc,
            );
            assert!(acc.iter().all(|&a| a == cols as i32), "{v}");
        }
    }
}

/// The rayon path splits over weight rows; results must be bit-identical to the sequential
/// kernel of the same variant. Sizes are large enough to actually split.
#[test]
fn parallel_is_bit_identical() {
    let (rows, cols, n) = (301, 517, 19);
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 77.0)
        .collect();
    let x: Vec<f32> = (0..n * cols)
        .map(|i| ((i * 104729 % 997) as f32 - 498.0) / 31.0)
        .collect();
    let wq: Vec<i8> = (0..rows * cols)
        .map(|i| (i * 7919 % 256) as u8 as i8)
        .collect();
    let xq: Vec<i8> = (0..n * cols)
        .map(|i| (i * 104729 % 256) as u8 as i8)
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for v in kernels::available_variants() {
        let (mut a, mut b) = (vec![0.0; n * rows], vec![0.0; n * rows]);
        kernels::gemm_f32_with(v, &w, rows, cols, &x, n, &mut a);
        pool.install(|| kernels::gemm_f32_par_with(v, &w, rows, cols, &x, n, &mut b));
        assert!(
            a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{v} f32"
        );
        let (mut a, mut b) = (vec![0; n * rows], vec![0; n * rows]);
        kernels::gemm_i8_with(v, &wq, rows, cols, &xq, n, &mut a);
        pool.install(|| kernels::gemm_i8_par_with(v, &wq, rows, cols, &xq, n, &mut b));
        assert_eq!(a, b, "{v} i8");
    }
}

/// An output element's value must not depend on n or on its block position (this is what makes
/// the parallel split bit-identical).
#[test]
fn f32_result_independent_of_batch() {
    let (rows, cols, n) = (13, 37, 7);
    let w: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
    let x: Vec<f32> = (0..n * cols).map(|i| (i as f32 * 0.11).cos()).collect();
    for v in kernels::available_variants() {
        let mut all = vec![0.0; n * rows];
        kernels::gemm_f32_with(v, &w, rows, cols, &x, n, &mut all);
        for j in 0..n {
            let mut one = vec![0.0; rows];
            kernels::gemm_f32_with(v, &w, rows, cols, &x[j * cols..][..cols], 1, &mut one);
            assert_eq!(one, all[j * rows..][..rows], "{v} row {j}");
        }
    }
}

#[test]
fn dispatch_uses_an_available_variant() {
    let v = kernels::best_variant();
    assert!(v.is_available());
    assert_eq!(Some(&v), kernels::available_variants().last());
    assert_eq!(kernels::available_variants()[0], Variant::Scalar);
    eprintln!("kernel variants: {:?}", kernels::available_variants());
}

#[test]
#[should_panic(expected = "x length")]
fn shape_mismatch_panics_cleanly() {
    let mut y = [0.0; 2];
    kernels::gemm_f32(&[0.0; 6], 2, 3, &[0.0; 4], 1, &mut y);
}

/// Batches larger than the AVX-512 kernel's 64-row correction chunk, with odd sizes.
#[test]
fn i8_large_batch_equals_scalar() {
    let (rows, cols, n) = (7, 131, 150);
    let w: Vec<i8> = (0..rows * cols)
        .map(|i| (i * 7919 % 256) as u8 as i8)
        .collect();
    let x: Vec<i8> = (0..n * cols)
        .map(|i| (i * 104729 % 253) as u8 as i8)
        .collect();
    let mut want = vec![0; n * rows];
    scalar::gemm_i8(&w, rows, cols, &x, n, &mut want);
    for v in kernels::available_variants() {
        let mut got = vec![0; n * rows];
        kernels::gemm_i8_with(v, &w, rows, cols, &x, n, &mut got);
        assert_eq!(got, want, "{v}");
    }
}

/// Asking for a variant the CPU lacks is refused with a panic, never executed.
#[test]
fn unavailable_variant_is_refused() {
    for v in Variant::ALL.into_iter().filter(|v| !v.is_available()) {
        let r =
            std::panic::catch_unwind(|| kernels::gemm_i8_with(v, &[1], 1, 1, &[1], 1, &mut [0]));
        assert!(r.is_err(), "{v} ran on a CPU without it");
    }
}

/// Every start alignment of the weights (the AVX-512 matrix-vector path peels a head chunk to
/// align its loads) gives the scalar result.
#[test]
fn i8_any_weight_alignment() {
    let (rows, cols) = (6, 333);
    let buf: Vec<i8> = (0..rows * cols + 64)
        .map(|i| (i * 7919 % 256) as u8 as i8)
        .collect();
    let x: Vec<i8> = (0..cols).map(|i| (i * 104729 % 256) as u8 as i8).collect();
    for off in 0..64 {
        let w = &buf[off..off + rows * cols];
        let mut want = vec![0; rows];
        scalar::gemm_i8(w, rows, cols, &x, 1, &mut want);
        for v in kernels::available_variants() {
            let mut got = vec![0; rows];
            kernels::gemm_i8_with(v, w, rows, cols, &x, 1, &mut got);
            assert_eq!(got, want, "{v} offset {off}");
        }
    }
}

/// The joiner's fast `tanh` against the exact value (f64) over a dense sweep and the edges.
#[test]
fn fast_tanh_accuracy() {
    let mut worst = (0.0f64, 0.0f32);
    let mut x = -12.0f32;
    while x <= 12.0 {
        let err = (kernels::tanh(x) as f64 - (x as f64).tanh()).abs();
        if err > worst.0 {
            worst = (err, x);
        }
        x += 1.0 / 4096.0;
    }
    assert!(
        worst.0 <= 4e-7,
        "max |error| {:e} at x = {}",
        worst.0,
        worst.1
    );
    for x in [
        0.0f32, -0.0, 1e-30, -1e-7, 1e-4, 0.5, 8.999, 9.0, 9.5, 1e30, -1e30,
    ] {
        let err = (kernels::tanh(x) as f64 - (x as f64).tanh()).abs();
        assert!(err <= 4e-7, "x = {x}: {} vs {}", kernels::tanh(x), x.tanh());
    }
    assert_eq!(kernels::tanh(f32::INFINITY), 1.0);
    assert_eq!(kernels::tanh(f32::NEG_INFINITY), -1.0);
    assert!(kernels::tanh(f32::NAN).is_nan(), "NaN must not be hidden");
    // Odd and monotone (within rounding) where the joiner lives.
    let mut prev = kernels::tanh(-10.0);
    for i in -10_000..=10_000 {
        let x = i as f32 / 1000.0;
        let t = kernels::tanh(x);
        assert!(t >= prev - 3e-7, "not monotone at {x}");
        assert!((t + kernels::tanh(-x)).abs() <= 2e-7, "not odd at {x}");
        prev = t;
    }
}

proptest! {
    /// Every variant of `add_tanh_rows` is bit-identical to the scalar reference (the same
    /// formula, element-wise and correctly rounded), including NaN and the clamp edges.
    #[test]
    fn add_tanh_rows_variants_equal_scalar(
        (cols, rows) in (1usize..300, 1usize..20),
        seed in any::<u64>(),
    ) {
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let special = [f32::NAN, 9.0, -9.0, 9.000_001, f32::INFINITY, 0.0, -0.0, 1e-8];
        let mut val = || match next() % 16 {
            0 => special[(next() % special.len() as u64) as usize],
            _ => (next() % 2_000_001) as f32 / 50_000.0 - 20.0,
        };
        let bias: Vec<f32> = (0..cols).map(|_| val()).collect();
        let data: Vec<f32> = (0..cols * rows).map(|_| val()).collect();
        let mut want = data.clone();
        kernels::add_tanh_rows_scalar(&mut want, &bias);
        for (i, (&d, &w)) in data.iter().zip(&want).enumerate() {
            let t = kernels::tanh(d + bias[i % cols]);
            prop_assert!(t.to_bits() == w.to_bits() || (t.is_nan() && w.is_nan()));
        }
        for v in kernels::available_variants() {
            let mut got = data.clone();
            kernels::add_tanh_rows_with(v, &mut got, &bias);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                prop_assert!(
                    g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                    "{v} element {i}: {g} vs {w}"
                );
            }
        }
    }
}

#[test]
#[should_panic(expected = "not a multiple")]
fn add_tanh_rows_shape_mismatch_panics() {
    kernels::add_tanh_rows(&mut [0.0; 5], &[0.0; 2]);
}

/// LSTM gate pre-activations (`gx`, `gh`: `[4H]` each, wide enough to saturate every gate) and a
/// cell state `[H]`, with H in 1..600 (vector tails).
fn lstm_case() -> impl Strategy<Value = (Vec<f32>, Vec<f32>, Vec<f32>)> {
    (1usize..600).prop_flat_map(|hd| {
        let v = |len, r: f32| prop::collection::vec(-r..r, len);
        (v(4 * hd, 15.0), v(4 * hd, 15.0), v(hd, 4.0))
    })
}

proptest! {
    /// The LSTM cell kernel against the textbook cell in f64.
    #[test]
    fn lstm_cell_matches_f64((gx, gh, c0) in lstm_case()) {
        let hd = c0.len();
        let (mut c, mut h) = (c0.clone(), vec![0.0; hd]);
        kernels::lstm_cell_scalar(&gx, &gh, &mut c, &mut h);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        for j in 0..hd {
            let g = |k: usize| gx[k * hd + j] as f64 + gh[k * hd + j] as f64;
            let cw = sig(g(1)) * c0[j] as f64 + sig(g(0)) * g(2).tanh();
            let hw = sig(g(3)) * cw.tanh();
            prop_assert!((c[j] as f64 - cw).abs() < 2e-6, "c[{}] {} vs {}", j, c[j], cw);
            prop_assert!((h[j] as f64 - hw).abs() < 2e-6, "h[{}] {} vs {}", j, h[j], hw);
        }
    }

    /// Every variant of `lstm_cell` gives the scalar reference's bits.
    #[test]
    fn lstm_cell_variants_equal_scalar((gx, gh, c0) in lstm_case()) {
        let hd = c0.len();
        let (mut c_ref, mut h_ref) = (c0.clone(), vec![0.0; hd]);
        kernels::lstm_cell_scalar(&gx, &gh, &mut c_ref, &mut h_ref);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for v in kernels::available_variants() {
            let (mut c, mut h) = (c0.clone(), vec![0.0; hd]);
            kernels::lstm_cell_with(v, &gx, &gh, &mut c, &mut h);
            prop_assert_eq!(bits(&c), bits(&c_ref), "{} c, H = {}", v, hd);
            prop_assert_eq!(bits(&h), bits(&h_ref), "{} h, H = {}", v, hd);
        }
    }
}

/// A NaN gate input is not hidden.
#[test]
fn lstm_cell_keeps_nan() {
    let mut gx = vec![0.0; 4];
    gx[2] = f32::NAN;
    let (mut c, mut h) = (vec![0.0], vec![0.0]);
    kernels::lstm_cell_scalar(&gx, &[0.0; 4], &mut c, &mut h);
    assert!(c[0].is_nan() && h[0].is_nan());
}
