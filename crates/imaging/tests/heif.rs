//! HEIC/HEIF and AVIF inputs: the committed corpus of `fixtures/make-heif-fixtures.py`.

#[path = "craft/heif.rs"]
mod craft_heif;

use ciel_imaging::{
    ImageError, MAX_GRID_TILES, OutputFormat, Processed, SourceFormat, VariantName, VariantSet,
    has_metadata, probe, process, process_set, sniff,
};

const IPHONE: &[u8] = include_bytes!("fixtures/iphone-like.heic");
const AVIF: &[u8] = include_bytes!("fixtures/photo.avif");
const SMALL: &[u8] = include_bytes!("fixtures/small.heic");
const TRUNCATED: &[u8] = include_bytes!("fixtures/truncated.heic");
const ISPE_HUGE: &[u8] = include_bytes!("fixtures/ispe-huge.heic");
const GARBAGE: &[u8] = include_bytes!("fixtures/garbage.heic");
/// 8192x4320 of one flat colour, 8 KB (heif-enc): the coded picture of the crafted files.
const CODED_8K: &[u8] = include_bytes!("fixtures/coded-8k.heic");

fn decode_jpeg_rgb(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let d = mozjpeg::Decompress::new_mem(bytes).unwrap();
    let mut s = d.rgb().unwrap();
    let (w, h) = (s.width(), s.height());
    let px: Vec<u8> = s.read_scanlines().unwrap();
    (w, h, px)
}

