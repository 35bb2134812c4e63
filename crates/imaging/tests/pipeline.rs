//! End-to-end tests of `ciel_imaging::process` on real encoded files.

use ciel_imaging::{
    ImageError, OutputFormat, Processed, SourceFormat, VariantName, VariantSet, has_metadata,
    process, process_set, sniff,
};

const FIXTURE: &[u8] = include_bytes!("fixtures/orientation6-gps.jpg");
const P3: &[u8] = include_bytes!("fixtures/p3-solid.jpg");

/// A smooth, photo-ish RGB test pattern (gradients + a few edges), deterministic.
fn pattern(w: u32, h: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let edge = if (x / 37 + y / 53) % 5 == 0 { 60 } else { 0 };
            v.push(((x * 255 / w) as u8).saturating_add(edge));
            v.push((y * 255 / h) as u8);
            v.push((((x + y) * 127 / (w + h)) as u8).wrapping_add(64));
        }
    }
    v
}

fn jpeg(w: u32, h: u32, progressive: bool) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    if progressive {
        c.set_progressive_mode();
    } else {
        c.set_fastest_defaults(); // baseline (mozjpeg's own default is progressive)
    }
    c.set_size(w as usize, h as usize);
    c.set_quality(90.0);
    let mut s = c.start_compress(Vec::new()).unwrap();
    s.write_scanlines(&pattern(w, h)).unwrap();
    s.finish().unwrap()
}

fn png_rgba(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        let rgb = pattern(w, h);
        let rgba: Vec<u8> = rgb
            .chunks(3)
            .enumerate()
            .flat_map(|(i, p)| [p[0], p[1], p[2], (i % 256) as u8])
            .collect();
        wr.write_image_data(&rgba).unwrap();
    }
    out
}

fn decode_jpeg_rgb(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let d = mozjpeg::Decompress::new_mem(bytes).unwrap();
    let mut s = d.rgb().unwrap();
    let (w, h) = (s.width(), s.height());
    let px: Vec<u8> = s.read_scanlines().unwrap();
    (w, h, px)
}

fn sizes(p: &Processed) -> Vec<(VariantName, OutputFormat, u32, u32)> {
    p.variants
        .iter()
        .map(|v| (v.name, v.format, v.width, v.height))
        .collect()
}

fn assert_clean_outputs(p: &Processed) {
    for v in &p.variants {
        let expected = match v.format {
            OutputFormat::Jpeg => SourceFormat::Jpeg,
            OutputFormat::Webp => SourceFormat::Webp,
        };
        assert_eq!(sniff(&v.bytes), Some(expected), "{v:?}");
        assert!(!has_metadata(&v.bytes), "{v:?} carries metadata");
        // every output is itself a valid input of the same size
        let again = process(&v.bytes).unwrap();
        assert_eq!((again.width, again.height), (v.width, v.height), "{v:?}");
    }
}

#[test]
fn orientation_6_with_gps_comes_out_rotated_and_stripped() {
    assert!(has_metadata(FIXTURE), "fixture must carry EXIF/GPS");
    // The set with JPEGs, so that the pixels can be read back with mozjpeg.
    let p = process_set(FIXTURE, VariantSet::WebpAndJpeg).unwrap();
    assert_eq!(p.source_format, SourceFormat::Jpeg);
    assert_eq!((p.width, p.height), (480, 640));
    assert_eq!(
        sizes(&p),
        vec![
            (VariantName::Thumb, OutputFormat::Webp, 240, 320),
            (VariantName::Thumb, OutputFormat::Jpeg, 240, 320),
            (VariantName::Small, OutputFormat::Webp, 480, 640),
            (VariantName::Small, OutputFormat::Jpeg, 480, 640),
        ]
    );
    assert_clean_outputs(&p);
    for v in &p.variants {
        let s = String::from_utf8_lossy(&v.bytes);
        assert!(!s.contains("GPS") && !s.contains("CielTest") && !s.contains("Exif"));
    }
    // The stored image has sky (blue) at the top; rotated 90 CW the sky is on the right.
    let small = &p.variants[3];
    let (w, h, px) = decode_jpeg_rgb(&small.bytes);
    assert_eq!((w, h), (480, 640));
    let blue_minus_green = |x: usize| -> i64 {
        (0..h)
            .map(|y| {
                let o = (y * w + x) * 3;
                i64::from(px[o + 2]) - i64::from(px[o + 1])
            })
            .sum()
    };
    assert!(blue_minus_green(w - 5) > blue_minus_green(5) + 20 * h as i64);
    assert_eq!(p.blurhash.len(), 4 + 2 * 4 * 3); // 4x3 components
}

