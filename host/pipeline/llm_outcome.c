/* host/pipeline/llm_outcome.c: what became of a run's LLM work, and the
 * client settings it runs with (pipeline.h). */
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <string.h>

static void on_llm_line(const char *line, void *user)
{
    hr_pipe_event(user, HR_EVENT_INFO, "%s", line);
}

void hr_pipe_llm_options(hr_remote_options *ro, const char *url, const char *model,
                         const char *cache_path, double timeout_s, double deadline_s,
                         const hr_events *ev)
{
    hr_remote_options_init(ro);
    ro->url = url;
    ro->model = model;
    ro->cache_path = cache_path;
    if (timeout_s > 0) ro->timeout_s = timeout_s;
    ro->deadline_s = deadline_s;
    if (ev && ev->fn) {
        ro->log = on_llm_line;
        ro->log_user = (void *)ev;
    }
}

int hr_pipe_llm_survive(hr_pipe_llm_outcome *out, hr_status st)
{
    if (st != HR_ERR_INPUT && st != HR_ERR_IO) return 0;
    if (out->stop == HR_OK) out->stop = st;
    return 1;
}

hr_status hr_pipe_llm_report(hr_report *rep, const hr_pipe_llm_outcome *out, const hr_llm *llm)
{
    hr_report_info *in = &rep->info;
    in->llm_rounds = out->rounds;
    in->llm_rounds_failed = out->rounds - out->rounds_usable;
    in->verdicts_asked = out->verdicts;
    const size_t asked = out->rounds + out->verdicts;
    const size_t usable = out->rounds_usable + out->verdicts_given;
    if (asked > 0 && usable == 0) in->llm_state = HR_LLM_FAILED;
    else if (usable < asked || out->stop != HR_OK) in->llm_state = HR_LLM_PARTIAL;
    else in->llm_state = HR_LLM_OK;
    in->llm_status = in->llm_state == HR_LLM_OK ? HR_OK
                     : out->stop == HR_ERR_INPUT ? HR_ERR_INPUT
                                                 : HR_ERR_IO;
    int failed = 0;
    in->llm_error = in->llm_state == HR_LLM_OK
                        ? NULL
                        : hr_report_keep(rep, hr_llm_last_error(llm), &failed);
    return failed ? HR_ERR_NOMEM : HR_OK;
}

void hr_pipe_llm_outcome_text(const hr_report_info *in, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!in->has_llm || in->llm_state == HR_LLM_OK) return;
    const size_t rounds_ok = in->llm_rounds - in->llm_rounds_failed;
    const size_t verdicts_ok = in->verdicts_asked - in->verdicts_missing;
    snprintf(buf, len, "%s (%zu of %zu proposal rounds, %zu of %zu verdicts usable)%s%s",
             in->llm_state == HR_LLM_FAILED ? "failed: not one usable answer, the report is "
                                              "the offline one"
                                            : "partial: some answers are missing",
             rounds_ok, in->llm_rounds, verdicts_ok, in->verdicts_asked,
             in->llm_error ? "; the last error: " : "", in->llm_error ? in->llm_error : "");
}
