/* tests/fuzz/fuzz_ngram_counts.c: the n-gram counter and the document counts
 * (hyporank/proposers.h) on any bytes. The input's lines are texts, the
 * first half A's, the rest B's (bytes that are not UTF-8 included: the
 * tokeniser takes them as separators). Every gram of hr_ngram_contrast's
 * table must get that table's df_a on A's texts and df_b on B's from
 * hr_ngram_document_counts, and each line read as a hypothesis must give
 * hr_mention_words a gram or NULL. */
#include "fuzz_util.h"
#include "hyporank/proposers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_TEXTS = 256 };
    const char *texts[MAX_TEXTS];
    size_t lens[MAX_TEXTS], n = 0;
    char *all = fuzz_string(data, size);
    for (size_t start = 0; start <= size && n < MAX_TEXTS;) {
        const char *nl = memchr(all + start, '\n', size - start);
        const size_t end = nl ? (size_t)(nl - all) : size;
        all[end] = '\0';
        texts[n] = all + start, lens[n] = end - start, n++;
        start = end + 1;
        if (!nl) break;
    }
    const size_t n_a = (n + 1) / 2, n_b = n - n_a;
    for (size_t i = 0; i < n; i++) {
        size_t wl = 0;
        const char *w = hr_mention_words(texts[i], lens[i], &wl);
        if (w && (w < texts[i] || w + wl > texts[i] + lens[i] || !hr_ngram_is_gram(w, wl))) abort();
    }
    if (n_b == 0) {
        free(all);
        return 0;
    }
    hr_ngram_options o = hr_ngram_default_options();
    o.min_count = 1;
    o.n_threads = 1;
    hr_ngram_table *t = NULL;
    char err[256];
    if (hr_ngram_contrast(texts, lens, n_a, texts + n_a, lens + n_a, n_b, &o, &t, err,
                          sizeof err) != HR_OK)
        abort(); /* lines of any bytes are texts */
    const char **grams = malloc((t->n ? t->n : 1) * sizeof *grams);
    size_t *df = malloc((t->n ? t->n : 1) * sizeof *df);
    if (!grams || !df) abort();
    for (size_t g = 0; g < t->n; g++) grams[g] = t->stats[g].gram;
    for (int side = 0; side < 2; side++) {
        const size_t first = side ? n_a : 0, count = side ? n_b : n_a;
        if (hr_ngram_document_counts(texts + first, lens + first, count, grams, t->n, 1, df, err,
                                     sizeof err) != HR_OK)
            abort();
        for (size_t g = 0; g < t->n; g++)
            if (df[g] != (side ? t->stats[g].df_b : t->stats[g].df_a)) abort();
    }
    free(grams), free(df);
    hr_ngram_table_destroy(t);
    free(all);
    return 0;
}