fn code<T>(r: Result<T, ImageError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn jpeg_of(p: &Processed, name: VariantName) -> (usize, usize, Vec<u8>) {
    let v = p
        .variants
        .iter()
        .find(|v| v.name == name && v.format == OutputFormat::Jpeg)
        .unwrap();
    decode_jpeg_rgb(&v.bytes)
}

/// Mean colour of a square of `side` px at (x, y).
fn mean(px: &[u8], w: usize, x: usize, y: usize, side: usize) -> [u8; 3] {
    let mut sum = [0u64; 3];
    for yy in y..y + side {
        for xx in x..x + side {
            for c in 0..3 {
                sum[c] += u64::from(px[(yy * w + xx) * 3 + c]);
            }
        }
    }
    sum.map(|s| (s / (side * side) as u64) as u8)
}

fn assert_clean(p: &Processed) {
    for v in &p.variants {
        assert!(!has_metadata(&v.bytes), "{v:?} carries metadata");
        let s = String::from_utf8_lossy(&v.bytes);
        // (three-letter words like "GPS" do occur in coded data by chance)
        for word in ["Exif", "CielTest", "Fixture"] {
            assert!(!s.contains(word), "{v:?} contains {word}");
        }
    }
}

/// P3 (100,150,200) in sRGB, as libvips/lcms2 convert it (see pipeline.rs).
const P3_BLOCK_IN_SRGB: [u8; 3] = [84, 152, 203];

fn assert_near(got: [u8; 3], want: [u8; 3], tolerance: u8, what: &str) {
    assert!(
        got.iter()
            .zip(want)
            .all(|(g, w)| g.abs_diff(w) <= tolerance),
        "{what}: got {got:?}, want about {want:?}"
    );
}

#[test]
fn iphone_like_grid_comes_out_rotated_in_srgb_without_gps() {
    assert_eq!(sniff(IPHONE), Some(SourceFormat::Heic));
    let header = probe(IPHONE).unwrap();
    assert_eq!((header.width, header.height), (4032, 3024), "ispe, stored");
    // With the JPEGs, to read the pixels back with mozjpeg.
    let p = process_set(IPHONE, VariantSet::WebpAndJpeg).unwrap();
    assert_eq!(p.source_format, SourceFormat::Heic);
    // irot 90 deg clockwise applied once: the EXIF Orientation=6 it also carries is not.
    assert_eq!((p.width, p.height), (3024, 4032));
    let sizes: Vec<_> = p
        .variants
        .iter()
        .map(|v| (v.name, v.format, v.width, v.height))
        .collect();
    assert_eq!(sizes.len(), 8);
    assert_eq!(
        sizes[6],
        (VariantName::Large, OutputFormat::Webp, 1536, 2048)
    );
    assert_clean(&p);
    let (w, h, px) = jpeg_of(&p, VariantName::Small);
    assert_eq!((w, h), (480, 640));
    // The P3 block (stored bottom-left) is displayed top-left, converted to sRGB.
    assert_near(mean(&px, w, 8, 8, 30), P3_BLOCK_IN_SRGB, 6, "block");
    // The sky (stored top) is on the right.
    let blue_minus_green = |x: usize| -> i64 {
        (0..h)
            .map(|y| {
                let o = (y * w + x) * 3;
                i64::from(px[o + 2]) - i64::from(px[o + 1])
            })
            .sum()
    };
    assert!(blue_minus_green(w - 5) > blue_minus_green(w / 4) + 20 * h as i64);
}

#[test]
fn avif_with_nclx_p3_is_converted() {
    assert_eq!(sniff(AVIF), Some(SourceFormat::Avif));
    let p = process_set(AVIF, VariantSet::WebpAndJpeg).unwrap();
    assert_eq!(p.source_format, SourceFormat::Avif);
    assert_eq!((p.width, p.height), (1200, 900));
    assert_eq!(p.variants.len(), 8);
    assert_clean(&p);
    let (w, _, px) = jpeg_of(&p, VariantName::Small);
    assert_near(
        mean(&px, w, 20, 20, 80),
        P3_BLOCK_IN_SRGB,
        6,
        "nclx P3 block",
    );
}

#[test]
fn plain_heic() {
    let p = process(SMALL).unwrap();
    assert_eq!((p.width, p.height), (640, 480));
    assert_eq!(p.variants.len(), 2);
}

#[test]
fn bad_heif_files_fail_with_their_own_codes() {
    assert_eq!(code(process(TRUNCATED)), "corrupt_image");
    assert_eq!(code(process(ISPE_HUGE)), "image_too_large");
    assert_eq!(code(probe(ISPE_HUGE)), "image_too_large");
    assert_eq!(code(process(GARBAGE)), "corrupt_image");
    assert_eq!(code(probe(GARBAGE)), "corrupt_image");
    // the iPhone file cut inside its tiles: the boxes are whole, the pixels are not
    assert_eq!(
        code(process(&IPHONE[..IPHONE.len() * 2 / 3])),
        "corrupt_image"
    );
    // an `ftyp` of a video: not an image at all
    let mut mp4 = 24u32.to_be_bytes().to_vec();
    mp4.extend(b"ftypisom\0\0\0\0isommp41");
    assert_eq!(code(process(&mp4)), "unsupported_format");
}

#[test]
fn damaged_heif_never_panics() {
    // cuts of the 12 MP file inside its boxes only (each whole decode is slow in debug builds)
    for cut in (0..2000).step_by(97) {
        let _ = process(&IPHONE[..cut]);
        let _ = probe(&IPHONE[..cut]);
    }
    // byte flips in the boxes and codec headers the checks read (probe only: no decode)
    let mut x = 0x9E37_79B9_u32;
    for _ in 0..400 {
        let mut damaged = IPHONE.to_vec();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % 6000;
            damaged[i] ^= (x >> 8) as u8 | 1;
        }
        let _ = probe(&damaged);
    }
    for source in [AVIF, SMALL] {
        for cut in (0..source.len()).step_by(source.len() / 40 + 1) {
            let _ = process(&source[..cut]);
            let _ = probe(&source[..cut]);
        }
        let mut x = 0x2545_f491_u32;
        for _ in 0..60 {
            let mut damaged = source.to_vec();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % damaged.len();
                damaged[i] ^= (x >> 8) as u8 | 1;
            }
            let _ = process(&damaged);
        }
    }
}

#[test]
fn probe_estimates_heif_memory() {
    let p = probe(IPHONE).unwrap();
    assert!(p.progressive, "a grid needs whole-image buffers");
    let mb = p.peak_memory_bytes >> 20;
    assert!((60..400).contains(&mb), "{mb} MB for 12 MP");
}

#[test]
fn the_corpus_carries_what_must_not_come_out() {
    assert!(has_metadata(IPHONE), "Exif item with GPS");
    assert!(has_metadata(AVIF), "Exif item with GPS");
    assert!(!has_metadata(SMALL));
}

fn corrupt_message<T: std::fmt::Debug>(r: Result<T, ImageError>) -> String {
    match r {
        Err(ImageError::Corrupt(message)) => message,
        other => panic!("expected corrupt_image, got {other:?}"),
    }
}

