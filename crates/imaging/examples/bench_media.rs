//! One benchmark run of the pipeline, meant to be started in its own process (so its peak RSS is
//! the pipeline's) by `scripts/bench-media`.
//!
//! usage: bench_media INPUT [OUT_DIR]
//! With CIEL_BENCH_STAGES=1 the line also has "stages": [[name, ms], ...] (the profile).
//! CIEL_BENCH_SET=webp+jpeg encodes the set photos had before issue 30 (default: WebP only).
//! Prints one JSON line: {"ms": <process() wall time>, "cpu_ms": <the process's CPU time over the
//! same span>, "width": .., "height": .., "outputs": {"large.webp": bytes, ..}}

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(input) = args.next() else {
        eprintln!("usage: bench_media INPUT [OUT_DIR]");
        std::process::exit(2);
    };
    let out_dir = args.next();
    let bytes = std::fs::read(&input).expect("read input");
    let estimate_mb = ciel_imaging::probe(&bytes)
        .map(|p| p.peak_memory_bytes as f64 / f64::from(1 << 20))
        .unwrap_or(0.0);
    let profile = std::env::var_os("CIEL_BENCH_STAGES").is_some();
    let set = match std::env::var("CIEL_BENCH_SET").as_deref() {
        Ok("webp+jpeg") => ciel_imaging::VariantSet::WebpAndJpeg,
        Ok("webp") | Err(_) => ciel_imaging::VariantSet::WebpOnly,
        Ok(other) => {
            eprintln!("CIEL_BENCH_SET={other}: expected webp or webp+jpeg");
            std::process::exit(2);
        }
    };
    let cpu_start = cpu_time_ms();
    let start = Instant::now();
    let (result, stages) = if profile {
        ciel_imaging::process_profiled(&bytes, set)
    } else {
        (ciel_imaging::process_set(&bytes, set), Vec::new())
    };
    let cpu_ms = cpu_time_ms() - cpu_start;
    let processed = match result {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{input}: {} ({e})", e.code());
            std::process::exit(1);
        }
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let mut outputs = Vec::new();
    for v in &processed.variants {
        let key = format!("{}.{}", v.name.as_str(), v.format.as_str());
        outputs.push(format!("\"{key}\": {}", v.bytes.len()));
        if let Some(dir) = &out_dir {
            std::fs::write(
                format!("{dir}/{}.{}", v.name.as_str(), v.format.extension()),
                &v.bytes,
            )
            .expect("write output");
        }
    }
    let stages: Vec<String> = stages
        .iter()
        .map(|(name, ms)| format!("[\"{name}\", {ms:.2}]"))
        .collect();
    println!(
        "{{\"ms\": {ms:.1}, \"cpu_ms\": {cpu_ms:.1}, \"estimate_mb\": {estimate_mb:.1}, \"width\": {}, \"height\": {}, \"outputs\": {{{}}}, \"stages\": [{}]}}",
        processed.width,
        processed.height,
        outputs.join(", "),
        stages.join(", ")
    );
}

/// CPU time of this process (every thread), in ms: unlike wall time, other processes on the
/// same core do not add to it (they still cost cache misses).
fn cpu_time_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}
