"""The Python package's rank on numpy arrays, against bench/bench_rank.c.

    python bench/peer_python_rank.py --dir DIR [--method cosine] [--threads N] [--repeat 5]

Loads DIR/a.npy, b.npy, h.npy with numpy (C-contiguous float32, handed to
the library where they lie), runs hyporank.rank on the CPU, best of --repeat
after one warm-up, and prints the same figures as bench_rank: the call, and
the call with its rows read (the JSON parsed into Hypothesis objects), in
wall-clock and in the process's CPU seconds.
"""

import argparse
import time

import numpy as np

import hyporank as hr
from hyporank import _native

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--method", default="cosine")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--repeat", type=int, default=5)
args = ap.parse_args()

a, b, h = (np.load(f"{args.dir}/{n}.npy") for n in ("a", "b", "h"))
print(f"# python hyporank {hr.__version__}: K {len(h)}, N {len(a) + len(b)}, {args.method}, "
      f"openblas {_native.blas_kernels()}")
best = best_rows = cpu = cpu_rows = float("inf")
for rep in range(args.repeat + 1):  # rep 0: the warm-up
    c0, t0 = time.process_time(), time.perf_counter()
    res = hr.rank(a_emb=a, b_emb=b, h_emb=h, method=args.method, device="cpu", threads=args.threads,
                  progress=False)
    t1, c1 = time.perf_counter(), time.process_time()
    rows = res.hypotheses
    t2, c2 = time.perf_counter(), time.process_time()
    assert len(rows) == len(h)
    if rep:
        best, best_rows = min(best, t1 - t0), min(best_rows, t2 - t0)
        cpu, cpu_rows = min(cpu, c1 - c0), min(cpu_rows, c2 - c0)
print(f"python rank: {best:.4f} s wall, {cpu:.4f} s cpu")
print(f"python rank + rows: {best_rows:.4f} s wall, {cpu_rows:.4f} s cpu")
