#!/usr/bin/env bash
# scripts/check-unchanged.sh [REV]: checks that the working tree behaves as
# revision REV did (default: the merge-base of HEAD and main).
#
# Builds REV (checked out with `git worktree add` into a work folder) and the
# working tree, both for the CPU (-DHR_CUDA=OFF, Release), then runs the same
# commands with both programs, offline, on the bundled data:
#   describe  the demo (scripts/demo.sh) and a variant with your own
#             hypotheses, cosine scores and no clusters
#   embed     both corpora and a hypothesis file (.npy compared byte for byte)
#   rank      from texts, and from the .npy embeddings (with and without texts)
#   explain   --a/--b with two rounds; --data .jsonl with a label and a score
#             field; --data .csv; --continuous
# and compares, for every command: the exit status; the JSON field by field
# (ignoring the timing object "seconds"); standard output, the Markdown and
# standard error line by line (timings "1.23 s" and the work folder's path
# masked). Every difference is printed; the exit status is 1 when there is
# any, 0 when there is none.
#
# The model comes from $HYPORANK_MODEL, else models/all-MiniLM-L6-v2 of the
# working tree. HR_CHECK_DIR=DIR keeps the work folder (builds, outputs) in
# DIR for a quicker rerun; otherwise a temporary folder is removed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-$(git -C "$here" merge-base HEAD main)}
rev=$(git -C "$here" rev-parse --verify "$rev^{commit}")
model=${HYPORANK_MODEL:-$here/models/all-MiniLM-L6-v2}
[ -f "$model/config.json" ] || { echo "check-unchanged: no model at $model (set HYPORANK_MODEL)" >&2; exit 2; }
export HYPORANK_MODEL=$model
command -v jq >/dev/null || { echo "check-unchanged: needs jq" >&2; exit 2; }

if [ -n "${HR_CHECK_DIR:-}" ]; then
    work=$HR_CHECK_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/hr-check.XXXXXX")
