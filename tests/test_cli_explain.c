/*
 * tests/test_cli_explain.c: `hyporank explain` as a user runs it ($HR_CLI):
 * a planted explanation (texts about sport against texts about cooking, with
 * unrelated texts on both sides) is found and explains most of the probe's
 * AUROC; shuffled labels leave nothing to explain; a classifier's own score
 * becomes the reference; --rounds starts from the plain run and keeps its
 * choices; bad input exits 2 with a clear message. --continuous: a planted
 * numeric target (the count of sport words in texts of three clauses, plus
 * a little noise) is ranked by the ridge reference and explained by a sport
 * hypothesis chosen first; a shuffled target leaves nothing to explain; a
 * non-numeric target exits 2 naming the file and line.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "cli_run.h"
#include "test_util.h"
#include "core/random.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *cli;
static char dir[256], cache[300];

/* Runs the program with args (NULL-terminated); stdout and stderr are kept in
 * *out and *err (may be NULL). Returns the exit status. */
static int run(char **out, char **err, const char *const *args)
{
    return cli_run(cli, dir, out, err, args);
}

/* ------------------------------------------------------------------------ */
/* The planted corpus                                                        */

static uint64_t rng_state;

static unsigned rnd(unsigned n)
{
    return (unsigned)(hr_splitmix64(&rng_state) % n);
}

#define PICK(list) list[rnd(sizeof list / sizeof list[0])]

static const char *teams[] = {"Arsenal", "the Lakers", "Real Madrid", "the Yankees",
                              "Bayern Munich", "the Celtics", "Juventus", "the Packers"};
static const char *players[] = {"Marcus", "the young striker", "the veteran goalkeeper",
                                "the team captain", "the new signing", "Lopez", "the winger"};
static const char *sports[] = {"football", "basketball", "tennis", "rugby", "baseball",
                               "hockey"};
static const char *dishes[] = {"lasagna", "risotto", "chicken curry", "banana bread",
                               "vegetable soup", "apple pie", "beef stew", "pancakes"};
static const char *ingredients[] = {"onions", "garlic", "carrots", "mushrooms", "butter",
                                    "basil", "tomatoes", "ginger"};
static const char *utensils[] = {"frying pan", "baking dish", "saucepan", "mixing bowl",
                                 "cast iron skillet"};
static const char *cities[] = {"Lisbon", "Toronto", "Osaka", "Nairobi", "Denver", "Prague",
                               "Melbourne"};
static const char *days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"};

/* One text of kind 0 (cooking), 1 (sport) or 2 (unrelated) into buf. */
static void make_text(int kind, char *buf, size_t len)
{
    unsigned t = rnd(8);
    if (kind == 1) {
        const char *a = PICK(teams), *b = PICK(teams), *p = PICK(players), *s = PICK(sports);
        switch (t) {
        case 0: snprintf(buf, len, "%s beat %s %u-%u in last night's %s game", a, b, rnd(5) + 1, rnd(2), s); break;
        case 1: snprintf(buf, len, "%s scored the winning goal for %s in the final minute", p, a); break;
        case 2: snprintf(buf, len, "The %s coach praised %s after a tough training session", s, p); break;
        case 3: snprintf(buf, len, "Fans of %s celebrated the championship title in the stadium", a); break;
        case 4: snprintf(buf, len, "%s was injured during the %s match and will miss three weeks", p, s); break;
        case 5: snprintf(buf, len, "Tickets for the %s final between %s and %s sold out in an hour", s, a, b); break;
        case 6: snprintf(buf, len, "The referee showed %s a red card early in the second half", p); break;
        default: snprintf(buf, len, "%s won the league after a dramatic penalty shootout", a); break;
        }
    } else if (kind == 0) {
        const char *d = PICK(dishes), *i = PICK(ingredients), *u = PICK(utensils);
        switch (t) {
        case 0: snprintf(buf, len, "Simmer the %s for twenty minutes before adding them to the %s", i, d); break;
        case 1: snprintf(buf, len, "My grandmother's %s recipe uses fresh %s and a pinch of salt", d, i); break;
        case 2: snprintf(buf, len, "Preheat the oven and bake the %s until it is golden brown", d); break;
        case 3: snprintf(buf, len, "Chop the %s finely and fry them in olive oil in a %s", i, u); break;
        case 4: snprintf(buf, len, "This %s tastes better if you add the %s the night before", d, i); break;
        case 5: snprintf(buf, len, "Whisk the eggs, fold in the %s and pour the batter into the %s", i, u); break;
        case 6: snprintf(buf, len, "Season the %s with pepper and garnish with %s before serving", d, i); break;
        default: snprintf(buf, len, "The chef showed us how to make %s from scratch in a %s", d, u); break;
        }
    } else {
        const char *c = PICK(cities), *w = PICK(days);
        switch (t) {
        case 0: snprintf(buf, len, "The train to %s was delayed by forty minutes on %s", c, w); break;
        case 1: snprintf(buf, len, "Heavy rain is expected in %s over the weekend", c); break;
        case 2: snprintf(buf, len, "The library in %s will close early on %s for repairs", c, w); break;
        case 3: snprintf(buf, len, "I need to renew my passport before the trip to %s", c); break;
        case 4: snprintf(buf, len, "The phone update drains the battery too quickly since %s", w); break;
        case 5: snprintf(buf, len, "Our meeting about the budget in %s was moved to %s", c, w); break;
        case 6: snprintf(buf, len, "The museum in %s opened an exhibition of old maps", c); break;
        default: snprintf(buf, len, "Traffic on the bridge into %s was slow on %s morning", c, w); break;
        }
    }
}

