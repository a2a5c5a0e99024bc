"""Events of a library call: progress bars, notes, and the caller's callback.

The library never prints; it sends events (``hyporank/events.h``): a step's
``begin``, its ``progress``, its ``end``; ``info`` lines about the run and
``note`` lines the user should read. Here they become a tqdm bar (when tqdm
is installed), log records on the ``hyporank`` logger (notes as warnings,
info as info) and the report's ``notes``, or calls of the caller's function.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any, Callable, Union

from ._native import load

_native = load()

logger = logging.getLogger("hyporank")

_KINDS = {
    _native.EVENT_BEGIN: "begin",
    _native.EVENT_PROGRESS: "progress",
    _native.EVENT_END: "end",
    _native.EVENT_INFO: "info",
    _native.EVENT_NOTE: "note",
}


@dataclass(frozen=True)
class Event:
    """One event of a long call.

    kind: ``"begin"`` (a step starts: ``text`` is its label, ``total`` its
    size), ``"progress"`` (``done`` of ``total`` items), ``"end"``, ``"info"``
    or ``"note"`` (``text`` is one line).
    """

    kind: str
    text: str | None
    done: int
    total: int


#: What ``progress=`` takes: None (a tqdm bar when tqdm is installed), True (a
#: bar, or lines on standard error without tqdm), False (nothing), or a
#: function called with each :class:`Event`.
Progress = Union[None, bool, Callable[[Event], Any]]


class _Lines:
    """A bar's stand-in without tqdm: a line at the start and end of a step."""

    def __init__(self, total: int, desc: str) -> None:
        self.desc, self.total, self.n = desc, total, 0
        print(f"hyporank: {desc}: {total} ...", file=sys.stderr, flush=True)

    def update(self, k: int) -> None:
        self.n += k

    def close(self) -> None:
        print(f"hyporank: {self.desc}: {self.n} of {self.total} done", file=sys.stderr, flush=True)


def _bar_factory(progress: Progress) -> Callable[..., Any] | None:
    if progress is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Lines if progress is True else None

    def bar(total: int, desc: str) -> Any:
        return tqdm(total=total, desc=desc, unit="text", leave=False, file=sys.stderr)

    return bar


class Events:
    """The callback the extension calls with (kind, text, done, total)."""

    def __init__(self, progress: Progress) -> None:
        self.notes: list[str] = []
        self._user = progress if callable(progress) else None
        self._bar_of = None if self._user else _bar_factory(progress)
        self._bar: Any = None

    def __call__(self, kind: int, text: str | None, done: int, total: int) -> None:
        name = _KINDS.get(kind, "info")
        if name == "note" and text:
            self.notes.append(text)
            logger.warning("%s", text)
        elif name == "info" and text:
            logger.info("%s", text)
        if self._user is not None:
            self._user(Event(name, text, done, total))
            return
        if self._bar_of is None:
            return
        if name == "begin":
            self.close()
            self._bar = self._bar_of(total=total, desc=text or "working")
        elif name == "progress" and self._bar is not None:
            self._bar.update(max(0, done - self._bar.n))
        elif name == "end":
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