fi
cleanup() {
    git -C "$here" worktree remove --force "$work/old-src" >/dev/null 2>&1 || true
    [ -n "${HR_CHECK_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The two programs.
git -C "$here" worktree remove --force "$work/old-src" >/dev/null 2>&1 || rm -rf "$work/old-src"
git -C "$here" worktree add --detach "$work/old-src" "$rev" >/dev/null 2>&1
echo "check-unchanged: building $rev and the working tree (CPU only)" >&2
cmake_args=(-DHR_CUDA=OFF -DHR_MODEL_DIR="$model")
HR_BUILD_DIR=$work/old-build "$work/old-src/scripts/build.sh" "${cmake_args[@]}"
HR_BUILD_DIR=$work/new-build "$here/scripts/build.sh" "${cmake_args[@]}"

# Inputs, shared by both programs (so that paths in the outputs agree).
in=$work/inputs
rm -rf "$in" && mkdir -p "$in"
a=$here/examples/headlines-2020.jsonl
b=$here/examples/headlines-2019.jsonl
cat > "$in/ideas.txt" <<'EOF'
is about the coronavirus pandemic
is about sport
is about bushfires
mentions a lockdown
is about an election
is about the economy
is about the coronavirus pandemic
is about the weather
reports a crime
EOF
head -n 300 "$a" > "$in/a300.jsonl"
head -n 300 "$b" > "$in/b300.jsonl"
# Labelled texts: the year as the label, a made-up classifier score that
# leans towards 2020, and a numeric target for --continuous.
{
    jq -c '. + {label: "2020", score: ((input_line_number * 37 % 100) / 100 + 0.3)}' "$in/a300.jsonl"
    jq -c '. + {label: "2019", score: ((input_line_number * 53 % 100) / 100)}' "$in/b300.jsonl"
} > "$in/labelled.jsonl"
jq -c '. + {year: ((if .label == "2020" then 2020 else 2019 end) + (input_line_number % 7) / 10)}' \
    "$in/labelled.jsonl" > "$in/target.jsonl"
{
    echo "label,text"
    jq -r '[.label, .text] | @csv' "$in/labelled.jsonl"
} > "$in/labelled.csv"

# run NAME ARGS...: runs both programs; NAME.{rc,out,err} in old/ and new/.
# In the arguments, @OUT@ stands for the program's own output folder.
run() {
    local name=$1; shift
    for side in old new; do
        local out=$work/$side
        mkdir -p "$out"
        local args=("${@//@OUT@/$out}")
        set +e
        "$work/$side-build/hyporank" "${args[@]}" > "$out/$name.out" 2> "$out/$name.err"
        echo $? > "$out/$name.rc"
        set -e
    done
}
rm -rf "$work/old" "$work/new"
goal="which categories of news dominated the headlines of 2020 against 2019"
echo "check-unchanged: running both programs" >&2
run describe describe --a "$a" --b "$b" --goal "$goal" --device cpu \
    --cache @OUT@/cache.sqlite --json @OUT@/describe.json --markdown @OUT@/describe.md
run describe-variant describe --a "$in/a300.jsonl" --b "$in/b300.jsonl" --device cpu \
    --cache @OUT@/cache.sqlite --hypotheses "$in/ideas.txt" --no-clusters --score-method cosine \
    --top 5 --examples 3 --seed 7 --json @OUT@/describe-variant.json \
    --markdown @OUT@/describe-variant.md
for f in a:"$a" b:"$b" h:"$in/ideas.txt"; do
    run "embed-${f%%:*}" embed --in "${f#*:}" --out "@OUT@/${f%%:*}.npy" --device cpu \
        --cache @OUT@/cache.sqlite
done
run rank-texts rank --a "$a" --b "$b" --hypotheses "$in/ideas.txt" --device cpu \
    --cache @OUT@/cache.sqlite --top 0 --json @OUT@/rank-texts.json
# The .npy inputs: the old program's, for both (the embed step compares them).
run rank-npy rank --a-emb "$work/old/a.npy" --b-emb "$work/old/b.npy" --h-emb "$work/old/h.npy" \
    --hypotheses "$in/ideas.txt" --device cpu --json @OUT@/rank-npy.json
run rank-npy-only rank --a-emb "$work/old/a.npy" --b-emb "$work/old/b.npy" \
    --h-emb "$work/old/h.npy" --device cpu --top 3 --json @OUT@/rank-npy-only.json
run explain-ab explain --a "$in/a300.jsonl" --b "$in/b300.jsonl" --rounds 2 --device cpu \
    --cache @OUT@/cache.sqlite --bootstrap 200 --json @OUT@/explain-ab.json
run explain-data explain --data "$in/labelled.jsonl" --label-field label --score-field score \
    --hypotheses "$in/ideas.txt" --device cpu --cache @OUT@/cache.sqlite --bootstrap 200 \
    --json @OUT@/explain-data.json
run explain-csv explain --data "$in/labelled.csv" --label-field label --positive 2019 \
    --no-ngrams --device cpu --cache @OUT@/cache.sqlite --bootstrap 200 \
    --json @OUT@/explain-csv.json
run explain-continuous explain --data "$in/target.jsonl" --label-field year --continuous \
    --device cpu --cache @OUT@/cache.sqlite --bootstrap 200 --json @OUT@/explain-continuous.json

# Comparison.
fail=0
differ() { echo "DIFFERENT $1"; fail=1; }
# Text with timings and the work folders masked.
mask() { sed -E -e "s#$work/(old|new)#WORK#g" -e 's/[0-9]+\.[0-9]+ s\b/T s/g' "$1"; }
# Every leaf of a JSON document as "path = value", timings left out.
leaves() {
    jq -c 'del(.seconds) | paths(type != "object" and type != "array") as $p
           | [($p | map(tostring) | join(".")), getpath($p)]' "$1" | sed -E -e "s#$work/(old|new)#WORK#g"
}
# compare WHAT FILTER OLD NEW: the two files through FILTER, line by line.
compare() {
    if ! diff <($2 "$3") <($2 "$4") > "$work/diff"; then
        differ "$1"
        sed 's/^/    /' "$work/diff"
    fi
}
for rcf in "$work"/old/*.rc; do
    name=$(basename "$rcf" .rc)
    if ! cmp -s "$rcf" "$work/new/$name.rc"; then
        differ "$name: exit status $(cat "$rcf") before, $(cat "$work/new/$name.rc") now"
    fi
    compare "$name: standard output" mask "$work/old/$name.out" "$work/new/$name.out"
    compare "$name: standard error" mask "$work/old/$name.err" "$work/new/$name.err"
done
for f in "$work"/old/*.json; do
    name=$(basename "$f")
    if [ ! -f "$work/new/$name" ]; then differ "$name: not written now"; continue; fi
    compare "$name: fields (< before, > now)" leaves "$f" "$work/new/$name"
done
for f in "$work"/old/*.md; do
    compare "$(basename "$f")" mask "$f" "$work/new/$(basename "$f")"
done
for f in "$work"/old/*.npy; do
    name=$(basename "$f")
    cmp -s "$f" "$work/new/$name" || differ "$name: bytes"
done
n_json=$(ls "$work"/old/*.json | wc -l)
if [ $fail = 0 ]; then
    echo "check-unchanged: no difference from $rev ($(ls "$work"/old/*.rc | wc -l) commands, $n_json JSON files)"
fi
exit $fail
