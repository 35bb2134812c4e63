//! Pure image pipeline (no I/O, no async): sniff -> guard -> decode (shrink-on-load) -> resize ->
//! sRGB -> orient -> encode (WebP per size; [`VariantSet::WebpAndJpeg`] adds a JPEG) -> blurhash,
//! and a PDQ perceptual hash ([`pdq`]) of one of the resized buffers.
//!
//! Everything here is a pure function of the input bytes: the same bytes always give the same
//! output bytes on the same build and CPU, so a worker that processes a job twice writes identical
//! objects.
//!
//! Decoders never allocate from an unchecked header: the dimensions are read and checked against
//! [`MAX_PIXELS`] / [`MAX_SIDE`] before any pixel buffer exists.

mod bitstream;
mod color;
mod deadline;
mod heif;
pub mod isolation;
mod jpeg;
mod metadata;
mod ops;
pub mod pdq;
mod png_dec;
mod probe;
mod stages;
mod webp;

pub use heif::{AV1_SIZE_SLACK, HEVC_SIZE_SLACK, MAX_GRID_TILES};
pub use metadata::has_metadata;
pub use pdq::{Pdq, PdqHash};
pub use probe::{Probe, probe};

/// Reject sources with more pixels than this (pixel-flood guard).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Reject sources longer than this on either side.
pub const MAX_SIDE: u32 = 12_000;

/// Most scans a JPEG may have (libjpeg-turbo's `tjbench -limitscans` uses the same figure). Phones
/// and cameras write 1 (baseline) to about 10 (progressive); every scan costs a pass over the whole
/// coefficient buffer, so a crafted file with thousands of scans would keep a worker busy for hours.
pub const MAX_SCANS: u32 = 500;
/// Largest embedded ICC profile kept (qcms refuses bigger ones anyway). A compressed PNG `iCCP`
/// is inflated only up to this, so a small file cannot expand to hundreds of MB.
pub const MAX_ICC_BYTES: usize = 4 << 20;

/// JPEG quality of the JPEG variants (libjpeg scale, Annex K tables, optimised Huffman).
pub const JPEG_QUALITY: u8 = 82;
/// WebP quality of the WebP variants (lossy, method 4 = libvips's default effort).
pub const WEBP_QUALITY: f32 = 80.0;
/// WebP `method` (libvips calls it effort).
pub const WEBP_METHOD: i32 = 4;

/// The real format of an upload, sniffed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
    /// HEIF with HEVC (iPhone HEIC), or any other `mif1` image that is not AVIF.
    Heic,
    /// HEIF with AV1.
    Avif,
}

impl SourceFormat {
    pub fn mime(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "image/jpeg",
            SourceFormat::Png => "image/png",
            SourceFormat::Webp => "image/webp",
            SourceFormat::Heic => "image/heic",
            SourceFormat::Avif => "image/avif",
        }
    }
}

/// Sniffs the format from the magic bytes. Never looks at a declared type.
pub fn sniff(bytes: &[u8]) -> Option<SourceFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(SourceFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(SourceFormat::Png)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(SourceFormat::Webp)
    } else {
        // an ISO-BMFF `ftyp` box with a HEIF brand (heic, heix, mif1, msf1, avif, ...)
        heif::sniff(bytes)
    }
}

/// The four served sizes, by longest edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VariantName {
    Thumb,
    Small,
    Medium,
    Large,
}

impl VariantName {
    pub const ALL: [VariantName; 4] = [
        VariantName::Thumb,
        VariantName::Small,
        VariantName::Medium,
        VariantName::Large,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VariantName::Thumb => "thumb",
            VariantName::Small => "small",
            VariantName::Medium => "medium",
            VariantName::Large => "large",
        }
    }

    pub fn longest_edge(self) -> u32 {
        match self {
            VariantName::Thumb => 320,
            VariantName::Small => 640,
            VariantName::Medium => 1080,
            VariantName::Large => 2048,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Webp,
    Jpeg,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 2] = [OutputFormat::Webp, OutputFormat::Jpeg];

    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Webp => "webp",
            OutputFormat::Jpeg => "jpeg",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Webp => "image/webp",
            OutputFormat::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Webp => "webp",
            OutputFormat::Jpeg => "jpg",
        }
    }
}

