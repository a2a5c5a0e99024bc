#!/usr/bin/env python3
"""Builds the scoring-method evaluation tasks in bench/scoring-tasks/.

Each task is a difference with a known answer: corpus A holds texts of one
labelled category and corpus B either texts of the other categories of the
same group ("rest" tasks, one per category) or texts of one other category
("pair" tasks, ordered pairs drawn at random). A pool of candidate
descriptions holds the gold description of A's category among the
descriptions of all the group's categories and ten generic distractors, in
shuffled order. A scoring method is judged by where it ranks the gold when
the pool is ordered by AUROC (A as the positive class): top-1 and top-5
accuracy over the tasks (bench/bench_scoring_methods.c). Pair tasks also
name B's description (gold_b), which should come last.

Sources (plain text that Debian packages or the project's shared data give):

  wordnet    WordNet 3.0 glosses ("lemma: gloss"), labelled by lexicographer
             file (noun.animal, noun.food, verb.motion, ...): package
             wordnet-base, /usr/share/wordnet/data.{noun,verb}. Noun tasks
             compare one noun category with the other noun categories and
             their pool holds the noun descriptions; verb tasks likewise.
             The descriptions paraphrase WordNet's own lexnames(5) table.
  fortunes   fortune(6) cookies labelled by file (computers, food, law,
             politics, sports, ...): package fortunes,
             /usr/share/games/fortunes. Labels are the editors' and noisy.
  abc        ABC News headlines (the shared abc-headlines data, validation
             split) labelled by topic keyword (police, court, cricket,
             drought, ...). A headline belongs to a topic when it holds one
             of the topic's keywords and none of another topic's; the
             keywords are then cut out of the text, from A's and B's
             headlines alike, so that a description cannot win by repeating
             the keyword that defined the label: what is left ("charge man
             over stabbing") must carry the topic by its meaning.

Sizes: at most 150 texts of the category in A; in B, 150 texts drawn
uniformly from the other categories' texts (rest tasks) or the other
category's texts (pair tasks); 30 pair tasks for a group of 24 categories,
proportionally fewer for smaller groups. Categories with fewer than 60
usable texts are left out (ABC: drought, music, tennis). Texts are cut at
400 characters (whole words). 189 tasks in all: wordnet 87, fortunes 51,
abc 51. Each source's texts are written once and tasks refer to them by
row, to keep the folder small (about 2 MB):

  bench/scoring-tasks/SOURCE.texts.jsonl   {"text": ..., "label": ...}
  bench/scoring-tasks/SOURCE.tasks.jsonl   {"name": ..., "kind": "rest" or
                                            "pair", "a": [rows], "b": [rows],
                                            "candidates": [texts], "gold":
                                            index, "gold_b": index (pairs)}

Regenerate (as root, on Debian; a few seconds, output is deterministic):

  apt-get install -y wordnet-base fortunes
  python3 scripts/make-scoring-tasks.py [--abc DIR] [--out bench/scoring-tasks]

--abc defaults to ../shared/data/abc-headlines beside the repository (or
../shared/data/abc-headlines); only this script and the benchmark read
these files, never the library or the program.

--dev writes a development set instead (use --out elsewhere): the ABC
research split instead of the validation split, and another seed for every
draw. Its WordNet and fortune categories are the same, and small
categories share many texts with the evaluation set; it served to choose
the contrast method's temperature, so that bench/scoring-tasks/ measures a
method that was not tuned on it (bench/run-scoring-eval.sh --dev).
"""

import argparse
import json
import os
import random
import re
import sys

A_MAX = 150
B_SIZE = 150
MIN_A = 60          # categories with fewer usable texts are left out
MAX_CHARS = 400
SEED = 20240917
PAIRS = 30          # pair tasks of a group of MAX_GROUP categories (fewer for smaller groups)
MAX_GROUP = 24

DISTRACTORS = [
    "is a short sentence",
    "mentions a person",
    "mentions a number",
    "is written in a formal tone",
    "is humorous",
    "expresses a negative opinion",
    "asks a question",
    "mentions a place",
    "describes something that happened",
    "uses technical language",
]

