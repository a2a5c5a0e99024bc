"""tests/browser/test_html_page.py: the demo's HTML page in headless
Chromium, with networking disabled: the findings, the forest plot's marks,
the share bars, histograms and highlighted examples are in the DOM, the
table of every candidate sorts, filters and pages, nothing is requested and
nothing fails, light and dark modes differ; then the page of 10,000
candidates on a million texts (test_report_html's large.html) loads in under
2 s and sorts. Screenshots go to build/html-report/ (a CI artifact):
describe.png (the whole page), describe-dark.png, describe-small.png (the
README's picture), large.png.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (OUT, SOURCE, Checks, launch_or_skip, leaks, open_offline, run_cli,  # noqa: E402
                     troubles)

t = Checks("browser: demo page")
OUT.mkdir(parents=True, exist_ok=True)
html, js = OUT / "describe.html", OUT / "describe.json"

# The demo (scripts/demo.sh): 1,000 headlines of 2020 against 1,000 of 2019.
run_cli(["describe", "--a", SOURCE / "examples/headlines-2020.jsonl",
         "--b", SOURCE / "examples/headlines-2019.jsonl",
         "--goal", "which categories of news dominated the headlines of 2020 against 2019",
         "--cache", OUT / "cache.sqlite", "--json", js, "--html", html, "--quiet"])
report = json.loads(js.read_text())
hyps = report["hypotheses"]
findings = [h for h in hyps if h["finding"]]
t.check(len(findings) >= 1, "the demo has a finding", len(findings))


def sorted_column(page, key):
    """The numbers (data-v) or texts of column key in the rows shown."""
    return page.eval("""(function () {
      var ths = Array.from(document.querySelectorAll('#candidates thead th'));
      var i = ths.findIndex(function (th) { return th.getAttribute('data-key') === '%s'; });
      return Array.from(document.querySelectorAll('#candidates tbody tr')).map(function (tr) {
        var td = tr.children[i];
        return td.hasAttribute('data-v') ? Number(td.getAttribute('data-v')) : td.textContent;
      });
    })()""" % key)


def click_header(page, key):
    page.eval("document.querySelector('#candidates th[data-key=\"%s\"] button').click()" % key)


def monotone(values, descending):
    pairs = zip(values, values[1:])
    return all((a >= b) if descending else (a <= b) for a, b in pairs)


with launch_or_skip() as browser:
    page, seconds = open_offline(browser, html)
    t.check(seconds < 2.0, "the demo page loads in under 2 s", "%.2f s" % seconds)
    t.check(not leaks(page, html), "no request leaves the page", leaks(page, html))
    t.check(page.eval("document.documentElement.getAttribute('data-table')") == "ready",
            "the page's own script ran (its hash is in the policy)")
    t.check(page.eval("getComputedStyle(document.body).maxWidth") == "1120px",
            "the page's own style applies (its hash is in the policy)")
    t.check(page.eval("document.querySelector('h1').textContent") == "How A differs from B",
            "the header's title")
    facts = page.eval("document.querySelector('dl.facts').textContent")
    t.check("headlines-2020.jsonl" in facts and "1,000 texts" in facts and "all-MiniLM-L6-v2" in facts,
            "the header names the corpora, their sizes and the model", facts)

    # The forest plot: one mark per finding, on the side of zero of its direction.
    marks = json.loads(page.eval("""JSON.stringify(Array.from(document.querySelectorAll(
        '#forest .fp-mark')).map(function (c) {
          var zero = c.parentNode.querySelector('line.zero');
          return {cx: +c.getAttribute('cx'), zero: +zero.getAttribute('x1'),
                  cls: c.getAttribute('class'),
                  label: c.closest('.fp-row').querySelector('.fp-label bdi').textContent};
        }))"""))
    t.check(len(marks) == len(findings), "the forest plot has a mark per finding",
            "%d marks, %d findings" % (len(marks), len(findings)))
    for f in findings:
        m = [m for m in marks if m["label"] == f["text"]]
        t.check(len(m) == 1, "the forest plot shows the finding %r" % f["text"], marks)
        if m:
            right = m[0]["cx"] > m[0]["zero"]
            t.check(right == (f["direction"] == "A"), "its mark is on %s's side of zero" % f["direction"], m)
    first = findings[0]
    n_para = len(first["paraphrases"])
    if n_para:
        page.eval("document.querySelector('details.fp-group').open = true")
        shown = page.eval("Array.from(document.querySelectorAll('details.fp-group .fp-para'))"
                          ".filter(function (e) { return e.getBoundingClientRect().height > 0; }).length")
        t.check(shown == n_para, "its paraphrases unfold under it", "%s of %d" % (shown, n_para))

    # Its card: share bars, histograms, examples with the words highlighted.
    card = json.loads(page.eval("""(function () {
      var c = document.getElementById('r-%d');
      if (!c) return 'null';
      return JSON.stringify({
        bars: Array.from(c.querySelectorAll('rect.share-bar')).map(function (r) { return +r.getAttribute('width'); }),
        hist: c.querySelectorAll('svg.hist path.h-a, svg.hist path.h-b').length,
        tau: c.querySelectorAll('svg.hist line.tau').length,
        ex_a: Array.from(c.querySelectorAll('.ex-a li')).map(function (l) { return l.textContent; }),
        ex_b: Array.from(c.querySelectorAll('.ex-b li')).map(function (l) { return l.textContent; }),
        marks: Array.from(c.querySelectorAll('.examples mark')).map(function (m) { return m.textContent.toLowerCase(); })
      });
    })()""" % first["rank"]))
    t.check(card is not None, "the finding has a card")
    if card:
        t.check(len(card["bars"]) == 2 and abs(card["bars"][0] / 220 - first["share_a"]) < 0.01
                and abs(card["bars"][1] / 220 - first["share_b"]) < 0.01,
                "its share bars are its shares of A and B", (card["bars"], first["share_a"], first["share_b"]))
        t.check(card["hist"] == 2 and card["tau"] == 1, "its histograms of A and B and the threshold", card)
        t.check(len(card["ex_a"]) == 3 and len(card["ex_b"]) == 3, "three examples of each side", card)
        if first.get("examples"):
            t.check(first["examples"][0] in card["ex_a"] + card["ex_b"],
                    "the JSON's best example is among them", (first["examples"][0], card))
        words = set()
        for p in [first["text"]] + first["paraphrases"]:
            if p.startswith('mentions "') and p.endswith('"'):
                words.add(p[10:-1])
        if words:
            t.check(card["marks"] and all(m.replace("-", " ") in words or m in words for m in card["marks"]),
                    "the words of its n-gram paraphrases are highlighted", (card["marks"], words))

    # The table: every candidate, a page at a time; sorting, filtering, paging.
    count = page.eval("document.querySelector('#candidates-table .controls .muted').textContent")
    t.check(count == "%d of %d candidates" % (len(hyps), len(hyps)), "the table counts every candidate", count)
    rows = page.eval("document.querySelectorAll('#candidates tbody tr').length")
    t.check(rows == min(100, len(hyps)), "the table shows its first page", rows)
    ranks = sorted_column(page, "rank")
    t.check(ranks == list(range(1, len(ranks) + 1)), "it starts in rank order", ranks[:10])
    click_header(page, "effect")
    eff = sorted_column(page, "effect")
    t.check(monotone(eff, True) and eff[0] == max(h["effect"] for h in hyps) or
            abs(eff[0] - max(h["effect"] for h in hyps)) < 1e-3,
            "a click on effect sorts it, largest first", eff[:10])
    t.check(monotone(eff, True), "the effects shown are in order", eff[:20])
    click_header(page, "effect")
    eff = sorted_column(page, "effect")
    t.check(monotone(eff, False) and abs(eff[0] - min(h["effect"] for h in hyps)) < 1e-3,
            "a second click sorts it the other way", eff[:10])
    t.check(page.eval("document.querySelector('#candidates th[data-key=\"effect\"]')"
                      ".getAttribute('aria-sort')") == "ascending", "the header says how it is sorted")
    click_header(page, "text")
    texts = sorted_column(page, "text")
    t.check(page.eval("(function (a) { for (var i = 1; i < a.length; i++) if (a[i - 1].localeCompare(a[i]) > 0)"
                      " return false; return true; })(%s)" % json.dumps(texts)),
            "a click on text sorts it alphabetically", texts[:5])
    n_ngram = sum(1 for h in hyps if h["source"] == "ngram")
    page.eval("(function () { var s = document.querySelector('#candidates-table select[name=source]');"
              " s.value = 'ngram'; s.dispatchEvent(new Event('change')); })()")
    sources = set(sorted_column(page, "source"))
    count = page.eval("document.querySelector('#candidates-table .controls .muted').textContent")
    t.check(sources == {"ngram"} and count == "%d of %d candidates" % (n_ngram, len(hyps)),
            "filtering by source keeps that source's rows", (sources, count))
    # Counted shares (the words': mentions "w") print to the texts, as the cards do.
    page.eval("(function () { var s = document.querySelector('#candidates-table select[name=source]');"
              " s.value = ''; s.dispatchEvent(new Event('change'));"
              " var c = document.querySelector('#candidates-table select[name=shares]');"
              " c.value = 'counted'; c.dispatchEvent(new Event('change')); })()")

    def share_text(v):
        p = 100 * v
        return "%.*f%%" % (0 if p == 0 or p >= 9.95 else (1 if p >= 0.995 else 2), p)
    counted = [h for h in hyps if h["effect_detail"]["shares"] == "counted"]
    cells = page.eval("(function () {"
                      " var ths = Array.from(document.querySelectorAll('#candidates thead th'));"
                      " var i = ths.findIndex(function (th) { return th.getAttribute('data-key') === 'share_a'; });"
                      " return Array.from(document.querySelectorAll('#candidates tbody tr')).map("
                      "  function (tr) { return tr.children[i].textContent; }); })()")
    want = [share_text(h["share_a"]) for h in counted][:100]
    t.check(len(counted) > 0 and sorted(cells) == sorted(want),
            "the counted rows print their shares to the texts", (cells[:5], want[:5]))
    page.eval("(function () { var c = document.querySelector('#candidates-table select[name=shares]');"
              " c.value = ''; c.dispatchEvent(new Event('change'));"
              " var d = document.querySelector('#candidates-table select[name=finding]');"
              " d.value = 'yes'; d.dispatchEvent(new Event('change')); })()")
    t.check(page.eval("document.querySelectorAll('#candidates tbody tr').length") == len(findings),
            "filtering by finding keeps the findings")
    page.eval("(function () { var d = document.querySelector('#candidates-table select[name=finding]');"
              " d.value = ''; d.dispatchEvent(new Event('change')); })()")
    if len(hyps) > 100:
        page.eval("document.querySelector('#candidates-table button.more').click()")
        rows = page.eval("document.querySelectorAll('#candidates tbody tr').length")
        t.check(rows == min(200, len(hyps)), "'show more' adds a page", rows)

    t.check(not leaks(page, html), "still no request after using the page", leaks(page, html))
    t.check(not troubles(page), "no error, console error or policy violation", troubles(page))

    # Screenshots: the whole page, light and dark, and the README's picture.
    page.eval("document.querySelector('details.fp-group') && (document.querySelector('details.fp-group').open = false)")
    page.eval("window.scrollTo(0, 0)")
    page.screenshot(str(OUT / "describe.png"), full_page=True)
    light_bg = page.eval("getComputedStyle(document.documentElement).backgroundColor")
    page.dark(True)
    dark_bg = page.eval("getComputedStyle(document.documentElement).backgroundColor")
    t.check(light_bg == "rgb(255, 255, 255)" and dark_bg == "rgb(13, 17, 23)",
            "light and dark modes follow the reader's setting", (light_bg, dark_bg))
    page.screenshot(str(OUT / "describe-dark.png"), full_page=True)
    small, _ = open_offline(browser, html, width=1000, height=1250)
    small.eval("document.querySelector('#summary').scrollIntoView({block: 'start'})")
    small.eval("window.scrollTo(0, 0)")
    small.screenshot(str(OUT / "describe-small.png"), scale=0.7)
    t.check((OUT / "describe.png").stat().st_size > 10000, "the screenshots are written",
            (OUT / "describe.png").stat().st_size)

    # 10,000 candidates on a million texts (left by test_report_html).
    large = OUT / "large.html"
    t.check(large.exists(), "test_report_html left the large page", large)
    if large.exists():
        size = large.stat().st_size
        t.check(size < 5_000_000, "the large page is under 5 MB", size)
        # The page's own clock (navigation timing): from the start of the
        # navigation to the end of the load event, which comes after the
        # table's script has run; the median of three loads, so that one
        # stall of a shared machine does not decide.
        times = []
        for _ in range(3):
            page, _ = open_offline(browser, large)
            ready = page.eval("document.documentElement.getAttribute('data-table')")
            times.append(page.eval("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
            t.check(ready == "ready", "its table is ready at the load event")
        total = sorted(times)[1]
        print("     large page: %d bytes, loaded in %s s" % (size, ", ".join("%.2f" % x for x in times)))
        t.check(total < 2.0, "it opens in under 2 s", "median %.2f s" % total)
        count = page.eval("document.querySelector('#candidates-table .controls .muted').textContent")
        t.check(count == "10000 of 10000 candidates", "its table holds every candidate", count)
        t.check(page.eval("document.querySelectorAll('#forest .fp-mark').length") == 40,
                "its forest plot has the 40 findings")
        t0 = time.monotonic()
        click_header(page, "q_value")
        q = sorted_column(page, "q_value")
        sort_s = time.monotonic() - t0
        print("     sorting 10,000 rows: %.3f s" % sort_s)
        t.check(monotone(q, True) and sort_s < 1.0, "it sorts 10,000 rows in under 1 s", "%.3f s" % sort_s)
        t.check(not leaks(page, large) and not troubles(page), "no request, no error",
                (leaks(page, large), troubles(page)))
        page.screenshot(str(OUT / "large.png"))

sys.exit(t.summary())
