#!/usr/bin/env python3
"""Writes the bundled example corpora in examples/: 1,000 ABC News headlines
from 2020 and 1,000 from 2019, a fixed-seed sample of the OpenD5 problem's
validation split (public domain, CC0).

    python3 scripts/make-examples.py [DATA_DIR]   # default ../shared/data/abc-headlines
"""
import json
import os
import random
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "data", "abc-headlines")
for year in ("2020", "2019"):
    with open(os.path.join(data, f"{year}.validation.jsonl"), encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    random.Random(int(year)).shuffle(texts)
    with open(os.path.join(root, "examples", f"headlines-{year}.jsonl"), "w", encoding="utf-8") as f:
        for t in texts[:1000]:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
