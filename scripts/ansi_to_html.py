#!/usr/bin/env python3
"""Turn a terminal capture with ANSI colours (`tmux capture-pane -e -p`) into one
self-contained HTML page that looks like the terminal: a fixed grid of COLS x ROWS cells,
dark background, the Tango palette (GNOME Terminal's), DejaVu Sans Mono.

Used by scripts/screenshot.sh, which renders the page to PNG with headless Chromium; the
page also measures itself (see `measure` below) so that the script can size the window to
the grid exactly.

SGR handled: reset, bold, dim, italic, underline (4, 4:n, 21), blink (ignored), reversed,
hidden, strikethrough and their resets; foreground/background in the 16 colours (30-37,
90-97, 40-47, 100-107), 256 colours (38;5;n / 48;5;n) and truecolor (38;2;r;g;b /
48;2;r;g;b, and the colon forms 38:2::r:g:b); underline colour (58/59) is read and ignored.
Other escape sequences (cursor movement, OSC) are dropped.

The cells are whole pixels: --cell-width W picks the font size at which DejaVu Sans Mono's
advance (1233/2048 em) is exactly W px, and the row height is that font size rounded to a
pixel (line-height 1, to within a few percent), so that block characters meet without
antialiased seams between cells and box-drawing lines are equally sharp on every row. The
font's glyph box (1.16 em) is taller than a row, so full blocks and vertical lines overlap
their neighbours slightly and always touch.

Usage: ansi_to_html.py [--cols 160] [--rows 48] [--cell-width 9] [--pad 10] [--title T]
                       < capture.ansi > page.html

Standard library only.
"""

import argparse
import html
import re
import sys

# Tango (GNOME Terminal's "Tango" palette): 0-7 normal, 8-15 bright.
PALETTE16 = [
    "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
    "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
]
DEFAULT_FG = "#d3d7cf"
DEFAULT_BG = "#1c1f20"
# How much of the foreground a dim (SGR 2) cell keeps; the rest is the background.
DIM_KEEP = 0.62


def color256(n):
    """The xterm 256-colour table: the 16 above, a 6x6x6 cube, 24 greys."""
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        r, g, b = levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
        return "#%02x%02x%02x" % (r, g, b)
    v = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (v, v, v)


