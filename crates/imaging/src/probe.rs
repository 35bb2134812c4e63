//! Header-only inspection: format, dimensions and an upper estimate of the memory that
//! [`process`](crate::process) will need, without decoding anything.
//!
//! Workers use the estimate to admit jobs against a memory budget (e.g. a weighted semaphore in a
//! 512 MB container): a 48 MP progressive JPEG needs ~170 MB, a 12 MP baseline one ~40 MB.

use crate::{ImageError, SourceFormat, check_dimensions, jpeg, largest_target, sniff, webp};

/// What the header says, plus the estimated peak memory of processing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: SourceFormat,
    /// Stored dimensions (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Progressive JPEG or interlaced PNG: needs whole-image buffers while decoding.
    pub progressive: bool,
    /// Estimated peak heap + resident code of one `process` call, in bytes (an upper estimate;
    /// the benchmark prints it next to the measured peak RSS).
    pub peak_memory_bytes: u64,
}

/// Resident baseline of a process running the pipeline (code, libc, encoder state).
const BASE: u64 = 16 << 20;

/// Reads the header and checks the pixel-flood guard, without decoding.
pub fn probe(bytes: &[u8]) -> Result<Probe, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let format = sniff(bytes).ok_or(ImageError::Unsupported)?;
    let (width, height, progressive, decode_bytes) = match format {
        SourceFormat::Jpeg => jpeg_header(bytes)?,
        SourceFormat::Png => png_header(bytes)?,
        SourceFormat::Webp => webp_header(bytes)?,
    };
    let (tw, th) = largest_target(width, height);
    let target = u64::from(tw) * u64::from(th) * 3;
    // After decoding: decoded buffer + resize scratch + largest variant, then while encoding the
    // largest variant, its oriented copy and libwebp's YUV/analysis buffers (~2x the RGB).
    let pipeline = target * 5;
    Ok(Probe {
        format,
        width,
        height,
        progressive,
        peak_memory_bytes: BASE + decode_bytes.max(pipeline) + bytes.len() as u64,
    })
}

/// (width, height, progressive, bytes needed while decoding)
type Header = (u32, u32, bool, u64);

fn jpeg_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let corrupt = || ImageError::Corrupt("JPEG without a frame header".into());
    let mut pos = 2usize;
    loop {
        // skip fill bytes
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *bytes.get(pos + 1).ok_or_else(corrupt)?;
        if bytes[pos] != 0xFF || marker == 0xD9 || marker == 0xDA {
            return Err(corrupt());
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2).ok_or_else(corrupt)?,
            *bytes.get(pos + 3).ok_or_else(corrupt)?,
        ]));
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let sof = bytes.get(pos + 4..pos + 2 + len).ok_or_else(corrupt)?;
            if sof.len() < 6 {
                return Err(corrupt());
            }
            let h = u16::from_be_bytes([sof[1], sof[2]]);
            let w = u16::from_be_bytes([sof[3], sof[4]]);
            let (w, h) = check_dimensions(u64::from(w), u64::from(h))?;
            let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
            let comps: Vec<(u64, u64)> = sof[6..]
                .chunks_exact(3)
                .take(usize::from(sof[5]))
                .map(|c| (u64::from(c[1] >> 4).max(1), u64::from(c[1] & 15).max(1)))
                .collect();
            let hmax = comps.iter().map(|c| c.0).max().unwrap_or(1);
            let vmax = comps.iter().map(|c| c.1).max().unwrap_or(1);
            // libjpeg keeps every DCT coefficient (2 bytes) of a progressive image in memory.
            let coefficients: u64 = if progressive {
                comps
                    .iter()
                    .map(|&(hs, vs)| {
                        let bw = (u64::from(w) * hs).div_ceil(hmax * 8);
                        let bh = (u64::from(h) * vs).div_ceil(vmax * 8);
                        bw * bh * 128
                    })
                    .sum()
            } else {
                0
            };
            let (tw, th) = largest_target(w, h);
            let n = u64::from(jpeg::scale_numerator(w, h, tw, th));
            let decoded = (u64::from(w) * n).div_ceil(8) * (u64::from(h) * n).div_ceil(8) * 3;
            return Ok((w, h, progressive, coefficients + decoded));
        }
        pos += 2 + len;
    }
}

fn png_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let ihdr = bytes
        .get(12..29)
        .filter(|h| &h[0..4] == b"IHDR")
        .ok_or_else(|| ImageError::Corrupt("PNG without IHDR".into()))?;
    let w = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    let h = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let (w, h) = check_dimensions(u64::from(w), u64::from(h))?;
    let interlaced = ihdr[16] != 0;
    let pixels = u64::from(w) * u64::from(h);
    let decode = if interlaced {
        // whole frame (<= 4 bytes/px after 8-bit normalisation) + its RGB copy
        pixels * (4 + 3)
    } else {
        let (tw, th) = largest_target(w, h);
        let k = u64::from((w / tw).min(h / th).max(1));
        u64::from(w).div_ceil(k) * u64::from(h).div_ceil(k) * 3
    };
    Ok((w, h, interlaced, decode))
}

fn webp_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let (w, h) = webp::dimensions(bytes)?;
    let (tw, th) = largest_target(w, h);
    let lossless = webp::chunks(bytes).any(|(fourcc, _)| &fourcc == b"VP8L");
    // VP8L decodes through a full-size ARGB buffer even when scaling; VP8 scales row by row.
    let internal = if lossless {
        u64::from(w) * u64::from(h) * 4
    } else {
        u64::from(w) * 64 * 4
    };
    Ok((
        w,
        h,
        false,
        internal + u64::from(tw) * u64::from(th) * 4 * 2,
    ))
}
