#!/usr/bin/env python3
"""A fake OpenAI-compatible server for hyporank's tests (standard library only).

    python3 tests/fake_openai_server.py [--port 0] [--api-key KEY]
        [--models judge-1,embed-1] [--embed-dim 8] [--time-limit 300] [--tls-dir DIR]
        [--fault NAME[:ARG]]...
        [--truth-error P] [--truth-seed S]
        [--local-no-usage] [--local-errors STYLE] [--local-context N] [--local-delay S]

Listens on 127.0.0.1 only (port 0: any free port) and prints the port on its
first line of stdout. With --tls-dir it also serves the same endpoints over
HTTPS on a second port, printed on the second line, with a self-signed
certificate for 127.0.0.1 that it writes to DIR/fake-cert.pem (clients
trust it only when told to). Exits when its parent process dies or after
--time-limit seconds, so a crashed test never leaves it behind.

Endpoints
  POST /v1/chat/completions   a deterministic judge (below)
  POST /v1/embeddings         deterministic vectors (below)
  GET  /stats                 request counts, JSON:
                              {"http_requests", "chat_requests", "embedding_requests",
                               "by_prompt": {user message: count},
                               "answered": {user message: chat replies 200 delivered},
                               "by_text": {embedded text: count}}
  POST /reset                 zeroes the counts

Every POST to /v1/... counts, whatever its fate (401, 404, faults). With
--api-key, requests must send "Authorization: Bearer KEY", else 401 (whose
message quotes the key that was sent, as some real servers do, so tests can
check that clients do not repeat it). A model not in --models gets 404.

Chat answers, from the last user message U (and the system message S):
  - a marker [[reply:TEXT]] in U: the answer is TEXT;
  - U has a line "Hypothesis: H" and a line "Text: T": "yes" when some word of
    H with 4 or more letters or digits occurs in T (case-insensitive), else
    "no"; with response_format json_object: {"answer": "yes"|"no"};
  - U holds numbered texts <text id="N">...</text> and a line "Hypothesis: H"
    (the verifier's prompt, host/discovery/verify.c): the verifier judge, below;
  - U has a line "Group A:" and, after it, a line "Group B:" (the LLM
    proposer's prompt): the texts are the "- " lines under each; the answer
    is the JSON object {"A": [...], "B": [...]} (whether or not json_object
    was asked for) with, for each text of the side in order, "is about W"
    where W is the text's first word of 4 or more letters or digits (lower
    case), each W once, at most 10 a side;
  - otherwise "echo: " + U; with json_object: {"echo": U}.
  usage: prompt_tokens = words in S and U, completion_tokens = words in the
  answer; with max_tokens below that, the answer is cut to max_tokens words
  and finish_reason is "length".

Verifier judge (added for tests/test_verify.c). The texts are the blocks
  <text id="N">\nT\n</text> of U. A text satisfies H when H holds a double-quoted
  string ("mentions \"covid\"") that occurs in T (case-insensitive); else when
  some word of H with 4 or more letters or digits is a word of T. The answer is
  {"answers": [{"id": N, "satisfies": true|false}, ...]}, every id in order.
  Faults, by markers in U (usually in H; *N as below):
    vnotjson   the answer is prose, not JSON
    vschema    a JSON object without "answers" ({"verdicts": [...]})
    vempty     {"answers": []}
    vpartial   no entry for the ids divisible by 3
    vextra     also entries for ids 0, n + 1, 99, "seven", 1.5 (all true)
    vloose     ids as strings ("N") for odd N; satisfies as "yes"/"no" (N % 4 == 0),
               "True"/"False" (1), 1/0 (2), " 1 "/" 0 " (3)
    vconflict  id 1 given again with the opposite verdict, id 2 again with the same
    vnull      "satisfies": null for id 2, "maybe" for id 3

Known-truth judge (tests/test_judge.c: PPI coverage end to end). With
--truth-error P the verifier judge's verdict on a text is flipped when
  u = int(SHA-256("flip\n" + S + "\n" + H + "\n" + T)[:8], big-endian) / 2^64 < P,
S = --truth-seed (default 1), H the hypothesis line, T the text as sent:
wrong with probability P, the same answer for the same text every time, so
that a test can compute the exact share of texts the judge says yes to.
The truth itself is the verifier judge's rule above (a double-quoted
keyword in H occurs in T).

Local servers (llama.cpp's llama-server, vLLM, Ollama), for the local-judge
tests; each is its own option:
  --local-no-usage       chat replies carry no "usage" block
  --local-errors STYLE   error bodies as STYLE writes them: openai (default),
                         llamacpp {"error": {"code": 400, "message", "type"}},
                         vllm {"object": "error", "message", "type", "param", "code"},
                         ollama {"error": "message"}
  --local-context N      a chat request whose prompt, counted as ceil(bytes of
                         the system and user messages / 4) tokens, plus its
                         max_tokens exceeds N tokens gets 400 with the
                         style's context-length message (nothing is answered)
  --local-delay S        wait S seconds before answering each chat request (a
                         slow local model; lets a test kill a run midway)
  --local-stall-after N  answer N chat requests, then let every later one hang
                         (until --time-limit): a run can be killed at a known
                         point, after exactly N answers were delivered

Embeddings: for text t (UTF-8 bytes), d = SHA-256(t), the vector has
--embed-dim numbers v[j] = (d[j % 32] - 127.5) / 127.5 + j // 32.

Faults, by markers [[NAME]], [[NAME:ARG]] or [[NAME*N:ARG]] in U (chat) or in
any input text (embeddings). With *N the fault applies to the first N requests
that carry that prompt (or text), then the request succeeds; without, always.
  status:CODE      reply CODE with an OpenAI-style error body
  500, 503         reply that status
  429:S            429 with "Retry-After: S" (no header without S)
  429ms:MS         429 with "retry-after-ms: MS"
  429date:S        429 with Retry-After as an HTTP date S seconds ahead
  slow:S           wait S seconds, then answer normally
  truncate         announce a longer Content-Length than sent, close
  reset            close the connection without a reply (TCP reset)
  nonjson          200 with a body that is not JSON
  schema           200 with JSON that is not a chat completion / embeddings list
  big:BYTES        200, a valid reply of about BYTES bytes (with Content-Length)
  bigchunked:BYTES the same, without Content-Length (read until close)
  hang             read the request, then never answer (the connection stays open
                   until the client gives up)
  nonutf8          200, a chat completion whose content holds bytes that are not UTF-8
--fault NAME[:ARG] (repeatable) applies the fault to every POST to /v1/..., as if
each request carried the marker: a server that answers 400 to everything
(--fault status:400), never replies (--fault hang), or sends 50 MB answers
(--fault big:50000000).
Embeddings only:
  embcount    one vector fewer than texts      embindex   an index twice
  embrange    an index out of range            embdim     one vector too short
  embinf      a number 1e999 (infinite)        embnan     a NaN token (not JSON)
  embstring   "embedding" as a base64 string   embnodata  no "data" list
"""
import argparse
import email.utils
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# A self-signed certificate for IP 127.0.0.1 (valid 2000-2100) and its key. For
# tests only: the key is public, and nothing trusts this certificate unless a
# test hands it over as the CA file.
TEST_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBlzCCAT2gAwIBAgIBATAKBggqhkjOPQQDAjAfMR0wGwYDVQQDDBRoeXBvcmFu
ayBmYWtlIHNlcnZlcjAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFow
HzEdMBsGA1UEAwwUaHlwb3JhbmsgZmFrZSBzZXJ2ZXIwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAS2VyPJ+xPu4JROPhKIthBhP6+2uiYsSYhcJnP1c1Vfr8EvciGr
q1RA50lJvGpXFt0nnb55cvGYbj74tWobarIOo2gwZjAPBgNVHREECDAGhwR/AAAB
MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgKEMBMGA1UdJQQMMAoGCCsG
AQUFBwMBMB0GA1UdDgQWBBQYcz7hUI+P2sjzSLyPv1wUhClq8jAKBggqhkjOPQQD
AgNIADBFAiBn6Y4SxvKVb8JbpMoilOLYgI9Bk5Tgiow1gVQyykr03AIhAMb2WfUu
TXPnO+q8CZ74xCMyEVkI7NqGC7ACl7jsw0Ap
-----END CERTIFICATE-----
"""
TEST_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEmXz6zRbVVtbGre2
qOF57PRSLOSTe/Tb0Qf3j1FYQ/+hRANCAAS2VyPJ+xPu4JROPhKIthBhP6+2uiYs
SYhcJnP1c1Vfr8EvciGrq1RA50lJvGpXFt0nnb55cvGYbj74tWobarIO
-----END PRIVATE KEY-----
"""

