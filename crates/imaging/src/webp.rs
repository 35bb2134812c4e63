//! WebP through libwebp (built from source by libwebp-sys).
//!
//! Decode: `WebPGetFeatures` reads the header, the dimensions are checked, then libwebp decodes
//! with its built-in scaler straight to the largest variant's size (shrink-on-load).
//! Encode: lossy, Q80, method 4, single-threaded: libvips's `webpsave Q=80` defaults.

use std::os::raw::{c_int, c_void};

use libwebp_sys as sys;

use crate::{
    Decoded, ImageError, Rgb, WEBP_METHOD, WEBP_QUALITY, check_dimensions, color, largest_target,
    ops,
};

/// Iterates the top-level chunks of a RIFF/WEBP file: (fourcc, payload). Stops at the first
/// malformed chunk.
pub(crate) fn chunks(bytes: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 12usize;
    std::iter::from_fn(move || {
        let header = bytes.get(pos..pos.checked_add(8)?)?;
        let fourcc = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let start = pos + 8;
        let end = start.checked_add(len)?;
        let payload = bytes.get(start..end)?;
        pos = end + (len & 1);
        Some((fourcc, payload))
    })
}

/// Header features, with animation refused and the pixel-flood guard applied.
fn features(bytes: &[u8]) -> Result<(sys::WebPBitstreamFeatures, u32, u32), ImageError> {
    // SAFETY: WebPBitstreamFeatures is plain C data, filled by WebPGetFeatures.
    let mut features: sys::WebPBitstreamFeatures = unsafe { std::mem::zeroed() };
    let status = unsafe {
        sys::WebPGetFeaturesInternal(
            bytes.as_ptr(),
            bytes.len(),
            &mut features,
            sys::WEBP_DECODER_ABI_VERSION as c_int,
        )
    };
    if status != sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(match status {
            sys::VP8StatusCode::VP8_STATUS_UNSUPPORTED_FEATURE => ImageError::Unsupported,
            _ => ImageError::Corrupt(format!("WebP header: {status:?}")),
        });
    }
    if features.has_animation != 0 {
        return Err(ImageError::Unsupported);
    }
    let (width, height) = check_dimensions(
        u64::try_from(features.width).unwrap_or(0),
        u64::try_from(features.height).unwrap_or(0),
    )?;
    Ok((features, width, height))
}

/// Checked header dimensions.
pub(crate) fn dimensions(bytes: &[u8]) -> Result<(u32, u32), ImageError> {
    features(bytes).map(|(_, w, h)| (w, h))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, ImageError> {
    let (features, width, height) = features(bytes)?;

    let mut exif = None;
    let mut icc = None;
    for (fourcc, payload) in chunks(bytes) {
        match &fourcc {
            b"EXIF" => exif = Some(payload),
            b"ICCP" if payload.len() <= crate::MAX_ICC_BYTES => icc = Some(payload.to_vec()),
            _ => {}
        }
    }
    let orientation = exif.map(color::exif_orientation).unwrap_or(1);

    let (tw, th) = largest_target(width, height);
    let alpha = features.has_alpha != 0;
    let channels = if alpha { 4 } else { 3 };
    let stride = tw as usize * channels;
    let mut buf = vec![0u8; stride * th as usize];

    let mut config = sys::WebPDecoderConfig::new()
        .map_err(|_| ImageError::Corrupt("libwebp version mismatch".into()))?;
    if (tw, th) != (width, height) {
        config.options.use_scaling = 1;
        config.options.scaled_width = tw as c_int;
        config.options.scaled_height = th as c_int;
    }
    config.output.colorspace = if alpha {
        sys::WEBP_CSP_MODE::MODE_RGBA
    } else {
        sys::WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    // We point libwebp at our buffer (external memory) and describe its exact size.
    config.output.u.RGBA.rgba = buf.as_mut_ptr();
    config.output.u.RGBA.stride = stride as c_int;
    config.output.u.RGBA.size = buf.len();
    let status = unsafe { sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    unsafe { sys::WebPFreeDecBuffer(&mut config.output) };
    if status != sys::VP8StatusCode::VP8_STATUS_OK {
        return Err(ImageError::Corrupt(format!("WebP decode: {status:?}")));
    }
    let data = if alpha {
        let mut rgb = Vec::with_capacity(tw as usize * th as usize * 3);
        ops::flatten_rgba_row(&buf, &mut rgb);
        rgb
    } else {
        buf
    };
    Ok(Decoded {
        width,
        height,
        pixels: Rgb {
            width: tw,
            height: th,
            data,
        },
        orientation,
        icc,
        cicp: None,
    })
}

struct Writer(sys::WebPMemoryWriter);

impl Drop for Writer {
    fn drop(&mut self) {
        // SAFETY: initialised by WebPMemoryWriterInit; Clear frees its buffer.
        unsafe { sys::WebPMemoryWriterClear(&mut self.0) };
    }
}

struct Picture(sys::WebPPicture);

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: initialised by WebPPictureInit; Free releases what Import allocated.
        unsafe { sys::WebPPictureFree(&mut self.0) };
    }
}

pub(crate) fn encode(img: &Rgb) -> Result<Vec<u8>, ImageError> {
    let fail = |what: &str| ImageError::Corrupt(format!("WebP encode: {what}"));
    // SAFETY: all libwebp structs below are initialised by their Init functions before use, and
    // the RGB slice outlives the import call.
    unsafe {
        let mut config: sys::WebPConfig = std::mem::zeroed();
        if sys::WebPConfigInitInternal(
            &mut config,
            sys::WebPPreset::WEBP_PRESET_DEFAULT,
            WEBP_QUALITY,
            sys::WEBP_ENCODER_ABI_VERSION as c_int,
        ) == 0
        {
            return Err(fail("config"));
        }
        config.method = WEBP_METHOD;
        config.thread_level = 0;
        if sys::WebPValidateConfig(&config) == 0 {
            return Err(fail("config"));
        }

        let mut picture = Picture(std::mem::zeroed());
        if sys::WebPPictureInitInternal(&mut picture.0, sys::WEBP_ENCODER_ABI_VERSION as c_int) == 0
        {
            return Err(fail("picture"));
        }
        picture.0.use_argb = 0;
        picture.0.width = img.width as c_int;
        picture.0.height = img.height as c_int;
        if sys::WebPPictureImportRGB(&mut picture.0, img.data.as_ptr(), (img.width * 3) as c_int)
            == 0
        {
            return Err(fail("import"));
        }

        let mut writer = Writer(std::mem::zeroed());
        sys::WebPMemoryWriterInit(&mut writer.0);
        picture.0.writer = Some(sys::WebPMemoryWrite);
        picture.0.custom_ptr = (&mut writer.0 as *mut sys::WebPMemoryWriter).cast::<c_void>();
        if sys::WebPEncode(&config, &mut picture.0) == 0 {
            return Err(fail(&format!("{:?}", picture.0.error_code)));
        }
        if writer.0.mem.is_null() {
            return Err(fail("empty output"));
        }
        Ok(std::slice::from_raw_parts(writer.0.mem, writer.0.size).to_vec())
    }
}
