/* tests/fuzz/fuzz_verify_answers.c: the judge's answers as the verifier reads
 * them (host/discovery/verify.c's parse_answers: ids, loose verdicts,
 * conflicts); the first byte is the request's text count. The source is
 * compiled in to reach the static parser. */
#include "fuzz_util.h"
#include "../../host/discovery/verify.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const size_t n = 1 + data[0] % 32;
    signed char verdict[32];
    unsigned char state[32];
    char *content = fuzz_string(data + 1, size - 1);
    int usable = parse_answers(content, n, verdict, state);
    int given = 0;
    for (size_t i = 0; i < n; i++) {
        if (verdict[i] < -1 || verdict[i] > 1) abort();
        given += verdict[i] >= 0;
    }
    if (usable && given == 0) abort(); /* usable means at least one verdict */
    free(content);
    return 0;
}
