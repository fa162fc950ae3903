"""The audit chain as auditors read it: entries in order, the chain and every bound row verified,
and signed checkpoints of its head (`parkcredit.checkpoints`) written and checked."""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from parkcredit import checkpoints as cp
from parkcredit.app import schemas as s
from parkcredit.app import views
from parkcredit.app.context import AppContext
from parkcredit.errors import InvalidInput
from parkcredit.settings import Settings
from parkcredit.store import audit
from parkcredit.store.tables import AuditEntry, utcnow

__all__ = [
    "CheckpointWriter", "checkpoint", "checkpoints_text", "log_page", "public_key", "read_checkpoints", "recent",
    "signing_key", "verify",
]  # fmt: skip


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured Ed25519 signing key (made in data_dir on first use when none is configured)."""
    try:
        return cp.load_private_key(text=settings.audit_signing_key, path=settings.audit_signing_key_file,
                                   default_path=settings.data_dir / "audit-signing.key")  # fmt: skip
    except cp.CheckpointError as exc:
        raise InvalidInput(("settings", "audit_signing_key"), str(exc)) from None


def public_key(settings: Settings, pem: str | None = None) -> Ed25519PublicKey:
    """The auditor's public key if given (PEM), else the public half of the configured signing key."""
    if pem:
        try:
            return cp.load_public_key(pem)
        except cp.CheckpointError as exc:
            raise InvalidInput(("public_key",), str(exc)) from None
    return signing_key(settings).public_key()


def checkpoint(ctx: AppContext, *, out: Path | None = None) -> s.CheckpointOut:
    """Sign the current chain head and append it to `out` (default: the service's checkpoint file)."""
    with ctx.read() as session:
        head = audit.newest(session, limit=1)
    if not head:
        raise InvalidInput(("audit_log",), "the audit chain is empty: nothing to checkpoint")
    key = signing_key(ctx.settings)
    signed = cp.sign(key, seq=head[0].seq, head_hash=head[0].hash, ts=utcnow().isoformat(timespec="seconds"))
    target = out or ctx.settings.audit_checkpoint_file
    assert target is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as f:
        f.write(signed.line() + "\n")
    return s.CheckpointOut(
        **signed.body(), sig=signed.sig, file=str(target), public_key=cp.public_pem(key.public_key())
    )


def checkpoints_text(ctx: AppContext) -> str:
    """The service's checkpoint file (JSON lines; empty when none was written)."""
    path = ctx.settings.audit_checkpoint_file
    return path.read_text(encoding="utf-8") if path is not None and path.exists() else ""


def read_checkpoints(text: str) -> list[cp.Checkpoint]:
    """Checkpoints from JSON lines; 422 naming the bad line."""
    try:
        return cp.parse_lines(text)
    except cp.CheckpointError as exc:
        raise InvalidInput(("checkpoints",), str(exc)) from None


def _against_checkpoints(ctx: AppContext, found: list[cp.Checkpoint], pub: Ed25519PublicKey,
                         r: audit.VerifyResult) -> list[s.CheckpointProblemOut]:  # fmt: skip
    problems: list[s.CheckpointProblemOut] = []

    def add(n: int, c: cp.Checkpoint, kind: str, detail: str) -> None:
        problems.append(s.CheckpointProblemOut(checkpoint=n, seq=c.seq, ts=c.ts, kind=kind, detail=detail))

    chain_ok_to = (r.first_bad_seq - 1) if r.first_bad_seq is not None else r.entries
    with ctx.read() as session:
        length = audit.newest(session, limit=1)
        last_seq = length[0].seq if length else 0
        for n, c in enumerate(found, start=1):
            try:
                c.verify(pub)
            except cp.CheckpointError as exc:
                add(n, c, "bad_signature", f"checkpoint {n} (seq {c.seq}): {exc}")
                continue
            entry = audit.at_seq(session, c.seq)
            if entry is None:
                gone = f"entries {last_seq + 1}..{c.seq} were deleted (truncation)"
                add(n, c, "truncated", f"checkpoint {n} vouches for seq {c.seq} of {c.ts}, but the chain ends at "
                                       f"seq {last_seq}: {gone}")  # fmt: skip
            elif entry.hash != c.head_hash:
                how = f"the chain was rewritten at or before seq {c.seq} (forged or replaced entries)"
                add(n, c, "rewritten", f"checkpoint {n}: entry {c.seq} no longer has the hash signed on {c.ts}: "
                                       f"{how}")  # fmt: skip
            elif c.seq > chain_ok_to:
                add(n, c, "broken_inside", f"checkpoint {n}: the chain is broken at seq {r.first_bad_seq}, inside "
                                           f"the part checkpoint {n} vouches for")  # fmt: skip
    return problems