#[test]
fn large_photo_gets_four_sizes() {
    let src = jpeg(4000, 3000, false);
    let p = process(&src).unwrap();
    assert_eq!((p.width, p.height), (4000, 3000));
    let dims: Vec<_> = p
        .variants
        .iter()
        .map(|v| (v.name.as_str(), v.format.as_str(), v.width, v.height))
        .collect();
    assert_eq!(
        dims,
        vec![
            ("thumb", "webp", 320, 240),
            ("small", "webp", 640, 480),
            ("medium", "webp", 1080, 810),
            ("large", "webp", 2048, 1536),
        ]
    );
    assert_clean_outputs(&p);
}

/// Issue 30: new photos get the four sizes in WebP only; the set photos had before (a JPEG
/// beside each WebP) is still what `VariantSet::WebpAndJpeg` gives, with identical WebPs.
#[test]
fn new_photos_get_webp_only_and_the_old_set_keeps_its_webps() {
    let src = jpeg(4000, 3000, false);
    let new = process(&src).unwrap();
    assert!(new.variants.iter().all(|v| v.format == OutputFormat::Webp));
    assert_eq!(new.variants.len(), 4);
    let old = process_set(&src, VariantSet::WebpAndJpeg).unwrap();
    assert_eq!(old.variants.len(), 8);
    let old_webps: Vec<_> = old
        .variants
        .iter()
        .filter(|v| v.format == OutputFormat::Webp)
        .collect();
    assert_eq!(old_webps, new.variants.iter().collect::<Vec<_>>());
    assert_eq!(old.blurhash, new.blurhash);
    assert_eq!(VariantSet::default(), VariantSet::WebpOnly);
}

#[test]
fn never_upscales() {
    let p = process(&jpeg(1000, 750, true)).unwrap();
    let names: Vec<_> = p
        .variants
        .iter()
        .map(|v| (v.name, v.width, v.height))
        .collect();
    assert_eq!(
        names,
        vec![
            (VariantName::Thumb, 320, 240),
            (VariantName::Small, 640, 480),
            (VariantName::Medium, 1000, 750),
        ]
    );
    let tiny = process(&jpeg(100, 40, false)).unwrap();
    assert_eq!(sizes(&tiny).len(), 1);
    assert!(
        tiny.variants
            .iter()
            .all(|v| (v.width, v.height) == (100, 40))
    );
}

#[test]
fn deterministic_bytes() {
    let a = process(FIXTURE).unwrap();
    let b = process(FIXTURE).unwrap();
    assert_eq!(a, b);
    let src = jpeg(2500, 1200, true);
    assert_eq!(process(&src).unwrap(), process(&src).unwrap());
}

#[test]
fn png_with_alpha_and_webp_inputs() {
    let p = process(&png_rgba(3000, 900)).unwrap();
    assert_eq!(p.source_format, SourceFormat::Png);
    assert_eq!((p.width, p.height), (3000, 900));
    assert_eq!(
        p.variants.last().map(|v| (v.width, v.height)),
        Some((2048, 614))
    );
    assert_clean_outputs(&p);

    let webp = p.variants[3].bytes.clone();
    let q = process(&webp).unwrap();
    assert_eq!(q.source_format, SourceFormat::Webp);
    assert_eq!((q.width, q.height), (2048, 614));
    assert_eq!(q.variants.len(), 4);
}

#[test]
fn cmyk_jpeg_is_converted() {
    let (w, h) = (300u32, 200u32);
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
    c.set_size(w as usize, h as usize);
    c.set_quality(90.0);
    let mut s = c.start_compress(Vec::new()).unwrap();
    let cmyk: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 30, 200, 10]).collect();
    s.write_scanlines(&cmyk).unwrap();
    let bytes = s.finish().unwrap();
    let p = process(&bytes).unwrap();
    assert_eq!((p.width, p.height), (300, 200));
    assert_clean_outputs(&p);
}

