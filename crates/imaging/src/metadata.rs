//! Metadata detection, used to prove that variants carry no EXIF/XMP/IPTC.

use crate::{SourceFormat, sniff, webp};

/// True when the encoded JPEG, WebP, PNG or HEIF carries EXIF, XMP or IPTC metadata.
pub fn has_metadata(bytes: &[u8]) -> bool {
    match sniff(bytes) {
        Some(SourceFormat::Jpeg) => jpeg_has_metadata(bytes),
        Some(SourceFormat::Webp) => {
            webp::chunks(bytes).any(|(fourcc, _)| matches!(&fourcc, b"EXIF" | b"XMP "))
                || webp_vp8x_flags(bytes) & 0b0000_1100 != 0
        }
        Some(SourceFormat::Png) => png_has_metadata(bytes),
        // Inputs only (no variant is HEIF): an Exif or XMP item counts.
        Some(SourceFormat::Heic | SourceFormat::Avif) => crate::heif::has_metadata(bytes),
        None => false,
    }
}

/// VP8X flags byte: bit 3 = EXIF, bit 2 = XMP.
fn webp_vp8x_flags(bytes: &[u8]) -> u8 {
    webp::chunks(bytes)
        .find(|(fourcc, _)| fourcc == b"VP8X")
        .and_then(|(_, payload)| payload.first().copied())
        .unwrap_or(0)
}

fn jpeg_has_metadata(bytes: &[u8]) -> bool {
    let mut pos = 2usize;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return false;
        }
        let marker = bytes[pos + 1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        // Standalone markers carry no length.
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return false; // start of scan / end of image: no more header segments
        }
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        // APP1 holds EXIF or XMP, APP13 Photoshop IRB / IPTC.
        if marker == 0xE1 || marker == 0xED {
            return true;
        }
        pos += 2 + len;
    }
    false
}

fn png_has_metadata(bytes: &[u8]) -> bool {
    let mut pos = 8usize;
    while let Some(header) = bytes.get(pos..pos + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let kind = &header[4..8];
        let data = bytes.get(pos + 8..pos + 8 + len).unwrap_or(&[]);
        match kind {
            b"eXIf" => return true,
            b"iTXt" | b"tEXt" | b"zTXt"
                if data.starts_with(b"XML:com.adobe.xmp")
                    || data.starts_with(b"Raw profile type") =>
            {
                return true;
            }
            b"IEND" => return false,
            _ => {}
        }
        pos += 12 + len;
    }
    false
}