# WordNet lexicographer files (lexnames(5)): number -> (name, description).
WORDNET_NOUNS = {
    4: ("noun.act", "is about acts or actions"),
    5: ("noun.animal", "is about animals"),
    6: ("noun.artifact", "is about man-made objects"),
    7: ("noun.attribute", "is about attributes and properties"),
    8: ("noun.body", "is about body parts"),
    9: ("noun.cognition", "is about thinking and knowledge"),
    10: ("noun.communication", "is about communication and language"),
    11: ("noun.event", "is about events that happen"),
    12: ("noun.feeling", "is about feelings and emotions"),
    13: ("noun.food", "is about food and drink"),
    14: ("noun.group", "is about groups of people or things"),
    15: ("noun.location", "is about places"),
    17: ("noun.object", "is about natural objects"),
    18: ("noun.person", "is about people"),
    19: ("noun.phenomenon", "is about natural phenomena"),
    20: ("noun.plant", "is about plants"),
    21: ("noun.possession", "is about possessions and money"),
    22: ("noun.process", "is about natural processes"),
    23: ("noun.quantity", "is about quantities and units of measure"),
    24: ("noun.relation", "is about relations between things"),
    25: ("noun.shape", "is about shapes"),
    26: ("noun.state", "is about states and conditions"),
    27: ("noun.substance", "is about substances and materials"),
    28: ("noun.time", "is about time"),
}
WORDNET_VERBS = {
    29: ("verb.body", "is about grooming, dressing and bodily care"),
    30: ("verb.change", "is about changes of size, temperature or intensity"),
    31: ("verb.cognition", "is about thinking, judging and reasoning"),
    32: ("verb.communication", "is about speaking, writing and communicating"),
    33: ("verb.competition", "is about fighting and competing"),
    34: ("verb.consumption", "is about eating and drinking"),
    35: ("verb.contact", "is about touching, hitting and attaching"),
    36: ("verb.creation", "is about making and creating things"),
    37: ("verb.emotion", "is about feelings"),
    38: ("verb.motion", "is about walking, flying and moving"),
    39: ("verb.perception", "is about seeing, hearing and feeling"),
    40: ("verb.possession", "is about buying, selling and owning"),
    41: ("verb.social", "is about social and political activities"),
    42: ("verb.stative", "is about being, having and spatial relations"),
    43: ("verb.weather", "is about the weather"),
}

FORTUNES = {
    "art": "is about art and entertainment",
    "computers": "is about computers",
    "definitions": "is a definition of a word",
    "disclaimer": "is a disclaimer",
    "drugs": "is about drugs and alcohol",
    "education": "is about education and school",
    "food": "is about food and drink",
    "kids": "is about children",
    "law": "is about law and lawyers",
    "linux": "is about Linux",
    "literature": "is about books and writers",
    "love": "is about love",
    "medicine": "is about medicine and doctors",
    "men-women": "is about men and women",
    "perl": "is about Perl programming",
    "politics": "is about politics",
    "riddles": "is a riddle",
    "science": "is about science",
    "songs-poems": "is a song or a poem",
    "sports": "is about sports",
    "startrek": "is about Star Trek",
    "tao": "is about the Tao",
    "work": "is about work and jobs",
}

# Topic -> (keywords, description). Keywords are whole lower-case words.
ABC_TOPICS = {
    "covid": (["coronavirus", "covid", "covid-19", "covid19", "pandemic"],
              "is about the coronavirus pandemic"),
    "police": (["police", "policeman", "policemen", "officer", "officers"], "is about the police"),
    "court": (["court", "courts", "judge", "trial", "jury"], "is about a court case"),
    "election": (["election", "elections", "vote", "voters", "voting", "ballot"],
                 "is about an election"),
    "fire": (["bushfire", "bushfires", "fire", "fires", "firefighters", "blaze"],
             "is about fires"),
    "cricket": (["cricket", "wicket", "wickets", "batsman", "bowler", "ashes"],
                "is about cricket"),
    "afl": (["afl", "aflw"], "is about Australian rules football"),
    "rugby": (["rugby", "nrl", "nrlw", "wallabies"], "is about rugby"),
    "tennis": (["tennis", "wimbledon"], "is about tennis"),
    "weather": (["rain", "storm", "storms", "flood", "floods", "flooding", "weather", "cyclone"],
                "is about the weather"),
    "drought": (["drought"], "is about drought"),
    "farming": (["farmer", "farmers", "farm", "farms", "farming"], "is about farming"),
    "china": (["china", "chinese", "beijing"], "is about China"),
    "usa": (["trump", "biden", "america", "american", "americans"], "is about the United States"),
    "crash": (["crash", "crashes", "collision"], "is about a crash"),
    "killing": (["murder", "murdered", "murders", "homicide", "manslaughter"],
                "is about a killing"),
    "health": (["hospital", "hospitals", "doctor", "doctors", "nurse", "nurses", "health"],
               "is about health care"),
    "school": (["school", "schools", "students", "teachers", "university"],
               "is about education"),
    "economy": (["economy", "economic", "recession", "unemployment", "budget"],
                "is about the economy"),
    "housing": (["housing", "rent", "rental", "mortgage", "property"], "is about housing"),
    "indigenous": (["indigenous", "aboriginal"], "is about Indigenous Australians"),
    "mining": (["mine", "mining", "miners", "coal"], "is about mining"),
    "climate": (["climate", "emissions", "carbon"], "is about climate change"),
    "drugs": (["drug", "drugs", "cannabis", "methamphetamine", "cocaine", "heroin"],
              "is about illegal drugs"),
    "music": (["music", "musician", "band", "concert", "singer", "album"], "is about music"),
    "government": (["parliament", "minister", "premier", "government"],
                   "is about government"),
}


def clean(text):
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS]
    return text


