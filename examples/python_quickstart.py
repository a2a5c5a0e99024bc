"""hyporank from Python: how 2020's news headlines differ from 2019's.

Runs offline on the bundled headlines (examples/headlines-*.jsonl), with the
local model (``$HYPORANK_MODEL``, or the folder scripts/fetch-model.sh laid
out when the package was built):

    python examples/python_quickstart.py

Each step is a cell of a notebook: read the data, embed, describe, look at
the table, the findings, and the data frame.
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

# %% The top findings, as objects.
print("Top findings:")
for f in rep.findings[:5]:
    more = "2020" if f.direction == "A" else "2019"
    print(f"  more typical of {more}: {f.text}  (AUROC {f.auroc:.3f}, q = {f.q_value:.1e})")

# %% Every candidate as a data frame (needs pandas).
try:
    df = rep.to_pandas()
except ImportError:
    print("(pip install pandas for rep.to_pandas())")
else:
    print(df[["rank", "direction", "auroc", "q_value", "source", "text"]].head(10).to_string(index=False))

# %% Your own hypotheses, ranked on the same texts.
mine = ["is about the coronavirus pandemic", "is about bushfires", "is about cricket", "is about an election"]
print(hr.rank(a, b, mine, progress=False).to_table())
