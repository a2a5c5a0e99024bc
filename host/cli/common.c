/* host/cli/common.c: option parsing, errors and progress shared by commands. */
#include "cli.h"

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
    "  --threads N         CPU worker threads (default: one per core)\n"
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
