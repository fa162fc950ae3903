# ruff: noqa: E501  (SVG markup lines read better whole)
"""Server-side SVG charts: the model's waterfall, histograms and bar charts.

Hand-drawn SVG rather than `shap.plots.waterfall` through matplotlib, on purpose:
- text stays text: Chinese labels render in the page's CJK font, can be searched and extracted
  from the PDF (matplotlib's SVG draws glyphs as paths unless `svg.fonttype='none'`, and then
  its layout is computed with a different font than the one that renders);
- readable in black-and-white print: every bar carries its signed value, and the sign is also
  in the bar's shape (an arrow head pointing the way it pushes), not only in its colour;
- no 4.7 s `shap` import and no global matplotlib state in a web worker; the output is
  deterministic (matplotlib stamps dates and random ids into SVGs), so reports diff cleanly.
The waterfall follows shap's convention: start at the base value E[f(x)], add contributions
largest first, end at f(x) = the model's raw log-odds score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["histogram", "hbar", "waterfall"]

POS = "#c0392b"  # pushes toward default
NEG = "#1f6fb2"  # pushes away from default
INK = "#222"
GRID = "#ccc"
FONT = "'Noto Sans CJK SC','Noto Sans SC','Source Han Sans SC','Microsoft YaHei',sans-serif"


def _t(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, weight: str = "normal",
       fill: str = INK) -> str:  # fmt: skip
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{escape(text)}</text>')  # fmt: skip


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="{FONT}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo if hi > lo else 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + 1e-12:
        out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float, digits: int = 3) -> str:
    s = f"{v:+.{digits}f}"
    return s.replace("-", "−")


def waterfall(
    contributions: Sequence[dict[str, Any]],
    base_value: float,
    raw_score: float,
    *,
    lang: str = "zh",
    top: int = 10,
    title: str = "",
) -> str:
    """SVG waterfall of log-odds contributions (sorted by |value|), base value -> raw score."""
    label = "zh" if lang == "zh" else "en"
    shown = list(contributions[:top])
    rest = list(contributions[top:])
    rows: list[tuple[str, float]] = [(c[label], float(c["logodds"])) for c in shown]
    if rest:
        other = sum(float(c["logodds"]) for c in rest)
        rows.append(((f"其余 {len(rest)} 项特征" if lang == "zh" else f"{len(rest)} other features"), other))
    # running positions
    steps, x = [], base_value
    for name, v in rows:
        steps.append((name, x, x + v, v))
        x += v
    lo = min([base_value, raw_score] + [min(a, b) for _, a, b, _ in steps])
    hi = max([base_value, raw_score] + [max(a, b) for _, a, b, _ in steps])
    pad = (hi - lo) * 0.14 or 0.5  # room for the value printed beside the outermost bars
    lo, hi = lo - pad, hi + pad
    width, left, right, top_m, row_h = 760, 250, 60, 52, 24
    plot_w = width - left - right
    height = top_m + row_h * (len(steps) + 1) + 40

    def sx(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    body: list[str] = []
    if title:
        body.append(_t(8, 18, title, size=14, weight="bold"))
    axis_y = top_m + row_h * len(steps) + 6
    for tv in _ticks(lo, hi):
        body.append(
            f'<line x1="{sx(tv):.1f}" y1="{top_m - 6}" x2="{sx(tv):.1f}" y2="{axis_y}" stroke="{GRID}" stroke-width="0.6"/>'
        )
        body.append(_t(sx(tv), axis_y + 14, f"{tv:g}", anchor="middle", size=10))
    body.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="{INK}" stroke-width="0.8"/>'
    )
    axis_label = (
        "对数几率（log-odds），正值推高违约概率" if lang == "zh" else "log-odds; positive pushes toward default"
    )
    body.append(_t(left + plot_w / 2, axis_y + 30, axis_label, anchor="middle", size=11))
    # base value marker
    body.append(f'<line x1="{sx(base_value):.1f}" y1="{top_m - 10}" x2="{sx(base_value):.1f}" y2="{axis_y}" '
                f'stroke="{INK}" stroke-dasharray="3,3" stroke-width="0.8"/>')  # fmt: skip
    base_txt = f"E[f(x)] = {base_value:.3f}"
    body.append(_t(sx(base_value), top_m - 28, base_txt, anchor="middle", size=10))
    for i, (name, a, b, v) in enumerate(steps):
        y = top_m + i * row_h
        colour = POS if v > 0 else NEG
        x0, x1 = sorted((sx(a), sx(b)))
        w = max(x1 - x0, 1.0)
        head = min(6.0, w)
        h = row_h - 8
        if v >= 0:  # arrow pointing right (toward default)
            pts = f"{x0:.1f},{y + 4} {x0 + w - head:.1f},{y + 4} {x0 + w:.1f},{y + 4 + h / 2:.1f} {x0 + w - head:.1f},{y + 4 + h} {x0:.1f},{y + 4 + h}"
        else:
            pts = f"{x0 + head:.1f},{y + 4} {x0 + w:.1f},{y + 4} {x0 + w:.1f},{y + 4 + h} {x0 + head:.1f},{y + 4 + h} {x0:.1f},{y + 4 + h / 2:.1f}"
        body.append(f'<polygon class="bar {"pos" if v > 0 else "neg"}" points="{pts}" fill="{colour}"/>')
        if i + 1 < len(steps):  # connector to the next row
            body.append(
                f'<line x1="{sx(b):.1f}" y1="{y + 4 + h}" x2="{sx(b):.1f}" y2="{y + row_h + 4}" stroke="{INK}" stroke-width="0.5"/>'
            )
        body.append(_t(left - 8, y + row_h / 2 + 4, name, anchor="end", size=12))
        vx = x1 + 4 if v >= 0 else x0 - 4
        body.append(_t(vx, y + row_h / 2 + 4, _fmt(v), anchor="start" if v >= 0 else "end", size=11, fill=colour))
    body.append(f'<line x1="{sx(raw_score):.1f}" y1="{top_m - 12}" x2="{sx(raw_score):.1f}" y2="{axis_y}" '
                f'stroke="{INK}" stroke-width="1.2"/>')  # fmt: skip
    body.append(_t(sx(raw_score), top_m - 14, f"f(x) = {raw_score:.3f}", anchor="middle", size=11, weight="bold"))
    return _svg(width, height, body, title or "waterfall")


def _short(label: str, chars: int) -> str:
    """`label` cut to `chars` characters with an ellipsis (the full text goes in the row's tooltip)."""
    return label if len(label) <= chars else label[: chars - 1] + "…"


def hbar(
    rows: Sequence[tuple[str, float]],
    *,
    title: str = "",
    value_text: Any = None,
    colour: str = NEG,
    width: int = 520,
    axis_title: str = "",
    label_chars: int = 12,
    sort: bool = False,
) -> str:
    """Horizontal bar chart of (label, value >= 0); `value_text(v)` formats the printed values.

    Long labels are shortened with an ellipsis and the full label is each row's tooltip (`<title>`);
    `axis_title` names what the bars measure; `sort` orders the rows by their own values, largest first."""
    fmt = value_text or (lambda v: f"{v:,.0f}")
    if sort:
        rows = sorted(rows, key=lambda r: (-r[1], r[0]))
    left, right, top_m, row_h = 150, 110, 30 if title else 8, 22
    plot_w = width - left - right
    bottom = 26 if axis_title else 8
    height = top_m + row_h * max(len(rows), 1) + bottom
    vmax = max([v for _, v in rows] + [0.0]) or 1.0
    body: list[str] = []
    if title:
        body.append(_t(8, 18, title, size=13, weight="bold"))
    for i, (label, v) in enumerate(rows):
        y = top_m + i * row_h
        w = plot_w * (v / vmax)
        body.append(f'<g class="row"><title>{escape(label)}: {escape(fmt(v))}</title>')
        body.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
        body.append(_t(left - 6, y + row_h / 2 + 4, _short(label, label_chars), anchor="end"))
        body.append(_t(left + w + 4, y + row_h / 2 + 4, fmt(v), size=11))
        body.append("</g>")
    if not rows:
        body.append(_t(left, top_m + 14, "—"))
    if axis_title:
        base = top_m + row_h * max(len(rows), 1)
        body.append(f'<line x1="{left}" y1="{base + 2}" x2="{left + plot_w}" y2="{base + 2}" stroke="{GRID}"/>')
        body.append(_t(left + plot_w / 2, base + 18, axis_title, anchor="middle", size=11))
    return _svg(width, height, body, title or "bars")


def histogram(
    values: Sequence[float],
    *,
    lo: float = 0.0,
    hi: float = 100.0,
    bins: int = 20,
    marker: float | None = None,
    marker_label: str = "",
    title: str = "",
    width: int = 520,
    x_title: str = "",
    y_title: str = "",
) -> str:
    """Vertical histogram of `values` on [lo, hi] with an optional vertical marker (e.g. the threshold).

    The marker's label sits in a band above the plot, on a white ground, so no bar covers it; `x_title`
    and `y_title` name the axes."""
    counts = [0] * bins
    step = (hi - lo) / bins
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        k = min(max(int((float(v) - lo) // step), 0), bins - 1)
        counts[k] += 1
    left, right, bottom = (54 if y_title else 40), 12, 44
    top_m = (30 if title else 10) + (18 if marker is not None else 0)
    height = 240 + (18 if marker is not None else 0)
    plot_w, plot_h = width - left - right, height - top_m - bottom
    cmax = max(counts) or 1
    body: list[str] = []
    if title:
        body.append(_t(8, 18, title, size=13, weight="bold"))
    bw = plot_w / bins
    for k, c in enumerate(counts):
        h = plot_h * c / cmax
        x = left + k * bw
        body.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{top_m + plot_h - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="{NEG}"><title>{lo + k * step:g}–{lo + (k + 1) * step:g}: {c}</title></rect>'
        )
    base = top_m + plot_h
    body.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="{INK}"/>')
    for tv in _ticks(lo, hi, 5):
        x = left + (tv - lo) / (hi - lo) * plot_w
        body.append(_t(x, base + 14, f"{tv:g}", anchor="middle", size=10))
    for tv in (v for v in _ticks(0, cmax, 4) if float(v).is_integer()):  # counts: whole numbers only
        y = base - plot_h * tv / cmax
        body.append(_t(left - 4, y + 4, f"{tv:g}", anchor="end", size=10))
    if marker is not None:
        x = left + (marker - lo) / (hi - lo) * plot_w
        body.append(
            f'<line x1="{x:.1f}" y1="{top_m - 4}" x2="{x:.1f}" y2="{base}" stroke="{POS}" stroke-width="1.5" stroke-dasharray="4,3"/>'
        )
        label_w = 7 * len(marker_label) + 8  # CJK glyphs are wider: at most a little room to spare
        lx = min(max(x - label_w / 2, left), left + plot_w - label_w)
        body.append(
            f'<rect class="marker-label" x="{lx:.1f}" y="{top_m - 20}" width="{label_w}" height="15" fill="#fff"/>'
        )
        body.append(_t(lx + label_w / 2, top_m - 8, marker_label, anchor="middle", size=10, fill=POS))
    x_text = f"{x_title} · n = {sum(counts):,}" if x_title else f"n = {sum(counts):,}"
    body.append(_t(left + plot_w / 2, height - 8, x_text, anchor="middle", size=11))
    if y_title:
        cy = top_m + plot_h / 2
        body.append(f'<text x="14" y="{cy:.1f}" text-anchor="middle" font-size="11" fill="{INK}" '
                    f'transform="rotate(-90 14 {cy:.1f})">{escape(y_title)}</text>')  # fmt: skip
    return _svg(width, height, body, title or "histogram")
