#!/usr/bin/env bash
# End to end on a GPU machine: `hyporank rank` with 1,000 hypotheses over
# 1,000,000 texts, from text files to JSON, and where the time goes.
#
#     bench/run-rank-end-to-end.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR
#
# DATA_DIR holds the ABC headlines (2020.*.jsonl, 2019.*.jsonl). The texts
# are distinct pairs of headlines of one year joined by ". " (A: 500,000
# from 2020, B: 500,000 from 2019; about 24 tokens each); the hypotheses the
# first 1,000 of the built-in bank (host/discovery/data/hypothesis-bank.txt). No cache,
# so every text is embedded. Runs twice: --score-method cosine (the
# default) and contrast.
# HR_E2E_PER_SIDE (500000) and HR_E2E_DEVICE (cuda) shrink it for a trial
# on a machine without a GPU.
set -euo pipefail
data=$1 bin=$2 model=$3 work=$4
per_side=${HR_E2E_PER_SIDE:-500000}
device=${HR_E2E_DEVICE:-cuda}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
python3 "$here/bench/make-headline-pairs.py" "$data" "$work" "$per_side"
grep -v '^#' "$here/host/discovery/data/hypothesis-bank.txt" | grep -v '^[[:space:]]*$' | head -n 1000 > "$work/h.txt"
wc -l "$work/a.jsonl" "$work/b.jsonl" "$work/h.txt"
for method in cosine contrast; do
    echo "--- rank, --score-method $method, --device $device"
    TIMEFORMAT="wall %R s"
    time "$bin/hyporank" rank --a "$work/a.jsonl" \
        --b "$work/b.jsonl" --hypotheses "$work/h.txt" --model "$model" --device "$device" \
        --no-cache --score-method "$method" --json "$work/rank-$method.json" --top 5
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('seconds', d['seconds'], 'encoder', d['encoder']['device'], 'scorer', d['scorer']['device'])" "$work/rank-$method.json"
done
