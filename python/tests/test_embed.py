"""hyporank.embed: the program's numbers, numpy in and out without copies, bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hyporank as hr
from hyporank import _native  # the extension module, for addresses

from conftest import EXAMPLES


def test_embeddings_equal_the_programs_bit_for_bit(run_cli, headlines, tmp_path: Path) -> None:
    out = tmp_path / "cli.npy"
    run_cli("embed", "--in", EXAMPLES / "headlines-2020.jsonl", "--out", out, "--no-cache", "--device", "cpu")
    ours = hr.embed(headlines[0], device="cpu", cache=False, progress=False)
    theirs = np.load(out)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (1000, 384)
    assert np.array_equal(ours, theirs)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_the_array_is_the_librarys_memory_not_a_copy() -> None:
    x = hr.embed(["one text", "another text"], device="cpu")
    assert not x.flags.owndata
    matrix = x.base.obj if isinstance(x.base, memoryview) else x.base
    assert isinstance(matrix, _native.Matrix)
    assert matrix.address == x.ctypes.data and matrix.shape == x.shape
    x[0, 0] = 42.0  # writable, as any array the caller owns
    assert memoryview(matrix)[0, 0] == 42.0


def test_out_is_filled_in_place(headlines) -> None:
    texts = headlines[1][:50]
    out = np.zeros((50, 384), dtype=np.float32)
    address = out.ctypes.data
    got = hr.embed(texts, out=out, device="cpu")
    assert got is out and out.ctypes.data == address
    assert _native._buffer_address(out, True) == (address, 50, 384)
    assert np.array_equal(out, hr.embed(texts, device="cpu"))


@pytest.mark.parametrize(
    "out, message",
    [
        (np.zeros((3, 384), dtype=np.float64), "float32"),
        (np.zeros((3, 100), dtype=np.float32), r"shape \(3, 100\)"),
        (np.zeros((384, 3), dtype=np.float32).T, "C-contiguous"),
        (np.zeros((3, 384), dtype=np.float32)[:, :], None),
    ],
)
def test_out_must_be_a_writable_contiguous_float32_array_of_the_right_shape(out, message) -> None:
    texts = ["a", "b", "c"]
    if message is None:
        assert hr.embed(texts, out=out, device="cpu") is out
        return
    with pytest.raises(hr.InputError, match=message):
        hr.embed(texts, out=out, device="cpu")
    frozen = np.zeros((3, 384), dtype=np.float32)
    frozen.flags.writeable = False
    with pytest.raises(hr.InputError, match="writable"):
        hr.embed(texts, out=frozen, device="cpu")


def test_lists_tuples_numpy_arrays_and_series_give_the_same_rows(headlines) -> None:
    texts = headlines[0][:20]
    want = hr.embed(texts, device="cpu")
    for given in (tuple(texts), np.array(texts), np.array(texts, dtype=object), pd.Series(texts), iter(texts)):
        assert np.array_equal(hr.embed(given, device="cpu"), want), type(given)


def test_an_embedder_keeps_its_model_and_says_what_it_is() -> None:
    e = hr.Embedder(device="cpu").load()
    assert e.dim == 384 and e.model == "all-MiniLM-L6-v2" and e.device == "cpu"
    assert e.cache_path and Path(e.cache_path).name == "py.sqlite"
    x = e.embed(["cached once", "cached twice"])
    e.embed(["cached once", "cached twice"])
    assert e.last_stats == (0, 2)  # both from the cache the second time
    assert x.shape == (2, 384)
    assert hr.Embedder(device="cpu", cache=False).load().cache_path is None


def test_no_texts_is_an_empty_matrix() -> None:
    assert hr.embed([], device="cpu").shape == (0, 384)


@pytest.mark.parametrize(
    "texts, message",
    [
        ("one string", "not one string"),
        (["fine", 3], r"texts\[1\] is int, not a str"),
        (["fine", None], r"texts\[1\] is NoneType"),
        (["a\x00b"], r"texts\[0\] holds a NUL"),
        (["\ud800"], r"texts\[0\] is not valid Unicode"),
        (np.zeros((2, 2)).astype(str), "1-dimensional"),
    ],
)
def test_bad_texts_are_input_errors_that_say_which(texts, message) -> None:
    with pytest.raises(hr.InputError, match=message) as got:
        hr.embed(texts, device="cpu")
    assert got.value.status == "input"
    assert isinstance(got.value, ValueError) and isinstance(got.value, hr.Error)


def test_a_missing_model_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(hr.ModelError, match=str(tmp_path / "nothing")):
        hr.embed(["x"], model=tmp_path / "nothing", device="cpu")


def test_devices_are_checked() -> None:
    with pytest.raises(hr.InputError, match="'cpu', 'cuda' or 'auto'"):
        hr.Embedder(device="gpu")
    usable, why = hr.device_usable("cuda")
    if usable:
        pytest.skip("a GPU is here: cuda is no error")
    assert why
    with pytest.raises(hr.DeviceError, match="cuda"):
        hr.embed(["x"], device="cuda", cache=False)


def test_progress_goes_to_the_callback_in_order(headlines) -> None:
    events: list[hr.Event] = []
    texts = headlines[0][:400]
    distinct = len(set(texts))  # a repeated text is embedded once, and counted once
    assert distinct < 400
    X = hr.embed(texts, device="cpu", cache=False, progress=events.append)
    assert X.shape[0] == 400
    kinds = [e.kind for e in events]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "progress" in kinds
    assert events[0].text == "embedding" and events[0].total == distinct
    done = [e.done for e in events if e.kind == "progress"]
    assert done == sorted(done) and done[-1] == distinct


def test_an_exception_in_the_callback_stops_the_call_and_is_raised(headlines) -> None:
    seen = []

    def fail(ev: hr.Event) -> None:
        seen.append(ev.kind)
        if ev.kind == "progress":
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        hr.embed(headlines[0][:600], device="cpu", cache=False, progress=fail)
    assert seen.count("progress") == 1  # nothing called after the failure


def test_without_tqdm_progress_true_writes_lines(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails
    hr.embed(["a line", "another"], device="cpu", cache=False, progress=True)
    err = capsys.readouterr().err
    assert "hyporank: embedding: 2 ..." in err and "2 of 2 done" in err
