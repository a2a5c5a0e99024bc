/*
 * tests/test_proposers.c: the hypothesis pool, the built-in bank and the
 * n-gram contrast proposer (hyporank/proposers.h).
 *
 * The reference z-scores come from tests/fixtures/ngram-cases.json, written
 * by tests/fixtures/gen-ngram-fixture.py (plain Python, its own tokeniser and
 * arithmetic).
 */
#include "hyporank/proposers.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>

static const char *const *cc(char **p) { return (const char *const *)p; }

/* ------------------------------------------------------------------------ */
/* The bank                                                                   */

static void test_bank_loads_at_least_500_unique_entries_and_has_no_blank_lines(void)
{
    size_t len;
    const char *bank = hr_bank_text(&len);
    CHECK(bank != NULL && len > 0);
    CHECK(strlen(bank) == len);
    CHECKF(len > 0 && bank[len - 1] == '\n', "the bank ends with a line break");

    size_t lines = 0, hypotheses = 0, blank = 0, padded = 0, carriage = 0;
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(bank + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - bank) : len;
        lines++;
        if (end == pos) blank++;
        else if (bank[end - 1] == '\r') carriage++;
        else if (bank[pos] == ' ' || bank[pos] == '\t' || bank[end - 1] == ' ' ||
                 bank[end - 1] == '\t')
            padded++;
        if (end > pos && bank[pos] != '#') hypotheses++;
        pos = end + 1;
    }
    CHECKF(blank == 0, "%zu blank lines", blank);
    CHECKF(padded == 0, "%zu lines with surrounding whitespace", padded);
    CHECKF(carriage == 0, "%zu lines end in \\r", carriage);

    hr_hypothesis_pool *pool;
    char err[256] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    size_t added = 0;
    CHECKF(hr_pool_add_bank(pool, &added, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(added == hypotheses, "every bank line is new: %zu added of %zu", added, hypotheses);
    CHECKF(added >= 500, "%zu entries", added);
    CHECK(hr_pool_size(pool) == added);
    int all_bank = 1;
    for (size_t i = 0; i < hr_pool_size(pool); i++) {
        const hr_pool_entry *e = hr_pool_get(pool, i);
        if (e->source != HR_SOURCE_BANK || e->note || e->direction || e->len == 0 ||
            e->text[0] == '#')
            all_bank = 0;
    }
    CHECK(all_bank);
    /* Adding it again adds nothing. */
    CHECK(hr_pool_add_bank(pool, &added, err, sizeof err) == HR_OK && added == 0);
    hr_pool_destroy(pool);
    fprintf(stderr, "  bank: %zu hypotheses in %zu lines\n", hypotheses, lines);
}

/* ------------------------------------------------------------------------ */
/* The pool                                                                   */

static void test_pool_drops_duplicates_ignoring_case_and_whitespace(void)
{
    hr_hypothesis_pool *pool;
    char err[256] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    int added = -1;
    const char *first = "  Is about  Sport\t";
    CHECK(hr_pool_add(pool, first, strlen(first), HR_SOURCE_USER, "mine", &added, err,
                      sizeof err) == HR_OK && added == 1);
    const char *same[] = {"is about sport", "IS ABOUT SPORT", "is\tabout\n sport ",
                          "is\xC2\xA0" "about sport" /* no-break space */};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        added = -1;
        CHECK(hr_pool_add(pool, same[i], strlen(same[i]), HR_SOURCE_BANK, NULL, &added, err,
                          sizeof err) == HR_OK);
        CHECKF(added == 0, "\"%s\" is a duplicate", same[i]);
    }
    CHECK(hr_pool_size(pool) == 1);
    const hr_pool_entry *e = hr_pool_get(pool, 0);
    CHECK(e && strcmp(e->text, "Is about  Sport") == 0 && e->len == 15);
    CHECK(e && e->source == HR_SOURCE_USER && e->note && strcmp(e->note, "mine") == 0);

    /* Unicode case: "Zürich" and "ZÜRICH" are the same; "sports" is not "sport". */
    CHECK(hr_pool_add(pool, "mentions Z\xC3\xBCrich", 16, HR_SOURCE_USER, NULL, &added, err,
                      sizeof err) == HR_OK && added == 1);
    CHECK(hr_pool_add(pool, "MENTIONS Z\xC3\x9CRICH", 16, HR_SOURCE_USER, NULL, &added, err,
                      sizeof err) == HR_OK && added == 0);
    CHECK(hr_pool_add(pool, "is about sports", 15, HR_SOURCE_LLM, NULL, &added, err,
                      sizeof err) == HR_OK && added == 1);
    CHECK(hr_pool_size(pool) == 3);

    /* texts and lens arrays follow the entries; length, not NUL, bounds the text. */
    CHECK(hr_pool_add(pool, "is long and more", 7, HR_SOURCE_USER, NULL, &added, err,
                      sizeof err) == HR_OK && added == 1);
    const char *const *texts = hr_pool_texts(pool);
    const size_t *lens = hr_pool_lens(pool);
    CHECK(strcmp(texts[3], "is long") == 0 && lens[3] == 7);
    CHECK(strcmp(texts[2], "is about sports") == 0 && lens[2] == 15);
    CHECK(hr_pool_get(pool, 4) == NULL);

    /* Many entries: the table grows and still finds every duplicate. */
    char buf[64];
    size_t before = hr_pool_size(pool);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(buf, sizeof buf, "mentions the number %d", i);
        hr_pool_add(pool, buf, (size_t)n, HR_SOURCE_USER, NULL, NULL, err, sizeof err);
    }
    int dups = 0;
    for (int i = 0; i < 5000; i += 7) {
        int n = snprintf(buf, sizeof buf, "MENTIONS THE NUMBER %d", i);
        hr_pool_add(pool, buf, (size_t)n, HR_SOURCE_USER, NULL, &added, err, sizeof err);
        dups += added == 0;
    }
    CHECK(hr_pool_size(pool) == before + 5000);
    CHECK(dups == (5000 + 6) / 7);
    CHECK(strcmp(hr_pool_get(pool, 0)->text, "Is about  Sport") == 0);
    hr_pool_destroy(pool);
    hr_pool_destroy(NULL);
}

