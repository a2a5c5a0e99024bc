#!/usr/bin/env python3
"""Writes texts that the model's tokenizer turns into exactly L tokens.

    make-fixed-length-texts.py --model DIR --tokens L --n N --words-from FILE.jsonl
                               --out FILE.jsonl [--seed S] [--text-field text]

Each output line is {"text": ...}: L - 2 words separated by spaces, so that
with [CLS] and [SEP] the model's tokenizer gives exactly L tokens. The words
are the real words of --words-from (e.g. the ABC headlines) that the
tokenizer keeps as one token (lowercased ASCII letters only, so that no
punctuation or accent splits them), drawn at random (seeded), so the texts
are varied and the tokens realistic. Every text is tokenised again at the
end and the script fails unless each has exactly L tokens.

The tokenizer is read from DIR/tokenizer.json with the `tokenizers` package
(or, without it, `transformers`' AutoTokenizer on DIR), with the folder's own
truncation and padding switched off: the counts are the raw ones. L must be
between 3 and the model's max_seq_length (sentence_bert_config.json), so that
nothing is truncated when the texts are embedded.
"""
import argparse
import json
import os
import random
import sys


def load_tokenizer(model_dir):
    """Returns encode(list of str) -> list of token counts (with [CLS]/[SEP]),
    and encode_ids(list of str) -> list of id lists without them."""
    path = os.path.join(model_dir, "tokenizer.json")
    try:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(path)
        tok.no_truncation()
        tok.no_padding()

        def counts(texts):
            return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=True)]

        def pieces(texts):
            return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]

        return counts, pieces, tok.token_to_id("[UNK]")
    except ImportError:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model_dir)

        def counts(texts):
            out = tok(texts, add_special_tokens=True, truncation=False, padding=False)
            return [len(x) for x in out["input_ids"]]

        def pieces(texts):
            out = tok(texts, add_special_tokens=False, truncation=False, padding=False)
            return out["input_ids"]

        return counts, pieces, tok.unk_token_id


def max_seq_length(model_dir):
    try:
        with open(os.path.join(model_dir, "sentence_bert_config.json"), encoding="utf-8") as f:
            return int(json.load(f).get("max_seq_length", 512))
    except (OSError, ValueError):
        return 512


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model folder (tokenizer.json)")
    ap.add_argument("--tokens", type=int, required=True, help="tokens per text, [CLS] and [SEP] included")
    ap.add_argument("--n", type=int, required=True, help="number of texts")
    ap.add_argument("--words-from", required=True, help="JSONL file whose texts give the words")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    limit = max_seq_length(a.model)
    if not 3 <= a.tokens <= limit:
        sys.exit(f"make-fixed-length-texts: --tokens must be in [3, {limit}], not {a.tokens}")
    if a.n < 1:
        sys.exit("make-fixed-length-texts: --n must be at least 1")
    counts, pieces, unk = load_tokenizer(a.model)

    words = set()
    with open(a.words_from, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = json.loads(line).get(a.text_field, "")
                words.update(w for w in text.lower().split() if w.isascii() and w.isalpha())
    words = sorted(words)
    single = [w for w, ids in zip(words, pieces(words)) if len(ids) == 1 and ids[0] != unk]
    if len(single) < 100:
        sys.exit(f"make-fixed-length-texts: only {len(single)} one-token words in {a.words_from}")

    rng = random.Random(a.seed)
    k = a.tokens - 2
    texts = [" ".join(rng.choices(single, k=k)) for _ in range(a.n)]
    got = counts(texts)
    bad = [i for i, c in enumerate(got) if c != a.tokens]
    if bad:
        sys.exit(f"make-fixed-length-texts: {len(bad)} texts do not have {a.tokens} tokens, "
                 f"e.g. {got[bad[0]]}: {texts[bad[0]][:80]!r}")
    with open(a.out, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n")
    print(f"make-fixed-length-texts: {a.n} texts of exactly {a.tokens} tokens "
          f"from {len(single)} one-token words -> {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
