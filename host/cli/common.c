/* host/cli/common.c: option parsing, errors and progress shared by commands. */
#include "cli.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/scorer.h"

#include <cjson/cJSON.h>
#include <math.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cli_common_help[] =
    "Model and device:\n"
    "  --model DIR         sentence-transformers model folder (also $HYPORANK_MODEL;\n"
    "                      default: the one scripts/fetch-model.sh lays out)\n"
    "  --device D          cpu, cuda or auto (default auto: the GPU when usable)\n"
    "                      for the encoder, the scorer and the probe (auto keeps\n"
    "                      groups of under 1e6 A-B pairs on the CPU, whose AUROC\n"
    "                      is exact, and small probes on the CPU)\n"
    "  --threads N         CPU worker threads (default: one per core; with the GPU,\n"
    "                      one drives it and the others tokenise)\n"
    "  --embed-url URL     embed with a remote OpenAI-compatible /v1/embeddings\n"
    "                      endpoint instead (key from $HYPORANK_API_KEY or\n"
    "                      $OPENAI_API_KEY)\n"
    "  --embed-model NAME  the remote embedding model (with --embed-url)\n"
    "Cache:\n"
    "  --cache FILE        embedding cache (default $HYPORANK_CACHE, else\n"
    "                      ~/.cache/hyporank/cache.sqlite)\n"
    "  --no-cache          neither read nor write the cache\n"
    "Input:\n"
    "  --text-field NAME   JSONL field or CSV column holding the text (default text)\n"
    "Output:\n"
    "  --quiet             no progress bar\n";

int cli_exit_code(hr_status st)
{
    switch (st) {
    case HR_OK: return CLI_EXIT_OK;
    case HR_ERR_INPUT:
    case HR_ERR_IO:
    case HR_ERR_MODEL:
    case HR_ERR_UNSUPPORTED:
    case HR_ERR_NO_DEVICE: return CLI_EXIT_USAGE;
    default: return CLI_EXIT_FAIL;
    }
}

int cli_error(hr_status st, const char *msg)
{
    fprintf(stderr, "hyporank: %s\n", msg && *msg ? msg : hr_status_str(st));
    return cli_exit_code(st);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hyporank %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see: hyporank %s --help)\n", cmd);
    return CLI_EXIT_USAGE;
}

void cli_common_init(cli_common *c)
{
    memset(c, 0, sizeof *c);
    const char *env = getenv("HYPORANK_MODEL");
    c->model_dir = env && *env ? env : HR_DEFAULT_MODEL_DIR;
    c->device = HR_DEVICE_AUTO;
    c->text_field = "text";
}

const char *cli_take_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    *i += 1;
    return argv[*i];
}

int cli_common_parse(cli_common *c, const char *cmd, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *v;
    if (strcmp(opt, "--model") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        c->model_dir = v;
    } else if (strcmp(opt, "--device") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        if (hr_device_parse(v, &c->device) != 0) {
            cli_usage_error(cmd, "--device must be cpu, cuda or auto, not '%s'", v);
            return -1;
        }
    } else if (strcmp(opt, "--threads") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < 1 || n > 64) {
            cli_usage_error(cmd, "--threads must be a whole number from 1 to 64, not '%s'", v);
            return -1;
        }
        c->threads = (int)n;
    } else if (strcmp(opt, "--cache") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        c->cache_path = v;
    } else if (strcmp(opt, "--embed-url") == 0 || strcmp(opt, "--embed-model") == 0 ||
               strcmp(opt, "--llm-url") == 0 || strcmp(opt, "--llm-model") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        if (!*v) {
            cli_usage_error(cmd, "%s must not be empty", opt);
            return -1;
        }
        if (strcmp(opt, "--embed-url") == 0) c->embed_url = v;
        else if (strcmp(opt, "--embed-model") == 0) c->embed_model = v;
        else if (strcmp(opt, "--llm-url") == 0) c->llm_url = v;
        else c->llm_model = v;
    } else if (strcmp(opt, "--no-cache") == 0) {
        c->no_cache = 1;
    } else if (strcmp(opt, "--quiet") == 0 || strcmp(opt, "-q") == 0) {
        c->quiet = 1;
    } else if (strcmp(opt, "--text-field") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        if (!*v) {
            cli_usage_error(cmd, "--text-field must not be empty");
            return -1;
        }
        c->text_field = v;
    } else {
        return 0;
    }
    return 1;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, const char *label, int quiet)
{
    p->label = label;
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->start = cli_now();
    p->last_draw = 0.0;
}

