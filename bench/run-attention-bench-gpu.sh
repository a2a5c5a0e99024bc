#!/usr/bin/env bash
# The GPU encoder at fixed lengths against a bare PyTorch FP16 forward of the
# same weights (bench/peer_torch_sdpa.py: scaled_dot_product_attention on
# padded batches), with either attention kernel of hyporank: the FP32 one
# (the default) and the tensor-core one (HYPORANK_GPU_ATTENTION=flash). Runs
# on the GPU machine (the "attention" step of scripts/gpu-check.sh); needs
# python3 with torch, tokenizers, safetensors and numpy, no network.
#
#     bench/run-attention-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR
#
# LENGTHS (default "16:50000 64:20000 128:20000 256:10000") lists TOKENS:TEXTS;
# the texts are made by bench/make-fixed-length-texts.py from the headlines'
# words. PEER_BATCH (default 512) is the peer's batch size. For each length:
# hyporank-cuda (FP32 attention), hyporank-cuda (flash), the peer, best of 3
# passes each; then the agreement of the flash kernel's embeddings with
# hyporank-cpu on the first 2,000 texts of 64 tokens (must be >= 0.9995, else
# the script fails) and with the peer's on every length.
#
# The targets (issue "Speed, round two", item 1): at least 2x the peer at
# every length, and tokens/s within 30% across the lengths.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
usage="usage: run-attention-bench-gpu.sh DATA_DIR BIN_DIR MODEL_DIR WORK_DIR"
data=${1:?$usage}
bin=${2:?$usage}
model=${3:?$usage}
w=${4:?$usage}/attention-bench
py=${PYTHON:-python3}
lengths=${LENGTHS:-16:50000 64:20000 128:20000 256:10000}
peer_batch=${PEER_BATCH:-512}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
rm -rf "$w" && mkdir -p "$w"
failed=0

note() {
    "$@"
    local rc=$?
    [ $rc -ne 0 ] && echo "FAILED (exit $rc): $*" && failed=1
    return $rc
}
agree() { # agree A.npy B.npy LABEL [ROWS [MIN]]
    note "$py" - "$@" <<'PY'
import sys
import numpy as np
a, b, label = np.load(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
rows = min(len(a), len(b), int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] else len(a))
a, b = a[:rows].astype(np.float64), b[:rows].astype(np.float64)
cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-30)
line = f"agreement {label}: {rows} texts, min cosine {cos.min():.6f}, mean {cos.mean():.7f}"
if len(sys.argv) > 5:
    ok = cos.min() >= float(sys.argv[5])
    print(f"{line}; bar min >= {sys.argv[5]}: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)
print(line)
PY
}

gpu=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "# $(date -u +%F) attention benchmark: GPU ${gpu:-unknown};" \
     "$("$py" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null)"
cat "$data"/*.jsonl > "$w/headlines.jsonl"
for spec in $lengths; do
    L=${spec%%:*} n=${spec##*:}
    f="$w/fixed-$L.jsonl"
    note "$py" "$here/bench/make-fixed-length-texts.py" --model "$model" --tokens "$L" --n "$n" \
        --words-from "$w/headlines.jsonl" --out "$f" || continue
    note "$bin/bench_encoder" --device cuda --in "$f" --model "$model" --threads "$(nproc)" \
        --repeat 3 --label "$L tokens x $n texts, FP32 attention" --out "$w/fixed-$L.cuda.npy"
    HYPORANK_GPU_ATTENTION=flash note "$bin/bench_encoder" --device cuda --in "$f" --model "$model" \
        --threads "$(nproc)" --repeat 3 --label "$L tokens x $n texts, flash attention" \
        --out "$w/fixed-$L.flash.npy"
    note "$py" "$here/bench/peer_torch_sdpa.py" --in "$f" --model "$model" --device cuda --fp16 \
        --batch-size "$peer_batch" --repeat 3 --label "$L tokens x $n texts, batch $peer_batch" \
        --out "$w/fixed-$L.torch.npy"
    agree "$w/fixed-$L.flash.npy" "$w/fixed-$L.torch.npy" "flash vs torch-sdpa-fp16, $L tokens"
    agree "$w/fixed-$L.flash.npy" "$w/fixed-$L.cuda.npy" "flash vs FP32 attention, $L tokens"
done
if [ -f "$w/fixed-64.jsonl" ]; then
    head -n 2000 "$w/fixed-64.jsonl" > "$w/fixed-64-2k.jsonl"
    note "$bin/bench_encoder" --device cpu --in "$w/fixed-64-2k.jsonl" --model "$model" \
        --threads "$(nproc)" --label "64 tokens x 2000 texts" --out "$w/fixed-64-2k.cpu.npy"
    agree "$w/fixed-64.flash.npy" "$w/fixed-64-2k.cpu.npy" "flash vs hyporank-cpu, 64 tokens" 2000 0.9995
fi
echo "# $([ $failed -eq 0 ] && echo "every step ran, agreement bar held" || echo "SOME STEP FAILED (see FAILED above)")"
exit $failed