def mix(fg, bg, keep):
    """`keep` of fg over bg (both #rrggbb)."""
    f = [int(fg[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(bg[i:i + 2], 16) for i in (1, 3, 5)]
    return "#%02x%02x%02x" % tuple(round(x * keep + y * (1 - keep)) for x, y in zip(f, b))


class Pen:
    """The SGR state."""

    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse", "hidden",
                 "strike")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None  # None = default, else "#rrggbb"
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.hidden = self.strike = False

    def key(self):
        return tuple(getattr(self, s) for s in self.__slots__)


def extended_color(params, i):
    """Reads 38/48/58's colour starting at params[i] (the 38 itself); returns
    (colour or None, index of the next parameter)."""
    head = params[i]
    if ":" in head:  # colon form, all in one parameter: 38:5:n, 38:2:r:g:b, 38:2::r:g:b
        sub = head.split(":")
        try:
            if sub[1] == "5":
                return color256(int(sub[2]) % 256), i + 1
            if sub[1] == "2":
                rgb = [int(x or 0) for x in sub[2:]][-3:]
                return "#%02x%02x%02x" % tuple(min(255, v) for v in rgb), i + 1
        except (IndexError, ValueError):
            pass
        return None, i + 1
    try:
        if params[i + 1] == "5":
            return color256(int(params[i + 2]) % 256), i + 3
        if params[i + 1] == "2":
            rgb = [min(255, int(params[i + k] or 0)) for k in (2, 3, 4)]
            return "#%02x%02x%02x" % tuple(rgb), i + 5
    except (IndexError, ValueError):
        pass
    return None, len(params)


def apply_sgr(pen, text):
    params = text.split(";") if text else ["0"]
    i = 0
    while i < len(params):
        p = params[i]
        base = p.split(":")[0]
        n = int(base) if base.isdigit() else 0
        if n in (38, 48, 58):
            c, i = extended_color(params, i)
            if c is not None and n == 38:
                pen.fg = c
            elif c is not None and n == 48:
                pen.bg = c
            continue
        if n == 0:
            pen.reset()
        elif n == 1:
            pen.bold = True
        elif n == 2:
            pen.dim = True
        elif n == 3:
            pen.italic = True
        elif n == 4:
            pen.underline = p != "4:0"
        elif n == 7:
            pen.reverse = True
        elif n == 8:
            pen.hidden = True
        elif n == 9:
            pen.strike = True
        elif n == 21:
            pen.underline = True
        elif n == 22:
            pen.bold = pen.dim = False
        elif n == 23:
            pen.italic = False
        elif n == 24:
            pen.underline = False
        elif n == 27:
            pen.reverse = False
        elif n == 28:
            pen.hidden = False
        elif n == 29:
            pen.strike = False
        elif 30 <= n <= 37:
            pen.fg = PALETTE16[n - 30]
        elif n == 39:
            pen.fg = None
        elif 40 <= n <= 47:
            pen.bg = PALETTE16[n - 40]
        elif n == 49:
            pen.bg = None
        elif 90 <= n <= 97:
            pen.fg = PALETTE16[n - 90 + 8]
        elif 100 <= n <= 107:
            pen.bg = PALETTE16[n - 100 + 8]
        # 5, 6 (blink), 53 (overline), 59 and anything else: ignored.
        i += 1


# CSI ... final byte, OSC ... BEL/ST, other two-byte escapes.
ESCAPE = re.compile(r"\x1b(?:\[([0-9;:?<=>]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def parse(capture, cols, rows):
    """The grid: `rows` lists of `cols` (char, pen key) cells."""
    pen = Pen()
    blank = (" ", Pen().key())
    grid = []
    for line in capture.split("\n")[:rows]:
        cells = []
        pos = 0
        for m in ESCAPE.finditer(line):
            for ch in line[pos:m.start()]:
                if ch >= " ":
                    cells.append((ch, pen.key()))
            if m.group(2) == "m":
                apply_sgr(pen, m.group(1))
            pos = m.end()
        for ch in line[pos:]:
            if ch >= " ":
                cells.append((ch, pen.key()))
        # tmux trims trailing blanks; the rest of the row is blank in the default colours.
        cells = cells[:cols]
        cells += [blank] * (cols - len(cells))
        grid.append(cells)
    while len(grid) < rows:
        grid.append([blank] * cols)
    return grid


# Block elements (U+2580-U+259F: the sparklines' ▁▂▃▄▅▆▇█): the font's full block is a
# hair narrower than its advance, which leaves a faint seam between two blocks; a copy
# half a pixel to the right closes it.
BLOCKS = ("\u2580", "\u259f")


def css_of(key):
    fg, bg, bold, dim, italic, underline, reverse, hidden, strike, block = key
    fg = fg or DEFAULT_FG
    bg_set = bg is not None
    bg = bg or DEFAULT_BG
    if reverse:
        fg, bg, bg_set = bg, fg, True
    if dim:
        fg = mix(fg, bg, DIM_KEEP)
    if hidden:
        fg = bg
    rules = []
    if fg != DEFAULT_FG:
        rules.append("color:" + fg)
    if bg_set:
        # An inline block exactly one cell high, so the background fills the cell and never
        # spills into the rows above and below (the font's own box is taller than 1em).
        rules.append("background:%s;display:inline-block;height:var(--lh)" % bg)
    if bold:
        rules.append("font-weight:bold")
    if italic:
        rules.append("font-style:italic")
    if block:
        rules.append("text-shadow:.5px 0 currentColor")
    deco = [d for d, on in (("underline", underline), ("line-through", strike)) if on]
    if deco:
        rules.append("text-decoration:" + " ".join(deco))
    return ";".join(rules)


# DejaVu Sans Mono's advance width, in em.
ADVANCE = 1233 / 2048


def cell_metrics(cell_width):
    """(font size, row height) in px for cells `cell_width` px wide."""
    font_size = cell_width / ADVANCE
    return font_size, round(font_size)


def render(grid, cols, rows, cell_width, pad, title):
    classes = {}
    body = []
    for cells in grid:
        out = []
        run_key, run = None, []
        for ch, key in cells + [(None, None)]:
            if ch is not None:
                key = key + (BLOCKS[0] <= ch <= BLOCKS[1],)
            if key != run_key and run:
                css = css_of(run_key)
                text = html.escape("".join(run), quote=False)
                if css:
                    name = classes.setdefault(css, "s%d" % len(classes))
                    out.append('<span class="%s">%s</span>' % (name, text))
                else:
                    out.append(text)
                run = []
            run_key = key
            if ch is not None:
                run.append(ch)
        body.append("<div>%s</div>" % "".join(out))
    style_rules = "\n".join(".%s{%s}" % (n, c) for c, n in classes.items())
    font_size, lh = cell_metrics(cell_width)
    return """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
:root{{--lh:{lh}px}}
html,body{{margin:0;padding:0;background:{bg};overflow:hidden}}
#term{{display:inline-block;padding:{pad}px;background:{bg};color:{fg};
  font-family:"DejaVu Sans Mono",monospace;font-size:{fs}px;line-height:var(--lh);
  white-space:pre;font-variant-ligatures:none;font-kerning:none;
  -webkit-font-smoothing:antialiased;text-rendering:optimizeSpeed}}
#term>div{{height:var(--lh);overflow:visible}}
{rules}
</style></head>
<body><div id="term" data-cols="{cols}" data-rows="{rows}">{body}</div>
<script>
// For screenshot.sh's first Chromium pass (--dump-dom): the grid's size in CSS pixels,
// once the font is in, so that the window can be sized to it exactly.
document.fonts.ready.then(function () {{
  var r = document.getElementById("term").getBoundingClientRect();
  document.body.setAttribute("data-size", Math.ceil(r.width) + "x" + Math.ceil(r.height));
}});
</script>
</body></html>
""".format(title=html.escape(title), lh=lh, bg=DEFAULT_BG, fg=DEFAULT_FG, pad=pad,
           fs="%.4f" % font_size, rules=style_rules, cols=cols, rows=rows, body="".join(body))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=48)
    ap.add_argument("--cell-width", type=int, default=9)
    ap.add_argument("--pad", type=int, default=10)
    ap.add_argument("--title", default="terminal")
    ap.add_argument("--size", action="store_true",
                    help="print the page's size in px (WxH) instead of the page")
    a = ap.parse_args()
    capture = b"" if a.size else sys.stdin.buffer.read()
    capture = capture.decode("utf-8", errors="replace").replace("\r", "")
    grid = parse(capture, a.cols, a.rows)
    if a.size:
        # What the page measures itself to be, without a browser (screenshot.sh's fallback).
        _, lh = cell_metrics(a.cell_width)
        print("%dx%d" % (a.cols * a.cell_width + 2 * a.pad, a.rows * lh + 2 * a.pad))
        return
    sys.stdout.write(render(grid, a.cols, a.rows, a.cell_width, a.pad, a.title))


if __name__ == "__main__":
    main()
