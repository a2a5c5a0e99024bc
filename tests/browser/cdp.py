"""tests/browser/cdp.py: headless Chromium driven over the DevTools protocol
through a pipe (--remote-debugging-pipe), with Python's standard library
only: no driver, no WebSocket, no network port.

    with Browser.launch() as b:            # raises Unavailable when it cannot run
        page = b.new_page(width=1200, height=900)
        page.block_network()                # offline; every request is recorded
        page.goto("file:///tmp/report.html")
        n = page.eval("document.querySelectorAll('.fp-mark').length")
        page.screenshot("shot.png", full_page=True)

Messages are JSON objects separated by NUL bytes; events that arrive while
a command waits for its answer are kept per session (page.events).
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import select
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class Unavailable(Exception):
    """No browser can be started here (the test skips)."""


class ProtocolError(Exception):
    pass


def find_browser():
    """The browser binary: $HR_BROWSER, else the first of CANDIDATES on PATH,
    else Debian's /usr/lib/chromium/chromium."""
    env = os.environ.get("HR_BROWSER")
    if env:
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    if os.access("/usr/lib/chromium/chromium", os.X_OK):
        return "/usr/lib/chromium/chromium"
    return None


class Browser:
    def __init__(self, proc, wfile, rfile, profile):
        self.proc, self.w, self.r, self.profile = proc, wfile, rfile, profile
        self.next_id = 0
        self.buf = b""
        self.events = {}  # session id -> [event]

    @classmethod
    def launch(cls, timeout=30.0):
        exe = find_browser()
        if not exe:
            raise Unavailable("no Chromium found (install Debian's chromium: scripts/install-deps.sh --browser)")
        profile = tempfile.mkdtemp(prefix="hr-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def child_fds():
            # The browser reads commands on fd 3 and writes answers on fd 4.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
                "--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-default-apps", "--metrics-recording-only",
                "--mute-audio", "--hide-scrollbars", "--force-color-profile=srgb",
                # no name resolves and every connection goes to a closed port
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>", "about:blank"]
        try:
            proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as e:
            shutil.rmtree(profile, ignore_errors=True)
            raise Unavailable("cannot start %s: %s" % (exe, e))
        os.close(to_browser_r)
        os.close(from_browser_w)
        b = cls(proc, os.fdopen(to_browser_w, "wb"), os.fdopen(from_browser_r, "rb"), profile)
        try:
            b.version = b.call("Browser.getVersion", timeout=timeout)
        except (ProtocolError, EOFError, BrokenPipeError, TimeoutError) as e:
            err = b.close(kill=True)
            raise Unavailable("%s did not start: %s %s" % (exe, e, err[-800:]))
        return b

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self, kill=False):
        """Ends the browser; returns what it wrote on stderr."""
        if self.proc.poll() is None and not kill:
            try:
                self.send("Browser.close")
            except (BrokenPipeError, OSError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self.w, self.r):
            try:
                f.close()
            except OSError:
                pass
        err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
        shutil.rmtree(self.profile, ignore_errors=True)
        return err

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        self.w.flush()
        return self.next_id

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from the browser")

            ready, _, _ = select.select([self.r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            chunk = os.read(self.r.fileno(), 1 << 20)
            if not chunk:
                raise EOFError("the browser closed its pipe")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=30.0):
        i = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == i:
                if "error" in m:
                    raise ProtocolError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.setdefault(m.get("sessionId"), []).append(m)

    def wait_event(self, session, method, timeout=30.0, since=0):
        """The first event named method of the session at or after index since."""
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events.get(session, [])
            for e in evs[since:]:
                if e["method"] == method:
                    return e
            m = self._read(deadline)
            if "method" in m:
                self.events.setdefault(m.get("sessionId"), []).append(m)

    def new_page(self, width=1200, height=900):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        p = Page(self, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            p.call(domain + ".enable")
        p.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return p


class Page:
    def __init__(self, browser, session):
        self.b, self.session = browser, session

    def call(self, method, params=None, timeout=30.0):
        return self.b.call(method, params, self.session, timeout)

    @property
    def events(self):
        return self.b.events.get(self.session, [])

    def block_network(self):
        """Offline: the page gets no network (emulated), and Chromium's flags
        above already resolve no name; requests are still recorded."""
        self.call("Network.emulateNetworkConditions",
                  {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})

    def goto(self, url, timeout=30.0):
        """Loads url; returns the seconds from the command to the load event."""
        since = len(self.events)
        t0 = time.monotonic()
        self.call("Page.navigate", {"url": url})
        self.b.wait_event(self.session, "Page.loadEventFired", timeout, since)
        return time.monotonic() - t0

    def eval(self, expression, timeout=30.0):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            raise ProtocolError("evaluation failed: %s" % json.dumps(r["exceptionDetails"])[:800])
        return r["result"].get("value")

    def requests(self):
        """URLs the page asked for (Network.requestWillBeSent)."""
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def console(self):
        """Console and log messages, and uncaught exceptions, as text."""
        out = []
        for e in self.events:
            if e["method"] == "Log.entryAdded":
                out.append("%s: %s" % (e["params"]["entry"]["level"], e["params"]["entry"]["text"]))
            elif e["method"] == "Runtime.consoleAPICalled":
                out.append("console.%s: %s" % (e["params"]["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in e["params"]["args"])))
            elif e["method"] == "Runtime.exceptionThrown":
                out.append("exception: %s" % json.dumps(e["params"]["exceptionDetails"])[:400])
        return out

    def dark(self, on=True):
        self.call("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]})

    def screenshot(self, path, full_page=False, max_height=6000, scale=1.0):
        params = {"format": "png"}
        if full_page or scale != 1.0:
            m = self.call("Page.getLayoutMetrics")["cssContentSize"]
            vp = self.call("Page.getLayoutMetrics")["cssLayoutViewport"]
            height = min(m["height"], max_height) if full_page else vp["clientHeight"]
            params["clip"] = {"x": 0, "y": 0, "width": vp["clientWidth"], "height": height,
                              "scale": scale}
            params["captureBeyondViewport"] = bool(full_page)
        data = self.call("Page.captureScreenshot", params, timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
