#!/usr/bin/env python3
"""Writes the small binary images of the bad-input catalogue and the image fuzz seeds, with the
standard library only (PNG through zlib; JPEG by a minimal baseline encoder), so every byte is
explained here. Run from anywhere: python3 tests/data/bad/gen_images.py. The outputs are
committed; rerun only to change them.

Pixel values, which tests/test_scene.c checks: every image is 4x3, and v(x, y) = 10*x + 60*y.
  png_variants/grey1.png      1-bit grey: 255 where (x + y) is odd, else 0
  png_variants/grey8.png      8-bit grey v
  png_variants/grey16.png     16-bit grey (v << 8) | 0x7f        -> 8-bit v (stb keeps the high byte)
  png_variants/grey_alpha.png 8-bit grey v, alpha 255 - v
  png_variants/rgb16.png      16-bit RGB (v, 255 - v, 0x12) << 8 -> 8-bit (v, 255 - v, 0x12)
  png_variants/palette.png    palette [red, green, blue, white], index (x + y) % 4
  png_variants/palette_trns.png  the same with a tRNS chunk: white (index 3) transparent
  png_variants/rgba.png       8-bit RGBA (v, 2v, 255 - v, 128)
  png_variants/grey.jpg       16x16 baseline grey JPEG, four flat 8x8 blocks of 40, 90, 160, 220
                              (top left, top right, bottom left, bottom right)
  png_variants/progressive.jpg  the same image as a progressive JPEG (a DC scan, then an AC scan)
  ../../fuzz/regressions/image/jpeg_scan_without_huffman_tables.jpg  grey.jpg without its tables
  ../../fuzz/regressions/image/jpeg_progressive_ac_table_after_scan.jpg  progressive.jpg with the
                              AC table after the scan that needs it
  truncated_jpeg/train/r_0.jpg  grey.jpg cut in the middle of its scan data (no end marker)
  jpeg_headers_only/train/r_0.jpg  grey.jpg cut right after its frame header (SOF0)
  size_mismatch/train/r_0.png, shared_focal_sizes/train/{a,b}.png, per_frame_sizes/train/{a,b}.png,
  overflow_position/train/r_0.png, no_transforms/images/r_0.png:
                              8-bit RGB images of the sizes those cases need (4x3, b.png 8x6)
  ../../fuzz/corpus/image/*.bmp, *.tga, *.ppm, *.pgm: fuzz seeds in the other formats (4x3)
"""
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "..", "..", "fuzz", "corpus", "image")
W, H = 4, 3


def v(x, y):
    return 10 * x + 60 * y


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width, height, depth, colour, rows, extra=b""):
    """rows: one bytes object per row, already packed; filter type 0 on every row."""
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)) +
            extra + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def rgb_png(w, h, seed=0):
    return png(w, h, 8, 2, [bytes((x * 20 + seed) & 255 for x in range(w) for _ in range(3)) for _ in range(h)])


def variants():
    out = {}
    rows1 = []
    for y in range(H):
        bits = 0
        for x in range(W):
            bits |= ((x + y) % 2) << (7 - x)
        rows1.append(bytes([bits]))
    out["grey1.png"] = png(W, H, 1, 0, rows1)
    out["grey8.png"] = png(W, H, 8, 0, [bytes(v(x, y) for x in range(W)) for y in range(H)])
    out["grey16.png"] = png(W, H, 16, 0, [b"".join(struct.pack(">H", v(x, y) << 8 | 0x7F) for x in range(W))
                                           for y in range(H)])
    out["grey_alpha.png"] = png(W, H, 8, 4, [bytes(c for x in range(W) for c in (v(x, y), 255 - v(x, y)))
                                             for y in range(H)])
    out["rgb16.png"] = png(W, H, 16, 2, [b"".join(struct.pack(">HHH", v(x, y) << 8, (255 - v(x, y)) << 8, 0x1234)
                                                  for x in range(W)) for y in range(H)])
    plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]))
    idx = [bytes((x + y) % 4 for x in range(W)) for y in range(H)]
    out["palette.png"] = png(W, H, 8, 3, idx, plte)
    out["palette_trns.png"] = png(W, H, 8, 3, idx, plte + chunk(b"tRNS", bytes([255, 255, 255, 0])))
    out["rgba.png"] = png(W, H, 8, 6, [bytes(c for x in range(W) for c in (v(x, y), 2 * v(x, y) % 256, 255 - v(x, y), 128))
                                       for y in range(H)])
    return out


class Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, n):
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc = self.n = 0

    def flush(self):
        while self.n:
            self.put(1, 1)
        return bytes(self.out)


def jpeg_grey(blocks, progressive=False, ac_table_last=False, tables=True):
    """A 16x16 greyscale JPEG of four flat 8x8 blocks: DC coefficients only, quantiser 1, a DC
    Huffman table with 4-bit codes for categories 0..11 and an AC table holding only EOB.

    Baseline (SOF0): both tables, then one scan. Progressive (SOF2): the DC table, a DC scan
    (Ss = Se = 0), then the AC table and an AC scan (Ss = 1, Se = 63) of one EOB per block: each table
    defined just before the first scan that needs it, as progressive encoders do. ac_table_last puts
    the AC table after the AC scan instead; tables=False leaves both out (the two are broken files:
    a scan naming a Huffman table nothing has defined)."""
    def seg(marker, data):
        return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data
    dht_dc = seg(0xC4, b"\x00" + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12)))
    dht_ac = seg(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    if not tables:
        dht_dc = dht_ac = b""

    def dc_bits():
        bits = Bits()
        pred = 0
        for p in blocks:
            dc = 8 * (p - 128)  # a flat block's DC coefficient with the JPEG DCT's scaling
            d = dc - pred
            pred = dc
            s = abs(d).bit_length()
            bits.put(s, 4)
            if s:
                bits.put(d if d > 0 else d + (1 << s) - 1, s)
            if not progressive:
                bits.put(0, 1)  # EOB
        return bits.flush()

    out = b"\xff\xd8"
    out += seg(0xDB, b"\x00" + bytes([1] * 64))
    out += seg(0xC2 if progressive else 0xC0, struct.pack(">BHHB", 8, 16, 16, 1) + bytes([1, 0x11, 0]))
    if not progressive:
        return out + dht_dc + dht_ac + seg(0xDA, bytes([1, 1, 0x00, 0, 63, 0])) + dc_bits() + b"\xff\xd9"
    out += dht_dc + seg(0xDA, bytes([1, 1, 0x00, 0, 0, 0])) + dc_bits()
    ac_scan = seg(0xDA, bytes([1, 1, 0x00, 1, 63, 0]))
    eobs = Bits()
    for _ in blocks:
        eobs.put(0, 1)  # EOB: an end-of-band run of 1
    ac_scan += eobs.flush()
    out += ac_scan + dht_ac if ac_table_last else dht_ac + ac_scan
    return out + b"\xff\xd9"


def other_format_seeds():
    """Fuzz seeds for the other formats stb_impl.c compiles, 4x3 each: BMP (24-bit, 32-bit with
    bit fields, 8-bit palette), TGA (24-bit, run-length 32-bit, colour-mapped), PNM (P6, P5)."""
    px = [(v(x, y), 255 - 10 * x, 7) for y in range(H) for x in range(W)]

    def bmp(bits, compression, extra, pixels, colours=0):
        info = struct.pack("<IiiHHIIiiII", 40, W, H, 1, bits, compression, len(pixels), 2835, 2835, colours, 0)
        offset = 14 + len(info) + len(extra)
        return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + extra + pixels

    rows = reversed(range(H))  # BMP stores rows bottom up, each padded to 4 bytes
    rgb24 = b"".join(b"".join(bytes([b, g, r]) for r, g, b in px[y * W:(y + 1) * W]) for y in rows)
    rgba32 = b"".join(bytes([b, g, r, 128]) for y in reversed(range(H)) for r, g, b in px[y * W:(y + 1) * W])
    pal8 = bytes(v(x, y) for y in reversed(range(H)) for x in range(W))

    def tga(kind, cmap, bits, descriptor, body):
        first, length, depth = cmap
        return struct.pack("<BBBHHBHHHHBB", 0, 1 if length else 0, kind, first, length, depth, 0, 0, W, H, bits,
                           descriptor) + body

    return {
        "rgb24.bmp": bmp(24, 0, b"", rgb24),
        "rgba32.bmp": bmp(32, 3, struct.pack("<III", 0xFF0000, 0xFF00, 0xFF), rgba32),
        "pal8.bmp": bmp(8, 0, b"".join(bytes([i, i, i, 0]) for i in range(256)), pal8, 256),
        "rgb24.tga": tga(2, (0, 0, 0), 24, 0, b"".join(bytes([b, g, r]) for r, g, b in px)),
        "rle32.tga": tga(10, (0, 0, 0), 32, 8, b"".join(bytes([0, b, g, r, 200]) for r, g, b in px)),
        "cmap.tga": tga(1, (0, 4, 24), 8, 0, bytes([0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255])
                        + bytes((x + y) % 4 for y in range(H) for x in range(W))),
        "rgb.ppm": b"P6\n4 3\n255\n" + b"".join(bytes(p) for p in px),
        "grey.pgm": b"P5\n# a comment\n4 3\n255\n" + bytes(p[0] for p in px),
    }


def main():
    for name, data in variants().items():
        write(os.path.join("png_variants", name), data)
    jpg = jpeg_grey([40, 90, 160, 220])
    write("png_variants/grey.jpg", jpg)
    blocks = [40, 90, 160, 220]
    write("png_variants/progressive.jpg", jpeg_grey(blocks, progressive=True))
    # Scans naming Huffman tables never defined: stb 2.27 decoded them with uninitialised memory
    # (fuzz_image found it; tests/fuzz/README.md says how to replay it against an unguarded stb).
    regress = os.path.join(HERE, "..", "..", "fuzz", "regressions", "image")
    with open(os.path.join(regress, "jpeg_scan_without_huffman_tables.jpg"), "wb") as f:
        f.write(jpeg_grey(blocks, tables=False))
    with open(os.path.join(regress, "jpeg_progressive_ac_table_after_scan.jpg"), "wb") as f:
        f.write(jpeg_grey(blocks, progressive=True, ac_table_last=True))
    write("truncated_jpeg/train/r_0.jpg", jpg[:len(jpg) - 4])
    sof_end = jpg.index(b"\xff\xc0") + 2 + 11
    write("jpeg_headers_only/train/r_0.jpg", jpg[:sof_end])
    write("size_mismatch/train/r_0.png", rgb_png(4, 3))
    write("shared_focal_sizes/train/a.png", rgb_png(4, 3))
    write("shared_focal_sizes/train/b.png", rgb_png(8, 6, 7))
    write("per_frame_sizes/train/a.png", rgb_png(4, 3))
    write("per_frame_sizes/train/b.png", rgb_png(8, 6, 7))
    write("overflow_position/train/r_0.png", rgb_png(4, 3))
    write("no_transforms/images/r_0.png", rgb_png(4, 3))
    # Seeds for fuzz_image: every variant, and the truncated JPEG.
    os.makedirs(FUZZ, exist_ok=True)
    for name in sorted(os.listdir(os.path.join(HERE, "png_variants"))):
        if name.endswith((".png", ".jpg")):
            shutil.copy(os.path.join(HERE, "png_variants", name), os.path.join(FUZZ, name))
    shutil.copy(os.path.join(HERE, "truncated_jpeg/train/r_0.jpg"), os.path.join(FUZZ, "truncated.jpg"))
    for name, data in other_format_seeds().items():
        with open(os.path.join(FUZZ, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
