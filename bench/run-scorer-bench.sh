#!/usr/bin/env bash
# CPU scorer benchmark: hyporank against numpy matmul + scikit-learn
# roc_auc_score per hypothesis (VisDiff's method), same random unit vectors,
# same machine, one run.
#
#     bench/run-scorer-bench.sh [PYTHON] [bench_scorer options...]
#
# PYTHON defaults to the fixture environment (scripts/fixture-venv.sh);
# the defaults are K = 1000, N = 100k (50k + 50k), D = 384. Prints one line
# per figure, the ratio, and the agreement of the two sets of AUROCs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py=${1:-$here/.venv-fixtures/bin/python}
shift || true
bin=${HR_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
"$bin/bench_scorer" --dir "$work" "$@" | tee "$work/ours.txt"
"$py" "$here/bench/peer_scorer.py" --dir "$work" | tee "$work/peer.txt"
"$py" - "$work" <<'PY'
import re, sys, numpy as np
w = sys.argv[1]
ours = float(re.search(r"scorer: ([0-9.]+) s", open(f"{w}/ours.txt").read()).group(1))
peer = float(re.search(r"total: ([0-9.]+) s", open(f"{w}/peer.txt").read()).group(1))
a, b = np.load(f"{w}/auroc.npy")[:, 0], np.load(f"{w}/peer_auroc.npy")[:, 0]
print(f"speed-up over the peer: {peer / ours:.1f}x")
print(f"agreement: max |auroc - peer auroc| = {np.abs(a.astype(np.float64) - b).max():.2e} "
      f"(ours stored as float32; scores from two different sgemm kernels)")
PY
