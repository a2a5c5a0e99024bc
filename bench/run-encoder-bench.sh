#!/usr/bin/env bash
# CPU encoder benchmark: hyporank against sentence-transformers (PyTorch,
# CPU) on the same machine, same texts, same threads, in one run.
#
#     bench/run-encoder-bench.sh [DATA_DIR] [PYTHON]
#
# DATA_DIR defaults to ../shared/data/abc-headlines; PYTHON to the fixture
# environment (scripts/fixture-venv.sh). Prints one line per figure, then the
# agreement of the two sets of embeddings (cosine per text).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$here/../shared/data/abc-headlines}
py=${2:-$here/.venv-fixtures/bin/python}
bin=${HR_BUILD_DIR:-$here/build}
model=${HYPORANK_MODEL:-$here/models/all-MiniLM-L6-v2}
threads=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat "$data/2020.validation.jsonl" "$data/2019.validation.jsonl" > "$work/headlines.jsonl"
# Long texts: 600 paragraphs of 20 to 40 headlines (most reach the 256-token limit).
"$py" - "$data/2020.research.jsonl" "$work/long.jsonl" <<'PY'
import json, random, sys
rng = random.Random(7)
with open(sys.argv[1], encoding="utf-8") as f:
    h = [json.loads(l)["text"] for l in f if l.strip()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for _ in range(600):
        f.write(json.dumps({"text": ". ".join(rng.sample(h, rng.randint(20, 40)))}) + "\n")
PY

echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $threads threads"
for set in headlines long; do
    "$bin/bench_encoder" --in "$work/$set.jsonl" --model "$model" --threads "$threads" \
        --repeat 2 --label "$set" --out "$work/$set.hyporank.npy"
    HF_HUB_OFFLINE=1 "$py" "$here/bench/peer_sentence_transformers.py" --in "$work/$set.jsonl" \
        --model "$model" --threads "$threads" --repeat 2 --label "$set" --out "$work/$set.st.npy"
    "$py" - "$work/$set.hyporank.npy" "$work/$set.st.npy" "$set" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
print(f"agreement {sys.argv[3]}: min cosine {cos.min():.8f}, mean {cos.mean():.8f}")
PY
done
