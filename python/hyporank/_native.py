"""Loads the extension module, with the OpenBLAS kernels this CPU deserves.

OpenBLAS chooses its kernels once, when it is loaded, from the CPU it
recognises or from ``OPENBLAS_CORETYPE``. An OpenBLAS older than the CPU (Debian
12's on recent Intel server parts, say) falls back to SSE3 kernels several
times slower than the AVX-512 or AVX2 ones the CPU runs. The ``hyporank``
program detects that and runs itself again with the variable set
(host/backends/cpu/blas_core.h); a Python process cannot run itself again, so
the package asks the same question in a short child process, through the tiny
module ``hyporank._blas`` (which loads OpenBLAS and nothing else), and sets
the variable only while it imports ``hyporank._hyporank``. It never overrides
a value the user set, and leaves the environment as it found it, so other
libraries (numpy's own OpenBLAS) are not affected.
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import platform
import subprocess
import sys
from pathlib import Path
from types import ModuleType

_PROBE = """\
import importlib.machinery as m, importlib.util as u, sys
loader = m.ExtensionFileLoader("hyporank._blas", sys.argv[1])
module = u.module_from_spec(u.spec_from_loader("hyporank._blas", loader))
loader.exec_module(module)
print(module.better_coretype() or "")
"""


def _better_coretype() -> str | None:
    """What ``hr_blas_better_coretype`` says, asked in a child process."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return None
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return None
    here = Path(__file__).parent
    probe = next(
        (here / f"_blas{s}" for s in importlib.machinery.EXTENSION_SUFFIXES if (here / f"_blas{s}").exists()),
        None,
    )
    if probe is None:
        return None
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _PROBE, str(probe)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    core = done.stdout.strip()
    return core if done.returncode == 0 and core.isalnum() else None


@functools.lru_cache(maxsize=None)
def load() -> ModuleType:
    """Imports ``hyporank._hyporank`` (and so OpenBLAS) with the better kernels, once."""
    core = _better_coretype()
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
    try:
        from . import _hyporank
    finally:
        if core:
            del os.environ["OPENBLAS_CORETYPE"]
    return _hyporank
