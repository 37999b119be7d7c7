//! Quantization scheme, QMatrix products and weight buffers.

use std::sync::Arc;

use proptest::prelude::*;
use sotto_models::kernels;
use sotto_models::quant::{quantize_row, QMatrix, QuantError};
use sotto_models::tensor::{Buffer, TensorError};

/// Rows with mixed magnitudes (including all-zero rows) so per-row scales differ a lot.
fn matrix() -> impl Strategy<Value = (usize, usize, Vec<f32>)> {
    (1usize..40, 1usize..200).prop_flat_map(|(rows, cols)| {
        let row = prop_oneof![
            1 => Just(vec![0.0f32; cols]),
            6 => (prop::collection::vec(-1.0f32..1.0, cols), -6i32..6)
                .prop_map(|(v, e)| v.into_iter().map(|a| a * 10f32.powi(e)).collect()),
        ];
        (
            Just(rows),
            Just(cols),
            prop::collection::vec(row, rows).prop_map(|r| r.concat()),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// `|w − q·s| ≤ s/2` per element (plus the rounding of the f32 product `q·s`), the max-abs
    /// element maps to ±127, and every value stays in [-127, 127].
    #[test]
    fn dequantize_error_within_half_step((rows, cols, w) in matrix()) {
        let q = QMatrix::quantize(&w, rows, cols);
        let d = q.dequantize();
        for r in 0..rows {
            let s = q.scales[r];
            let row = &w[r * cols..][..cols];
            let m = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            prop_assert!((s - m / 127.0).abs() <= f32::EPSILON * s);
            for c in 0..cols {
                let (a, b, qv) = (row[c], d[r * cols + c], q.data[r * cols + c]);
                prop_assert!((-127..=127).contains(&qv));
                prop_assert!((a - b).abs() <= s / 2.0 * (1.0 + 1e-5) + 2.0 * f32::EPSILON * a.abs(),
                    "[{r},{c}] {a} -> {b}, scale {s}");
            }
            if m > 0.0 {
                prop_assert!(q.data[r * cols..][..cols].iter().any(|v| v.abs() == 127));
            }
        }
    }

    /// The fast rounding path equals the definition: round half away from zero of `x · 127/max`.
    #[test]
    fn quantize_row_matches_definition(x in prop::collection::vec(-1e3f32..1e3, 1..300)) {
        let mut q = vec![0; x.len()];
        let s = quantize_row(&x, &mut q);
        let m = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        prop_assert_eq!(s, m / 127.0);
        for (&v, &qv) in x.iter().zip(&q) {
            prop_assert_eq!(qv, (v * (127.0 / m)).round().clamp(-127.0, 127.0) as i8);
        }
    }

    /// `QMatrix::matmul` against an f64 product of the original f32 data, within the bound of the
    /// module docs: per output, `Σ_c |x_c|·s_w/2 + (s_x/2)·(|w_c| + s_w/2)` (x and w rounding),
    /// plus 1e-5·Σ|x·w| for f32 rescaling. Also: every kernel variant gives identical bits, and
    /// the parallel path equals the sequential one.
    #[test]
    fn matmul_within_derived_bound((rows, cols, w) in matrix(), n in 1usize..20, seed in any::<u64>()) {
        let x: Vec<f32> = (0..n * cols)
            .map(|i| (((i as u64 + 1).wrapping_mul(seed | 1) >> 40) as f32 / (1 << 24) as f32 - 0.5) * 8.0)
            .collect();
        let q = QMatrix::quantize(&w, rows, cols);
        let mut y = vec![0.0; n * rows];
        q.matmul(&x, n, &mut y);
        for j in 0..n {
            let xr = &x[j * cols..][..cols];
            let sx = xr.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64 / 127.0;
            for r in 0..rows {
                let wr = &w[r * cols..][..cols];
                let sw = q.scales[r] as f64;
                let exact: f64 = xr.iter().zip(wr).map(|(&a, &b)| a as f64 * b as f64).sum();
                let mag: f64 = xr.iter().zip(wr).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum();
                let bound: f64 = xr.iter().zip(wr)
                    .map(|(&a, &b)| (a as f64).abs() * sw / 2.0 + sx / 2.0 * ((b as f64).abs() + sw / 2.0))
                    .sum::<f64>() + 1e-5 * mag + 1e-30;
                let got = y[j * rows + r] as f64;
                prop_assert!((got - exact).abs() <= bound, "[{j},{r}] {got} vs {exact} (bound {bound})");
            }
        }
        for v in kernels::available_variants() {
            let mut yv = vec![0.0; n * rows];
            q.matmul_with(v, &x, n, &mut yv);
            prop_assert!(yv.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()), "variant {}", v);
        }
        let mut yp = vec![0.0; n * rows];
        q.matmul_par(&x, n, &mut yp);
        prop_assert!(yp.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn rounding_is_half_away_from_zero() {
    // max = 127 → factor 1, so the values are rounded as they are.
    let x = [127.0, 0.5, -0.5, 1.5, -2.5, 0.49999997, -0.49999997, 126.5];
    let mut q = [0; 8];
    assert_eq!(quantize_row(&x, &mut q), 1.0);
    assert_eq!(q, [127, 1, -1, 2, -3, 0, 0, 127]);
}

#[test]
fn quantize_row_special_inputs() {
    let mut q = [5i8; 3];
    assert_eq!(quantize_row(&[0.0, -0.0, 0.0], &mut q), 0.0);
    assert_eq!(q, [0, 0, 0]);
    assert_eq!(
        quantize_row(&[1e-38, 0.0, -1e-38], &mut q),
        0.0,
        "tiny rows count as zero"
    );
    assert_eq!(q, [0, 0, 0]);
    assert!(quantize_row(&[1.0, f32::NAN, 0.0], &mut q).is_nan());
    assert!(quantize_row(&[1.0, f32::INFINITY, 0.0], &mut q).is_nan());
    assert_eq!(quantize_row(&[], &mut []), 0.0);
    // A NaN input row makes the product NaN (visible), not a silently wrong number.
    let m = QMatrix::quantize(&[1.0, 2.0], 1, 2);
    let mut y = [0.0];
    m.matmul(&[f32::NAN, 1.0], 1, &mut y);
    assert!(y[0].is_nan());
}

#[test]
fn quantize_known_values() {
    let q = QMatrix::quantize(&[0.5, -1.0, 0.25, 0.0, 0.0, 0.0], 2, 3);
    assert_eq!(&q.data[..], &[64, -127, 32, 0, 0, 0]); // 0.5·127 = 63.5 → 64; 0.25·127 = 31.75 → 32
    assert_eq!(&q.scales[..], &[1.0 / 127.0, 0.0]);
    let mut y = [0.0; 2];
    q.matmul(&[2.0, 1.0, 4.0], 1, &mut y);
    // x → [64, 32, 127] with scale 4/127; acc = 64·64 − 32·127 + 127·32 = 4096.
    assert!(
        (y[0] - 4096.0 * (4.0 / 127.0) * (1.0 / 127.0)).abs() < 1e-6,
        "{}",
        y[0]
    );
    assert_eq!(y[1], 0.0);
}

#[test]
fn quantize_errors() {
    assert!(matches!(
        QMatrix::try_quantize(&[1.0; 5], 2, 3),
        Err(QuantError::Shape { .. })
    ));
    let e = QMatrix::try_quantize(&[1.0, 2.0, f32::NAN, 0.0], 2, 2).unwrap_err();
    assert!(
        matches!(e, QuantError::NonFinite { row: 1, col: 0, value } if value.is_nan()),
        "{e}"
    );
    assert!(e.to_string().contains("[1, 0]"), "{e}");
    let q = QMatrix::try_quantize(&[], 3, 0).unwrap();
    assert_eq!(q.scales.len(), 3);
}

#[test]
fn from_parts_validates() {
    let d = || Buffer::from(vec![1i8; 6]);
    assert!(QMatrix::from_parts(2, 3, d(), vec![0.5f32, 1.0].into()).is_ok());
    assert_eq!(
        QMatrix::from_parts(2, 4, d(), vec![0.5f32, 1.0].into()).unwrap_err(),
        QuantError::DataLen {
            rows: 2,
            cols: 4,
            got: 6
        }
    );
    assert_eq!(
        QMatrix::from_parts(2, 3, d(), vec![0.5f32].into()).unwrap_err(),
        QuantError::ScalesLen { rows: 2, got: 1 }
    );
    for bad in [-1.0, f32::INFINITY, f32::NAN] {
        let e = QMatrix::from_parts(2, 3, d(), vec![0.5f32, bad].into()).unwrap_err();
        assert!(matches!(e, QuantError::BadScale { row: 1, .. }), "{e}");
    }
    assert!(
        QMatrix::from_parts(usize::MAX, 2, d(), vec![].into()).is_err(),
        "overflowing shape"
    );
}

/// Writes `bytes` to a fresh temporary file and maps it.
fn map_bytes(name: &str, bytes: &[u8]) -> Arc<memmap2::Mmap> {
    let path = std::env::temp_dir().join(format!("sotto-quant-test-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: the file is private to this test and not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    std::fs::remove_file(&path).unwrap();
    Arc::new(map)
}

#[test]
fn mapped_buffers_are_zero_copy_and_checked() {
    // Layout: 6 int8 weights, 2 bytes padding, 2 f32 scales at byte 8.
    let mut bytes = vec![1u8, 2, 3, 0xff, 0x80, 0x7f, 0, 0];
    for s in [0.5f32, 0.25] {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    let map = map_bytes("ok", &bytes);
    let data = Buffer::<i8>::mapped(map.clone(), 0, 6).unwrap();
    let scales = Buffer::<f32>::mapped(map.clone(), 8, 2).unwrap();
    assert!(data.is_mapped());
    assert_eq!(data.as_ptr() as usize, map.as_ptr() as usize, "no copy");
    assert_eq!(&data[..], &[1, 2, 3, -1, -128, 127]);
    assert_eq!(&scales[..], &[0.5, 0.25]);
    assert!(format!("{scales:?}").contains("Mapped(2 x f32"));

    let q = QMatrix::from_parts(2, 3, data.clone(), scales.clone()).unwrap();
    let owned = QMatrix::from_parts(2, 3, data.to_vec().into(), scales.to_vec().into()).unwrap();
    let (mut a, mut b) = ([0.0; 2], [0.0; 2]);
    q.matmul(&[0.1, -0.2, 0.3], 1, &mut a);
    owned.matmul(&[0.1, -0.2, 0.3], 1, &mut b);
    assert_eq!(a, b);
    assert_eq!(
        q.dequantize(),
        vec![0.5, 1.0, 1.5, -0.5 * 0.5, -32.0, 127.0 * 0.25]
    );

    // Bounds: one element too many, an offset past the end, and a length that overflows.
    assert_eq!(
        Buffer::<f32>::mapped(map.clone(), 8, 3).unwrap_err(),
        TensorError::OutOfBounds {
            ty: "f32",
            offset: 8,
            len: 3,
            map_len: 16
        }
    );
    assert!(matches!(
        Buffer::<u8>::mapped(map.clone(), 17, 0),
        Err(TensorError::OutOfBounds { .. })
    ));
    assert!(matches!(
        Buffer::<i32>::mapped(map.clone(), 0, usize::MAX / 2),
        Err(TensorError::OutOfBounds { .. })
    ));
    assert!(matches!(
        Buffer::<f32>::mapped(map.clone(), usize::MAX, 1),
        Err(TensorError::OutOfBounds { .. })
    ));
    // Alignment: f32/i32 need 4-byte alignment, bytes need none.
    let e = Buffer::<f32>::mapped(map.clone(), 6, 1).unwrap_err();
    assert_eq!(
        e,
        TensorError::Misaligned {
            ty: "f32",
            offset: 6,
            align: 4
        }
    );
    assert!(e.to_string().contains("not 4-byte aligned"), "{e}");
    assert!(Buffer::<i32>::mapped(map.clone(), 2, 1).is_err());
    assert!(Buffer::<u8>::mapped(map.clone(), 5, 11).is_ok());
    assert!(Buffer::<i8>::mapped(map, 16, 0).unwrap().is_empty());
}

#[test]
fn owned_buffer_basics() {
    let b = Buffer::from(vec![1.0f32, 2.0]);
    let c = b.clone();
    assert!(!c.is_mapped());
    assert_eq!(&c[..], &[1.0, 2.0]);
    assert_eq!(b, c);
    assert_eq!(format!("{b:?}"), "Buffer::Owned(2 x f32)");
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Buffer<i8>>();
    send_sync::<QMatrix>();
}
