"""hyporank.rank: the program's numbers, from texts, files or numpy arrays
(taken where they lie), and the report object."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import hyporank as hr
from hyporank import _native
from hyporank._report import Report

from conftest import EXAMPLES

IDEAS = [
    "is about the coronavirus pandemic",
    "is about sport",
    "is about the weather",
    "mentions a politician",
    "is about sport",  # a repeat: kept, ranked, noted
]

#: Every number of a rank row: the package and the program must agree exactly.
ROW_FIELDS = ("rank", "index", "text", "line", "direction", "share_a", "share_b", "effect", "effect_ci", "p_value",
              "q_value", "significant", "finding", "explained_by", "auroc", "auroc_p_value", "mean_a", "mean_b", "z")


def _rows(doc: dict) -> list[dict]:
    return [{k: r.get(k) for k in ROW_FIELDS} for r in doc["hypotheses"]]


@pytest.fixture(scope="module")
def ideas_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ideas") / "ideas.txt"
    path.write_text("\n".join(IDEAS) + "\n", encoding="utf-8")
    return path


# The program and the package both compute their embeddings (no cache) when
# their numbers are compared: a text's embedding depends in its last digits
# on the batch it was computed in (OpenBLAS's Haswell/Zen sgemm sums a row
# in an order that depends on its place in the call), so embeddings cached by
# an earlier test's run on other texts can move a mean by ~1e-9.
@pytest.fixture(scope="module")
def cli_rank(run_cli, ideas_file, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("rank") / "rank.json"
    run_cli(
        "rank", "--a", EXAMPLES / "headlines-2020.jsonl", "--b", EXAMPLES / "headlines-2019.jsonl",
        "--hypotheses", ideas_file, "--json", out, "--device", "cpu", "--no-cache",
    )
    return json.loads(out.read_text())


def test_rank_from_lists_gives_the_programs_numbers(cli_rank, headlines) -> None:
    rep = hr.rank(headlines[0], headlines[1], IDEAS, device="cpu", cache=False)
    assert rep.kind == "rank" and len(rep) == 5 and rep.n_a == rep.n_b == 1000
    assert _rows(rep.to_dict()) == _rows(cli_rank)
    assert rep.encoder == cli_rank["encoder"] and rep.scorer == cli_rank["scorer"]
    assert any("repeats hypothesis 1" in n for n in rep.notes)
    assert [h for h in rep if "duplicate_of" in h][0].duplicate_of == 1


def test_rank_from_files_gives_the_programs_document(cli_rank, ideas_file) -> None:
    rep = hr.rank(EXAMPLES / "headlines-2020.jsonl", EXAMPLES / "headlines-2019.jsonl", ideas_file, device="cpu",
                  cache=False)
    ours, theirs = rep.to_dict(), dict(cli_rank)
    ours.pop("seconds"), theirs.pop("seconds")
    assert ours == theirs


def test_rank_from_arrays_gives_the_programs_numbers_for_the_same_npy(run_cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    a, b, h = (rng.standard_normal((n, 32)).astype(np.float32) for n in (300, 200, 12))
    b[:, 0] += 0.3  # something to find
    for name, m in (("a", a), ("b", b), ("h", h)):
        np.save(tmp_path / f"{name}.npy", m)
    out = tmp_path / "rank.json"
    run_cli("rank", "--a-emb", tmp_path / "a.npy", "--b-emb", tmp_path / "b.npy", "--h-emb", tmp_path / "h.npy",
            "--json", out, "--device", "cpu")
    theirs = json.loads(out.read_text())
    rep = hr.rank(a_emb=a, b_emb=b, h_emb=h, device="cpu")
    assert _rows(rep.to_dict()) == _rows(theirs)
    assert rep.encoder["model"] == "precomputed"
    # and the same from the .npy files through the package
    rep = hr.rank(a_emb=tmp_path / "a.npy", b_emb=tmp_path / "b.npy", h_emb=tmp_path / "h.npy", device="cpu")
    assert _rows(rep.to_dict()) == _rows(theirs)


def test_arrays_are_lent_to_the_library_where_they_lie() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((50, 8)).astype(np.float32)
    assert _native._buffer_address(a) == (a.ctypes.data, 50, 8)
    view = a[10:20]  # a C-contiguous slice: its own address, still no copy
    assert _native._buffer_address(view) == (view.ctypes.data, 10, 8)
    b, h = a[::-1].copy(), a[:3].copy()
    before = [sys.getrefcount(x) for x in (a, b, h)]
    hr.rank(a_emb=a, b_emb=b, h_emb=h, device="cpu")
    assert [sys.getrefcount(x) for x in (a, b, h)] == before  # every buffer released
    a.resize((25, 16), refcheck=False)  # and nothing holds an export


def test_ranking_large_arrays_allocates_no_copy_of_them(tmp_path: Path) -> None:
    """Peak memory of rank over 2 x 160 MB arrays stays far below one copy."""
    script = textwrap.dedent(
        """
        import resource, numpy as np, hyporank as hr
        rng = np.random.default_rng(3)
        a = rng.standard_normal((110_000, 384), dtype=np.float32)
        b = rng.standard_normal((110_000, 384), dtype=np.float32)
        h = rng.standard_normal((2, 384), dtype=np.float32)
        hr.rank(a_emb=a[:10], b_emb=b[:10], h_emb=h, device="cpu", method="cosine")  # warm up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rep = hr.rank(a_emb=a, b_emb=b, h_emb=h, device="cpu", method="cosine", memory_mb=16, threads=1)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(rep.n_a, (after - before) // 1024)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    n_a, grew_mb = map(int, done.stdout.split())
    assert n_a == 110_000
    assert grew_mb < 60, f"peak memory grew by {grew_mb} MB; a copy of A alone is 161 MB"


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(a_emb=np.zeros((4, 8)), b_emb=np.ones((4, 8), np.float32)), "float32"),
        (dict(a_emb=np.asfortranarray(np.ones((4, 8), np.float32)), b_emb=np.ones((4, 8), np.float32)),
         "C-contiguous"),
        (dict(a_emb=np.ones(8, np.float32), b_emb=np.ones((4, 8), np.float32)), "shape"),
        (dict(a_emb=np.ones((4, 8), np.float32), b_emb=np.ones((4, 9), np.float32)), "dimension mismatch"),
        (dict(a_emb=np.ones((4, 8), np.float32), b_emb=np.full((4, 8), np.nan, np.float32)),
         "b_emb: row 0, column 0 .* NaN"),
        (dict(a_emb=np.ones((0, 8), np.float32), b_emb=np.ones((4, 8), np.float32)), "no rows"),
        (dict(a=["x", "y"], a_emb=np.ones((2, 8), np.float32), b_emb=np.ones((4, 8), np.float32)),
         "exactly one"),
    ],
)
def test_bad_matrices_are_input_errors(kw, message) -> None:
    with pytest.raises(hr.InputError, match=message):
        hr.rank(h_emb=np.ones((2, 8), np.float32), device="cpu", **kw)


