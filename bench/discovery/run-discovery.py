#!/usr/bin/env python3
"""Planted-shift benchmark of describe: power, false discoveries, precision@5,
effect error and interval coverage, with known truth.

A task plants one labelled topic T in A: A is (1 - share) background texts
and share texts of T; B is background only; the background is every other
label of the same source, drawn uniformly. Sources are the labelled texts of
bench/scoring-tasks/ (WordNet glosses by lexicographer file, fortune cookies
by file, ABC headlines by topic keyword with the keywords cut out; see
scripts/make-scoring-tasks.py). Candidates are what describe uses offline:
the built-in bank, the word candidates found on the proposal half, and the
task's labels (every label's description, as --hypotheses). Texts are drawn
with replacement when a task needs more than the source has.

Topics: those whose own description is the best of all the source's
descriptions at telling the topic's texts from the rest and does so with
AUROC >= 0.75 (the topics the encoder can see at all; --all-topics for
every topic).

Truth. A reported difference is true when it is of direction A and points
to T: the AUROC of its similarity, T's texts against all the source's other
texts, is at least 0.7 and T is among its two best labels by that AUROC.
Anything else reported (direction B, or another topic) is a false
discovery: in these tasks nothing but T differs, so every other difference
is a shadow of T (or noise).

Measures, per method and setting:
  power      share of tasks with at least one true difference reported
  FDP        false discovery proportion among reported differences, mean
             over tasks that report any
  prec@5     share of true ones among the first five of direction A, mean
             over tasks that report any of direction A
  null_fp    (share 0: A and B from one pool) share of tasks that report any
  eff_err    mean |effect of T's description - true share difference|
             (labels give the truth: share of T in A minus in B)
  coverage   share of tasks whose 95% effect_ci holds the true difference

Methods:
  findings   this program: the rows with "finding": true
  contrast   the rows significant by their AUROC (q <= 0.05) under the
  cosine     contrast / cosine score, ordered by |AUROC - 0.5|: what
             describe reported before findings (with --old BIN, that
             program's own output; else this program's AUROC columns,
             whose bank and user candidates are scored on all texts)

    python3 bench/discovery/run-discovery.py [--old OLD_HYPORANK]
        [--shares 0.2,0.1,0.05,0] [--sizes 500,2000] [--reps 2]
        [--sources wordnet,fortunes,abc] [--seed 1] [--findings-only]
        [--dump TASKS.jsonl]

--findings-only skips the AUROC peers' second describe run (the contrast
score); --dump writes a line a task with the planted description's effect,
its interval, its shares, z and text counts (the sampling error alone is
|effect / z| for the calibrated hinge) and the truth, for studying the
interval.

Needs numpy; the program ($HR_BUILD_DIR/hyporank, default build/), the
model ($HYPORANK_MODEL) and a cache ($HYPORANK_CACHE, default a temporary
file: the texts of all tasks are embedded once). Prints one line per
figure, then a Markdown table for bench/RESULTS.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_source(name):
    base = os.path.join(ROOT, "bench", "scoring-tasks", name)
    rows = [json.loads(l) for l in open(base + ".texts.jsonl")]
    texts = [r["text"] for r in rows]
    labels = np.array([r["label"] for r in rows])
    gold = {}
    for line in open(base + ".tasks.jsonl"):
        t = json.loads(line)
        if t["kind"] == "rest":
            gold[rows[t["a"][0]]["label"]] = t["candidates"][t["gold"]]
    return texts, labels, gold


def write_lines(path, texts, jsonl=True):
    with open(path, "w") as f:
        for t in texts:
            f.write(json.dumps({"text": t}) + "\n" if jsonl else t.replace("\n", " ") + "\n")


class Embedder:
    """Embeddings of any texts through `hyporank embed` (cached)."""

    def __init__(self, binary, cache, work):
        self.binary, self.cache, self.work = binary, cache, work
        self.memo = {}

    def embed(self, texts):
        need = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if need:
            src = os.path.join(self.work, "embed-in.jsonl")
            out = os.path.join(self.work, "embed-out.npy")
            write_lines(src, need)
            subprocess.run([self.binary, "embed", "--in", src, "--out", out, "--cache", self.cache,
                            "--device", "cpu", "--quiet"], check=True)
            m = np.load(out)
            for t, v in zip(need, m):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def auroc_columns(s, pos):
    """AUROC of each column of s (n, k) with rows pos (bool) positive, ties 1/2."""
    from scipy.stats import rankdata
    ranks = rankdata(s, axis=0)
    na = pos.sum()
    nb = len(pos) - na
    return (ranks[pos].sum(0) - na * (na + 1) / 2) / (na * nb)


class Judge:
    """Which candidates point to which label of a source (see the top)."""

    def __init__(self, emb, texts, labels):
        self.emb, self.labels = emb, labels
        self.x = emb.embed(texts)
        self.cats = sorted(set(labels))
        self.memo = {}

    def learn(self, hyps):
        """Computes the relevance of the hypotheses not seen yet, in one go."""
        new = [h for h in dict.fromkeys(hyps) if h not in self.memo]
        if not new:
            return
        s = self.x @ self.emb.embed(new).T  # (texts, new)
        rel = np.stack([auroc_columns(s, self.labels == c) for c in self.cats], axis=1)
        for h, r in zip(new, rel):
            self.memo[h] = r

    def points_to(self, hyp, cat):
        self.learn([hyp])
        rel = self.memo[hyp]
        j = self.cats.index(cat)
        return rel[j] >= 0.7 and (rel > rel[j]).sum() < 2


def plant(rng, labels, topic, n, share):
    in_t = np.where(labels == topic)[0]
    bg = np.where(labels != topic)[0]
    k = int(round(share * n))
    planted = rng.choice(in_t, k, replace=len(in_t) < k) if k else np.array([], int)
    m = n - k + n
    back = rng.choice(bg, m, replace=len(bg) < m)
    return np.concatenate([planted, back[:n - k]]), back[n - k:]


def run_describe(binary, a, b, hyps, cache, out, method, seed, old=False):
    cmd = [binary, "describe", "--a", a, "--b", b, "--hypotheses", hyps, "--no-clusters",
           "--json", out, "--cache", cache, "--device", "cpu", "--quiet", "--seed", str(seed),
           "--examples", "0", "--score-method", method]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"describe failed ({r.returncode}): {r.stderr}")
    return json.load(open(out))


def reported(doc, view):
    """Reported differences in the method's order: [(text, direction)]."""
    hs = doc["hypotheses"]
    if view == "findings":
        return [(h["text"], h["direction"]) for h in hs if h.get("finding")]
    # before findings: significant by AUROC, strongest |AUROC - 0.5| first
    q = "auroc_q_value" if "auroc_q_value" in hs[0] else "q_value"
    sig = [h for h in hs if h[q] <= doc["alpha"] and h["auroc"] != 0.5]
    sig.sort(key=lambda h: -abs(h["auroc"] - 0.5))
    return [(h["text"], "A" if h["auroc"] > 0.5 else "B") for h in sig]


