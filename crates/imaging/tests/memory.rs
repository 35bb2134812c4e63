//! The memory estimate of `probe()` is what a worker reserves before decoding, so it must hold
//! for crafted files too. Each file is processed in a child process (this test binary again) and
//! its peak resident memory (VmHWM: libjpeg allocates through malloc, which a Rust allocator
//! would not see) is compared with the estimate.

mod craft;
#[path = "craft/heif.rs"]
mod craft_heif;

use std::process::Command;

use craft::{Scan, jpeg};

const CHILD_VAR: &str = "CIEL_IMAGING_MEASURE_FILE";
/// Peak allowed over the estimate: allocator slack and the test harness itself.
const MARGIN_BYTES: u64 = 16 << 20;

/// Runs only as the child: processes the file named by the variable, prints its peak.
#[test]
fn measure_child() {
    let Ok(path) = std::env::var(CHILD_VAR) else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let result = ciel_imaging::process(&bytes);
    drop(result);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    println!("peak_kb={peak_kb}");
}

fn measured_peak(name: &str, bytes: &[u8]) -> u64 {
    let path = std::env::temp_dir().join(format!("ciel-memory-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "measure_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, &path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{name}: child failed: {stdout}");
    stdout
        .lines()
        .find_map(|l| l.split("peak_kb=").nth(1))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{name}: no peak in {stdout}"))
        * 1024
}

#[test]
fn crafted_files_stay_within_their_memory_estimate() {
    let separate: &[Scan] = &[
        Scan::new(&[0], 0, 63, 0, 0),
        Scan::new(&[1], 0, 63, 0, 0),
        Scan::new(&[2], 0, 63, 0, 0),
    ];
    let dc_only: &[Scan] = &[Scan::new(&[0, 1, 2], 0, 0, 0, 0)];
    let interleaved: &[Scan] = &[Scan::new(&[0, 1, 2], 0, 63, 0, 0)];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // ~100 KB of deflate that claims a 100 MB colour profile
        ("png-icc-bomb", png_with_icc(1000, 100 << 20)),
        // one scan per component: libjpeg keeps every coefficient, as for progressive files
        (
            "jpeg-multi-scan-sequential",
            jpeg(6000, 4000, 3, false, separate, false, true),
        ),
        // a stray byte before the frame header, which libjpeg only warns about
        (
            "jpeg-junk-before-frame",
            jpeg(6000, 4000, 3, true, dc_only, true, true),
        ),
        (
            "jpeg-baseline",
            jpeg(6000, 4000, 3, false, interleaved, false, true),
        ),
        // 12 MP HEIC tile grid with irot: libheif decodes it whole (no shrink-on-load)
        (
            "heic-12mp-grid",
            include_bytes!("fixtures/iphone-like.heic").to_vec(),
        ),
        ("avif", include_bytes!("fixtures/photo.avif").to_vec()),
    ];
    let mut report = Vec::new();
    for (name, bytes) in &cases {
        let estimate = ciel_imaging::probe(bytes)
            .unwrap_or_else(|e| panic!("{name}: the probe must read what the decoder reads: {e}"))
            .peak_memory_bytes;
        let peak = measured_peak(name, bytes);
        println!(
            "{name}: {} KB, estimate {} MB, measured peak {} MB",
            bytes.len() / 1024,
            estimate >> 20,
            peak >> 20
        );
        if peak > estimate + MARGIN_BYTES {
            report.push(format!(
                "{name}: peak {} MB over estimate {} MB",
                peak >> 20,
                estimate >> 20
            ));
        }
    }
    assert!(report.is_empty(), "{report:#?}");
}

/// The audit's HEIFs: 8 KB declaring 64x48 but coding 8192x4320 (35 MP, +215 MB when libheif
/// decoded it), and a grid of 48 references to it. The header checks refuse them before any
/// pixel exists: the process stays within what an honest 640x480 HEIC may use.
#[test]
fn crafted_heif_files_fail_before_their_pixels_exist() {
    let coded_8k = include_bytes!("fixtures/coded-8k.heic");
    let small = include_bytes!("fixtures/small.heic");
    let allowance = ciel_imaging::probe(small).unwrap().peak_memory_bytes + MARGIN_BYTES;
    let cases = [
        (
            "heic-ispe-64x48-coded-8k",
            craft_heif::with_ispe(coded_8k, 64, 48),
        ),
        (
            "heic-grid-of-48-lying-tiles",
            craft_heif::grid_of_one_tile(coded_8k, (64, 48), 6, 8, (512, 288)),
        ),
        (
            "heic-1x1-grid-of-an-8k-tile",
            craft_heif::grid_of_one_tile(coded_8k, (8192, 4320), 1, 1, (64, 48)),
        ),
    ];
    for (name, bytes) in &cases {
        let refused = ciel_imaging::probe(bytes).map_err(|e| e.code());
        assert_eq!(refused.err(), Some("corrupt_image"), "{name}");
        let peak = measured_peak(name, bytes);
        println!(
            "{name}: measured peak {} MB, allowance {} MB",
            peak >> 20,
            allowance >> 20
        );
        assert!(peak <= allowance, "{name}: peak {} MB", peak >> 20);
    }
}

/// A valid PNG of `side`x`side` with an `iCCP` chunk that inflates to `icc_bytes`.
pub fn png_with_icc(side: u32, icc_bytes: usize) -> Vec<u8> {
    let mut base = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut base, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![128u8; (side * side * 3) as usize])
            .unwrap();
    }
    let profile = vec![0u8; icc_bytes];
    let mut data = b"bomb\0\0".to_vec();
    data.extend(miniz_oxide::deflate::compress_to_vec_zlib(&profile, 9));
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iCCP");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc32(&chunk[4..]).to_be_bytes());
    // right after IHDR (8 signature + 25 IHDR)
    let mut png = base[..33].to_vec();
    png.extend(chunk);
    png.extend_from_slice(&base[33..]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
