"""hyporank.describe and hyporank.explain: the program's numbers on the same
input, the report's renderers, the LLM's errors, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hyporank as hr

from conftest import EXAMPLES

A, B = EXAMPLES / "headlines-2020.jsonl", EXAMPLES / "headlines-2019.jsonl"


@pytest.fixture(scope="module")
def cli_describe(run_cli, tmp_path_factory) -> tuple[dict, str]:
    d = tmp_path_factory.mktemp("describe")
    run_cli("describe", "--a", A, "--b", B, "--goal", "what changed", "--json", d / "d.json",
            "--markdown", d / "d.md", "--device", "cpu")
    return json.loads((d / "d.json").read_text()), (d / "d.md").read_text()


def _without_times(doc: dict) -> dict:
    doc = dict(doc)
    doc.pop("seconds", None)
    return doc


def test_describe_from_lists_gives_the_programs_rows(cli_describe, headlines) -> None:
    rep = hr.describe(headlines[0], headlines[1], goal="what changed", device="cpu")
    theirs = cli_describe[0]
    assert rep.kind == "describe" and rep.goal == "what changed"
    assert rep.hypotheses and [h.to_dict() for h in rep.hypotheses] == theirs["hypotheses"]
    ours = rep.to_dict()
    for key in ("n_a", "n_b", "encoder", "scorer", "alpha", "significant_a", "significant_b", "clusters"):
        assert ours.get(key) == theirs.get(key), key
    assert rep.a == "a" and rep.b == "b"  # in-memory corpora are named so


def test_describe_from_files_gives_the_programs_document_and_markdown(cli_describe) -> None:
    rep = hr.describe(A, B, goal="what changed", device="cpu")
    assert _without_times(rep.to_dict()) == _without_times(cli_describe[0])
    assert rep.to_markdown() == cli_describe[1]
    assert rep._repr_markdown_() == cli_describe[1]


def test_findings_and_the_table(headlines) -> None:
    rep = hr.describe(headlines[0], headlines[1], device="cpu")
    findings = rep.findings
    assert findings and all(f.get("finding", f.get("significant")) for f in findings)
    assert any("covid" in f.text.lower() or "coronavirus" in f.text.lower() for f in findings if f.direction == "A")
    table = rep.to_table()
    assert "More typical of A than of B" in table and "More typical of B than of A" in table
    df = rep.to_pandas()
    assert len(df) == len(rep) and {"text", "auroc", "q_value", "direction"} <= set(df.columns)


def test_your_hypotheses_join_the_pool(headlines) -> None:
    mine = ["is about the coronavirus pandemic", "is about a cricket match"]
    rep = hr.describe(headlines[0], headlines[1], hypotheses=mine, bank=False, ngrams=False, clusters=False,
                      device="cpu")
    assert sorted(h.text for h in rep) == sorted(mine)
    assert all(h.source == "user" for h in rep)
    assert rep[0].text == mine[0] and rep[0].direction == "A"


def test_an_endpoint_that_cannot_be_reached_is_an_llm_error(headlines) -> None:
    with pytest.raises(hr.LLMError, match="127.0.0.1:9") as got:
        hr.describe(headlines[0][:200], headlines[1][:200], llm=hr.LLM("http://127.0.0.1:9/v1", "nothing"),
                    device="cpu", verify_top=0)
    assert isinstance(got.value, hr.Error)
    # as the program writes its offline report and exits 3, the error carries it
    rep = got.value.report
    assert isinstance(rep, hr.Report) and rep.llm["status"] == "failed" and rep.findings


def test_an_llm_that_answers_in_part_warns_and_its_verdicts_count(headlines, fake_llm) -> None:
    url = fake_llm("vpartial")
    with pytest.warns(hr.LLMWarning, match="the LLM judge-1 gave 3 of 3 proposal rounds and"):
        rep = hr.describe(headlines[0][:200], headlines[1][:200], llm=hr.LLM(url, "judge-1", timeout=30),
                          verify_top=2, verify_samples=5, examples=0, device="cpu", cache=False)
    assert rep.llm["status"] == "partial" and rep.llm["verdicts_missing"] > 0
    assert any("verification" in h for h in rep)


def test_an_llm_that_never_answers_usably_raises_with_the_offline_report(headlines, fake_llm) -> None:
    url = fake_llm("status:400")
    with pytest.raises(hr.LLMError, match="gave no usable answer") as got:
        hr.describe(headlines[0][:200], headlines[1][:200], llm=hr.LLM(url, "judge-1"),
                    verify_top=2, verify_samples=5, examples=0, device="cpu", cache=False)
    assert got.value.status == "llm" and got.value.report.llm["status"] == "failed"
    assert got.value.report.hypotheses  # the offline report, whole


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(a=["only one"], b=["x", "y"]), "at least 2 texts"),
        (dict(a=["x", "y"], b=["x", "y"], holdout=2.0), "out of its range"),
        (dict(a=["x", "y"], b=["x", "y"], goal="g" * 5000), "goal"),
        (dict(a=["x", 1], b=["x", "y"]), r"a\[1\] is int"),
        (dict(a=["x", "y"], b=["x", "y"], bank=False, ngrams=False), "no candidates"),
    ],
)
def test_bad_describe_input_is_an_input_error(kw, message) -> None:
    with pytest.raises(hr.InputError, match=message):
        hr.describe(device="cpu", **kw)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, headlines) -> Path:
    """The headlines as one labelled file: 2020's label 1, 2019's label 0, and a score."""
    path = tmp_path_factory.mktemp("explain") / "labelled.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for label, texts in ((1, headlines[0]), (0, headlines[1])):
            for i, t in enumerate(texts):
                f.write(json.dumps({"text": t, "label": label, "score": (i % 7) / 7 + 0.5 * label}) + "\n")
    return path


# Both sides compute their embeddings (no cache): the probe's last digits
# depend on OpenBLAS's thread count, which the CPU encoder sets when it runs,
# so a run whose embeddings all come from a cache can differ from one that
# computed them in the 15th digit (the program's own two runs do too).
EXPLAIN_OPTS = ["--no-bank", "--bootstrap", "200", "--ngrams", "10", "--device", "cpu", "--no-cache"]
EXPLAIN_KW = dict(bank=False, bootstrap=200, ngrams_per_side=10, device="cpu", cache=False)


def test_explain_from_lists_gives_the_programs_numbers(run_cli, labelled, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    run_cli("explain", "--data", labelled, "--label-field", "label", "--json", out, *EXPLAIN_OPTS)
    theirs = json.loads(out.read_text())
    rows = [json.loads(line) for line in labelled.read_text().splitlines()]
    rep = hr.explain([r["text"] for r in rows], [r["label"] for r in rows], **EXPLAIN_KW)
    ours = rep.to_dict()
    for key in ("n", "evaluated", "candidates", "reference_auroc", "readable_auroc", "explained", "explained_ci",
                "selected", "rounds", "residual_count"):
        assert ours[key] == theirs[key], key
    for mine, cli in zip(ours["residual_examples"], theirs["residual_examples"], strict=True):
        assert mine == dict(cli, file="texts")  # the texts in memory are named so
    assert rep.explained == theirs["explained"]
    assert "Explained:" in rep.to_table()


def test_explain_with_scores_gives_the_programs_numbers(run_cli, labelled, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    run_cli("explain", "--data", labelled, "--label-field", "label", "--score-field", "score", "--json", out,
            *EXPLAIN_OPTS)
    theirs = json.loads(out.read_text())
    rows = [json.loads(line) for line in labelled.read_text().splitlines()]
    import numpy as np

    rep = hr.explain(np.array([r["text"] for r in rows]), np.array([r["label"] for r in rows]),
                     scores=np.array([r["score"] for r in rows]), **EXPLAIN_KW)
    ours = rep.to_dict()
    for key in ("reference", "reference_auroc", "readable_auroc", "explained", "selected"):
        assert ours[key] == theirs[key], key
    # from the file itself, the fields named
    rep = hr.explain(labelled, "label", scores="score", **EXPLAIN_KW)
    assert rep.explained == theirs["explained"]


def test_explain_with_scores_alone_explains_the_scores(headlines) -> None:
    texts = headlines[0][:300] + headlines[1][:300]
    scores = [1.0 if "covid" in t or "coronavirus" in t else (i % 5) / 10 for i, t in enumerate(texts)]
    rep = hr.explain(texts, scores=scores, **dict(EXPLAIN_KW, bank=True))
    assert rep.to_dict().get("continuous", True)
    assert "continuous" in rep.to_table()


def test_bad_explain_input_is_an_input_error(headlines) -> None:
    texts = headlines[0][:20]
    with pytest.raises(hr.InputError, match="has 3 values for 20 texts"):
        hr.explain(texts, [0, 1, 0])
    with pytest.raises(hr.InputError, match="third value"):
        hr.explain(texts, [i % 3 for i in range(20)])
    with pytest.raises(hr.InputError, match=r"labels\[2\] is list"):
        hr.explain(texts, [0, 1, [2]] + [0] * 17)
    with pytest.raises(hr.InputError, match="no label"):
        hr.explain(texts, [0, 1, None] + [0] * 17)
    with pytest.raises(hr.InputError, match="give labels"):
        hr.explain(texts)