def measure(rows):
    out = {}
    for key in ("power", "fdp", "p5", "any", "eff_err", "cover"):
        vals = [r[key] for r in rows if r.get(key) is not None]
        out[key] = (float(np.mean(vals)) if vals else float("nan"), len(vals))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", help="hyporank before findings, for the old methods")
    ap.add_argument("--shares", default="0.2,0.1,0.05,0")
    ap.add_argument("--sizes", default="500")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--sources", default="wordnet,fortunes,abc")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--all-topics", action="store_true")
    ap.add_argument("--findings-only", action="store_true")
    ap.add_argument("--dump")
    args = ap.parse_args()
    dump = open(args.dump, "w") if args.dump else None
    binary = os.path.join(os.environ.get("HR_BUILD_DIR", os.path.join(ROOT, "build")), "hyporank")
    work = tempfile.mkdtemp(prefix="hr-discovery-")
    cache = os.environ.get("HYPORANK_CACHE", os.path.join(work, "cache.sqlite"))
    emb = Embedder(binary, cache, work)
    bank = [l.strip() for l in open(os.path.join(ROOT, "host", "discovery", "data",
                                                  "hypothesis-bank.txt"))
            if l.strip() and not l.startswith("#")]
    methods = ["findings"] if args.findings_only else ["findings", "contrast", "cosine"]
    results = {}  # (method, share, size) -> rows
    t_start = time.time()
    print(f"# {time.strftime('%Y-%m-%d')} {os.uname().nodename}: {os.cpu_count()} threads; "
          f"{binary}{'; old ' + args.old if args.old else ''}")
    for src in args.sources.split(","):
        texts, labels, gold = load_source(src)
        judge = Judge(emb, texts, labels)
        cats = sorted(gold)
        # topics the encoder can see: the own description best, AUROC >= 0.75
        g = emb.embed([gold[c] for c in cats])
        rel = np.stack([auroc_columns(judge.x @ g.T, labels == c) for c in cats])  # (cat, desc)
        topics = [c for j, c in enumerate(cats)
                  if args.all_topics or (rel[:, j].argmax() == j and rel[j, j] >= 0.75)]
        hyp_file = os.path.join(work, f"{src}-labels.txt")
        write_lines(hyp_file, [gold[c] for c in cats], jsonl=False)
        for size in map(int, args.sizes.split(",")):
            for share in map(float, args.shares.split(",")):
                rng = np.random.default_rng([args.seed, int(share * 1000), size, len(src)])
                for topic in topics:
                    for rep in range(args.reps):
                        ia, ib = plant(rng, labels, topic, size, share)
                        a = os.path.join(work, "a.jsonl")
                        b = os.path.join(work, "b.jsonl")
                        write_lines(a, [texts[i] for i in ia])
                        write_lines(b, [texts[i] for i in ib])
                        seed = int(rng.integers(1, 1 << 30))
                        truth = (labels[ia] == topic).mean() - (labels[ib] == topic).mean()
                        docs = {
                            "findings": run_describe(binary, a, b, hyp_file, cache,
                                                     os.path.join(work, "new.json"), "cosine",
                                                     seed)}
                        old = args.old or binary
                        docs["cosine"] = docs["findings"] if not args.old else run_describe(
                            old, a, b, hyp_file, cache, os.path.join(work, "oldcos.json"),
                            "cosine", seed)
                        if "contrast" in methods:
                            docs["contrast"] = run_describe(old, a, b, hyp_file, cache,
                                                            os.path.join(work, "oldcon.json"),
                                                            "contrast", seed)
                        judge.learn([t for m in methods for t, _ in
                                     reported(docs[m], m if m == "findings" else "auroc")])
                        for m in methods:
                            rep_rows = reported(docs[m], m if m == "findings" else "auroc")
                            good = [t for t, d in rep_rows if d == "A" and judge.points_to(t, topic)]
                            dir_a = [t for t, d in rep_rows if d == "A"]
                            row = {"any": float(len(rep_rows) > 0)}
                            if share > 0:
                                row["power"] = float(len(good) > 0)
                                if rep_rows:
                                    row["fdp"] = 1.0 - len(good) / len(rep_rows)
                                if dir_a:
                                    row["p5"] = float(np.mean([judge.points_to(t, topic)
                                                               for t in dir_a[:5]]))
                            if m == "findings":
                                gd = [h for h in docs[m]["hypotheses"] if h["text"] == gold[topic]]
                                if gd:
                                    row["eff_err"] = abs(gd[0]["effect"] - truth)
                                    lo, hi = gd[0]["effect_ci"]
                                    row["cover"] = float(lo <= truth <= hi)
                                    if dump:
                                        d = gd[0]["effect_detail"]
                                        dump.write(json.dumps({
                                            "source": src, "size": size, "share": share,
                                            "topic": topic, "truth": truth,
                                            "effect": gd[0]["effect"], "ci": [lo, hi],
                                            "share_a": gd[0]["share_a"],
                                            "share_b": gd[0]["share_b"], "z": d["z"],
                                            "n_a": d["n_a"], "n_b": d["n_b"],
                                            "shares": d["shares"],
                                            "findings": [{
                                                "text": h["text"], "direction": h["direction"],
                                                "true": bool(h["direction"] == "A" and
                                                judge.points_to(h["text"], topic)),
                                                "effect": h["effect"], "z": h["effect_detail"]["z"],
                                                "beyond": h["effect_detail"]["effect_beyond"],
                                                "beyond_se": h["effect_detail"]["effect_beyond_se"]}
                                                for h in docs[m]["hypotheses"] if h.get("finding")]
                                            }) + "\n")
                            results.setdefault((m, share, size), []).append(row)
                print(f"# {src} size {size}: {len(topics)} topics done, "
                      f"{time.time() - t_start:.0f} s", file=sys.stderr, flush=True)
    print("| method | plant | size | tasks | power | FDP | prec@5 | any reported | "
          "effect error | coverage |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (m, share, size), rows in sorted(results.items(), key=lambda x: (-x[0][1], x[0][2], x[0][0])):
        r = measure(rows)
        f = lambda k: "" if np.isnan(r[k][0]) else f"{r[k][0]:.2f}"
        e = "" if np.isnan(r["eff_err"][0]) else f"{r['eff_err'][0]:.3f}"
        print(f"| {m} | {share:g} | {size} | {len(rows)} | {f('power')} | {f('fdp')} | "
              f"{f('p5')} | {f('any')} | {e} | {f('cover')} |")
    print(f"# {time.time() - t_start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
