"""tests/browser/test_html_hostile.py: pages built from hostile texts in
headless Chromium, offline: markup, scripts, event handlers, attempts to
close the page's elements or its JSON block, very long lines, right-to-left
text and text whose invalid UTF-8 was repaired. Nothing executes, nothing
is requested, every such text reads as text, and the layout holds (no
horizontal overflow, columns in order, right-to-left text isolated).

Two pages: `hyporank describe --html` on hostile corpora and hypotheses
written here (the corpus reader accepts only valid UTF-8, so the repaired
text arrives as U+FFFD), and test_report_html's hostile-synthetic.html,
whose texts hold raw invalid bytes. A control page that does load
something shows that the checks would see it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OUT, Checks, launch_or_skip, leaks, open_offline, run_cli, troubles  # noqa: E402

t = Checks("browser: hostile texts")
work = OUT / "hostile"
work.mkdir(parents=True, exist_ok=True)

LONG = "pasta " * 3000 + "x" * 20000  # a 38,000-byte line, a long part without a space
RTL = "\u0648\u0635\u0641\u0629 \u0627\u0644\u0645\u0639\u0643\u0631\u0648\u0646\u0629 \u0628\u0627\u0644\u0637\u0645\u0627\u0637\u0645 pasta \u05de\u05ea\u05db\u05d5\u05df"
HOSTILE = [
    "<script>window.__pwned=1</script> pasta with tomato sauce and basil",
    "<img src=x onerror=\"window.__pwned=2\"> a recipe for bread with olive oil",
    "\"><svg onload=window.__pwned=3> melted cheese on a pizza",
    "</bdi></li></ol></div></article><h1 class=\"injected\">broken</h1> a pot of vegetable soup",
    "javascript:window.__pwned=4 <a href=\"javascript:window.__pwned=5\">link</a> roast chicken",
    "<style>body{display:none}</style><!-- comment --> chocolate cake for dessert",
    "&lt;script&gt; stays &amp;lt; as typed in a recipe for pancakes",
    "line\u2028separator and paragraph\u2029separator in a salad recipe",
    "caf\ufffd cr\ufffdme br\ufffdl\ufffde, repaired from invalid UTF-8, a dessert",
    "\u202eRIGHT-TO-LEFT OVERRIDE\u202c inside a noodle recipe",
    RTL,
    LONG,
]
COOKING = ["a recipe for %s with %s" % (d, s) for d in
           ("pasta", "risotto", "noodles", "dumplings", "curry", "stew", "pie", "bread")
           for s in ("garlic", "butter", "herbs", "lemon", "cream", "spices")]
SPORTS = ["%s won the %s match %d to %d" % (a, b, x, y) for a, b, x, y in
          [(a, b, i % 5, (i * 3) % 4) for i, (a, b) in enumerate(
              [(team, game) for team in ("the home side", "the visitors", "the champions",
                                         "the underdogs", "the city club", "the national team")
               for game in ("football", "rugby", "cricket", "hockey", "tennis", "basketball")])]]
HYPOTHESES = [
    "<script>window.__pwned=6</script> is about cooking",
    "</script><script>window.__pwned=7</script> is about food",
    "mentions \"<b>\"",
    "is about a <img src=x onerror=window.__pwned=8> sports match",
    RTL,
    "is about food " + "very " * 400 + "long",
]


def write_jsonl(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for s in texts:
            f.write(json.dumps({"text": s}) + "\n")


write_jsonl(work / "a.jsonl", COOKING + HOSTILE)
write_jsonl(work / "b.jsonl", SPORTS + ["<script>window.__pwned=9</script> " + s for s in SPORTS[:6]])
(work / "hypotheses.txt").write_text("\n".join(HYPOTHESES) + "\n", encoding="utf-8")
page_cli = work / "hostile.html"
run_cli(["describe", "--a", work / "a.jsonl", "--b", work / "b.jsonl",
         "--hypotheses", work / "hypotheses.txt", "--goal", "<script>window.__pwned=10</script>",
         "--cache", OUT / "cache.sqlite", "--html", page_cli, "--json", work / "hostile.json",
         "--top", "20", "--quiet"])

INSPECT = """JSON.stringify((function () {
  var all = Array.from(document.querySelectorAll('*'));
  var handlers = [];
  all.forEach(function (e) {
    Array.from(e.attributes).forEach(function (a) {
      if (/^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value)) handlers.push(e.tagName + ' ' + a.name);
    });
  });
  var vw = window.innerWidth;
  var wide = Array.from(document.querySelectorAll('header, main > section, .card, .forest, .examples li, footer'))
    .filter(function (e) { var r = e.getBoundingClientRect(); return r.width > 0 && r.right > vw + 1; })
    .map(function (e) { return e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right); });
  var order = Array.from(document.querySelectorAll('#candidates tbody tr')).filter(function (tr) {
    var xs = Array.from(tr.children).map(function (td) { return td.getBoundingClientRect().left; });
    for (var i = 1; i < xs.length; i++) if (xs[i] < xs[i - 1]) return true;
    return false;
  }).length;
  var labels = Array.from(document.querySelectorAll('.fp-label, .card h3')).filter(function (l) {
    var rank = l.querySelector('.rank'), text = l.querySelector('bdi');
    var first = text && text.getClientRects()[0];  /* its first line box */
    return rank && first && first.left < rank.getBoundingClientRect().right - 1;
  }).length;
  return {
    pwned: window.__pwned === undefined ? null : window.__pwned,
    scripts: document.querySelectorAll('script').length,
    foreign: document.querySelectorAll('img, iframe, object, embed, link, base, form, .injected, a[href^="javascript"]').length,
    handlers: handlers,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: vw,
    wide: wide, columnsOutOfOrder: order, labelsOutOfOrder: labels,
    text: document.body.innerText,
    tableText: (document.querySelector('#candidates') || {}).innerText || '',
    h1: document.querySelector('h1') ? document.querySelector('h1').getBoundingClientRect().height : 0,
    table: document.documentElement.getAttribute('data-table')
  };
})())"""


def inspect(page):
    return json.loads(page.eval(INSPECT))


def common_checks(name, page, path):
    r = inspect(page)
    t.check(r["pwned"] is None, name + ": no planted script ran", r["pwned"])
    t.check(r["scripts"] == 2, name + ": only the page's two script elements (data, code)", r["scripts"])
    t.check(r["foreign"] == 0, name + ": no element from a text (img, iframe, link, injected heading)",
            r["foreign"])
    t.check(not r["handlers"], name + ": no event handler or javascript: URL", r["handlers"])
    t.check(not leaks(page, path), name + ": no request", leaks(page, path))
    t.check(not troubles(page), name + ": no error or policy violation", troubles(page))
    t.check(r["table"] == "ready", name + ": the page's script still ran")
    t.check(r["scrollWidth"] <= r["innerWidth"] + 1 and not r["wide"],
            name + ": nothing overflows the page's width", (r["scrollWidth"], r["innerWidth"], r["wide"]))
    t.check(r["columnsOutOfOrder"] == 0, name + ": the table's columns stay in order in every row",
            r["columnsOutOfOrder"])
    t.check(r["labelsOutOfOrder"] == 0, name + ": right-to-left text stays isolated after its rank",
            r["labelsOutOfOrder"])
    t.check(0 < r["h1"] < 200, name + ": the title keeps its place", r["h1"])
    return r


with launch_or_skip() as browser:
    # The control: a page without the policy that does load something.
    control = work / "control.html"
    control.write_text("<!DOCTYPE html><title>control</title><img src=\"http://127.0.0.1:9/probe.png\">"
                       "<script>window.__pwned = 1</script>")
    page, _ = open_offline(browser, control)
    t.check(leaks(page, control) and inspect(page)["pwned"] == 1,
            "control: the checks see a request and a script that ran", leaks(page, control))

    page, _ = open_offline(browser, page_cli, width=1100, height=900)
    r = common_checks("describe on hostile corpora", page, page_cli)
    text = r["text"] + r["tableText"]
    page.eval("(function () { var s = document.querySelector('#candidates-table input[type=search]');"
              " s.value = 'pwned'; s.dispatchEvent(new Event('input')); })()")
    shown = page.eval("Array.from(document.querySelectorAll('#candidates tbody td.text')).map(function (td) {"
                      " return td.textContent; })")
    for s in ("<script>window.__pwned=6</script> is about cooking",
              "</script><script>window.__pwned=7</script> is about food",
              "is about a <img src=x onerror=window.__pwned=8> sports match"):
        t.check(s in shown, "the hypothesis %r reads as typed in the table" % s[:40], shown)
    t.check(inspect(page)["pwned"] is None and inspect(page)["foreign"] == 0,
            "rendering them ran nothing and made no element")
    t.check("<script>window.__pwned=10</script>" in r["text"], "the goal reads as typed")
    examples = page.eval("Array.from(document.querySelectorAll('.examples li')).map(function (l) {"
                         " return l.textContent; }).join('\\n')")
    t.check(any(h[:30] in examples for h in HOSTILE[:6]), "hostile examples are shown, as text", examples[:600])
    page.screenshot(str(OUT / "hostile.png"), full_page=True, max_height=4000)
    # Narrow: the long lines still wrap.
    page.call("Emulation.setDeviceMetricsOverride", {"width": 420, "height": 900, "deviceScaleFactor": 1,
                                                     "mobile": False})
    r = inspect(page)
    t.check(r["scrollWidth"] <= r["innerWidth"] + 1 and not r["wide"],
            "at 420 px nothing overflows either", (r["scrollWidth"], r["wide"]))

    synthetic = OUT / "hostile-synthetic.html"
    t.check(synthetic.exists(), "test_report_html left the synthetic hostile page", synthetic)
    if synthetic.exists():
        page, _ = open_offline(browser, synthetic, width=1100, height=900)
        r = common_checks("synthetic hostile report", page, synthetic)
        text = r["text"] + r["tableText"]
        t.check("<script>window.__pwned=1</script> pasta" in text, "markup reads as typed")
        t.check("invalid \ufffd\ufffd bytes \ufffd( and \ufffd\ufffd\ufffd here" in text,
                "invalid UTF-8 shows as U+FFFD", [s for s in text.split("\n") if "invalid" in s][:3])
        t.check("&lt;script&gt; stays &amp;lt; as typed" in text, "entities stay as typed")
        page.screenshot(str(OUT / "hostile-synthetic.png"))

    # The judge's figures beside the screen's keep to their column too.
    judged = OUT / "judged.html"
    t.check(judged.exists(), "test_report_html left the judged page", judged)
    if judged.exists():
        page, _ = open_offline(browser, judged, width=1100, height=900)
        r = inspect(page)
        t.check(page.eval("document.querySelectorAll('#forest .fp-judge').length") == 2,
                "judged page: the judge's marks beside two findings")
        wide = page.eval("Array.from(document.querySelectorAll('.fp-num')).filter(function (e) {"
                         " return e.scrollWidth > e.clientWidth + 1"
                         " || e.getBoundingClientRect().right > window.innerWidth; }).length")
        t.check(r["scrollWidth"] <= r["innerWidth"] + 1 and wide == 0,
                "judged page: the numbers fit their column", (r["scrollWidth"], wide))
        t.check(not troubles(page) and not leaks(page, judged), "judged page: no error, no request")

sys.exit(t.summary())
