//! PDQ, Meta's perceptual photo hash (256 bits and a quality score), written from Meta's
//! description of the algorithm ("The TMK+PDQF Video-Hashing Algorithm and the PDQ Image
//! Similarity Algorithm", and `pdq/` in facebook/ThreatExchange):
//!
//! 1. luma Y = 0.299 R + 0.587 G + 0.114 B of each pixel, as floats;
//! 2. a Jarosz filter (two passes of a 1-D box filter along the rows, then along the columns,
//!    each window 1/128 of the side, rounded up), then decimation to 64x64 by sampling the
//!    centre of each cell;
//! 3. quality: the sum of the 64x64 image's neighbour differences in steps of 1/100 of the
//!    range, over 90, capped at 100 (flat images score low: their hashes match too easily);
//! 4. a 2-D DCT of the 64x64 image keeping frequencies 1..=16 in each direction (16x16);
//! 5. bit `16 i + j` is set when coefficient (i, j) is above the median of the 256.
//!
//! Two photos are the same picture when their hashes differ in at most ~31 of the 256 bits
//! (Meta's recommended threshold). The work is bounded: the pipeline hashes an already
//! downscaled buffer ([`MAX_EDGE`]), and everything after the filter is on 64x64 floats.

use std::fmt;
use std::sync::OnceLock;

/// The pipeline hashes the largest of its resized buffers whose longest edge is at most this
/// (the reference C++ tool squeezes big images to 512x512 before hashing, for the same reason:
/// the filter's cost grows with the pixels, the 64x64 result does not).
pub const MAX_EDGE: u32 = 640;

/// Sides shorter than this give the all-zero hash with quality 0 (as the reference does).
const MIN_SIDE: usize = 5;
const SIDE: usize = 64;
const FREQS: usize = 16;

/// A 256-bit PDQ hash, stored as Meta's tools print it: 64 hex digits, most significant first,
/// bit `k` of the hash being bit `k % 8` of byte `31 - k / 8`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PdqHash([u8; 32]);

impl PdqHash {
    pub const BITS: u32 = 256;

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PdqHash(bytes)
    }

    /// From a slice of exactly 32 bytes (as stored in the database).
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        Some(PdqHash(bytes.try_into().ok()?))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            let digits = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(digits, 16).ok()?;
        }
        Some(PdqHash(out))
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// The number of bits in which the two hashes differ (0..=256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    pub fn bit(&self, k: usize) -> bool {
        self.0[31 - k / 8] & (1 << (k % 8)) != 0
    }

    fn set_bit(&mut self, k: usize) {
        self.0[31 - k / 8] |= 1 << (k % 8);
    }

    /// The hash with bit `k` inverted.
    pub fn with_bit_flipped(mut self, k: usize) -> Self {
        self.0[31 - k / 8] ^= 1 << (k % 8);
        self
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A photo's hash and how much the hash can be trusted (0..=100; Meta's tools treat hashes
/// under 50 as too featureless to match on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pdq {
    pub hash: PdqHash,
    pub quality: u8,
}

/// PDQ of packed RGB8 pixels (`rgb.len() == 3 * width * height`, rows top to bottom).
pub fn hash_rgb8(width: u32, height: u32, rgb: &[u8]) -> Pdq {
    let (cols, rows) = (width as usize, height as usize);
    assert_eq!(
        rgb.len(),
        cols * rows * 3,
        "packed RGB8 of {width}x{height}"
    );
    if rows < MIN_SIDE || cols < MIN_SIDE {
        return Pdq {
            hash: PdqHash::default(),
            quality: 0,
        };
    }
    let mut luma: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect();
    let small = downsample(&mut luma, rows, cols);
    let quality = quality(&small);
    let dct = dct_16x16(&small);
    Pdq {
        hash: bits(&dct),
        quality,
    }
}

/// Jarosz filter (two box passes each way) and centre-sampling decimation to 64x64.
fn downsample(luma: &mut [f32], rows: usize, cols: usize) -> Vec<f32> {
    let along_rows = window(cols);
    let along_cols = window(rows);
    let mut scratch = vec![0f32; luma.len()];
    for _ in 0..2 {
        for (src, dst) in luma.chunks_exact(cols).zip(scratch.chunks_exact_mut(cols)) {
            box_1d(src, dst, along_rows);
        }
        box_columns(&scratch, luma, cols, along_cols);
    }
    let mut out = vec![0f32; SIDE * SIDE];
    for i in 0..SIDE {
        let r = ((i as f64 + 0.5) * rows as f64 / SIDE as f64) as usize;
        for j in 0..SIDE {
            let c = ((j as f64 + 0.5) * cols as f64 / SIDE as f64) as usize;
            out[i * SIDE + j] = luma[r * cols + c];
        }
    }
    out
}

