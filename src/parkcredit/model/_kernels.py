"""Numba kernel of the TreeSHAP tables (numba is already installed with `shap`).

Rows are processed in blocks of 128: first every split decision of every tree for the block
(LightGBM's Tree::Decision), then leaf by leaf: the pattern of path splits each row follows
(a vectorisable loop over the block's rows), then for each of the leaf's path features a lookup
in its 16-entry table row and an add into the (feature, row) contributions. Leaf-outer,
row-inner order keeps a leaf's table in L1 and lets LLVM vectorise; it ran 2.5x faster than
row-outer order. Blocks run in parallel; each row's sum order is fixed, so results are
deterministic. A batch of one block runs `shap_rows_serial` (no parallel launch).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_ZERO_THRESHOLD = 1e-35
BLOCK = 128


@njit(cache=True, parallel=True)
def shap_rows(X: np.ndarray, feat: np.ndarray, thr: np.ndarray, nan_left: np.ndarray, default_left: np.ndarray,
              zero_type: np.ndarray, cat_row: np.ndarray, cat_left: np.ndarray, path_node: np.ndarray,
              path_dir: np.ndarray, leaf_m: np.ndarray, leaf_feat: np.ndarray, table: np.ndarray,
              tree_nodes: np.ndarray, tree_leaves: np.ndarray, outT: np.ndarray) -> None:  # fmt: skip
    """outT (n_features, n) += contributions, tree by tree.

    Tree t owns nodes tree_nodes[t]:tree_nodes[t+1] and leaves tree_leaves[t]:tree_leaves[t+1];
    path_node pads hold n_nodes (an always-left node). A tree's split decisions for a block
    (<= 63 nodes x 128 rows) stay in L1 while its leaves are evaluated.
    """
    n = X.shape[0]
    n_nodes = feat.shape[0]
    P = path_node.shape[1]
    n_cat = cat_left.shape[1]
    n_trees = tree_nodes.shape[0] - 1
    max_nodes = 1
    for t in range(n_trees):
        max_nodes = max(max_nodes, tree_nodes[t + 1] - tree_nodes[t])
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        i0 = b * BLOCK
        nb = min(n, i0 + BLOCK) - i0
        left = np.ones((max_nodes + 1, nb), dtype=np.bool_)  # last row: the always-left pad
        pattern = np.empty(nb, dtype=np.intp)
        for t in range(n_trees):
            ns = tree_nodes[t]
            for node in range(ns, tree_nodes[t + 1]):
                f = feat[node]
                r_cat = cat_row[node]
                th = thr[node]
                row = node - ns
                for r in range(nb):
                    x = X[i0 + r, f]
                    if r_cat >= 0:
                        if np.isnan(x):
                            left[row, r] = False
                        else:
                            c = np.trunc(x)
                            left[row, r] = c >= 0 and c < n_cat and cat_left[r_cat, int(c)]
                    elif np.isnan(x):
                        left[row, r] = nan_left[node]
                    elif zero_type[node] and abs(x) <= _ZERO_THRESHOLD:
                        left[row, r] = default_left[node]
                    else:
                        left[row, r] = x <= th
            for leaf in range(tree_leaves[t], tree_leaves[t + 1]):
                pattern[:] = 0
                for j in range(P):
                    node = path_node[leaf, j]
                    row = max_nodes if node == n_nodes else node - ns
                    d = path_dir[leaf, j]
                    for r in range(nb):
                        pattern[r] |= np.intp(left[row, r] == d) << j
                for k in range(leaf_m[leaf]):
                    f = leaf_feat[leaf, k]
                    tab = table[leaf, k]
                    for r in range(nb):
                        outT[f, i0 + r] += tab[pattern[r]]


# The same kernel compiled without threads, for batches of one block (the API's one enterprise): prange
# runs as range, so every row's sums are the same operations in the same order — the same bits — and
# the launch of the parallel region (~5 ms a call with OpenMP on this 2-core machine, for one row of
# ~0.08 ms of work) is gone.
shap_rows_serial = njit(cache=True)(shap_rows.py_func)
