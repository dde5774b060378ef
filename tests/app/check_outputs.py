#!/usr/bin/env python3
"""check_outputs.py: independent checks of what instant-ngp writes (tests/app/outputs.sh), with
Python's standard library only: a PNG decoder of its own (zlib + the five row filters), the test
PSNR in the NeRF literature's convention computed here from the files, PFM headers, the log
and metrics files, the SVG plot.

  check_outputs.py psnr TRANSFORMS SHOTS_DIR METRICS_JSON R,G,B STDOUT_FILE
  check_outputs.py magic FILE png|jpeg|png16|pfm1|pfm3
  check_outputs.py log FILE.csv|FILE.jsonl
  check_outputs.py svg FILE.svg N_POINTS
"""
import json
import math
import os
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def read_png(path):
    """Returns (width, height, channels, bit_depth, rows) with rows a list of lists of samples."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(path + ": not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if interlace:
        fail(path + ": interlaced PNG")
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp = channels * depth // 8
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        prev = line
        if depth == 16:
            rows.append([line[2 * i] << 8 | line[2 * i + 1] for i in range(w * channels)])
        else:
            rows.append(list(line))
    return w, h, channels, depth, rows


def psnr_check(transforms, shots, metrics_path, bg_text, stdout_path):
    bg = [float(v) for v in bg_text.split(",")]
    frames = json.load(open(transforms))["frames"]
    base = os.path.dirname(transforms)
    psnrs = []
    for fr in frames:
        gt_path = os.path.join(base, fr["file_path"])
        if not os.path.splitext(gt_path)[1]:
            gt_path += ".png"
        w, h, c, _, gt = read_png(gt_path)
        w2, h2, c2, _, rd = read_png(os.path.join(shots, os.path.basename(gt_path)))
        if (w, h) != (w2, h2) or c != 4:
            fail("%s: size or channels differ from the screenshot" % gt_path)
        se = 0.0
        for y in range(h):
            for x in range(w):
                r, g, b, a = gt[y][4 * x:4 * x + 4]
                alpha = a / 255.0
                for k, v in enumerate((r, g, b)):
                    ref = v / 255.0 * alpha + bg[k] * (1.0 - alpha)  # sRGB compositing on 8-bit values
                    out = rd[y][c2 * x + k] / 255.0                   # the render as saved
                    se += (out - ref) ** 2
        mse = se / (w * h * 3)
        psnrs.append(-10.0 * math.log10(mse))
    mean = sum(psnrs) / len(psnrs)
    m = json.load(open(metrics_path))
    if m["n_views"] != len(frames) or len(m["views"]) != len(frames):
        fail("metrics: %d views, expected %d" % (m["n_views"], len(frames)))
    for i, (v, p) in enumerate(zip(m["views"], psnrs)):
        if abs(v["psnr"] - p) > 5e-4:
            fail("view %d: the program says PSNR %.5f, computed here %.5f" % (i, v["psnr"], p))
        if not (0.0 < v["ssim"] <= 1.0):
            fail("view %d: SSIM %r out of (0, 1]" % (i, v["ssim"]))
    if abs(m["psnr_mean"] - mean) > 5e-4:
        fail("mean PSNR: the program says %.5f, computed here %.5f" % (m["psnr_mean"], mean))
    printed = re.search(r"PSNR=([0-9.]+)", open(stdout_path).read())
    if not printed or abs(float(printed.group(1)) - mean) > 1e-3:  # printed with 3 decimals
        fail("printed PSNR %s, computed here %.5f" % (printed and printed.group(1), mean))
    print("psnr: ok: %d views, mean %.4f dB computed independently, program %.4f" % (len(psnrs), mean, m["psnr_mean"]))


def magic_check(path, kind):
    data = open(path, "rb").read()
    if kind == "jpeg":
        ok = data[:3] == b"\xff\xd8\xff"
    elif kind in ("png", "png16"):
        ok = data[:8] == b"\x89PNG\r\n\x1a\n"
        if ok:
            _, _, _, depth, _ = read_png(path)
            ok = depth == (16 if kind == "png16" else 8)
    else:
        want = b"Pf\n" if kind == "pfm1" else b"PF\n"
        ok = data[:3] == want
        if ok:
            head = data.split(b"\n", 3)
            w, h = (int(v) for v in head[1].split())
            ok = float(head[2]) < 0 and len(head[3]) == w * h * 4 * (1 if kind == "pfm1" else 3)
    if not ok:
        fail("%s: not a %s file (starts %r)" % (path, kind, data[:8]))
    print("magic: ok: %s is %s" % (path, kind))


COLUMNS = ["step", "seconds", "loss", "psnr", "rays", "samples", "samples_per_s", "learning_rate", "skipped"]


def log_check(path):
    lines = open(path).read().splitlines()
    if path.endswith(".csv"):
        if lines[0].split(",") != COLUMNS:
            fail("%s: header %r" % (path, lines[0]))
        rows = [dict(zip(COLUMNS, l.split(","))) for l in lines[1:]]
    else:
        rows = [json.loads(l) for l in lines]
        for r in rows:
            if sorted(r) != sorted(COLUMNS):
                fail("%s: keys %r" % (path, sorted(r)))
    if not rows:
        fail(path + ": no rows")
    steps = [int(r["step"]) for r in rows]
    if steps != sorted(steps) or steps[-1] < 1:
        fail("%s: steps %r" % (path, steps))
    for r in rows:
        if not (float(r["loss"]) > 0 and float(r["samples"]) > 0 and float(r["learning_rate"]) > 0):
            fail("%s: row %r" % (path, r))
    print("log: ok: %s, %d rows, last step %d" % (path, len(rows), steps[-1]))


def svg_check(path, n):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(".//%scircle" % ns)
    lines = root.findall(".//%spolyline" % ns)
    if len(circles) != n or len(lines) != 1 or len(lines[0].get("points").split()) != n:
        fail("%s: %d points, %d lines; expected %d points on one line" % (path, len(circles), len(lines), n))
    print("svg: ok: %s, %d points" % (path, n))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "psnr":
        psnr_check(*sys.argv[2:7])
    elif cmd == "magic":
        magic_check(sys.argv[2], sys.argv[3])
    elif cmd == "log":
        log_check(sys.argv[2])
    elif cmd == "svg":
        svg_check(sys.argv[2], int(sys.argv[3]))
    else:
        fail("unknown command " + cmd)