void cli_progress_update(size_t done, size_t total, void *arg)
{
    cli_progress *p = arg;
    if (!p->enabled || total == 0) return;
    double now = cli_now();
    if (done < total && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    const int width = 30;
    double frac = (double)done / (double)total;
    int fill = (int)(frac * width);
    char bar[64];
    for (int k = 0; k < width; k++) bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
    bar[width] = '\0';
    double elapsed = now - p->start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    fprintf(stderr, "\r%s [%s] %zu/%zu %3.0f%%  %.0f/s  eta %d:%02d ", p->label, bar, done, total,
            100.0 * frac, rate, (int)(eta / 60), (int)eta % 60);
    fflush(stderr);
}

void cli_progress_finish(cli_progress *p)
{
    if (p->enabled) fputc('\n', stderr);
}

long cli_parse_long(const char *cmd, const char *opt, const char *v, long lo, long hi, int *ok)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi) {
        cli_usage_error(cmd, "%s must be a whole number from %ld to %ld, not '%s'", opt, lo, hi, v);
        *ok = 0;
        return 0;
    }
    *ok = 1;
    return n;
}

hr_status cli_write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    size_t tlen = strlen(path) + 32;
    char *tmp = malloc(tlen);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return HR_ERR_NOMEM;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return HR_ERR_IO;
    }
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF && fflush(f) == 0 &&
             fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok) saved = errno;
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        unlink(tmp);
        free(tmp);
        return HR_ERR_IO;
    }
    free(tmp);
    return HR_OK;
}

void cli_json_number(cJSON *o, const char *name, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    cJSON_AddRawToObject(o, name, buf);
}

const char *cli_p_text(double p, char out[16])
{
    if (p < 1e-300) snprintf(out, 16, "%9s", "<1e-300");
    else snprintf(out, 16, "%9.2e", p);
    return out;
}

void cli_table_text(const char *s, size_t len, char *out, size_t width)
{
    size_t n = len < width ? len : width;
    if (len > width)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* not inside a character */
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (len > n) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

const char cli_scorer_help[] =
    "Score method:\n"
    "  --score-method M    how a hypothesis scores a text (default contrast):\n"
    "                      contrast  similarity to the hypothesis against the other\n"
    "                                candidates (log-odds that the text is about this\n"
    "                                one rather than another; scores are relative to\n"
    "                                the pool, so a side dominated by one topic scores\n"
    "                                lower on every other)\n"
    "                      cosine    raw embedding similarity (as VisDiff)\n"
    "                      centered  similarity minus the mean over the other candidates\n"
    "  --score-temperature T   contrast's temperature (default 0.02)\n";

int cli_scorer_parse(hr_scorer_options *so, const char *cmd, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *v;
    if (strcmp(opt, "--score-method") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        if (hr_score_method_parse(v, &so->method) != 0) {
            cli_usage_error(cmd, "--score-method must be contrast, cosine or centered, not '%s'", v);
            return -1;
        }
        return 1;
    }
    if (strcmp(opt, "--score-temperature") == 0) {
        if (!(v = cli_take_value(cmd, argc, argv, i))) return -1;
        char *end;
        errno = 0;
        double t = strtod(v, &end);
        if (errno || *end || end == v || !(t > 0.0 && t <= HR_SCORER_MAX_TEMPERATURE)) {
            cli_usage_error(cmd, "--score-temperature must be a number above 0 and at most %g, not '%s'",
                            HR_SCORER_MAX_TEMPERATURE, v);
            return -1;
        }
        so->temperature = t;
        return 1;
    }
    return 0;
}