static void test_pool_rejects_empty_and_invalid_text(void)
{
    hr_hypothesis_pool *pool;
    char err[256] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    int added = -1;
    CHECK(hr_pool_add(pool, "", 0, HR_SOURCE_USER, NULL, &added, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECK(hr_pool_add(pool, " \t\n", 3, HR_SOURCE_USER, NULL, &added, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECKF(strstr(err, "empty") != NULL, "%s", err);
    CHECK(hr_pool_add(pool, "is \xFF bad", 8, HR_SOURCE_USER, NULL, &added, err,
                      sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "UTF-8") != NULL, "%s", err);
    CHECK(hr_pool_add(pool, "is\0nul", 6, HR_SOURCE_USER, NULL, &added, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECK(added == 0 && hr_pool_size(pool) == 0);
    CHECK(strcmp(hr_hyp_source_str(HR_SOURCE_USER), "user") == 0);
    CHECK(strcmp(hr_hyp_source_str(HR_SOURCE_BANK), "bank") == 0);
    CHECK(strcmp(hr_hyp_source_str(HR_SOURCE_NGRAM), "ngram") == 0);
    CHECK(strcmp(hr_hyp_source_str(HR_SOURCE_LLM), "llm") == 0);
    hr_pool_destroy(pool);
}

static void test_add_lines_skips_comments_and_blanks_and_names_the_bad_line(void)
{
    hr_hypothesis_pool *pool;
    char err[256] = "";
    CHECK(hr_pool_create(&pool, err, sizeof err) == HR_OK);
    const char buf[] = "is about cats\n\n  # a comment\r\nis about dogs\r\n   \n"
                       "\xC2\xA0\nIS ABOUT CATS\nis \xFF\nnever reached\n";
    size_t added = 99;
    hr_status st = hr_pool_add_lines(pool, buf, sizeof buf - 1, HR_SOURCE_USER, "h.txt", &added,
                                     err, sizeof err);
    CHECK(st == HR_ERR_INPUT);
    CHECKF(strncmp(err, "h.txt:8: ", 9) == 0, "%s", err);
    CHECK(added == 2 && hr_pool_size(pool) == 2);
    CHECK(strcmp(hr_pool_get(pool, 1)->text, "is about dogs") == 0);
    /* No final line break, and NULL counters. */
    CHECK(hr_pool_add_lines(pool, "is about birds", 14, HR_SOURCE_USER, NULL, NULL, err,
                            sizeof err) == HR_OK);
    CHECK(hr_pool_size(pool) == 3);
    hr_pool_destroy(pool);
}

/* ------------------------------------------------------------------------ */
/* N-grams: synthetic corpora                                                 */

static uint64_t rng_state = 0x853c49e6748fea9bull;
static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static const char *const fillers[] = {
    "river", "market", "council", "school", "harbour", "train", "winter", "garden",
    "bridge", "library", "festival", "farmer", "doctor", "budget", "island", "museum",
    "storm", "planet", "coffee", "station", "village", "tunnel", "forest", "concert",
};
enum { N_FILLERS = sizeof fillers / sizeof fillers[0] };

/* Fills texts[0..n) with 6 random filler words each; planted (when not NULL)
 * goes at a random position in the first n_planted texts. */
static char **make_corpus(size_t n, const char *planted, size_t n_planted)
{
    char **texts = calloc(n, sizeof *texts);
    for (size_t i = 0; i < n; i++) {
        char buf[256];
        size_t len = 0;
        size_t at = i < n_planted ? rng() % 6 : 99;
        for (size_t w = 0; w < 6; w++) {
            const char *word = w == at ? planted : fillers[rng() % N_FILLERS];
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", w ? " " : "", word);
        }
        texts[i] = malloc(len + 1);
        memcpy(texts[i], buf, len + 1);
    }
    return texts;
}

static void free_corpus(char **texts, size_t n)
{
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
}

static const hr_ngram_stat *find_gram(const hr_ngram_table *t, const char *gram)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->stats[i].gram, gram) == 0) return &t->stats[i];
    return NULL;
}

static void test_planted_word_has_the_highest_z_for_a(void)
{
    size_t n_a = 400, n_b = 500;
    char **a = make_corpus(n_a, "Zebra", n_a / 4); /* in a quarter of A, capitalised */
    char **b = make_corpus(n_b, NULL, 0);
    char err[256] = "";
    hr_ngram_table *t;
    CHECKF(hr_ngram_contrast(cc(a), NULL, n_a, cc(b), NULL, n_b, NULL, &t, err, sizeof err) ==
               HR_OK, "%s", err);
    CHECK(t->n > 0 && strcmp(t->stats[0].gram, "zebra") == 0);
    CHECK(t->stats[0].df_a == n_a / 4 && t->stats[0].df_b == 0 && t->stats[0].n == 1);
    CHECKF(t->stats[0].z > 5, "z = %g", t->stats[0].z);
    for (size_t i = 1; i < t->n; i++) CHECK(t->stats[i].z < t->stats[0].z);
    CHECK(t->n_a == n_a && t->n_b == n_b && t->alpha0 == 900.0); /* default: n_a + n_b */
    hr_ngram_table_destroy(t);

    hr_hypothesis_pool *pool;
    hr_pool_create(&pool, err, sizeof err);
    size_t added = 0;
    CHECKF(hr_pool_add_ngrams(pool, cc(a), NULL, n_a, cc(b), NULL, n_b, NULL, &added, err,
                              sizeof err) == HR_OK, "%s", err);
    CHECK(added >= 1 && hr_pool_size(pool) == added);
    const hr_pool_entry *e = hr_pool_get(pool, 0);
    CHECK(e && strcmp(e->text, "mentions \"zebra\"") == 0);
    CHECK(e && e->source == HR_SOURCE_NGRAM && e->direction == 'A' && e->z > 5);
    CHECKF(e && e->note && strncmp(e->note, "ngram \"zebra\" z=+", 17) == 0, "%s",
           e && e->note ? e->note : "(null)");
    CHECK(e && e->note && strstr(e->note, "A:100/400 B:0/500") != NULL);
    hr_pool_destroy(pool);
    hr_ngram_table_destroy(NULL);
    free_corpus(a, n_a);
    free_corpus(b, n_b);
}

static void test_ngram_present_equally_in_both_has_small_z(void)
{
    /* "common" in 40% of A and of B, the groups of different sizes. With the
     * prior centred on the pooled proportion both odds are exactly 2/3, so z
     * is 0 up to rounding. */
    size_t n_a = 400, n_b = 600;
    char **a = make_corpus(n_a, "common", 160);
    char **b = make_corpus(n_b, "common", 240);
    char err[256] = "";
    hr_ngram_table *t;
    CHECK(hr_ngram_contrast(cc(a), NULL, n_a, cc(b), NULL, n_b, NULL, &t, err, sizeof err) ==
          HR_OK);
    const hr_ngram_stat *s = find_gram(t, "common");
    CHECK(s && s->df_a == 160 && s->df_b == 240);
    CHECKF(s && fabs(s->z) < 1e-9, "z = %g", s ? s->z : NAN);
    /* The fillers, drawn from one distribution for both, stay unremarkable. */
    const hr_ngram_stat *f = find_gram(t, "river");
    CHECKF(f && fabs(f->z) < 4, "z = %g", f ? f->z : NAN);
    hr_ngram_table_destroy(t);
    free_corpus(a, n_a);
    free_corpus(b, n_b);
}

static void test_order_is_deterministic_with_ties_broken_by_the_ngram(void)
{
    /* alpha..delta each in one A text (equal z), echo..golf each in one B
     * text; the input order is scrambled. */
    const char *a[] = {"delta", "bravo", "alpha", "charlie", "delta", "bravo", "alpha",
                       "charlie", "shared", "shared"};
    const char *b[] = {"golf", "echo", "foxtrot", "golf", "echo", "foxtrot", "shared"};
    hr_ngram_options o = hr_ngram_default_options();
    o.alpha0 = 1.0;
    o.min_count = 1;
    o.min_z = 0.0;
    char err[256] = "";
    hr_ngram_table *t;
    CHECK(hr_ngram_contrast(a, NULL, 10, b, NULL, 7, &o, &t, err, sizeof err) == HR_OK);
    const char *want[] = {"alpha", "bravo", "charlie", "delta", "shared", "echo", "foxtrot",
                          "golf"};
    CHECK(t->n == 8);
    for (size_t i = 0; i < 8 && i < t->n; i++)
        CHECKF(strcmp(t->stats[i].gram, want[i]) == 0, "%zu: %s", i, t->stats[i].gram);
    CHECK(t->n == 8 && t->stats[0].z == t->stats[3].z && t->stats[5].z == t->stats[7].z);
    hr_ngram_table_destroy(t);

    /* The pool: A's strongest first, then B's, each tie in gram order. */
    hr_hypothesis_pool *pool;
    hr_pool_create(&pool, err, sizeof err);
    o.top_k = 3;
    size_t added;
    CHECK(hr_pool_add_ngrams(pool, a, NULL, 10, b, NULL, 7, &o, &added, err, sizeof err) ==
          HR_OK);
    const char *pool_want[] = {"mentions \"alpha\"", "mentions \"bravo\"", "mentions \"charlie\"",
                               "mentions \"echo\"", "mentions \"foxtrot\"", "mentions \"golf\""};
    CHECK(added == 6 && hr_pool_size(pool) == 6);
    for (size_t i = 0; i < 6 && i < hr_pool_size(pool); i++) {
        const hr_pool_entry *e = hr_pool_get(pool, i);
        CHECKF(strcmp(e->text, pool_want[i]) == 0, "%zu: %s", i, e->text);
        CHECK(e->direction == (i < 3 ? 'A' : 'B') && (i < 3 ? e->z > 0 : e->z < 0));
    }
    hr_pool_destroy(pool);
    /* A threshold that nothing reaches adds nothing. */
    hr_pool_create(&pool, err, sizeof err);
    o.min_z = 100.0;
    CHECK(hr_pool_add_ngrams(pool, a, NULL, 10, b, NULL, 7, &o, &added, err, sizeof err) ==
              HR_OK && added == 0 && hr_pool_size(pool) == 0);
    hr_pool_destroy(pool);

    /* The same corpus in another order gives the same table, bit for bit. */
    const char *a2[] = {"shared", "alpha", "alpha", "bravo", "shared", "charlie", "delta",
                        "bravo", "charlie", "delta"};
    const char *b2[] = {"shared", "echo", "echo", "golf", "foxtrot", "golf", "foxtrot"};
    hr_ngram_table *t1, *t2;
    o = hr_ngram_default_options();
    o.min_count = 1;
    CHECK(hr_ngram_contrast(a, NULL, 10, b, NULL, 7, &o, &t1, err, sizeof err) == HR_OK);
    CHECK(hr_ngram_contrast(a2, NULL, 10, b2, NULL, 7, &o, &t2, err, sizeof err) == HR_OK);
    int same = t1->n == t2->n;
    for (size_t i = 0; same && i < t1->n; i++)
        same = strcmp(t1->stats[i].gram, t2->stats[i].gram) == 0 &&
               memcmp(&t1->stats[i].z, &t2->stats[i].z, sizeof(double)) == 0;
    CHECK(same);
    hr_ngram_table_destroy(t1);
    hr_ngram_table_destroy(t2);
}

static void test_default_prior_ranks_the_same_when_the_corpora_are_copied(void)
{
    /* With alpha0 = n_a + n_b, copying A and B three times keeps delta and
     * the order and multiplies z by sqrt(3). */
    size_t n_a = 300, n_b = 200, k = 3;
    char **a = make_corpus(n_a, "zebra", 40);
    char **b = make_corpus(n_b, "giraffe", 30);
    const char **a3 = malloc(k * n_a * sizeof *a3), **b3 = malloc(k * n_b * sizeof *b3);
    for (size_t i = 0; i < k * n_a; i++) a3[i] = a[i % n_a];
    for (size_t i = 0; i < k * n_b; i++) b3[i] = b[i % n_b];
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    char err[256] = "";
    hr_ngram_table *t1, *t3;
    CHECK(hr_ngram_contrast(cc(a), NULL, n_a, cc(b), NULL, n_b, &o, &t1, err, sizeof err) ==
          HR_OK);
    CHECK(hr_ngram_contrast(a3, NULL, k * n_a, b3, NULL, k * n_b, &o, &t3, err, sizeof err) ==
          HR_OK);
    CHECK(t1->n == t3->n && t1->n > 100);
    CHECK(strcmp(t1->stats[0].gram, "zebra") == 0);
    CHECK(strcmp(t1->stats[t1->n - 1].gram, "giraffe") == 0);
    /* The same n-grams with k times the counts, delta equal and z times
     * sqrt(k), up to rounding; position by position too (the order may only
     * differ between n-grams whose z are equal in exact arithmetic). */
    int same = t1->n == t3->n;
    double rk = sqrt((double)k);
    for (size_t i = 0; same && i < t1->n; i++) {
        const hr_ngram_stat *s1 = &t1->stats[i], *s3 = find_gram(t3, s1->gram);
        same = s3 && s3->df_a == k * s1->df_a && s3->df_b == k * s1->df_b &&
               fabs(s3->delta - s1->delta) <= 1e-12 &&
               fabs(s3->z - rk * s1->z) <= 1e-9 * (1 + fabs(s3->z)) &&
               fabs(t3->stats[i].z - rk * s1->z) <= 1e-9 * (1 + fabs(s3->z));
        if (!same) fprintf(stderr, "  differs at %zu: %s\n", i, s1->gram);
    }
    CHECK(same);
    hr_ngram_table_destroy(t1);
    hr_ngram_table_destroy(t3);
    free(a3);
    free(b3);
    free_corpus(a, n_a);
    free_corpus(b, n_b);
}

static void test_utf8_words_are_tokens_and_punctuation_separates(void)
{
    const char *a[] = {
        "ZÜRICH café \xE2\x80\x94 Москва", /* em dash separates */
        "中国 news",                       /* each ideograph a token */
        "it\xE2\x80\x99s new",             /* right single quotation mark separates */
        "nai\xCC\x88ve \xF0\x9F\x98\xB7",   /* combining mark and emoji are word characters */
    };
    const char *b[] = {"plain words here"};
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    char err[256] = "";
    hr_ngram_table *t;
    CHECK(hr_ngram_contrast(a, NULL, 4, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    const char *present[] = {"zürich", "café", "москва", "zürich café", "café москва",
                             "中", "国", "中 国", "国 news", "new", "nai\xCC\x88ve",
                             "\xF0\x9F\x98\xB7", "nai\xCC\x88ve \xF0\x9F\x98\xB7"};
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        CHECKF(find_gram(t, present[i]) != NULL, "\"%s\" is an n-gram", present[i]);
    const char *absent[] = {"ZÜRICH", "Москва", "中国", "it", "s", "it s", "it’s", "—"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        CHECKF(find_gram(t, absent[i]) == NULL, "\"%s\" is not an n-gram", absent[i]);
    hr_ngram_table_destroy(t);

    /* 32 "É" lower-case to 64 bytes: kept; 33 are 66 bytes: dropped, and the
     * words either side are not a bigram. */
    char e32[2 * 32 + 1], e33[2 * 33 + 1], e32l[2 * 32 + 1];
    for (int i = 0; i < 33; i++) {
        if (i < 32) {
            memcpy(e32 + 2 * i, "\xC3\x89", 2);  /* É */
            memcpy(e32l + 2 * i, "\xC3\xA9", 2); /* é */
        }
        memcpy(e33 + 2 * i, "\xC3\x89", 2);
    }
    e32[64] = e32l[64] = e33[66] = '\0';
    char t1[128], t2[128];
    snprintf(t1, sizeof t1, "left %s right", e32);
    snprintf(t2, sizeof t2, "north %s south", e33);
    const char *long_tokens[] = {t1, t2};
    CHECK(hr_ngram_contrast(long_tokens, NULL, 2, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    CHECK(find_gram(t, e32l) != NULL);
    CHECK(find_gram(t, "north") != NULL && find_gram(t, "south") != NULL);
    CHECK(find_gram(t, "north south") == NULL);
    /* left, e32, right, north, south; left e32, e32 right; and B's plain, words,
     * plain words, words here */
    CHECKF(t->vocabulary == 5 + 2 + 4, "%zu", t->vocabulary);
    hr_ngram_table_destroy(t);
}

static void test_stop_words_and_repeats(void)
{
    const char *a[] = {"the state of the nation", "cases cases cases", "of the"};
    const char *b[] = {"a state"};
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    char err[256] = "";
    hr_ngram_table *t;
    CHECK(hr_ngram_contrast(a, NULL, 3, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    CHECK(find_gram(t, "the") == NULL && find_gram(t, "of") == NULL);
    CHECK(find_gram(t, "of the") == NULL && find_gram(t, "the state") != NULL);
    CHECK(find_gram(t, "state of") != NULL && find_gram(t, "the nation") != NULL);
    const hr_ngram_stat *s = find_gram(t, "state");
    CHECK(s && s->df_a == 1 && s->df_b == 1);
    s = find_gram(t, "cases"); /* three times in one text: counted once */
    CHECK(s && s->df_a == 1 && s->df_b == 0);
    s = find_gram(t, "cases cases");
    CHECK(s && s->df_a == 1 && s->n == 2);
    CHECK(t->vocabulary == t->n);
    hr_ngram_table_destroy(t);

    /* Unigrams only. */
    o.max_n = 1;
    CHECK(hr_ngram_contrast(a, NULL, 3, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    for (size_t i = 0; i < t->n; i++) CHECK(t->stats[i].n == 1 && !strchr(t->stats[i].gram, ' '));
    hr_ngram_table_destroy(t);

    /* Lengths bound the texts: "zebra crossing" cut to "zebra". */
    const char *c[] = {"zebra crossing"};
    size_t lens[] = {5};
    o.max_n = 2;
    CHECK(hr_ngram_contrast(c, lens, 1, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    CHECK(find_gram(t, "zebra") != NULL && find_gram(t, "crossing") == NULL);
    hr_ngram_table_destroy(t);
}

static void test_counts_stay_right_as_the_tables_grow_and_texts_get_long(void)
{
    /* Text i is "uniq<i> shared<i % 10>": 10,000 + 10 unigrams and 10,000
     * bigrams, many times the tables' first sizes. */
    size_t n_a = 6000, n_b = 4000, n = n_a + n_b;
    char **texts = calloc(n, sizeof *texts);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "uniq%zu shared%zu", i, i % 10);
        texts[i] = malloc((size_t)len + 1);
        memcpy(texts[i], buf, (size_t)len + 1);
    }
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    char err[256] = "";
    hr_ngram_table *t;
    CHECK(hr_ngram_contrast(cc(texts), NULL, n_a, cc(texts + n_a), NULL, n_b, &o, &t, err,
                            sizeof err) == HR_OK);
    CHECKF(t->vocabulary == 20010 && t->n == 20010, "%zu, %zu", t->vocabulary, t->n);
    const hr_ngram_stat *s = find_gram(t, "shared3");
    CHECK(s && s->df_a == 600 && s->df_b == 400);
    s = find_gram(t, "uniq6001 shared1");
    CHECK(s && s->df_a == 0 && s->df_b == 1 && s->n == 2);
    hr_ngram_table_destroy(t);
    free_corpus(texts, n);

    /* One long text: 300 words, each three times (900 tokens): every n-gram
     * once. */
    char *lng = malloc(300 * 3 * 8 + 1);
    size_t len = 0;
    for (int rep = 0; rep < 3; rep++)
        for (int w = 0; w < 300; w++)
            len += (size_t)snprintf(lng + len, 8, "w%03d ", w);
    const char *a[] = {lng};
    const char *b[] = {"w000 w001"};
    CHECK(hr_ngram_contrast(a, NULL, 1, b, NULL, 1, &o, &t, err, sizeof err) == HR_OK);
    s = find_gram(t, "w123");
    CHECK(s && s->df_a == 1 && s->df_b == 0);
    s = find_gram(t, "w299 w000"); /* where the repeats join */
    CHECK(s && s->df_a == 1);
    s = find_gram(t, "w000 w001");
    CHECK(s && s->df_a == 1 && s->df_b == 1);
    CHECK(t->vocabulary == 300 + 300);
    hr_ngram_table_destroy(t);
    free(lng);
}

static void test_empty_corpora_and_bad_options_are_rejected(void)
{
    const char *a[] = {"some text"};
    char err[256] = "";
    hr_ngram_table *t = (hr_ngram_table *)1;
    CHECK(hr_ngram_contrast(a, NULL, 0, a, NULL, 1, NULL, &t, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "A is empty") != NULL, "%s", err);
    CHECK(t == NULL);
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 0, NULL, &t, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "B is empty") != NULL, "%s", err);
    CHECK(hr_ngram_contrast(NULL, NULL, 1, a, NULL, 1, NULL, &t, err, sizeof err) ==
          HR_ERR_INPUT);
    const char *with_null[] = {"x", NULL};
    CHECK(hr_ngram_contrast(a, NULL, 1, with_null, NULL, 2, NULL, &t, err, sizeof err) ==
          HR_ERR_INPUT);

    hr_ngram_options o = hr_ngram_default_options();
    o.max_n = 3;
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 1, &o, &t, err, sizeof err) == HR_ERR_INPUT);
    o = hr_ngram_default_options();
    o.alpha0 = -1.0;
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 1, &o, &t, err, sizeof err) == HR_ERR_INPUT);
    o.alpha0 = INFINITY;
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 1, &o, &t, err, sizeof err) == HR_ERR_INPUT);
    o.alpha0 = NAN;
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 1, &o, &t, err, sizeof err) == HR_ERR_INPUT);
    o = hr_ngram_default_options();
    o.min_z = -1.0;
    CHECK(hr_ngram_contrast(a, NULL, 1, a, NULL, 1, &o, &t, err, sizeof err) == HR_ERR_INPUT);

    hr_hypothesis_pool *pool;
    hr_pool_create(&pool, err, sizeof err);
    size_t added = 7;
    CHECK(hr_pool_add_ngrams(pool, a, NULL, 0, a, NULL, 1, NULL, &added, err, sizeof err) ==
          HR_ERR_INPUT);
    CHECK(added == 0 && hr_pool_size(pool) == 0);
    hr_pool_destroy(pool);

    /* Texts with no tokens at all are fine: nothing to propose. */
    const char *punct[] = {"!!! ...", "?"};
    CHECK(hr_ngram_contrast(punct, NULL, 2, punct, NULL, 1, NULL, &t, err, sizeof err) == HR_OK);
    CHECK(t->n == 0 && t->vocabulary == 0);
    hr_ngram_table_destroy(t);
}

/* ------------------------------------------------------------------------ */
/* N-grams: the reference fixture                                             */

/* Relative 1e-9: C and Python do the same operations in the same order on
 * the same doubles, and glibc's log is within an ulp, so they agree to about
 * 1e-15; 1e-9 leaves room for another libm without hiding a wrong formula.
 * Where the value is within 1e-6 of 0 (delta = log - log cancels, so its
 * relative error is unbounded) the absolute difference must be below 1e-12. */
static int close_enough(double got, double want)
{
    double d = fabs(got - want);
    if (fabs(want) < 1e-6) return d <= 1e-12;
    return d <= 1e-9 * fabs(want);
}

static const char **json_strings(const cJSON *arr, size_t *n)
{
    *n = (size_t)cJSON_GetArraySize(arr);
    const char **out = calloc(*n ? *n : 1, sizeof *out);
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) out[i++] = cJSON_GetStringValue(item);
    return out;
}

static void test_z_matches_the_python_reference(void)
{
    char *text = test_read_file(test_fixture("ngram-cases.json"));
    CHECKF(text != NULL, "cannot read %s", test_fixture("ngram-cases.json"));
    if (!text) return;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    CHECK(doc != NULL);
    if (!doc) return;
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "cases");
    CHECK(cJSON_GetArraySize(cases) >= 4);
    size_t compared = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        size_t n_a, n_b;
        const char **a = json_strings(cJSON_GetObjectItemCaseSensitive(c, "a"), &n_a);
        const char **b = json_strings(cJSON_GetObjectItemCaseSensitive(c, "b"), &n_b);
        hr_ngram_options o = hr_ngram_default_options();
        o.alpha0 = cJSON_GetObjectItemCaseSensitive(c, "alpha0")->valuedouble;
        o.min_count = (size_t)cJSON_GetObjectItemCaseSensitive(c, "min_count")->valuedouble;
        o.max_n = (int)cJSON_GetObjectItemCaseSensitive(c, "max_n")->valuedouble;
        char err[256] = "";
        hr_ngram_table *t;
        hr_status st = hr_ngram_contrast(a, NULL, n_a, b, NULL, n_b, &o, &t, err, sizeof err);
        CHECKF(st == HR_OK, "%s: %s", name, err);
        if (st != HR_OK) {
            free(a);
            free(b);
            continue;
        }
        const cJSON *rows = cJSON_GetObjectItemCaseSensitive(c, "ngrams");
        size_t want_n = (size_t)cJSON_GetArraySize(rows);
        CHECKF(t->n == want_n, "%s: %zu n-grams, want %zu", name, t->n, want_n);
        CHECK(t->vocabulary ==
              (size_t)cJSON_GetObjectItemCaseSensitive(c, "vocabulary")->valuedouble);
        size_t i = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, rows)
        {
            if (i >= t->n) break;
            const hr_ngram_stat *s = &t->stats[i++];
            const char *gram = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "gram"));
            double dfa = cJSON_GetObjectItemCaseSensitive(r, "df_a")->valuedouble;
            double dfb = cJSON_GetObjectItemCaseSensitive(r, "df_b")->valuedouble;
            double n = cJSON_GetObjectItemCaseSensitive(r, "n")->valuedouble;
            double z = cJSON_GetObjectItemCaseSensitive(r, "z")->valuedouble;
            double delta = cJSON_GetObjectItemCaseSensitive(r, "delta")->valuedouble;
            double var = cJSON_GetObjectItemCaseSensitive(r, "var")->valuedouble;
            CHECKF(strcmp(s->gram, gram) == 0, "%s: row %zu is \"%s\", want \"%s\"", name, i - 1,
                   s->gram, gram);
            CHECKF(s->df_a == (size_t)dfa && s->df_b == (size_t)dfb && s->n == (int)n,
                   "%s: \"%s\" counts %zu/%zu, want %g/%g", name, gram, s->df_a, s->df_b, dfa,
                   dfb);
            CHECKF(close_enough(s->z, z), "%s: \"%s\" z %.17g, want %.17g", name, gram, s->z, z);
            CHECKF(close_enough(s->delta, delta), "%s: \"%s\" delta %.17g, want %.17g", name,
                   gram, s->delta, delta);
            CHECKF(close_enough(s->var, var), "%s: \"%s\" var %.17g, want %.17g", name, gram,
                   s->var, var);
            compared++;
        }
        hr_ngram_table_destroy(t);
        free(a);
        free(b);
    }
    CHECK(compared >= 200);
    cJSON_Delete(doc);
}

