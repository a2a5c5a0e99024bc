#!/usr/bin/env python3
"""Peer for bench_probe: scikit-learn's LogisticRegression on the same data.

    peer_probe.py DIR      # DIR/X.npy (n, d) float32, DIR/y.npy (n, 1)

C = 1 (hyporank's lambda = 1 / C = 1), intercept not penalised. Two solvers:
newton-cholesky (the same method as hyporank, its default tolerance 1e-4)
and lbfgs (sklearn's default, tolerance 1e-4). hyporank stops at a relative
Newton step of 1e-8, a stricter criterion.
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

d = sys.argv[1]
X = np.load(f"{d}/X.npy")
y = np.load(f"{d}/y.npy")[:, 0].astype(np.int64)
for solver in ("newton-cholesky", "lbfgs"):
    m = LogisticRegression(C=1.0, solver=solver, max_iter=1000)
    t0 = time.perf_counter()
    m.fit(X, y)
    t = time.perf_counter() - t0
    auc = roc_auc_score(y, m.decision_function(X))
    print(f"scikit-learn {solver}: n={X.shape[0]} d={X.shape[1]} C=1: {t:.2f} s, "
          f"{int(np.max(m.n_iter_))} iterations, training AUROC {auc:.4f}")
