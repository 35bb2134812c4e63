#!/usr/bin/env python3
"""Generates a deterministic, photo-like test image with libvips (pyvips).

Not noise and not flat colour: a sky gradient, multi-octave Perlin "terrain" with hard horizon
edges, Worley cell texture (foliage/pebbles-like detail), soft vignetting and mild sensor grain,
so JPEG/WebP sizes behave like those of a real photo.

usage: gen_photo.py WIDTH HEIGHT OUT.jpg [--progressive] [--quality Q] [--seed N]
"""
import argparse

import pyvips


def octaves(w, h, seed, cells, weights):
    acc = None
    for i, (cell, wt) in enumerate(zip(cells, weights)):
        # Low-frequency octaves are made small and upscaled: smooth anyway, and much cheaper.
        f = max(1, min(8, cell // 64))
        n = pyvips.Image.perlin((w + f - 1) // f, (h + f - 1) // f, cell_size=max(2, cell // f), seed=seed + i)
        if f > 1:
            n = n.resize(f, kernel="linear").crop(0, 0, w, h)
        acc = n * wt if acc is None else acc + n * wt
    return acc


def photo(w, h, seed):
    s = w / 4000.0  # feature sizes scale with the frame, so 12 MP and 48 MP look alike
    c = lambda v: max(4, int(v * s))
    xy = pyvips.Image.xyz(w, h)
    y = xy[1] / h
    x = xy[0] / w
    # sky: blue-ish gradient, lighter at the horizon
    sky = (70 + 120 * y).bandjoin([120 + 90 * y, 200 + 40 * y])
    # terrain height field and a ragged horizon
    ridge = octaves(w, h, seed, [c(1400), c(500), c(160), c(48)], [0.5, 0.25, 0.12, 0.06])
    horizon = (0.45 + ridge * 0.18) * h
    land_mask = (xy[1] > horizon).ifthenelse(255, 0).cast("uchar").gaussblur(0.8 * s + 0.3) / 255.0
    tex = octaves(w, h, seed + 10, [c(900), c(240), c(60), c(14)], [0.45, 0.3, 0.2, 0.12])
    cells = pyvips.Image.worley(w, h, cell_size=c(90), seed=seed + 20)
    cells = (cells / c(90)).linear(1.0, 0.0)
    grass = (60 + 70 * tex + 40 * cells).bandjoin([
        95 + 80 * tex + 30 * cells,
        40 + 45 * tex + 10 * cells,
    ])
    img = sky * (1 - land_mask) + grass * land_mask
    # clouds in the sky
    cloud = octaves(w, h, seed + 30, [c(1200), c(300), c(80)], [0.6, 0.3, 0.15])
    cloud = ((cloud * 2.2 - 0.2) > 0).ifthenelse(cloud * 2.2 - 0.2, 0) * (1 - land_mask) * (1.2 - y)
    img = img + cloud.bandjoin([cloud, cloud]) * 120
    # vignette and grain
    d2 = ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 1.2
    img = img * (1 - d2 * 0.5)
    grain = pyvips.Image.gaussnoise(w, h, sigma=3.0, mean=0, seed=seed + 40)
    img = img + grain.bandjoin([grain, grain])
    return img.cast("uchar").copy(interpretation="srgb")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("width", type=int)
    ap.add_argument("height", type=int)
    ap.add_argument("out")
    ap.add_argument("--progressive", action="store_true")
    ap.add_argument("--quality", type=int, default=92)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--orientation", type=int, default=0, help="write EXIF Orientation (1-8)")
    ap.add_argument("--p3", action="store_true", help="embed a Display P3 ICC profile (like iPhones)")
    a = ap.parse_args()
    img = photo(a.width, a.height, a.seed)
    if a.p3:
        p3 = pyvips.Image.black(8, 8, bands=3).copy(interpretation="srgb").icc_transform("p3", embedded=False)
        img = img.copy()
        img.set_type(pyvips.GValue.blob_type, "icc-profile-data", p3.get("icc-profile-data"))
    if a.orientation:
        img = img.copy()
        img.set_type(pyvips.GValue.gint_type, "orientation", a.orientation)
    strip = not (a.p3 or a.orientation)
    # 4:2:0 like phone cameras (libvips would pick 4:4:4 at Q >= 90)
    img.jpegsave(a.out, Q=a.quality, interlace=a.progressive, optimize_coding=True, strip=strip,
                 subsample_mode="on")


if __name__ == "__main__":
    main()
