#!/usr/bin/env bash
# GPU encoder benchmark: hyporank's CUDA encoder against sentence-transformers
# (PyTorch, CUDA, FP16) on the same GPU and the same texts, in one run, and
# the agreement of their embeddings. Runs on the GPU machine (the "encoder"
# step of scripts/gpu-check.sh); needs python3 with torch,
# sentence-transformers, numpy and tokenizers (or transformers), no network.
#
#     bench/run-encoder-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR
#
# DATA_DIR holds the ABC headlines (*.jsonl, 74,300 texts together), BIN_DIR
# bench_encoder, MODEL_DIR the model folder; WORK_DIR is scratch space (the
# files go to WORK_DIR/encoder-bench). PEER_BATCHES (default "256 1024") are
# the peer's batch sizes tried on the headlines; the fastest of them is used
# for the fixed lengths. FIXED (default "16:100000 64:50000 128:50000") lists
# the fixed lengths as TOKENS:TEXTS.
#
#   (a) all headlines: hyporank-cuda and the peer at each batch size (best
#       of 3 passes each), hyporank-cpu on the first 10,000 headlines; then
#       the agreement (cosine per text): hyporank-cuda against PyTorch-fp16
#       on all, hyporank-cuda against hyporank-cpu on the first 10,000 (must
#       be >= 0.9995, else the script fails), PyTorch-fp16 against
#       hyporank-cpu for scale.
#   (b) texts of exactly 16 (100,000 texts), 64 and 128 tokens (50,000 each),
#       made by bench/make-fixed-length-texts.py from the headlines' words:
#       both encoders, best of 3 passes.
#   (c) hyporank-cuda's batch budget (host/backends/cuda/encoder_gpu.c, default 32768
#       tokens) at 8192, 16384 and 65536 tokens, on the headlines and the
#       128-token texts.
#
# Every line says what it measured: encoder (and GPU), texts, texts/s,
# tokens/s. The exit status is 0 only when every step ran and the agreement
# bar held.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: run-encoder-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR}
bin=${2:?usage: run-encoder-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR}
model=${3:?usage: run-encoder-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR}
w=${4:?usage: run-encoder-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR}/encoder-bench
py=${PYTHON:-python3}
peer_batches=${PEER_BATCHES:-256 1024}
fixed=${FIXED:-16:100000 64:50000 128:50000}
threads=$(nproc)
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
rm -rf "$w" && mkdir -p "$w"
failed=0
t_start=$SECONDS

# note CMD...: runs it; a failure is reported and remembered, and the rest goes on.
note() {
    "$@"
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAILED (exit $rc): $*"
        failed=1
    fi
    return $rc
}
hyporank() { # hyporank DEVICE IN LABEL [more bench_encoder options]
    local dev=$1 in=$2 label=$3
    shift 3
    note "$bin/bench_encoder" --device "$dev" --in "$in" --model "$model" --threads "$threads" \
        --label "$label" "$@"
}
peer() { # peer BATCH IN TAG LABEL [more peer options]; its output also stays in $w/peer-TAG-BATCH.txt
    local b=$1 in=$2 tag=$3 label=$4
    shift 4
    note "$py" "$here/bench/peer_sentence_transformers.py" --in "$in" --model "$model" \
        --device cuda --fp16 --batch-size "$b" --label "$label, batch $b" "$@" > "$w/peer-$tag-$b.txt" 2>&1
    local rc=$?
    grep -v -i -E "warn|loading weights|it/s\]|^\s*$" "$w/peer-$tag-$b.txt" | tail -n 5
    return $rc
}
# agree A.npy B.npy LABEL [ROWS [MIN]]: cosine per text of the first ROWS rows
# (all when empty; at most the shorter's rows); fails when MIN is given and the
# smallest is below it.
agree() {
    note "$py" - "$@" <<'PY'
import sys
import numpy as np
a, b, label = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
rows = min(len(a), len(b))
if len(sys.argv) > 4 and sys.argv[4]:
    rows = min(rows, int(sys.argv[4]))
if rows == 0 or a.shape[1] != b.shape[1]:
    print(f"agreement {label}: shapes {a.shape} and {b.shape} do not match")
    sys.exit(1)
a, b = a[:rows].astype(np.float64), b[:rows].astype(np.float64)
cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)
line = (f"agreement {label}: {rows} texts, min cosine {cos.min():.6f} (text {cos.argmin()}), "
        f"mean {cos.mean():.7f}, below 0.9995: {(cos < 0.9995).sum()}")
