#!/usr/bin/env bash
# Downloads, once, the wheels that building, installing and testing the
# Python package need into .wheels/ (or the folder given as $1): the build
# backend (scikit-build-core and its dependencies), numpy, and for the tests
# pytest, pandas and tqdm. After that, everything installs offline:
#
#     python3 -m venv v && v/bin/pip install --no-index --find-links .wheels ./python
#
# Does nothing when the folder already has a wheel of each.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.wheels}
need=(scikit-build-core numpy pytest pandas tqdm)
py=${PYTHON:-python3}

have_all=1
for p in "${need[@]}"; do
    ls "$dest/${p//-/_}"-*.whl >/dev/null 2>&1 || have_all=0
done
if [ $have_all = 1 ]; then
    echo "python wheels: $dest is ready"
    exit 0
fi
mkdir -p "$dest"
echo "python wheels: downloading ${need[*]} (and what they need) from PyPI into $dest" >&2
"$py" -m pip download --quiet --only-binary=:all: --dest "$dest" "${need[@]}"
