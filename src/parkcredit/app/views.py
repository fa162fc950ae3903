"""Rows -> response models (the stored column names are not always the API's)."""

from __future__ import annotations

from parkcredit.app import schemas as s
from parkcredit.store.tables import ApiKey, AuditEntry, Authorization, BankQuery, Decision, Job, Snapshot


def snapshot(row: Snapshot) -> s.SnapshotOut:
    return s.SnapshotOut(
        snapshot_id=row.id,
        uscc=row.uscc,
        name=row.name,
        park_id=row.park_id,
        as_of=row.as_of,
        content_sha256=row.content_sha256,
        created_at=row.created_at,
    )


def snapshot_detail(row: Snapshot) -> s.SnapshotDetail:
    return s.SnapshotDetail(**snapshot(row).model_dump(), profile=row.profile)


def decision_summary(row: Decision) -> s.DecisionSummary:
    return s.DecisionSummary(
        decision_id=row.id,
        product=row.product,
        snapshot_id=row.snapshot_id,
        ruleset_version=row.ruleset_version,
        eligible=row.eligible,
        limit_yuan=row.limit_yuan,
        band=row.band,
        total_score=row.total_score,
        valid_until=row.valid_until,
        created_at=row.created_at,
    )


def job(row: Job) -> s.JobOut:
    return s.JobOut(
        job_id=row.id,
        kind=row.kind,
        status=row.status,
        params=row.params,
        total=row.total,
        done=row.done,
        result=row.result,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def authorization(row: Authorization) -> s.AuthorizationOut:
    return s.AuthorizationOut(
        authorization_id=row.id,
        uscc=row.uscc,
        bank=row.bank,
        products=row.products,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        scope=row.scope,
        purpose=row.purpose,
        evidence_ref=row.evidence_ref,
        evidence_sha256=row.evidence_sha256,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        granted_by=row.granted_by,
    )


def bank_query(row: BankQuery) -> s.BankQueryOut:
    return s.BankQueryOut(
        query_id=row.id,
        bank=row.bank,
        key_id=row.key_id,
        uscc=row.uscc,
        product=row.product,
        allowed=row.allowed,
        reason=row.reason,
        decision_id=row.decision_id,
        created_at=row.created_at,
    )


def audit_entry(row: AuditEntry) -> s.AuditEntryOut:
    return s.AuditEntryOut.model_validate(row)


def key(row: ApiKey, token: str | None = None) -> s.KeyOut:
    return s.KeyOut(
        key_id=row.id,
        role=row.role,
        bank=row.bank,
        label=row.label,
        holder=row.holder,
        department=row.department,
        uscc=row.uscc,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        token=token,
    )
