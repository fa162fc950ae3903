"""Rule-set files: the bundled ones load; bad ones are refused with file, line, rule id, reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parkcredit.rules import RuleSetError, load_ruleset, parse_ruleset
from parkcredit.rules.spec import RuleSetSpec

RULES = Path(__file__).resolve().parents[2] / "scoring_rules"

MINIMAL = """\
product: {code: testloan, name_zh: 测试贷, name_en: Test loan, max_amount_yuan: 1000000}
version: "1.0"
effective_from: 2026-01-01
knockouts:
  - id: KO_TAX
    when: tax_credit_grade == "D"
    zh: 纳税D级
    en: Tax grade D
dimensions:
  - id: credit
    zh: 信用
    en: Credit
    weight: 1.0
    characteristics:
      - id: CRD_TAX
        zh: 纳税信用
        en: Tax grade
        field: tax_credit_grade
        missing: {points: 10}
        categories:
          - {id: A, values: [A], points: 60}
          - {id: B_M, values: [B, M], points: 30}
          - {id: C_D, values: [C, D], points: 0}
      - id: CRD_MARGIN
        zh: 净利率
        en: Net margin
        field: net_margin
        missing: {points: 5}
        bins:
          - {id: NEG, lt: 0.0, points: 0}
          - {id: LOW, ge: 0.0, lt: 0.1, points: 20}
          - {id: HIGH, ge: 0.1, points: 40}
threshold: 50
bands:
  - {id: A, min_score: 80}
  - {id: B}
limit:
  formula: 0.1 * revenue_yuan_y1