/* The table does not depend on how many threads counted: 70,000 texts
 * (enough for three workers) of words drawn from a skewed vocabulary, the
 * two sides drawing differently, counted on 1, 2 and 3 threads. */
static void test_counts_are_the_same_on_any_number_of_threads(void)
{
    enum { N = 35000, VOCAB = 3000 };
    char **texts = malloc(2 * N * sizeof *texts);
    uint64_t st = 7;
    for (size_t i = 0; i < 2 * N; i++) {
        char buf[256];
        size_t len = 0;
        const int words = 3 + (int)(i % 9);
        for (int w = 0; w < words; w++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            size_t v = (size_t)((st >> 33) % VOCAB);
            v = v * v / VOCAB;           /* skewed: small ids common */
            if (i >= N && w == 0) v = (v + 17) % VOCAB; /* B leans elsewhere */
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%sw%zu", w ? " " : "", v);
        }
        texts[i] = malloc(len + 1);
        memcpy(texts[i], buf, len + 1);
    }
    hr_ngram_table *ref = NULL;
    for (int threads = 1; threads <= 3; threads++) {
        hr_ngram_options o = hr_ngram_default_options();
        o.n_threads = threads;
        hr_ngram_table *t = NULL;
        char err[256] = "";
        CHECKF(hr_ngram_contrast((const char *const *)texts, NULL, N,
                                 (const char *const *)texts + N, NULL, N, &o, &t, err,
                                 sizeof err) == HR_OK, "%s", err);
        if (!t) continue;
        if (!ref) {
            ref = t;
            CHECK(ref->n > 1000);
            continue;
        }
        CHECKF(t->n == ref->n && t->vocabulary == ref->vocabulary,
               "%d threads: %zu grams (vocabulary %zu), one thread %zu (%zu)", threads, t->n,
               t->vocabulary, ref->n, ref->vocabulary);
        size_t differ = 0;
        for (size_t k = 0; k < t->n && k < ref->n; k++)
            differ += strcmp(t->stats[k].gram, ref->stats[k].gram) != 0 ||
                      t->stats[k].df_a != ref->stats[k].df_a ||
                      t->stats[k].df_b != ref->stats[k].df_b || t->stats[k].z != ref->stats[k].z;
        CHECKF(differ == 0, "%d threads: %zu grams differ from one thread's", threads, differ);
        hr_ngram_table_destroy(t);
    }
    hr_ngram_table_destroy(ref);
    for (size_t i = 0; i < 2 * N; i++) free(texts[i]);
    free(texts);
}

