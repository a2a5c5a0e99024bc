#!/usr/bin/env python3
"""Peer for bench_encoder: sentence-transformers on the same texts.

    peer_sentence_transformers.py --in FILE --model DIR [--device cpu|cuda]
        [--fp16] [--threads N] [--batch-size B] [--repeat R] [--out EMB.npy] [--label NAME]

Prints one line in bench_encoder's format (best of R timed passes after a
warm-up on the first 256 texts; tokens counted with the model's tokenizer,
truncated as the model truncates).
"""
import argparse
import json
import time

import numpy as np
import torch
from sentence_transformers import SentenceTransformer

ap = argparse.ArgumentParser()
ap.add_argument("--in", dest="inp", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--device", default="cpu")
ap.add_argument("--fp16", action="store_true")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--batch-size", type=int, default=32)
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--out")
ap.add_argument("--label")
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)

with open(a.inp, encoding="utf-8") as f:
    texts = [json.loads(line)["text"] for line in f if line.strip()]
model = SentenceTransformer(a.model, device=a.device)
if a.fp16:
    model = model.half()
tok = model.tokenizer
tokens = sum(len(x) for x in tok(texts, truncation=True, max_length=model.max_seq_length)["input_ids"])

model.encode(texts[:256], batch_size=a.batch_size)
best = float("inf")
for _ in range(a.repeat):
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    emb = model.encode(texts, batch_size=a.batch_size, convert_to_numpy=True)
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    best = min(best, time.perf_counter() - t0)
name = f"sentence-transformers-{a.device}{'-fp16' if a.fp16 else ''}"
print(f"{name} {a.label or a.inp}: {len(texts)} texts, {tokens} tokens, {best:.3f} s, "
      f"{len(texts) / best:.1f} texts/s, {tokens / best:.0f} tokens/s")
if a.out:
    np.save(a.out, np.ascontiguousarray(emb, dtype="<f4"))
