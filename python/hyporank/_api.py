"""The package's functions: embed, rank, describe, explain, and the Embedder.

Each converts its arguments, calls one library function (``hr_embedder_embed``,
``hr_rank_run``, ``hr_describe_run``, ``hr_explain_run``) through the extension
module with the GIL released, and wraps what comes back.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._native import load
from ._progress import Events, Progress
from ._report import ExplainReport, Report

_native = load()

#: Texts: a list (or tuple) of str, a numpy array of str or object, a pandas
#: Series, any iterable of str; or a file (``pathlib.Path``: .jsonl, .txt, .csv).
Texts = Union[Sequence[str], "np.ndarray", Any, os.PathLike]
#: Embeddings: a C-contiguous float32 array of shape (n, d), or a .npy file.
Matrix = Union["np.ndarray", Any, os.PathLike]

InputError = _native.InputError


def _input_error(message: str) -> Exception:
    """An InputError raised here, like the library's (with .status)."""
    e = InputError(message)
    e.status = "input"
    return e


def _is_path(x: object) -> bool:
    return isinstance(x, os.PathLike)


def _text_list(x: Any, name: str) -> list[Any] | tuple[Any, ...]:
    """Texts as a list for the extension (which checks that each is a str)."""
    if isinstance(x, (str, bytes)):
        raise _input_error(f"{name}: give a list of texts, not one string (a file: pathlib.Path(...))")
    if isinstance(x, (list, tuple)):
        return x
    if isinstance(x, np.ndarray):
        if x.ndim != 1:
            raise _input_error(f"{name}: a numpy array of texts must be 1-dimensional, not shape {x.shape}")
        return x.tolist()
    tolist = getattr(x, "tolist", None)  # pandas Series, Index
    if callable(tolist):
        return list(tolist())
    try:
        return list(x)
    except TypeError:
        raise _input_error(f"{name}: expected texts (a list of str), not {type(x).__name__}") from None


def _values(x: Any, name: str) -> list[Any]:
    """Labels or scores as a list of Python values (numpy scalars become floats, ints, strs)."""
    if isinstance(x, (str, bytes)):
        raise _input_error(f"{name}: give one value per text, not one string")
    if isinstance(x, np.ndarray):
        return x.reshape(-1).tolist() if x.ndim == 1 else _bad_shape(name, x.shape)
    tolist = getattr(x, "tolist", None)
    return list(tolist()) if callable(tolist) else [v.item() if isinstance(v, np.generic) else v for v in x]


def _bad_shape(name: str, shape: tuple[int, ...]) -> list[Any]:
    raise _input_error(f"{name}: one value per text (1-dimensional), not shape {shape}")


def _corpus(x: Any, name: str) -> Any:
    return _native.Corpus(_text_list(x, name), name)


