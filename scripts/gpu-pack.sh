#!/usr/bin/env bash
# Builds the CUDA programs here (sm_90) and packs what a GPU machine without
# network access needs to run scripts/gpu-check.sh: the backend test
# (test_backends) and the benchmark executables, the shared libraries they use beyond glibc and CUDA, the model
# in F16 and the ABC headlines.
#
#     scripts/gpu-pack.sh [DATA_DIR]
#
# DATA_DIR defaults to ../shared/data/abc-headlines. Writes .gpu/payload.tar.xz
# (git ignores .gpu/); the build goes to build-gpu/. The GPU machine needs the
# NVIDIA driver, the CUDA runtime's cuBLAS 13 and python3 with torch and
# sentence-transformers (for the peer benchmarks); nothing else.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-$here/../shared/data/abc-headlines}
build=$here/build-gpu
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

mkdir -p "$stage/bin" "$stage/lib" "$stage/data"
progs=(hyporank)
for f in "$build"/test_backends "$build"/bench_*; do progs+=("$(basename "$f")"); done
for p in "${progs[@]}"; do
    [ -x "$build/$p" ] || continue
    cp "$build/$p" "$stage/bin/"
    strip "$stage/bin/$p"
done
# Shared libraries beyond glibc, the compiler's runtime and CUDA's own.
for p in "$stage"/bin/*; do ldd "$p"; done | awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|libgcc_s|libstdc\+\+|ld-linux[^/]*)\.so|/libcu' |
    while read -r lib; do cp -L "$lib" "$stage/lib/"; done

python3 "$here/scripts/make-f16-model.py" "$here/models/all-MiniLM-L6-v2" "$stage/model" >/dev/null
cp "$data"/*.jsonl "$stage/data/"

mkdir -p "$here/.gpu"
tar -C "$stage" -cf - . | xz -T0 -6 > "$here/.gpu/payload.tar.xz"
ls -l "$here/.gpu/payload.tar.xz" | awk '{printf "payload: %.1f MB\n", $5 / 1e6}'
