"""Charts a committee officer can read, and numbers as a person writes them (issue 17 items 6, 8)."""

from __future__ import annotations

import re

from parkcredit.reports import charts
from parkcredit.reports.render import fmt_value, unit_label


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_hbar_labels_are_shortened_with_an_ellipsis_and_the_full_label_is_the_tooltip() -> None:
    long = "C37 铁路、船舶、航空航天和其他运输设备制造业"
    svg = charts.hbar([(long, 3.0), ("C34 通用设备制造业", 5.0)], title="t", axis_title="企业数")
    texts = _texts(svg)
    assert long not in texts and any(t.endswith("…") and long.startswith(t[:-1]) for t in texts)
    assert f"<title>{long}: 3</title>" in svg  # the full text on hover
    assert "企业数" in texts  # the axis says what the bars count


def test_hbar_sorted_by_its_own_values() -> None:
    svg = charts.hbar([("a", 1.0), ("b", 7.0), ("c", 3.0)], sort=True)
    labels = [t for t in _texts(svg) if t in ("a", "b", "c")]
    assert labels == ["b", "c", "a"]


def test_the_threshold_label_sits_above_every_bar_and_the_axes_have_titles() -> None:
    svg = charts.histogram([59.0] * 50 + [61.0] * 80, marker=60, marker_label="门槛 60", title="总分分布",
                           x_title="总分", y_title="企业数")  # fmt: skip
    bar_tops = [float(y) for y in re.findall(r'<rect class="bar" x="[^"]+" y="([^"]+)"', svg)]
    label_y = float(re.search(r'<text x="[^"]+" y="([^"]+)"[^>]*>门槛 60</text>', svg).group(1))  # type: ignore[union-attr]
    assert label_y < min(bar_tops)  # the label's baseline is above the tallest bar
    assert "总分 · n = 130" in _texts(svg) and "企业数" in svg
    ticks = [t for t in _texts(svg) if re.fullmatch(r"\d+(\.\d+)?", t)]
    assert not any("." in t for t in ticks)  # counts and scores: whole-number ticks


def test_years_have_no_thousands_separator_and_units_are_translated() -> None:
    assert fmt_value(2025, None, "zh", "tax_credit_year") == "2025"
    assert fmt_value(2025, None, "en", "mu_eval_year") == "2025"
    assert fmt_value(2_025_000, "yuan", "zh") == "2,025,000 元"
    assert fmt_value(58, "persons", "zh") == "58人" and fmt_value(58, "persons", "en") == "58 persons"
    assert fmt_value(0, "months", "zh") == "0个月" and fmt_value(3, "months", "en") == "3 months"
    assert unit_label("yuan/亩", "en") == "yuan per mu" and unit_label("亩", "en") == "mu"
