"""The one source of compiled rule sets: bundled files and stored versions, one cache by content hash.

Compiling a rule set costs ~0.3 s (pure-Python YAML and checks) and a text always compiles the same,
so every text is compiled once per process. Stored versions are looked up by the content hash the
store already holds, without parsing their text again.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from parkcredit.errors import InvalidInput
from parkcredit.rules.compile import RuleSet, RuleSetError, parse_ruleset

__all__ = ["RuleSource", "cached", "compile_text"]

_by_text: dict[str, RuleSet] = {}  # sha256 of the text -> compiled
_by_hash: dict[str, RuleSet] = {}  # content hash -> compiled
_lock = threading.Lock()
_MAX = 256  # distinct texts kept; a drafting session makes a few dozen at most


def cached(content_hash: str) -> RuleSet | None:
    """The compiled rule set of `content_hash` if this process has compiled it (what `compile_text`
    returns for that hash without reading the text again)."""
    return _by_hash.get(content_hash)


def compile_text(text: str, source: str, *, content_hash: str | None = None) -> RuleSet:
    """`parse_ruleset(text)`, compiled once per process; RuleSetError for a bad text."""
    if content_hash is not None and (hit := _by_hash.get(content_hash)) is not None:
        return hit
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if (hit := _by_text.get(key)) is not None:
        return hit
    rs = parse_ruleset(text, source=source)
    with _lock:
        if len(_by_text) >= _MAX:
            _by_text.clear()
            _by_hash.clear()
        _by_text[key] = rs
        _by_hash.setdefault(rs.content_hash, rs)
    return rs


class RuleSource:
    """The bundled rule sets of a folder (`<product>.yaml`), compiled through the one cache."""

    def __init__(self, rules_dir: Path) -> None:
        self.rules_dir = Path(rules_dir)

    def product_codes(self) -> list[str]:
        """Product codes of the rule files in the folder."""
        return sorted(p.stem for p in self.rules_dir.glob("*.yaml"))

    def path(self, code: str) -> Path:
        return self.rules_dir / f"{code}.yaml"

    def product(self, code: str, loc: tuple[str | int, ...] = ("query", "product")) -> RuleSet:
        """The bundled rule set of product `code`; InvalidInput naming `loc` for an unknown product."""
        path = self.path(code)
        if not code or "/" in code or not path.is_file():
            known = ", ".join(self.product_codes())
            raise InvalidInput(loc, f"unknown product {code!r}; known: {known}", "unknown_product")
        return compile_text(path.read_text(encoding="utf-8"), str(path))

    def bundled(self) -> tuple[dict[str, RuleSet], list[str]]:
        """(product -> rule set, errors): every valid bundled file; a bad one is named in `errors`."""
        good: dict[str, RuleSet] = {}
        errors: list[str] = []
        for code in self.product_codes():
            path = self.path(code)
            try:
                good[code] = compile_text(path.read_text(encoding="utf-8"), str(path))
            except OSError as exc:
                errors.append(f"{path}: cannot read: {exc.strerror}")
            except RuleSetError as exc:
                errors.append(str(exc))
        return good, errors
