"""The diff of two rule-set versions lists exactly the changes, in words a committee officer reads."""

from __future__ import annotations

from govsupport import BASE, RULES, variant
from parkcredit.governance.diff import diff_rulesets, render
from parkcredit.rules import load_ruleset, parse_ruleset


def _keys(changes):  # type: ignore[no-untyped-def]
    return [(c.area, c.kind, c.rule_id, c.item, c.field, c.before, c.after) for c in changes]


def test_bundled_variants_differ_exactly_in_product_threshold_band_limit_and_stale_grade_treatment() -> None:
    old, new = load_ruleset(RULES / "chengxindai.yaml"), load_ruleset(RULES / "yuanbaodai.yaml")
    changes = diff_rulesets(old, new)
    keys = [(a, k, r, i, f) for a, k, r, i, f, _, _ in _keys(changes)]
    assert keys == [
        ("product", "changed", None, None, "code"),
        ("product", "changed", None, None, "name_zh"),
        ("product", "changed", None, None, "name_en"),
        ("product", "changed", None, None, "max_amount_yuan"),
        ("meta", "changed", None, None, "description_zh"),
        ("meta", "changed", None, None, "description_en"),
        # 企业诚信贷 refuses a stale tax grade with its own reason; 园保贷 reads a stale grade as missing (issue 13)
        ("precondition", "removed", "STALE_TAX_GRADE", None, None),
        ("precondition", "changed", "PRE_TAX_GRADE", None, "zh"),
        ("precondition", "changed", "PRE_TAX_GRADE", None, "en"),
        ("precondition", "changed", "PRE_TAX_GRADE", None, "require"),
        ("characteristic", "changed", "CRD_TAX_GRADE", None, "field"),
        ("threshold", "changed", None, None, "threshold"),
        ("band", "changed", "C", None, "min_score"),
        ("limit", "changed", "k", None, "formula"),
        ("limit", "changed", "m", None, "formula"),
    ]
    by_field = {(c.area, c.field): c for c in changes}
    assert (by_field[("threshold", "threshold")].before, by_field[("threshold", "threshold")].after) == (60, 55)
    assert by_field[("product", "max_amount_yuan")].after == 5_000_000
    assert by_field[("threshold", "threshold")].zh == "准入门槛分：门槛分 60 → 55"
    assert by_field[("band", "min_score")].en == "Band C: minimum score 60 → 55"


def test_identical_rule_sets_have_no_change() -> None:
    rs = load_ruleset(RULES / "chengxindai.yaml")
    assert diff_rulesets(rs, rs) == [] and render([], "en") == "no change"


def test_knockouts_bins_weights_added_removed_changed() -> None:
    text = variant(threshold=58)
    ko = "  - id: KO_MAJOR_HAZARD\n"
    text = text.replace(
        ko,
        '  - id: KO_TAX_NOT_A\n    when: tax_credit_grade != "A"\n    zh: 纳税信用非A级\n'
        "    en: Tax grade other than A\n" + ko,
        1,
    )
    text = text.replace("          - {id: LT_50, lt: 0.50, points: 10}", "          - {id: LT_50, lt: 0.50, points: 9}")
    text = text.replace("          - {id: GE_0, ge: 0.0, points: 5}", "          - {id: GE_0, ge: 0.0, points: 6}")
    text = text.replace(
        "    weight: 0.30\n    floor: 40\n    characteristics:\n      - id: DEV_MU_CLASS",
        "    weight: 0.35\n    floor: 40\n    characteristics:\n      - id: DEV_MU_CLASS",
        1,
    )
    text = text.replace(
        "  - id: safety\n    zh: 安全评估\n    en: Safety\n    weight: 0.20",
        "  - id: safety\n    zh: 安全评估\n    en: Safety\n    weight: 0.15",
        1,
    )
    new = parse_ruleset(text, source="variant.yaml")
    changes = diff_rulesets(parse_ruleset(BASE), new)
    got = {(a, k, r, i, f): (b, af) for a, k, r, i, f, b, af in _keys(changes)}
    assert got[("meta", "changed", None, None, "version")] == ("1.0", "1.1")
    assert got[("threshold", "changed", None, None, "threshold")] == (60, 58)
    assert got[("band", "changed", "C", None, "min_score")] == (60, 58)
    assert got[("dimension", "changed", "development", None, "weight")] == (0.30, 0.35)
    assert got[("dimension", "changed", "safety", None, "weight")] == (0.20, 0.15)
    assert got[("bin", "changed", "DEV_DEBT_RATIO", "LT_50", "points")] == (10, 9)
    assert got[("bin", "changed", "DEV_HEADCOUNT", "GE_0", "points")] == (5, 6)
    added = got[("knockout", "added", "KO_TAX_NOT_A", None, None)]
    assert added[0] is None and added[1]["when"] == 'tax_credit_grade != "A"'
    assert len(changes) == 9  # the two above, effective_from, and nothing else
    assert any(c.zh.startswith("新增一票否决 KO_TAX_NOT_A（纳税信用非A级）") for c in changes)


def test_removed_knockout_and_bin_are_listed() -> None:
    ko = '  - id: KO_MU_CLASS_D\n    when: mu_efficiency_class == "D"\n'
    start = BASE.index(ko)
    end = BASE.index("  - id: KO_BANK_NPL\n")
    text = BASE[:start] + BASE[end:]
    text = text.replace(
        "          - {id: TWO_PLUS, ge: 2, points: 0, zh: 2次及以上, en: two or more}\n", "", 1
    ).replace(
        "          - {id: ONE, ge: 1, lt: 2, points: 8, zh: 1次, en: one}",
        "          - {id: ONE, ge: 1, points: 8, zh: 1次及以上, en: one or more}",
        1,
    )
    changes = diff_rulesets(parse_ruleset(BASE), parse_ruleset(text))
    kinds = {(c.area, c.kind, c.rule_id, c.item, c.field) for c in changes}
    assert kinds == {
        ("knockout", "removed", "KO_MU_CLASS_D", None, None),
        ("bin", "removed", "SAF_PENALTIES", "TWO_PLUS", None),
        ("bin", "changed", "SAF_PENALTIES", "ONE", "lt"),
        ("bin", "changed", "SAF_PENALTIES", "ONE", "zh"),
        ("bin", "changed", "SAF_PENALTIES", "ONE", "en"),
    }
    removed = next(c for c in changes if c.kind == "removed" and c.area == "knockout")
    assert removed.en.startswith("Removed knock-out KO_MU_CLASS_D")