#define N_TEXTS 200

static char texts[N_TEXTS][200];
static int labels[N_TEXTS];  /* 1: sport side, 0: cooking side */
static double scores[N_TEXTS]; /* a planted classifier's score */
static char planted[300], shuffled[300];

/* 70 sport + 30 unrelated texts labelled 1, 70 cooking + 30 unrelated
 * labelled 0, interleaved. */
static void make_corpus(void)
{
    rng_state = 12345;
    for (int i = 0; i < N_TEXTS; i++) {
        const int label = i % 2, unrelated = (i / 2) % 10 < 3;
        make_text(unrelated ? 2 : label, texts[i], sizeof texts[i]);
        labels[i] = label;
        /* A classifier that knows the topic, with a little noise; coin-flip
         * scores on the unrelated texts. */
        /* thousandths, computed as one division, so they read back from the
         * JSON as the same doubles (ties included). */
        scores[i] = (unrelated ? rnd(1000) : (label ? 800 : 200) + rnd(100)) / 1000.0;
    }
}

static void write_jsonl(const char *path, const int *lab, int with_score)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < N_TEXTS; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", texts[i]);
        cJSON_AddNumberToObject(o, "label", lab[i]);
        if (with_score) cJSON_AddNumberToObject(o, "prob", scores[i]);
        char *s = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    fclose(f);
}

static cJSON *num(cJSON *o, const char *name)
{
    cJSON *v = cJSON_GetObjectItem(o, name);
    return v && cJSON_IsNumber(v) ? v : NULL;
}

/* Runs explain with args, which write the JSON report to json: checks the
 * exit status, shows the table, and returns the parsed report (NULL, after
 * a failed check, when there is none). *out_text gets the standard output
 * when out_text is not NULL (the caller frees it). */
