"""hyporank: tells, in plain sentences, how two collections of text differ.

A Python package over libhyporank, the C library (and CUDA kernels) that the
``hyporank`` program runs: the same pipelines, the same numbers.

    import hyporank as hr
    X = hr.embed(texts)                          # numpy float32 (n, 384), no copy
    res = hr.rank(a_texts, b_texts, hypotheses)  # or a_emb=..., b_emb=..., h_emb=...
    res.to_pandas()                              # one row a hypothesis
    rep = hr.describe(a_texts, b_texts, goal="what changed")
    rep.findings[0].text, rep.findings[0].share_a, rep.to_markdown()
    rep.write_html("diff.html")                  # the program's --html page
    hr.explain(texts, labels)                    # or scores=clf_scores

Library errors are :class:`Error` subclasses (:class:`InputError`,
:class:`ModelError`, :class:`DeviceError`, :class:`LLMError`) carrying the
library's message; describe's LLM that answered only in part warns
(:class:`LLMWarning`). Calls release the GIL; Ctrl-C stops a long embedding
between batches. ``progress=`` takes a callback (or shows a tqdm bar when
tqdm is installed).
"""

from __future__ import annotations

import numpy as _np  # numpy's own OpenBLAS loads before ours (see _native)

from ._api import LLM, Embedder, LLMWarning, describe, device_usable, embed, explain, rank
from ._native import load as _load
from ._progress import Event
from ._report import ExplainReport, Hypothesis, Report

_native = _load()

Error = _native.Error
InputError = _native.InputError
ModelError = _native.ModelError
DeviceError = _native.DeviceError
LLMError = _native.LLMError

#: The package's (and the library's) version.
__version__: str = _native.VERSION
#: True when the library was built with the CUDA kernels.
HAVE_CUDA: bool = bool(_native.HAVE_CUDA)

__all__ = [
    "Embedder",
    "Error",
    "Event",
    "ExplainReport",
    "DeviceError",
    "HAVE_CUDA",
    "Hypothesis",
    "InputError",
    "LLM",
    "LLMError",
    "LLMWarning",
    "ModelError",
    "Report",
    "describe",
    "device_usable",
    "embed",
    "explain",
    "rank",
]

del _np
