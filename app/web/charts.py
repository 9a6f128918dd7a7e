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


def paired_columns(days: list[tuple[str, bool, int, int]], title: str, legend: tuple[str, str],
                   width: int = 760) -> Markup:
    """Two counts per column side by side, (label, working day, first, second) each: the
    forecast's records retiring and deadlines falling due per day (rest days shaded), the
    statistics' objections per month. Every seventh column and the first are labelled. The
    numbers are in the table beside it, for screen readers too."""
    height, top, bottom, left = 220, 24, 36, 36
    plot_h, n = height - top - bottom, max(1, len(days))
    step = (width - left - 8) / n
    bar = max(1.0, step / 2 - 1)
    peak = max([max(a, b) for _, _, a, b in days] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{left}" y="14" font-size="12" fill="#1f2933">■ {escape(legend[0])}</text>'
        f'<text x="{left + 200}" y="14" font-size="12" fill="#a05a00">■ {escape(legend[1])}</text>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="11" fill="#52606d">{peak}</text>',
    ]
    for i, (label, working, first, second) in enumerate(days):
        x = left + i * step
        if not working:
            parts.append(f'<rect x="{x:.1f}" y="{top}" width="{step:.1f}" height="{plot_h}" fill="#f0f2f5"/>')
        for j, (value, colour) in enumerate(((first, "#1f2933"), (second, "#a05a00"))):
            h = plot_h * value / peak
            parts.append(f'<rect x="{x + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(label)}: {value}</title></rect>')
        if i % 7 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 14}" font-size="11" fill="#52606d">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" stroke="#9aa5b1"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
