#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with the payload that
# scripts/gpu-pack.sh made: the GPU tests, the GPU benchmarks against their
# peers, and the tests under compute-sanitizer.
#
#     scripts/gpu-check.sh OUT_DIR [STEPS]
#
# STEPS is a comma-separated list, run in the order given (default: all but
# racecheck). Typical seconds on an H100: env 1, tests 25 (test_backends
# --device cuda: every operation of the CUDA backend against the CPU),
# scorer 20, probe 35, rank 15, encoder 250 to 420, sanitize (memcheck) 30,
# racecheck (see below); attention and describe have not run yet (their
# limits are 300).
# Plan a lease by those. Each step has its own time
# limit, so one that hangs costs only its limit. The whole log goes to
# OUT_DIR/log.txt; the last lines printed summarise every step.
set -uo pipefail
out=${1:?usage: gpu-check.sh OUT_DIR [STEPS]}
steps=${2:-env,tests,scorer,probe,rank,describe,encoder,sanitize}
here=$(pwd)
mkdir -p "$out"
work=/tmp/hyporank-gpu
rm -rf "$work" && mkdir -p "$work"
xz -dc .gpu/payload.tar.xz | tar -C "$work" -xf - || { echo "cannot unpack .gpu/payload.tar.xz"; exit 2; }
bin=$work/bin
export LD_LIBRARY_PATH=$work/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# cuBLAS 13: the toolkit's, else the one PyTorch's wheels bring.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         "$(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__) + "/lib")' 2>/dev/null)"; do
    [ -n "$d" ] && [ -e "$d/libcublas.so.13" ] && { export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d; break; }
done
export HR_FIXTURES=$here/tests/fixtures HYPORANK_MODEL=$work/model HR_CLI=$bin/hyporank HR_SOURCE_DIR=$here
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
summary=()

# run NAME LIMIT_S COMMAND...: runs it with a limit; the whole output goes to
# OUT/log.txt, its last lines to stdout.
run() {
    local name=$1 limit=$2; shift 2
    local t0=$EPOCHREALTIME
    echo "=== $name: $*" | tee -a "$out/log.txt"
    timeout -k 5 "$limit" "$@" > "$work/step.txt" 2>&1
    local rc=$?
    local dt=$(awk "BEGIN { print $EPOCHREALTIME - $t0 }")
    cat "$work/step.txt" >> "$out/log.txt"
    tail -n 12 "$work/step.txt"
    summary+=("$(printf '%-34s rc=%-3s %7.1f s' "$name" "$rc" "$dt")")
    return 0
}
step_env() {
    run env 30 bash -c 'nvidia-smi; nvcc --version | tail -1; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH";
        for p in '"$bin"'/*; do ldd "$p" | grep "not found" | sed "s|^|$(basename $p): |"; done; echo ldd-checked; nproc; free -g | head -2'
}
step_tests() {
    run test_backends_gpu 300 "$bin/test_backends" --device cuda
}
step_scorer() {
    run bench_scorer_gpu 180 "$bin/bench_scorer_gpu" --repeat 5
}
step_probe() {
    run bench_probe_gpu 240 "$bin/bench_probe_gpu"
}
step_sanitize() {
    # Fewer generated texts for the encoder checks: instrumented, they are slow.
    HR_TEST_GPU_TEXTS=500 run memcheck_test_backends_gpu 360 \
        compute-sanitizer --tool memcheck --error-exitcode 3 "$bin/test_backends" --device cuda
}
step_racecheck() {
    # Our kernels only (all named *_kernel): racecheck reports cuBLAS's Hopper
    # GEMMs (nvjet_*) as racing, and instrumenting them is slow. On Hopper this
    # filtered run can stop with "Internal Sanitizer Error: failed to handle a
    # hardware exception" in the scorer and encoder checks, which pass plain
    # and under memcheck: a step of its own, not in the default list.
    HR_TEST_GPU_TEXTS=500 run racecheck_test_backends_gpu 360 compute-sanitizer --tool racecheck \
        --kernel-name kns=_kernel --error-exitcode 3 "$bin/test_backends" --device cuda
}
step_encoder() {
    run bench_encoder_gpu 420 bash "$here/bench/run-encoder-bench-gpu.sh" "$work/data" "$bin" \
        "$work/model" "$work"
}
step_attention() {
    run bench_attention_gpu 300 bash "$here/bench/run-attention-bench-gpu.sh" "$work/data" "$bin" \
        "$work/model" "$work"
}
step_describe() {
    run describe_end_to_end 300 bash "$here/bench/run-describe-end-to-end.sh" "$work/data" "$bin" \
        "$work/model" "$work"
}
step_rank() {
    run rank_end_to_end 300 bash "$here/bench/run-rank-end-to-end.sh" "$work/data" "$bin" \
        "$work/model" "$work"
}

for step in ${steps//,/ }; do
    case $step in
    env | tests | scorer | probe | sanitize | racecheck | encoder | attention | rank | describe)
        "step_$step" ;;
    *) echo "gpu-check.sh: unknown step '$step'" >&2 ;;
    esac
done

echo
echo "=== summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null))"
printf '%s\n' "${summary[@]}" | tee "$out/summary.txt"
