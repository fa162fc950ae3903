"""Signed checkpoints of the audit chain head (Ed25519), kept outside the database.

A checkpoint says "the chain had `seq` entries and entry `seq` had hash `head_hash`", signed with a
key the database never holds. An auditor who keeps checkpoints can later prove that the chain was
not truncated (it still reaches `seq`) and not rewritten up to `seq` (entry `seq` still has that
hash, and the chain up to it is intact). Forging one needs the private key.

One checkpoint is one JSON line: {"v", "seq", "head_hash", "ts", "key_id", "sig"}; `sig` is the
base64 Ed25519 signature of the canonical JSON of the other fields.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Checkpoint", "CheckpointError", "key_id", "load_private_key", "load_public_key", "parse_lines", "public_pem",
    "sign",
]  # fmt: skip


class CheckpointError(ValueError):
    """A checkpoint line that cannot be read or whose signature does not verify."""


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _raw_public(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(pub: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of sha256 of its raw bytes."""
    return hashlib.sha256(_raw_public(pub)).hexdigest()[:16]


def public_pem(pub: Ed25519PublicKey) -> str:
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _private_from_text(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError("the audit signing key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise CheckpointError("the audit signing key is neither PEM nor base64 of 32 raw bytes") from None
    if len(raw) != 32:
        raise CheckpointError(f"a raw Ed25519 key has 32 bytes, this one {len(raw)}")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_private_key(
    *, text: str = "", path: Path | None = None, default_path: Path | None = None
) -> Ed25519PrivateKey:
    """The signing key: from `text` (an environment variable), else `path`, else `default_path` (made if absent)."""
    if text:
        return _private_from_text(text)
    if path is not None:
        if not path.exists():
            raise CheckpointError(f"audit signing key file {path} does not exist")
        return _private_from_text(path.read_text(encoding="utf-8"))
    if default_path is None:
        raise CheckpointError("no audit signing key configured (PARKCREDIT_AUDIT_SIGNING_KEY or _FILE)")
    if not default_path.exists():
        default_path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(default_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return _private_from_text(default_path.read_text(encoding="utf-8"))


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from PEM (or base64 of 32 raw bytes)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError("the public key is not an Ed25519 key")
        return key
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError:
        raise CheckpointError("the public key is neither PEM nor base64 of 32 raw bytes") from None


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the chain head."""

    seq: int
    head_hash: str
    ts: str
    key_id: str
    sig: str

    def body(self) -> dict[str, Any]:
        return {"v": 1, "seq": self.seq, "head_hash": self.head_hash, "ts": self.ts, "key_id": self.key_id}

    def line(self) -> str:
        return json.dumps({**self.body(), "sig": self.sig}, sort_keys=True, separators=(",", ":"))

    def verify(self, pub: Ed25519PublicKey) -> None:
        """Raise CheckpointError unless `pub` signed this checkpoint."""
        if self.key_id != key_id(pub):
            raise CheckpointError(f"signed by key {self.key_id}, not by the auditor's key {key_id(pub)}")
        try:
            pub.verify(base64.b64decode(self.sig), _canonical(self.body()))
        except (InvalidSignature, ValueError):
            raise CheckpointError("its signature does not verify (forged or altered)") from None


def sign(key: Ed25519PrivateKey, *, seq: int, head_hash: str, ts: str) -> Checkpoint:
    """Sign the head `seq`/`head_hash` at `ts`."""
    unsigned = Checkpoint(seq, head_hash, ts, key_id(key.public_key()), "")
    sig = base64.b64encode(key.sign(_canonical(unsigned.body()))).decode()
    return Checkpoint(seq, head_hash, ts, unsigned.key_id, sig)


def parse_lines(text: str, *, max_lines: int = 1_000_000) -> list[Checkpoint]:
    """Checkpoints from JSON lines (blank lines skipped); CheckpointError names the bad line."""
    out: list[Checkpoint] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(out) >= max_lines:
            raise CheckpointError(f"more than {max_lines} checkpoints")
        try:
            d = json.loads(line)
            cp = Checkpoint(int(d["seq"]), str(d["head_hash"]), str(d["ts"]), str(d["key_id"]), str(d["sig"]))
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"line {n} is not a checkpoint: {line[:120]!r}") from None
        out.append(cp)
    return out
