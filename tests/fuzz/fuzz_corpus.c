/* tests/fuzz/fuzz_corpus.c: the JSONL, TXT and CSV readers (hyporank/corpus.h).
 * The first byte picks the format and whether a second field is asked for. */
#include "fuzz_util.h"
#include "hyporank/corpus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const char *const SUFFIX[3] = {".jsonl", ".txt", ".csv"};
    const int fmt = data[0] % 3;
    const char *path = fuzz_file(data + 1, size - 1, SUFFIX[fmt]);
    const char *extra[] = {"label"};
    hr_corpus_options o = {.text_field = (data[0] & 4) ? "body" : NULL,
                           .format = HR_FORMAT_AUTO,
                           .fields = (data[0] & 8) ? extra : NULL,
                           .n_fields = (data[0] & 8) ? 1 : 0};
    hr_corpus *c = NULL;
    char err[512];
    if (hr_corpus_read(path, &o, &c, err, sizeof err) == HR_OK) {
        for (size_t i = 0; i < c->n; i++) {
            size_t bad;
            if (!hr_utf8_valid(c->texts[i], c->lens[i], &bad) || strlen(c->texts[i]) != c->lens[i])
                abort(); /* the reader promised valid UTF-8 without NUL */
            if (o.n_fields) (void)hr_corpus_get_field(c, i, 0);
        }
    }
    hr_corpus_destroy(c);
    unlink(path);
    return 0;
}
