//! JPEG through mozjpeg (a libjpeg-turbo fork, built from source with its SIMD).
//!
//! Decode: header first (dimensions checked before `jpeg_start_decompress` allocates anything),
//! then DCT-scaled decode at the smallest M/8 that still covers the largest variant.
//! Encode: libjpeg-turbo defaults (Annex K tables, no trellis, baseline), Q82, 4:2:0, optimised
//! Huffman tables, no metadata: the same settings as libvips's `jpegsave Q=82 optimize_coding strip`.

// libjpeg reports errors by unwinding (caught below). With panic = "abort" a corrupt upload
// would kill the whole worker, so refuse to build that way.
#[cfg(panic = "abort")]
compile_error!("ciel-imaging needs panic = \"unwind\": libjpeg errors unwind into catch_unwind");

use std::cell::Cell;
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mozjpeg::{ColorSpace, Compress, Decompress, Marker};
use mozjpeg_sys::{
    J_COLOR_SPACE, JTRC_SOS, JWRN_BOGUS_PROGRESSION, JWRN_HIT_MARKER, JWRN_JPEG_EOF,
    jpeg_common_struct, jpeg_decompress_struct, jpeg_error_mgr,
};

use crate::{
    Decoded, ImageError, JPEG_QUALITY, MAX_ICC_BYTES, MAX_SCANS, Rgb, check_dimensions, color,
    deadline, largest_target,
};

/// An unwind payload that says which error to report.
struct Abort(ImageError);

fn abort(error: ImageError) -> ! {
    std::panic::resume_unwind(Box::new(Abort(error)))
}

/// libjpeg's error_exit: unwind (caught below) instead of `exit()`.
unsafe extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let msg = unsafe { message(cinfo) };
    std::panic::resume_unwind(Box::new(msg));
}

thread_local! {
    /// Whether running out of data is fatal right now: true while pixels are still missing,
    /// false once every scanline is out (a file that only lacks its final EOI marker is fine).
    static EOF_IS_FATAL: Cell<bool> = const { Cell::new(true) };
    /// Scans (SOS markers) libjpeg has read in the current decode.
    static SCANS: Cell<u32> = const { Cell::new(0) };
}

/// Called for every warning (level -1) and trace message (levels >= 1) libjpeg emits.
///
/// Warnings are ignored, except:
/// - a premature end of data: a truncated upload is corrupt, not a picture with a grey bottom half;
/// - "bogus progression" and "hit marker": the marks of crafted progressive files (scans that
///   repeat or carry no data), whose only purpose is to cost a pass over the image each.
///
/// The trace of each scan header counts the scans against [`MAX_SCANS`] and checks the deadline:
/// libjpeg reads every scan of a multi-scan file before the first row comes out.
unsafe extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    let code = unsafe { (*cinfo.err).msg_code };
    if level < 0 {
        let ran_out = code == JWRN_JPEG_EOF as c_int || code == JWRN_HIT_MARKER as c_int;
        if ran_out && EOF_IS_FATAL.get() && !in_last_rows(cinfo) {
            abort(ImageError::Corrupt("truncated JPEG data".into()));
        }
        if code == JWRN_BOGUS_PROGRESSION as c_int {
            abort(ImageError::Corrupt(unsafe { message(cinfo) }));
        }
    } else if code == JTRC_SOS as c_int && cinfo.is_decompressor != 0 {
        let scans = SCANS.get() + 1;
        SCANS.set(scans);
        if scans > MAX_SCANS {
            abort(ImageError::Corrupt(format!(
                "more than {MAX_SCANS} scans in one JPEG"
            )));
        }
        if deadline::passed() {
            abort(ImageError::TimedOut);
        }
    }
}

/// True when a decompressor has output all but its last two iMCU rows: the entropy decoder reads
/// ahead, so a file that merely lacks its EOI marker runs out of data there. A real truncation
/// stops much earlier (or, for progressive files, before any scanline was output).
fn in_last_rows(cinfo: &mut jpeg_common_struct) -> bool {
    if cinfo.is_decompressor == 0 {
        return false;
    }
    // SAFETY: is_decompressor says this common struct heads a jpeg_decompress_struct.
    let d = unsafe { &*(cinfo as *const jpeg_common_struct).cast::<jpeg_decompress_struct>() };
    let remaining = d.output_height.saturating_sub(d.output_scanline);
    d.output_scanline > 0 && remaining <= 2 * 8 * d.max_v_samp_factor.max(1) as u32
}

unsafe fn message(cinfo: &mut jpeg_common_struct) -> String {
    let err = unsafe { &*cinfo.err };
    match err.format_message {
        Some(format) => {
            let buffer = [0u8; 80];
            unsafe { format(cinfo, &buffer) };
            let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
            String::from_utf8_lossy(&buffer[..end]).into_owned()
        }
        None => format!("libjpeg error {}", err.msg_code),
    }
}

fn error_mgr() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fully initialises a zeroed jpeg_error_mgr (plain C struct).
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

fn caught<T>(f: impl FnOnce() -> Result<T, ImageError>) -> Result<T, ImageError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let payload = match payload.downcast::<Abort>() {
                Ok(abort) => return Err(abort.0),
                Err(payload) => payload,
            };
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "libjpeg error".to_owned());
            Err(ImageError::Corrupt(msg))
        }
    }
}

fn corrupt(e: std::io::Error) -> ImageError {
    ImageError::Corrupt(e.to_string())
}

