"""hyporank from Python: how 2020's news headlines differ from 2019's.

Runs offline on the bundled headlines (examples/headlines-*.jsonl), with the
local model (``$HYPORANK_MODEL``, or the folder scripts/fetch-model.sh laid
out when the package was built):

    python examples/python_quickstart.py

Each step is a cell of a notebook: read the data, embed, describe, look at
the table, the findings, the data frame and the HTML page.
"""

import json
from pathlib import Path

import hyporank as hr

here = Path(__file__).resolve().parent


def headlines(year: int) -> list[str]:
    with open(here / f"headlines-{year}.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


# %% The headlines: 1,000 of each year.
a, b = headlines(2020), headlines(2019)
print(f"{len(a)} headlines of 2020, {len(b)} of 2019; e.g. {a[0]!r}")

# %% Embeddings: a float32 numpy array, one L2-normalised row a text (no copy).
X = hr.embed(a[:5])
print("embeddings:", X.shape, X.dtype)

# %% Describe: which hypotheses separate the two years, both ways.
rep = hr.describe(a, b, goal="which news topics grew or shrank in 2020", progress=False)
print(rep.to_table())

# %% The findings, as objects: distinct differences, each with the share of
# each year's headlines it holds for and the effect's 95% interval.
print("Findings:")
for f in rep.findings:
    lo, hi = f.effect_ci
    print(f"  {f.text}: {f.share_a:.0%} of 2020, {f.share_b:.0%} of 2019 "
          f"(effect {f.effect:+.2f}, 95% CI [{lo:+.2f}, {hi:+.2f}], q = {f.q_value:.1e}); "
          f"{f.get('explains', 0)} other candidates are its shadows or paraphrases")

# %% Every candidate as a data frame (needs pandas).
try:
    df = rep.to_pandas()
except ImportError:
    print("(pip install pandas for rep.to_pandas())")
else:
    cols = ["rank", "direction", "share_a", "share_b", "effect", "q_value", "finding", "explained_by", "text"]
    print(df[cols].head(10).to_string(index=False))

# %% The page to read and share: one self-contained file, no network.
rep.write_html("headlines-2020-vs-2019.html", title="Headlines of 2020 against 2019",
               a_name="2020", b_name="2019")
print("wrote headlines-2020-vs-2019.html")

# %% Your own hypotheses, ranked on the same texts.
mine = ["is about the coronavirus pandemic", "is about bushfires", "is about cricket", "is about an election"]
print(hr.rank(a, b, mine, progress=False).to_table())
