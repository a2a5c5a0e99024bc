/*
 * tests/test_describe_api.c: the pipelines as a library, without the
 * program: hr_describe_run on the bundled headlines finds the pandemic in
 * 2020 and fills the report and its renderers; corpora can come from
 * memory; hr_rank_run reports repeats through its events; bad options are
 * HR_ERR_INPUT.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/describe.h"
#include "hyporank/rank.h"
#include "hyporank/report.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <unistd.h>

static char dir[256], cache[300], example[2][512];

/* What the pipeline said through its events. */
typedef struct seen_events {
    int begins, ends, progress, info, notes;
    int open;           /* a step begun and not ended */
    int nested;         /* a step begun inside another */
    char last_note[512];
    int probe_said;     /* an INFO line about the probe */
} seen_events;

static void on_event(const hr_event *ev, void *user)
{
    seen_events *s = user;
    switch (ev->kind) {
    case HR_EVENT_BEGIN:
        s->nested += s->open;
        s->open = 1;
        s->begins++;
        break;
    case HR_EVENT_PROGRESS: s->progress++; break;
    case HR_EVENT_END:
        s->open = 0;
        s->ends++;
        break;
    case HR_EVENT_INFO:
        s->info++;
        if (strstr(ev->text, "probe on")) s->probe_said = 1;
        break;
    case HR_EVENT_NOTE:
        s->notes++;
        snprintf(s->last_note, sizeof s->last_note, "%s", ev->text);
        break;
    }
}

static hr_embedder *make_embedder(void)
{
    hr_embedder_options eo;
    hr_embedder_options_init(&eo);
    eo.model_dir = test_model_dir();
    eo.device = HR_DEVICE_CPU;
    eo.cache_path = cache;
    hr_embedder *e = NULL;
    char err[512];
    CHECKF(hr_embedder_create(&eo, &e, err, sizeof err) == HR_OK, "%s", err);
    return e;
}

/* Writes text to dir/name; returns the path (static, one of 4). */
static const char *write_text(const char *name, const char *text)
{
    static char paths[4][400];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECKF(f && fputs(text, f) >= 0, "cannot write %s", p);
    if (f) fclose(f);
    return p;
}

static int mentions_pandemic(const char *t)
{
    return strstr(t, "covid") || strstr(t, "COVID") || strstr(t, "coronavirus") ||
           strstr(t, "pandemic");
}

