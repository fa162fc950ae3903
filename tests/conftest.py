"""Shared fixtures: the bundled rule sets and decisions of the reference enterprise."""

from __future__ import annotations

import pytest

from factories import E1, RULES, frame_of
from parkcredit.decision import Decisions, decide
from parkcredit.rules import RuleSet, load_ruleset


@pytest.fixture(scope="session")
def chengxindai() -> RuleSet:
    return load_ruleset(RULES / "chengxindai.yaml")


@pytest.fixture(scope="session")
def decisions_e1(chengxindai: RuleSet) -> Decisions:
    return decide(frame_of(E1), chengxindai)