def verify(
    ctx: AppContext, *, checkpoints_text: str | None = None, public_key_pem: str | None = None, rows: bool = True
) -> s.VerifyOut:
    """Check the hash chain, every bound row and, if given, signed checkpoints of the head.

    Without `checkpoints_text` the service's own checkpoint file is used when it exists; a chain
    that verifies by itself but disagrees with a checkpoint was truncated, rewritten or extended
    with forged entries after that checkpoint was taken.
    """
    found: list[cp.Checkpoint] = []
    source = None
    if checkpoints_text is not None:
        found, source = read_checkpoints(checkpoints_text), "given"
    elif ctx.settings.audit_checkpoint_file is not None and ctx.settings.audit_checkpoint_file.exists():
        found = read_checkpoints(ctx.settings.audit_checkpoint_file.read_text(encoding="utf-8"))
        source = str(ctx.settings.audit_checkpoint_file)
    with ctx.read() as session:
        r = audit.verify(session, rows=rows)
    cp_problems = _against_checkpoints(ctx, found, public_key(ctx.settings, public_key_pem), r) if found else []
    return s.VerifyOut(
        ok=r.ok and not cp_problems, entries=r.entries, first_bad_seq=r.first_bad_seq, reason=r.reason,
        head_hash=r.head_hash, rows_checked=r.rows_checked, row_problems_total=r.row_problems_total,
        row_problems=[s.RowProblemOut(table=p.table, id=p.id, problem=p.problem, detail=p.detail, seq=p.seq)
                      for p in r.row_problems],
        checkpoints_checked=len(found), checkpoints_source=source, checkpoint_problems=cp_problems,
    )  # fmt: skip


class CheckpointWriter:
    """The service's own checkpoints: every `interval` seconds, sign the head if it moved."""

    def __init__(self, ctx: AppContext, interval: float) -> None:
        self.ctx, self.interval = ctx, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
        self._last: int | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.write_once()

    def write_once(self) -> bool:
        """Sign the head if it moved since the last checkpoint of this writer; whether one was written."""
        try:
            with self.ctx.read() as session:
                head = audit.newest(session, limit=1)
            if not head or head[0].seq == self._last:
                return False
            self._last = checkpoint(self.ctx).seq
            return True
        except Exception:  # noqa: BLE001 — a failed checkpoint must not stop the service; the next one retries
            return False


def log_page(ctx: AppContext, *, after_seq: int = 0, limit: int = 100) -> s.AuditPage:
    """Audit-log entries in chain order, paged by `after_seq`."""
    with ctx.read() as session:
        rows = audit.entries(session, after_seq=after_seq, limit=limit)
        return s.AuditPage(items=[views.audit_entry(r) for r in rows],
                           next_after_seq=rows[-1].seq if len(rows) == limit else None)  # fmt: skip


def recent(ctx: AppContext, *, limit: int = 30) -> list[AuditEntry]:
    with ctx.read() as session:
        rows = audit.newest(session, limit=limit)
        session.expunge_all()
        return rows