/* hr_ngram_document_counts gives, for every gram of hr_ngram_contrast's
 * table, that table's df_a on A's texts and df_b on B's, on any number of
 * threads; grams are cut as texts are ("COVID 19" is "covid 19"); longer
 * grams are words in a row, in order; a token dropped for its length
 * breaks a row; bad grams are refused. */
static void test_document_counts_are_the_tables_counts(void)
{
    enum { N = 45000, VOCAB = 2000, SPECIAL = 7 };
    static const char *special[SPECIAL] = {
        "COVID-19 cases rise; covid 19 again", "state of origin: the State of Origin",
        "alpha xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx beta",
        "Ünïcode Wörter und ÜNÏCODE", "東京 news 東京", "alpha beta",
        "floods in New South Wales; new-south-wales again"};
    char **texts = malloc(2 * N * sizeof *texts);
    uint64_t st = 11;
    for (size_t i = 0; i < 2 * N; i++) {
        char buf[256];
        size_t len = 0;
        if (i % 97 == 0) {
            len = (size_t)snprintf(buf, sizeof buf, "%s", special[(i / 97) % SPECIAL]);
        } else {
            const int words = 2 + (int)(i % 7);
            for (int w = 0; w < words; w++) {
                st = st * 6364136223846793005ull + 1442695040888963407ull;
                size_t v = (size_t)((st >> 33) % VOCAB);
                v = v * v / VOCAB;
                if (i >= N && w == 0) v = (v + 5) % VOCAB;
                len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s%zu", w ? " " : "",
                                        v % 13 == 0 ? "the w" : "w", v);
            }
        }
        texts[i] = malloc(len + 1);
        memcpy(texts[i], buf, len + 1);
    }
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    hr_ngram_table *t = NULL;
    char err[256] = "";
    CHECKF(hr_ngram_contrast((const char *const *)texts, NULL, N, (const char *const *)texts + N,
                             NULL, N, &o, &t, err, sizeof err) == HR_OK, "%s", err);
    if (!t) return;
    CHECK(t->n > 1000);
    const size_t extra = 7, k = t->n + extra;
    const char **grams = malloc(k * sizeof *grams);
    for (size_t g = 0; g < t->n; g++) grams[g] = t->stats[g].gram;
    grams[t->n] = "COVID 19";        /* as the texts are cut: "covid 19" */
    grams[t->n + 1] = "zzz never";   /* in no text */
    grams[t->n + 2] = "alpha beta";  /* only where adjacent: not across the long token */
    grams[t->n + 3] = t->stats[0].gram; /* a repeat */
    grams[t->n + 4] = "new SOUTH wales";  /* three words in a row */
    grams[t->n + 5] = "wales south new";  /* in that order: in no text */
    grams[t->n + 6] = "alpha beta alpha"; /* not across texts or breaks */
    size_t *df_a = malloc(k * sizeof *df_a), *df_b = malloc(k * sizeof *df_b);
    for (int threads = 1; threads <= 3; threads += 2) {
        CHECKF(hr_ngram_document_counts((const char *const *)texts, NULL, N, grams, k, threads,
                                        df_a, err, sizeof err) == HR_OK, "%s", err);
        CHECKF(hr_ngram_document_counts((const char *const *)texts + N, NULL, N, grams, k,
                                        threads, df_b, err, sizeof err) == HR_OK, "%s", err);
        size_t differ = 0;
        for (size_t g = 0; g < t->n; g++)
            differ += df_a[g] != t->stats[g].df_a || df_b[g] != t->stats[g].df_b;
        CHECKF(differ == 0, "%d threads: %zu of %zu grams counted otherwise than the table",
               threads, differ, t->n);
        size_t covid = 0, alpha_beta = 0; /* what the table says of the texts as cut */
        for (size_t g = 0; g < t->n; g++) {
            if (strcmp(t->stats[g].gram, "covid 19") == 0)
                covid = t->stats[g].df_a + t->stats[g].df_b;
            if (strcmp(t->stats[g].gram, "alpha beta") == 0)
                alpha_beta = t->stats[g].df_a + t->stats[g].df_b;
        }
        CHECK(covid > 0 && df_a[t->n] + df_b[t->n] == covid);
        CHECK(df_a[t->n + 1] == 0 && df_b[t->n + 1] == 0);
        CHECK(alpha_beta > 0 && df_a[t->n + 2] + df_b[t->n + 2] == alpha_beta);
        CHECK(df_a[t->n + 3] == df_a[0] && df_b[t->n + 3] == df_b[0]);
        CHECK(df_a[t->n + 5] == 0 && df_b[t->n + 5] == 0 && df_a[t->n + 6] == 0);
    }
    size_t wales = 0; /* the special text 6 of every seven */
    for (size_t i = 0; i < N; i++) wales += i % 97 == 0 && (i / 97) % SPECIAL == 6;
    CHECKF(wales > 0 && df_a[t->n + 4] == wales, "new south wales: %zu texts of A, %zu hold it",
           df_a[t->n + 4], wales);
    /* "alpha beta" is in the special text 5 of every six, never in text 2 */
    size_t want = 0;
    for (size_t i = 0; i < N; i++) want += i % 97 == 0 && (i / 97) % SPECIAL == 5;
    CHECKF(df_a[t->n + 2] == want, "alpha beta: %zu texts of A, %zu hold it", df_a[t->n + 2], want);
    static const char *bad[] = {"", "!!!", "one two three four five six seven eight nine",
                                "x xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                "xxxxxxxxxx"};
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        const char *one[1] = {bad[b]};
        size_t df = 7;
        CHECKF(hr_ngram_document_counts((const char *const *)texts, NULL, 10, one, 1, 1, &df, err,
                                        sizeof err) == HR_ERR_INPUT, "gram \"%s\"", bad[b]);
        CHECK(strstr(err, "n-gram 0") != NULL);
        CHECK(hr_ngram_document_counts(NULL, NULL, 0, one, 1, 1, &df, err, sizeof err) ==
              HR_ERR_INPUT);
        CHECK(!hr_ngram_is_gram(bad[b], strlen(bad[b])));
    }
    CHECK(hr_ngram_is_gram("New South Wales", 15) && hr_ngram_is_gram("covid", 5) &&
          hr_ngram_is_gram("a b c d e f g h", 15));
    size_t zero[2] = {7, 7};
    CHECK(hr_ngram_document_counts(NULL, NULL, 0, grams, 2, 1, zero, err, sizeof err) == HR_OK &&
          zero[0] == 0 && zero[1] == 0);
    const char *none[2] = {"ok", NULL};
    CHECK(hr_ngram_document_counts((const char *const *)none, NULL, 2, grams, 1, 1, df_a, err,
                                   sizeof err) == HR_ERR_INPUT);
    free(df_a), free(df_b), free(grams);
    hr_ngram_table_destroy(t);
    for (size_t i = 0; i < 2 * N; i++) free(texts[i]);
    free(texts);
}

int main(void)
{
    RUN(test_bank_loads_at_least_500_unique_entries_and_has_no_blank_lines);
    RUN(test_pool_drops_duplicates_ignoring_case_and_whitespace);
    RUN(test_pool_rejects_empty_and_invalid_text);
    RUN(test_add_lines_skips_comments_and_blanks_and_names_the_bad_line);
    RUN(test_planted_word_has_the_highest_z_for_a);
    RUN(test_ngram_present_equally_in_both_has_small_z);
    RUN(test_order_is_deterministic_with_ties_broken_by_the_ngram);
    RUN(test_default_prior_ranks_the_same_when_the_corpora_are_copied);
    RUN(test_utf8_words_are_tokens_and_punctuation_separates);
    RUN(test_stop_words_and_repeats);
    RUN(test_counts_stay_right_as_the_tables_grow_and_texts_get_long);
    RUN(test_empty_corpora_and_bad_options_are_rejected);
    RUN(test_z_matches_the_python_reference);
    RUN(test_counts_are_the_same_on_any_number_of_threads);
    RUN(test_document_counts_are_the_tables_counts);
    return test_summary();
}