#[test]
fn an_ispe_smaller_than_the_coded_picture_is_refused_before_decoding() {
    // the audit's file: 8 KB declaring 64x48, coding 8192x4320 (35 MP)
    let lying = craft_heif::with_ispe(CODED_8K, 64, 48);
    let message = corrupt_message(probe(&lying));
    assert!(
        message.contains("declares 64x48") && message.contains("8192x4320"),
        "{message}"
    );
    assert_eq!(code(process(&lying)), "corrupt_image");
    // the same picture, honestly declared, passes the guard (and is not decoded here)
    assert_eq!(probe(CODED_8K).unwrap().width, 8192);
    // larger than coded is refused too, beyond one coding tree block
    assert_eq!(
        code(probe(&craft_heif::with_ispe(CODED_8K, 8192, 4384))),
        "corrupt_image"
    );
    assert_eq!(
        code(probe(&craft_heif::with_ispe(CODED_8K, 8192, 4383))),
        "ok"
    );
    // HEVC: 640x480 coded
    assert_eq!(
        code(probe(&craft_heif::with_ispe(SMALL, 64, 48))),
        "corrupt_image"
    );
    // AV1: 1200x900 in its sequence header
    let avif = craft_heif::with_ispe(AVIF, 120, 90);
    assert!(corrupt_message(probe(&avif)).contains("codes 1200x900"));
    assert_eq!(code(process(&avif)), "corrupt_image");
}

#[test]
fn a_grid_may_not_name_a_tile_twice() {
    let repeated = craft_heif::with_first_tile_everywhere(IPHONE);
    assert!(corrupt_message(probe(&repeated)).contains("twice"));
    assert_eq!(code(process(&repeated)), "corrupt_image");
    // the audit's grid: 48 references to one 8192x4320 picture declared 64x48, and the same
    // with the tile's size declared honestly
    let attack = craft_heif::grid_of_one_tile(CODED_8K, (64, 48), 6, 8, (512, 288));
    assert_eq!(code(probe(&attack)), "corrupt_image");
    assert_eq!(code(process(&attack)), "corrupt_image");
    let honest_tile = craft_heif::grid_of_one_tile(CODED_8K, (8192, 4320), 1, 2, (8192, 4320));
    assert!(corrupt_message(probe(&honest_tile)).contains("twice"));
    // one honestly declared 8192x4320 tile as a 1x1 grid of 64x48: its pixels would all be
    // decoded for a 64x48 output
    // the grid's own ispe (what the memory estimate is made from) smaller than its output
    let mut small_ispe = IPHONE.to_vec();
    let grid_ispe = b"ispe\0\0\0\0\0\0\x0F\xC0\0\0\x0B\xD0";
    let at = IPHONE.windows(16).position(|w| w == grid_ispe).unwrap();
    small_ispe[at + 8..at + 16].copy_from_slice(&[0, 0, 0, 64, 0, 0, 0, 48]);
    assert!(corrupt_message(probe(&small_ispe)).contains("declares 64x48"));
    let big_tile = craft_heif::grid_of_one_tile(CODED_8K, (8192, 4320), 1, 1, (64, 48));
    assert!(corrupt_message(probe(&big_tile)).contains("for a 64x48 grid"));
}

#[test]
fn grids_have_at_most_the_documented_number_of_tiles() {
    assert_eq!(MAX_GRID_TILES, 1024);
    // the iPhone grid's descriptor (6 rows, 8 columns, 4032x3024) made 255x255
    let descriptor = [0u8, 0, 5, 7, 0x0F, 0xC0, 0x0B, 0xD0];
    let at = IPHONE
        .windows(descriptor.len())
        .position(|w| w == descriptor)
        .unwrap();
    let mut huge = IPHONE.to_vec();
    huge[at + 2] = 254;
    huge[at + 3] = 254;
    assert!(corrupt_message(probe(&huge)).contains("at most 1024"));
    // the writer of the crafted grids makes valid files: one honest tile as a 1x1 grid
    let grid = |size| craft_heif::grid_of_one_tile(SMALL, (640, 480), 1, 1, size);
    let p = process(&grid((640, 480))).unwrap();
    assert_eq!((p.width, p.height), (640, 480));
    // tiles that do not cover the grid's output
    assert!(corrupt_message(probe(&grid((1300, 480)))).contains("tiles of 640x480"));
}
