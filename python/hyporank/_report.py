"""What rank, describe and explain return.

Results are read from the library's own JSON document (the program's
``--json``), so every field the library writes, today's and any added later,
is a key of each :class:`Hypothesis`, a column of :meth:`Report.to_pandas`
and an attribute, with no change here. The table, the Markdown and the JSON
text are the library's renderers' output, the same as the program's.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas


class Hypothesis(Mapping[str, Any]):
    """One hypothesis of a report: the JSON row's fields, as keys and attributes.

    ``h.text``, ``h.direction`` ("A" or "B"), ``h.share_a`` and ``h.share_b``
    (the estimated shares of A's and B's texts it holds for; counted for the
    words, ``mentions "w"``), ``h.effect``
    and ``h.effect_ci``, ``h.p_value``, ``h.q_value``, ``h.finding``,
    ``h.explained_by``, ``h.auroc``, and whatever else the library reports
    for it (``verification``, ``examples``, ...). A field the report does
    not have raises AttributeError (``h.get(name)`` gives None instead).
    """

    __slots__ = ("_row",)

    def __init__(self, row: dict[str, Any]) -> None:
        self._row = row

    def __getitem__(self, key: str) -> Any:
        return self._row[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._row[name]
        except KeyError:
            raise AttributeError(f"this hypothesis has no field {name!r}") from None

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._row))

    def to_dict(self) -> dict[str, Any]:
        """The row as a new dict."""
        return json.loads(json.dumps(self._row))

    def __repr__(self) -> str:
        shown = {k: self._row[k] for k in ("rank", "direction", "share_a", "share_b", "q_value", "text") if k in self._row}
        return "Hypothesis(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


class _JsonReport:
    """What both kinds of report share: the JSON, parsed once, and its fields."""

    def __init__(self, native: Any, notes: list[str]) -> None:
        self._native = native
        #: The notes the library gave during the run ("a.txt:7 repeats ...").
        self.notes: list[str] = notes
        self._doc: dict[str, Any] | None = None

    def _parsed(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = json.loads(self._native.json())
        return self._doc

    @property
    def kind(self) -> str:
        """``"rank"``, ``"describe"`` or ``"explain"``."""
        kind: str = self._native.kind()
        return kind

    def to_json(self, indent: int | None = None) -> str:
        """The JSON document, as the program's ``--json`` writes it (indent: re-indented)."""
        text: str = self._native.json()
        return text if indent is None else json.dumps(json.loads(text), indent=indent, ensure_ascii=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document as a new dict."""
        return json.loads(self._native.json())

    def to_table(self) -> str:
        """The terminal table, as the program prints it."""
        text: str = self._native.table()
        return text

    def to_html(self, title: str | None = None, a_name: str | None = None, b_name: str | None = None) -> str:
        """The self-contained HTML page, as the program's ``--html`` writes it.

        title: the page's title; a_name, b_name: the corpora's names (None:
        the library's defaults, the files' names).
        """
        text: str = self._native.html(title, a_name, b_name)
        return text

    def write_html(self, path: str | os.PathLike[str], **names: str | None) -> None:
        """Writes :meth:`to_html` to path, whole or not at all (through a
        temporary file beside it and a rename); names as for to_html."""
        page = self.to_html(**names).encode("utf-8")
        path = os.fspath(path)
        fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".part",
                                   dir=os.path.dirname(path) or ".")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(page)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def __str__(self) -> str:
        return self.to_table()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        doc = self._parsed()
        if name in doc:
            return doc[name]
        raise AttributeError(f"the report has no field {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parsed()))


class Report(_JsonReport):
    """The result of :func:`hyporank.rank` or :func:`hyporank.describe`.

    ``len(rep)``, ``rep[i]`` and iteration give the hypotheses in rank order
    (:class:`Hypothesis`); ``rep.findings`` the ones to read; the run's facts
    are attributes (``rep.n_a``, ``rep.encoder``, ``rep.scorer``, ...) and
    ``rep.info``; ``to_pandas()``, ``to_json()``, ``to_markdown()`` and
    ``to_table()`` render it.
    """

    def __init__(self, native: Any, notes: list[str]) -> None:
        super().__init__(native, notes)
        self._rows: list[Hypothesis] | None = None

    @property
    def hypotheses(self) -> list[Hypothesis]:
        """Every hypothesis in the report's order: findings first, each followed by
        the candidates it explains, then the rest by strength."""
        if self._rows is None:
            self._rows = [Hypothesis(r) for r in self._parsed().get("hypotheses", [])]
        return self._rows

    @property
    def info(self) -> dict[str, Any]:
        """The facts of the run: the JSON's fields but the hypotheses."""
        return {k: v for k, v in self._parsed().items() if k != "hypotheses"}

    @property
    def findings(self) -> list[Hypothesis]:
        """The hypotheses to read, strongest first.

        The rows the library marks ``"finding": true`` when it marks findings;
        otherwise the significant ones (``"significant"``, or a q-value at most
        the report's alpha, 0.05 when it has none).
        """
        rows = self.hypotheses
        if any("finding" in h for h in rows):
            return [h for h in rows if h.get("finding")]
        if any("significant" in h for h in rows):
            return [h for h in rows if h.get("significant")]
        alpha = self._parsed().get("alpha", 0.05)
        return [h for h in rows if h.get("q_value") is not None and h["q_value"] <= alpha]

    def column(self, name: str) -> np.ndarray:
        """One numeric field of every hypothesis, in rank order, as float64 (NaN where null)."""
        return np.array([np.nan if h.get(name) is None else h[name] for h in self.hypotheses], dtype=np.float64)

    def to_pandas(self) -> pandas.DataFrame:
        """One row a hypothesis, the JSON's fields as columns (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([h.to_dict() for h in self.hypotheses])

    def to_markdown(self) -> str:
        """The Markdown report (describe; a rank report has none: hyporank.Error)."""
        text: str = self._native.markdown()
        return text

    def _repr_markdown_(self) -> str | None:
        return self.to_markdown() if self.kind == "describe" else None

    def __len__(self) -> int:
        return len(self.hypotheses)

    def __iter__(self) -> Iterator[Hypothesis]:
        return iter(self.hypotheses)

    def __getitem__(self, i: int) -> Hypothesis:
        return self.hypotheses[i]

    def __repr__(self) -> str:
        info = self._parsed()
        return (
            f"<hyporank.Report {self.kind}: {info.get('n_a')} A, {info.get('n_b')} B, "
            f"{len(self.hypotheses)} hypotheses, {len(self.findings)} findings>"
        )


class ExplainReport(_JsonReport):
    """The result of :func:`hyporank.explain`: the JSON's fields as attributes.

    ``rep.explained`` (X, the share of the reference's performance above chance
    that the chosen hypotheses reach), its interval, the chosen hypotheses and
    the rest of what ``hyporank explain --json`` writes; ``to_table()`` and
    ``to_json()`` render it.
    """

    def __repr__(self) -> str:
        doc = self._parsed()
        shown = {k: doc[k] for k in ("n", "explained") if k in doc}
        return "<hyporank.ExplainReport " + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ">"