static cJSON *explain_json(const char *const *args, const char *json, char **out_text)
{
    char *out, *err;
    int rc = run(&out, &err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    fprintf(stderr, "%s", out);
    char *text = read_all(json);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    CHECKF(root != NULL, "the JSON does not parse");
    free(text), free(err);
    if (out_text) *out_text = out;
    else free(out);
    return root;
}

static void test_planted_topic_is_chosen_first_and_explains_most_of_the_probe(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/planted.json", dir);
    const char *args[] = {"explain", "--data", planted, "--label-field", "label", "--json", json,
                          "--cache", cache, "--quiet", NULL};
    char *out = NULL;
    cJSON *root = explain_json(args, json, &out);
    if (!root) goto done;
    CHECK(num(root, "n") && num(root, "n")->valuedouble == N_TEXTS);
    CHECK(num(root, "folds") && num(root, "folds")->valuedouble == 5);
    CHECK(num(root, "seed") && num(root, "seed")->valuedouble == 1);
    cJSON *pl = cJSON_GetObjectItem(root, "positive_label");
    CHECKF(pl && cJSON_IsString(pl) && strcmp(pl->valuestring, "1") == 0, "positive label");
    CHECKF(strstr(out, "the larger value") != NULL, "the default positive class is not said");
    cJSON *ref = num(root, "reference_auroc");
    CHECKF(ref && ref->valuedouble > 0.85, "reference AUROC %g", ref ? ref->valuedouble : -1);
    cJSON *sel = cJSON_GetObjectItem(root, "selected");
    CHECK(cJSON_IsArray(sel) && cJSON_GetArraySize(sel) >= 1 && cJSON_GetArraySize(sel) <= 5);
    cJSON *first = cJSON_GetArrayItem(sel, 0);
    const char *t = first && cJSON_GetObjectItem(first, "text")
                        ? cJSON_GetObjectItem(first, "text")->valuestring : "";
    const char *topic[] = {"sport", "athlet", "game", "team", "match", "football", "cook",
                           "food", "recipe", "kitchen", "baking", "dish", "meal", "league",
                           "coach", "oven", "chef"};
    int on_topic = 0;
    for (size_t k = 0; k < sizeof topic / sizeof topic[0]; k++)
        if (strstr(t, topic[k])) on_topic = 1;
    CHECKF(on_topic, "the first hypothesis is not about sport or cooking: '%s'", t);
    cJSON *h;
    double last = 0;
    cJSON_ArrayForEach(h, sel) {
        CHECK(cJSON_GetObjectItem(h, "text") && cJSON_GetObjectItem(h, "source"));
        cJSON *a = num(h, "auroc");
        CHECK(a && a->valuedouble >= 0 && a->valuedouble <= 1);
        if (a) last = a->valuedouble;
    }
    CHECKF(last > 0.8, "readable AUROC %g", last);
    cJSON *x = num(root, "explained"), *ci = cJSON_GetObjectItem(root, "explained_ci");
    CHECKF(x && x->valuedouble > 0.7, "explained %g", x ? x->valuedouble : -1);
    CHECKF(cJSON_IsArray(ci) && cJSON_GetArraySize(ci) == 2, "explained_ci");
    if (x && cJSON_IsArray(ci) && cJSON_GetArraySize(ci) == 2) {
        double lo = cJSON_GetArrayItem(ci, 0)->valuedouble, hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
        CHECKF(lo <= x->valuedouble && x->valuedouble <= hi && lo > 0.4, "CI [%g, %g] around %g",
               lo, hi, x->valuedouble);
    }
    cJSON *rx = cJSON_GetObjectItem(root, "residual_examples");
    CHECK(cJSON_IsArray(rx) && num(root, "residual_count"));
    cJSON_ArrayForEach(h, rx) CHECK(cJSON_GetObjectItem(h, "text") && num(h, "line"));
done:
    cJSON_Delete(root);
    free(out);
}

/* After the planted test (its cache): the page plots X step by step. */
static void test_html_page_plots_x_against_the_number_of_hypotheses(void)
{
    char json[300], page[300];
    snprintf(json, sizeof json, "%s/planted-html.json", dir);
    snprintf(page, sizeof page, "%s/planted.html", dir);
    const char *args[] = {"explain", "--data", planted, "--label-field", "label", "--json", json,
                          "--html", page, "--cache", cache, "--quiet", NULL};
    char *out = NULL;
    cJSON *root = explain_json(args, json, &out);
    char *html = test_read_file(page);
    CHECK(root != NULL && html != NULL);
    if (root && html) {
        cJSON *sel = cJSON_GetObjectItem(root, "selected");
        size_t points = 0;
        for (const char *p = html; (p = strstr(p, "class=\"curve-point ")) != NULL; p++) points++;
        CHECKF(points == (size_t)cJSON_GetArraySize(sel), "%zu points, %d chosen", points,
               cJSON_GetArraySize(sel));
        CHECK(strstr(html, "id=\"curve\"") != NULL && strstr(html, "class=\"curve-band\"") != NULL);
        CHECK(strstr(html, "reference: AUROC") != NULL);
        /* the last step's X is the headline's */
        cJSON *x = num(root, "explained");
        char want[64];
        snprintf(want, sizeof want, "<strong id=\"explained\">%.0f%%", x ? 100 * x->valuedouble : -1);
        CHECKF(strstr(html, want) != NULL, "no %s", want);
        const cJSON *first = cJSON_GetArrayItem(sel, 0);
        CHECK(first && strstr(html, cJSON_GetObjectItem(first, "text")->valuestring) != NULL);
        /* each step's X and interval (hr_explain_report_step) */
        cJSON *h;
        cJSON_ArrayForEach(h, sel) {
            cJSON *e = num(h, "explained");
            snprintf(want, sizeof want, "<td class=\"n\">%.0f%% [", e ? 100 * e->valuedouble : -1);
            CHECKF(strstr(html, want) != NULL, "no %s", want);
        }
    }
    cJSON_Delete(root);
    free(out), free(html);
}

static void test_shuffled_labels_leave_nothing_to_explain(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/shuffled.json", dir);
    const char *args[] = {"explain", "--data", shuffled, "--label-field", "label", "--json", json,
                          "--cache", cache, "--quiet", NULL};
    cJSON *root = explain_json(args, json, NULL);
    if (!root) goto done;
    cJSON *ref = num(root, "reference_auroc");
    CHECKF(ref && fabs(ref->valuedouble - 0.5) < 0.15, "reference AUROC %g",
           ref ? ref->valuedouble : -1);
    cJSON *x = cJSON_GetObjectItem(root, "explained"), *ci = cJSON_GetObjectItem(root, "explained_ci");
    const char *status = cJSON_GetObjectItem(root, "explained_status")
                             ? cJSON_GetObjectItem(root, "explained_status")->valuestring : "";
    /* Undefined (null), or no interval, or an interval that holds 0. */
    int not_significant = cJSON_IsNull(x) || cJSON_IsNull(ci) ||
                          (cJSON_IsArray(ci) && cJSON_GetArrayItem(ci, 0)->valuedouble <= 0);
    CHECKF(not_significant, "explained %s, status %s", x ? cJSON_PrintUnformatted(x) : "?", status);
    if (cJSON_IsNull(x)) CHECK(strcmp(status, "undefined") == 0);
done:
    cJSON_Delete(root);
}

static void test_a_classifier_score_is_the_reference_and_its_decisions_are_explained(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/scored.json", dir);
    const char *args[] = {"explain", "--data", planted, "--label-field", "label", "--score-field",
                          "prob", "--positive", "1", "--top-k", "3", "--no-ngrams", "--json",
                          json, "--cache",
                          cache, "--quiet", NULL};
    cJSON *root = explain_json(args, json, NULL);
    if (!root) goto done;
    cJSON *kind = cJSON_GetObjectItem(root, "reference");
    CHECK(kind && cJSON_IsString(kind) && strcmp(kind->valuestring, "score") == 0);
    /* With --no-ngrams every text is evaluated: the reference AUROC is the
     * exact AUROC of the planted score (ties one half). */
    double u = 0;
    for (int i = 0; i < N_TEXTS; i++)
        for (int j = 0; j < N_TEXTS; j++)
            if (labels[i] == 1 && labels[j] == 0)
                u += scores[i] > scores[j] ? 1 : (scores[i] == scores[j] ? 0.5 : 0);
    const double want = u / (100.0 * 100.0);
    cJSON *ref = num(root, "reference_auroc");
    CHECKF(ref && fabs(ref->valuedouble - want) < 1e-12, "reference AUROC %.17g, want %.17g",
           ref ? ref->valuedouble : -1, want);
    CHECK(num(root, "evaluated") && num(root, "evaluated")->valuedouble == N_TEXTS);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "selected")) == 3);
    cJSON *dec = cJSON_GetObjectItem(root, "decisions");
    CHECKF(dec && num(dec, "auroc") && num(dec, "auroc")->valuedouble > 0.7,
           "decisions AUROC %g", dec && num(dec, "auroc") ? num(dec, "auroc")->valuedouble : -1);
    CHECK(num(root, "explained") != NULL);
