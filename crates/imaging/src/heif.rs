//! HEIC/HEIF and AVIF through libheif (HEVC by libde265, AV1 by dav1d).
//!
//! Before libheif sees the file, [`header`] reads the ISO-BMFF boxes itself (bounded, no
//! allocation from a field): the primary item must be a coded image (`hvc1`, `av01`) or a
//! `grid` of them, and its `ispe` (and a grid's own output size) must pass the pixel-flood
//! guard. libheif is then told the same limit, decodes the primary image only (thumbnails,
//! depth, auxiliary and gain-map items are never decoded), and applies `irot`/`imir`/`clap`
//! itself, so the EXIF Orientation an iPhone also keeps in its Exif item is never applied on
//! top (that would rotate twice). No metadata leaves this module: only pixels and the colour
//! profile (ICC, or the `nclx` primaries and transfer) for the conversion to sRGB.

use std::os::raw::c_int;
use std::sync::Once;

use libheif_sys as lh;

use crate::{
    Decoded, ImageError, MAX_ICC_BYTES, MAX_SIDE, SourceFormat, check_dimensions, deadline,
    largest_target, ops,
};

/// `ftyp` brands of HEIF still images coded with HEVC.
const HEIC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
/// Structural brands that say "HEIF", whatever the codec (the compatible brands tell).
const HEIF_BRANDS: [&[u8; 4]; 3] = [b"mif1", b"msf1", b"miaf"];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// Sniffs an ISO-BMFF `ftyp` box with a HEIF image brand (major or compatible).
pub(crate) fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let ftyp = bytes.get(8..size.clamp(16, bytes.len().max(16)))?;
    let major: &[u8; 4] = ftyp[0..4].try_into().ok()?;
    let compatible: Vec<&[u8]> = ftyp[8..].chunks_exact(4).collect();
    let has = |set: &[&[u8; 4]]| {
        set.contains(&major) || compatible.iter().any(|b| set.iter().any(|s| &s[..] == *b))
    };
    if AVIF_BRANDS.contains(&major) {
        Some(SourceFormat::Avif)
    } else if HEIC_BRANDS.contains(&major) {
        Some(SourceFormat::Heic)
    } else if has(&AVIF_BRANDS) {
        Some(SourceFormat::Avif)
    } else if has(&HEIC_BRANDS) || has(&HEIF_BRANDS) {
        Some(SourceFormat::Heic)
    } else {
        None
    }
}

/// What the boxes say about the primary image, checked against the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Stored size (`ispe` of the primary item), before `irot`.
    pub width: u32,
    pub height: u32,
    /// Largest bit depth in `pixi` (8 when absent).
    pub bits: u8,
    /// The primary item is a grid of tiles.
    pub grid: bool,
}

impl Header {
    /// Peak memory of decoding, in bytes: libheif's decoded planes (4:4:4 at worst, 2 bytes a
    /// sample above 8 bits), the decoder's own picture, an `irot` copy of the planes, the
    /// interleaved RGB libheif converts to, and our packed copy of it when its rows are padded.
    pub fn decode_bytes(&self) -> u64 {
        let pixels = u64::from(self.width) * u64::from(self.height);
        let sample = if self.bits > 8 { 2 } else { 1 };
        let planes = pixels * 3 * sample;
        planes * 2 + pixels * 3 * 2
    }
}

/// ISO-BMFF boxes of `data`: (type, payload). Stops at the first box that does not fit.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let head = data.get(pos..pos.checked_add(8)?)?;
        let kind: [u8; 4] = head[4..8].try_into().ok()?;
        let (size, header) = match u32::from_be_bytes(head[0..4].try_into().ok()?) {
            0 => (data.len() - pos, 8),
            1 => {
                let large = data.get(pos + 8..pos + 16)?;
                (
                    usize::try_from(u64::from_be_bytes(large.try_into().ok()?)).ok()?,
                    16,
                )
            }
            n => (n as usize, 8),
        };
        let body = data.get(pos.checked_add(header)?..pos.checked_add(size)?)?;
        pos += size.max(header);
        Some((kind, body))
    })
}

fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(k, _)| k == kind).map(|(_, b)| b)
}

/// A big-endian reader over a box payload.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    /// An unsigned big-endian integer of `n` (0..=8) bytes.
    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(
            self.bytes(n)?
                .iter()
                .fold(0u64, |v, &b| (v << 8) | u64::from(b)),
        )
    }
    fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }
    /// A FullBox's (version, flags).
    fn full(&mut self) -> Option<(u8, u32)> {
        let v = self.uint(4)?;
        Some(((v >> 24) as u8, (v & 0xFF_FFFF) as u32))
    }
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(format!("HEIF: {what}"))
}

/// Reads the boxes and applies the guard to the primary image, without decoding.
pub(crate) fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    let meta = find(bytes, b"meta").ok_or_else(|| corrupt("no meta box"))?;
    let meta = meta.get(4..).ok_or_else(|| corrupt("short meta box"))?;
    let primary = {
        let pitm = find(meta, b"pitm").ok_or_else(|| corrupt("no primary item"))?;
        let mut r = Reader::new(pitm);
        let (version, _) = r.full().ok_or_else(|| corrupt("short pitm"))?;
        r.uint(if version == 0 { 2 } else { 4 })
            .ok_or_else(|| corrupt("short pitm"))?
    };
    let item_type = item_type(meta, primary).ok_or_else(|| corrupt("no primary item entry"))?;
    let grid = match &item_type {
        b"hvc1" | b"av01" => false,
        b"grid" => true,
        // overlays, derived, JPEG or uncompressed items: not what phones write
        _ => return Err(ImageError::Unsupported),
    };
    let properties = primary_properties(meta, primary).ok_or_else(|| corrupt("bad properties"))?;
    let mut ispe = None;
    let mut bits = 8u8;
    for (kind, body) in &properties {
        match kind {
            b"ispe" => {
                let mut r = Reader::new(body);
                r.full();
                ispe = r.uint(4).zip(r.uint(4));
            }
            b"pixi" => {
                let mut r = Reader::new(body);
                r.full();
                let channels = r.u8().unwrap_or(0);
                for _ in 0..channels {
                    bits = bits.max(r.u8().unwrap_or(8));
                }
            }
            _ => {}
        }
    }
    let (w, h) = ispe.ok_or_else(|| corrupt("the primary image has no size (ispe)"))?;
    let (width, height) = check_dimensions(w, h)?;
    if grid {
        // The grid's own output size is what libheif allocates: it must pass too.
        let data = item_data(bytes, meta, primary).ok_or_else(|| corrupt("no grid data"))?;
        let mut r = Reader::new(data);
        let _version = r.u8();
        let flags = r.u8().ok_or_else(|| corrupt("short grid"))?;
        r.bytes(2).ok_or_else(|| corrupt("short grid"))?;
        let n = if flags & 1 == 1 { 4 } else { 2 };
        let (gw, gh) = r
            .uint(n)
            .zip(r.uint(n))
            .ok_or_else(|| corrupt("short grid"))?;
        check_dimensions(gw, gh)?;
    }
    Ok(Header {
        width,
        height,
        bits,
        grid,
    })
}

/// True when the file has an `Exif` item or an XMP (`mime`) item.
pub(crate) fn has_metadata(bytes: &[u8]) -> bool {
    let Some(meta) = find(bytes, b"meta").and_then(|m| m.get(4..)) else {
        return false;
    };
    let Some(iinf) = find(meta, b"iinf") else {
        return false;
    };
    let mut r = Reader::new(iinf);
    let Some((version, _)) = r.full() else {
        return false;
    };
    if r.uint(if version == 0 { 2 } else { 4 }).is_none() {
        return false;
    }
    boxes(&iinf[r.pos..]).any(|(kind, body)| {
        let mut r = Reader::new(body);
        let Some((version, _)) = r.full() else {
            return false;
        };
        &kind == b"infe"
            && version >= 2
            && r.uint(if version == 2 { 2 } else { 4 }).is_some()
            && r.uint(2).is_some()
            && matches!(r.bytes(4), Some(b"Exif" | b"mime"))
    })
}