/// Window of each box pass: half of a 64th of the side (two passes make a tent that spans
/// one output cell), rounded up.
fn window(side: usize) -> usize {
    side.div_ceil(2 * SIDE).max(1)
}

/// Box filter of width `w`: `out[i]` is the mean of `input[i + h - w ..= i + h - 1]` (with
/// `h = (w + 2) / 2`), clipped to the line, so the window is centred (one more on the right
/// when `w` is even).
fn box_1d(input: &[f32], out: &mut [f32], w: usize) {
    let n = input.len();
    let half = (w + 2) / 2;
    let mut sum = 0f32;
    let mut count = 0usize;
    let mut right = 0usize; // next index to add
    let mut left = 0usize; // next index to subtract
    for (i, slot) in out.iter_mut().enumerate() {
        let hi = (i + half).min(n); // exclusive
        while right < hi {
            sum += input[right];
            count += 1;
            right += 1;
        }
        let lo = (i + half).saturating_sub(w);
        while left < lo {
            sum -= input[left];
            count -= 1;
            left += 1;
        }
        *slot = sum / count as f32;
    }
}

/// [`box_1d`] down every column of a `cols`-wide image at once: a running sum per column,
/// updated a row at a time, so memory is read in order (a column walk strides by the row
/// length, which at 512 px is a multiple of 4 KiB and thrashes the cache). The same additions
/// and subtractions in the same order as [`box_1d`], so the same floats.
fn box_columns(src: &[f32], out: &mut [f32], cols: usize, w: usize) {
    let rows = src.len() / cols;
    let half = (w + 2) / 2;
    let mut sum = vec![0f32; cols];
    let mut count = 0usize;
    let (mut right, mut left) = (0usize, 0usize);
    for i in 0..rows {
        let hi = (i + half).min(rows);
        while right < hi {
            for (s, v) in sum.iter_mut().zip(&src[right * cols..(right + 1) * cols]) {
                *s += *v;
            }
            count += 1;
            right += 1;
        }
        let lo = (i + half).saturating_sub(w);
        while left < lo {
            for (s, v) in sum.iter_mut().zip(&src[left * cols..(left + 1) * cols]) {
                *s -= *v;
            }
            count -= 1;
            left += 1;
        }
        for (o, s) in out[i * cols..(i + 1) * cols].iter_mut().zip(&sum) {
            *o = *s / count as f32;
        }
    }
}

/// Sum of the absolute neighbour differences, each in whole hundredths of 255, over 90.
fn quality(img: &[f32]) -> u8 {
    let step = |u: f32, v: f32| (((u - v) * 100.0) / 255.0) as i32;
    let mut sum: i64 = 0;
    for i in 0..SIDE - 1 {
        for j in 0..SIDE {
            sum += i64::from(step(img[i * SIDE + j], img[(i + 1) * SIDE + j]).abs());
        }
    }
    for i in 0..SIDE {
        for j in 0..SIDE - 1 {
            sum += i64::from(step(img[i * SIDE + j], img[i * SIDE + j + 1]).abs());
        }
    }
    (sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II matrix, scaled by sqrt(2/64).
fn dct_matrix() -> &'static [f32] {
    static MATRIX: OnceLock<Vec<f32>> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0 / SIDE as f64).sqrt();
        let mut m = Vec::with_capacity(FREQS * SIDE);
        for i in 0..FREQS {
            for j in 0..SIDE {
                let angle =
                    std::f64::consts::PI / 2.0 / SIDE as f64 * (i + 1) as f64 * (2 * j + 1) as f64;
                m.push((scale * angle.cos()) as f32);
            }
        }
        m
    })
}

/// `D A Dᵀ` for the 16x64 matrix `D`: the 16x16 lowest non-DC frequencies.
fn dct_16x16(a: &[f32]) -> [f32; FREQS * FREQS] {
    let d = dct_matrix();
    let mut t = vec![0f32; FREQS * SIDE];
    for i in 0..FREQS {
        for j in 0..SIDE {
            t[i * SIDE + j] = (0..SIDE).map(|k| d[i * SIDE + k] * a[k * SIDE + j]).sum();
        }
    }
    let mut b = [0f32; FREQS * FREQS];
    for i in 0..FREQS {
        for j in 0..FREQS {
            b[i * FREQS + j] = (0..SIDE).map(|k| t[i * SIDE + k] * d[j * SIDE + k]).sum();
        }
    }
    b
}