MARKER = re.compile(r"\[\[([a-z0-9]+)(?:\*(\d+))?(?::(.*?))?\]\]", re.S)
WORD = re.compile(r"[a-z0-9]+")


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.http_requests = 0
            self.chat_requests = 0
            self.embedding_requests = 0
            self.by_prompt = {}
            self.answered = {}
            self.chat_answers = 0
            self.by_text = {}

    def snapshot(self):
        with self.lock:
            return {
                "http_requests": self.http_requests,
                "chat_requests": self.chat_requests,
                "embedding_requests": self.embedding_requests,
                "by_prompt": dict(self.by_prompt),
                "answered": dict(self.answered),
                "by_text": dict(self.by_text),
            }


STATE = State()
CONFIG = {"api_key": None, "models": set(), "embed_dim": 8,
          "truth_error": 0.0, "truth_seed": "1",
          "local_no_usage": False, "local_errors": "openai", "local_context": 0,
          "local_delay": 0.0, "local_stall_after": -1, "faults": {}}


def markers(text, count):
    """The faults that apply to the count-th request carrying text (and the
    server-wide --fault ones)."""
    out = dict(CONFIG["faults"])
    for name, times, arg in MARKER.findall(text or ""):
        if times and count > int(times):
            continue
        out.setdefault(name, arg)
    return out


