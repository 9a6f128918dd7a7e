"""Server-rendered SVG charts: no JavaScript, no CDN, readable without colour."""
from __future__ import annotations

from html import escape

from markupsafe import Markup


def bar_chart(rows: list[tuple[str, int, int]], title: str, width: int = 640) -> Markup:
    """Horizontal bars of compliance: (label, total, met) per row, the rate written out."""
    row_h, label_w, pad = 26, 220, 8
    bar_w = width - label_w - 110
    height = pad * 2 + row_h * max(1, len(rows))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, total, met) in enumerate(rows):
        y = pad + i * row_h
        rate = met / total if total else 1.0
        colour = "#1b6b3a" if rate >= 0.95 else ("#a05a00" if rate >= 0.8 else "#b00020")
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" font-size="13" fill="#1f2933">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" fill="#e4e7eb"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w * rate:.1f}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 17}" font-size="13" fill="#1f2933">'
            f"{rate:.0%} ({met}/{total})</text>"
        )
    if not rows:
        parts.append(f'<text x="{pad}" y="{pad + 17}" font-size="13" fill="#52606d">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
