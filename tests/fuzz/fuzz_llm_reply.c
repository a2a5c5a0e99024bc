/* tests/fuzz/fuzz_llm_reply.c: a chat-completions reply as the client reads
 * it (host/net/llm.c's reply callback: UTF-8, JSON, shape, json_object mode),
 * then the content through the proposer's parser (hr_llm_parse_proposals).
 * The client's source is compiled in here to reach its static callback; the
 * library's copy is then never linked. The first byte picks json_object. */
#include "fuzz_util.h"
#include "../../host/net/llm.c"
#include "hyporank/llm_propose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hr_llm *llm;
    if (!llm) {
        hr_remote_options o;
        hr_remote_options_init(&o);
        o.url = "http://127.0.0.1:9"; /* nothing is sent: only the reply is read */
        o.model = "fuzz";
        char err[512];
        if (hr_llm_create(&o, &llm, err, sizeof err) != HR_OK) abort();
    }
    if (size < 1) return 0;
    hr_llm_request rq = {.user = "u", .temperature = 0, .json_object = data[0] & 1};
    hr_llm_result res;
    memset(&res, 0, sizeof res);
    unsigned char filled = 0;
    member m = {{0}, 0};
    group g = {0, 1, 0};
    hr_remote_stats st;
    memset(&st, 0, sizeof st);
    ctx c = {llm, &rq, &res, &filled, &m, &g, 1, 0, &st};
    char *body = fuzz_string(data + 1, size - 1);
    hr_http_reply rep = {body, size - 1, "{}", 2, 200, 1};
    int bad = 0;
    char err[1024];
    hr_status s = reply_cb(&c, 0, &rep, &bad, err, sizeof err);
    if (s != HR_OK || !filled) abort();
    if (res.status == HR_OK) {
        hr_proposal_list l;
        if (hr_llm_parse_proposals(res.content, strlen(res.content), &l, err, sizeof err) == HR_OK)
            hr_proposal_list_free(&l);
    }
    hr_llm_results_free(&res, 1);
    free(body);
    return 0;
}