done:
    cJSON_Delete(root);
}

/* --rounds: round 1 is the plain run (same folds, same figures); later
 * rounds add the words of the word share's residual, keep what was chosen
 * and report held-out figures; the final round is the one reported on top. */
static void test_rounds_continue_from_the_first_and_report_each_round(void)
{
    char json[300], plain[300];
    snprintf(json, sizeof json, "%s/rounds.json", dir);
    snprintf(plain, sizeof plain, "%s/planted.json", dir);
    const char *args[] = {"explain", "--data", planted, "--label-field", "label", "--rounds", "3",
                          "--top-k", "2", "--holdout", "0.5", "--json", json, "--cache", cache, "--quiet", NULL};
    const char *args1[] = {"explain", "--data", planted, "--label-field", "label", "--top-k", "2",
                           "--holdout", "0.5", "--json", plain, "--cache", cache, "--quiet", NULL};
    char *out, *err, *out1, *err1;
    int rc = run(&out, &err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    fprintf(stderr, "%s", out);
    CHECKF(strstr(out, "Rounds") != NULL, "no rounds table");
    int rc1 = run(&out1, &err1, args1);
    CHECKF(rc1 == 0, "exit %d: %s", rc1, err1);
    char *text = read_all(json), *text1 = read_all(plain);
    cJSON *root = cJSON_Parse(text), *root1 = cJSON_Parse(text1);
    CHECKF(root && root1, "the JSON does not parse");
    if (!root || !root1) goto done;
    cJSON *rounds = cJSON_GetObjectItem(root, "rounds");
    const int nr = cJSON_IsArray(rounds) ? cJSON_GetArraySize(rounds) : 0;
    CHECKF(nr >= 2 && nr <= 3, "%d rounds", nr);
    cJSON *r0 = cJSON_GetArrayItem(rounds, 0), *last = cJSON_GetArrayItem(rounds, nr - 1);
    /* Round 1 is the run without --rounds: the same held-out AUROC, bit for bit. */
    CHECKF(r0 && num(r0, "auroc") && num(root1, "readable_auroc") &&
               num(r0, "auroc")->valuedouble == num(root1, "readable_auroc")->valuedouble,
           "round 1 differs from the plain run");
    CHECK(r0 && num(r0, "hypotheses") && num(r0, "hypotheses")->valuedouble == 2);
    double prev_h = 0, prev_k = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, rounds) {
        cJSON *a = num(r, "auroc"), *h = num(r, "hypotheses"), *k = num(r, "candidates");
        CHECK(a && a->valuedouble >= 0 && a->valuedouble <= 1);
        CHECK(h && h->valuedouble >= prev_h && k && k->valuedouble >= prev_k);
        CHECK(num(r, "candidates_added") != NULL);
        if (h) prev_h = h->valuedouble;
        if (k) prev_k = k->valuedouble;
    }
    /* The report on top is the last round's. */
    CHECK(last && num(last, "auroc") && num(root, "readable_auroc") &&
          num(last, "auroc")->valuedouble == num(root, "readable_auroc")->valuedouble);
    cJSON *sel = cJSON_GetObjectItem(root, "selected"), *sel1 = cJSON_GetObjectItem(root1, "selected");
    CHECK(cJSON_GetArraySize(sel) == (int)prev_h);
    /* The first round's choices are kept first. */
    for (int j = 0; j < cJSON_GetArraySize(sel1); j++) {
        cJSON *a = num(cJSON_GetArrayItem(sel, j), "index"), *b = num(cJSON_GetArrayItem(sel1, j), "index");
        CHECKF(a && b && a->valuedouble == b->valuedouble, "choice %d not kept", j);
    }
    CHECK(num(root, "explained") != NULL);
done:
    cJSON_Delete(root), cJSON_Delete(root1);
    free(text), free(text1), free(out), free(err), free(out1), free(err1);
}

