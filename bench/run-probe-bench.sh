#!/usr/bin/env bash
# Probe fit benchmark: hyporank's hr_probe_fit (Newton, then L-BFGS) against
# scikit-learn (newton-cholesky, then lbfgs) on the same data: n = 1,000,000
# training rows of 384 unless N and D are given, a fifth as many held-out rows,
# in each shape of bench_probe (iso, embedding), one run each.
#     bench/run-probe-bench.sh [N] [D] [PYTHON]
# PYTHON needs numpy and scikit-learn (default: .venv-fixtures, made by
# scripts/fixture-venv.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
d=${2:-384}
py=${3:-$here/.venv-fixtures/bin/python}
bin=${HR_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
for shape in embedding iso; do
    "$bin/bench_probe" --n "$n" --d "$d" --shape "$shape" --out-dir "$work"
    "$py" "$here/bench/peer_probe.py" "$work"
done
