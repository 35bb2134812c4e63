//! PNG through the pure-Rust `png` crate.
//!
//! The IHDR dimensions are checked before the decoder exists. Non-interlaced images are decoded
//! row by row into an integer box-shrunk buffer (PNG has no DCT scaling, so this is our
//! shrink-on-load: memory stays at ~3 bytes per *output* pixel instead of 4 per source pixel).

use std::io::Cursor;

use png::{ColorType, Decoder, Limits, Transformations};

use crate::{Decoded, ImageError, Rgb, check_dimensions, color, largest_target, ops};

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
    let mut reader = decoder.read_info().map_err(corrupt)?;
    let info = reader.info();
    let (width, height) = check_dimensions(u64::from(info.width), u64::from(info.height))?;
    let icc = info.icc_profile.as_ref().map(|p| p.to_vec());
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
    })
}
