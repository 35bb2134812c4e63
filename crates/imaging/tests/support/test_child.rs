//! The decode child of `tests/isolation.rs`: the real child, except for files that end with a
//! marker box, which make it misbehave as a codec could on a crafted file.

use std::time::Instant;

use ciel_imaging::{ImageError, Processed};

fn main() {
    ciel_imaging::isolation::child_main_with(misbehave_on_markers);
}

fn misbehave_on_markers(bytes: &[u8], deadline: Instant) -> Result<Processed, ImageError> {
    if bytes.ends_with(b"hang") {
        // a decode that never checks its deadline
        loop {
            std::thread::park();
        }
    }
    if bytes.ends_with(b"allocate") {
        // a codec that allocates far beyond the estimate: 1 GB, every page touched
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        for _ in 0..256 {
            hoard.push(vec![1; 4 << 20]);
        }
        let touched: u64 = hoard.iter().map(|v| u64::from(v[v.len() - 1])).sum();
        return Err(ImageError::Corrupt(format!(
            "survived allocating {touched} blocks of 4 MB"
        )));
    }
    ciel_imaging::process_within(bytes, deadline)
}
