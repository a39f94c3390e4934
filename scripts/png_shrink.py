#!/usr/bin/env python3
"""Rewrite a PNG (8-bit RGB or RGBA, as headless Chromium writes them) as an indexed-colour
PNG, zlib level 9, with a palette of at most 256 colours chosen to keep the error small
(see below) — lossless when there are at most 256 colours, and all but invisible for a
terminal screenshot, where the colours beyond them are antialiasing shades at glyph edges.

Used by scripts/screenshot.sh: a terminal screenshot has few colours, and Chromium's own
RGB PNG of one at 160x48 is over 500 KB.

Usage: png_shrink.py IN.png OUT.png

Standard library only.
"""

import struct
import sys
import zlib


def chunks(data):
    pos = 8
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + n]
        pos += 12 + n


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(raw, width, height, bpp):
    stride = width * bpp
    rows, prev, pos = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], up_left)) & 255
        rows.append(bytes(line))
        prev = line
    return rows


def filtered(rows, bpp):
    """Each row with the filter (none, sub, up, average, paeth) whose output has the
    smallest sum of absolute values — except for indexed images, where no filter is best."""
    out, prev = [], bytes(len(rows[0]))
    for line in rows:
        if bpp == 0:
            out.append(b"\x00" + line)
            continue
        n = len(line)
        cands = [line,
                 bytes((line[i] - (line[i - bpp] if i >= bpp else 0)) & 255 for i in range(n)),
                 bytes((line[i] - prev[i]) & 255 for i in range(n)),
                 bytes((line[i] - (((line[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 255
                       for i in range(n)),
                 bytes((line[i] - paeth(line[i - bpp] if i >= bpp else 0, prev[i],
                                        prev[i - bpp] if i >= bpp else 0)) & 255
                       for i in range(n))]
        score = [sum(b if b < 128 else 256 - b for b in c) for c in cands]
        best = score.index(min(score))
        out.append(bytes([best]) + cands[best])
        prev = line
    return b"".join(out)


def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("png_shrink.py: not a PNG: " + src)
    idat = b""
    for kind, body in chunks(data):
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit("png_shrink.py: only 8-bit RGB/RGBA, non-interlaced")
    bpp = 3 if ctype == 2 else 4
    rows = unfilter(zlib.decompress(idat), width, height, bpp)
    if bpp == 4:  # a screenshot is opaque: drop the alpha channel
        rows = [bytes(b for i, b in enumerate(r) if i % 4 != 3) for r in rows]
    counts = {}
    for r in rows:
        for i in range(0, len(r), 3):
            px = r[i:i + 3]
            counts[px] = counts.get(px, 0) + 1
    # The palette, greedily: each time the colour that costs the most as things stand (its
    # pixel count times its squared distance to the nearest colour already chosen), so the
    # frequent colours come first and a rare but distinct one (three red letters) still gets
    # in; every other colour becomes the nearest palette colour.
    colors = list(counts)
    near = [1 << 20] * len(colors)  # squared distance to the nearest chosen colour
    palette = []
    while len(palette) < min(256, len(colors)):
        best = max(range(len(colors)), key=lambda i: counts[colors[i]] * near[i])
        if near[best] == 0:
            break
        chosen = colors[best]
        palette.append(chosen)
        for i, c in enumerate(colors):
            d = sum((x - y) ** 2 for x, y in zip(c, chosen))
            if d < near[i]:
                near[i] = d
    index = {c: i for i, c in enumerate(palette)}
    for c in colors:
        if c not in index:
            index[c] = min(range(len(palette)),
                           key=lambda i: sum((x - y) ** 2 for x, y in zip(c, palette[i])))
    merged = len(counts) - len(palette)
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    indexed = [bytes(index[r[i:i + 3]] for i in range(0, len(r), 3)) for r in rows]
    body = (chunk(b"PLTE", b"".join(palette))
            + chunk(b"IDAT", zlib.compress(filtered(indexed, 0), 9)))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + body + chunk(b"IEND", b"")
    if merged:
        rare = sum(n for c, n in counts.items() if palette[index[c]] != c)
        print("png_shrink.py: %d colours; %d of them (%d of %d pixels) mapped to the nearest "
              "of a 256-colour palette" % (len(counts), merged, rare, width * height),
              file=sys.stderr)
    with open(dst, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
