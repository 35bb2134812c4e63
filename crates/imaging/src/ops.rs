//! Pixel operations on packed RGB8: resize (SIMD Lanczos3), orientation, blurhash.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::{ImageError, Rgb};

fn internal(e: impl std::fmt::Display) -> ImageError {
    ImageError::Corrupt(format!("resize: {e}"))
}

/// Lanczos3 resize (what libvips's thumbnail/resize use by default).
pub(crate) fn resize(src: &Rgb, width: u32, height: u32) -> Result<Rgb, ImageError> {
    resize_slice(&src.data, src.width, src.height, width, height)
}

/// [`resize`] from packed RGB8 pixels borrowed from elsewhere (a decoder's own buffer).
pub(crate) fn resize_slice(
    data: &[u8],
    src_width: u32,
    src_height: u32,
    width: u32,
    height: u32,
) -> Result<Rgb, ImageError> {
    if (src_width, src_height) == (width, height) {
        return Ok(Rgb {
            width,
            height,
            data: data.to_vec(),
        });
    }
    let src_view = ImageRef::new(src_width, src_height, data, PixelType::U8x3).map_err(internal)?;
    let mut dst = Image::new(width, height, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&src_view, &mut dst, &options)
        .map_err(internal)?;
    Ok(Rgb {
        width,
        height,
        data: dst.into_vec(),
    })
}

/// Applies an EXIF orientation (1..=8), returning the upright image.
pub(crate) fn orient(src: Rgb, orientation: u8) -> Rgb {
    if !(2..=8).contains(&orientation) {
        return src;
    }
    let (w, h) = (src.width as usize, src.height as usize);
    let swaps = crate::color::orientation_swaps(orientation);
    let (dw, dh) = if swaps { (h, w) } else { (w, h) };
    let out = match orientation {
        2 => remap(&src.data, w, dw, dh, |x, y| (w - 1 - x, y)),
        3 => remap(&src.data, w, dw, dh, |x, y| (w - 1 - x, h - 1 - y)),
        4 => remap(&src.data, w, dw, dh, |x, y| (x, h - 1 - y)),
        5 => remap(&src.data, w, dw, dh, |x, y| (y, x)),
        6 => remap(&src.data, w, dw, dh, |x, y| (y, h - 1 - x)),
        7 => remap(&src.data, w, dw, dh, |x, y| (w - 1 - y, h - 1 - x)),
        _ => remap(&src.data, w, dw, dh, |x, y| (w - 1 - y, x)), // 8
    };
    Rgb {
        width: dw as u32,
        height: dh as u32,
        data: out,
    }
}

/// Builds a `dw`x`dh` RGB image whose pixel (x, y) is the source pixel `map(x, y)`; one
/// monomorphised copy per orientation, walked in tiles so the transposing cases stay cache-friendly.
fn remap(
    s: &[u8],
    sw: usize,
    dw: usize,
    dh: usize,
    map: impl Fn(usize, usize) -> (usize, usize),
) -> Vec<u8> {
    const TILE: usize = 32;
    let mut out = vec![0u8; s.len()];
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            for y in ty..(ty + TILE).min(dh) {
                let row = &mut out[y * dw * 3..(y + 1) * dw * 3];
                for x in tx..(tx + TILE).min(dw) {
                    let (sx, sy) = map(x, y);
                    let si = (sy * sw + sx) * 3;
                    row[x * 3..x * 3 + 3].copy_from_slice(&s[si..si + 3]);
                }
            }
        }
    }
    out
}

/// Blurhash with 4x3 components, computed on a <= 64 px copy of the smallest variant.
pub(crate) fn blurhash(img: &Rgb) -> Result<String, ImageError> {
    let small;
    let img = if img.width.max(img.height) > 64 {
        let (w, h) = if img.width >= img.height {
            (64, (img.height * 64 / img.width).max(1))
        } else {
            ((img.width * 64 / img.height).max(1), 64)
        };
        small = resize(img, w, h)?;
        &small
    } else {
        img
    };
    let mut rgba = Vec::with_capacity(img.data.len() / 3 * 4);
    for px in img.data.chunks_exact(3) {
        rgba.extend_from_slice(&[px[0], px[1], px[2], 255]);
    }
    blurhash::encode(4, 3, img.width, img.height, &rgba)
        .map_err(|e| ImageError::Corrupt(format!("blurhash: {e}")))
}

/// Flattens straight-alpha RGBA onto white, appending RGB.
pub(crate) fn flatten_rgba_row(row: &[u8], out: &mut Vec<u8>) {
    for px in row.chunks_exact(4) {
        let a = u32::from(px[3]);
        let mix = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        out.extend_from_slice(&[mix(px[0]), mix(px[1]), mix(px[2])]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32) -> Rgb {
        let data = (0..w * h)
            .flat_map(|i| [i as u8, (i >> 8) as u8, 0])
            .collect();
        Rgb {
            width: w,
            height: h,
            data,
        }
    }

    fn px(i: &Rgb, x: u32, y: u32) -> [u8; 3] {
        let o = ((y * i.width + x) * 3) as usize;
        [i.data[o], i.data[o + 1], i.data[o + 2]]
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        let src = img(3, 2);
        let bl = px(&src, 0, 1);
        let tl = px(&src, 0, 0);
        let r = orient(src, 6);
        assert_eq!((r.width, r.height), (2, 3));
        assert_eq!(px(&r, 0, 0), bl);
        assert_eq!(px(&r, 1, 0), tl);
    }

    #[test]
    fn all_orientations_keep_pixels() {
        for o in 1..=8 {
            let src = img(5, 3);
            let mut before: Vec<[u8; 3]> = src.data.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            let r = orient(src, o);
            let mut after: Vec<[u8; 3]> = r.data.chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            before.sort();
            after.sort();
            assert_eq!(before, after, "orientation {o}");
        }
    }
}