fn code(r: Result<Processed, ImageError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]); // depth, colour, methods, (bogus) CRC
    v
}

#[test]
fn bad_inputs_have_their_own_codes() {
    assert_eq!(code(process(b"")), "empty_file");
    assert_eq!(
        code(process(b"hello, I am a text file, not a JPEG\n")),
        "unsupported_format"
    );
    assert_eq!(
        code(process(&FIXTURE[..FIXTURE.len() / 2])),
        "corrupt_image"
    );
    assert_eq!(
        code(process(&png_header(100_000, 100_000))),
        "image_too_large"
    );
    assert_eq!(code(process(&png_header(12_001, 10))), "image_too_large");
    assert_eq!(code(process(&png_header(0, 0))), "corrupt_image");
    // JPEG whose SOF claims 60000x60000
    let mut big = FIXTURE.to_vec();
    let sof = big
        .windows(2)
        .position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2])
        .unwrap();
    big[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    assert_eq!(code(process(&big)), "image_too_large");
    assert_eq!(code(process(&[0xFF, 0xD8, 0xFF])), "corrupt_image");
    assert_eq!(code(process(b"RIFF\0\0\0\0WEBPVP8 ")), "corrupt_image");
    let err = process(b"").unwrap_err();
    assert!(!err.to_string().is_empty());
}

/// Fuzz-ish: truncations and byte flips of every format must never panic.
#[test]
fn never_panics_on_damaged_input() {
    let png = png_rgba(120, 80);
    let webp = process(&png).unwrap().variants[0].bytes.clone();
    let inputs: [&[u8]; 3] = [FIXTURE, &png, &webp];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for input in inputs {
        for cut in (0..input.len()).step_by((input.len() / 40).max(1)) {
            let _ = process(&input[..cut]);
        }
        for _ in 0..60 {
            let mut damaged = input.to_vec();
            for _ in 0..(rand() % 8 + 1) {
                let i = (rand() as usize) % damaged.len();
                damaged[i] = rand() as u8;
            }
            let _ = process(&damaged);
            let _ = has_metadata(&damaged);
        }
    }
}

#[test]
fn display_p3_is_converted_to_srgb() {
    let p = process_set(P3, VariantSet::WebpAndJpeg).unwrap();
    let thumb = p
        .variants
        .iter()
        .find(|v| v.format == OutputFormat::Jpeg)
        .unwrap();
    let (w, h, px) = decode_jpeg_rgb(&thumb.bytes);
    let o = (h / 2 * w + w / 2) * 3;
    let got = [px[o], px[o + 1], px[o + 2]];
    // libvips (lcms2, perceptual) converts P3 (100,150,200) to sRGB (84,152,203); unconverted
    // it would stay (100,150,200).
    for (g, want) in got.iter().zip([84u8, 152, 203]) {
        assert!(
            g.abs_diff(want) <= 4,
            "got {got:?}, want about [84, 152, 203]"
        );
    }
}

#[test]
fn jpeg_without_final_eoi_is_accepted() {
    assert_eq!(&FIXTURE[FIXTURE.len() - 2..], &[0xFF, 0xD9]);
    let p = process(&FIXTURE[..FIXTURE.len() - 2]).unwrap();
    assert_eq!((p.width, p.height), (480, 640));
}

#[test]
fn grey_jpeg_and_16_bit_and_palette_png() {
    let (w, h) = (700u32, 300u32);
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
    c.set_size(w as usize, h as usize);
    c.set_quality(85.0);
    let mut s = c.start_compress(Vec::new()).unwrap();
    let grey: Vec<u8> = (0..w * h).map(|i| (i % w * 255 / w) as u8).collect();
    s.write_scanlines(&grey).unwrap();
    let p = process(&s.finish().unwrap()).unwrap();
    assert_eq!((p.width, p.height), (700, 300));
    assert_clean_outputs(&p);

    let encode =
        |color: png::ColorType, depth: png::BitDepth, data: &[u8], palette: Option<Vec<u8>>| {
            let mut out = Vec::new();
            {
                let mut e = png::Encoder::new(&mut out, w, h);
                e.set_color(color);
                e.set_depth(depth);
                if let Some(p) = palette {
                    e.set_palette(p);
                }
                let mut wr = e.write_header().unwrap();
                wr.write_image_data(data).unwrap();
            }
            out
        };
    let rgb16: Vec<u8> = pattern(w, h).iter().flat_map(|&v| [v, v ^ 0x55]).collect();
    let p16 = encode(png::ColorType::Rgb, png::BitDepth::Sixteen, &rgb16, None);
    let p = process(&p16).unwrap();
    assert_eq!((p.width, p.height), (700, 300));
    assert_eq!(p.variants.len(), 3);

    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
    let p8 = encode(
        png::ColorType::Indexed,
        png::BitDepth::Eight,
        &grey,
        Some(palette),
    );
    let p = process(&p8).unwrap();
    assert_eq!(p.source_format, SourceFormat::Png);
    assert_clean_outputs(&p);

    let ga: Vec<u8> = grey.iter().flat_map(|&g| [g, 200]).collect();
    let pga = encode(
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Eight,
        &ga,
        None,
    );
    assert_eq!(process(&pga).unwrap().variants.len(), 3);
}

