#!/usr/bin/env bash
# The main job on the bundled example data, offline: installs what is
# missing (Debian packages, the model), builds, and embeds the example
# headlines. (hyporank describe takes over this script when it exists.)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
"$here/scripts/fetch-model.sh"
"$here/scripts/build.sh"
bin=${HR_BUILD_DIR:-$here/build}/hyporank
out=${TMPDIR:-/tmp}/hyporank-demo
mkdir -p "$out"
"$bin" embed --in "$here/examples/headlines-2020.jsonl" --out "$out/headlines-2020.npy" --cache "$out/cache.sqlite"
"$bin" embed --in "$here/examples/headlines-2019.jsonl" --out "$out/headlines-2019.npy" --cache "$out/cache.sqlite"
python3 - "$out" <<'PY' || true
import struct, sys, os
for name in ("headlines-2020.npy", "headlines-2019.npy"):
    with open(os.path.join(sys.argv[1], name), "rb") as f:
        magic = f.read(10); hlen = struct.unpack("<H", magic[8:10])[0]
        print(name + ":", f.read(hlen).decode().strip())
PY
