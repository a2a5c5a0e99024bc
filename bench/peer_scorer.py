#!/usr/bin/env python3
"""Peer for bench/bench_scorer.c: VisDiff's way of ranking hypotheses.

    python bench/peer_scorer.py --dir DIR [--out DIR/peer_auroc.npy]

Reads DIR/a.npy, DIR/b.npy, DIR/h.npy (written by bench_scorer --dir), then
scores every hypothesis on every sample with one numpy matmul, S = H X^T
(float32, the whole K x N matrix), and computes sklearn.metrics.roc_auc_score
per hypothesis, A the positive class, as VisDiff does. Prints one line per
figure: the matmul, the AUROCs, and the total.
"""
import argparse
import os
import time

import numpy as np
from sklearn.metrics import roc_auc_score

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--out", default=None)
args = ap.parse_args()

a = np.load(os.path.join(args.dir, "a.npy"))
b = np.load(os.path.join(args.dir, "b.npy"))
h = np.load(os.path.join(args.dir, "h.npy"))
x = np.concatenate([a, b])  # (N, D), A first
y = np.r_[np.ones(len(a)), np.zeros(len(b))]
np.dot(h[:8], x[:1000].T)  # warm-up: load BLAS

t0 = time.perf_counter()
s = h @ x.T  # (K, N) float32
t1 = time.perf_counter()
auroc = np.array([roc_auc_score(y, row) for row in s])
t2 = time.perf_counter()

k, n = s.shape
print(f"numpy matmul (K x N materialised, {s.nbytes / 2**20:.0f} MiB): {t1 - t0:.3f} s")
print(f"sklearn roc_auc_score x {k}: {t2 - t1:.3f} s ({(t2 - t1) / k * 1e3:.2f} ms a hypothesis)")
print(f"peer numpy+sklearn (VisDiff) total: {t2 - t0:.3f} s for K {k} x N {n} "
      f"({k / (t2 - t0):.1f} hypotheses/s)")
np.save(args.out or os.path.join(args.dir, "peer_auroc.npy"), auroc.reshape(-1, 1))
