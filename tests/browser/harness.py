"""tests/browser/harness.py: what the browser tests share: where things are
(the environment ctest sets), checks that count, running the hyporank
program, and opening a page offline with its requests, errors and Content-
Security-Policy violations recorded.

    t = Checks("demo page")
    with launch_or_skip() as b:
        page, seconds = open_offline(b, path)
        t.check(not leaks(page, path), "no request leaves the page")
    sys.exit(t.summary())
"""
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

SOURCE = pathlib.Path(os.environ.get("HR_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
OUT = pathlib.Path(os.environ.get("HR_HTML_OUT", "build/html-report"))
CLI = os.environ.get("HR_CLI", str(SOURCE / "build" / "hyporank"))

# Run in the page before its own code: records CSP violations and errors
# (uncaught exceptions and failed loads, which the capture phase sees).
RECORDER = """
window.__hr = {violations: [], errors: []};
document.addEventListener('securitypolicyviolation', function (e) {
  window.__hr.violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
window.addEventListener('error', function (e) {
  window.__hr.errors.push(String(e.message || (e.target && e.target.tagName) || e.type));
}, true);
"""


def skip(why):
    print("skipped: " + why)
    sys.exit(77)


class Checks:
    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + (": " + str(detail)[:2000] if detail != "" else ""))
        return cond

    def summary(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 0 if self.failed == 0 else 1


def launch_or_skip():
    try:
        return cdp.Browser.launch()
    except cdp.Unavailable as e:
        skip(str(e))


def run_cli(args, timeout=900):
    """Runs the hyporank program; exits the test with its output when it fails."""
    p = subprocess.run([CLI] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        print("FAIL hyporank %s exited %d:\n%s%s" % (" ".join(map(str, args)), p.returncode,
                                                   p.stdout.decode(errors="replace")[-3000:],
                                                   p.stderr.decode(errors="replace")[-3000:]))
        sys.exit(1)
    return p


def open_offline(browser, path, width=1200, height=900, dark=False):
    """A new page with no network showing the file path; returns it and the
    seconds from navigating to the load event."""
    page = browser.new_page(width, height)
    page.call("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    page.block_network()
    if dark:
        page.dark(True)
    seconds = page.goto(pathlib.Path(path).resolve().as_uri())
    return page, seconds


def leaks(page, path):
    """Requests other than the page itself."""
    own = pathlib.Path(path).resolve().as_uri()
    return [u for u in page.requests() if u != own]


def troubles(page):
    """CSP violations, errors and console errors the page produced."""
    rec = page.eval("JSON.stringify(window.__hr || {})")
    out = []
    if rec:
        import json
        r = json.loads(rec)
        out += ["csp: " + v for v in r.get("violations", [])]
        out += ["error: " + v for v in r.get("errors", [])]
    out += [c for c in page.console() if c.startswith(("error", "exception", "warning"))]
    return out
