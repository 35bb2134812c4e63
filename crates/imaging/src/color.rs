//! EXIF orientation, ICC -> sRGB, CMYK -> RGB.

use qcms::{DataType, Intent, Profile, Transform};

/// Orientation (1..=8) from a raw TIFF/EXIF block; 1 when absent or unreadable.
pub(crate) fn exif_orientation(tiff: &[u8]) -> u8 {
    // Some writers keep the "Exif\0\0" prefix inside PNG eXIf / WebP EXIF chunks.
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let Ok(exif) = exif::Reader::new().read_raw(tiff.to_vec()) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1)
}

/// Orientations 5..=8 swap width and height.
pub(crate) fn orientation_swaps(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// Converts RGB8 pixels in place from the embedded profile to sRGB. Profiles that already are
/// sRGB, or that qcms cannot use as an RGB source (grey, CMYK, broken), leave the pixels alone.
pub(crate) fn to_srgb(icc: &[u8], rgb: &mut [u8]) {
    if is_srgb(icc) {
        return;
    }
    let Some(input) = Profile::new_from_slice(icc, false) else {
        return;
    };
    let mut output = Profile::new_sRGB();
    // Precomputed output tables enable qcms's SSE2/AVX matrix path (~10x faster than the float path).
    output.precache_output_transform();
    if let Some(transform) = Transform::new(&input, &output, DataType::RGB8, Intent::Perceptual) {
        transform.apply(rgb);
    }
}

/// Converts RGB8 pixels in place from a HEIF `nclx` colour description (H.273 colour primaries
/// and transfer characteristics) to sRGB: Display P3 (12), DCI P3 (11) and BT.2020 (9) primaries
/// with an SDR transfer. sRGB/BT.709 primaries, unspecified ones, and code points outside that
/// list (qcms panics on reserved ones; HDR transfers were already mapped to SDR by libheif's
/// `convert_hdr_to_8bit`) leave the pixels alone.
pub(crate) fn cicp_to_srgb(primaries: u8, transfer: u8, rgb: &mut [u8]) {
    if !matches!(primaries, 9 | 11 | 12) {
        return;
    }
    // 2 (unspecified) and the HDR curves: the sRGB curve, as browsers assume for SDR output.
    let transfer = match transfer {
        1 | 4 | 5 | 6 | 8 | 13 | 14 | 15 => transfer,
        _ => 13,
    };
    // qcms names these types only through `From<u8>`.
    let Some(input) = Profile::new_cicp(primaries.into(), transfer.into()) else {
        return;
    };
    let mut output = Profile::new_sRGB();
    output.precache_output_transform();
    if let Some(transform) = Transform::new(&input, &output, DataType::RGB8, Intent::Perceptual) {
        transform.apply(rgb);
    }
}

/// A cheap check on the profile description: the common camera/phone sRGB profiles
/// ("sRGB IEC61966-2.1", "sRGB built-in", Google's "sRGB") need no conversion.
fn is_srgb(icc: &[u8]) -> bool {
    // 'desc' tag text lives in the first few hundred bytes after the tag table.
    let head = &icc[..icc.len().min(1024)];
    head.windows(4).any(|w| w == b"sRGB") || head.windows(8).any(|w| w == b"s\0R\0G\0B\0")
}

/// Appends one CMYK row converted to RGB (naive, no profile). Adobe (Photoshop) CMYK JPEGs store
/// inverted values, which is what nearly all CMYK JPEGs in the wild are.
pub(crate) fn cmyk_row_to_rgb(row: &[u8], inverted: bool, out: &mut Vec<u8>) {
    for px in row.chunks_exact(4) {
        let (c, m, y, k) = if inverted {
            (px[0], px[1], px[2], px[3])
        } else {
            (255 - px[0], 255 - px[1], 255 - px[2], 255 - px[3])
        };
        let k = u16::from(k);
        let mul = |v: u8| ((u16::from(v) * k + 127) / 255) as u8;
        out.extend_from_slice(&[mul(c), mul(m), mul(y)]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn display_p3_nclx_is_converted() {
        let mut px = [100u8, 150, 200];
        super::cicp_to_srgb(12, 13, &mut px);
        assert!(px[0] < 92, "{px:?}");
    }
}