/// The `infe` type of an item.
fn item_type(meta: &[u8], item: u64) -> Option<[u8; 4]> {
    let iinf = find(meta, b"iinf")?;
    let mut r = Reader::new(iinf);
    let (version, _) = r.full()?;
    r.uint(if version == 0 { 2 } else { 4 })?;
    let entries = &iinf[r.pos..];
    boxes(entries).find_map(|(kind, body)| {
        if &kind != b"infe" {
            return None;
        }
        let mut r = Reader::new(body);
        let (version, _) = r.full()?;
        if version < 2 {
            return None;
        }
        let id = r.uint(if version == 2 { 2 } else { 4 })?;
        r.uint(2)?; // protection index
        let kind: [u8; 4] = r.bytes(4)?.try_into().ok()?;
        (id == item).then_some(kind)
    })
}

/// The properties (type, payload) associated with an item, in `ipma` order.
fn primary_properties(meta: &[u8], item: u64) -> Option<Vec<([u8; 4], &[u8])>> {
    let iprp = find(meta, b"iprp")?;
    let ipco = find(iprp, b"ipco")?;
    let properties: Vec<([u8; 4], &[u8])> = boxes(ipco).take(10_000).collect();
    let mut found = Vec::new();
    for (kind, body) in boxes(iprp) {
        if &kind != b"ipma" {
            continue;
        }
        let mut r = Reader::new(body);
        let (version, flags) = r.full()?;
        let entries = r.uint(4)?;
        for _ in 0..entries {
            let id = r.uint(if version < 1 { 2 } else { 4 })?;
            let count = r.u8()?;
            for _ in 0..count {
                let index = if flags & 1 == 1 {
                    r.uint(2)? & 0x7FFF
                } else {
                    r.uint(1)? & 0x7F
                };
                if id == item && index > 0 {
                    found.push(*properties.get(usize::try_from(index - 1).ok()?)?);
                }
            }
        }
    }
    Some(found)
}

/// The bytes of an item with a single extent, from the file (`iloc` construction method 0) or
/// from `idat` (method 1).
fn item_data<'a>(file: &'a [u8], meta: &'a [u8], item: u64) -> Option<&'a [u8]> {
    let iloc = find(meta, b"iloc")?;
    let mut r = Reader::new(iloc);
    let (version, _) = r.full()?;
    let sizes = r.u8()?;
    let (offset_size, length_size) = (usize::from(sizes >> 4), usize::from(sizes & 15));
    let sizes = r.u8()?;
    let base_size = usize::from(sizes >> 4);
    let index_size = if version >= 1 {
        usize::from(sizes & 15)
    } else {
        0
    };
    if [offset_size, length_size, base_size, index_size]
        .iter()
        .any(|&s| s > 8)
    {
        return None;
    }
    let count = r.uint(if version < 2 { 2 } else { 4 })?;
    for _ in 0..count {
        let id = r.uint(if version < 2 { 2 } else { 4 })?;
        let method = if version >= 1 { r.uint(2)? & 15 } else { 0 };
        r.uint(2)?; // data reference index
        let base = r.uint(base_size)?;
        let extents = r.uint(2)?;
        let mut first = None;
        for _ in 0..extents {
            r.uint(index_size)?;
            let offset = r.uint(offset_size)?;
            let length = r.uint(length_size)?;
            first.get_or_insert((offset, length));
        }
        if id != item {
            continue;
        }
        let (offset, length) = first?;
        let source = match method {
            0 => file,
            1 => find(meta, b"idat")?,
            _ => return None,
        };
        let start = usize::try_from(base.checked_add(offset)?).ok()?;
        let end = if length == 0 {
            source.len()
        } else {
            start.checked_add(usize::try_from(length).ok()?)?
        };
        return source.get(start..end);
    }
    None
}

// ------------------------------------------------------------------ libheif