/// Which encodings each size is stored in. The worker stores [`VariantSet::WebpOnly`] (issue 30:
/// every supported iOS and Android decodes WebP, and the JPEG copies cost 2.8x the bytes);
/// [`VariantSet::WebpAndJpeg`] is the set photos processed before it have, kept for comparison
/// (`scripts/bench-media`) and for tests that read pixels back through a JPEG decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VariantSet {
    #[default]
    WebpOnly,
    WebpAndJpeg,
}

impl VariantSet {
    pub fn formats(self) -> &'static [OutputFormat] {
        match self {
            VariantSet::WebpOnly => &[OutputFormat::Webp],
            VariantSet::WebpAndJpeg => &[OutputFormat::Webp, OutputFormat::Jpeg],
        }
    }
}

/// One encoded output.
#[derive(Clone, PartialEq, Eq)]
pub struct Variant {
    pub name: VariantName,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variant")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The result of [`process`]. `width`/`height` are the source's dimensions after EXIF orientation.
/// `variants` is ordered thumb -> large (WebP before JPEG within a size, when there is a JPEG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub source_format: SourceFormat,
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    /// PDQ of the upright sRGB picture, from the largest resized buffer with an edge of at
    /// most [`pdq::MAX_EDGE`] (no second decode).
    pub pdq: Pdq,
    pub variants: Vec<Variant>,
}

/// Permanent failures; each has a stable snake_case [`code`](ImageError::code).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not a supported image (JPEG, PNG, WebP, HEIC or AVIF)")]
    Unsupported,
    #[error("the image is too large ({width}x{height}; at most {MAX_SIDE} px per side and 50 MP)")]
    TooLarge { width: u32, height: u32 },
    #[error("the image is corrupt: {0}")]
    Corrupt(String),
    /// The work went past the deadline given to [`process_within`].
    #[error("processing the image took longer than its time limit")]
    TimedOut,
}

impl ImageError {
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::Empty => "empty_file",
            ImageError::Unsupported => "unsupported_format",
            ImageError::TooLarge { .. } => "image_too_large",
            ImageError::Corrupt(_) => "corrupt_image",
            ImageError::TimedOut => "processing_timed_out",
        }
    }
}

/// Pixel-flood guard, applied to header dimensions before anything is allocated.
pub(crate) fn check_dimensions(width: u64, height: u64) -> Result<(u32, u32), ImageError> {
    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    if width == 0 || height == 0 {
        return Err(ImageError::Corrupt("zero-sized image".into()));
    }
    if width > u64::from(MAX_SIDE)
        || height > u64::from(MAX_SIDE)
        || width.saturating_mul(height) > MAX_PIXELS
    {
        return Err(ImageError::TooLarge {
            width: clamp(width),
            height: clamp(height),
        });
    }
    Ok((clamp(width), clamp(height)))
}

/// Scales `(w, h)` so that the longest edge is `edge` (aspect kept, at least 1 px).
fn scale_to_edge(w: u32, h: u32, edge: u32) -> (u32, u32) {
    let round = |a: u32, b: u32| -> u32 {
        // round(a * edge / b) in integers
        let v = (u64::from(a) * u64::from(edge) * 2 + u64::from(b)) / (u64::from(b) * 2);
        u32::try_from(v.max(1)).unwrap_or(u32::MAX)
    };
    if w >= h {
        (edge, round(h, w))
    } else {
        (round(w, h), edge)
    }
}

/// The sizes produced for a source of `w`x`h` (oriented): every size whose edge is smaller than the
/// source's longest edge, plus exactly one at the source's own size for the first that would not
/// fit. Never upscales. Ordered smallest first.
pub fn variant_plan(w: u32, h: u32) -> Vec<(VariantName, u32, u32)> {
    let longest = w.max(h);
    let mut plan = Vec::with_capacity(4);
    for name in VariantName::ALL {
        let edge = name.longest_edge();
        if edge < longest {
            let (vw, vh) = scale_to_edge(w, h, edge);
            plan.push((name, vw, vh));
        } else {
            plan.push((name, w, h));
            break;
        }
    }
    plan
}

