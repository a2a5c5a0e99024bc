/*
 * tests/test_describe_api.c: the pipelines as a library, without the
 * program: hr_describe_run on the bundled headlines finds the pandemic in
 * 2020 and fills the report and its renderers; corpora can come from
 * memory; hr_rank_run reports repeats through its events and takes its
 * matrices and texts from memory; the events' cancel hook stops an
 * embedding; bad options are HR_ERR_INPUT.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/corpus.h"
#include "hyporank/describe.h"
#include "hyporank/npy.h"
#include "hyporank/proposers.h"
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

    /* Rows: ranks in order (findings first, largest |effect| first, then by
     * p-value), directions and significance as said. */
    size_t sig[2] = {0, 0}, found[2] = {0, 0};
    int last_finding = 1;
    double last_effect = 2.0, last_p = 0.0;
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const hr_effect *e = &row->effect;
        CHECK(row->rank == i + 1);
        CHECK(row->finding <= last_finding);
        if (row->finding) CHECK(fabs(e->effect) <= last_effect);
        else if (!last_finding) CHECK(e->p_value >= last_p);
        last_finding = row->finding, last_effect = fabs(e->effect), last_p = e->p_value;
        CHECK(row->direction == (e->z > 0 ? 'A' : 'B'));
        CHECK(row->text && strlen(row->text) == row->len);
        CHECK(row->significant == (e->q_value <= in->alpha && e->z != 0));
        CHECK(e->share_a >= 0 && e->share_a <= 1 && e->share_b >= 0 && e->share_b <= 1);
        CHECK(e->ci_low <= e->effect && e->effect <= e->ci_high);
        sig[row->direction == 'B'] += row->significant;
        found[row->direction == 'B'] += row->finding;
        CHECK(row->verification == NULL && row->duplicate_of == -1);
        /* a significant candidate is a finding or explained by one */
        CHECKF(!row->significant || row->finding || row->explained_by > 0, "row %zu: %s",
               row->rank, row->text);
        if (row->explained_by) CHECK(hr_report_row_at(r, row->explained_by - 1)->finding);
        /* shown: the findings, at most top of each direction, with their examples */
        CHECK(row->shown == (row->finding && found[row->direction == 'B'] <= in->top));
        CHECKF(row->n_examples == (row->shown ? 2u : 0u), "row %zu: %zu examples", row->rank,
               row->n_examples);
    }
    CHECK(sig[0] == in->significant_a && sig[1] == in->significant_b);
    CHECK(found[0] == in->findings_a && found[1] == in->findings_b);
    /* What the issue saw: the pandemic is the first finding, one row with its
     * paraphrases under it; its shares are those of the headlines (279 of
     * 1,000 of 2020 name covid, coronavirus, pandemic, lockdown, quarantine
     * or a virus, 3 of 2019); the shadows of 2019 ("describes a
     * disagreement", "is about snakes or spiders", "is about American
     * football", "describes a strike") are not findings. */
    const hr_report_row *first = hr_report_row_at(r, 0);
    CHECKF(first->finding && first->direction == 'A' && mentions_pandemic(first->text),
           "first row: %s", first->text);
    CHECK(first->n_paraphrases >= 2 && first->n_explained > first->n_paraphrases);
    int words = 0;
    for (size_t x = 0; x < first->n_paraphrases; x++)
        words |= strncmp(first->paraphrases[x], "mentions \"", 10) == 0 &&
                 mentions_pandemic(first->paraphrases[x]);
    CHECKF(words, "no word candidate among the paraphrases of \"%s\"", first->text);
    CHECKF(first->effect.share_a > 0.18 && first->effect.share_a < 0.38 &&
               first->effect.share_b < 0.05 && first->effect.ci_low <= 0.276 &&
               first->effect.ci_high >= 0.276,
           "shares %.3f vs %.3f, effect [%.3f, %.3f]", first->effect.share_a,
           first->effect.share_b, first->effect.ci_low, first->effect.ci_high);
    CHECK(in->findings_a >= 1 && in->findings_b <= 3);
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        static const char *shadows[] = {"describes a disagreement", "is about snakes or spiders",
                                        "is about American football", "describes a strike"};
        for (size_t k = 0; k < sizeof shadows / sizeof shadows[0]; k++)
            if (strcmp(row->text, shadows[k]) == 0)
                CHECKF(!row->finding, "the shadow \"%s\" is a finding", row->text);
    }
    /* The first row of A shows texts of A that are about it. */
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        if (row->direction != 'A' || !mentions_pandemic(row->text)) continue;
        int about = 0;
        for (size_t x = 0; x < row->n_examples; x++) about |= mentions_pandemic(row->examples[x]);
        CHECKF(about, "the examples of \"%s\" miss the pandemic", row->text);
        break;
    }
    /* The words' rows are counts: a word's held-out count is its count on
     * all the texts of the side (the n-gram counter, here) less its count
     * on the proposal half (the proposer's note: `A:x/500 B:y/500`). */
    hr_corpus *all[2] = {NULL, NULL};
    for (int side = 0; side < 2; side++)
        CHECK(hr_corpus_read(example[side], NULL, &all[side], err, sizeof err) == HR_OK);
    hr_ngram_options no = hr_ngram_default_options();
    no.min_count = 1;
    hr_ngram_table *tab = NULL;
    if (all[0] && all[1])
        CHECK(hr_ngram_contrast((const char *const *)all[0]->texts, all[0]->lens, all[0]->n,
                                (const char *const *)all[1]->texts, all[1]->lens, all[1]->n, &no,
                                &tab, err, sizeof err) == HR_OK);
    size_t counted = 0;
    for (size_t i = 0; tab && i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const hr_effect *ef = &row->effect;
        CHECKF(ef->counted == (row->source == HR_SOURCE_NGRAM), "row %zu: %s", row->rank,
               row->text);
        if (!ef->counted) continue;
        counted++;
        char gram[256];
        size_t pa, na, pb, nb;
        /* a cluster's word (`cluster 2 of A (...): ngram "w" ...`) says its
         * cluster's counts, not the proposal half's: its held-out counts are
         * at most all the texts' */
        const int whole = strncmp(row->note, "ngram", 5) == 0;
        const char *q = strstr(row->note, "ngram \"");
        CHECKF(q && sscanf(q, "ngram \"%255[^\"]\"", gram) == 1, "note %s", row->note);
        if (!q) continue;
        size_t ta = SIZE_MAX, tb = SIZE_MAX;
        for (size_t g = 0; g < tab->n; g++)
            if (strcmp(tab->stats[g].gram, gram) == 0) ta = tab->stats[g].df_a, tb = tab->stats[g].df_b;
        CHECKF(ta != SIZE_MAX && ef->count_a <= ta && ef->count_b <= tb, "%s: %zu, %zu of %zu, %zu",
               gram, ef->count_a, ef->count_b, ta, tb);
        if (whole) {
            CHECKF(sscanf(q, "ngram \"%*[^\"]\" %*s A:%zu/%zu B:%zu/%zu", &pa, &na, &pb, &nb) == 4,
                   "note %s", row->note);
            CHECK(na == in->proposal_a && nb == in->proposal_b);
            CHECKF(ef->count_a == ta - pa && ef->count_b == tb - pb,
                   "%s: held-out %zu and %zu, all %zu and %zu, proposal %zu and %zu", gram,
                   ef->count_a, ef->count_b, ta, tb, pa, pb);
        }
        CHECK(ef->n_a == in->scored_a && ef->n_b == in->scored_b);
        CHECK(ef->share_a == (double)ef->count_a / (double)ef->n_a &&
              ef->share_b == (double)ef->count_b / (double)ef->n_b);
    }
    CHECKF(counted >= 5, "%zu word rows", counted);
    hr_ngram_table_destroy(tab);
    hr_corpus_destroy(all[0]), hr_corpus_destroy(all[1]);

    /* The page's plots: the rows shown get histograms of their similarity
     * on the texts their effect was computed on, and each side's best texts
     * (the JSON's examples among them); the others get none. */
    for (size_t i = 0; i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        if (!row->shown) {
            CHECK(row->n_bins == 0 && row->hist_a == NULL && row->n_examples_a == 0);
            continue;
        }
        CHECK(row->n_bins == HR_REPORT_BINS && row->bins_lo < row->bins_hi);
        size_t sum_a = 0, sum_b = 0;
        for (size_t k = 0; k < row->n_bins; k++) sum_a += row->hist_a[k], sum_b += row->hist_b[k];
        CHECKF(sum_a == row->effect.n_a && sum_b == row->effect.n_b, "row %zu: %zu + %zu texts "
               "binned, the effect's %zu + %zu", row->rank, sum_a, sum_b, row->effect.n_a,
               row->effect.n_b);
        CHECK(row->effect.tau > row->bins_lo && row->effect.tau < row->bins_hi);
        CHECK(row->n_examples_a == HR_REPORT_DETAIL_EXAMPLES &&
              row->n_examples_b == HR_REPORT_DETAIL_EXAMPLES);
        const char *const *own = row->direction == 'A' ? row->examples_a : row->examples_b;
        if (row->source == HR_SOURCE_BANK && row->n_examples)
            CHECKF(strcmp(own[0], row->examples[0]) == 0, "row %zu: best texts %s / %s", row->rank,
                   own[0], row->examples[0]);
        if (row->rank == 1) CHECK(mentions_pandemic(row->examples_a[0]));
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
                                "mean_a", "mean_b", "p_value", "q_value", "significant",
                                "share_a", "share_b", "effect", "effect_ci", "explained_by",
                                "paraphrases", "finding"};
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
            CHECKF(cJSON_GetObjectItem(h0, fields[f]) != NULL, "missing field %s", fields[f]);
        CHECK(strcmp(cJSON_GetObjectItem(h0, "text")->valuestring, r0->text) == 0);
        CHECK(cJSON_GetObjectItem(h0, "auroc")->valuedouble == r0->score.auroc);
        CHECK(cJSON_GetObjectItem(h0, "effect")->valuedouble == r0->effect.effect);
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(h0, "explained_by")));
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(h0, "paraphrases")) == (int)r0->n_paraphrases);
        CHECK(cJSON_GetObjectItem(root, "findings_a")->valuedouble == (double)in->findings_a);
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

