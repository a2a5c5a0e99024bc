/*
 * host/cli/cli.h: what the subcommands of the hyporank program share. Each
 * command parses its options (one table, below), calls the library
 * (hyporank/describe.h, rank.h, explain_run.h, embedder.h) and renders its
 * report; the library does the work and never prints.
 *
 * Exit statuses: 0 success; 2 the run cannot go on with what it was given
 * (arguments, input files, model folder, device, an output that would
 * overwrite an input; describe: an LLM endpoint that refuses its URL, key or
 * model, or cannot be reached); 3 describe asked for an LLM and not one
 * answer was usable (the offline report is still printed and written); 1
 * anything else.
 */
#ifndef HYPORANK_CLI_H
#define HYPORANK_CLI_H

#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/output.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include <stddef.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_LLM 3

int cmd_embed(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_rank(int argc, char **argv);
int cmd_explain(int argc, char **argv);

/* The exit status for a library status (see above). */
int cli_exit_code(hr_status st);

/* Prints "hyporank: <message>" to stderr and returns the exit status. */
int cli_error(hr_status st, const char *msg);
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- options: one table per command ---- */

typedef enum cli_kind {
    CLI_STRING,   /* const char *: the value as given */
    CLI_NONEMPTY, /* const char *: the value, which must not be empty */
    CLI_SET,      /* int: a flag that sets 1 */
    CLI_CLEAR,    /* int: a flag that sets 0 (--no-bank) */
    CLI_INT,      /* int: a whole number in [lo, hi] */
    CLI_SIZE,     /* size_t: a whole number in [lo, hi] */
    CLI_U64,      /* uint64_t: a whole number in [lo, hi] */
    CLI_REAL,     /* double: a number in [lo, hi] */
    CLI_POSITIVE, /* double: a number in (0, hi] */
    CLI_DEVICE,   /* hr_device: cpu, cuda or auto */
    CLI_METHOD    /* hr_score_method: contrast, cosine or centered */
} cli_kind;

/* One option: its name, what it takes, where the value goes and its bounds.
 * A table ends with an entry whose name is NULL. */
typedef struct cli_option {
    const char *name; /* "--top" */
    cli_kind kind;
    void *dst;        /* of the kind's type (above) */
    double lo, hi;    /* bounds of numbers */
} cli_option;

/* Options every command that embeds text takes. */
typedef struct cli_common {
    hr_embedder_options embed; /* --model (also $HYPORANK_MODEL), --device, --threads,
                                  --embed-url, --embed-model, --cache, --no-cache,
                                  --no-verify-model */
    int quiet;                 /* --quiet: no progress, no notes about the run */
    const char *text_field;    /* --text-field */
    /* the progress bar of the step under way (cli_events) */
    const char *bar_label;
    int bar_enabled;
    double bar_start, bar_last_draw; /* seconds */
} cli_common;

void cli_common_init(cli_common *c);
/* The help texts (host/cli/help.c): each command's is a printf format
 * taking the scorer's (describe, rank, explain) and the common options'. */
extern const char cli_common_help[];
extern const char cli_scorer_help[];
/* What each field of a rank or describe row means (an argument of their help). */
extern const char cli_fields_help[];
extern const char cli_embed_help[];
extern const char cli_rank_help[];
extern const char cli_describe_help[];
extern const char cli_explain_help[];

enum { CLI_PARSED = 0, CLI_HELP = 1, CLI_BAD = -1 };

/* Parses argv[0..argc) against the command's own table and, when given,
 * the common options (common) and the scorer's (--score-method,
 * --score-temperature into scorer). Returns CLI_PARSED; CLI_HELP for
 * --help or -h (the caller prints its help); CLI_BAD after printing a usage
 * error (an unknown option, a missing or bad value). */
int cli_parse(const char *cmd, int argc, char **argv, const cli_option *own, cli_common *common,
              hr_scorer_options *scorer);

/* ---- rendering ---- */

/* The library's events, shown as the program shows them: progress bars on
 * stderr when it is a terminal, INFO lines unless --quiet, NOTE lines always
 * ("hyporank: <text>"). */
hr_events cli_events(cli_common *c);

double cli_now(void); /* monotonic seconds */

/* Checks, before any work, that no output of the command is one of its
 * inputs, the cache or another output (hyporank/output.h). uses: the
 * command's own paths; the cache (its file and SQLite's -wal and -shm
 * beside it) and the model's files are added when embeds (the command will
 * open them). Prints a usage error and returns CLI_EXIT_USAGE on a clash,
 * else CLI_EXIT_OK. */
int cli_check_paths(const char *cmd, const cli_common *c, int embeds, const hr_path_use *uses,
                    size_t n);

/* The self-contained HTML page (hyporank/html.h) of report, an hr_report
 * (describe, rank) or with explain an hr_explain_report, through
 * hr_output_write; says where it wrote unless quiet. */
hr_status cli_write_html(const char *path, const void *report, int explain, int quiet, char *err,
                         size_t errlen);
/* Writes json (a renderer's malloc'ed text, NULL when it ran out of memory;
 * freed here) and a final newline to path, through hr_output_write (written
 * whole or not at all). */
hr_status cli_write_json(const char *path, char *json, char *err, size_t errlen);

#endif