def words(s):
    return len((s or "").split())


# ---- verifier judge (tests/test_verify.c) ---------------------------------------------
VERIFY_TEXT = re.compile(r'<text id="(\d+)">\n(.*?)\n</text>', re.S)
QUOTED = re.compile(r'"([^"]+)"')


def verify_satisfies(hypothesis, text):
    q = QUOTED.search(hypothesis)
    if q:
        return q.group(1).lower() in text.lower()
    text_words = set(WORD.findall(text.lower()))
    return any(k in text_words for k in WORD.findall(hypothesis.lower()) if len(k) >= 4)


def truth_flip(hypothesis, text):
    """The known-truth judge's error: True when it answers this text wrongly."""
    p = CONFIG["truth_error"]
    if p <= 0:
        return False
    d = hashlib.sha256(("flip\n%s\n%s\n%s" % (CONFIG["truth_seed"], hypothesis, text))
                       .encode("utf-8")).digest()
    return int.from_bytes(d[:8], "big") / 2.0 ** 64 < p


def verify_judge(hypothesis, items, faults):
    if "vnotjson" in faults:
        return "The first text satisfies the hypothesis; the others do not."
    verdicts = [(int(i), verify_satisfies(hypothesis, t) != truth_flip(hypothesis, t))
                for i, t in items]
    if "vschema" in faults:
        return json.dumps({"verdicts": [v for _, v in verdicts]})
    if "vempty" in faults:
        return json.dumps({"answers": []})
    answers = []
    for i, v in verdicts:
        if "vpartial" in faults and i % 3 == 0:
            continue
        entry = {"id": i, "satisfies": v}
        if "vloose" in faults:
            entry["id"] = str(i) if i % 2 else i
            entry["satisfies"] = [("yes" if v else "no"), ("True" if v else "False"),
                                  (1 if v else 0), (" 1 " if v else " 0 ")][i % 4]
        if "vnull" in faults and i in (2, 3):
            entry["satisfies"] = None if i == 2 else "maybe"
        answers.append(entry)
    if "vextra" in faults:
        answers += [{"id": x, "satisfies": True} for x in (0, len(items) + 1, 99, "seven", 1.5)]
    if "vconflict" in faults and len(verdicts) >= 2:
        answers.append({"id": 1, "satisfies": not verdicts[0][1]})
        answers.append({"id": 2, "satisfies": verdicts[1][1]})
    return json.dumps({"answers": answers})
# ---- end of verifier judge -------------------------------------------------------------


def proposals(user):
    """The proposer's answer to a prompt with Group A / Group B lists, or None."""
    lines = user.split("\n")
    try:
        ia = lines.index("Group A:")
        ib = lines.index("Group B:", ia + 1)
    except ValueError:
        return None
    out = {}
    for side, start in (("A", ia + 1), ("B", ib + 1)):
        preds = []
        for line in lines[start:]:
            if not line.startswith("- "):
                break
            ws = [w for w in WORD.findall(line[2:].lower()) if len(w) >= 4]
            if ws and "is about " + ws[0] not in preds and len(preds) < 10:
                preds.append("is about " + ws[0])
        out[side] = preds
    return json.dumps(out)