struct Context(*mut lh::heif_context);
impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_context_alloc, freed once.
        unsafe { lh::heif_context_free(self.0) }
    }
}
struct Handle(*mut lh::heif_image_handle);
impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: returned by heif_context_get_primary_image_handle, released once.
        unsafe { lh::heif_image_handle_release(self.0) }
    }
}
struct Image(*mut lh::heif_image);
impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: returned by heif_decode_image, released once.
        unsafe { lh::heif_image_release(self.0) }
    }
}
struct Options(*mut lh::heif_decoding_options);
impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: allocated by heif_decoding_options_alloc, freed once.
        unsafe { lh::heif_decoding_options_free(self.0) }
    }
}

fn check(err: lh::heif_error, size: (u32, u32)) -> Result<(), ImageError> {
    if err.code == lh::heif_error_code_heif_error_Ok {
        return Ok(());
    }
    let message = if err.message.is_null() {
        String::new()
    } else {
        // SAFETY: libheif's messages are static NUL-terminated strings.
        unsafe { std::ffi::CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    Err(match (err.code, err.subcode) {
        (_, lh::heif_suberror_code_heif_suberror_Security_limit_exceeded) => ImageError::TooLarge {
            width: size.0,
            height: size.1,
        },
        (_, lh::heif_suberror_code_heif_suberror_Unsupported_codec)
        | (lh::heif_error_code_heif_error_Unsupported_filetype, _)
        | (lh::heif_error_code_heif_error_Unsupported_feature, _) => ImageError::Unsupported,
        _ => corrupt(&message),
    })
}

/// Colour information of the primary image.
pub(crate) enum Colour {
    Icc(Vec<u8>),
    /// `nclx` colour primaries and transfer characteristics (ITU-T H.273 code points).
    Cicp(u8, u8),
}

fn colour(handle: &Handle) -> Option<Colour> {
    // SAFETY: handle is valid; buffers are sized from libheif's own answer.
    unsafe {
        let kind = lh::heif_image_handle_get_color_profile_type(handle.0);
        if kind == lh::heif_color_profile_type_heif_color_profile_type_prof
            || kind == lh::heif_color_profile_type_heif_color_profile_type_rICC
        {
            let size = lh::heif_image_handle_get_raw_color_profile_size(handle.0);
            if size == 0 || size > MAX_ICC_BYTES {
                return None;
            }
            let mut icc = vec![0u8; size];
            let err =
                lh::heif_image_handle_get_raw_color_profile(handle.0, icc.as_mut_ptr().cast());
            return (err.code == lh::heif_error_code_heif_error_Ok).then_some(Colour::Icc(icc));
        }
        let mut nclx: *mut lh::heif_color_profile_nclx = std::ptr::null_mut();
        let err = lh::heif_image_handle_get_nclx_color_profile(handle.0, &mut nclx);
        if err.code != lh::heif_error_code_heif_error_Ok || nclx.is_null() {
            return None;
        }
        let cicp = (
            u8::try_from((*nclx).color_primaries).unwrap_or(2),
            u8::try_from((*nclx).transfer_characteristics).unwrap_or(2),
        );
        lh::heif_nclx_color_profile_free(nclx);
        Some(Colour::Cicp(cicp.0, cicp.1))
    }
}

static INIT: Once = Once::new();

pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, ImageError> {
    let header = header(bytes)?;
    INIT.call_once(|| {
        // SAFETY: global initialisation, once; never deinitialised (other threads may decode).
        unsafe {
            lh::heif_init(std::ptr::null_mut());
        }
    });
    let stored = (header.width, header.height);
    // SAFETY: every pointer below comes from libheif and is owned by a guard that frees it;
    // `bytes` outlives the context that reads it without copying.
    unsafe {
        let ctx = lh::heif_context_alloc();
        if ctx.is_null() {
            return Err(corrupt("no context"));
        }
        let ctx = Context(ctx);
        // libheif refuses anything above our own side limit too (its check is `>=`).
        lh::heif_context_set_maximum_image_size_limit(ctx.0, (MAX_SIDE + 1) as c_int);
        // One thread per job: the worker runs jobs side by side, and the container has 1 vCPU.
        lh::heif_context_set_max_decoding_threads(ctx.0, 1);
        check(
            lh::heif_context_read_from_memory_without_copy(
                ctx.0,
                bytes.as_ptr().cast(),
                bytes.len(),
                std::ptr::null(),
            ),
            stored,
        )?;
        let mut handle = std::ptr::null_mut();
        check(
            lh::heif_context_get_primary_image_handle(ctx.0, &mut handle),
            stored,
        )?;
        let handle = Handle(handle);
        // Displayed size: after irot/clap. The guard again, on libheif's own reading.
        let (width, height) = check_dimensions(
            u64::try_from(lh::heif_image_handle_get_width(handle.0)).unwrap_or(0),
            u64::try_from(lh::heif_image_handle_get_height(handle.0)).unwrap_or(0),
        )?;
        let colour = colour(&handle);
        deadline::check()?;

        let options = lh::heif_decoding_options_alloc();
        if options.is_null() {
            return Err(corrupt("no decoding options"));
        }
        let options = Options(options);
        (*options.0).convert_hdr_to_8bit = 1;
        let mut image = std::ptr::null_mut();
        check(
            lh::heif_decode_image(
                handle.0,
                &mut image,
                lh::heif_colorspace_heif_colorspace_RGB,
                lh::heif_chroma_heif_chroma_interleaved_RGB,
                options.0,
            ),
            stored,
        )?;
        let image = Image(image);
        drop(handle);
        deadline::check()?;

        let channel = lh::heif_channel_heif_channel_interleaved;
        let iw = lh::heif_image_get_width(image.0, channel);
        let ih = lh::heif_image_get_height(image.0, channel);
        let mut stride: c_int = 0;
        let plane = lh::heif_image_get_plane_readonly(image.0, channel, &mut stride);
        let (Ok(iw), Ok(ih), Ok(stride)) = (
            u32::try_from(iw),
            u32::try_from(ih),
            usize::try_from(stride),
        ) else {
            return Err(corrupt("decoded image has no size"));
        };
        if plane.is_null() || (iw, ih) != (width, height) || stride < iw as usize * 3 {
            return Err(corrupt("decoded image does not match its header"));
        }
        let row = iw as usize * 3;
        let rows = std::slice::from_raw_parts(plane, stride * (ih as usize - 1) + row);
        let (tw, th) = largest_target(iw, ih);
        let packed;
        let pixels: &[u8] = if stride == row {
            rows
        } else {
            let mut v = Vec::with_capacity(row * ih as usize);
            for y in 0..ih as usize {
                v.extend_from_slice(&rows[y * stride..y * stride + row]);
            }
            packed = v;
            &packed
        };
        let pixels = ops::resize_slice(pixels, iw, ih, tw, th)?;
        drop(image);
        let (icc, cicp) = match colour {
            Some(Colour::Icc(icc)) => (Some(icc), None),
            Some(Colour::Cicp(p, t)) => (None, Some((p, t))),
            None => (None, None),
        };
        Ok(Decoded {
            width: iw,
            height: ih,
            pixels,
            // irot/imir are applied by libheif; EXIF Orientation must not be applied again.
            orientation: 1,
            icc,
            cicp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands() {
        let ftyp = |major: &[u8; 4], compat: &[u8]| {
            let mut v = ((16 + compat.len()) as u32).to_be_bytes().to_vec();
            v.extend(b"ftyp");
            v.extend(major);
            v.extend([0, 0, 0, 0]);
            v.extend(compat);
            v
        };
        assert_eq!(sniff(&ftyp(b"heic", b"mif1heic")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"heix", b"")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"mif1", b"heic")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"msf1", b"")), Some(SourceFormat::Heic));
        assert_eq!(sniff(&ftyp(b"avif", b"mif1miaf")), Some(SourceFormat::Avif));
        assert_eq!(sniff(&ftyp(b"mif1", b"miafavif")), Some(SourceFormat::Avif));
        assert_eq!(sniff(&ftyp(b"isom", b"mp41")), None); // an MP4 video
        assert_eq!(sniff(&ftyp(b"qt  ", b"")), None);
        assert_eq!(sniff(b"\0\0\0\x18ftyp"), None);
    }
}