static void test_describe_run_finds_the_pandemic_in_the_2020_headlines(void)
{
    hr_embedder *e = make_embedder();
    hr_describe_options o;
    hr_describe_options_init(&o);
    o.a_path = example[0];
    o.b_path = example[1];
    o.goal = "which news topics grew in 2020";
    o.device = HR_DEVICE_CPU;
    seen_events ev;
    memset(&ev, 0, sizeof ev);
    o.events = (hr_events){on_event, &ev, NULL};
    hr_report *r = NULL;
    char err[1024] = "";
    hr_status st = hr_describe_run(&o, e, &r, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st != HR_OK) {
        hr_embedder_destroy(e);
        return;
    }
    const hr_report_info *in = hr_report_get_info(r);
    CHECK(in->kind == HR_REPORT_DESCRIBE);
    CHECK(in->n_a == 1000 && in->n_b == 1000);
    CHECK(in->dim == 384);
    CHECK(strcmp(in->encoder_device, "cpu") == 0 && in->encoder_model != NULL);
    CHECK(in->scorer_device == HR_DEVICE_CPU);
    CHECK(strcmp(in->goal, o.goal) == 0 && in->goal != o.goal); /* a copy */
    /* The split: half of each side proposes, the other half is scored. */
    CHECK(in->proposal_a == 500 && in->proposal_b == 500);
    CHECK(in->scored_a + in->proposal_a == in->n_a && in->scored_b + in->proposal_b == in->n_b);
    CHECKF(strcmp(in->candidate_sources, "bank + words + clusters") == 0, "%s",
           in->candidate_sources);
    CHECK(hr_report_rows(r) == in->n_candidates && in->n_candidates > 1000);
    /* Events: every embedding step begun and ended, the probe reported. */
    CHECKF(ev.begins >= 3 && ev.begins == ev.ends && !ev.nested && !ev.open, "%d begins, %d ends",
           ev.begins, ev.ends);
    CHECK(ev.probe_said);
    CHECK(ev.notes == 0);

    /* Rows: ranks in order, by strength, directions and significance as said. */
    double last = 1.0;
    size_t sig[2] = {0, 0}, seen_a = 0, shown[2] = {0, 0};
    int pandemic = 0;
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const double strength = fabs(row->score.auroc - 0.5);
        CHECK(row->rank == i + 1);
        CHECK(strength <= last + 1e-12);
        last = strength;
        CHECK(row->direction == (row->score.auroc > 0.5 ? 'A' : 'B'));
        CHECK(row->text && strlen(row->text) == row->len);
        CHECK(row->significant == (row->score.q_value <= in->alpha && row->score.auroc != 0.5));
        sig[row->direction == 'B'] += row->significant;
        CHECK(row->verification == NULL && row->duplicate_of == -1);
        const int dir = row->direction == 'B';
        if (row->score.auroc != 0.5 && shown[dir] < in->top) {
            shown[dir]++;
            CHECKF(row->n_examples == 2, "row %zu: %zu examples", row->rank, row->n_examples);
        } else {
            CHECK(row->n_examples == 0);
        }
        if (dir == 0 && seen_a < 5) {
            seen_a++;
            if (mentions_pandemic(row->text)) pandemic = 1;
        }
    }
    CHECK(sig[0] == in->significant_a && sig[1] == in->significant_b);
    CHECK(in->significant_a > 0);
    CHECKF(pandemic, "no pandemic hypothesis among A's top 5");
    /* The first row of A shows texts of A that are about it. */
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        if (row->direction != 'A' || !mentions_pandemic(row->text)) continue;
        int about = 0;
        for (size_t x = 0; x < row->n_examples; x++) about |= mentions_pandemic(row->examples[x]);
        CHECKF(about, "the examples of \"%s\" miss the pandemic", row->text);
        break;
    }
    /* Clusters of both sides. */
    CHECK(in->clusters != NULL && in->n_clusters >= 2);
    int sides[2] = {0, 0};
    for (size_t c = 0; c < in->n_clusters; c++) {
        const hr_report_cluster *cl = &in->clusters[c];
        sides[cl->side == 'B']++;
        CHECK(cl->size >= 1 && cl->n_examples >= 1 && cl->n_examples <= 3 && cl->number >= 1);
    }
    CHECK(sides[0] > 0 && sides[1] > 0);

    /* The JSON renderer: the public fields, the same rows. */
    char *json = hr_report_json(r);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    CHECKF(root != NULL, "the JSON does not parse");
    if (root) {
        CHECK(cJSON_GetObjectItem(root, "n_a")->valuedouble == 1000);
        CHECK(cJSON_GetObjectItem(root, "n_b")->valuedouble == 1000);
        const cJSON *enc = cJSON_GetObjectItem(root, "encoder");
        CHECK(enc && cJSON_GetObjectItem(enc, "dim")->valuedouble == 384);
        CHECK(enc && strcmp(cJSON_GetObjectItem(enc, "device")->valuestring, "cpu") == 0);
        CHECK(strcmp(cJSON_GetObjectItem(root, "goal")->valuestring, o.goal) == 0);
        const cJSON *hyps = cJSON_GetObjectItem(root, "hypotheses");
        CHECK((size_t)cJSON_GetArraySize(hyps) == hr_report_rows(r));
        const cJSON *h0 = cJSON_GetArrayItem(hyps, 0);
        const hr_report_row *r0 = hr_report_row_at(r, 0);
        const char *fields[] = {"rank", "index", "text", "source", "direction", "auroc",
                                "mean_a", "mean_b", "p_value", "q_value", "significant"};
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
            CHECKF(cJSON_GetObjectItem(h0, fields[f]) != NULL, "missing field %s", fields[f]);
        CHECK(strcmp(cJSON_GetObjectItem(h0, "text")->valuestring, r0->text) == 0);
        CHECK(cJSON_GetObjectItem(h0, "auroc")->valuedouble == r0->score.auroc);
        CHECK(cJSON_GetObjectItem(h0, "index")->valuedouble == (double)r0->index);
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(root, "clusters")) == (int)in->n_clusters);
    }
    cJSON_Delete(root);
    free(json);

    /* The table and the Markdown. */
    const char *path = write_text("out.txt", "");
    FILE *f = fopen(path, "w");
    CHECK(f && hr_report_write_table(f, r) == HR_OK && hr_report_write_markdown(f, r) == HR_OK);
    if (f) fclose(f);
    char *text = test_read_file(path);
    CHECK(text && strstr(text, "More typical of A than of B") && strstr(text, "# How A differs from B"));
    CHECK(text && strstr(text, "Goal: which news topics grew in 2020"));
    free(text);
    hr_report_destroy(r);
    hr_embedder_destroy(e);
}

