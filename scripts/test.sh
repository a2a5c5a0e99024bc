#!/usr/bin/env bash
# The test command: installs what is missing (Debian packages, the model),
# builds, and runs every test: the library's and the program's (ctest), then
# the Python package's (scripts/test-python.sh: its wheel, a fresh
# virtualenv, pytest). GPU tests skip where no GPU is present. Arguments go
# to ctest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
# The browser tests skip, saying why, when no Chromium can be installed.
"$here/scripts/install-deps.sh" --browser ||
    echo "test: could not install chromium; the browser tests will skip" >&2
"$here/scripts/fetch-model.sh"
"$here/scripts/build.sh"
(cd "${HR_BUILD_DIR:-$here/build}" && ctest --output-on-failure --timeout 1800 "$@")
"$here/scripts/test-python.sh"