def test_bad_options_are_input_errors(headlines) -> None:
    with pytest.raises(hr.InputError, match="method must be"):
        hr.rank(headlines[0][:5], headlines[1][:5], IDEAS, method="dot")
    with pytest.raises(hr.InputError, match="no hypotheses"):
        hr.rank(headlines[0][:5], headlines[1][:5], [])
    with pytest.raises(hr.InputError, match="not one string"):
        hr.rank(headlines[0][:5], headlines[1][:5], "is about sport")


def test_the_report_reads_as_python(headlines) -> None:
    rep = hr.rank(headlines[0], headlines[1], IDEAS, device="cpu")
    df = rep.to_pandas()
    assert list(df["rank"]) == [1, 2, 3, 4, 5]
    assert set(json.loads(rep.to_json())["hypotheses"][0]) <= set(df.columns)
    assert np.array_equal(rep.column("auroc"), df["auroc"].to_numpy())
    top = rep[0]
    assert top.text == "is about the coronavirus pandemic" and top.direction == "A"
    assert top["auroc"] == top.auroc == rep.hypotheses[0].get("auroc")
    with pytest.raises(AttributeError, match="no field 'colour'"):
        top.colour
    assert "is about the coronavirus pandemic" in rep.to_table() == str(rep)
    assert json.loads(rep.to_json(indent=2)) == rep.to_dict()
    assert "hypotheses" not in rep.info and rep.info["n_a"] == 1000
    with pytest.raises(hr.Error):
        rep.to_markdown()  # a rank report has no Markdown (as the program)


def test_alpha_is_the_programs(run_cli, ideas_file, headlines, tmp_path: Path) -> None:
    out = tmp_path / "rank.json"
    run_cli("rank", "--a", EXAMPLES / "headlines-2020.jsonl", "--b", EXAMPLES / "headlines-2019.jsonl",
            "--hypotheses", ideas_file, "--alpha", "1e-12", "--json", out, "--device", "cpu", "--no-cache")
    theirs = json.loads(out.read_text())
    rep = hr.rank(headlines[0], headlines[1], IDEAS, alpha=1e-12, device="cpu", cache=False)
    assert rep.alpha == theirs["alpha"] == 1e-12
    assert _rows(rep.to_dict()) == _rows(theirs)
    strict = [h.text for h in rep if h.significant]
    loose = [h.text for h in hr.rank(headlines[0], headlines[1], IDEAS, device="cpu") if h.significant]
    assert set(strict) < set(loose)  # a smaller alpha keeps fewer


def test_the_html_page_is_the_programs(headlines, tmp_path: Path) -> None:
    rep = hr.rank(headlines[0], headlines[1], IDEAS, device="cpu")
    page = rep.to_html(title="Headlines <2020> & 2019", a_name="twenty", b_name="nineteen")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Headlines &lt;2020&gt; &amp; 2019" in page and "twenty" in page and "nineteen" in page
    assert "is about the coronavirus pandemic" in page and "(Python)" in page
    out = tmp_path / "page.html"
    rep.write_html(out, title="t")
    written = out.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>") and "<title>t" in written
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"]  # no temporary left


class _FakeNative:
    def __init__(self, doc: dict) -> None:
        self.doc = doc

    def json(self) -> str:
        return json.dumps(self.doc)

    def kind(self) -> str:
        return "describe"


def test_findings_are_the_rows_marked_finding_when_the_library_marks_them() -> None:
    rows = [
        {"rank": 1, "text": "x", "significant": True, "finding": True, "effect": 0.3},
        {"rank": 2, "text": "y", "significant": True, "finding": False, "explained_by": 0},
        {"rank": 3, "text": "z", "significant": False, "finding": False},
    ]
    rep = Report(_FakeNative({"n_a": 1, "n_b": 1, "hypotheses": rows}), [])
    assert [h.text for h in rep.findings] == ["x"] and rep.findings[0].effect == 0.3
    for r in rows:
        del r["finding"]
    rep = Report(_FakeNative({"n_a": 1, "n_b": 1, "hypotheses": rows}), [])
    assert [h.text for h in rep.findings] == ["x", "y"]  # else the significant ones
    assert "effect" in rep.to_pandas().columns  # new fields are columns as they come
