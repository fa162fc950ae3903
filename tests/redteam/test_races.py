"""Red team: two officers at once, a text changed under the approver's eyes, one person with two keys.

Threads send their requests through the real app at the same moment (a barrier), so on PostgreSQL
the transactions really overlap; each race must have exactly one winner and a 409 for the loser.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from govsupport import variant

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _key(client: TestClient, keys: dict[str, dict[str, str]], role: str, holder: str = "") -> dict[str, str]:
    r = client.post("/v1/admin/keys", json={"role": role, "holder": holder}, headers=keys["admin"])
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _draft(client: TestClient, headers: dict[str, str], text: str) -> dict[str, Any]:
    r = client.post("/v1/rulesets", json={"filename": "chengxindai.yaml", "text": text}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _together(calls: list[Any]) -> list[int]:
    """Run the calls at the same instant; their status codes."""
    gate = threading.Barrier(len(calls))

    def go(call: Any) -> int:
        gate.wait()
        return int(call().status_code)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def test_two_publications_on_one_effective_date_have_one_winner(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    approver2 = _key(client, keys, "approver")
    drafts = [_draft(client, keys["committee"], variant(version=v, effective_from="2026-09-01", threshold=t))
              for v, t in (("1.1", 58), ("1.2", 57))]  # fmt: skip
    for d in drafts:
        r = client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json={"content_hash": d["content_hash"]},
                        headers=keys["approver"])  # fmt: skip
        assert r.status_code == 200, r.text
    for _ in range(3):  # a lost race is rare on one try: repeat on fresh drafts' outcome
        codes = _together([
            (lambda d=d, h=h: client.post(f"/v1/rulesets/{d['ruleset_id']}/publish",
                                          json={"content_hash": d["content_hash"]}, headers=h))
            for d, h in zip(drafts, (keys["approver"], approver2), strict=True)
        ])  # fmt: skip
        assert sorted(codes) in ([200, 409], [409, 409]), codes
        if 200 in codes:
            break
    published = client.get("/v1/rulesets?product=chengxindai&status=published", headers=keys["auditor"]).json()
    rows = published if isinstance(published, list) else published["items"]
    assert sum(1 for r in rows if r["effective_from"] == "2026-09-01") == 1


def test_retiring_the_last_two_published_versions_at_once_leaves_one(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    approver2 = _key(client, keys, "approver")
    d = _draft(client, keys["committee"], variant(effective_from="2026-08-01", threshold=58))
    body = {"content_hash": d["content_hash"]}
    assert (
        client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json=body, headers=keys["approver"]).status_code == 200
    )
    assert client.post(f"/v1/rulesets/{d['ruleset_id']}/publish", json=body, headers=approver2).status_code == 200
    listed = client.get("/v1/rulesets?product=chengxindai&status=published", headers=keys["auditor"]).json()
    ids = [r["ruleset_id"] for r in (listed if isinstance(listed, list) else listed["items"])]
    assert len(ids) == 2
    codes = _together([
        (lambda i=i, h=h: client.post(f"/v1/rulesets/{i}/retire", json={"reason": "race"}, headers=h))
        for i, h in zip(ids, (keys["approver"], approver2), strict=True)
    ])  # fmt: skip
    assert sorted(codes) == [200, 409], codes
    left = client.get("/v1/rulesets?product=chengxindai&status=published", headers=keys["auditor"]).json()
    assert len(left if isinstance(left, list) else left["items"]) == 1


def test_an_approval_of_a_text_changed_since_review_is_refused(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    d = _draft(client, keys["committee"], variant(threshold=58))
    reviewed = d["content_hash"]  # the approver reads this version ...
    raised = variant(threshold=58).replace("3000000", "30000000")  # ... the author raises the cap tenfold
    assert raised != variant(threshold=58)
    put = client.put(f"/v1/rulesets/{d['ruleset_id']}", json={"filename": "chengxindai.yaml", "text": raised},
                     headers=keys["committee"])  # fmt: skip
    assert put.status_code == 200, put.text
    r = client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json={"content_hash": reviewed},
                    headers=keys["approver"])  # fmt: skip
    assert r.status_code == 409 and "changed since it was reviewed" in r.json()["detail"]
    assert client.get(f"/v1/rulesets/{d['ruleset_id']}", headers=keys["auditor"]).json()["status"] == "draft"
    missing = client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json={}, headers=keys["approver"])
    assert missing.status_code == 422 and "content_hash" in missing.text


def test_one_person_with_two_keys_cannot_approve_their_own_draft(client: TestClient, keys) -> None:  # type: ignore[no-untyped-def]
    author = _key(client, keys, "committee", holder="王五")
    same_person = _key(client, keys, "approver", holder="王五")
    other = _key(client, keys, "approver", holder="赵六")
    d = _draft(client, author, variant(threshold=58))
    body = {"content_hash": d["content_hash"]}
    own = client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json=body, headers=same_person)
    assert own.status_code == 409 and "maker-checker" in own.json()["detail"] and "王五" in own.json()["detail"]
    assert client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json=body, headers=other).status_code == 200
    assert client.post(f"/v1/rulesets/{d['ruleset_id']}/publish", json=body, headers=same_person).status_code == 409


def test_the_lifecycle_lock_makes_the_second_retirement_wait_and_lose(client: TestClient, keys, sessions) -> None:  # type: ignore[no-untyped-def]
    """Deterministic: transaction A retires one of two published versions and holds its commit; B's retirement
    of the other must wait for A (PostgreSQL: the product's advisory lock; SQLite: the write lock), then lose."""
    from parkcredit.store import rulesets as store
    from parkcredit.store.db import write_session

    approver2 = _key(client, keys, "approver")
    d = _draft(client, keys["committee"], variant(effective_from="2026-08-01", threshold=58))
    body = {"content_hash": d["content_hash"]}
    assert (
        client.post(f"/v1/rulesets/{d['ruleset_id']}/approve", json=body, headers=keys["approver"]).status_code == 200
    )
    assert client.post(f"/v1/rulesets/{d['ruleset_id']}/publish", json=body, headers=approver2).status_code == 200
    first, second = (r.id for r in _published(sessions))
    a_retired, release, outcome = threading.Event(), threading.Event(), {}

    def a() -> None:
        with write_session(sessions) as s:
            store.retire(s, store.get(s, first), actor="a", reason="race")  # type: ignore[arg-type]
            a_retired.set()
            release.wait(10)

    def b() -> None:
        a_retired.wait(10)
        try:
            with write_session(sessions) as s:
                store.retire(s, store.get(s, second), actor="b", reason="race")  # type: ignore[arg-type]
            outcome["b"] = "retired"
        except store.StoreConflict as exc:
            outcome["b"] = str(exc)

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    a_retired.wait(10)
    tb.join(0.5)
    assert tb.is_alive(), "B did not wait for A's transaction"
    release.set()
    ta.join(10), tb.join(10)
    assert "only published version" in outcome["b"], outcome
    assert [r.id for r in _published(sessions)] == [second]


def _published(sessions: Any) -> list[Any]:
    from parkcredit.store import rulesets as store

    with sessions() as s:
        return [r for r in store.list_versions(s, product="chengxindai", status="published")]