static void test_describe_takes_corpora_from_memory_and_the_callers_hypotheses(void)
{
    char err[1024] = "";
    hr_corpus *a = NULL, *b = NULL;
    CHECK(hr_corpus_read(example[0], NULL, &a, err, sizeof err) == HR_OK);
    CHECK(hr_corpus_read(example[1], NULL, &b, err, sizeof err) == HR_OK);
    const char *ideas =
        write_text("ideas.txt", "is about the coronavirus pandemic\nis about sport\nis about the weather\n");
    hr_embedder *e = make_embedder();
    hr_describe_options o;
    hr_describe_options_init(&o);
    o.corpus_a = a;
    o.corpus_b = b;
    o.hypotheses_path = ideas;
    o.bank = o.ngrams = 0;
    o.device = HR_DEVICE_CPU;
    hr_report *r = NULL;
    hr_status st = a && b ? hr_describe_run(&o, e, &r, err, sizeof err) : HR_ERR_IO;
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        const hr_report_info *in = hr_report_get_info(r);
        /* Nothing drawn from the data: every text is scored, no clusters. */
        CHECK(in->proposal_a == 0 && in->scored_a == 1000 && in->scored_b == 1000);
        CHECK(in->clusters == NULL && in->n_clusters == 0);
        CHECK(strcmp(in->candidate_sources, "yours") == 0);
        CHECK(hr_report_rows(r) == 3);
        CHECK(strcmp(in->a_path, a->path) == 0);
        const hr_report_row *top = hr_report_row_at(r, 0);
        CHECKF(top && strcmp(top->text, "is about the coronavirus pandemic") == 0 &&
                   top->direction == 'A' && top->source == HR_SOURCE_USER,
               "top: %s", top ? top->text : "none");
        /* Examples point into the borrowed corpus. */
        int inside = 0;
        for (size_t i = 0; top && i < a->n; i++) inside |= top->n_examples && top->examples[0] == a->texts[i];
        CHECK(inside);
    }
    hr_report_destroy(r);
    hr_embedder_destroy(e);
    hr_corpus_destroy(a), hr_corpus_destroy(b);
}

static void test_rank_run_ranks_the_callers_hypotheses_and_notes_repeats(void)
{
    const char *ideas =
        write_text("repeats.txt", "is about sport\nis about the coronavirus pandemic\nis about sport\n");
    hr_embedder *e = make_embedder();
    hr_rank_options o;
    hr_rank_options_init(&o);
    o.a_path = example[0];
    o.b_path = example[1];
    o.hypotheses_path = ideas;
    o.scorer.device = HR_DEVICE_CPU;
    seen_events ev;
    memset(&ev, 0, sizeof ev);
    o.events = (hr_events){on_event, &ev, NULL};
    CHECK(hr_rank_needs_embedder(&o));
    hr_report *r = NULL;
    char err[1024] = "";
    hr_status st = hr_rank_run(&o, e, &r, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        CHECK(hr_report_get_info(r)->kind == HR_REPORT_RANK && hr_report_rows(r) == 3);
        const hr_report_row *top = hr_report_row_at(r, 0);
        CHECK(top->index == 1 && top->line == 2 && top->direction == 'A');
        int repeats = 0;
        for (size_t i = 0; i < 3; i++) {
            const hr_report_row *row = hr_report_row_at(r, i);
            if (row->index == 2) repeats = row->duplicate_of == 0;
        }
        CHECK(repeats);
        CHECKF(ev.notes == 1 && strstr(ev.last_note, "repeats hypothesis 0"), "%s", ev.last_note);
    }
    hr_report_destroy(r);
    hr_embedder_destroy(e);
}

static void test_bad_options_and_input_are_input_errors(void)
{
    hr_embedder *e = make_embedder();
    hr_describe_options o;
    hr_describe_options_init(&o);
    o.a_path = example[0];
    o.b_path = example[1];
    o.bank = o.ngrams = 0; /* and no hypotheses */
    hr_report *r = NULL;
    char err[1024] = "";
    CHECK(hr_describe_run(&o, e, &r, err, sizeof err) == HR_ERR_INPUT && r == NULL);
    CHECKF(strstr(err, "no candidates"), "%s", err);

    const char *one = write_text("one.txt", "a single headline\n");
    hr_describe_options_init(&o);
    o.a_path = one;
    o.b_path = example[1];
    CHECK(hr_describe_run(&o, e, &r, err, sizeof err) == HR_ERR_INPUT && r == NULL);
    CHECKF(strstr(err, one) && strstr(err, "at least 2 texts"), "%s", err);

    hr_rank_options ro;
    hr_rank_options_init(&ro);
    ro.a_path = example[0];
    ro.b_path = example[1];
    CHECK(hr_rank_run(&ro, e, &r, err, sizeof err) == HR_ERR_INPUT && r == NULL);
    hr_embedder_destroy(e);
}

int main(void)
{
    const char *src = getenv("HR_SOURCE_DIR");
    snprintf(example[0], sizeof example[0], "%s/examples/headlines-2020.jsonl", src ? src : ".");
    snprintf(example[1], sizeof example[1], "%s/examples/headlines-2019.jsonl", src ? src : ".");
    if (access(example[0], R_OK) != 0) return test_skip("no bundled examples");
    char model[600];
    snprintf(model, sizeof model, "%s/config.json", test_model_dir());
    if (access(model, R_OK) != 0) return test_skip("no model (scripts/fetch-model.sh)");
    snprintf(dir, sizeof dir, "%s/hr-describe-api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    snprintf(cache, sizeof cache, "%s/cache.sqlite", dir);
    RUN(test_describe_run_finds_the_pandemic_in_the_2020_headlines);
    RUN(test_describe_takes_corpora_from_memory_and_the_callers_hypotheses);
    RUN(test_rank_run_ranks_the_callers_hypotheses_and_notes_repeats);
    RUN(test_bad_options_and_input_are_input_errors);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
