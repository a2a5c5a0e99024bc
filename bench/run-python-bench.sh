#!/usr/bin/env bash
# The Python package's overhead on rank: hyporank.rank on numpy arrays
# against the same hr_rank_run from C (bench/bench_rank.c), K = 1,000
# hypotheses over N = 100k (50k + 50k) texts, D = 384, same data, same
# machine, one run. The two alternate (C, Python, C, Python, ...) so that
# drift on a shared machine hits both, and each keeps its best.
#
#     bench/run-python-bench.sh PYTHON [ROUNDS]
#
# PYTHON: an interpreter with the package installed (scripts/test-python.sh
# leaves one in .venv-test). Prints one line per figure and the ratios.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py=${1:?usage: bench/run-python-bench.sh PYTHON [ROUNDS]}
rounds=${2:-3}
bin=${HR_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
"$bin/bench_scorer" --dir "$work" --repeat 1 | head -2   # the data, and the scorer alone
for r in $(seq "$rounds"); do
    "$bin/bench_rank" --dir "$work" | tee -a "$work/c.txt"
    "$py" "$here/bench/peer_python_rank.py" --dir "$work" | tee -a "$work/py.txt"
done
"$py" - "$work" <<'PY'
import re, sys
w = sys.argv[1]
def best(path, what, clock):
    i = 0 if clock == "wall" else 1
    found = re.findall(rf"^{what}: ([0-9.]+) s wall, ([0-9.]+) s cpu", open(path).read(), re.M)
    return min(float(f[i]) for f in found)
for clock in ("wall", "cpu"):
    c, p = best(f"{w}/c.txt", "c rank", clock), best(f"{w}/py.txt", "python rank", clock)
    cj, pj = best(f"{w}/c.txt", r"c rank \+ json", clock), best(f"{w}/py.txt", r"python rank \+ rows", clock)
    print(f"{clock}, best of all rounds: C {c:.4f} s, Python {p:.4f} s: overhead {100 * (p / c - 1):+.1f}%; "
          f"with the rows: C (+ JSON) {cj:.4f} s, Python (+ rows parsed) {pj:.4f} s: {100 * (pj / cj - 1):+.1f}%")
PY
