//! PNG through the pure-Rust `png` crate.
//!
//! The IHDR dimensions are checked before the decoder exists. Non-interlaced images are decoded
//! row by row into an integer box-shrunk buffer (PNG has no DCT scaling, so this is our
//! shrink-on-load: memory stays at ~3 bytes per *output* pixel instead of 4 per source pixel).

use std::io::Cursor;

use png::{ColorType, Decoder, Limits, Transformations};

use crate::{
    Decoded, ImageError, MAX_ICC_BYTES, Rgb, check_dimensions, color, deadline, largest_target, ops,
};

/// The embedded profile of the first `iCCP` chunk, inflated by us rather than by the `png`
/// crate: a few hundred KB of deflate can claim hundreds of MB, and profiles past
/// [`MAX_ICC_BYTES`] are useless (qcms refuses them). Inflation stops at the cap, and the inflated
/// buffer is the profile itself: no further copy.
fn icc_profile(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut pos = 8usize;
    loop {
        let header = bytes.get(pos..pos.checked_add(8)?)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let data = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
        match kind {
            b"iCCP" => {
                // profile name (1-79 bytes), NUL, compression method 0, zlib stream
                let nul = data.iter().take(80).position(|&b| b == 0)?;
                if data.get(nul + 1) != Some(&0) {
                    return None;
                }
                let zlib = data.get(nul + 2..)?;
                return miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(
                    zlib,
                    MAX_ICC_BYTES,
                )
                .ok();
            }
            b"IDAT" | b"IEND" => return None,
            _ => {}
        }
        pos = pos + 12 + len;
    }
}

fn corrupt(e: png::DecodingError) -> ImageError {
    ImageError::Corrupt(format!("PNG: {e}"))
}

/// Appends one 8-bit row as RGB (grey expanded, alpha flattened onto white).
fn row_to_rgb(row: &[u8], color: ColorType, out: &mut Vec<u8>) {
    match color {
        ColorType::Rgb => out.extend_from_slice(row),
        ColorType::Rgba => ops::flatten_rgba_row(row, out),
        ColorType::Grayscale => {
            for &g in row {
                out.extend_from_slice(&[g, g, g]);
            }
        }
        ColorType::GrayscaleAlpha => {
            for px in row.chunks_exact(2) {
                let a = u32::from(px[1]);
                let g = ((u32::from(px[0]) * a + 255 * (255 - a) + 127) / 255) as u8;
                out.extend_from_slice(&[g, g, g]);
            }
        }
        // Indexed is expanded to RGB(A) by Transformations::EXPAND.
        ColorType::Indexed => {}
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, ImageError> {
    // IHDR is always the first chunk: 8 signature + 4 length + 4 "IHDR" + width + height.
    let ihdr = bytes
        .get(12..24)
        .filter(|h| &h[0..4] == b"IHDR")
        .ok_or_else(|| ImageError::Corrupt("PNG without IHDR".into()))?;
    let header_w = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    let header_h = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    check_dimensions(u64::from(header_w), u64::from(header_h))?;

    let mut decoder = Decoder::new_with_limits(
        Cursor::new(bytes),
        Limits {
            bytes: 256 * 1024 * 1024,
        },
    );
    decoder.set_transformations(Transformations::normalize_to_color8());
    // Compressed chunks we would inflate for nothing (text) or inflate ourselves, capped (iCCP).
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let info = reader.info();
    let (width, height) = check_dimensions(u64::from(info.width), u64::from(info.height))?;
    let icc = icc_profile(bytes);
    let orientation = info
        .exif_metadata
        .as_deref()
        .map(color::exif_orientation)
        .unwrap_or(1);
    let interlaced = info.interlaced;
    let (color_type, _) = reader.output_color_type();
    let (w, h) = (width as usize, height as usize);

    let pixels = if interlaced {
        // Adam7 passes arrive out of order: decode the whole frame (bounded by the guard above).
        deadline::check()?;
        let mut buf = vec![0u8; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).map_err(corrupt)?;
        let mut data = Vec::with_capacity(w * h * 3);
        for row in buf[..frame.buffer_size()].chunks_exact(frame.line_size) {
            row_to_rgb(row, color_type, &mut data);
        }
        Rgb {
            width,
            height,
            data,
        }
    } else {
        let (tw, th) = largest_target(width, height);
        let k = (w / tw as usize).min(h / th as usize).max(1);
        let (ow, oh) = (w.div_ceil(k), h.div_ceil(k));
        let mut data = Vec::with_capacity(ow * oh * 3);
        let mut rgb_row = Vec::with_capacity(w * 3);
        let mut acc = vec![0u32; if k > 1 { ow * 3 } else { 0 }];
        let mut rows_in = 0usize;
        for y in 0..h {
            if y % 64 == 0 {
                deadline::check()?;
            }
            let row = reader
                .next_row()
                .map_err(corrupt)?
                .ok_or_else(|| ImageError::Corrupt("PNG: missing rows".into()))?;
            if k == 1 {
                row_to_rgb(row.data(), color_type, &mut data);
                continue;
            }
            rgb_row.clear();
            row_to_rgb(row.data(), color_type, &mut rgb_row);
            for (ox, block) in rgb_row.chunks(k * 3).enumerate() {
                let a = &mut acc[ox * 3..ox * 3 + 3];
                for px in block.chunks_exact(3) {
                    a[0] += u32::from(px[0]);
                    a[1] += u32::from(px[1]);
                    a[2] += u32::from(px[2]);
                }
            }
            rows_in += 1;
            if rows_in == k || y + 1 == h {
                for ox in 0..ow {
                    let cols = k.min(w - ox * k);
                    let n = (cols * rows_in) as u32;
                    for c in 0..3 {
                        data.push(((acc[ox * 3 + c] + n / 2) / n) as u8);
                    }
                }
                acc.fill(0);
                rows_in = 0;
            }
        }
        Rgb {
            width: ow as u32,
            height: oh as u32,
            data,
        }
    };
    if pixels.data.len() != pixels.width as usize * pixels.height as usize * 3 {
        return Err(ImageError::Corrupt("PNG: unexpected pixel layout".into()));
    }
    Ok(Decoded {
        width,
        height,
        pixels,
        orientation,
        icc,
        cicp: None,
    })
}