/// Bit `k` set when coefficient `k` is above the median (the lower one of the 256, as the
/// reference's Torben selection gives).
fn bits(dct: &[f32; FREQS * FREQS]) -> PdqHash {
    let mut sorted = *dct;
    sorted.sort_by(f32::total_cmp);
    let median = sorted[FREQS * FREQS / 2 - 1];
    let mut hash = PdqHash::default();
    for (k, v) in dct.iter().enumerate() {
        if *v > median {
            hash.set_bit(k);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_box(input: &[f32], w: usize) -> Vec<f32> {
        let n = input.len() as isize;
        let half = ((w + 2) / 2) as isize;
        (0..n)
            .map(|i| {
                let lo = (i + half - w as isize).max(0);
                let hi = (i + half - 1).min(n - 1);
                let s: f32 = (lo..=hi).map(|k| input[k as usize]).sum();
                s / (hi - lo + 1) as f32
            })
            .collect()
    }

    #[test]
    fn box_filter_matches_its_definition() {
        let input: Vec<f32> = (0..16).map(|v| v as f32).collect();
        for w in 1..=9 {
            let mut out = vec![0.0; 16];
            box_1d(&input, &mut out, w);
            let want = naive_box(&input, w);
            for (a, b) in out.iter().zip(want.iter()) {
                assert!((a - b).abs() < 1e-4, "w {w}: {out:?} vs {want:?}");
            }
        }
        // The reference's worked example (window 7): out[4] = mean(1..=7), out[15] = mean(12..=15).
        let mut out = vec![0.0; 16];
        box_1d(&input, &mut out, 7);
        assert_eq!(out[4], 28.0 / 7.0);
        assert_eq!(out[15], 54.0 / 4.0);
        assert_eq!(out[0], 6.0 / 4.0);
    }

    #[test]
    fn the_column_pass_is_the_row_pass_down_each_column() {
        let (rows, cols) = (23usize, 5usize);
        let img: Vec<f32> = (0..rows * cols).map(|v| ((v * 37) % 101) as f32).collect();
        for w in 1..=6 {
            let mut out = vec![0.0; rows * cols];
            box_columns(&img, &mut out, cols, w);
            for c in 0..cols {
                let column: Vec<f32> = (0..rows).map(|r| img[r * cols + c]).collect();
                let mut want = vec![0.0; rows];
                box_1d(&column, &mut want, w);
                let got: Vec<f32> = (0..rows).map(|r| out[r * cols + c]).collect();
                assert_eq!(got, want, "w {w} column {c}");
            }
        }
    }

    #[test]
    fn hex_round_trips_and_bits_are_where_the_reference_prints_them() {
        let hex = "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff";
        let h = PdqHash::from_hex(hex).unwrap();
        assert_eq!(h.to_hex(), hex);
        // Last word 0x03ff: bits 0..=9 of row 0 are set, bit 10 is not.
        assert!(h.bit(0) && h.bit(9) && !h.bit(10));
        // First word 0x0007: row 15 has bits 0..=2.
        assert!(h.bit(240) && h.bit(242) && !h.bit(243));
        assert_eq!(h.distance(&h.with_bit_flipped(77)), 1);
        assert_eq!(PdqHash::from_hex(&hex[1..]), None);
        assert_eq!(PdqHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn tiny_and_flat_images_have_no_quality() {
        assert_eq!(hash_rgb8(4, 4, &[7; 48]).quality, 0);
        let flat = hash_rgb8(100, 80, &vec![128; 100 * 80 * 3]);
        assert_eq!(flat.quality, 0);
    }

    #[test]
    fn half_the_bits_are_set_for_a_textured_image() {
        let (w, h) = (200usize, 150usize);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let v = ((x * 7 + y * 13) % 256) as u8 ^ ((x * y) % 251) as u8;
                [v, v.wrapping_mul(3), 255 - v]
            })
            .collect();
        let pdq = hash_rgb8(w as u32, h as u32, &rgb);
        let ones: u32 = pdq.hash.as_bytes().iter().map(|b| b.count_ones()).sum();
        assert_eq!(ones, 128);
        assert!(pdq.quality > 50, "quality {}", pdq.quality);
    }
}
