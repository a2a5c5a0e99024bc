/* host/cli/common.c: option tables, errors, progress and file writing
 * shared by the commands (cli.h). */
#include "cli.h"
#include "hyporank/cache.h"
#include "hyporank/html.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    hr_embedder_options_init(&c->embed);
    const char *env = getenv("HYPORANK_MODEL");
    c->embed.model_dir = env && *env ? env : HR_DEFAULT_MODEL_DIR;
    c->text_field = "text";
}

/* ---- the option tables ---- */

/* Entries of the shared tables, the terminating one included. */
#define CLI_COMMON_OPTIONS 12
#define CLI_SCORER_OPTIONS 3

static void common_table(cli_common *c, cli_option t[CLI_COMMON_OPTIONS])
{
    const cli_option common[CLI_COMMON_OPTIONS] = {
        {"--model", CLI_STRING, &c->embed.model_dir, 0, 0},
        {"--device", CLI_DEVICE, &c->embed.device, 0, 0},
        {"--threads", CLI_INT, &c->embed.n_threads, 1, 64},
        {"--cache", CLI_STRING, &c->embed.cache_path, 0, 0},
        {"--no-cache", CLI_SET, &c->embed.no_cache, 0, 0},
        {"--no-verify-model", CLI_SET, &c->embed.no_verify_model, 0, 0},
        {"--embed-url", CLI_NONEMPTY, &c->embed.url, 0, 0},
        {"--embed-model", CLI_NONEMPTY, &c->embed.model, 0, 0},
        {"--quiet", CLI_SET, &c->quiet, 0, 0},
        {"-q", CLI_SET, &c->quiet, 0, 0},
        {"--text-field", CLI_NONEMPTY, &c->text_field, 0, 0},
        {NULL, CLI_STRING, NULL, 0, 0},
    };
    memcpy(t, common, sizeof common);
}

static void scorer_table(hr_scorer_options *so, cli_option t[CLI_SCORER_OPTIONS])
{
    t[0] = (cli_option){"--score-method", CLI_METHOD, &so->method, 0, 0};
    t[1] = (cli_option){"--score-temperature", CLI_POSITIVE, &so->temperature, 0,
                        HR_SCORER_MAX_TEMPERATURE};
    t[2] = (cli_option){NULL, CLI_STRING, NULL, 0, 0};
}

static const cli_option *find(const cli_option *t, const char *name)
{
    for (size_t i = 0; t[i].name; i++)
        if (strcmp(t[i].name, name) == 0) return &t[i];
    return NULL;
}