static void expect_exit_2(const char *what, const char *const *args, const char *needle,
                          const char *needle2)
{
    char *err;
    int rc = run(NULL, &err, args);
    CHECKF(rc == 2, "%s: exit %d: %s", what, rc, err);
    CHECKF(strstr(err, needle) != NULL, "%s: message lacks '%s': %s", what, needle, err);
    if (needle2) CHECKF(strstr(err, needle2) != NULL, "%s: message lacks '%s': %s", what, needle2, err);
    free(err);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_bad_input_exits_2_naming_the_file_line_and_value(void)
{
    char p[300];
    snprintf(p, sizeof p, "%s/three.jsonl", dir);
    write_text(p, "{\"text\": \"one\", \"label\": \"a\"}\n{\"text\": \"two\", \"label\": \"b\"}\n"
                  "{\"text\": \"three\", \"label\": \"a\"}\n{\"text\": \"four\", \"label\": \"c\"}\n");
    const char *three[] = {"explain", "--data", p, "--label-field", "label", "--no-cache", NULL};
    expect_exit_2("three labels", three, "three.jsonl:4:", "third value 'c'");

    char q[300];
    snprintf(q, sizeof q, "%s/missing.jsonl", dir);
    write_text(q, "{\"text\": \"one\", \"label\": 1}\n{\"text\": \"two\", \"label\": 0}\n\n"
                  "{\"text\": \"three\"}\n");
    const char *missing[] = {"explain", "--data", q, "--label-field", "label", "--no-cache", NULL};
    expect_exit_2("missing label", missing, "missing.jsonl:4:", "no label");

    char r[300];
    snprintf(r, sizeof r, "%s/single.csv", dir);
    write_text(r, "text,label\nfirst text,yes\nsecond text,yes\n\"third, text\",yes\n");
    const char *single[] = {"explain", "--data", r, "--label-field", "label", "--no-cache", NULL};
    expect_exit_2("single class", single, "single class", "'yes'");

    char s[300];
    snprintf(s, sizeof s, "%s/score.csv", dir);
    write_text(s, "text,label,prob\nfirst text,1,0.5\nsecond text,0,abc\n");
    const char *score[] = {"explain", "--data", s, "--label-field", "label", "--score-field",
                           "prob", "--no-cache", NULL};
    expect_exit_2("non-numeric score", score, "score.csv:3:", "'abc', not a number");

    char u[300];
    snprintf(u, sizeof u, "%s/score.jsonl", dir);
    write_text(u, "{\"text\": \"one\", \"label\": 1, \"prob\": 0.3}\n"
                  "{\"text\": \"two\", \"label\": 0, \"prob\": \"high\"}\n");
    const char *score2[] = {"explain", "--data", u, "--label-field", "label", "--score-field",
                            "prob", "--no-cache", NULL};
    expect_exit_2("non-numeric JSON score", score2, "score.jsonl:2:", "'high', not a number");

    const char *pos[] = {"explain", "--data", planted, "--label-field", "label", "--positive",
                         "7", "--no-cache", NULL};
    expect_exit_2("unknown positive", pos, "--positive '7'", "'1'");
    const char *cont[] = {"explain", "--data", planted, "--label-field", "label", "--continuous",
                          "--score-field", "prob", "--no-cache", NULL};
    expect_exit_2("continuous with a score", cont, "--score-field with --continuous",
                  "not supported");
    char v[300];
    snprintf(v, sizeof v, "%s/target.jsonl", dir);
    write_text(v, "{\"text\": \"one\", \"y\": 1.5}\n{\"text\": \"two\", \"y\": 2}\n"
                  "{\"text\": \"three\", \"y\": \"lots\"}\n");
    const char *nonnum[] = {"explain", "--data", v, "--label-field", "y", "--continuous",
                            "--no-cache", NULL};
    expect_exit_2("non-numeric continuous target", nonnum, "target.jsonl:3:", "'lots', not a number");
    char w[300];
    snprintf(w, sizeof w, "%s/target.csv", dir);
    write_text(w, "text,y\nfirst,1.5\nsecond,true\n");
    const char *nonnum2[] = {"explain", "--data", w, "--label-field", "y", "--continuous",
                             "--no-cache", NULL};
    expect_exit_2("non-numeric CSV target", nonnum2, "target.csv:3:", "'true', not a number");
    snprintf(w, sizeof w, "%s/target-missing.jsonl", dir);
    write_text(w, "{\"text\": \"one\", \"y\": 1.5}\n{\"text\": \"two\"}\n");
    const char *missing2[] = {"explain", "--data", w, "--label-field", "y", "--continuous",
                              "--no-cache", NULL};
    expect_exit_2("missing continuous target", missing2, "target-missing.jsonl:2:", "missing");
    const char *rounds[] = {"explain", "--data", planted, "--label-field", "label", "--rounds",
                            "2", "--no-ngrams", "--no-cache", NULL};
    expect_exit_2("rounds without the word share", rounds, "--rounds 2", "--no-ngrams");
    char t[300];
    snprintf(t, sizeof t, "%s/few.jsonl", dir);
    write_text(t, "{\"text\": \"one\", \"label\": 1}\n{\"text\": \"two\", \"label\": 0}\n"
                  "{\"text\": \"three\", \"label\": 1}\n{\"text\": \"four\", \"label\": 0}\n");
    const char *too_few[] = {"explain", "--data", t, "--label-field", "label", "--no-cache", NULL};
    expect_exit_2("too few texts", too_few, "too few texts", NULL);
    const char *nolabel[] = {"explain", "--data", planted, "--no-cache", NULL};
    expect_exit_2("no --label-field", nolabel, "--label-field", NULL);
    const char *txt[] = {"explain", "--data", "x.txt", "--label-field", "label", NULL};
    expect_exit_2("a .txt", txt, ".jsonl or .csv", NULL);
}

/* ------------------------------------------------------------------------ */
/* A continuous target                                                       */

#define N_CONT 200

static char cont_texts[N_CONT][640];
static double cont_target[N_CONT];
static char cont_planted[300], cont_shuffled[300];

/* Words that make a text about sport: the target counts them. */
static const char *sport_words[] = {"football", "basketball", "tennis", "rugby", "baseball",
                                    "hockey", "game", "match", "goal", "coach", "stadium",
                                    "league", "referee", "final", "championship", "penalty"};

static int count_sport_words(const char *s)
{
    int count = 0;
    for (size_t k = 0; k < sizeof sport_words / sizeof sport_words[0]; k++)
        for (const char *p = strstr(s, sport_words[k]); p; p = strstr(p + 1, sport_words[k]))
            count++;
    return count;
}

/* Texts of three clauses, 0 to 3 of them about sport and the rest about
 * cooking or nothing in particular; the target is the count of sport words
 * plus uniform noise of +-0.2 (so every value differs). */
static void make_continuous(void)
{
    rng_state = 4242;
    for (int i = 0; i < N_CONT; i++) {
        const unsigned k = rnd(4);
        char clause[3][200];
        for (unsigned c = 0; c < 3; c++)
            make_text(c < k ? 1 : (int)(rnd(2) * 2), clause[c], sizeof clause[c]);
        const unsigned shift = rnd(3); /* the sport clauses not always first */
        snprintf(cont_texts[i], sizeof cont_texts[i], "%s. %s. %s.", clause[shift],
                 clause[(shift + 1) % 3], clause[(shift + 2) % 3]);
        cont_target[i] = count_sport_words(cont_texts[i]) + (rnd(401) - 200.0) / 1000.0;
    }
}

static void write_continuous(const char *path, const double *target)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < N_CONT; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", cont_texts[i]);
        cJSON_AddNumberToObject(o, "sportiness", target[i]);
        char *s = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    fclose(f);
}

