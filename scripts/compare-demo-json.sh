#!/usr/bin/env bash
# Runs the demo (describe on the bundled headlines, on the CPU, without the
# cache) with two builds of hyporank and compares their JSON, timings aside:
# the before/after check of a change that must not change results.
#
#     scripts/compare-demo-json.sh BASE_HYPORANK NEW_HYPORANK
#
# Exit status 0 when the reports agree, 1 when they differ (the first
# differences are printed), 2 on a usage or run error.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: compare-demo-json.sh BASE_HYPORANK NEW_HYPORANK}
new=${2:?usage: compare-demo-json.sh BASE_HYPORANK NEW_HYPORANK}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here" || exit 2
for side in base new; do
    bin=${!side}
    if ! "$bin" describe --a examples/headlines-2020.jsonl --b examples/headlines-2019.jsonl \
        --device cpu --no-cache --json "$work/$side.json" --quiet > "$work/$side.log" 2>&1; then
        echo "compare-demo-json: $bin failed:" >&2
        tail -n 20 "$work/$side.log" >&2
        exit 2
    fi
done
python3 - "$work/base.json" "$work/new.json" <<'PY'
import json, sys

def strip(o):
    """The report without its timings (keys named seconds or ending in _seconds)."""
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "seconds" and not k.endswith("_seconds")}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o

def diff(a, b, path, out):
    if len(out) >= 10:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'new' if k in b else 'base'}")
            else:
                diff(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: base {json.dumps(a)[:80]} new {json.dumps(b)[:80]}")

a, b = (strip(json.load(open(p))) for p in sys.argv[1:3])
out = []
diff(a, b, "", out)
if out:
    print("the demo's JSON differs:")
    print("\n".join(out))
    sys.exit(1)
print("the demo's JSON is identical (timings aside)")
PY
