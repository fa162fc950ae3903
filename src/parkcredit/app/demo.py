"""The demo park of `parkcredit serve --demo`: a synthetic park, authorizations of the demo bank, demo keys."""

from __future__ import annotations

import datetime as dt
from typing import Any

from parkcredit.app.context import AppContext
from parkcredit.store import access, keys, snapshots

__all__ = ["DEMO_BANK", "DEMO_ROLES", "authorized_usccs", "seed_demo", "unauthorized_uscc"]

DEMO_BANK = "自贡银行"
DEMO_ROLES = ("committee", "approver", "bank", "auditor", "admin")


def seed_demo(ctx: AppContext) -> dict[str, str]:
    """Seed an empty database with a synthetic park, authorizations and demo keys; the keys by role.

    Demo tokens are deterministic (`keys.demo_token`), so the README's examples work as written.
    A database that already has snapshots is left alone (the keys it knows are returned).
    """
    pepper = ctx.settings.api_key_pepper
    tokens = {role: keys.demo_token(role) for role in (*DEMO_ROLES, "enterprise")}  # + one enterprise (issue 15)
    with ctx.write() as session:
        if snapshots.any_snapshot(session):
            known = keys.known_hashes(session)
            return {r: t for r, t in tokens.items() if keys.hash_token(t, pepper) in known}
        profiles = _demo_profiles()
        snapshots.add_many(session, profiles, actor="demo", object_id="demo", payload={})
        today = dt.date.today()
        authorizing = _authorizing(ctx, profiles)
        for p in authorizing:
            access.add_authorization(
                session, actor="demo", uscc=p["uscc"], bank=DEMO_BANK, products=["chengxindai"], valid_from=today,
                valid_to=today + dt.timedelta(days=365), scope="eligibility summary", purpose="企业诚信贷 demo",
                evidence_ref="demo://authorization", evidence_sha256=None,
            )  # fmt: skip
        for role in DEMO_ROLES:
            keys.create_key(session, role, pepper, bank=DEMO_BANK if role == "bank" else None, label="demo",
                            holder=f"demo {role}", actor="demo", token=tokens[role])  # fmt: skip
        # the enterprise key: one of the refused enterprises that authorized the demo bank (/web/me shows why)
        own = authorizing[-1]["uscc"]
        keys.create_key(session, "enterprise", pepper, uscc=own, label=f"demo enterprise {own}",
                        holder="demo enterprise", actor="demo", token=tokens["enterprise"])  # fmt: skip
    return tokens


def _authorizing(ctx: AppContext, profiles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The demo enterprises that authorize the demo bank: 10 eligible ones first, then 5 refused ones."""
    from parkcredit.decision import decide
    from parkcredit.profile import to_frame

    eligible = decide(to_frame(profiles), ctx.product("chengxindai")).summary["eligible"].tolist()
    yes = [p for p, ok in zip(profiles, eligible, strict=True) if ok]
    no = [p for p, ok in zip(profiles, eligible, strict=True) if not ok]
    return yes[:10] + no[:5]


def authorized_usccs(ctx: AppContext) -> list[str]:
    with ctx.read() as session:
        return access.authorized_usccs(session, bank=DEMO_BANK)


def unauthorized_uscc(ctx: AppContext) -> str | None:
    with ctx.read() as session:
        return snapshots.usccs_without(session, access.authorized_subquery())


def _demo_profiles() -> list[dict[str, Any]]:
    import pandas as pd

    from parkcredit.profile import Profile
    from parkcredit.synth import generate

    frame = generate(300, seed=7).drop(columns=["default_12m"])
    out = []
    for rec in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        clean = {k: (v.date() if isinstance(v, pd.Timestamp) else v) for k, v in rec.items()}
        out.append(Profile.model_validate(clean).model_dump(mode="json"))
    return out
