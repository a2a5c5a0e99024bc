#!/usr/bin/env python3
"""Peer for bench_encoder: a bare PyTorch forward of the same weights.

    peer_torch_sdpa.py --in FILE --model DIR [--device cpu|cuda] [--fp16]
        [--threads N] [--batch-size B] [--repeat R] [--out EMB.npy] [--label NAME]

The honest peer of a fused encoder: no sentence-transformers or
transformers code on the hot path, only the BERT forward written out in
torch (embeddings and LayerNorm, then per layer Q/K/V, attention with
torch.nn.functional.scaled_dot_product_attention, the output projection,
residual and LayerNorm, GELU feed-forward), mean pooling over the real tokens
and L2 normalisation, on padded batches of the texts (each batch padded to
its longest text, the padding masked out of the attention and the pooling).
With --fp16 the weights and activations are FP16, as hyporank's GPU GEMMs.
Texts are tokenised up front with the model's tokenizer.json (`tokenizers`),
truncated to the model's max_seq_length, and batched in their file order.

Prints one line in bench_encoder's format (best of R timed passes after a
warm-up on the first batch; tokens = real tokens, [CLS] and [SEP] included)
and, with --out, the embeddings (float32), so that run-encoder-bench-gpu.sh
can check them against the other encoders.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer

ap = argparse.ArgumentParser()
ap.add_argument("--in", dest="inp", required=True)
ap.add_argument("--model", required=True)
ap.add_argument("--device", default="cpu")
ap.add_argument("--fp16", action="store_true")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--batch-size", type=int, default=256)
ap.add_argument("--repeat", type=int, default=1)
ap.add_argument("--out")
ap.add_argument("--label")
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
dev = torch.device(a.device)
dtype = torch.float16 if a.fp16 else torch.float32

with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
    cfg = json.load(f)
max_len = cfg["max_position_embeddings"]
st_cfg = os.path.join(a.model, "sentence_bert_config.json")
if os.path.exists(st_cfg):
    with open(st_cfg, encoding="utf-8") as f:
        max_len = min(max_len, json.load(f).get("max_seq_length", max_len))
heads, eps = cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)

w = load_file(os.path.join(a.model, "model.safetensors"))
w = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in w.items()}


def p(name):
    return w[name].to(dev, dtype)


emb_word, emb_pos = p("embeddings.word_embeddings.weight"), p("embeddings.position_embeddings.weight")
emb_type = p("embeddings.token_type_embeddings.weight")[0]
emb_ln = (p("embeddings.LayerNorm.weight"), p("embeddings.LayerNorm.bias"))
layers = []
for i in range(cfg["num_hidden_layers"]):
    pre = f"encoder.layer.{i}."
    qkv_w = torch.cat([p(pre + f"attention.self.{n}.weight") for n in ("query", "key", "value")])
    qkv_b = torch.cat([p(pre + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
    layers.append(dict(
        qkv_w=qkv_w, qkv_b=qkv_b,
        ao_w=p(pre + "attention.output.dense.weight"), ao_b=p(pre + "attention.output.dense.bias"),
        ln1=(p(pre + "attention.output.LayerNorm.weight"), p(pre + "attention.output.LayerNorm.bias")),
        in_w=p(pre + "intermediate.dense.weight"), in_b=p(pre + "intermediate.dense.bias"),
        out_w=p(pre + "output.dense.weight"), out_b=p(pre + "output.dense.bias"),
        ln2=(p(pre + "output.LayerNorm.weight"), p(pre + "output.LayerNorm.bias"))))
hidden = emb_word.shape[1]
dh = hidden // heads


@torch.inference_mode()
def forward(ids, valid):
    """ids, valid: (B, L) int64 / bool on dev -> (B, hidden) float32 unit rows."""
    b, n = ids.shape
    x = emb_word[ids] + emb_pos[:n] + emb_type
    x = F.layer_norm(x, (hidden,), *emb_ln, eps)
    mask = valid[:, None, None, :]  # keys that are real tokens
    for ly in layers:
        q, k, v = F.linear(x, ly["qkv_w"], ly["qkv_b"]).split(hidden, dim=-1)
        q, k, v = (t.view(b, n, heads, dh).transpose(1, 2) for t in (q, k, v))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        ctx = ctx.transpose(1, 2).reshape(b, n, hidden)
        x = F.layer_norm(x + F.linear(ctx, ly["ao_w"], ly["ao_b"]), (hidden,), *ly["ln1"], eps)
        inter = F.gelu(F.linear(x, ly["in_w"], ly["in_b"]))
        x = F.layer_norm(x + F.linear(inter, ly["out_w"], ly["out_b"]), (hidden,), *ly["ln2"], eps)
    vf = valid[..., None].to(x.dtype)
    pooled = (x * vf).sum(1).float() / vf.sum(1).float()
    return F.normalize(pooled, dim=-1)


with open(a.inp, encoding="utf-8") as f:
    texts = [json.loads(line)["text"] for line in f if line.strip()]
tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
tok.no_padding()
tok.enable_truncation(max_length=max_len)
enc = [e.ids for e in tok.encode_batch(texts)]
tokens = sum(len(e) for e in enc)
batches = []  # (ids, valid) of each batch, padded to its longest text, on dev
for i in range(0, len(enc), a.batch_size):
    chunk = enc[i:i + a.batch_size]
    n = max(len(e) for e in chunk)
    ids = torch.zeros((len(chunk), n), dtype=torch.int64)
    valid = torch.zeros((len(chunk), n), dtype=torch.bool)
    for r, e in enumerate(chunk):
        ids[r, :len(e)] = torch.tensor(e)
        valid[r, :len(e)] = True
    batches.append((ids.to(dev), valid.to(dev)))


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


forward(*batches[0])  # warm-up
best, out = float("inf"), None
for _ in range(a.repeat):
    sync()
    t0 = time.perf_counter()
    res = [forward(ids, valid) for ids, valid in batches]
    sync()
    best = min(best, time.perf_counter() - t0)
    out = res
name = f"torch-sdpa-{a.device}{'-fp16' if a.fp16 else ''}"
print(f"{name} {a.label or a.inp}: {len(texts)} texts, {tokens} tokens, {best:.3f} s, "
      f"{len(texts) / best:.1f} texts/s, {tokens / best:.0f} tokens/s")
if a.out:
    np.save(a.out, np.ascontiguousarray(torch.cat(out).cpu().numpy(), dtype="<f4"))
