//! HEIC/AVIF processed in a child process (`isolation`): the same variants as in process, and a
//! child that overstays its deadline or its memory limit ends the photo, not the worker.

use std::time::{Duration, Instant};

use ciel_imaging::{ImageError, process, process_within};

const IPHONE: &[u8] = include_bytes!("fixtures/iphone-like.heic");
const AVIF: &[u8] = include_bytes!("fixtures/photo.avif");
const SMALL: &[u8] = include_bytes!("fixtures/small.heic");

fn isolate() {
    ciel_imaging::isolation::use_program(env!("CARGO_BIN_EXE_ciel-imaging-test-child"));
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

/// `file` with a trailing `free` box whose payload ends with `marker` (the test child's cue).
fn with_marker(file: &[u8], marker: &[u8]) -> Vec<u8> {
    let mut out = file.to_vec();
    out.extend(((marker.len() + 8) as u32).to_be_bytes());
    out.extend(b"free");
    out.extend(marker);
    out
}

#[test]
fn a_child_gives_the_variants_the_process_gives() {
    isolate();
    for file in [IPHONE, AVIF] {
        assert_eq!(process_within(file, far()).unwrap(), process(file).unwrap());
    }
    // errors come back with their code and message
    let cut = &SMALL[..SMALL.len() / 2];
    let (child, local) = (process_within(cut, far()), process(cut));
    assert_eq!(
        child.unwrap_err().to_string(),
        local.unwrap_err().to_string()
    );
}

#[test]
fn a_child_that_overstays_its_deadline_is_killed() {
    isolate();
    // The test child never returns on this file: only the kill ends the call.
    let result = process_within(
        &with_marker(SMALL, b"hang"),
        Instant::now() + Duration::from_millis(300),
    );
    assert!(matches!(result, Err(ImageError::TimedOut)), "{result:?}");
    // a real decode past its deadline ends the same way
    let result = process_within(IPHONE, Instant::now());
    assert!(matches!(result, Err(ImageError::TimedOut)), "{result:?}");
}

#[test]
fn a_child_over_its_memory_limit_fails_the_photo() {
    isolate();
    let estimate = ciel_imaging::probe(SMALL).unwrap().peak_memory_bytes;
    assert!(
        estimate < 256 << 20,
        "the test child allocates 1 GB: {estimate}"
    );
    match process_within(&with_marker(SMALL, b"allocate"), far()) {
        Err(ImageError::Corrupt(message)) => {
            assert!(message.contains("the decoder stopped"), "{message}")
        }
        other => panic!("expected corrupt_image, got {other:?}"),
    }
}
