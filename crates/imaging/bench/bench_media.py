#!/usr/bin/env python3
"""Drives the media benchmark: ours (examples/bench_media) vs the libvips pipeline, one process
per run, pinned to one core with `taskset -c 0`.

Per photo it prints the best-of-N in-process time, the peak RSS of the child (getrusage
ru_maxrss via wait4), the bytes of every output side by side, and the ratios, then checks the
targets of issue 3. Runs of ours and libvips are interleaved so background load hits both alike.

Then the cost per photo at the serverless worker's container size (terraform's
serverless_worker_cpu / serverless_worker_memory defaults, or --vcpu / --memory-mb): a container
that holds one vCPU for t seconds bills vcpu*t vCPU-s and GB*t GB-s, and the free tier
(FREE_VCPU_S, FREE_GB_S a month) covers min(FREE_VCPU_S / vCPU-s, FREE_GB_S / GB-s) photos a
month (processing time only: downloads, uploads and cold starts come on top). And the profile of
the 12 MP baseline JPEG by stage (best of N per stage, CIEL_BENCH_STAGES=1).

Issue 30: the variant set is WebP only (4 sizes); --set webp+jpeg measures the set photos had
before (WebP and JPEG at each size), both pipelines producing the same set. Besides the wall time
each run reports its process's CPU time over the pipeline ("cpu"), which the load of other
processes on the shared machine does not inflate (beyond cache effects); the cost table uses it.

usage: bench_media.py OURS_BINARY PHOTO_DIR [--runs N] [--keep-outputs DIR] [--vcpu V] [--memory-mb M]
                      [--set webp|webp+jpeg]
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
# Scaleway Serverless Containers free tier, a month.
FREE_VCPU_S = 200_000
FREE_GB_S = 400_000

# (file, label, rss target MB)
PHOTOS = [
    ("12mp-baseline.jpg", "12 MP baseline", 64),
    ("12mp-progressive.jpg", "12 MP progressive", 64),
    ("48mp-baseline.jpg", "48 MP baseline", 160),
    ("48mp-progressive.jpg", "48 MP progressive", 256),
    # extra, not in the list: what phones upload (EXIF orientation 6 + Display P3). Ours
    # converts P3 -> sRGB; the reference libvips pipeline keeps P3 pixels and strips the profile.
    ("12mp-portrait-p3.jpg", "12 MP P3 portrait", 64),
    # issue 13: what iPhones upload, at iPhone-like bytes (heif-enc q50 of the baseline photo; a
    # single image: heif-enc 1.15 writes no tile grid). libheif decodes it whole.
    ("12mp.heic", "12 MP HEIC", 160),
]
TIME_TARGET = 0.80
BYTES_TOLERANCE = 0.15
ORDER = [f"{n}.{f}" for n in ("large", "medium", "small", "thumb") for f in ("webp", "jpeg")]


def container_size():
    """(vCPU, memory MB, where from) of the serverless worker: the compute module's defaults,
    which prod uses (its environment sets neither)."""
    path = os.path.join(ROOT, "terraform", "modules", "compute", "variables.tf")
    found = {}
    if os.path.exists(path):
        text = open(path).read()
        for name in ("serverless_worker_cpu", "serverless_worker_memory"):
            m = re.search(r'variable "%s" \{.*?default\s*=\s*(\d+)' % name, text, re.S)
            if m:
                found[name] = int(m.group(1))
    if len(found) == 2:
        return found["serverless_worker_cpu"] / 1000.0, found["serverless_worker_memory"], "terraform compute module"
    return 1.0, 512, "assumed"


def run(cmd, out_dir=None, env=None):
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        cmd = cmd + [out_dir]
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # wait4 gives this child's own rusage (ru_maxrss in KiB on Linux); taskset execs in place.
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.decode(errors='replace')}")
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    result["rss_mb"] = usage.ru_maxrss / 1024.0
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("photo_dir")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep-outputs")
    ap.add_argument("--vcpu", type=float, help="container vCPU (default: terraform's)")
    ap.add_argument("--memory-mb", type=int, help="container memory in MB (default: terraform's)")
    ap.add_argument("--set", choices=("webp", "webp+jpeg"), default="webp",
                    help="variant set both pipelines produce (default: webp, issue 30's)")
    a = ap.parse_args()
    env = dict(os.environ, CIEL_BENCH_SET=a.set)
    print(f"variant set: {a.set} at 2048/1080/640/320 px; load average at start "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
    vcpu, memory_mb, source = container_size()
    vcpu = a.vcpu or vcpu
    memory_mb = a.memory_mb or memory_mb
    vips = [sys.executable, os.path.join(HERE, "vips_pipeline.py")]

    verdicts = []
    costs = []
    for name, label, rss_target in PHOTOS:
        path = os.path.join(a.photo_dir, name)
        if not os.path.exists(path):
            print(f"\n== {label}: {name} missing, skipped")
            continue
        ours_runs, vips_runs = [], []
        for i in range(a.runs):
            keep = a.keep_outputs and i == 0
            ours_runs.append(run([a.ours, path], keep and os.path.join(a.keep_outputs, name, "ours"), env))
            vips_runs.append(run(vips + [path], keep and os.path.join(a.keep_outputs, name, "libvips"), env))
        o_ms = min(r["ms"] for r in ours_runs)
        v_ms = min(r["ms"] for r in vips_runs)
        o_cpu = min(r["cpu_ms"] for r in ours_runs)
        v_cpu = min(r["cpu_ms"] for r in vips_runs)
        o_rss = max(r["rss_mb"] for r in ours_runs)
        v_rss = max(r["rss_mb"] for r in vips_runs)
        o_out, v_out = ours_runs[0]["outputs"], vips_runs[0]["outputs"]
        size_mb = os.path.getsize(path) / 1e6
        print(f"\n== {label}: {name} ({ours_runs[0]['width']}x{ours_runs[0]['height']}, {size_mb:.1f} MB), "
              f"best of {a.runs}, taskset -c 0")
        print(f"{'':22}{'ours':>12}{'libvips':>12}{'ratio':>8}")
        t_ratio = o_ms / v_ms
        # The speed target is issue 3's, for JPEG and PNG; HEIC is reported against libvips only.
        time_target = None if name.endswith(".heic") else TIME_TARGET
        t_ok = time_target is None or t_ratio <= time_target
        target_text = "no target" if time_target is None else f"target <= {time_target:.2f}x  " + (
            "OK" if t_ok else "MISSED")
        print(f"{'time (ms)':22}{o_ms:>12.1f}{v_ms:>12.1f}{t_ratio:>8.2f}  {target_text}")
        print(f"{'CPU time (ms)':22}{o_cpu:>12.1f}{v_cpu:>12.1f}{o_cpu / v_cpu:>8.2f}")
        print(f"{'  all runs (ms)':22}{'':>12}{'':>12}          ours {[r['ms'] for r in ours_runs]} "
              f"libvips {[r['ms'] for r in vips_runs]}")
        r_ok = o_rss <= rss_target
        print(f"{'peak RSS (MB)':22}{o_rss:>12.1f}{v_rss:>12.1f}{o_rss / v_rss:>8.2f}  target <= {rss_target} MB  "
              f"{'OK' if r_ok else 'MISSED'}")
        print(f"{'  probe() estimate':22}{ours_runs[0].get('estimate_mb', 0):>12.1f}")
        b_ok = True
        total_o = total_v = 0
        for key in ORDER:
            if key not in o_out and key not in v_out:
                continue
            ob, vb = o_out.get(key, 0), v_out.get(key, 0)
            total_o += ob
            total_v += vb
            ratio = ob / vb if vb else float("inf")
            ok = abs(ratio - 1.0) <= BYTES_TOLERANCE
            b_ok &= ok
            print(f"{key + ' (bytes)':22}{ob:>12}{vb:>12}{ratio:>8.3f}  {'' if ok else 'OUTSIDE +-15%'}")
        print(f"{'all outputs (bytes)':22}{total_o:>12}{total_v:>12}{total_o / total_v:>8.3f}")
        verdicts.append((label, t_ratio, t_ok, o_rss, rss_target, r_ok, b_ok))
        costs.append((label, o_cpu, v_cpu, total_o, total_v))

    print(f"\n== cost per photo at the serverless worker's size: {vcpu:g} vCPU, {memory_mb} MB ({source}); "
          f"free tier {FREE_VCPU_S:,} vCPU-s + {FREE_GB_S:,} GB-s a month; processing CPU time only "
          f"(best of {a.runs}), bytes stored = all variants")
    print(f"{'':22}{'cpu ms':>8}{'vCPU-s':>9}{'GB-s':>9}{'photos/month free':>19}{'  bytes stored':>14}"
          f"{'  libvips cpu ms':>16}{'photos/month':>14}{'  bytes stored':>14}")
    gb = memory_mb / 1024.0
    for label, o_ms, v_ms, o_bytes, v_bytes in costs:
        per = []
        for ms in (o_ms, v_ms):
            # one photo at a time per vCPU, single-threaded: the container is billed for its whole
            # size while the photo runs
            seconds = ms / 1000.0
            vcpu_s, gb_s = vcpu * seconds, gb * seconds
            per.append((vcpu_s, gb_s, int(min(FREE_VCPU_S / vcpu_s, FREE_GB_S / gb_s))))
        (vs, gs, n), (_, _, vn) = per
        print(f"{label:22}{o_ms:>8.0f}{vs:>9.3f}{gs:>9.3f}{n:>19,}{o_bytes:>14,}{v_ms:>16.0f}{vn:>14,}{v_bytes:>14,}")
    print(f"  1,000,000 photos a month need <= {FREE_VCPU_S / 1e6 / vcpu * 1000:.0f} ms a photo on {vcpu:g} vCPU")

    stages_of = os.path.join(a.photo_dir, "12mp-baseline.jpg")
    env = dict(env, CIEL_BENCH_STAGES="1")
    best = {}
    order = []
    totals = []
    for _ in range(a.runs):
        r = run([a.ours, stages_of], env=env)
        totals.append(r["ms"])
        for stage, ms in r.get("stages", []):
            if stage not in best:
                order.append(stage)
            best[stage] = min(ms, best.get(stage, ms))
    if order:
        print(f"\n== profile: 12 MP baseline JPEG by stage (best of {a.runs} per stage, taskset -c 0; "
              f"whole call best {min(totals):.1f} ms)")
        total = sum(best.values())
        for stage in order:
            print(f"{stage:22}{best[stage]:>9.1f} ms {100 * best[stage] / total:>5.1f} %")
        print(f"{'sum of stages':22}{total:>9.1f} ms")

    print("\n== targets")
    all_ok = True
    for label, t_ratio, t_ok, o_rss, rss_target, r_ok, b_ok in verdicts:
        all_ok &= t_ok and r_ok and b_ok
        print(f"{label:20} time {t_ratio:.2f}x {'OK' if t_ok else 'MISSED'}   "
              f"RSS {o_rss:.0f}/{rss_target} MB {'OK' if r_ok else 'MISSED'}   "
              f"bytes within +-15% {'OK' if b_ok else 'MISSED'}")
    print("all targets met" if all_ok else "some targets missed")


if __name__ == "__main__":
    main()