def judge(system, user, json_mode, faults):
    if "reply" in faults:
        return faults["reply"]
    prop = proposals(user)
    if prop is not None:
        return prop
    items = VERIFY_TEXT.findall(user)
    vhyp = re.search(r"^Hypothesis:\s*(.*)$", user, re.M)
    if items and vhyp:
        return verify_judge(vhyp.group(1), items, faults)
    hyp = re.search(r"^Hypothesis:\s*(.*)$", user, re.M)
    txt = re.search(r"^Text:\s*(.*)$", user, re.M)
    if hyp and txt:
        text_words = set(WORD.findall(txt.group(1).lower()))
        keys = [w for w in WORD.findall(hyp.group(1).lower()) if len(w) >= 4]
        answer = "yes" if any(k in text_words for k in keys) else "no"
        return json.dumps({"answer": answer}) if json_mode else answer
    return json.dumps({"echo": user}) if json_mode else "echo: " + user


def vector(text, dim):
    d = hashlib.sha256(text.encode("utf-8")).digest()
    return [(d[j % 32] - 127.5) / 127.5 + j // 32 for j in range(dim)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # ---- replies -----------------------------------------------------------------

    def send_bytes(self, code, body, ctype="application/json", headers=None, length=None,
                   close=False):
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if length is not None:
                self.send_header("Content-Length", str(length))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj).encode("utf-8")
        self.send_bytes(code, body, headers=headers, length=len(body))

    def send_error_json(self, code, message, headers=None, etype="invalid_request_error"):
        style = CONFIG["local_errors"]
        if style == "llamacpp":
            body = {"error": {"code": code, "message": message, "type": etype}}
        elif style == "vllm":
            body = {"object": "error", "message": message, "type": etype, "param": None,
                    "code": code}
        elif style == "ollama":
            body = {"error": message}
        else:
            body = {"error": {"message": message, "type": etype, "code": None}}
        self.send_json(code, body, headers=headers)

    def context_error(self, req, system, user):
        """The local server's refusal of a prompt longer than its context, or None."""
        n = CONFIG["local_context"]
        if n <= 0:
            return None
        prompt = (len(system.encode("utf-8")) + len(user.encode("utf-8")) + 3) // 4
        mt = req.get("max_tokens") if isinstance(req.get("max_tokens"), int) else 0
        if prompt + mt <= n:
            return None
        style = CONFIG["local_errors"]
        if style == "vllm":
            return ("This model's maximum context length is %d tokens. However, you requested "
                    "%d tokens (%d in the messages, %d in the completion). Please reduce the "
                    "length of the messages or completion." % (n, prompt + mt, prompt, mt))
        return ("the request exceeds the available context size (%d tokens > %d), try "
                "increasing it" % (prompt + mt, n))

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True

    def apply_faults(self, faults, good_body):
        """Sends a faulty reply and returns True, or returns False."""
        if "hang" in faults:
            # Keep the connection open and say nothing; the client times out.
            while True:
                time.sleep(3600)
        if "nonutf8" in faults:
            body = (b'{"choices": [{"index": 0, "finish_reason": "stop", "message": '
                    b'{"role": "assistant", "content": "\xff\xfe not \xc3\x28 UTF-8"}}]}')
            self.send_bytes(200, body, length=len(body))
            return True
        if "slow" in faults:
            time.sleep(float(faults["slow"] or "1"))
        if "status" in faults:
            code = int(faults["status"])
            self.send_error_json(code, "injected status %d" % code)
            return True
        for code in ("500", "503"):
            if code in faults:
                self.send_error_json(int(code), "injected %s" % code, etype="server_error")
                return True
        if "429" in faults:
            h = {"Retry-After": faults["429"]} if faults["429"] else {}
            self.send_error_json(429, "Rate limit reached (injected)", headers=h,
                                 etype="rate_limit_error")
            return True
        if "429ms" in faults:
            self.send_error_json(429, "Rate limit reached (injected)",
                                 headers={"retry-after-ms": faults["429ms"]},
                                 etype="rate_limit_error")
            return True
        if "429date" in faults:
            when = email.utils.formatdate(time.time() + float(faults["429date"]), usegmt=True)
            self.send_error_json(429, "Rate limit reached (injected)",
                                 headers={"Retry-After": when}, etype="rate_limit_error")
            return True
        if "reset" in faults:
            self.reset_connection()
            return True
        if "truncate" in faults:
            body = good_body()
            self.send_bytes(200, body[: len(body) // 2], length=len(body), close=True)
            return True
        if "schema" in faults:
            self.send_json(200, {"object": "wrong", "choices": "none", "data": "none"})
            return True
        if "nonjson" in faults:
            body = b"this is not JSON at all"
            self.send_bytes(200, body, ctype="text/plain", length=len(body))
            return True
        if "big" in faults or "bigchunked" in faults:
            n = int(faults.get("big") or faults.get("bigchunked"))
            pad = "x" * n
            body = json.dumps({"choices": [{"index": 0, "message": {
                "role": "assistant", "content": pad}, "finish_reason": "stop"}]}).encode()
            if "big" in faults:
                self.send_bytes(200, body, length=len(body))
            else:
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for k in range(0, len(body), 16384):
                        self.wfile.write(body[k:k + 16384])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True
            return True
        return False

    # ---- endpoints ------------------------------------------------------------------

    def do_GET(self):
        if self.path == "/stats":
            self.send_json(200, STATE.snapshot())
        elif self.path == "/health":
            self.send_json(200, {"ok": True})
        else:
            self.send_error_json(404, "no such path")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self.path == "/reset":
            STATE.reset()
            self.send_json(200, {"ok": True})
            return
        if self.path not in ("/v1/chat/completions", "/v1/embeddings"):
            with STATE.lock:
                STATE.http_requests += 1
            self.send_error_json(404, "Unknown request URL: POST %s" % self.path)
            return
        try:
            req = json.loads(raw.decode("utf-8"))
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as e:
            with STATE.lock:
                STATE.http_requests += 1
            self.send_error_json(400, "could not parse the JSON body: %s" % e)
            return
        if self.path == "/v1/chat/completions":
            self.chat(req)
        else:
            self.embeddings(req)

    def check_access(self, model):
        if CONFIG["api_key"] is not None:
            auth = self.headers.get("Authorization") or ""
            if auth != "Bearer " + CONFIG["api_key"]:
                sent = auth[7:] if auth.startswith("Bearer ") else auth
                self.send_error_json(401, "Incorrect API key provided: %s." % sent,
                                     etype="invalid_api_key")
                return False
        if model not in CONFIG["models"]:
            self.send_error_json(404, "The model `%s` does not exist or you do not have "
                                      "access to it." % model)
            return False
        return True

    def chat(self, req):
        msgs = req.get("messages") if isinstance(req.get("messages"), list) else []
        system = "\n".join(m.get("content", "") for m in msgs
                           if isinstance(m, dict) and m.get("role") == "system")
        users = [m.get("content", "") for m in msgs
                 if isinstance(m, dict) and m.get("role") == "user"]
        user = users[-1] if users else ""
        with STATE.lock:
            STATE.http_requests += 1
            STATE.chat_requests += 1
            count = STATE.by_prompt.get(user, 0) + 1
            STATE.by_prompt[user] = count
        if not self.check_access(req.get("model")):
            return
        if CONFIG["local_delay"] > 0:
            time.sleep(CONFIG["local_delay"])
        if CONFIG["local_stall_after"] >= 0:
            with STATE.lock:
                stall = STATE.chat_answers >= CONFIG["local_stall_after"]
                STATE.chat_answers += not stall
            if stall:
                time.sleep(1e6)  # the watchdog ends the process
        too_long = self.context_error(req, system, user)
        if too_long:
            self.send_error_json(400, too_long, etype="exceed_context_size_error")
            return
        faults = markers(user, count)
        json_mode = (req.get("response_format") or {}).get("type") == "json_object"

        def good():
            content = judge(system, user, json_mode, faults)
            finish = "stop"
            max_tokens = req.get("max_tokens")
            if isinstance(max_tokens, int) and 0 < max_tokens < words(content):
                content = " ".join(content.split()[:max_tokens])
                finish = "length"
            reply = {
                "id": "chatcmpl-fake", "object": "chat.completion",
                "created": int(time.time()), "model": req.get("model"),
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": words(system) + words(user),
                          "completion_tokens": max(1, words(content)),
                          "total_tokens": words(system) + words(user) + max(1, words(content))},
            }
            if CONFIG["local_no_usage"]:
                del reply["usage"]
            return json.dumps(reply).encode("utf-8")

        if self.apply_faults(faults, good):
            return
        body = good()
        if self.send_bytes(200, body, length=len(body)):
            with STATE.lock:
                STATE.answered[user] = STATE.answered.get(user, 0) + 1

    def embeddings(self, req):
        inp = req.get("input")
        texts = [inp] if isinstance(inp, str) else inp if isinstance(inp, list) else []
        texts = [t if isinstance(t, str) else json.dumps(t) for t in texts]
        faults = {}
        with STATE.lock:
            STATE.http_requests += 1
            STATE.embedding_requests += 1
            for t in texts:
                c = STATE.by_text.get(t, 0) + 1
                STATE.by_text[t] = c
                for k, v in markers(t, c).items():
                    faults.setdefault(k, v)
        if not self.check_access(req.get("model")):
            return
        dim = CONFIG["embed_dim"]
        data = [{"object": "embedding", "index": i, "embedding": vector(t, dim)}
                for i, t in enumerate(texts)]
        raw_numbers = None
        if "embcount" in faults and data:
            data.pop()
        if "embindex" in faults and len(data) > 1:
            data[1]["index"] = data[0]["index"]
        if "embrange" in faults and data:
            data[-1]["index"] = len(data) + 5
        if "embdim" in faults and data:
            data[-1]["embedding"] = data[-1]["embedding"][:-1]
        if "embstring" in faults and data:
            data[-1]["embedding"] = "AAAAAAAAAAA="
        if "embinf" in faults or "embnan" in faults:
            raw_numbers = "1e999" if "embinf" in faults else "NaN"
            if data:
                data[-1]["embedding"][0] = "@@RAW@@"
        obj = {"object": "list", "data": data, "model": req.get("model"),
               "usage": {"prompt_tokens": sum(words(t) for t in texts),
                         "total_tokens": sum(words(t) for t in texts)}}
        if "embnodata" in faults:
            obj = {"object": "list", "model": req.get("model")}

        def good():
            s = json.dumps(obj)
            if raw_numbers:
                s = s.replace('"@@RAW@@"', raw_numbers)
            return s.encode("utf-8")

        if self.apply_faults(faults, good):
            return
        body = good()
        self.send_bytes(200, body, length=len(body))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The default backlog (5) drops connections when many arrive at once, and
    # a dropped SYN costs the client a 1 s retransmission.
    request_queue_size = 128

    def verify_request(self, request, client_address):
        return client_address[0] == "127.0.0.1"

    def handle_error(self, request, client_address):
        # Clients that hang up (timeouts, capped replies) are part of the tests.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def watchdog(parent, deadline):
    while True:
        if os.getppid() != parent or time.monotonic() > deadline:
            os._exit(0)
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=None)
    ap.add_argument("--models", default="judge-1,embed-1")
    ap.add_argument("--embed-dim", type=int, default=8)
    ap.add_argument("--time-limit", type=float, default=300)
    ap.add_argument("--tls-dir", default=None)
    # the known-truth judge
    ap.add_argument("--truth-error", type=float, default=0.0)
    ap.add_argument("--truth-seed", default="1")
    # local servers
    ap.add_argument("--local-no-usage", action="store_true")
    ap.add_argument("--local-errors", choices=["openai", "llamacpp", "vllm", "ollama"],
                    default="openai")
    ap.add_argument("--local-context", type=int, default=0)
    ap.add_argument("--local-delay", type=float, default=0.0)
    ap.add_argument("--local-stall-after", type=int, default=-1)
    ap.add_argument("--fault", action="append", default=[])
    a = ap.parse_args()
    for spec in a.fault:
        name, _, arg = spec.partition(":")
        CONFIG["faults"][name] = arg
    CONFIG["truth_error"] = a.truth_error
    CONFIG["truth_seed"] = a.truth_seed
    CONFIG["local_no_usage"] = a.local_no_usage
    CONFIG["local_errors"] = a.local_errors
    CONFIG["local_context"] = a.local_context
    CONFIG["local_delay"] = a.local_delay
    CONFIG["local_stall_after"] = a.local_stall_after
    CONFIG["api_key"] = a.api_key
    CONFIG["models"] = set(m for m in a.models.split(",") if m)
    CONFIG["embed_dim"] = a.embed_dim
    srv = Server(("127.0.0.1", a.port), Handler)
    threading.Thread(target=watchdog, args=(os.getppid(), time.monotonic() + a.time_limit),
                     daemon=True).start()
    print(srv.server_address[1], flush=True)
    if a.tls_dir:
        cert = os.path.join(a.tls_dir, "fake-cert.pem")
        key = os.path.join(a.tls_dir, "fake-key.pem")
        with open(cert, "w") as f:
            f.write(TEST_CERT)
        with open(key, "w") as f:
            f.write(TEST_KEY)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        tls = Server(("127.0.0.1", 0), Handler)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        print(tls.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
