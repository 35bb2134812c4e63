//! What running a HEIC/AVIF in a decode child costs, per photo: best of N wall times of
//! `process()` in this process and of `process_within()` in a child of this executable (the
//! child runs the same pipeline, so the difference is the spawn, the pipes and the copies).
//!
//! usage: cargo run --example heif_child_overhead [--release] -- [RUNS] [FILE...]
//! (default: 7 runs of the committed corpus)

use std::time::{Duration, Instant};

fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    // This executable is also the child it starts.
    ciel_imaging::isolation::init();
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let mut files: Vec<String> = args.collect();
    if files.is_empty() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
        files = ["small.heic", "photo.avif", "iphone-like.heic"]
            .iter()
            .map(|f| format!("{dir}/{f}"))
            .collect();
    }
    let far = || Instant::now() + Duration::from_secs(600);
    for file in files {
        let bytes = std::fs::read(&file).expect("read input");
        let local = best(runs, || {
            ciel_imaging::process(&bytes).expect("process");
        });
        let child = best(runs, || {
            ciel_imaging::process_within(&bytes, far()).expect("process in a child");
        });
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{}: in process {:.1} ms, in a child {:.1} ms, overhead {:.1} ms (best of {runs})",
            file.rsplit('/').next().unwrap_or(&file),
            ms(local),
            ms(child),
            ms(child) - ms(local)
        );
    }
}
