#!/usr/bin/env bash
# Probe fit benchmark: hyporank's hr_probe_fit against scikit-learn on the
# same data (n = 1,000,000 rows of 384 unless N and D are given), one run.
#     bench/run-probe-bench.sh [N] [D] [PYTHON]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-1000000}
d=${2:-384}
py=${3:-$here/.venv-fixtures/bin/python}
bin=${HR_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
"$bin/bench_probe" --n "$n" --d "$d" --out-dir "$work"
"$py" "$here/bench/peer_probe.py" "$work"
