#!/usr/bin/env bash
# Configures and builds hyporank in build/ (or $HR_BUILD_DIR), Release, with
# the CUDA kernels when the CUDA toolkit is found. Extra arguments go to cmake.
# The compiler's output goes to BUILD/build.log; it is shown when the build
# fails, or always with HR_VERBOSE=1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HR_BUILD_DIR:-$here/build}
# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
fi
mkdir -p "$build"
log="$build/build.log"
echo "build: $build (log: $log)" >&2
if ! { cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" &&
       cmake --build "$build" --parallel "$(nproc)"; } > "$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "build: failed; the whole log is $log" >&2
    exit 1
fi
[ "${HR_VERBOSE:-0}" = 1 ] && cat "$log"
grep -E "warning:" "$log" >&2 || true
