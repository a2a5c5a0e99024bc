#!/usr/bin/env bash
# The HTML page of a large rank (bench/bench_html.c: 500,000 + 500,000
# texts, 10,000 hypotheses, dimension 384 by default), then its load in
# headless Chromium, offline (tests/browser/cdp.py): seconds to the load
# event, to the table's first page, and to sort 10,000 rows.
#
#     bench/run-html-bench.sh [BUILD_DIR [WORK_DIR [N_PER_SIDE K D]]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
work=${2:-${TMPDIR:-/tmp}/hyporank-html-bench}
mkdir -p "$work"
shift $(( $# < 2 ? $# : 2 ))
"$build/bench_html" "$work" "$@"
python3 - "$here/tests/browser" "$work/rank.html" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
import cdp
path = sys.argv[2]
with cdp.Browser.launch() as b:
    for run in range(2):
        p = b.new_page(1200, 900)
        p.block_network()
        load = p.goto("file://" + path)
        t0 = time.monotonic()
        ready = p.eval("document.documentElement.getAttribute('data-table')")
        table = load + time.monotonic() - t0
        t0 = time.monotonic()
        p.eval("document.querySelector('#candidates th[data-key=\"effect\"] button').click()")
        p.eval("document.querySelectorAll('#candidates tbody tr').length")
        sort = time.monotonic() - t0
        others = [u for u in p.requests() if not u.startswith("file://")]
        print("chromium %s (run %d): load event %.2f s, table %s %.2f s, sort %.3f s, requests "
              "beside the page: %d" % (b.version["product"], run + 1, load, ready, table, sort,
                                       len(others)))
PY
