"""The GIL is released while the library works; Ctrl-C stops a long call
between batches, cleanly; threads may share an embedder."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import hyporank as hr


def _spin(seconds: float) -> float:
    """Loop iterations a second of this thread running Python alone."""
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
    return n / seconds


def test_other_threads_run_python_while_the_library_embeds(headlines) -> None:
    e = hr.Embedder(device="cpu", threads=1, cache=False).load()  # one core for the library
    alone = _spin(0.3)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (e.embed(headlines[0], progress=False), done.set()))
    n, start = 0, time.perf_counter()
    worker.start()
    while not done.is_set():
        n += 1
    elapsed = time.perf_counter() - start
    worker.join()
    assert elapsed > 0.5, "the embedding was too quick to tell"
    # Held, the GIL would leave this loop only the moments between batches.
    assert n / elapsed > 0.3 * alone, f"{n / elapsed:.0f} iterations/s beside the library, {alone:.0f} alone"


def test_threads_sharing_an_embedder_queue_and_get_the_same_rows(headlines) -> None:
    e = hr.Embedder(device="cpu", cache=False)
    texts = [headlines[0][:150], headlines[1][:150], headlines[0][150:300]]
    want = [e.embed(t, progress=False) for t in texts]
    got: list = [None] * 3
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, e.embed(texts[i], progress=False)))
               for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(g, w) for g, w in zip(got, want))


def test_ranks_in_parallel_threads_agree_with_ranks_one_at_a_time() -> None:
    rng = np.random.default_rng(5)
    jobs = []
    for k in range(4):
        a, b = (rng.standard_normal((3000, 64)).astype(np.float32) for _ in range(2))
        h = rng.standard_normal((40, 64)).astype(np.float32)
        h[7] = h[3]  # repeats: the duplicate finder runs in every thread
        jobs.append((a, b, h))
    want = [hr.rank(a_emb=a, b_emb=b, h_emb=h, device="cpu").to_dict()["hypotheses"] for a, b, h in jobs]
    got: list = [None] * 4

    def run(i: int) -> None:
        a, b, h = jobs[i]
        got[i] = hr.rank(a_emb=a, b_emb=b, h_emb=h, device="cpu", threads=1).to_dict()["hypotheses"]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want


# The child installs Python's own SIGINT handler, as an interactive start
# does: a runner started in the background of a shell (a CI job under `&`)
# passes SIGINT down ignored, and then no program sees Ctrl-C.
INTERRUPTED = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import hyporank as hr
words = "rain court market vaccine cricket budget fire election school ferry".split()
texts = [f"{words[i % 10]} story {i} of {words[(i * 7) % 10]} and {words[(i * 3) % 10]}" for i in range(300000)]
started = []

def progress(ev):
    if ev.kind == "progress" and not started:
        started.append(1)
        print("started", flush=True)

try:
    CALL
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    x = hr.embed(["the library is still usable"], device="cpu", cache=False, progress=False)
    print("usable", x.shape, flush=True)
"""


def _interrupt(call: str, tmp_path) -> tuple[str, float]:
    script = INTERRUPTED.replace("CALL", call)
    env = dict(__import__("os").environ, HYPORANK_CACHE=str(tmp_path / "c.sqlite"))
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "started", p.stderr.read()
        time.sleep(0.5)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        return out, time.monotonic() - sent
    finally:
        p.kill()


def test_ctrl_c_stops_a_long_embed_between_batches(tmp_path) -> None:
    out, took = _interrupt('hr.embed(texts, device="cpu", cache=False, progress=progress)', tmp_path)
    assert "interrupted" in out and "usable (1, 384)" in out and "finished" not in out, out
    assert took < 10, f"{took:.1f} s from SIGINT to exit"


def test_ctrl_c_stops_a_long_describe(tmp_path) -> None:
    call = 'hr.describe(texts[::2], texts[1::2], device="cpu", progress=progress)'
    out, took = _interrupt(call, tmp_path)
    assert "interrupted" in out and "usable (1, 384)" in out and "finished" not in out, out
    assert took < 10, f"{took:.1f} s from SIGINT to exit"
