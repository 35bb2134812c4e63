//! Header-only inspection: format, dimensions and an upper estimate of the memory that
//! [`process`](crate::process) will need, without decoding anything.
//!
//! Workers use the estimate to admit jobs against a memory budget (e.g. a weighted semaphore in a
//! 512 MB container): a 48 MP progressive JPEG needs ~170 MB, a 12 MP baseline one ~40 MB.

use crate::{
    ImageError, MAX_ICC_BYTES, SourceFormat, check_dimensions, jpeg, largest_target, sniff, webp,
};

/// What the header says, plus the estimated peak memory of processing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub format: SourceFormat,
    /// Stored dimensions (before EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// Progressive or multi-scan JPEG, interlaced PNG, or HEIF tile grid: needs whole-image
    /// buffers while decoding (every HEIF does: libheif has no shrink-on-load).
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
        SourceFormat::Heic | SourceFormat::Avif => {
            let header = crate::heif::header(bytes)?;
            (
                header.width,
                header.height,
                header.grid,
                header.decode_bytes(),
            )
        }
    };
    let (tw, th) = largest_target(width, height);
    let target = u64::from(tw) * u64::from(th) * 3;
    // After decoding: decoded buffer + resize scratch + largest variant, then while encoding the
    // largest variant, its oriented copy and libwebp's YUV/analysis buffers (~2x the RGB).
    let pipeline = target * 5;
    // The file itself, plus what the decoders copy out of it: the metadata libjpeg saves
    // (APP1/APP2/APP14, at most the file again) and an ICC profile (at most MAX_ICC_BYTES).
    let file = bytes.len() as u64 * 2 + MAX_ICC_BYTES as u64;
    Ok(Probe {
        format,
        width,
        height,
        progressive,
        peak_memory_bytes: BASE + decode_bytes.max(pipeline) + file,
    })
}

/// (width, height, progressive, bytes needed while decoding)
type Header = (u32, u32, bool, u64);

fn jpeg_header(bytes: &[u8]) -> Result<Header, ImageError> {
    let corrupt = || ImageError::Corrupt("JPEG without a frame header".into());
    let mut pos = 2usize;
    let mut frame: Option<Frame> = None;
    loop {
        // Like libjpeg's next_marker: bytes before a marker are junk it only warns about, so
        // they must not hide the frame header from this estimate.
        while pos < bytes.len() && bytes[pos] != 0xFF {
            pos += 1;
        }
        while bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos + 1) else {
            // Out of data: the decoder will fail, but estimate what the frame would need.
            return frame.map(|f| jpeg_estimate(f, true)).ok_or_else(corrupt);
        };
        if marker == 0x00 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        if marker == 0xD9 {
            return Err(corrupt());
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(pos + 2).ok_or_else(corrupt)?,
            *bytes.get(pos + 3).ok_or_else(corrupt)?,
        ]));
        let segment = bytes.get(pos + 4..pos + 2 + len.max(2));
        if marker == 0xDA {
            let frame = frame.ok_or_else(corrupt)?;
            // libjpeg keeps the whole image's coefficients when the first scan does not hold
            // every component (multi-scan sequential) as well as for progressive files.
            let components_in_scan = segment.and_then(|s| s.first()).copied().unwrap_or(0);
            let multi_scan = frame.2 || usize::from(components_in_scan) < frame.3.len();
            return Ok(jpeg_estimate(frame, multi_scan));
        }
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof && frame.is_none() {
            let sof = segment.ok_or_else(corrupt)?;
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
            frame = Some((w, h, progressive, comps));
        }
        pos += 2 + len;
    }
}

/// A JPEG frame header: width, height, progressive, (h, v) sampling of each component.
type Frame = (u32, u32, bool, Vec<(u64, u64)>);

/// (width, height, progressive, bytes needed while decoding) of a JPEG frame.
fn jpeg_estimate((w, h, progressive, comps): Frame, multi_scan: bool) -> Header {
    let hmax = comps.iter().map(|c| c.0).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.1).max().unwrap_or(1);
    // A multi-scan image keeps every DCT coefficient (2 bytes, 64 per block) in memory, each
    // component padded to whole MCUs.
    let coefficients: u64 = if multi_scan {
        comps
            .iter()
            .map(|&(hs, vs)| {
                let bw = (u64::from(w) * hs).div_ceil(hmax * 8).next_multiple_of(hs);
                let bh = (u64::from(h) * vs).div_ceil(vmax * 8).next_multiple_of(vs);
                bw * bh * 128
            })
            .sum()
    } else {
        0
    };
    let (tw, th) = largest_target(w, h);
    let n = u64::from(jpeg::scale_numerator(w, h, tw, th));
    let decoded = (u64::from(w) * n).div_ceil(8) * (u64::from(h) * n).div_ceil(8) * 3;
    (w, h, progressive || multi_scan, coefficients + decoded)
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
