/*
 * host/cli/cli.h: what the subcommands of the hyporank program share.
 *
 * Exit statuses: 0 success; 2 the run cannot go on with what it was given
 * (arguments, input files, model folder, device); 1 anything else.
 */
#ifndef HYPORANK_CLI_H
#define HYPORANK_CLI_H

#include "hyporank/encoder.h"
#include "hyporank/status.h"

#include <stddef.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

int cmd_embed(int argc, char **argv);
int cmd_rank(int argc, char **argv);

/* The exit status for a library status (see above). */
int cli_exit_code(hr_status st);

/* Prints "hyporank: <message>" to stderr and returns the exit status. */
int cli_error(hr_status st, const char *msg);
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Options every command that embeds text takes. */
typedef struct cli_common {
    const char *model_dir;  /* --model, else $HYPORANK_MODEL, else the built-in default */
    hr_device device;       /* --device */
    int threads;            /* --threads, 0 = one per core */
    const char *cache_path; /* --cache, else the default; NULL with --no-cache */
    int no_cache;
    int quiet;              /* --quiet: no progress */
    const char *text_field; /* --text-field */
} cli_common;

void cli_common_init(cli_common *c);
/* If argv[*i] is a common option, consumes it (and its value), returns 1;
 * returns 0 when it is not one; returns -1 after printing a usage error. */
int cli_common_parse(cli_common *c, const char *cmd, int argc, char **argv, int *i);
/* The help text of the common options. */
extern const char cli_common_help[];

/* Takes the value of option argv[*i]; prints a usage error and returns NULL
 * when there is none. */
const char *cli_take_value(const char *cmd, int argc, char **argv, int *i);

/* A progress bar on stderr, shown only when stderr is a terminal. */
typedef struct cli_progress {
    const char *label;
    int enabled;
    double start;      /* seconds */
    double last_draw;  /* seconds */
} cli_progress;

void cli_progress_init(cli_progress *p, const char *label, int quiet);
void cli_progress_update(size_t done, size_t total, void *p); /* an hr_progress_fn */
void cli_progress_finish(cli_progress *p);

double cli_now(void); /* monotonic seconds */

#endif