@contextmanager
def _hypotheses_file(hyps: Any) -> Iterator[str | None]:
    """The caller's hypotheses as a file, as describe and explain read them:
    a Path as it is, a list written to a temporary JSONL file (a few hundred
    short strings; the embedding matrices never take this road)."""
    if hyps is None:
        yield None
        return
    if _is_path(hyps):
        yield os.fspath(hyps)
        return
    items = _text_list(hyps, "hypotheses")
    for i, h in enumerate(items):
        if not isinstance(h, str):
            raise _input_error(f"hypotheses[{i}] is {type(h).__name__}, not a str")
    fd, path = tempfile.mkstemp(prefix="hyporank-hypotheses-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for h in items:
                f.write(json.dumps({"text": h}, ensure_ascii=False) + "\n")
        yield path
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class LLM:
    """An OpenAI-compatible chat endpoint for describe's proposer and judge.

    url: the API base (``https://api.openai.com/v1``); model: its model name.
    The key comes from ``HYPORANK_API_KEY`` or ``OPENAI_API_KEY``, as for the
    program; every answer is cached with the embeddings. The rest are the
    program's ``--llm-*`` options (None: the program's default): timeout and
    deadline in seconds (one request; all the run's LLM work), concurrency
    (requests in flight), context (the model's context length in tokens, so
    the judge's requests fit it), max_requests and budget_usd (caps on what
    the run sends and spends; cache hits are free), price (dollars per
    million prompt and completion tokens, when the built-in table does not
    know the model).
    """

    url: str
    model: str
    timeout: float | None = None
    deadline: float | None = None
    concurrency: int | None = None
    context: int | None = None
    max_requests: int | None = None
    budget_usd: float | None = None
    price: tuple[float, float] | None = None

    def _options(self) -> dict[str, Any]:
        prompt, completion = self.price if self.price is not None else (None, None)
        return {
            "llm_url": self.url,
            "llm_model": self.model,
            "llm_timeout": self.timeout,
            "llm_deadline": self.deadline,
            "llm_concurrency": self.concurrency,
            "llm_context": self.context,
            "max_requests": self.max_requests,
            "budget_usd": self.budget_usd,
            "price_prompt": prompt,
            "price_completion": completion,
        }


class LLMWarning(UserWarning):
    """describe's LLM gave some of its answers: the report rests on those that came."""


def _llm_outcome(rep: Report) -> Report:
    """describe's report as the program ends it: a partial LLM warns; an LLM
    that gave no usable answer raises LLMError carrying the offline report
    (``err.report``), as the program exits 3 after writing it."""
    llm = rep.info.get("llm")
    status = llm.get("status") if isinstance(llm, dict) else None
    if status in (None, "ok"):
        return rep
    last = llm.get("error") or "its answers could not be used"
    if status == "partial":
        warnings.warn(
            f"the LLM {llm['model']} gave {llm['proposal_rounds'] - llm['proposal_rounds_failed']} of "
            f"{llm['proposal_rounds']} proposal rounds and "
            f"{llm['verdicts_asked'] - llm['verdicts_missing']} of {llm['verdicts_asked']} verdicts; "
            f"the last error: {last}",
            LLMWarning,
            stacklevel=3,
        )
        return rep
    e = _native.LLMError(
        f"the LLM {llm['model']} at {llm['url']} gave no usable answer ({llm['proposal_rounds']} "
        f"proposal rounds, {llm['verdicts_asked']} verdicts asked): {last}; err.report is the "
        "offline report (no LLM proposals, no verdicts)"
    )
    e.status = "llm"
    e.report = rep
    raise e


def _model_dir(model: str | os.PathLike[str] | None) -> str | None:
    if model is not None:
        return os.fspath(model)
    return os.environ.get("HYPORANK_MODEL") or _native.DEFAULT_MODEL_DIR or None


class Embedder:
    """A sentence encoder with its cache: the local model or a remote endpoint.

    model: the local model's folder (a sentence-transformers BERT model in
    safetensors; default ``$HYPORANK_MODEL``, else the folder the build was
    configured with), or with ``url`` the remote model's name.
    device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (the GPU when the build has
    CUDA and one is there). threads: CPU workers, 0 for one per core.
    url: an OpenAI-compatible ``/v1/embeddings`` base URL instead of the local
    model (key from ``HYPORANK_API_KEY`` or ``OPENAI_API_KEY``).
    cache: the SQLite cache file; None for the default
    (``$HYPORANK_CACHE`` or ``~/.cache/hyporank/cache.sqlite``, shared with the
    program); False for none.

    The model loads on first use (or :meth:`load`). One embedder serves one
    call at a time: calls from several threads queue (without the GIL).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str = "auto",
        threads: int = 0,
        url: str | None = None,
        cache: str | os.PathLike[str] | bool | None = None,
    ) -> None:
        if cache is True:
            cache = None
        self._native = _native.Embedder(
            model_dir=None if url else _model_dir(model),
            device=device,
            threads=threads,
            url=url,
            model=(os.fspath(model) if model is not None else None) if url else None,
            cache=None if cache is None or cache is False else os.fspath(cache),
            no_cache=cache is False,
        )

    def load(self) -> Embedder:
        """Loads the model now (ModelError, DeviceError if it cannot); returns self."""
        self._native.load()
        return self

    def embed(self, texts: Texts, *, out: np.ndarray | None = None, progress: Progress = None) -> np.ndarray:
        """Embeds texts: a float32 array (len(texts), dim), one L2-normalised row a text.

        The array is the library's own memory (no copy). ``out``: a writable
        C-contiguous float32 array of that shape to fill instead (returned).
        Ctrl-C stops a long call between batches (KeyboardInterrupt).
        """
        events = Events(progress)
        try:
            got = self._native.embed(_text_list(texts, "texts"), out=out, progress=events, label="embedding")
        finally:
            events.close()
        return out if out is not None else np.asarray(got)

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = self._native.info()
        return info

    dim = property(lambda self: int(self._info()["dim"]), doc="The embeddings' width (0 until loaded).")
    model = property(lambda self: self._info()["model"], doc="The model's name, once loaded.")
    model_id = property(lambda self: self._info()["model_id"], doc="The model's identity in the cache.")
    device = property(lambda self: self._info()["device"], doc='"cpu", "cuda" or "remote", once loaded.')
    cache_path = property(lambda self: self._info()["cache_path"], doc="The cache file in use, or None.")

    @property
    def last_stats(self) -> tuple[int, int]:
        """(texts computed, texts from the cache) of the last call."""
        info = self._info()
        return int(info["computed"]), int(info["from_cache"])

    def __repr__(self) -> str:
        info = self._info()
        return f"<hyporank.Embedder model={info['model']!r} device={info['device']!r} dim={info['dim']}>"


_default_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _shared_embedder(model: str | None, device: str, threads: int, url: str | None, cache: Any) -> Embedder:
    return Embedder(model, device=device, threads=threads, url=url, cache=cache)


def _embedder_for(
    embedder: Embedder | None,
    model: str | os.PathLike[str] | None,
    device: str,
    threads: int,
    url: str | None,
    cache: str | os.PathLike[str] | bool | None,
) -> Embedder:
    """The caller's embedder, or one kept per configuration, so that a model loads once."""
    if embedder is not None:
        return embedder
    key_model = os.fspath(model) if model is not None else None
    key_cache = os.fspath(cache) if isinstance(cache, os.PathLike) else cache
    with _default_lock:
        return _shared_embedder(key_model, device, threads, url, key_cache)


def embed(
    texts: Texts,
    *,
    model: str | os.PathLike[str] | None = None,
    device: str = "auto",
    threads: int = 0,
    url: str | None = None,
    cache: str | os.PathLike[str] | bool | None = None,
    out: np.ndarray | None = None,
    progress: Progress = None,
    embedder: Embedder | None = None,
) -> np.ndarray:
    """Embeds texts with the sentence encoder: float32 (len(texts), dim), no copy.

    The same numbers as ``hyporank embed`` writes to its .npy. The options are
    :class:`Embedder`'s (a model loaded once is kept for later calls with the
    same options); ``out`` and ``progress`` are :meth:`Embedder.embed`'s.
    """
    return _embedder_for(embedder, model, device, threads, url, cache).embed(texts, out=out, progress=progress)


def _side(texts: Any, emb: Any, name: str, opts: dict[str, Any], path_key: str, emb_key: str) -> tuple[Any, Any]:
    """One side of rank: (a Corpus or None, an array or None), paths into opts."""
    corpus = array = None
    if texts is not None:
        if _is_path(texts):
            opts[path_key] = os.fspath(texts)
        else:
            corpus = _corpus(texts, name)
    if emb is not None:
        if _is_path(emb):
            opts[emb_key] = os.fspath(emb)
        else:
            array = emb
    return corpus, array


def rank(
    a: Texts | None = None,
    b: Texts | None = None,
    hypotheses: Texts | None = None,
    *,
    a_emb: Matrix | None = None,
    b_emb: Matrix | None = None,
    h_emb: Matrix | None = None,
    method: str | None = None,
    temperature: float | None = None,
    top: int = 20,
    alpha: float = 0.05,
    device: str = "auto",
    threads: int = 0,
    memory_mb: int | None = None,
    text_field: str | None = None,
    hypothesis_field: str | None = None,
    model: str | os.PathLike[str] | None = None,
    url: str | None = None,
    cache: str | os.PathLike[str] | bool | None = None,
    embedder: Embedder | None = None,
    progress: Progress = None,
) -> Report:
    """Ranks your hypotheses by how well they separate A from B (``hyporank rank``).

    Each side comes as texts (a, b, hypotheses: lists of str, arrays, Series,
    or files as ``pathlib.Path``) or as embeddings (a_emb, b_emb, h_emb:
    C-contiguous float32 arrays of shape (n, d), used where they lie, never
    copied; or .npy files). With h_emb the hypotheses' texts are optional and
    only name the rows. Texts are embedded by ``embedder`` (or one made from
    model, device, threads, url, cache). method: the similarity scored,
    ``"cosine"`` (None: the library's default), ``"contrast"`` or
    ``"centered"``; temperature: contrast's T; top: rows of the table;
    alpha: the significance level (q-value at most alpha); device and
    threads: the scorer's (and the encoder's); memory_mb: the scorer's memory
    budget. text_field / hypothesis_field: the JSONL field or CSV column of
    files.

    Returns a :class:`Report`: every hypothesis with its shares of A and B
    (``share_a``, ``share_b``), ``effect`` and ``effect_ci``, its test and
    AUROC; findings (distinct differences, ``rep.findings``) first, each
    followed by what it explains.
    """
    opts: dict[str, Any] = {"top": top, "alpha": alpha, "method": method, "device": device, "threads": threads}
    if temperature is not None:
        opts["temperature"] = temperature
    if memory_mb is not None:
        opts["memory_mb"] = memory_mb
    if text_field is not None:
        opts["text_field"] = text_field
    if hypothesis_field is not None:
        opts["hypothesis_field"] = hypothesis_field
    ca, xa = _side(a, a_emb, "a", opts, "a_path", "a_emb_path")
    cb, xb = _side(b, b_emb, "b", opts, "b_path", "b_emb_path")
    ch, xh = _side(hypotheses, h_emb, "hypotheses", opts, "hypotheses_path", "h_emb_path")
    needs_model = a is not None or b is not None or h_emb is None
    e = _embedder_for(embedder, model, device, threads, url, cache) if needs_model else embedder
    events = Events(progress)
    try:
        native = _native.rank(opts, ca, cb, ch, xa, xb, xh, e._native if e else None, events)
    finally:
        events.close()
    return Report(native, events.notes)


def describe(
    a: Texts,
    b: Texts,
    *,
    goal: str | None = None,
    hypotheses: Texts | None = None,
    llm: LLM | None = None,
    bank: bool = True,
    ngrams: bool = True,
    clusters: bool = True,
    ngrams_per_side: int = 25,
    holdout: float = 0.5,
    seed: int = 1,
    llm_rounds: int = 3,
    llm_samples: int = 15,
    description: str | None = None,
    verify_top: int = 10,
    verify_samples: int = 20,
    verify_max_samples: int | None = None,
    top: int = 10,
    examples: int = 2,
    alpha: float = 0.05,
    method: str | None = None,
    temperature: float | None = None,
    device: str = "auto",
    threads: int = 0,
    text_field: str | None = None,
    model: str | os.PathLike[str] | None = None,
    url: str | None = None,
    cache: str | os.PathLike[str] | bool | None = None,
    embedder: Embedder | None = None,
    progress: Progress = None,
) -> Report:
    """Says how the texts of A differ from those of B, both ways (``hyporank describe``).

    a, b: texts (lists of str, arrays, Series, or files as ``pathlib.Path``),
    at least 2 each. goal: what you want to learn. hypotheses: your own
    candidates too (a list, or a .txt/.jsonl file). llm: an :class:`LLM` for
    D5-style proposals and a judge of the strongest differences.
    The other options are the program's (``hyporank describe --help``): the
    candidate sources (bank, ngrams, clusters, ngrams_per_side), the split
    (holdout, seed), the LLM's rounds and samples, verify_top,
    verify_samples and verify_max_samples, the report's top, examples and
    alpha, the score method (None: the library's), device and threads; the
    encoder as for :func:`embed`.

    Returns a :class:`Report`: both directions, findings first (each with its
    shares of A and B, effect and interval, and the candidates it explains);
    ``rep.findings`` are the differences to read. An LLM that gave only some
    answers warns (:class:`LLMWarning`); one that gave none raises
    :class:`LLMError` whose ``report`` is the offline report.
    """
    opts: dict[str, Any] = {
        "goal": goal,
        "bank": bank,
        "ngrams": ngrams,
        "clusters": clusters,
        "ngrams_per_side": ngrams_per_side,
        "holdout": holdout,
        "seed": seed,
        "llm_rounds": llm_rounds,
        "llm_samples": llm_samples,
        "description": description,
        "verify_top": verify_top,
        "verify_samples": verify_samples,
        "verify_max_samples": verify_max_samples,
        "top": top,
        "examples": examples,
        "alpha": alpha,
        "method": method,
        "temperature": temperature,
        "device": device,
        "threads": threads,
        "text_field": text_field,
    }
    if llm is not None:
        opts.update(llm._options())
    corpora = []
    for x, name in ((a, "a"), (b, "b")):
        if _is_path(x):
            opts[f"{name}_path"] = os.fspath(x)
            corpora.append(None)
        else:
            corpora.append(_corpus(x, name))
    e = _embedder_for(embedder, model, device, threads, url, cache)
    events = Events(progress)
    with _hypotheses_file(hypotheses) as hyp_path:
        opts["hypotheses_path"] = hyp_path
        try:
            native = _native.describe(opts, corpora[0], corpora[1], e._native, events)
        finally:
            events.close()
    return _llm_outcome(Report(native, events.notes))


def explain(
    texts: Texts,
    labels: Any = None,
    *,
    scores: Any = None,
    positive: Any = None,
    continuous: bool = False,
    hypotheses: Texts | None = None,
    bank: bool = True,
    ngrams: bool = True,
    ngrams_per_side: int = 25,
    holdout: float = 0.3,
    rounds: int = 1,
    top_k: int = 5,
    candidates: int = 50,
    folds: int = 5,
    seed: int = 1,
    bootstrap: int = 1000,
    examples: int = 5,
    method: str = "cosine",
    temperature: float | None = None,
    device: str = "auto",
    text_field: str | None = None,
    model: str | os.PathLike[str] | None = None,
    url: str | None = None,
    cache: str | os.PathLike[str] | bool | None = None,
    embedder: Embedder | None = None,
    progress: Progress = None,
) -> ExplainReport:
    """How much of a classifier's performance a few hypotheses explain (``hyporank explain``).

    ``explain(texts, labels)``: labels (two distinct values: numbers, strings
    or booleans; the positive one is ``positive``, else the larger number or
    the later string) are the target; the reference is a linear probe on the
    embeddings. ``explain(texts, labels, scores=clf_scores)``: your
    classifier's scores are the reference. ``explain(texts, scores=clf_scores)``:
    no labels: the classifier's scores themselves are the target to explain
    (continuous). ``continuous=True``: numeric labels are a continuous target.
    texts may also be a file (``pathlib.Path``, .jsonl or .csv), with labels
    and scores then naming its fields.

    The other options are the program's (``hyporank explain --help``).
    Returns an :class:`ExplainReport` (``rep.explained``, ``rep.selected``, ...).
    """
    opts: dict[str, Any] = {
        "positive": None if positive is None else str(positive),
        "hypotheses_path": None,
        "bank": bank,
        "ngrams": ngrams,
        "ngrams_per_side": ngrams_per_side,
        "holdout": holdout,
        "rounds": rounds,
        "top_k": top_k,
        "candidates": candidates,
        "folds": folds,
        "seed": seed,
        "bootstrap": bootstrap,
        "examples": examples,
        "method": method,
        "temperature": temperature,
        "device": device,
        "text_field": text_field,
    }
    if isinstance(positive, bool):
        opts["positive"] = "true" if positive else "false"
    corpus = None
    if _is_path(texts):
        if not isinstance(labels, str) or not (scores is None or isinstance(scores, str)):
            raise _input_error("explain(file, ...): labels (and scores) name the file's fields")
        opts.update(data_path=os.fspath(texts), label_field=labels, score_field=scores, continuous=continuous)
    elif labels is None:
        if scores is None:
            raise _input_error("explain: give labels, or a classifier's scores to explain")
        corpus = _native.Corpus(_text_list(texts, "texts"), "texts", _values(scores, "scores"))
        opts.update(label_field="score", continuous=True)
    else:
        vals = _values(labels, "labels")
        score_vals = None if scores is None else _values(scores, "scores")
        corpus = _native.Corpus(_text_list(texts, "texts"), "texts", vals, score_vals)
        opts.update(label_field="label", score_field=None if scores is None else "score", continuous=continuous)
    e = _embedder_for(embedder, model, device, 0, url, cache)
    events = Events(progress)
    with _hypotheses_file(hypotheses) as hyp_path:
        opts["hypotheses_path"] = hyp_path
        try:
            native = _native.explain(opts, corpus, e._native, events)
        finally:
            events.close()
    return ExplainReport(native, events.notes)


def device_usable(device: str) -> tuple[bool, str | None]:
    """Whether ``"cpu"`` or ``"cuda"`` can run here: (True, None) or (False, why)."""
    ok, why = _native.device_usable(device)
    return bool(ok), why
