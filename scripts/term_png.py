"""A terminal screen captured with `tmux capture-pane -e` (text with SGR escapes) to a PNG: rendered
as HTML cells, photographed by the system Chromium. Used by scripts/e2e_nvim.py for the Neovim
screenshot; no imaging library needed."""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

FONT_PX = 14
LINE_PX = 17
ADVANCE = 0.602  # DejaVu Sans Mono's advance width, in em
BACKGROUND = "#14161b"  # Neovim's default dark Normal background (NvimDarkGrey2)
FOREGROUND = "#e0e2ea"
BASE16 = ["#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
          "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff"]
SGR = re.compile(r"\x1b\[([0-9;:]*)m")


def xterm256(n: int) -> str:
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    grey = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (grey, grey, grey)


@dataclass(frozen=True)
class Style:
    fg: str | None = None
    bg: str | None = None
    bold: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False

    def css(self) -> str:
        fg, bg = (self.bg or BACKGROUND, self.fg or FOREGROUND) if self.reverse else (self.fg, self.bg)
        rules = [f"color:{fg}" if fg else "", f"background:{bg}" if bg else "",
                 "font-weight:bold" if self.bold else "", "font-style:italic" if self.italic else "",
                 "text-decoration:underline" if self.underline else ""]
        return ";".join(r for r in rules if r)


def _color(params: list[str], i: int) -> tuple[str | None, int]:
    """An extended colour at params[i:] (`5;n` or `2;r;g;b`), and how many parameters it took."""
    if i < len(params) and params[i] == "5" and i + 1 < len(params):
        return xterm256(int(params[i + 1] or 0)), 2
    if i < len(params) and params[i] == "2" and i + 3 < len(params):
        r, g, b = (int(x or 0) for x in params[i + 1:i + 4])
        return f"#{r:02x}{g:02x}{b:02x}", 4
    return None, 0


def apply(style: Style, code: str) -> Style:
    """`style` after one SGR sequence's parameters (sub-parameters after ':' are dropped)."""
    params = [p.split(":")[0] for p in code.split(";")] if code else ["0"]
    i = 0
    while i < len(params):
        p = int(params[i] or 0)
        if p == 0:
            style = Style()
        elif p in (1, 3, 4, 7):
            style = replace(style, **{{1: "bold", 3: "italic", 4: "underline", 7: "reverse"}[p]: True})
        elif p in (22, 23, 24, 27):
            style = replace(style, **{{22: "bold", 23: "italic", 24: "underline", 27: "reverse"}[p]: False})
        elif 30 <= p <= 37 or 90 <= p <= 97:
            style = replace(style, fg=BASE16[p - 30 if p < 90 else p - 82])
        elif 40 <= p <= 47 or 100 <= p <= 107:
            style = replace(style, bg=BASE16[p - 40 if p < 100 else p - 92])
        elif p in (38, 48, 58):
            color, used = _color(params, i + 1)
            i += used
            style = replace(style, **{"fg" if p == 38 else "bg": color}) if p != 58 else style
        elif p == 39:
            style = replace(style, fg=None)
        elif p == 49:
            style = replace(style, bg=None)
        i += 1
    return style


def to_html(screen: str, cols: int) -> str:
    style = Style()
    out: list[str] = []
    for line in screen.split("\n"):
        pos = 0
        for m in SGR.finditer(line):
            out.append(_span(line[pos:m.start()], style))
            style = apply(style, m[1])
            pos = m.end()
        out.append(_span(line[pos:], style) + "\n")
    body = "".join(out)
    return (f"<!doctype html><meta charset=utf-8><style>body{{margin:0;background:{BACKGROUND}}}"
            f"pre{{margin:8px;font:{FONT_PX}px/{LINE_PX}px 'DejaVu Sans Mono',monospace;color:{FOREGROUND};"
            f"width:{cols}ch}}</style><pre>{body}</pre>")


def _span(text: str, style: Style) -> str:
    if not text:
        return ""
    css = style.css()
    return f'<span style="{css}">{html.escape(text)}</span>' if css else html.escape(text)


def screenshot(screen: str, cols: int, rows: int, png: Path, chromium: str) -> None:
    """Renders `screen` (cols x rows cells) into `png` with headless Chromium."""
    width = int(cols * FONT_PX * ADVANCE) + 17
    height = rows * LINE_PX + 16
    with tempfile.TemporaryDirectory(prefix="rca-term-png.") as tmp:
        page = Path(tmp) / "screen.html"
        page.write_text(to_html(screen, cols))
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={tmp}/profile", f"--window-size={width},{height}",
                        f"--screenshot={png}", page.as_uri()],
                       capture_output=True, text=True, timeout=120, check=True)
