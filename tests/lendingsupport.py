"""Shared by the bank-lifecycle tests (issue 14): an enterprise worth 3,000,000 yuan, authorizations, loans."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient

from dbsupport import BANK, OTHER_BANK, authorization, good_profile, make_uscc

TODAY = dt.date.today()


def strong_profile(i: int = 1, **overrides: Any) -> dict[str, Any]:
    """A healthy enterprise whose 企业诚信贷 decision is ELIGIBLE with the product cap, 3,000,000 yuan."""
    p = good_profile(
        i, as_of=str(TODAY - dt.timedelta(days=30)), tax_paid_yuan_y1=4_000_000, tax_paid_yuan_y2=4_000_000,
        revenue_yuan_y1=60_000_000, existing_unsecured_loans_yuan=0, hnte_valid_until="2029-12-31",
        srdi_valid_until="2029-12-31", safety_std_valid_until="2029-12-31", tax_credit_year=TODAY.year - 1,
        mu_eval_year=TODAY.year - 1,
    )  # fmt: skip
    p.update(overrides)
    return p


def enrol(
    client: TestClient, keys: dict[str, dict[str, str]], i: int = 1, *, banks: tuple[str, ...] = (BANK, OTHER_BANK),
    products: tuple[str, ...] = ("chengxindai",), **profile: Any,
) -> str:  # fmt: skip
    """Store the enterprise's snapshot and its authorizations of `banks`; returns its USCC."""
    r = client.post("/v1/enterprises", json=strong_profile(i, **profile), headers=keys["committee"])
    assert r.status_code == 201, r.text
    uscc = make_uscc(i)
    for bank in banks:
        auth = authorization(uscc, bank, products=list(products), valid_from=str(TODAY - dt.timedelta(days=60)))
        r = client.post("/v1/authorizations", json=auth, headers=keys["committee"])
        assert r.status_code == 201, r.text
    return uscc


def ask(client: TestClient, keys: dict[str, dict[str, str]], uscc: str, who: str = "bank",
        product: str = "chengxindai") -> dict[str, Any]:  # fmt: skip
    r = client.get(f"/v1/eligibility/{uscc}?product={product}", headers=keys[who])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def loan_body(uscc: str, decision_id: str, amount: int, *, ref: str = "L-1", product: str = "chengxindai",
              on: dt.date | None = None) -> dict[str, Any]:  # fmt: skip
    return {"loan_ref": ref, "uscc": uscc, "product": product, "amount_yuan": amount,
            "disbursed_on": str(on or TODAY), "term_months": 12, "decision_id": decision_id}  # fmt: skip


def event(status: str, principal: int, *, on: dt.date | None = None, recovered: int = 0) -> dict[str, Any]:
    return {"status": status, "principal_outstanding_yuan": principal, "event_on": str(on or TODAY),
            "recovered_yuan": recovered}  # fmt: skip
