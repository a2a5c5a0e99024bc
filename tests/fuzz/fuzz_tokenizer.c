/* tests/fuzz/fuzz_tokenizer.c: the WordPiece tokenizer (hyporank/tokenizer.h):
 * the first byte picks the options and the room for ids, the rest is the
 * text. The tokenizer takes valid UTF-8 (the corpus readers check it), so
 * other bytes are skipped as its callers do. */
#include "fuzz_util.h"
#include "hyporank/corpus.h"
#include "hyporank/tokenizer.h"

static const char VOCAB[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\na\nis\nabout\n##s\n##ing\nhello\nworld\n,\n.\n!\n"
    "\xe4\xb8\xad\n\xc3\xa9t\xc3\xa9\n##\xc3\xa9\ncovid\n-\n19\n##19\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hr_tokenizer *tok[4];
    if (!tok[0]) {
        const char *path = fuzz_file((const uint8_t *)VOCAB, sizeof VOCAB - 1, "-vocab.txt");
        char err[512];
        for (int k = 0; k < 4; k++) {
            hr_tokenizer_options o = hr_tokenizer_default_options();
            o.do_lower_case = k & 1;
            o.strip_accents = k & 2 ? 1 : -1;
            if (hr_tokenizer_load(path, &o, &tok[k], err, sizeof err) != HR_OK) abort();
        }
        unlink(path);
    }
    if (size < 1) return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1, bad;
    if (!hr_utf8_valid(text, len, &bad)) return 0;
    int32_t ids[64];
    const size_t room = 2 + (size_t)(data[0] >> 2) % 62;
    size_t n = hr_tokenizer_encode(tok[data[0] & 3], text, len, ids, room);
    if (n < 2 || n > room) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= hr_tokenizer_vocab_size(tok[0])) abort();
    return 0;
}