/// Smallest libjpeg scale numerator n (output = ceil(side * n / 8)) that still covers `target`.
pub(crate) fn scale_numerator(w: u32, h: u32, tw: u32, th: u32) -> u8 {
    for n in 1u8..=8 {
        let sw = (u64::from(w) * u64::from(n)).div_ceil(8);
        let sh = (u64::from(h) * u64::from(n)).div_ceil(8);
        if sw >= u64::from(tw) && sh >= u64::from(th) {
            return n;
        }
    }
    8
}

/// Output rows decoded between two looks at the deadline.
const ROWS_PER_CHECK: usize = 64;

struct Markers {
    exif: Option<Vec<u8>>,
    icc: Option<Vec<u8>>,
    adobe: bool,
}

fn collect_markers<R>(d: &Decompress<R>) -> Markers {
    let mut exif = None;
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut adobe = false;
    for m in d.markers() {
        match m.marker {
            Marker::APP(1) if exif.is_none() && m.data.starts_with(b"Exif\0\0") => {
                exif = Some(m.data[6..].to_vec());
            }
            Marker::APP(2) if m.data.len() > 14 && m.data.starts_with(b"ICC_PROFILE\0") => {
                icc_chunks.push((m.data[12], &m.data[14..]));
            }
            Marker::APP(14) if m.data.starts_with(b"Adobe") => adobe = true,
            _ => {}
        }
    }
    icc_chunks.sort_by_key(|c| c.0);
    let icc_len: usize = icc_chunks.iter().map(|c| c.1.len()).sum();
    // qcms refuses profiles this large anyway: do not copy them.
    let icc = (!icc_chunks.is_empty() && icc_len <= MAX_ICC_BYTES)
        .then(|| icc_chunks.iter().flat_map(|c| c.1).copied().collect());
    Markers { exif, icc, adobe }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, ImageError> {
    EOF_IS_FATAL.set(true);
    SCANS.set(0);
    let result = caught(|| decode_inner(bytes));
    EOF_IS_FATAL.set(true);
    result
}

fn decode_inner(bytes: &[u8]) -> Result<Decoded, ImageError> {
    {
        let mut d = Decompress::builder()
            .with_err(error_mgr())
            .with_markers(&[Marker::APP(1), Marker::APP(2), Marker::APP(14)])
            .from_mem(bytes)
            .map_err(corrupt)?;
        let (width, height) = check_dimensions(d.width() as u64, d.height() as u64)?;
        let markers = collect_markers(&d);
        let orientation = markers
            .exif
            .as_deref()
            .map(color::exif_orientation)
            .unwrap_or(1);
        let (tw, th) = largest_target(width, height);
        d.scale(scale_numerator(width, height, tw, th));

        let cmyk = matches!(
            d.color_space(),
            J_COLOR_SPACE::JCS_CMYK | J_COLOR_SPACE::JCS_YCCK
        );
        let pixels = if cmyk {
            let mut s = d.to_colorspace(J_COLOR_SPACE::JCS_CMYK).map_err(corrupt)?;
            let (pw, ph) = (s.width(), s.height());
            let mut row = vec![0u8; pw * 4];
            let mut data = Vec::new();
            data.try_reserve_exact(pw * ph * 3)
                .map_err(|_| ImageError::Corrupt("out of memory".into()))?;
            for y in 0..ph {
                if y % ROWS_PER_CHECK == 0 {
                    deadline::check()?;
                }
                s.read_scanlines_into(&mut row).map_err(corrupt)?;
                color::cmyk_row_to_rgb(&row, markers.adobe, &mut data);
            }
            EOF_IS_FATAL.set(false);
            s.finish().map_err(corrupt)?;
            Rgb {
                width: pw as u32,
                height: ph as u32,
                data,
            }
        } else {
            let mut s = d.rgb().map_err(corrupt)?;
            let (pw, ph) = (s.width(), s.height());
            let mut data = vec![0u8; pw * ph * 3];
            for rows in data.chunks_mut(pw * 3 * ROWS_PER_CHECK) {
                deadline::check()?;
                s.read_scanlines_into(rows).map_err(corrupt)?;
            }
            EOF_IS_FATAL.set(false);
            s.finish().map_err(corrupt)?;
            Rgb {
                width: pw as u32,
                height: ph as u32,
                data,
            }
        };
        // Any embedded profile of a CMYK file describes CMYK, not our naive RGB.
        let icc = if cmyk { None } else { markers.icc };
        Ok(Decoded {
            width,
            height,
            pixels,
            orientation,
            icc,
            cicp: None,
        })
    }
}

pub(crate) fn encode(img: &Rgb) -> Result<Vec<u8>, ImageError> {
    caught(|| {
        let mut c = Compress::new_err(Box::new(error_mgr()), ColorSpace::JCS_RGB);
        // JCP_FASTEST = plain libjpeg-turbo behaviour (what libvips links): Annex K quant tables,
        // no trellis quantisation, baseline, no scan optimisation.
        c.set_fastest_defaults();
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(f32::from(JPEG_QUALITY));
        c.set_optimize_coding(true);
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        let capacity = (img.data.len() / 8).max(4096);
        let mut s = c
            .start_compress(Vec::with_capacity(capacity))
            .map_err(corrupt)?;
        s.write_scanlines(&img.data).map_err(corrupt)?;
        s.finish().map_err(corrupt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_picks_smallest_covering_eighth() {
        // 4000x3000 -> 2048x1536: 5/8 gives 2500x1875, 4/8 gives 2000 (too small)
        assert_eq!(scale_numerator(4000, 3000, 2048, 1536), 5);
        assert_eq!(scale_numerator(8000, 6000, 2048, 1536), 3);
        assert_eq!(scale_numerator(1000, 750, 1000, 750), 8);
        assert_eq!(scale_numerator(16384, 100, 2048, 13), 1);
    }
}