/// Dimensions of the largest variant for a `w`x`h` source (orientation does not matter: the rule
/// is symmetric). Decoders shrink on load to at least this.
pub(crate) fn largest_target(w: u32, h: u32) -> (u32, u32) {
    let edge = VariantName::Large.longest_edge();
    if w.max(h) > edge {
        scale_to_edge(w, h, edge)
    } else {
        (w, h)
    }
}

/// An RGB8 image, rows packed (stride = 3 * width).
pub(crate) struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// What a decoder hands to the pipeline.
pub(crate) struct Decoded {
    /// Full stored (un-oriented) dimensions from the header.
    pub width: u32,
    pub height: u32,
    /// Pixels, possibly shrunk on load; never smaller than [`largest_target`].
    pub pixels: Rgb,
    /// EXIF orientation 1..=8 (1 when absent or invalid).
    pub orientation: u8,
    /// Embedded ICC profile, if any.
    pub icc: Option<Vec<u8>>,
    /// Colour primaries and transfer characteristics (H.273) of a HEIF `nclx` profile, when
    /// there is no ICC profile.
    pub cicp: Option<(u8, u8)>,
}

/// Runs the whole pipeline on an uploaded file: the WebP variants.
pub fn process(bytes: &[u8]) -> Result<Processed, ImageError> {
    process_set(bytes, VariantSet::WebpOnly)
}

/// [`process`] with the encodings of `set`.
pub fn process_set(bytes: &[u8], set: VariantSet) -> Result<Processed, ImageError> {
    deadline::run(None, || process_inner(bytes, set))
}

/// [`process`], stopped with [`ImageError::TimedOut`] once `deadline` has passed. The decoders
/// check it between scans and rows, and the pipeline between steps, so the calling thread is free
/// again soon after the deadline (each step between two checks is bounded by the size guard).
/// Once [`isolation::init`] or [`isolation::use_program`] has run, HEIC/AVIF files are processed
/// in a child process instead, killed at the deadline and limited to the `probe()` estimate.
pub fn process_within(bytes: &[u8], deadline: std::time::Instant) -> Result<Processed, ImageError> {
    let heif = matches!(sniff(bytes), Some(SourceFormat::Heic | SourceFormat::Avif));
    if let Some(program) = isolation::program()
        && heif
    {
        let estimate = probe(bytes)?.peak_memory_bytes;
        // A child that cannot be started (no memory for a process, the executable replaced
        // on disk) leaves the decode here, still behind the header checks.
        if let Ok(result) = isolation::process_in_child(program, bytes, deadline, estimate) {
            return result;
        }
    }
    deadline::run(Some(deadline), || {
        process_inner(bytes, VariantSet::WebpOnly)
    })
}

/// [`process`] with the time of each stage (decode, resize, colour, orient, each encode,
/// blurhash), in milliseconds, for `scripts/bench-media`'s profile.
#[doc(hidden)]
pub fn process_profiled(
    bytes: &[u8],
    set: VariantSet,
) -> (Result<Processed, ImageError>, stages::Stages) {
    stages::profiled(|| process_set(bytes, set))
}

fn process_inner(bytes: &[u8], set: VariantSet) -> Result<Processed, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let format = sniff(bytes).ok_or(ImageError::Unsupported)?;
    let decoded = match format {
        SourceFormat::Jpeg => jpeg::decode(bytes)?,
        SourceFormat::Png => png_dec::decode(bytes)?,
        SourceFormat::Webp => webp::decode(bytes)?,
        SourceFormat::Heic | SourceFormat::Avif => heif::decode(bytes)?,
    };
    stages::mark(|| "decode (+ metadata)".into());
    finish(format, decoded, set)
}

