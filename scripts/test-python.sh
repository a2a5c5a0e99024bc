#!/usr/bin/env bash
# The Python package's tests (scripts/test.sh runs this after ctest): builds
# the wheel from this tree (scikit-build-core over the same CMakeLists.txt;
# the CUDA kernels are compiled in when the toolkit is found), installs it in
# a fresh virtualenv (.venv-test) from local wheels alone, and runs pytest
# (python/tests) against the program built in $HR_BUILD_DIR (default build/).
#
# Needs: the program built (scripts/build.sh), the model
# (scripts/fetch-model.sh), the wheels (scripts/fetch-python-wheels.sh, which
# this runs; it downloads only once). Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HR_BUILD_DIR:-$here/build}
wheels=$here/.wheels
venv=$here/.venv-test
py=${PYTHON:-python3}
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "test-python: the package needs Python 3.11 or later ($py is $("$py" -V 2>&1))" >&2; exit 1; }
# nvcc is often installed outside PATH (as scripts/build.sh finds it).
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
fi

"$here/scripts/fetch-python-wheels.sh" "$wheels"

echo "== Python: building the wheel (log: $build/python-wheel.log)"
rm -rf "$build/wheelhouse"
mkdir -p "$build/wheelhouse"
if ! "$py" -m pip wheel --no-deps --no-index --find-links "$wheels" -w "$build/wheelhouse" \
        -Cbuild-dir="$build/python" "$here/python" > "$build/python-wheel.log" 2>&1; then
    tail -n 60 "$build/python-wheel.log" >&2
    echo "test-python: building the wheel failed; the whole log is $build/python-wheel.log" >&2
    exit 1
fi
grep -E "warning:" "$build/python-wheel.log" >&2 || true
ls "$build/wheelhouse"

echo "== Python: a fresh virtualenv ($venv), offline"
rm -rf "$venv"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-index --find-links "$build/wheelhouse" \
    --find-links "$wheels" hyporank pytest pandas tqdm

echo "== Python: pytest"
cd "$here"
status=0
HR_CLI="$build/hyporank" HYPORANK_MODEL="${HYPORANK_MODEL:-$here/models/all-MiniLM-L6-v2}" \
HYPORANK_WHEELHOUSE="$build/wheelhouse:$wheels" \
    "$venv/bin/pytest" python/tests "$@" || status=$?
# pytest's 5 is "no tests collected": the suite is missing, which is a failure
# here, said as such (not a pass that ran nothing).
if [ $status = 5 ]; then
    echo "test-python: pytest collected no tests from python/tests" >&2
fi
exit $status
