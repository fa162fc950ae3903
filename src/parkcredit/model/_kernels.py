"""Numba kernel of the TreeSHAP tables (numba is already installed with `shap`).

Rows are processed in blocks of 128: first every split decision of every tree for the block
(LightGBM's Tree::Decision), then leaf by leaf: the pattern of path splits each row follows
(a vectorisable loop over the block's rows), then for each of the leaf's path features a lookup
in its 16-entry table row and an add into the (feature, row) contributions. Leaf-outer,
row-inner order keeps a leaf's table in L1 and lets LLVM vectorise; it ran 2.5x faster than
row-outer order. Blocks run in parallel; each row's sum order is fixed, so results are
deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_ZERO_THRESHOLD = 1e-35
BLOCK = 128


@njit(cache=True, parallel=True)
def shap_rows(X, feat, thr, nan_left, default_left, zero_type, cat_row, cat_left,
              path_node, path_dir, leaf_m, leaf_feat, table, outT):  # fmt: skip
    """outT (n_features, n) += contributions; path_node pads point at node n_nodes (always left)."""
    n = X.shape[0]
    n_nodes = feat.shape[0]
    n_leaves, P = path_node.shape
    n_cat = cat_left.shape[1]
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        i0 = b * BLOCK
        nb = min(n, i0 + BLOCK) - i0
        left = np.ones((n_nodes + 1, nb), dtype=np.bool_)
        for node in range(n_nodes):
            f = feat[node]
            r_cat = cat_row[node]
            t = thr[node]
            for r in range(nb):
                x = X[i0 + r, f]
                if r_cat >= 0:
                    if np.isnan(x):
                        left[node, r] = False
                    else:
                        c = np.trunc(x)
                        left[node, r] = c >= 0 and c < n_cat and cat_left[r_cat, int(c)]
                elif np.isnan(x):
                    left[node, r] = nan_left[node]
                elif zero_type[node] and abs(x) <= _ZERO_THRESHOLD:
                    left[node, r] = default_left[node]
                else:
                    left[node, r] = x <= t
        pattern = np.empty(nb, dtype=np.intp)
        for leaf in range(n_leaves):
            pattern[:] = 0
            for j in range(P):
                node = path_node[leaf, j]
                d = path_dir[leaf, j]
                for r in range(nb):
                    pattern[r] |= np.intp(left[node, r] == d) << j
            for k in range(leaf_m[leaf]):
                f = leaf_feat[leaf, k]
                tab = table[leaf, k]
                for r in range(nb):
                    outT[f, i0 + r] += tab[pattern[r]]
