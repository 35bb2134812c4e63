//! One benchmark run of the pipeline, meant to be started in its own process (so its peak RSS is
//! the pipeline's) by `scripts/bench-media`.
//!
//! usage: bench_media INPUT [OUT_DIR]
//! With CIEL_BENCH_STAGES=1 the line also has "stages": [[name, ms], ...] (the profile).
//! Prints one JSON line: {"ms": <process() wall time>, "width": .., "height": .., "outputs": {"large.webp": bytes, ..}}

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
    let start = Instant::now();
    let (result, stages) = if profile {
        ciel_imaging::process_profiled(&bytes)
    } else {
        (ciel_imaging::process(&bytes), Vec::new())
    };
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
        "{{\"ms\": {ms:.1}, \"estimate_mb\": {estimate_mb:.1}, \"width\": {}, \"height\": {}, \"outputs\": {{{}}}, \"stages\": [{}]}}",
        processed.width,
        processed.height,
        outputs.join(", "),
        stages.join(", ")
    );
}
