"""The lean store calls of the one-decision request (issue 18): the banks concerned of one enterprise in one
statement, and the rule-set version's ref remembered only when that is safe."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, select

from dbsupport import BANK, OTHER_BANK, authorization, make_uscc
from lendingsupport import TODAY, ask, enrol, loan_body
from parkcredit.app import alerts
from parkcredit.store import rulesets as store_rulesets
from parkcredit.store.tables import RuleSetVersion

THIRD_BANK = "自贡商业银行"


def _both_ways(session: Any, uscc: str, product: str | None) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """concerned_banks of one enterprise (the one-statement path) and of it among others (the chunked path)."""
    one = alerts.concerned_banks(session, [uscc], product)
    many = alerts.concerned_banks(session, [uscc, make_uscc(99)], product)
    return one, {u: b for u, b in many.items() if u == uscc}


def test_the_banks_of_one_enterprise_are_those_of_the_chunked_path(client: TestClient, keys) -> None:
    u = enrol(client, keys, 1, banks=(BANK,))  # 自贡银行: an authorization for chengxindai
    d = ask(client, keys, u)
    r = client.post("/v1/loans", json=loan_body(u, d["decision_id"], 1_000_000), headers=keys["bank"])
    assert r.status_code == 201, r.text  # and a live chengxindai loan
    other = authorization(u, OTHER_BANK, products=["xiaoweikuaidai"], valid_from=str(TODAY - dt.timedelta(days=3)))
    assert client.post("/v1/authorizations", json=other, headers=keys["committee"]).status_code == 201
    revoked = authorization(u, THIRD_BANK, valid_from=str(TODAY - dt.timedelta(days=3)))
    r = client.post("/v1/authorizations", json=revoked, headers=keys["committee"])
    assert r.status_code == 201, r.text
    assert client.delete(f"/v1/authorizations/{r.json()['authorization_id']}", headers=keys["committee"]).is_success
    later = authorization(u, THIRD_BANK, valid_from=str(TODAY + dt.timedelta(days=5)))  # not in force yet
    assert client.post("/v1/authorizations", json=later, headers=keys["committee"]).status_code == 201
    with client.app.state.ctx.read() as session:  # type: ignore[attr-defined]
        for product, want in (("chengxindai", {BANK}), ("xiaoweikuaidai", {OTHER_BANK}), (None, {BANK, OTHER_BANK}),
                              ("yuanbaodai", set())):  # fmt: skip
            one, many = _both_ways(session, u, product)
            assert one == many == ({u: want} if want else {}), product
        assert alerts.concerned_banks(session, [make_uscc(2)], "chengxindai") == {}


def _statements(client: TestClient) -> tuple[list[str], Any]:
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = client.app.state.ctx.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", count)
    return sent, lambda: event.remove(engine, "before_cursor_execute", count)


def _ref(session: Any, rs: Any, **over: Any) -> store_rulesets.RuleSetRef:
    args = {"product": rs.product, "version": rs.version, "content_hash": rs.content_hash, "text": rs.text,
            "effective_from": rs.spec.effective_from, **over}  # fmt: skip
    return store_rulesets.ref_for_use(session, **args)


def test_a_published_version_is_remembered_a_draft_or_a_row_of_this_transaction_is_not(client: TestClient) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    rs = ctx.product("chengxindai")
    sent, stop = _statements(client)
    try:
        with ctx.write() as session:
            first = _ref(session, rs)
            row = session.scalar(select(RuleSetVersion).where(RuleSetVersion.content_hash == rs.content_hash))
            assert row is not None and (first.id, first.version, first.content_hash) == (row.id, row.version,
                                                                                          row.content_hash)  # fmt: skip
        asked = len(sent)
        with ctx.write() as session:
            assert _ref(session, rs) == first
        assert not [s for s in sent[asked:] if "ruleset_versions" in s], "published: not asked again"
        # a rule set not in the store: inserted (stored on use) and, until committed elsewhere, asked again
        unknown = {"content_hash": "f" * 64, "version": "9.9", "effective_from": dt.date(2031, 1, 1)}
        with ctx.write() as session:
            new = _ref(session, rs, **unknown)
            asked = len(sent)
            assert _ref(session, rs, **unknown) == new
            assert [s for s in sent[asked:] if "ruleset_versions" in s], "a row of this transaction is asked again"
            session.rollback()
        with ctx.write() as session:
            again = _ref(session, rs, **unknown)  # the rollback undid it: stored anew
            assert session.get(RuleSetVersion, again.id) is not None
            # a draft (mutable until approved) is never remembered
            store_rulesets.add_draft(session, product="chengxindai", version="draft-1", content_hash="d" * 64,
                                     text=rs.text, effective_from=dt.date(2030, 1, 1), source="test", note="",
                                     actor="t")  # fmt: skip
        for _ in range(2):
            with ctx.write() as session:
                asked = len(sent)
                _ref(session, rs, content_hash="d" * 64, version="draft-1")
                assert [s for s in sent[asked:] if "ruleset_versions" in s], "a draft is asked every time"
    finally:
        stop()
