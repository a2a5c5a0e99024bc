#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...]: builds the libFuzzer harnesses of
# tests/fuzz/ with clang (ASan + UBSan) in build-fuzz/ (or $HR_FUZZ_BUILD_DIR)
# and runs each for SECONDS (default 60), starting from its seed corpus
# tests/fuzz/corpus/<target>/ plus what earlier runs found
# (build-fuzz/corpus/<target>/). A crash, a sanitizer report, a timeout or
# running out of memory is a finding: its input is kept in
# build-fuzz/artifacts/<target>/ (and copied to $HR_FUZZ_ARTIFACTS when set),
# the remaining targets still run, and the script exits 1. Reproduce one with
#     build-fuzz/fuzz_<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
build=${HR_FUZZ_BUILD_DIR:-$here/build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/install-deps.sh)" >&2; exit 2; }

CC=clang HR_BUILD_DIR=$build "$here/scripts/build.sh" -DHR_FUZZ=ON -DHR_CUDA=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for src in "$here"/tests/fuzz/fuzz_*.c; do
        t=$(basename "$src" .c)
        targets+=("${t#fuzz_}")
    done
fi

failed=()
for t in "${targets[@]}"; do
    corpus=$build/corpus/$t
    artifacts=$build/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    seeds=$here/tests/fuzz/corpus/$t
    echo "== fuzz $t: ${secs} s" >&2
    set +e
    TMPDIR=${TMPDIR:-/tmp} "$build/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) > "$build/fuzz_$t.log" 2>&1
    rc=$?
    set -e
    grep -E "^(Done|stat::number_of_executed_units)" "$build/fuzz_$t.log" >&2 || true
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        tail -n 40 "$build/fuzz_$t.log" >&2
        if [ -n "${HR_FUZZ_ARTIFACTS:-}" ]; then
            mkdir -p "$HR_FUZZ_ARTIFACTS/$t"
            cp "$artifacts"/* "$HR_FUZZ_ARTIFACTS/$t/" 2>/dev/null || true
        fi
        echo "fuzz: $t found a problem (exit $rc); the input is in $artifacts/" >&2
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: findings in ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs} s each, no finding" >&2