static void test_a_continuous_target_is_ranked_and_explained_by_the_planted_topic(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/continuous.json", dir);
    const char *args[] = {"explain", "--data", cont_planted, "--label-field", "sportiness",
                          "--continuous", "--top-k", "3", "--json", json, "--cache", cache,
                          "--quiet", NULL};
    cJSON *root = explain_json(args, json, NULL);
    if (!root) goto done;
    cJSON *tg = cJSON_GetObjectItem(root, "target");
    CHECK(tg && cJSON_IsString(tg) && strcmp(tg->valuestring, "continuous") == 0);
    cJSON *ref = num(root, "reference_spearman"), *r2 = num(root, "reference_r2");
    CHECKF(ref && ref->valuedouble > 0.6, "reference rho %g", ref ? ref->valuedouble : -1);
    CHECKF(r2 && r2->valuedouble > 0.2 && r2->valuedouble <= 1, "reference R^2 %g",
           r2 ? r2->valuedouble : -1);
    cJSON *sel = cJSON_GetObjectItem(root, "selected");
    CHECK(cJSON_IsArray(sel) && cJSON_GetArraySize(sel) == 3);
    cJSON *first = cJSON_GetArrayItem(sel, 0);
    const char *t = first && cJSON_GetObjectItem(first, "text")
                        ? cJSON_GetObjectItem(first, "text")->valuestring : "";
    const char *topic[] = {"sport", "athlet", "game", "team", "match", "football", "league",
                           "coach", "goal", "play", "stadium", "fans", "referee", "final",
                           "win", "won", "score", "champion"};
    int on_topic = 0;
    for (size_t k = 0; k < sizeof topic / sizeof topic[0]; k++)
        if (strstr(t, topic[k])) on_topic = 1;
    CHECKF(on_topic, "the first hypothesis is not about sport: '%s'", t);
    cJSON *h;
    cJSON_ArrayForEach(h, sel) {
        cJSON *a = num(h, "spearman"), *b = num(h, "r2");
        CHECK(a && a->valuedouble >= -1 && a->valuedouble <= 1 && b && b->valuedouble <= 1);
    }
    cJSON *x = num(root, "explained"), *ci = cJSON_GetObjectItem(root, "explained_ci");
    CHECKF(x && x->valuedouble > 0.5, "explained %g", x ? x->valuedouble : -1);
    CHECKF(cJSON_IsArray(ci) && cJSON_GetArraySize(ci) == 2, "explained_ci");
    if (x && cJSON_IsArray(ci) && cJSON_GetArraySize(ci) == 2)
        CHECK(cJSON_GetArrayItem(ci, 0)->valuedouble <= x->valuedouble &&
              x->valuedouble <= cJSON_GetArrayItem(ci, 1)->valuedouble);
    CHECK(num(root, "readable_spearman") && num(root, "readable_r2"));
done:
    cJSON_Delete(root);
}

