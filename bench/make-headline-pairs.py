#!/usr/bin/env python3
"""Texts for the end-to-end benchmarks: distinct pairs of ABC headlines of one
year joined by ". " (about 24 tokens each), A from 2020 and B from 2019.

    make-headline-pairs.py DATA_DIR OUT_DIR PER_SIDE

DATA_DIR holds the headlines (2020.*.jsonl, 2019.*.jsonl); writes
OUT_DIR/a.jsonl and OUT_DIR/b.jsonl, PER_SIDE texts each (seeded: the same
files every time)."""
import glob
import json
import random
import sys

data, out, per_side = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(11)
for year, side in (("2020", "a"), ("2019", "b")):
    h = []
    for p in sorted(glob.glob(f"{data}/{year}.*.jsonl")):
        with open(p, encoding="utf-8") as f:
            h += [json.loads(l)["text"] for l in f if l.strip()]
    if len(h) * (len(h) - 1) < 2 * per_side:
        sys.exit(f"make-headline-pairs.py: {len(h)} headlines of {year} give too few pairs")
    seen = set()
    with open(f"{out}/{side}.jsonl", "w", encoding="utf-8") as f:
        while len(seen) < per_side:
            i, j = rng.randrange(len(h)), rng.randrange(len(h))
            if i == j or (i, j) in seen:
                continue
            seen.add((i, j))
            f.write(json.dumps({"text": h[i] + ". " + h[j]}) + "\n")