/* Texts of c that hold the ASCII words w (lower case, one space between)
 * in a row: the test's own count, words being runs of letters and digits. */
static size_t texts_with(const hr_corpus *c, const char *w)
{
    size_t count = 0;
    for (size_t i = 0; i < c->n; i++) {
        char norm[2048];
        size_t n = 0;
        norm[n++] = ' ';
        for (const char *p = c->texts[i]; *p && n + 2 < sizeof norm; p++) {
            const int word = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                             (*p >= '0' && *p <= '9');
            if (word) norm[n++] = (char)(*p | (*p >= 'A' && *p <= 'Z' ? 0x20 : 0));
            else if (norm[n - 1] != ' ') norm[n++] = ' ';
        }
        if (norm[n - 1] != ' ') norm[n++] = ' ';
        norm[n] = '\0';
        char want[256];
        snprintf(want, sizeof want, " %s ", w);
        count += strstr(norm, want) != NULL;
    }
    return count;
}

/* A candidate of yours written `mentions "w"` is counted on every text
 * (yours are scored on all of them), as the words' are on the held-out
 * part; longer phrases too, up to HR_GRAM_WORDS_MAX words; any other
 * wording is the screen's. */
static void test_the_callers_mentions_are_counted_on_every_text(void)
{
    char err[1024] = "";
    hr_corpus *c[2] = {NULL, NULL};
    CHECK(hr_corpus_read(example[0], NULL, &c[0], err, sizeof err) == HR_OK);
    CHECK(hr_corpus_read(example[1], NULL, &c[1], err, sizeof err) == HR_OK);
    const char *ideas = write_text("mentions.txt", "mentions \"Coronavirus\"\n"
                                                   "mentions \"prime minister\"\n"
                                                   "mentions \"a b c d e f g h i\"\n"
                                                   "mentions \"police\" or courts\n"
                                                   "is about sport\n");
    hr_embedder *e = make_embedder();
    hr_describe_options o;
    hr_describe_options_init(&o);
    o.corpus_a = c[0], o.corpus_b = c[1];
    o.hypotheses_path = ideas;
    o.bank = 0; /* the words stay on: half of each side proposes, yours see all */
    o.clusters = 0;
    o.device = HR_DEVICE_CPU;
    hr_report *r = NULL;
    hr_status st = c[0] && c[1] ? hr_describe_run(&o, e, &r, err, sizeof err) : HR_ERR_IO;
    CHECKF(st == HR_OK, "%s", err);
    CHECK(st != HR_OK || hr_report_get_info(r)->scored_a == 500);
    size_t seen = 0;
    for (size_t i = 0; st == HR_OK && i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const hr_effect *ef = &row->effect;
        if (row->source != HR_SOURCE_USER) continue;
        const char *w = strcmp(row->text, "mentions \"Coronavirus\"") == 0      ? "coronavirus"
                        : strcmp(row->text, "mentions \"prime minister\"") == 0 ? "prime minister"
                                                                                : NULL;
        CHECKF(ef->counted == (w != NULL), "%s", row->text);
        if (!w) continue;
        seen++;
        const size_t ca = texts_with(c[0], w), cb = texts_with(c[1], w);
        CHECKF(ef->n_a == 1000 && ef->n_b == 1000 && ef->count_a == ca && ef->count_b == cb,
               "%s: %zu of %zu and %zu of %zu, the texts say %zu and %zu", row->text, ef->count_a,
               ef->n_a, ef->count_b, ef->n_b, ca, cb);
        CHECK(ef->share_a == (double)ca / 1000.0 && ef->share_b == (double)cb / 1000.0);
    }
    CHECK(seen == 2);
    hr_report_destroy(r);
    r = NULL;
    /* rank, given the texts, counts them the same way */
    hr_rank_options ro;
    hr_rank_options_init(&ro);
    ro.a_path = example[0], ro.b_path = example[1];
    ro.hypotheses_path = ideas;
    ro.scorer.device = HR_DEVICE_CPU;
    st = hr_rank_run(&ro, e, &r, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    seen = 0;
    for (size_t i = 0; st == HR_OK && i < hr_report_rows(r); i++) {
        const hr_report_row *row = hr_report_row_at(r, i);
        const hr_effect *ef = &row->effect;
        const char *w = strcmp(row->text, "mentions \"Coronavirus\"") == 0 ? "coronavirus" : NULL;
        CHECKF(ef->counted == (w != NULL || strcmp(row->text, "mentions \"prime minister\"") == 0),
               "rank: %s", row->text);
        if (!w) continue;
        seen++;
        CHECK(ef->count_a == texts_with(c[0], w) && ef->count_b == texts_with(c[1], w) &&
              ef->n_a == 1000);
    }
    CHECK(seen == 1);
    hr_report_destroy(r);
    hr_embedder_destroy(e);
    hr_corpus_destroy(c[0]), hr_corpus_destroy(c[1]);
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

/* A cancel hook that says stop at its n-th question. */
typedef struct stopper {
    int asked, stop_at;
} stopper;

static int stop_at(void *user)
{
    stopper *s = user;
    return ++s->asked >= s->stop_at;
}

static void ignore_event(const hr_event *ev, void *user)
{
    (void)ev, (void)user;
}

static void test_the_cancel_hook_stops_an_embedding_between_batches(void)
{
    char err[1024] = "";
    hr_corpus *a = NULL;
    CHECK(hr_corpus_read(example[0], NULL, &a, err, sizeof err) == HR_OK);
    if (!a) return;
    hr_embedder_options eo;
    hr_embedder_options_init(&eo);
    eo.model_dir = test_model_dir();
    eo.device = HR_DEVICE_CPU;
    eo.no_cache = 1; /* every text computed: batches to stop between */
    hr_embedder *e = NULL;
    CHECK(hr_embedder_create(&eo, &e, err, sizeof err) == HR_OK);
    stopper s = {0, 3};
    hr_events ev = {ignore_event, &s, stop_at};
    float *emb = NULL;
    hr_status st = hr_embedder_embed(e, (const char *const *)a->texts, a->lens, a->n, "A", &ev,
                                     &emb, err, sizeof err);
    CHECKF(st == HR_ERR_CANCELLED && emb == NULL, "%s (%s)", hr_status_str(st), err);
    CHECKF(s.asked == 3, "asked %d times", s.asked);
    CHECKF(hr_embedder_last_stats(e).computed == 0, "a cancelled call returns nothing");
    /* Asked before anything starts: nothing is embedded at all. */
    s = (stopper){0, 1};
    st = hr_embedder_embed(e, (const char *const *)a->texts, a->lens, 4, "A", &ev, &emb, err,
                           sizeof err);
    CHECK(st == HR_ERR_CANCELLED && s.asked == 1);
    /* A hook that never stops changes nothing. */
    s = (stopper){0, 1 << 30};
    float *with = NULL, *without = NULL;
    CHECK(hr_embedder_embed(e, (const char *const *)a->texts, a->lens, 300, "A", &ev, &with, err,
                            sizeof err) == HR_OK);
    CHECK(hr_embedder_embed(e, (const char *const *)a->texts, a->lens, 300, "A", NULL, &without,
                            err, sizeof err) == HR_OK);
    CHECK(s.asked >= 2 && with && without &&
          memcmp(with, without, 300 * hr_embedder_dim(e) * sizeof(float)) == 0);
    free(with);
    free(without);
    hr_embedder_destroy(e);
    hr_corpus_destroy(a);
}

/* (n, dim) rows of a fixed pattern, each row of unit length. */
static float *pattern_rows(size_t n, size_t dim, unsigned seed)
{
    float *m = malloc(n * dim * sizeof *m);
    for (size_t i = 0; m && i < n; i++) {
        double norm = 0;
        for (size_t c = 0; c < dim; c++) {
            m[i * dim + c] = (float)sin(0.37 * (double)(c + 1) * (double)(i + seed) + seed);
            norm += (double)m[i * dim + c] * m[i * dim + c];
        }
        for (size_t c = 0; c < dim; c++) m[i * dim + c] = (float)(m[i * dim + c] / sqrt(norm));
    }
    return m;
}

static int write_npy(const char *path, const float *m, size_t rows, size_t dim)
{
    char err[256];
    return hr_npy_write_f32(path, m, rows, dim, err, sizeof err) == HR_OK ? 0 : -1;
}

static void test_rank_takes_matrices_and_texts_from_memory_as_from_files(void)
{
    const size_t na = 60, nb = 50, k = 4, dim = 16;
    float *xa = pattern_rows(na, dim, 1), *xb = pattern_rows(nb, dim, 2), *xh = pattern_rows(k, dim, 3);
    char pa[400], pb[400], ph[400];
    snprintf(pa, sizeof pa, "%s/a.npy", dir);
    snprintf(pb, sizeof pb, "%s/b.npy", dir);
    snprintf(ph, sizeof ph, "%s/h.npy", dir);
    CHECK(xa && xb && xh && write_npy(pa, xa, na, dim) == 0 && write_npy(pb, xb, nb, dim) == 0 &&
          write_npy(ph, xh, k, dim) == 0);
    char *htexts[4] = {"first", "second", "third", "fourth"};
    size_t hlens[4] = {5, 6, 5, 6}, hlines[4] = {1, 2, 3, 4};
    hr_corpus names = {.n = 4, .texts = htexts, .lens = hlens, .lines = hlines, .path = "mine"};
    hr_rank_options o;
    hr_rank_options_init(&o);
    o.scorer.device = HR_DEVICE_CPU;
    o.a_emb = (hr_matrix_ref){xa, na, dim, NULL};
    o.b_emb = (hr_matrix_ref){xb, nb, dim, "B rows"};
    o.h_emb = (hr_matrix_ref){xh, k, dim, NULL};
    o.corpus_h = &names;
    CHECK(!hr_rank_needs_embedder(&o));
    hr_report *mem = NULL, *file = NULL;
    char err[1024] = "";
    hr_status st = hr_rank_run(&o, NULL, &mem, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    hr_rank_options f;
    hr_rank_options_init(&f);
    f.scorer.device = HR_DEVICE_CPU;
    f.a_emb_path = pa, f.b_emb_path = pb, f.h_emb_path = ph;
    st = hr_rank_run(&f, NULL, &file, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (mem && file) {
        const hr_report_info *in = hr_report_get_info(mem);
        CHECK(in->n_a == na && in->n_b == nb && in->dim == dim);
        CHECKF(strcmp(in->b_path, "B rows") == 0 && strcmp(in->a_path, "A's embeddings") == 0,
               "%s, %s", in->a_path, in->b_path);
        for (size_t i = 0; i < k; i++) {
            const hr_report_row *m = hr_report_row_at(mem, i), *fr = hr_report_row_at(file, i);
            CHECK(m->index == fr->index && m->score.auroc == fr->score.auroc &&
                  m->score.p_value == fr->score.p_value && m->score.q_value == fr->score.q_value);
            /* The rows' texts are the caller's, not copies. */
            CHECK(m->text == htexts[m->index] && m->line == m->index + 1);
        }
    }
    hr_report_destroy(mem);
    hr_report_destroy(file);
    /* A non-finite value in memory names the matrix, the row and the column. */
    xb[3 * dim + 5] = NAN;
    o.corpus_h = NULL;
    st = hr_rank_run(&o, NULL, &mem, err, sizeof err);
    CHECKF(st == HR_ERR_INPUT && strstr(err, "B rows: row 3, column 5"), "%s", err);
    /* Texts and embeddings of one side: exactly one. */
    hr_corpus none = {.n = 0, .path = "empty"};
    o.corpus_a = &none;
    CHECK(hr_rank_run(&o, NULL, &mem, err, sizeof err) == HR_ERR_INPUT && mem == NULL);
    free(xa), free(xb), free(xh);
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
    RUN(test_the_callers_mentions_are_counted_on_every_text);
    RUN(test_rank_run_ranks_the_callers_hypotheses_and_notes_repeats);
    RUN(test_the_cancel_hook_stops_an_embedding_between_batches);
    RUN(test_rank_takes_matrices_and_texts_from_memory_as_from_files);
    RUN(test_bad_options_and_input_are_input_errors);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
