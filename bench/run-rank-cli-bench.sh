#!/usr/bin/env bash
# The CPU scorer as a user runs it: `hyporank rank --a-emb --b-emb --h-emb
# --json` (the default method, with shares, effects and findings) against the
# numpy + scikit-learn loop (bench/peer_scorer.py: one matmul, then
# roc_auc_score per hypothesis), on the same random unit vectors, in the
# same run. K = 1000 hypotheses over N = 50k + 50k texts, D = 384 unless
# bench_scorer options say otherwise.
#
#     bench/run-rank-cli-bench.sh [PYTHON] [RUNS] [bench_scorer options...]
#
# The program runs RUNS times (default 5) and the peer twice, alternating;
# the wall clock of each run of the program (the process, as `time` sees
# it) and the peer's total are printed, then the ratio of the medians.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
py=${1:-$here/.venv-fixtures/bin/python}
runs=${2:-5}
shift 2 || shift $# || true
bin=${HR_BUILD_DIR:-$here/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
"$bin/bench_scorer" --dir "$work" "$@" > /dev/null
ours=() peer=()
for ((r = 0; r < runs; r++)); do
    t0=$(date +%s.%N)
    "$bin/hyporank" rank --a-emb "$work/a.npy" --b-emb "$work/b.npy" --h-emb "$work/h.npy" \
        --json "$work/rank.json" --quiet > /dev/null
    t1=$(date +%s.%N)
    ours+=("$(echo "$t1 - $t0" | bc -l)")
    echo "hyporank rank: $(printf '%.3f' "${ours[-1]}") s"
    if ((r < 2)); then
        p=$("$py" "$here/bench/peer_scorer.py" --dir "$work" | sed -n 's/.*total: \([0-9.]*\) s.*/\1/p')
        peer+=("$p")
        echo "peer numpy + scikit-learn: $p s"
    fi
done
"$py" - "$work" "${ours[*]}" "${peer[*]}" <<'PY'
import json, sys, numpy as np
w, ours, peer = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
j = json.load(open(f"{w}/rank.json"))
mine = {h["index"]: h["auroc"] for h in j["hypotheses"]}
theirs = np.load(f"{w}/peer_auroc.npy")[:, 0]
diff = max(abs(mine[i] - float(theirs[i])) for i in mine)
print(f"median: hyporank {np.median(ours):.3f} s, peer {np.median(peer):.3f} s: "
      f"{np.median(peer) / np.median(ours):.1f}x")
print(f"agreement: max |auroc - peer auroc| = {diff:.2e} over {len(mine)} hypotheses")
PY
