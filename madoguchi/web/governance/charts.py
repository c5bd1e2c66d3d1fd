"""Small inline SVG charts for the dashboard (no script, no CDN): stacked columns per day and horizontal bars.

Labels go through markupsafe escaping; callers pass only aggregates and redacted text.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from markupsafe import Markup, escape

PALETTE = ("#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83", "#6e7781", "#e16f24", "#a40e26")


def colour_map(keys: list[str]) -> dict[str, str]:
    return {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}


def stacked_columns(days: list[str], per_day: Mapping[str, Counter], *, title: str, width: int = 720,
                    height: int = 220) -> Markup:
    """One column per day, stacked by key, with a legend; the y axis is scaled to the busiest day."""
    keys = sorted({key for counts in per_day.values() for key in counts})
    colours = colour_map(keys)
    peak = max([sum(per_day.get(day, Counter()).values()) for day in days] + [1])
    plot_h, left, bottom = height - 60, 36, height - 30
    step = (width - left - 10) / max(len(days), 1)
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="{left}" y="14" font-size="12">{escape(title)}（最大 {peak} 件/日）</text>',
             f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>']
    for i, day in enumerate(days):
        parts += _column(per_day.get(day, Counter()), keys, colours, left + i * step, step, bottom, plot_h, peak)
        if len(days) <= 10 or i % max(len(days) // 8, 1) == 0:
            parts.append(f'<text x="{left + i * step:.1f}" y="{bottom + 14}" font-size="10">{escape(day[5:])}</text>')
    parts.append(_legend(keys, colours, left, height - 4))
    parts.append("</svg>")
    return Markup("".join(parts))


def _column(counts: Counter, keys: list[str], colours: dict[str, str], x: float, step: float, bottom: float,
            plot_h: float, peak: int) -> list[str]:
    parts, y = [], bottom
    for key in keys:
        if not counts.get(key):
            continue
        h = plot_h * counts[key] / peak
        y -= h
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                     f'fill="{colours[key]}"><title>{escape(key)}: {counts[key]}</title></rect>')
    return parts


def _legend(keys: list[str], colours: dict[str, str], x: float, y: float) -> str:
    parts, offset = [], x
    for key in keys:
        parts.append(f'<rect x="{offset:.0f}" y="{y - 9}" width="9" height="9" fill="{colours[key]}"/>'
                     f'<text x="{offset + 12:.0f}" y="{y}" font-size="10">{escape(key)}</text>')
        offset += 24 + sum(12 if ord(ch) > 0x2E7F else 7 for ch in key)  # CJK glyphs are twice as wide
    return "".join(parts)


def horizontal_bars(counts: Mapping[str, int], *, title: str, width: int = 720, limit: int = 12) -> Markup:
    items = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    bar_h, label_w = 20, 260
    height = 24 + bar_h * max(len(items), 1)
    peak = max([count for _, count in items] + [1])
    parts = [f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="0" y="14" font-size="12">{escape(title)}</text>']
    for i, (label, count) in enumerate(items):
        y = 22 + i * bar_h
        w = (width - label_w - 50) * count / peak
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(f'<text x="0" y="{y + 13}" font-size="11">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 6}" fill="{PALETTE[0]}"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{count}</text>')
    if not items:
        parts.append('<text x="0" y="36" font-size="11">データなし</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
