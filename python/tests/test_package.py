"""The package as installed: a fresh virtualenv, the example, typing, docs."""

from __future__ import annotations

import os
import pydoc
import subprocess
import sys
import venv
from pathlib import Path

import pytest

import hyporank as hr

from conftest import REPO


def test_the_installed_package_is_tested_not_the_source_folder() -> None:
    assert (REPO / "python") not in Path(hr.__file__).resolve().parents
    assert hr.__version__ and isinstance(hr.HAVE_CUDA, bool)


def test_a_fresh_virtualenv_installs_the_wheel_offline_and_runs(tmp_path: Path) -> None:
    """scripts/test-python.sh builds the wheel and names the folders of it and
    the wheels it needs (HYPORANK_WHEELHOUSE, os.pathsep between them); a new
    virtualenv installs from there alone."""
    wheels = os.environ.get("HYPORANK_WHEELHOUSE")
    if not wheels:
        pytest.skip("HYPORANK_WHEELHOUSE is not set (scripts/test.sh sets it)")
    venv.create(tmp_path / "v", with_pip=True)
    py = tmp_path / "v" / "bin" / "python"
    links = [arg for folder in wheels.split(os.pathsep) for arg in ("--find-links", folder)]
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", *links, "hyporank"], check=True)
    code = "import hyporank as hr; x = hr.embed(['a fresh install'], cache=False); print(x.shape, x.dtype)"
    done = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(1, 384) float32"


def test_the_example_runs_as_is(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, REPO / "examples" / "python_quickstart.py"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Findings:" in done.stdout and "embeddings: (5, 384) float32" in done.stdout
    assert "is about the coronavirus or COVID-19: 28% of 2020, 0% of 2019" in done.stdout
    assert "is about the coronavirus pandemic" in done.stdout
    page = (tmp_path / "headlines-2020-vs-2019.html").read_text(encoding="utf-8")
    assert "Headlines of 2020 against 2019" in page


def test_types_and_docs_ship_with_the_package() -> None:
    here = Path(hr.__file__).parent
    assert (here / "py.typed").exists() and (here / "_hyporank.pyi").exists()
    for name in hr.__all__:
        obj = getattr(hr, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__) > 40, name
    text = pydoc.render_doc(hr.rank, renderer=pydoc.plaintext)
    assert "Ranks your hypotheses" in text and "a_emb" in text
    assert issubclass(hr.InputError, hr.Error) and issubclass(hr.InputError, ValueError)
    assert all(issubclass(e, hr.Error) for e in (hr.ModelError, hr.DeviceError, hr.LLMError))
