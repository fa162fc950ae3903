"""Every endpoint against every role: 401 without a valid key, 403 for a role that may not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dbsupport import authorization, good_profile, make_uscc

U = make_uscc(1)
D = "00000000-0000-4000-8000-000000000000"

# (method, path template, roles allowed, request body)
MATRIX = [
    ("POST", "/v1/enterprises", {"committee"}, good_profile(1)),
    ("POST", "/v1/imports", {"committee", "department"}, None),
    # department data (issue 13): a department key (not in ROLES: tested in test_department_imports.py)
    ("GET", "/v1/imports", {"committee", "auditor", "department"}, None),
    ("GET", "/v1/imports/{import_id}", {"committee", "auditor", "department"}, None),
    ("GET", "/v1/data-quality/{department}", {"committee", "auditor", "department"}, None),
    ("GET", "/v1/decisions/{decision_id}/sources", {"committee", "auditor"}, None),
    ("GET", "/v1/enterprises/{uscc}", {"committee", "auditor", "enterprise"}, None),
    ("GET", "/v1/enterprises/{uscc}/snapshots", {"committee", "auditor", "enterprise"}, None),
    ("POST", "/v1/decisions", {"committee"}, {"uscc": U, "product": "chengxindai"}),
    ("POST", "/v1/decisions/batch", {"committee"}, {"product": "chengxindai", "park_id": "none"}),
    ("GET", "/v1/jobs/{job_id}", {"committee", "auditor"}, None),
    ("POST", "/v1/jobs/{job_id}/resume", {"committee"}, None),
    ("GET", "/v1/decisions/{decision_id}", {"committee", "auditor", "enterprise"}, None),
    ("POST", "/v1/decisions/{decision_id}/replay", {"auditor"}, None),
    ("GET", "/v1/decisions/{decision_id}/report", {"committee", "auditor"}, None),
    ("POST", "/v1/authorizations", {"committee"}, authorization(U)),
    ("DELETE", "/v1/authorizations/{authorization_id}", {"committee"}, None),
    ("GET", "/v1/eligibility/{uscc}", {"bank"}, None),
    ("POST", "/v1/outcomes", {"bank"}, {"uscc": U, "product": "chengxindai", "disbursed_yuan": 1,
                                        "disbursed_on": "2025-07-01", "status": "current"}),
    ("GET", "/v1/bank-queries", {"bank", "auditor"}, None),
    # bank lifecycle (issue 14): loans, declines, batch and whitelist, alerts and webhooks; the committee's pools
    ("POST", "/v1/eligibility/batch", {"bank"}, {"product": "chengxindai", "usccs": [U]}),
    ("GET", "/v1/whitelist", {"bank"}, None),
    ("POST", "/v1/loans", {"bank"}, {"loan_ref": "M-1", "uscc": U, "product": "chengxindai", "amount_yuan": 1,
                                     "disbursed_on": "2025-07-01", "term_months": 12, "decision_id": D}),
    ("GET", "/v1/loans", {"bank", "committee", "auditor"}, None),
    ("GET", "/v1/loans/outstanding", {"committee", "auditor"}, None),
    ("GET", "/v1/loans/{loan_id}", {"bank", "committee", "auditor"}, None),
    ("POST", "/v1/loans/{loan_id}/events", {"bank"}, {"status": "current", "principal_outstanding_yuan": 1,
                                                      "event_on": "2025-07-01"}),
    ("POST", "/v1/loan-declines", {"bank"}, {"uscc": U, "product": "chengxindai", "reason_code": "OTHER",
                                             "declined_on": "2025-07-01"}),
    ("GET", "/v1/loan-declines", {"bank", "committee", "auditor"}, None),
    ("GET", "/v1/loan-declines/reasons", {"bank", "committee", "auditor"}, None),
    ("GET", "/v1/alerts", {"bank", "committee", "auditor"}, None),
    ("POST", "/v1/webhooks", {"bank"}, {"url": "https://bank.example/hook", "secret": "0123456789abcdef"}),
    ("GET", "/v1/webhooks", {"bank"}, None),
    ("DELETE", "/v1/webhooks/{webhook_id}", {"bank"}, None),
    ("GET", "/v1/webhooks/deliveries", {"bank", "committee", "auditor"}, None),
    ("POST", "/v1/pools", {"committee"}, {"product": "yuanbaodai", "name": "matrix", "balance_yuan": 1, "share_pool": 0.4,
                                          "share_bank": 0.2, "share_guarantor": 0.4, "leverage": 10,
                                          "per_enterprise_cap_yuan": 1}),
    ("GET", "/v1/pools", {"committee", "auditor"}, None),
    ("POST", "/v1/pools/{pool_id}/deposits", {"committee"}, {"amount_yuan": 1}),
    ("GET", "/v1/pools/{pool_id}/statement", {"committee", "auditor"}, None),
    ("GET", "/v1/audit/log", {"auditor"}, None),
    ("GET", "/v1/audit/verify", {"auditor"}, None),
    ("POST", "/v1/audit/verify", {"auditor"}, {"checkpoints": ""}),
    ("POST", "/v1/audit/checkpoints", {"auditor"}, None),
    ("GET", "/v1/audit/checkpoints", {"auditor"}, None),
    ("POST", "/v1/admin/keys", {"admin"}, {"role": "auditor", "label": "matrix"}),
    ("GET", "/v1/admin/keys", {"admin"}, None),
    ("DELETE", "/v1/admin/keys/{key_id}", {"admin"}, None),
    # governance (issue 7): committee and approver draft, only an approver approves and publishes
    ("GET", "/v1/rulesets", {"committee", "approver", "auditor"}, None),
    ("POST", "/v1/rulesets", {"committee", "approver"}, {"filename": "x.yaml", "text": "x: 1"}),
    ("GET", "/v1/rulesets/{ruleset_id}", {"committee", "approver", "auditor"}, None),
    ("PUT", "/v1/rulesets/{ruleset_id}", {"committee", "approver"}, {"filename": "x.yaml", "text": "x: 1"}),
    ("POST", "/v1/rulesets/validate", {"committee", "approver", "auditor"}, {"text": "x: 1"}),
    ("POST", "/v1/rulesets/{ruleset_id}/validate", {"committee", "approver", "auditor"}, None),
    ("POST", "/v1/rulesets/{ruleset_id}/approve", {"approver"}, {"content_hash": "sha256:x"}),
    ("POST", "/v1/rulesets/{ruleset_id}/publish", {"approver"}, {"content_hash": "sha256:x"}),
    ("POST", "/v1/rulesets/{ruleset_id}/retire", {"committee", "approver"}, {"reason": "matrix"}),
    ("GET", "/v1/rulesets/{ruleset_id}/diff", {"committee", "approver", "auditor"}, None),
    ("GET", "/v1/rulesets/{ruleset_id}/backtest", {"committee", "approver", "auditor"}, None),
    ("GET", "/v1/monitoring/psi", {"committee", "approver", "auditor"}, None),
    ("GET", "/v1/monitoring/performance", {"committee", "approver", "auditor"}, None),
    ("POST", "/v1/decisions/{decision_id}/overrides", {"committee"},
     {"eligible": False, "limit_yuan": 0, "reason_code": "OTHER", "reason": "matrix test reason"}),
    ("GET", "/v1/decisions/{decision_id}/overrides", {"committee", "auditor"}, None),
    ("GET", "/v1/overrides", {"committee", "auditor"}, None),
    ("GET", "/v1/overrides/report", {"committee", "approver", "auditor"}, None),
    ("POST", "/v1/enterprises/{uscc}/personal-data/erase", {"committee"}, {"legal_basis": "matrix test"}),
    ("GET", "/v1/governance/retention", {"committee", "approver", "auditor"}, None),
    # the enterprise's rights (issue 15): an enterprise key (not in ROLES: tested in test_enterprise_role.py)
    ("GET", "/v1/me", {"enterprise"}, None),
    ("GET", "/v1/me/authorizations", {"enterprise"}, None),
    ("POST", "/v1/me/authorizations", {"enterprise"}, {"bank": "b", "products": ["chengxindai"],
                                                      "valid_from": "2025-01-01", "valid_to": "2025-12-31",
                                                      "purpose": "matrix"}),
    ("DELETE", "/v1/me/authorizations/{authorization_id}", {"enterprise"}, None),
    ("POST", "/v1/disputes", {"committee", "enterprise"}, {"uscc": U, "field": "env_penalties_36m", "claimed_value": 0,
                                                          "statement": "matrix test", "evidence_ref": "x"}),
    ("GET", "/v1/disputes", {"committee", "auditor", "enterprise"}, None),
    ("POST", "/v1/disputes/{dispute_id}/resolve", {"committee"}, {"status": "upheld", "reply": "matrix test"}),
    ("POST", "/v1/credit-events", {"committee", "department"}, {"uscc": U, "kind": "env_penalty",
                                                                "occurred_on": "2025-01-01", "reference": "matrix"}),
    ("POST", "/v1/credit-events/{event_id}/repair", {"committee", "department"},
     {"repaired_on": "2025-06-01", "evidence_ref": "x"}),
    ("GET", "/v1/enterprises/{uscc}/credit-events", {"committee", "auditor", "enterprise"}, None),
    ("POST", "/v1/reviews", {"committee", "enterprise"}, {"decision_id": D, "reason": "matrix test"}),
    ("GET", "/v1/reviews", {"committee", "auditor", "enterprise"}, None),
    ("POST", "/v1/reviews/{review_id}/decide", {"committee"}, {"outcome": "upheld", "reason": "matrix test"}),
]  # fmt: skip
ROLES = ["committee", "approver", "bank", "auditor", "admin"]
PARAMS = {"uscc": U, "job_id": D, "decision_id": D, "authorization_id": D, "key_id": "key_missing", "ruleset_id": 999,
          "loan_id": 999, "webhook_id": 999, "pool_id": 999}  # fmt: skip


PARAMS.update(dispute_id=999, event_id=999, review_id=999)  # issue 15
PARAMS.update(import_id=D, department="tax")  # issue 13
MATRIX += [  # issue 17: the path to eligibility and 政策找企业
    ("GET", "/v1/enterprises/{uscc}/path", {"committee", "auditor", "enterprise"}, None),
    ("GET", "/v1/enterprises/{uscc}/policies", {"committee", "auditor", "enterprise"}, None),
    ("GET", "/v1/policies", {"committee", "auditor"}, None),
    ("GET", "/v1/policies/{policy_id}/push-list", {"committee", "auditor"}, None),
]
PARAMS.update(policy_id="srdi_support")  # issue 17


def test_matrix_covers_every_v1_route(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    routes = {(m.upper(), p) for p, ops in paths.items() if p.startswith("/v1") for m in ops}
    assert routes == {(m, p) for m, p, _, _ in MATRIX}


def _call(client: TestClient, method: str, path: str, body: object, headers: dict[str, str]) -> int:
    url = path.format(**PARAMS)
    if path == "/v1/imports":
        files = {"file": ("p.csv", b"uscc,name,as_of\n", "text/csv")}
        return client.request(method, url, files=files, headers=headers).status_code
    return client.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "path", "allowed", "body"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_each_role_is_admitted_or_refused(
    client: TestClient, keys: dict[str, dict[str, str]], method: str, path: str, allowed: set[str], body: object
) -> None:
    assert _call(client, method, path, body, {}) == 401
    assert _call(client, method, path, body, {"Authorization": "Bearer pck_not_a_key"}) == 401
    for role in ROLES:
        status = _call(client, method, path, body, keys[role])
        if role in allowed:
            # admitted: whatever the outcome, not an auth failure (a bank without authorization is 403 by design)
            if not (role == "bank" and path.startswith(("/v1/eligibility", "/v1/loans", "/v1/loan-declines"))):
                assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)