static void test_a_shuffled_continuous_target_leaves_nothing_to_explain(void)
{
    char json[300];
    snprintf(json, sizeof json, "%s/continuous-shuffled.json", dir);
    const char *args[] = {"explain", "--data", cont_shuffled, "--label-field", "sportiness",
                          "--continuous", "--top-k", "3", "--json", json, "--cache", cache,
                          "--quiet", NULL};
    cJSON *root = explain_json(args, json, NULL);
    if (!root) goto done;
    cJSON *ref = num(root, "reference_spearman");
    CHECKF(ref && fabs(ref->valuedouble) < 0.25, "reference rho %g", ref ? ref->valuedouble : -1);
    cJSON *x = cJSON_GetObjectItem(root, "explained"), *ci = cJSON_GetObjectItem(root, "explained_ci");
    int not_significant = cJSON_IsNull(x) || cJSON_IsNull(ci) ||
                          (cJSON_IsArray(ci) && cJSON_GetArrayItem(ci, 0)->valuedouble <= 0);
    CHECKF(not_significant, "explained %s", x ? cJSON_PrintUnformatted(x) : "?");
done:
    cJSON_Delete(root);
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli) return test_skip("HR_CLI is not set (run through ctest)");
    snprintf(dir, sizeof dir, "/tmp/hr-test-explain-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    snprintf(planted, sizeof planted, "%s/planted.jsonl", dir);
    snprintf(shuffled, sizeof shuffled, "%s/shuffled.jsonl", dir);
    make_corpus();
    write_jsonl(planted, labels, 1);
    int perm[N_TEXTS];
    for (int i = 0; i < N_TEXTS; i++) perm[i] = labels[i];
    rng_state = 777;
    for (int i = N_TEXTS - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)rnd((unsigned)i + 1), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    write_jsonl(shuffled, perm, 0);
    snprintf(cont_planted, sizeof cont_planted, "%s/continuous.jsonl", dir);
    snprintf(cont_shuffled, sizeof cont_shuffled, "%s/continuous-shuffled.jsonl", dir);
    make_continuous();
    write_continuous(cont_planted, cont_target);
    static double shuffled_target[N_CONT];
    memcpy(shuffled_target, cont_target, sizeof cont_target);
    rng_state = 99;
    for (int i = N_CONT - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)rnd((unsigned)i + 1);
        double tmp = shuffled_target[i];
        shuffled_target[i] = shuffled_target[j];
        shuffled_target[j] = tmp;
    }
    write_continuous(cont_shuffled, shuffled_target);

    RUN(test_bad_input_exits_2_naming_the_file_line_and_value);
    RUN(test_planted_topic_is_chosen_first_and_explains_most_of_the_probe);
    RUN(test_html_page_plots_x_against_the_number_of_hypotheses);
    RUN(test_shuffled_labels_leave_nothing_to_explain);
    RUN(test_rounds_continue_from_the_first_and_report_each_round);
    RUN(test_a_classifier_score_is_the_reference_and_its_decisions_are_explained);
    RUN(test_a_continuous_target_is_ranked_and_explained_by_the_planted_topic);
    RUN(test_a_shuffled_continuous_target_leaves_nothing_to_explain);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (test_failures_ == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
