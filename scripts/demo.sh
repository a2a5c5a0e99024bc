#!/usr/bin/env bash
# The main job on the bundled example data, offline: installs what is missing
# (Debian packages, the model), builds, and describes how 1,000 ABC News
# headlines of 2020 differ from 1,000 of 2019. Reports (describe.html, a page
# with plots; describe.json; describe.md) go to $OUT_DIR
# (default: a folder under $TMPDIR); the embeddings are cached there too, so a
# second run is quick.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/install-deps.sh"
"$here/scripts/fetch-model.sh"
"$here/scripts/build.sh"
bin=${HR_BUILD_DIR:-$here/build}/hyporank
out=${OUT_DIR:-${TMPDIR:-/tmp}/hyporank-demo}
mkdir -p "$out"
"$bin" describe \
    --a "$here/examples/headlines-2020.jsonl" --b "$here/examples/headlines-2019.jsonl" \
    --goal "which categories of news dominated the headlines of 2020 against 2019" \
    --cache "$out/cache.sqlite" --json "$out/describe.json" --markdown "$out/describe.md" \
    --html "$out/describe.html"
echo "demo: the report is $out/describe.html (open it in a browser; it loads nothing from" \
     "the network); beside it describe.json and describe.md" >&2
