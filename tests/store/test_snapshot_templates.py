"""The bulk snapshot writer's digest templates give what `binding` computes row by row."""

from __future__ import annotations

import orjson
import pytest

from parkcredit.store import binding, canonjson, snapshots

ODD = [None, "张涛洋", 'a "quoted" name', "back\\slash", "tab\tnew\nline", "\x00\x1f\x7f", "\u2028\u2029", "😀",
       "0db47a9849113be8ff2c1623a469b280632946842a9de08740e14af7b69a70f6"]  # fmt: skip


def test_personal_data_bindings_from_the_template() -> None:
    pairs = [(n, h) for n in ODD for h in ODD if n is not None or h is not None]
    ids = list(range(100, 100 + len(pairs)))
    cols = {"legal_rep_name": [n for n, _ in pairs], "legal_rep_id_hash": [h for _, h in pairs]}
    want = [binding.ref_values("snapshot_pii", i, {"snapshot_id": i, "legal_rep_name": n, "legal_rep_id_hash": h})
            for i, (n, h) in zip(ids, pairs, strict=True)]  # fmt: skip
    assert snapshots._pii_refs(ids, cols) == want


@pytest.mark.parametrize("import_id", [None, "6f1c1b0e-0000-4000-8000-000000000001"])
def test_provenance_bindings_of_a_shared_text(import_id: str | None) -> None:
    shared = canonjson.dumps({"sources": [{"via": "import", "file": "x.csv"}], "fields": {"uscc": 0, "name": 0}})
    other = canonjson.dumps({"sources": [{"via": "api", "by": "k1"}], "fields": {"as_of": 0}})
    texts = [shared, shared, other, shared, other]
    ids = [7, 8, 9, 10, 11]
    want = [binding.digest_values({"snapshot_id": i, "import_id": import_id, "provenance": orjson.loads(t)})
            for i, t in zip(ids, texts, strict=True)]  # fmt: skip
    assert snapshots._provenance_digests(ids, import_id, texts) == want


def test_many_small_dicts_are_plain_only_when_each_is() -> None:
    rows = [{"table": "snapshots", "id": str(i), "sha256": "ab" * 32} for i in range(3000)]
    assert canonjson._plain(rows)
    for odd in ({"table": 1.0e-5}, {1: "int key"}, {"nested": {"x": float("nan")}}, {"t": (1, 2)}):
        mixed = [*rows, odd]
        assert not canonjson._plain(mixed)
        assert canonjson.dumps(mixed) == canonjson.reference(mixed).encode()
    fine = [*rows, {"nested": {"x": 0.5, "y": [1, "a", None]}}]
    assert canonjson._plain(fine)
    assert canonjson.dumps(fine) == canonjson.reference(fine).encode()
