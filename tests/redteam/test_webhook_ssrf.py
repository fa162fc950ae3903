"""Red team: a bank key registering a webhook that points the service at its own machine (SSRF)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from parkcredit.app.alerts import receiver_refusal

SECRET = "s" * 32


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5432/", "http://localhost:8000/v1/admin/keys", "http://[::1]/", "http://0.0.0.0:6379/",
     "http://169.254.169.254/latest/meta-data/", "http://no-such-host.invalid/hook", "http://[", "http:///path"],
)  # fmt: skip
def test_a_receiver_on_this_machine_or_unresolvable_is_refused(client: TestClient, keys, url: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/webhooks", json={"url": url, "secret": SECRET}, headers=keys["bank"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "url"], r.text
    assert client.get("/v1/webhooks", headers=keys["bank"]).json() == []


def test_a_private_intranet_address_is_accepted_and_loopback_only_when_allowed() -> None:
    assert receiver_refusal("http://10.1.2.3/hook", allow_loopback=False) is None
    assert receiver_refusal("http://127.0.0.1:9/hook", allow_loopback=False) is not None
    assert receiver_refusal("http://127.0.0.1:9/hook", allow_loopback=True) is None
