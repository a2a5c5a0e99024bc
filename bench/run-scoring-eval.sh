#!/usr/bin/env bash
# Score-method evaluation: top-1 / top-5 accuracy of ranking the gold
# description first, for cosine (VisDiff's method), centered and contrast
# (the default), on the tasks in bench/scoring-tasks/ (WordNet glosses,
# fortune cookies and ABC headlines by category; see
# scripts/make-scoring-tasks.py).
#
#     bench/run-scoring-eval.sh [--dev] [bench_scoring_methods options...]
#
# Builds nothing: uses $HR_BUILD_DIR (default build/). Embeds the texts with
# the local model ($HYPORANK_MODEL, default models/all-MiniLM-L6-v2) through
# the embedding cache ($HYPORANK_CACHE, or the default cache; --no-cache to
# skip it): about a minute on 2 cores the first time, seconds afterwards.
# Adds --sweep (contrast at other temperatures) unless told otherwise, and
# --cost for the time of each method against cosine.
#
# --dev generates the development set instead (ABC research split, other
# seed; needs the Debian packages wordnet-base and fortunes and the shared
# abc-headlines data) into a temporary folder and evaluates on it: the
# default temperature was chosen there, not on bench/scoring-tasks.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${HR_BUILD_DIR:-$here/build}
model=${HYPORANK_MODEL:-$here/models/all-MiniLM-L6-v2}
tasks=$here/bench/scoring-tasks
if [ "${1:-}" = "--dev" ]; then
    shift
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    python3 "$here/scripts/make-scoring-tasks.py" --dev --out "$work" >&2
    tasks=$work
fi
[ $# -gt 0 ] || set -- --sweep
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) threads"
echo "# command: bench/run-scoring-eval.sh${tasks:+ (tasks $tasks)} $*"
"$bin/bench_scoring_methods" --tasks "$tasks" --model "$model" "$@"
"$bin/bench_scoring_methods" --cost
