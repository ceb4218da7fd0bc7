"""Render a `tmux capture-pane -e -p -N` capture (text with SGR escapes) to a PNG with Pillow.

Honours the 16 / 256 / truecolor foreground and background SGR colours, bold, dim, italic,
underline and reverse; draws the cursor as a block when its cell is given. A manual tool used by
make_screenshots.py (it needs Pillow, which is not a project dependency).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    (False, False): "DejaVuSansMono.ttf",
    (True, False): "DejaVuSansMono-Bold.ttf",
    (False, True): "DejaVuSansMono-Oblique.ttf",
    (True, True): "DejaVuSansMono-BoldOblique.ttf",
}

DEFAULT_FG = (0xD4, 0xD4, 0xD4)
DEFAULT_BG = (0x1E, 0x1E, 0x1E)
# The 16 ANSI colours (a muted xterm-like palette that reads well on the dark default).
ANSI16 = [
    (0x1E, 0x1E, 0x1E),
    (0xCD, 0x31, 0x31),
    (0x0D, 0xBC, 0x79),
    (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8),
    (0xBC, 0x3F, 0xBC),
    (0x11, 0xA8, 0xCD),
    (0xE5, 0xE5, 0xE5),
    (0x66, 0x66, 0x66),
    (0xF1, 0x4C, 0x4C),
    (0x23, 0xD1, 0x8B),
    (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA),
    (0xD6, 0x70, 0xD6),
    (0x29, 0xB8, 0xDB),
    (0xFF, 0xFF, 0xFF),
]

RGB = tuple[int, int, int]


def xterm256(n: int) -> RGB:
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        steps = (0, 95, 135, 175, 215, 255)
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    level = 8 + 10 * (n - 232)
    return level, level, level


@dataclass(frozen=True)
class Style:
    fg: RGB | None = None
    bg: RGB | None = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False


@dataclass
class Cell:
    char: str
    style: Style
    wide: bool = False


SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESC = re.compile(r"\x1b(?:\[[0-9;:?]*[A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][A-Za-z0-9])")


def _extended(params: list[int], i: int) -> tuple[RGB | None, int]:
    """Parse `5;n` or `2;r;g;b` after a 38/48; returns the colour and the next index."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return xterm256(params[i + 1]), i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        return (params[i + 1], params[i + 2], params[i + 3]), i + 4
    return None, len(params)


def apply_sgr(style: Style, text: str) -> Style:
    params = [int(p) if p else 0 for p in re.split("[;:]", text)] if text else [0]
    i = 0
    while i < len(params):
        p = params[i]
        i += 1
        if p == 0:
            style = Style()
        elif p == 1:
            style = replace(style, bold=True)
        elif p == 2:
            style = replace(style, dim=True)
        elif p == 3:
            style = replace(style, italic=True)
        elif p in (4, 21):
            style = replace(style, underline=True)
        elif p == 7:
            style = replace(style, reverse=True)
        elif p == 22:
            style = replace(style, bold=False, dim=False)
        elif p == 23:
            style = replace(style, italic=False)
        elif p == 24:
            style = replace(style, underline=False)
        elif p == 27:
            style = replace(style, reverse=False)
        elif 30 <= p <= 37:
            style = replace(style, fg=ANSI16[p - 30])
        elif 90 <= p <= 97:
            style = replace(style, fg=ANSI16[p - 90 + 8])
        elif 40 <= p <= 47:
            style = replace(style, bg=ANSI16[p - 40])
        elif 100 <= p <= 107:
            style = replace(style, bg=ANSI16[p - 100 + 8])
        elif p == 39:
            style = replace(style, fg=None)
        elif p == 49:
            style = replace(style, bg=None)
        elif p in (38, 48):
            colour, i = _extended(params, i)
            style = replace(style, fg=colour) if p == 38 else replace(style, bg=colour)
    return style


def parse(capture: str, cols: int, rows: int) -> list[list[Cell]]:
    """The screen as rows x cols cells. The style carries over line ends, as in tmux's output."""
    grid = [[Cell(" ", Style()) for _ in range(cols)] for _ in range(rows)]
    style = Style()
    for y, line in enumerate(capture.split("\n")[:rows]):
        x = 0
        pos = 0
        while pos < len(line):
            m = SGR.match(line, pos)
            if m:
                style = apply_sgr(style, m.group(1))
                pos = m.end()
                continue
            m = OTHER_ESC.match(line, pos)
            if m:
                pos = m.end()
                continue
            ch = line[pos]
            pos += 1
            if ch in "\r\x07" or x >= cols:
                continue
            if unicodedata.combining(ch) and x > 0:
                grid[y][x - 1].char += ch
                continue
            wide = unicodedata.east_asian_width(ch) in ("W", "F")
            grid[y][x] = Cell(ch, style, wide)
            x += 1
            if wide and x < cols:
                grid[y][x] = Cell("", style)
                x += 1
    return grid


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def render(
    capture: str,
    out: Path,
    *,
    cols: int,
    rows: int,
    cursor: tuple[int, int] | None = None,
    font_size: int = 16,
    default_fg: RGB = DEFAULT_FG,
    default_bg: RGB = DEFAULT_BG,
    pad: int = 12,
) -> Path:
    fonts = {key: ImageFont.truetype(str(FONT_DIR / name), font_size) for key, name in FONTS.items()}
    regular = fonts[(False, False)]
    cw = regular.getlength("M")
    ascent, descent = regular.getmetrics()
    ch = ascent + descent + 2
    width = round(cols * cw) + 2 * pad
    height = rows * ch + 2 * pad
    img = Image.new("RGB", (width, height), default_bg)
    draw = ImageDraw.Draw(img)
    grid = parse(capture, cols, rows)
    for y, row in enumerate(grid):
        top = pad + y * ch
        for x, cell in enumerate(row):
            s = cell.style
            fg, bg = s.fg or default_fg, s.bg or default_bg
            if s.reverse:
                fg, bg = bg, fg
            if cursor == (x, y):
                fg, bg = bg, fg
            if s.dim:
                fg = _mix(fg, bg, 0.4)
            left = pad + round(x * cw)
            right = pad + round((x + (2 if cell.wide else 1)) * cw)
            if bg != default_bg:
                draw.rectangle([left, top, right - 1, top + ch - 1], fill=bg)
            if cell.char.strip():
                draw.text((left, top + 1), cell.char, font=fonts[(s.bold, s.italic)], fill=fg)
            if s.underline:
                draw.line([left, top + ascent + 2, right - 1, top + ascent + 2], fill=fg)
    img.save(out, optimize=True)
    return out