if len(sys.argv) > 5:
    bar = float(sys.argv[5])
    ok = cos.min() >= bar
    print(f"{line}; bar min >= {bar}: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)
print(line)
PY
}
# rate FILE: the texts/s figure of the line in FILE (0 when none).
rate() { sed -n 's/.* \([0-9.]*\) texts\/s.*/\1/p' "$1" 2>/dev/null | tail -1 | grep . || echo 0; }

gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "# $(date -u +%F) encoder benchmark: GPU ${gpu:-unknown}; CPU $(lscpu | sed -n 's/^Model name: *//p'), $threads threads;" \
     "$("$py" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)"
echo "# every figure: best of the passes after a warm-up; tokens = real tokens ([CLS], [SEP] included, after truncation)"

# ---- (a) all headlines
cat "$data"/*.jsonl > "$w/headlines.jsonl"
head -n 10000 "$w/headlines.jsonl" > "$w/headlines-10k.jsonl"
n10k=$(wc -l < "$w/headlines-10k.jsonl")
echo "## (a) all $(wc -l < "$w/headlines.jsonl") headlines ($data)"
hyporank cuda "$w/headlines.jsonl" "headlines" --repeat 3 --out "$w/headlines.cuda.npy"
best_b='' best_rate=0
for b in $peer_batches; do
    peer "$b" "$w/headlines.jsonl" headlines headlines --repeat 3 --out "$w/headlines.st-b$b.npy"
    r=$(rate "$w/peer-headlines-$b.txt")
    if awk "BEGIN { exit !($r > $best_rate) }"; then best_b=$b best_rate=$r; fi
done
best_b=${best_b:-${peer_batches%% *}}
echo "peer's best batch size on the headlines: $best_b ($best_rate texts/s); used below"
hyporank cpu "$w/headlines-10k.jsonl" "first $n10k headlines" --repeat 1 --out "$w/headlines-10k.cpu.npy"
agree "$w/headlines.cuda.npy" "$w/headlines.st-b$best_b.npy" \
    "hyporank-cuda vs sentence-transformers-cuda-fp16 (batch $best_b), all headlines"
agree "$w/headlines.cuda.npy" "$w/headlines-10k.cpu.npy" \
    "hyporank-cuda vs hyporank-cpu, first $n10k headlines" "$n10k" 0.9995
agree "$w/headlines.st-b$best_b.npy" "$w/headlines-10k.cpu.npy" \
    "sentence-transformers-cuda-fp16 vs hyporank-cpu (for scale), first $n10k headlines" "$n10k"
echo "# (a) done at $((SECONDS - t_start)) s"

# ---- (b) fixed lengths
echo "## (b) texts of exactly L tokens (one-token words of the headlines, random order)"
for spec in $fixed; do
    L=${spec%%:*} n=${spec##*:}
    f="$w/fixed-$L.jsonl"
    note "$py" "$here/bench/make-fixed-length-texts.py" --model "$model" --tokens "$L" --n "$n" \
        --words-from "$w/headlines.jsonl" --out "$f" || continue
    hyporank cuda "$f" "$L tokens x $n texts" --repeat 3
    peer "$best_b" "$f" "fixed-$L" "$L tokens x $n texts" --repeat 3
done
echo "# (b) done at $((SECONDS - t_start)) s"

# ---- (c) the batch budget
echo "## (c) hyporank-cuda batch budget (default 32768 tokens, in (a) and (b))"
for bt in 8192 16384 65536; do
    hyporank cuda "$w/headlines.jsonl" "headlines" --repeat 3 --batch-tokens "$bt"
    [ -f "$w/fixed-128.jsonl" ] &&
        hyporank cuda "$w/fixed-128.jsonl" "128 tokens x $(wc -l < "$w/fixed-128.jsonl") texts" \
            --repeat 3 --batch-tokens "$bt"
done
echo "# done in $((SECONDS - t_start)) s; $([ $failed -eq 0 ] && echo "every step ran, agreement bar held" || echo "SOME STEP FAILED (see FAILED above)")"
exit $failed
