#!/usr/bin/env bash
# End to end: `hyporank describe` offline on 1,000,000 texts (500,000 a
# side), from text files to the JSON report, and where the time goes (the
# report's "seconds": read, propose, embed, score, findings, report).
#
#     bench/run-describe-end-to-end.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR
#
# DATA_DIR holds the ABC headlines (2020.*.jsonl, 2019.*.jsonl); the texts
# are bench/make-headline-pairs.py's (A from 2020, B from 2019). Defaults:
# the built-in bank, words and clusters, no LLM, no cache (every text is
# embedded). The wall clock is the whole process's. HR_E2E_PER_SIDE
# (500000) and HR_E2E_DEVICE (cuda) shrink it for a trial on a machine
# without a GPU.
set -euo pipefail
data=$1 bin=$2 model=$3 work=$4
per_side=${HR_E2E_PER_SIDE:-500000}
device=${HR_E2E_DEVICE:-cuda}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
python3 "$here/bench/make-headline-pairs.py" "$data" "$work" "$per_side"
wc -l "$work/a.jsonl" "$work/b.jsonl"
echo "--- describe, --device $device"
TIMEFORMAT="wall %R s (user %U s, system %S s)"
time "$bin/hyporank" describe --a "$work/a.jsonl" --b "$work/b.jsonl" --model "$model" \
    --device "$device" --no-cache --json "$work/describe.json"
python3 - "$work/describe.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("seconds", {k: round(v, 3) for k, v in d["seconds"].items()})
print("encoder", d["encoder"]["device"], "scorer", d["scorer"]["device"],
      "findings", d["findings_a"], "+", d["findings_b"])
PY
