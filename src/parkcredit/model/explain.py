"""Exact path-dependent TreeSHAP for shallow LightGBM trees, fast, with precomputed leaf tables.

Why it is exact. Path-dependent TreeSHAP (Lundberg et al. 2020) writes a tree's value as a sum
over leaves; leaf ``l`` with value ``v`` and unique path features ``U`` (m of them) contributes
to feature ``i in U``::

    phi_i += v * (o_i - z_i) * sum_{T ⊆ U\\{i}} |T|! (m-|T|-1)! / m! * prod_{t in T} o_t * prod_{t in U\\T\\{i}} z_t

with ``z_t`` the product of the cover fractions (child count / parent count) of the path's
splits on ``t`` and ``o_t`` = 1 when the sample satisfies every split on ``t`` along the path,
else 0. So a leaf's contribution depends on the sample only through the bits "does the sample
follow the path at split j" for the path's splits (Fast TreeSHAP v2, Yang 2021). With depth ≤ 4
(≤ 6 supported) a leaf has ≤ 16 (64) bit patterns: we tabulate every leaf × pattern × path
feature once, and explaining a batch is numpy gathers — split decisions for all nodes, a path
pattern per leaf, a table lookup, a segmented sum per feature. No per-row Python.

The split decisions reproduce LightGBM's own ``Tree::Decision`` (missing types None / Zero /
NaN, default directions, categorical bitsets), so the result equals
``Booster.predict(X, pred_contrib=True)`` up to float summation order (tests: within 1e-9).
Deeper trees fall back to LightGBM's ``pred_contrib``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["MAX_TABLE_DEPTH", "TreeShapTables"]

MAX_TABLE_DEPTH = 6
_ZERO_THRESHOLD = 1e-35  # LightGBM kZeroThreshold
_CHUNK = 2048
_BLOCK = 128  # rows of one block of the numba kernel (`_kernels.BLOCK`)
logger = logging.getLogger(__name__)


@dataclass
class _Leaf:
    value: float
    path: list[tuple[int, bool, int, float]]  # (global node id, went left, feature, cover fraction)


class TreeShapTables:
    """Precomputed TreeSHAP tables of one LightGBM booster.

    ``contributions(X)`` returns (n, n_features + 1): per-feature log-odds, last column the
    expected value, exactly like ``pred_contrib=True``; rows sum to the raw score.
    """

    def __init__(self, model: dict[str, Any]) -> None:
        self.n_features = int(model["max_feature_idx"]) + 1
        self.feature_names: list[str] = list(model.get("feature_names", []))
        feat: list[int] = []
        thr: list[float] = []
        nan_left: list[bool] = []
        default_left: list[bool] = []
        zero_type: list[bool] = []
        cat_sets: dict[int, list[int]] = {}
        leaves: list[_Leaf] = []
        expected = 0.0

        def walk(node: dict[str, Any], path: list[tuple[int, bool, int, float]]) -> None:
            if "leaf_index" in node or "split_index" not in node:
                leaves.append(_Leaf(float(node["leaf_value"]), path))
                return
            gid = len(feat)
            f = int(node["split_feature"])
            feat.append(f)
            dl = bool(node["default_left"])
            mtype = node.get("missing_type", "None")
            default_left.append(dl)
            zero_type.append(mtype == "Zero")
            if node["decision_type"] == "==":
                cat_sets[gid] = [int(c) for c in str(node["threshold"]).split("||")]
                thr.append(np.nan)
                nan_left.append(False)  # LightGBM: NaN goes right at a categorical split
            else:
                t = float(node["threshold"])
                thr.append(t)
                nan_left.append(dl if mtype in ("Zero", "NaN") else t >= 0.0)
            count = float(node["internal_count"])
            for child, left in ((node["left_child"], True), (node["right_child"], False)):
                c = float(child["internal_count"] if "split_index" in child else child["leaf_count"])
                walk(child, [*path, (gid, left, f, c / count)])

        tree_nodes, tree_leaves = [0], [0]  # per-tree node and leaf ranges (for the kernel)
        for tree in model["tree_info"]:
            root = tree["tree_structure"]
            if "split_index" not in root:
                expected += float(root["leaf_value"])
                continue
            walk(root, [])
            expected += _tree_expected(root, float(root["internal_count"]))
            tree_nodes.append(len(feat))
            tree_leaves.append(len(leaves))
        self._tree_nodes = np.asarray(tree_nodes, dtype=np.int64)
        self._tree_leaves = np.asarray(tree_leaves, dtype=np.int64)

        self.expected_value = expected
        self.n_nodes = len(feat)
        self.depth = max((len(leaf.path) for leaf in leaves), default=0)
        self.supported = self.depth <= MAX_TABLE_DEPTH
        self._feat = np.asarray(feat, dtype=np.intp)
        self._feat64 = self._feat.astype(np.int64)
        self._thr = np.asarray(thr, dtype="float64")
        self._nan_left = np.asarray(nan_left, dtype=bool)
        self._default_left = np.asarray(default_left, dtype=bool)
        self._zero_nodes = np.flatnonzero(np.asarray(zero_type, dtype=bool))
        self._cat_nodes = np.asarray(sorted(cat_sets), dtype=np.intp)
        n_cat = max((max(s) for s in cat_sets.values()), default=-1) + 1
        self._cat_left = np.zeros((len(self._cat_nodes), n_cat + 1), dtype=bool)  # last column: out of range
        for r, gid in enumerate(self._cat_nodes):
            self._cat_left[r, cat_sets[int(gid)]] = True
        self._num_nodes = np.setdiff1d(np.arange(self.n_nodes), self._cat_nodes)
        if self.supported:
            self._build_tables(leaves)

    # -- table construction --------------------------------------------------------------------
    def _build_tables(self, leaves: list[_Leaf]) -> None:
        P = max(self.depth, 1)
        n_pat = 1 << P
        n_leaves = len(leaves)
        pad = 2 * self.n_nodes  # a decision column that is always True
        path_idx = np.full((n_leaves, P), pad, dtype=np.intp)
        path_node = np.full((n_leaves, P), -1, dtype=np.int64)
        path_dir = np.zeros((n_leaves, P), dtype=bool)
        table = np.zeros((n_leaves, n_pat, P), dtype="float64")  # value per (leaf, pattern, unique slot)
        slot_feature = np.full((n_leaves, P), -1, dtype=np.intp)
        bits = (np.arange(n_pat)[:, None] >> np.arange(P)[None, :]) & 1  # (n_pat, P) path-position bits
        for li, leaf in enumerate(leaves):
            uniq: list[int] = []
            slot_of = []
            for j, (gid, left, f, _) in enumerate(leaf.path):
                path_idx[li, j] = gid if left else gid + self.n_nodes
                path_node[li, j], path_dir[li, j] = gid, left
                if f not in uniq:
                    uniq.append(f)
                slot_of.append(uniq.index(f))
            m = len(uniq)
            slot_feature[li, :m] = uniq
            z = np.ones(m)
            o = np.ones((n_pat, m), dtype=bool)
            for j, (_, _, _, frac) in enumerate(leaf.path):
                z[slot_of[j]] *= frac
                o[:, slot_of[j]] &= bits[:, j].astype(bool)
            table[li, :, :m] = _leaf_shap(leaf.value, o.astype("float64"), z)
        # flatten to the slots that exist, ordered by feature, for a segmented sum
        li_idx, k_idx = np.nonzero(slot_feature >= 0)
        feats = slot_feature[li_idx, k_idx]
        order = np.argsort(feats, kind="stable")
        self._slot_leaf = li_idx[order]
        self._slot_base = (li_idx[order] * n_pat * P + k_idx[order]).astype(np.intp)
        self._pattern_stride = P
        feats = feats[order]
        self._seg_features, self._seg_starts = np.unique(feats, return_index=True)
        self._table = table.reshape(-1)
        self._path_idx = path_idx
        self._P = P
        self._n_pat = n_pat
        self._path_node = np.where(path_node < 0, self.n_nodes, path_node)  # pad: an always-left node
        self._path_dir = np.where(path_node < 0, True, path_dir)
        self._table_t = np.ascontiguousarray(table.transpose(0, 2, 1))  # (leaf, slot, pattern)
        self._leaf_m = (slot_feature >= 0).sum(axis=1).astype(np.int64)
        self._leaf_feat = np.where(slot_feature >= 0, slot_feature, 0).astype(np.int64)
        cat_row = np.full(self.n_nodes, -1, dtype=np.int64)
        cat_row[self._cat_nodes] = np.arange(len(self._cat_nodes))
        self._cat_row = cat_row
        zt = np.zeros(self.n_nodes, dtype=bool)
        zt[self._zero_nodes] = True
        self._zero_type = zt

    # -- evaluation ----------------------------------------------------------------------------
    def decisions(self, X: np.ndarray) -> np.ndarray:
        """(n, n_nodes) bool: does the sample go left at each split (LightGBM's Tree::Decision)."""
        Xn = X[:, self._feat]
        nan = np.isnan(Xn)
        with np.errstate(invalid="ignore"):
            left = Xn <= self._thr
        if nan.any():
            left = np.where(nan, self._nan_left, left)
        if len(self._zero_nodes):
            z = self._zero_nodes
            sub = Xn[:, z]
            is_zero = np.isnan(sub) | (np.abs(sub) <= _ZERO_THRESHOLD)
            left[:, z] = np.where(is_zero, self._default_left[z], left[:, z])
        if len(self._cat_nodes):
            c = self._cat_nodes
            v = Xn[:, c]
            n_cat = self._cat_left.shape[1] - 1
            t = np.trunc(np.nan_to_num(v, nan=-1.0))  # LightGBM: static_cast<int>, NaN and < 0 go right
            code = np.where(t < 0, n_cat, np.minimum(t, n_cat))
            left[:, c] = self._cat_left[np.arange(len(c))[None, :], code.astype(np.intp)]
        return left

    def contributions(self, X: np.ndarray, *, force_numpy: bool = False) -> np.ndarray:
        """(n, n_features + 1) float64 log-odds contributions; last column the expected value."""
        X = np.ascontiguousarray(X, dtype="float64")
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected a (n, {self.n_features}) matrix, got {X.shape}")
        if not self.supported:
            raise NotImplementedError(f"trees of depth {self.depth} > {MAX_TABLE_DEPTH}: use pred_contrib")
        kernels = _kernel()
        if self.n_nodes and kernels is not None and not force_numpy:
            kernel = kernels[1] if X.shape[0] <= _BLOCK else kernels[0]  # one block: nothing to run in parallel
            out_t = np.zeros((self.n_features + 1, X.shape[0]))
            kernel(
                X, self._feat64, self._thr, self._nan_left, self._default_left, self._zero_type,
                self._cat_row, self._cat_left[:, :-1], self._path_node, self._path_dir, self._leaf_m,
                self._leaf_feat, self._table_t, self._tree_nodes, self._tree_leaves, out_t,
            )  # fmt: skip
            out = np.ascontiguousarray(out_t.T)
        else:
            out = np.zeros((X.shape[0], self.n_features + 1))
            for s in range(0, X.shape[0], _CHUNK):
                out[s : s + _CHUNK, :-1] = self._chunk(X[s : s + _CHUNK])
        out[:, -1] = self.expected_value
        return out

    def _chunk(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        phi = np.zeros((n, self.n_features))
        if self.n_nodes == 0:
            return phi
        left = self.decisions(X)
        follow = np.concatenate([left, ~left, np.ones((n, 1), dtype=bool)], axis=1)
        agree = follow[:, self._path_idx]  # (n, leaves, P)
        pattern = np.zeros(agree.shape[:2], dtype=np.intp)
        for j in range(self._P):
            pattern |= agree[:, :, j].astype(np.intp) << j
        pat = pattern[:, self._slot_leaf]  # (n, slots)
        pat *= self._pattern_stride
        pat += self._slot_base
        values = self._table[pat]
        phi[:, self._seg_features] = np.add.reduceat(values, self._seg_starts, axis=1)
        return phi

    def raw(self, X: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.contributions(X).sum(axis=1)
        return out

    @classmethod
    def from_booster(cls, booster: lgb.Booster) -> TreeShapTables:
        return cls(booster.dump_model())


@lru_cache(maxsize=1)
def _kernel() -> tuple[Callable[..., None], Callable[..., None]] | None:
    """The numba kernels (parallel, serial), or None where numba is not importable (then the numpy path runs)."""
    try:
        from parkcredit.model._kernels import shap_rows, shap_rows_serial
    except ImportError:  # pragma: no cover - numba ships with shap
        logger.info("numba not available: TreeSHAP tables use the numpy path")
        return None
    return shap_rows, shap_rows_serial


def _tree_expected(node: dict[str, Any], total: float) -> float:
    """Sum over leaves of (leaf count / root count) × leaf value (LightGBM Tree::ExpectedValue)."""
    if "split_index" not in node:
        return float(node["leaf_count"]) / total * float(node["leaf_value"])
    return _tree_expected(node["left_child"], total) + _tree_expected(node["right_child"], total)


def _leaf_shap(value: float, o: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(n_patterns, m) contributions of one leaf, for every one-fraction pattern `o` (n_patterns, m)."""
    m = len(z)
    out = np.zeros_like(o)
    for i in range(m):
        others = [t for t in range(m) if t != i]
        acc = np.zeros(o.shape[0])
        for size in range(m):
            w = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for T in combinations(others, size):
                term = np.full(o.shape[0], w)
                for t in others:
                    term = term * (o[:, t] if t in T else z[t])
                acc += term
        out[:, i] = value * (o[:, i] - z[i]) * acc
    return out