/* A whole number in [lo, hi]; on error prints a usage error, returns -1. */
static int parse_whole(const char *cmd, const cli_option *o, const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || end == v || (double)n < o->lo || (double)n > o->hi) {
        cli_usage_error(cmd, "%s must be a whole number from %.0f to %.0f, not '%s'", o->name,
                        o->lo, o->hi, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* Stores value v of option o; on error prints a usage error, returns -1. */
static int take(const char *cmd, const cli_option *o, const char *v)
{
    long long n;
    double x;
    char *end;
    switch (o->kind) {
    case CLI_NONEMPTY:
        if (!*v) {
            cli_usage_error(cmd, "%s must not be empty", o->name);
            return -1;
        }
        /* fall through */
    case CLI_STRING: *(const char **)o->dst = v; return 0;
    case CLI_INT:
        if (parse_whole(cmd, o, v, &n)) return -1;
        *(int *)o->dst = (int)n;
        return 0;
    case CLI_SIZE:
        if (parse_whole(cmd, o, v, &n)) return -1;
        *(size_t *)o->dst = (size_t)n;
        return 0;
    case CLI_U64:
        if (parse_whole(cmd, o, v, &n)) return -1;
        *(uint64_t *)o->dst = (uint64_t)n;
        return 0;
    case CLI_REAL:
    case CLI_POSITIVE:
        errno = 0;
        x = strtod(v, &end);
        if (o->kind == CLI_REAL && (errno == ERANGE || *end || end == v || !(x >= o->lo && x <= o->hi))) {
            cli_usage_error(cmd, "%s must be a number from %g to %g, not '%s'", o->name, o->lo,
                            o->hi, v);
            return -1;
        }
        if (o->kind == CLI_POSITIVE && (errno || *end || end == v || !(x > 0.0 && x <= o->hi))) {
            cli_usage_error(cmd, "%s must be a number above 0 and at most %g, not '%s'", o->name,
                            o->hi, v);
            return -1;
        }
        *(double *)o->dst = x;
        return 0;
    case CLI_DEVICE:
        if (hr_device_parse(v, o->dst) != 0) {
            cli_usage_error(cmd, "%s must be cpu, cuda or auto, not '%s'", o->name, v);
            return -1;
        }
        return 0;
    case CLI_METHOD:
        if (hr_score_method_parse(v, o->dst) != 0) {
            cli_usage_error(cmd, "%s must be contrast, cosine or centered, not '%s'", o->name, v);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

int cli_parse(const char *cmd, int argc, char **argv, const cli_option *own, cli_common *common,
              hr_scorer_options *scorer)
{
    cli_option ct[CLI_COMMON_OPTIONS], st[CLI_SCORER_OPTIONS];
    if (common) common_table(common, ct);
    if (scorer) scorer_table(scorer, st);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return CLI_HELP;
        const cli_option *o = find(own, arg);
        if (!o && common) o = find(ct, arg);
        if (!o && scorer) o = find(st, arg);
        if (!o) {
            const int llm = strcmp(arg, "--llm-url") == 0 || strcmp(arg, "--llm-model") == 0;
            cli_usage_error(cmd, "unknown option '%s'%s", arg,
                            llm ? " (only describe calls an LLM)" : "");
            return CLI_BAD;
        }
        if (o->kind == CLI_SET || o->kind == CLI_CLEAR) {
            *(int *)o->dst = o->kind == CLI_SET;
            continue;
        }
        if (i + 1 >= argc) {
            cli_usage_error(cmd, "%s needs a value", arg);
            return CLI_BAD;
        }
        if (take(cmd, o, argv[++i]) != 0) return CLI_BAD;
    }
    return CLI_PARSED;
}

/* ---- rendering ---- */

double cli_now(void)
{
    return hr_now();
}

static void draw_bar(cli_common *c, size_t done, size_t total)
{
    if (!c->bar_enabled || total == 0) return;
    double now = cli_now();
    if (done < total && now - c->bar_last_draw < 0.1) return;
    c->bar_last_draw = now;
    const int width = 30;
    double frac = (double)done / (double)total;
    int fill = (int)(frac * width);
    char bar[64];
    for (int k = 0; k < width; k++) bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
    bar[width] = '\0';
    double elapsed = now - c->bar_start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    fprintf(stderr, "\r%s [%s] %zu/%zu %3.0f%%  %.0f/s  eta %d:%02d ", c->bar_label, bar, done,
            total, 100.0 * frac, rate, (int)(eta / 60), (int)eta % 60);
    fflush(stderr);
}

static void on_event(const hr_event *ev, void *user)
{
    cli_common *c = user;
    switch (ev->kind) {
    case HR_EVENT_BEGIN:
        /* The label stays valid until the step's END (hyporank/events.h). */
        c->bar_label = ev->text ? ev->text : "";
        c->bar_enabled = !c->quiet && isatty(STDERR_FILENO);
        c->bar_start = cli_now();
        c->bar_last_draw = 0.0;
        break;
    case HR_EVENT_PROGRESS: draw_bar(c, ev->done, ev->total); break;
    case HR_EVENT_END:
        if (c->bar_enabled) fputc('\n', stderr);
        c->bar_enabled = 0;
        break;
    case HR_EVENT_INFO:
        if (!c->quiet) fprintf(stderr, "hyporank: %s\n", ev->text);
        break;
    case HR_EVENT_NOTE: fprintf(stderr, "hyporank: %s\n", ev->text); break;
    }
}

hr_events cli_events(cli_common *c)
{
    hr_events ev = {on_event, c, NULL};
    return ev;
}

int cli_check_paths(const char *cmd, const cli_common *c, int embeds, const hr_path_use *uses,
                    size_t n)
{
    enum { EXTRA = 6 }; /* the cache, its -wal and -shm; the model's three files */
    hr_path_use *all = malloc((n + EXTRA) * sizeof *all);
    char cache[4096] = "", wal[4200], shm[4200], weights[4200], vocab[4200], config[4200];
    if (!all) return cli_error(HR_ERR_NOMEM, "out of memory");
    memcpy(all, uses, n * sizeof *all);
    size_t k = n;
    if (embeds && !c->embed.no_cache) {
        const char *path = c->embed.cache_path;
        if (!path) path = hr_cache_default_path(cache, sizeof cache);
        if (path) {
            snprintf(wal, sizeof wal, "%s-wal", path);
            snprintf(shm, sizeof shm, "%s-shm", path);
            all[k++] = (hr_path_use){"--cache", path, HR_PATH_INPUT};
            all[k++] = (hr_path_use){"--cache (its -wal file)", wal, HR_PATH_INPUT};
            all[k++] = (hr_path_use){"--cache (its -shm file)", shm, HR_PATH_INPUT};
        }
    }
    if (embeds && !c->embed.url && c->embed.model_dir) {
        const char *d = c->embed.model_dir;
        snprintf(weights, sizeof weights, "%s/model.safetensors", d);
        snprintf(vocab, sizeof vocab, "%s/vocab.txt", d);
        snprintf(config, sizeof config, "%s/config.json", d);
        all[k++] = (hr_path_use){"--model (its weights)", weights, HR_PATH_INPUT};
        all[k++] = (hr_path_use){"--model (its vocabulary)", vocab, HR_PATH_INPUT};
        all[k++] = (hr_path_use){"--model (its config.json)", config, HR_PATH_INPUT};
    }
    char err[9000];
    hr_status st = hr_output_check(all, k, err, sizeof err);
    free(all);
    if (st == HR_OK) return CLI_EXIT_OK;
    if (st != HR_ERR_INPUT) return cli_error(st, err);
    return cli_usage_error(cmd, "%s", err);
}

static hr_status write_text(FILE *f, const void *text)
{
    size_t len = strlen(text);
    return fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF ? HR_OK : HR_ERR_IO;
}

hr_status cli_write_json(const char *path, char *json, char *err, size_t errlen)
{
    if (!json) {
        snprintf(err, errlen, "out of memory building the JSON");
        return HR_ERR_NOMEM;
    }
    hr_status st = hr_output_write(path, write_text, json, err, errlen);
    free(json);
    return st;
}

static hr_status write_report_html(FILE *f, const void *report)
{
    hr_html_options o;
    hr_html_options_init(&o);
    o.generator = "hyporank " HR_VERSION;
    return hr_report_write_html(f, report, &o);
}

static hr_status write_explain_html(FILE *f, const void *report)
{
    hr_html_options o;
    hr_html_options_init(&o);
    o.generator = "hyporank " HR_VERSION;
    return hr_explain_report_write_html(f, report, &o);
}

hr_status cli_write_html(const char *path, const void *report, int explain, int quiet, char *err,
                         size_t errlen)
{
    hr_status st = hr_output_write(path, explain ? write_explain_html : write_report_html, report,
                                   err, errlen);
    if (st == HR_OK && !quiet) fprintf(stderr, "hyporank: wrote %s\n", path);
    return st;
}
