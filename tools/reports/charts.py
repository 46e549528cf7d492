"""Static inline SVG charts drawn from the report's numbers: no scripts, no fonts, no network."""

from __future__ import annotations

from html import escape

PALETTE = ("#3b6fb6", "#e07b39", "#4a9d5b", "#b5477a", "#8a6bbf", "#9c9c9c")


def _money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def stacked_days(daily: list[dict], series: list[str], width: int = 1100, height: int = 300) -> str:
    """Cost over time: one stacked bar per day, one colour per series (legend below)."""
    if not daily:
        return "<p>No daily data.</p>"
    left, bottom, top = 70, 40, 15
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max(sum(d["costs"].values()) for d in daily) or 1.0
    bar_w = plot_w / len(daily)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 24 * ((len(series) + 4) // 5)}" '
             f'role="img" aria-label="Cost per day">']
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{_money(peak * i / 4)}</text>')
    for i, day in enumerate(daily):
        x = left + i * bar_w
        y = top + plot_h
        for j, name in enumerate(series):
            v = max(day["costs"].get(name, 0.0), 0.0)
            h = plot_h * v / peak
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(day["day"])} {escape(name)}: '
                         f'{_money(v)}</title></rect>')
        if len(daily) <= 16 or i % max(len(daily) // 10, 1) == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" font-size="10" '
                         f'text-anchor="middle">{escape(day["day"][5:])}</text>')
    for j, name in enumerate(series):
        lx, ly = left + (j % 5) * 210, height + 24 * (j // 5) - 4
        parts.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 18}" y="{ly}" font-size="12">{escape(name[:28])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def movers(rows: list[tuple[str, float]], width: int = 1100) -> str:
    """Top movers: horizontal bars of the change, increases red to the right, decreases green to the left."""
    if not rows:
        return "<p>No change against the previous window.</p>"
    bar_h, label_w = 22, 260
    height = bar_h * len(rows) + 20
    mid = label_w + (width - label_w - 90) / 2
    half = (width - label_w - 90) / 2
    peak = max(abs(v) for _, v in rows) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Top movers">', f'<line x1="{mid:.1f}" y1="0" x2="{mid:.1f}" y2="{height}" stroke="#999"/>']
    for i, (name, v) in enumerate(rows):
        y = 10 + i * bar_h
        w = half * abs(v) / peak
        x = mid if v >= 0 else mid - w
        colour = "#c0392b" if v >= 0 else "#27864a"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">{escape(name[:36])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 1):.1f}" height="{bar_h - 6}" fill="{colour}"/>')
        tx = x + w + 6 if v >= 0 else x - 6
        anchor = "start" if v >= 0 else "end"
        parts.append(f'<text x="{tx:.1f}" y="{y + 15}" font-size="12" text-anchor="{anchor}">{"+" if v >= 0 else ""}'
                     f'{_money(v)}</text>')
    parts.append("</svg>")
    return "".join(parts)