fn finish(
    source_format: SourceFormat,
    decoded: Decoded,
    set: VariantSet,
) -> Result<Processed, ImageError> {
    let Decoded {
        width,
        height,
        pixels,
        orientation,
        icc,
        cicp,
    } = decoded;
    let swaps = color::orientation_swaps(orientation);
    let (ow, oh) = if swaps {
        (height, width)
    } else {
        (width, height)
    };
    let plan = variant_plan(ow, oh);

    // Largest variant: resize in stored orientation, convert to sRGB, then orient (cheaper than
    // orienting the bigger decoded buffer).
    deadline::check()?;
    let (tw, th) = largest_target(width, height);
    let mut largest = if (pixels.width, pixels.height) == (tw, th) {
        pixels
    } else {
        let resized = ops::resize(&pixels, tw, th)?;
        drop(pixels); // the decoded buffer is the biggest one: free it before encoding
        resized
    };
    stages::mark(|| "resize to large".into());
    if let Some(profile) = icc.as_deref() {
        color::to_srgb(profile, &mut largest.data);
    } else if let Some((primaries, transfer)) = cicp {
        color::cicp_to_srgb(primaries, transfer, &mut largest.data);
    }
    stages::mark(|| "colour to sRGB".into());
    let largest = ops::orient(largest, orientation);
    stages::mark(|| "orient".into());

    // Encode from the largest down, each size resized from the previous one.
    let mut encoded: Vec<Vec<Variant>> = Vec::with_capacity(plan.len());
    let mut current = largest;
    let mut smallest: Option<Rgb> = None;
    let mut pdq: Option<Pdq> = None;
    for (i, &(name, vw, vh)) in plan.iter().enumerate().rev() {
        deadline::check()?;
        if (current.width, current.height) != (vw, vh) {
            current = ops::resize(&current, vw, vh)?;
            stages::mark(|| format!("resize to {}", name.as_str()));
        }
        // The smallest size is at most 320 px, so some buffer always qualifies.
        if pdq.is_none() && vw.max(vh) <= pdq::MAX_EDGE {
            pdq = Some(pdq::hash_rgb8(current.width, current.height, &current.data));
            stages::mark(|| "pdq".into());
        }
        let mut size = Vec::with_capacity(set.formats().len());
        for &format in set.formats() {
            deadline::check()?;
            let bytes = match format {
                OutputFormat::Webp => webp::encode(&current)?,
                OutputFormat::Jpeg => jpeg::encode(&current)?,
            };
            stages::mark(|| format!("{} {}", format.as_str(), name.as_str()));
            size.push(Variant {
                name,
                format,
                width: vw,
                height: vh,
                bytes,
            });
        }
        encoded.push(size);
        if i == 0 {
            smallest = Some(std::mem::replace(
                &mut current,
                Rgb {
                    width: 0,
                    height: 0,
                    data: Vec::new(),
                },
            ));
        }
    }
    let blurhash = match smallest {
        Some(thumb) => ops::blurhash(&thumb)?,
        None => return Err(ImageError::Corrupt("no variant".into())),
    };
    stages::mark(|| "blurhash".into());
    encoded.reverse();
    Ok(Processed {
        source_format,
        width: ow,
        height: oh,
        blurhash,
        pdq: pdq.ok_or_else(|| ImageError::Corrupt("no variant to hash".into()))?,
        variants: encoded.into_iter().flatten().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_never_upscales_and_adds_own_size_once() {
        let p = variant_plan(1000, 750);
        assert_eq!(
            p,
            vec![
                (VariantName::Thumb, 320, 240),
                (VariantName::Small, 640, 480),
                (VariantName::Medium, 1000, 750),
            ]
        );
        let p = variant_plan(4000, 3000);
        assert_eq!(p.len(), 4);
        assert_eq!(p[3], (VariantName::Large, 2048, 1536));
        let p = variant_plan(2048, 1000);
        assert_eq!(p[3], (VariantName::Large, 2048, 1000));
        assert_eq!(variant_plan(100, 50), vec![(VariantName::Thumb, 100, 50)]);
        assert_eq!(variant_plan(320, 10), vec![(VariantName::Thumb, 320, 10)]);
        assert_eq!(variant_plan(3000, 1)[3], (VariantName::Large, 2048, 1));
        assert_eq!(
            variant_plan(1080, 1920)[2],
            (VariantName::Medium, 608, 1080)
        );
    }

    #[test]
    fn guard() {
        assert!(check_dimensions(12_000, 4_000).is_ok());
        assert!(matches!(
            check_dimensions(12_001, 10),
            Err(ImageError::TooLarge { .. })
        ));
        assert!(matches!(
            check_dimensions(8_000, 7_000),
            Err(ImageError::TooLarge { .. })
        ));
        assert!(check_dimensions(0, 10).is_err());
    }
}