"""


def refuse(text: str) -> RuleSetError:
    with pytest.raises(RuleSetError) as exc:
        parse_ruleset(text, source="bad.yaml")
    return exc.value


@pytest.mark.parametrize("name", ["chengxindai", "xiaoweikuaidai", "yuanbaodai"])
def test_bundled_rule_sets_load(name: str) -> None:
    rs = load_ruleset(RULES / f"{name}.yaml")
    assert rs.product == name and rs.version == "1.0"
    assert rs.content_hash.startswith("sha256:")


def test_caps_of_the_three_products() -> None:
    caps = {n: load_ruleset(RULES / f"{n}.yaml").cap_yuan for n in ("chengxindai", "xiaoweikuaidai", "yuanbaodai")}
    assert caps == {"chengxindai": 3_000_000, "xiaoweikuaidai": 1_000_000, "yuanbaodai": 5_000_000}


def test_minimal_file_loads() -> None:
    assert parse_ruleset(MINIMAL).product == "testloan"


def test_hash_ignores_comments_but_not_content() -> None:
    a = parse_ruleset(MINIMAL)
    b = parse_ruleset("# a comment\n" + MINIMAL)
    c = parse_ruleset(MINIMAL.replace("threshold: 50", "threshold: 55"))
    assert a.content_hash == b.content_hash != c.content_hash


def test_schema_json_is_generated_from_the_model() -> None:
    on_disk = json.loads((RULES / "schema.json").read_text(encoding="utf-8"))
    assert on_disk == RuleSetSpec.model_json_schema(), "run: parkcredit rules schema --out scoring_rules/schema.json"


def test_unknown_field_names_file_line_rule_and_suggestion() -> None:
    err = refuse(MINIMAL.replace("field: net_margin", "field: net_margn"))
    assert err.source == "bad.yaml" and err.line == 27 and err.rule_id == "CRD_MARGIN"
    assert "unknown field 'net_margn'; did you mean 'net_margin'" in str(err)
    assert str(err).startswith("bad.yaml:27: rule CRD_MARGIN:")


def test_misspelt_category_value_is_refused_not_silently_never_true() -> None:
    err = refuse(MINIMAL.replace("values: [B, M]", "values: [B, MM]"))
    assert err.rule_id == "CRD_TAX" and "'MM' is not a value of tax_credit_grade" in err.reason


def test_misspelt_value_in_a_condition_is_refused() -> None:
    err = refuse(MINIMAL.replace('when: tax_credit_grade == "D"', 'when: tax_credit_grade == "d"'))
    assert err.rule_id == "KO_TAX" and err.line == 6 and "not one of the allowed values" in err.reason


def test_uncovered_category_values_are_refused() -> None:
    err = refuse(MINIMAL.replace("          - {id: C_D, values: [C, D], points: 0}\n", ""))
    assert "values not covered by any category: C, D" in err.reason


def test_value_in_two_categories_is_refused() -> None:
    err = refuse(MINIMAL.replace("values: [B, M]", "values: [B, M, A]"))
    assert "'A' is already in category A" in err.reason


def test_overlapping_bins_are_refused() -> None:
    err = refuse(MINIMAL.replace("{id: HIGH, ge: 0.1,", "{id: HIGH, ge: 0.05,"))
    assert err.rule_id == "CRD_MARGIN" and "bin HIGH overlaps bin LOW (both contain 0.05)" in err.reason
    assert err.line == 32


def test_gap_between_bins_is_refused() -> None:
    err = refuse(MINIMAL.replace("{id: HIGH, ge: 0.1,", "{id: HIGH, ge: 0.2,"))
    assert "gap between bin LOW (< 0.1) and bin HIGH (>= 0.2)" in err.reason


def test_bins_must_reach_both_infinities() -> None:
    assert (
        "first bin must have no `ge`"
        in refuse(MINIMAL.replace("{id: NEG, lt: 0.0,", "{id: NEG, ge: -1, lt: 0.0,")).reason
    )
    assert (
        "last bin must have no `lt`"
        in refuse(MINIMAL.replace("{id: HIGH, ge: 0.1,", "{id: HIGH, ge: 0.1, lt: 5,")).reason
    )


def test_missing_bin_is_required() -> None:
    err = refuse(MINIMAL.replace("        missing: {points: 5}\n", ""))
    assert err.rule_id == "CRD_MARGIN" and "missing" in err.reason


def test_dimension_points_must_scale_to_100() -> None:
    err = refuse(MINIMAL.replace("points: 40}", "points: 45}"))
    assert "add up to 105 points, not 100" in err.reason


def test_weights_must_add_up_to_one() -> None:
    assert "weights add up to 0.9" in refuse(MINIMAL.replace("weight: 1.0", "weight: 0.9")).reason


def test_cases_need_otherwise_last_and_nothing_after() -> None:
    cases = MINIMAL.replace(
        """        field: net_margin
        missing: {points: 5}
        bins:
          - {id: NEG, lt: 0.0, points: 0}
          - {id: LOW, ge: 0.0, lt: 0.1, points: 20}
          - {id: HIGH, ge: 0.1, points: 40}""",
        """        missing: {when: is_missing(net_margin), points: 5}
        cases:
          - {id: HIGH, when: net_margin >= 0.1, points: 40}
          - {id: REST, otherwise: true, points: 0}""",
    )
    assert parse_ruleset(cases)
    after = cases.replace(
        "          - {id: REST, otherwise: true, points: 0}",
        "          - {id: REST, otherwise: true, points: 0}\n          - {id: LATE, when: net_margin < 0, points: 0}",
    )
    assert "case LATE is unreachable: it follows `otherwise`" in refuse(after).reason
    no_else = cases.replace(
        "          - {id: REST, otherwise: true, points: 0}",
        "          - {id: REST, when: net_margin < 0.1, points: 0}",
    )
    assert "the last case must be `otherwise: true`" in refuse(no_else).reason
    twice = cases.replace(
        "          - {id: REST, otherwise: true, points: 0}",
        "          - {id: AGAIN, when: net_margin >= 0.1, points: 0}\n          - {id: REST, otherwise: true, points: 0}",
    )
    assert "case AGAIN is unreachable: same condition as case HIGH" in refuse(twice).reason


def test_knockout_that_can_never_apply_is_refused() -> None:
    assert "always false" in refuse(MINIMAL.replace('when: tax_credit_grade == "D"', "when: false")).reason


def test_injection_in_a_rule_file_is_refused() -> None:
    err = refuse(MINIMAL.replace('when: tax_credit_grade == "D"', "when: __import__('os').system('rm -rf /')"))
    assert err.rule_id == "KO_TAX" and "not allowed in rule expressions" in err.reason


def test_limit_formula_is_type_checked() -> None:
    assert (
        "expected a num expression"
        in refuse(MINIMAL.replace("formula: 0.1 * revenue_yuan_y1", "formula: revenue_yuan_y1 > 0")).reason
    )


def test_unknown_key_is_refused_with_its_line() -> None:
    err = refuse(MINIMAL.replace("threshold: 50", "threshold: 50\nthreshhold: 60"))
    assert err.line == 34 and "threshhold" in str(err)


def test_yaml_integer_trap_is_explained() -> None:
    err = refuse(MINIMAL.replace("{id: LOW,", "{id: 0_5,"))
    assert "id" in err.reason and "valid string" in err.reason


def test_unreadable_or_broken_yaml() -> None:
    assert "not valid YAML" in refuse("product: [unclosed").reason
    with pytest.raises(RuleSetError, match="cannot read"):
        load_ruleset("/nonexistent/rules.yaml")
