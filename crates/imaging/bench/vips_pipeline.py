#!/usr/bin/env python3
"""The libvips reference pipeline of issue 3, one run per process (for a clean peak RSS).

One `thumbnail` call to 2048 px (shrink-on-load, auto-rotate), then a resize chain
2048 -> 1080 -> 640 -> 320; each size saved as WebP Q80 (default effort 4), stripped, and with
CIEL_BENCH_SET=webp+jpeg (the set before issue 30) also as JPEG Q82 with optimize_coding. Every intermediate is copied to memory once, so each save does not
re-run the pipeline upstream of it (the fastest way to drive libvips for this job).

usage: vips_pipeline.py INPUT [OUT_DIR]   -> one JSON line like examples/bench_media.rs
("cpu_ms" is time.process_time(): every libvips thread of this process)
"""
import json
import os
import sys
import time

import pyvips

NAMES = {2048: "large", 1080: "medium", 640: "small", 320: "thumb"}


def main():
    path = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else None
    with open(path, "rb") as f:
        data = f.read()
    # warm libvips' operation cache/introspection outside the timed region (fair to Python)
    pyvips.Image.black(8, 8).webpsave_buffer(Q=80)
    jpeg_too = os.environ.get("CIEL_BENCH_SET", "webp") == "webp+jpeg"
    c0 = time.process_time()
    t0 = time.perf_counter()
    img = pyvips.Image.thumbnail_buffer(data, 2048).copy_memory()
    width, height = img.width, img.height
    outputs = {}
    cur = img
    for edge in (2048, 1080, 640, 320):
        longest = max(cur.width, cur.height)
        if longest > edge:
            cur = cur.resize(edge / longest).copy_memory()
        elif edge != 2048:
            continue
        name = NAMES[edge]
        webp = cur.webpsave_buffer(Q=80, strip=True)
        outputs[name + ".webp"] = len(webp)
        jpeg = None
        if jpeg_too:
            jpeg = cur.jpegsave_buffer(Q=82, optimize_coding=True, strip=True)
            outputs[name + ".jpeg"] = len(jpeg)
        if out_dir:
            with open(os.path.join(out_dir, name + ".webp"), "wb") as f:
                f.write(webp)
            if jpeg is not None:
                with open(os.path.join(out_dir, name + ".jpg"), "wb") as f:
                    f.write(jpeg)
    ms = (time.perf_counter() - t0) * 1000.0
    cpu_ms = (time.process_time() - c0) * 1000.0
    print(json.dumps({"ms": round(ms, 1), "cpu_ms": round(cpu_ms, 1), "width": width, "height": height,
                      "outputs": outputs}))


if __name__ == "__main__":
    main()