#[test]
fn probe_reads_headers_only() {
    let p = ciel_imaging::probe(FIXTURE).unwrap();
    assert_eq!(
        (p.format, p.width, p.height, p.progressive),
        (SourceFormat::Jpeg, 640, 480, false)
    );
    let prog = ciel_imaging::probe(&jpeg(4000, 3000, true)).unwrap();
    assert!(prog.progressive);
    let mb = prog.peak_memory_bytes >> 20;
    assert!((40..120).contains(&mb), "{mb} MB");
    let base = ciel_imaging::probe(&jpeg(4000, 3000, false)).unwrap();
    assert!(base.peak_memory_bytes < prog.peak_memory_bytes);
    assert_eq!(code_of(ciel_imaging::probe(b"")), "empty_file");
    assert_eq!(code_of(ciel_imaging::probe(b"text")), "unsupported_format");
    assert_eq!(
        code_of(ciel_imaging::probe(&png_header(100_000, 100_000))),
        "image_too_large"
    );
    assert_eq!(
        code_of(ciel_imaging::probe(&FIXTURE[..100])),
        "corrupt_image"
    );
    let png = ciel_imaging::probe(&png_rgba(3000, 900)).unwrap();
    assert_eq!(
        (png.format, png.width, png.height),
        (SourceFormat::Png, 3000, 900)
    );
}

fn code_of<T>(r: Result<T, ImageError>) -> &'static str {
    r.err().map_or("ok", |e| e.code())
}

#[test]
fn extreme_shapes() {
    let one = png_rgba(1, 1);
    let p = process(&one).unwrap();
    assert_eq!(sizes(&p).len(), 1);
    assert!(p.variants.iter().all(|v| (v.width, v.height) == (1, 1)));

    let tall = process(&jpeg(3, 5000, false)).unwrap();
    let dims: Vec<_> = tall.variants.iter().map(|v| (v.width, v.height)).collect();
    assert_eq!(dims, vec![(1, 320), (1, 640), (1, 1080), (1, 2048)]);
    assert_clean_outputs(&tall);
    let wide = process(&png_rgba(12_000, 2)).unwrap();
    assert_eq!(
        wide.variants.last().map(|v| (v.width, v.height)),
        Some((2048, 1))
    );
}

/// Longer fuzz-ish run: `cargo test --release -p ciel-imaging -- --ignored`.
#[test]
#[ignore]
fn never_panics_long() {
    let png = png_rgba(200, 130);
    let prog = jpeg(300, 200, true);
    let webp = process(&png).unwrap().variants[0].bytes.clone();
    let inputs: [&[u8]; 5] = [FIXTURE, P3, &png, &prog, &webp];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for input in inputs {
        for _ in 0..1500 {
            let mut damaged = input.to_vec();
            match rand() % 3 {
                0 => damaged.truncate((rand() as usize) % damaged.len()),
                1 => {
                    for _ in 0..(rand() % 16 + 1) {
                        let i = (rand() as usize) % damaged.len();
                        damaged[i] = rand() as u8;
                    }
                }
                _ => {
                    // header bytes are where the interesting lies are
                    let n = damaged.len().min(64);
                    let i = (rand() as usize) % n;
                    damaged[i] = rand() as u8;
                }
            }
            let _ = ciel_imaging::probe(&damaged);
            let _ = process(&damaged);
        }
    }
}
