//! Crafted files that try to stall or overrun a worker: each is refused, or stopped at its
//! deadline, with a stable code.

mod craft;

use std::time::{Duration, Instant};

use ciel_imaging::{ImageError, MAX_SCANS, probe, process, process_within};
use craft::{Scan, jpeg, long_progression};

#[test]
fn a_progression_within_the_scan_cap_decodes() {
    let file = jpeg(64, 64, 1, true, &long_progression(40), false, true);
    let processed = process(&file).expect("a long but legitimate progression");
    assert_eq!((processed.width, processed.height), (64, 64));
}

#[test]
fn more_scans_than_the_cap_is_corrupt() {
    let scans = long_progression(MAX_SCANS as usize + 1);
    let file = jpeg(64, 64, 1, true, &scans, false, true);
    // every scan is legitimate on its own: only the count is wrong
    let err = process(&file).expect_err("a scan bomb");
    assert_eq!(err.code(), "corrupt_image", "{err}");
    assert!(err.to_string().contains("scans"), "{err}");
}

#[test]
fn a_bogus_progression_is_corrupt() {
    const C: &[u8] = &[0];
    // the same first AC scan over and over: each is one more pass for nothing
    let mut scans = vec![Scan::new(C, 0, 0, 0, 0)];
    scans.extend(std::iter::repeat_n(Scan::new(C, 1, 63, 0, 1), 20));
    let file = jpeg(256, 256, 1, true, &scans, false, true);
    let err = process(&file).expect_err("repeated scans");
    assert_eq!(err.code(), "corrupt_image", "{err}");
}

#[test]
fn scans_without_data_are_corrupt() {
    let scans = long_progression(30);
    let file = jpeg(256, 256, 1, true, &scans, false, false);
    let err = process(&file).expect_err("empty scans");
    assert_eq!(err.code(), "corrupt_image", "{err}");
}

#[test]
fn a_job_past_its_deadline_stops_with_its_own_code() {
    // 50 MP, 400 legitimate scans: a second or more of work on any machine
    let scans = long_progression(400);
    let file = jpeg(12_000, 4_166, 1, true, &scans, false, true);
    let err = process_within(&file, Instant::now()).expect_err("past its deadline");
    assert!(matches!(err, ImageError::TimedOut), "{err}");
    assert_eq!(err.code(), "processing_timed_out");
    // the same file without a deadline would be processed: the limit is what stopped it
    let small = jpeg(64, 64, 1, true, &scans, false, true);
    assert!(process_within(&small, Instant::now() + Duration::from_secs(600)).is_ok());
}

#[test]
fn the_probe_sees_through_junk_before_the_frame_header() {
    let scans = [Scan::new(&[0, 1, 2], 0, 0, 0, 0)];
    let file = jpeg(4000, 3000, 3, true, &scans, true, true);
    let p = probe(&file).expect("libjpeg reads it, so must the probe");
    assert_eq!((p.width, p.height), (4000, 3000));
    assert!(p.progressive);
    // 12 MP x 3 components x 2 bytes of coefficients
    assert!(p.peak_memory_bytes > 72_000_000, "{p:?}");
    assert!(process(&file).is_ok());
}

#[test]
fn multi_scan_sequential_jpegs_count_their_coefficients() {
    let separate = [
        Scan::new(&[0], 0, 63, 0, 0),
        Scan::new(&[1], 0, 63, 0, 0),
        Scan::new(&[2], 0, 63, 0, 0),
    ];
    let interleaved = [Scan::new(&[0, 1, 2], 0, 63, 0, 0)];
    let multi = probe(&jpeg(4000, 3000, 3, false, &separate, false, true)).unwrap();
    let single = probe(&jpeg(4000, 3000, 3, false, &interleaved, false, true)).unwrap();
    assert!(multi.progressive && !single.progressive);
    // 12 MP x 3 components x 2 bytes of coefficients, on top of the 16 MB base
    assert!(
        multi.peak_memory_bytes > (16 << 20) + 72_000_000,
        "{multi:?}"
    );
    assert!(
        multi.peak_memory_bytes > single.peak_memory_bytes,
        "{multi:?} vs {single:?}"
    );
}