def wordnet_categories(path, table):
    """{description: [texts]} from a WordNet data file."""
    cats = {num: [] for num in table}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            num = int(fields[1])
            if num not in cats:
                continue
            lemma = re.sub(r"\(.*\)$", "", fields[4]).replace("_", " ")
            cats[num].append(clean(f"{lemma}: {gloss}"))
    return {table[n][0]: (table[n][1], texts) for n, texts in cats.items()}


def fortune_categories(folder):
    cats = {}
    for name, desc in FORTUNES.items():
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            entries = f.read().split("\n%\n")
        texts = [clean(e) for e in entries]
        cats[name] = (desc, [t for t in texts if len(t) >= 20])
    return cats


def abc_categories(folder, split):
    heads = []
    for year in ("2020", "2019"):
        with open(os.path.join(folder, f"{year}.{split}.jsonl"), encoding="utf-8") as f:
            heads += [json.loads(line)["text"] for line in f if line.strip()]
    word_topic = {}
    for topic, (words, _) in ABC_TOPICS.items():
        for w in words:
            word_topic[w] = topic
    cats = {t: (ABC_TOPICS[t][1], []) for t in ABC_TOPICS}
    for h in heads:
        words = h.split()
        topics = {word_topic[w] for w in words if w in word_topic}
        if len(topics) != 1:
            continue
        kept = [w for w in words if w not in word_topic]
        if len(kept) < 3:
            continue
        cats[topics.pop()][1].append(" ".join(kept))
    return cats


def build(name, groups, out_dir, rng):
    """groups: list of {category: (description, texts)}; tasks compare each
    category with the others of its group. Writes the two files and returns
    (tasks, texts, bytes)."""
    rows, labels, row_of = [], [], {}
    chosen = []  # per group: {category: [rows of A]}
    for cats in groups:
        picked = {}
        for cat, (desc, texts) in sorted(cats.items()):
            uniq = [t for t in dict.fromkeys(texts) if t not in row_of]
            if len(uniq) < MIN_A:
                print(f"{name}: {cat} left out ({len(uniq)} usable texts)", file=sys.stderr)
                continue
            sample = rng.sample(uniq, min(A_MAX, len(uniq)))
            picked[cat] = []
            for t in sample:
                row_of[t] = len(rows)
                picked[cat].append(len(rows))
                rows.append(t)
                labels.append(cat)
        chosen.append(picked)
    tasks = []
    for cats, picked in zip(groups, chosen):
        names = sorted(picked)

        def task(cat, b, label, b_cat=None):
            cands = [cats[c][0] for c in names] + DISTRACTORS
            rng.shuffle(cands)
            t = {"name": f"{name}/{label}", "kind": "pair" if b_cat else "rest",
                 "a": picked[cat], "b": b, "candidates": cands,
                 "gold": cands.index(cats[cat][0])}
            if b_cat:
                t["gold_b"] = cands.index(cats[b_cat][0])
            tasks.append(t)

        for cat in names:  # one category against the rest
            others = [r for c in names if c != cat for r in picked[c]]
            task(cat, sorted(rng.sample(others, min(B_SIZE, len(others)))), cat)
        # One category against one other: ordered pairs drawn at random.
        pairs = [(x, y) for x in names for y in names if x != y]
        for x, y in rng.sample(pairs, min(len(pairs), PAIRS * len(names) // MAX_GROUP)):
            task(x, picked[y], f"{x}~{y}", y)
    size = 0
    path = os.path.join(out_dir, f"{name}.texts.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t, lab in zip(rows, labels):
            line = json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
            size += len(line.encode())
            f.write(line)
    path = os.path.join(out_dir, f"{name}.tasks.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t in tasks:
            line = json.dumps(t, ensure_ascii=False, separators=(",", ":")) + "\n"
            size += len(line.encode())
            f.write(line)
    return len(tasks), len(rows), size


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_abc = os.path.join(os.path.dirname(here), "shared", "data", "abc-headlines")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--abc", default=default_abc, help="abc-headlines folder")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--fortunes", default="/usr/share/games/fortunes")
    ap.add_argument("--out", default=os.path.join(here, "bench", "scoring-tasks"))
    ap.add_argument("--dev", action="store_true",
                    help="a development set instead (ABC research split, another seed); "
                         "write it elsewhere with --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(SEED + 1 if args.dev else SEED)
    split = "research" if args.dev else "validation"
    total = 0
    for name, groups in (
        ("wordnet", lambda: [wordnet_categories(os.path.join(args.wordnet, "data.noun"), WORDNET_NOUNS),
                             wordnet_categories(os.path.join(args.wordnet, "data.verb"), WORDNET_VERBS)]),
        ("fortunes", lambda: [fortune_categories(args.fortunes)]),
        ("abc", lambda: [abc_categories(args.abc, split)]),
    ):
        n_tasks, n_texts, size = build(name, groups(), args.out, rng)
        total += size
        print(f"{name}: {n_tasks} tasks, {n_texts} texts, {size / 1e6:.2f} MB")
    print(f"total {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
