#!/usr/bin/env bash
# Makes .venv-fixtures/, a Python environment with sentence-transformers,
# tokenizers, scikit-learn, numpy and statsmodels, for the fixture generators in
# tests/fixtures/ and the peers in bench/. It pulls in torch (a large
# download) and is never used by the tests themselves.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$here/.venv-fixtures}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet sentence-transformers tokenizers scikit-learn numpy statsmodels
echo "fixture environment ready: $venv/bin/python"
