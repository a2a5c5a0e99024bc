"""Shared fixtures: the model, the program built beside the package, data.

The tests compare the package with the ``hyporank`` program on the same
inputs, so they need both: ``HR_CLI`` (default: build/hyporank in the
repository) and the model (``HYPORANK_MODEL``, default models/all-MiniLM-L6-v2
in the repository). scripts/test.sh sets both up. The package under test is
the installed one (``pip install ./python``), never the source folder.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.fail(f"{what} not found at {path}: run scripts/test.sh (or set the variable)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return _need(Path(os.environ.get("HYPORANK_MODEL", REPO / "models" / "all-MiniLM-L6-v2")), "the model")


@pytest.fixture(scope="session")
def cli() -> Path:
    return _need(Path(os.environ.get("HR_CLI", REPO / "build" / "hyporank")), "the hyporank program")


@pytest.fixture(scope="session", autouse=True)
def _environment(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> None:
    """One model and a cache of the tests' own for the whole session."""
    os.environ["HYPORANK_MODEL"] = str(model_dir)
    os.environ["HYPORANK_CACHE"] = str(tmp_path_factory.mktemp("cache") / "py.sqlite")


@pytest.fixture(scope="session")
def headlines() -> tuple[list[str], list[str]]:
    """The bundled headlines: (2020's, 2019's), 1,000 each."""

    def read(name: str) -> list[str]:
        with open(EXAMPLES / name, encoding="utf-8") as f:
            return [json.loads(line)["text"] for line in f if line.strip()]

    return read("headlines-2020.jsonl"), read("headlines-2019.jsonl")


@pytest.fixture(scope="session")
def cli_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The program's own cache, apart from the package's: both compute."""
    return tmp_path_factory.mktemp("cli-cache") / "cli.sqlite"


@pytest.fixture(scope="session")
def run_cli(cli: Path, model_dir: Path, cli_cache: Path):
    """Runs the program; returns its completed process (check=True)."""

    def run(*args: str | os.PathLike[str], ok: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(cli), *map(str, args)]
        if args and args[0] in ("embed", "rank", "describe", "explain") and "--no-cache" not in args:
            cmd += ["--cache", str(cli_cache)]
        done = subprocess.run(cmd + ["--model", str(model_dir)], capture_output=True, text=True)
        if ok and done.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}")
        return done

    return run


@pytest.fixture
def fake_llm():
    """Starts tests/fake_openai_server.py with the given --fault; yields its
    URL maker and stops it at the test's end."""
    servers: list[subprocess.Popen[str]] = []

    def start(fault: str) -> str:
        proc = subprocess.Popen(
            ["python3", str(REPO / "tests" / "fake_openai_server.py"), "--time-limit", "120", "--fault", fault],
            stdout=subprocess.PIPE, text=True,
        )
        servers.append(proc)
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        if not port.isdigit():
            pytest.fail(f"the fake LLM server did not start (it printed {port!r})", pytrace=False)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in servers:
        proc.kill()
        proc.wait()
