/* tests/fuzz/fuzz_embed_reply.c: an embeddings reply as the remote embedder
 * reads it (host/net/remote_embed.c's reply callback: the data list, indices,
 * widths, finite numbers), for a batch of 1 to 4 texts; the first byte picks
 * the count and whether the width is already known. The source is compiled
 * in to reach its static callback. */
#include "fuzz_util.h"
#include "../../host/net/remote_embed.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    hr_remote_embedder e;
    memset(&e, 0, sizeof e);
    char model[] = "fuzz";
    e.model = model;
    const size_t n = 1 + (data[0] & 3);
    const int known = (data[0] & 4) != 0;
    e.dim = known ? 4 : 0;
    const char *texts[4] = {"a", "b", "c", "d"};
    size_t todo[4] = {0, 1, 2, 3};
    float out[4 * 4];
    hr_remote_stats st;
    memset(&st, 0, sizeof st);
    ctx c;
    memset(&c, 0, sizeof c);
    c.e = &e;
    c.texts = texts;
    c.todo = todo;
    c.ntodo = n;
    c.batch = n;
    c.out = known ? out : NULL;
    c.n = n;
    c.st = &st;
    hr_remote_options o;
    hr_remote_options_init(&o);
    o.url = "http://127.0.0.1:9"; /* nothing is sent */
    o.model = "fuzz";
    char err[1024];
    if (hr_http_create(&o, "embeddings", 1 << 20, &e.http, err, sizeof err) != HR_OK) abort();
    char *body = fuzz_string(data + 1, size - 1);
    hr_http_reply rep = {body, size - 1, "{}", 2, 200, 1};
    int bad = 0;
    (void)reply_cb(&c, 0, &rep, &bad, err, sizeof err);
    free(c.probe);
    free(e.model_id);
    hr_http_destroy(e.http);
    free(body);
    return 0;
}
