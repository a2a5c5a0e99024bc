#!/usr/bin/env python3
"""Peer for bench_probe: scikit-learn's LogisticRegression on the same data.

    peer_probe.py DIR      # DIR/X.npy (n, d) float32, DIR/y.npy (n, 1), and the
                           # held-out DIR/Xt.npy, DIR/yt.npy

C = 1 (hyporank's lambda = 1 / C = 1), intercept not penalised. Two solvers,
each at its default tolerance (1e-4): newton-cholesky (the method of
hyporank's Newton solver, which stops at a relative step of 1e-8) and lbfgs
(scikit-learn's default solver; it stops when the gradient of the mean loss
is below 1e-4, where hyporank's L-BFGS stops at 1e-6). Prints a line a
solver, with the AUROC on the held-out rows.
"""
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

d = sys.argv[1]
X = np.load(f"{d}/X.npy")
y = np.load(f"{d}/y.npy")[:, 0].astype(np.int64)
Xt = np.load(f"{d}/Xt.npy")
yt = np.load(f"{d}/yt.npy")[:, 0].astype(np.int64)
for solver in ("newton-cholesky", "lbfgs"):
    m = LogisticRegression(C=1.0, solver=solver, max_iter=1000)
    t0 = time.perf_counter()
    m.fit(X, y)
    t = time.perf_counter() - t0
    auc = roc_auc_score(y, m.decision_function(X))
    # float32 decision values, as hyporank's AUROC rounds them
    auc_t = roc_auc_score(yt, m.decision_function(Xt).astype(np.float32))
    print(f"scikit-learn {solver}: n={X.shape[0]} d={X.shape[1]} C=1: {t:.2f} s, "
          f"{int(np.max(m.n_iter_))} iterations, training AUROC {auc:.6f}, "
          f"held-out AUROC {auc_t:.6f} ({Xt.shape[0]} rows)", flush=True)
