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

/* Options every command that embeds text takes. */
typedef struct cli_common {
    const char *model_dir;  /* --model, else $HYPORANK_MODEL, else the built-in default */
    hr_device device;       /* --device */
    int threads;            /* --threads, 0 = one per core */
    const char *cache_path; /* --cache, else the default; NULL with --no-cache */
    int no_cache;
    int quiet;              /* --quiet: no progress */
    const char *text_field; /* --text-field */
    const char *embed_url;  /* --embed-url: a remote OpenAI-compatible encoder */
    const char *embed_model;/* --embed-model */
    const char *llm_url;    /* --llm-url: an OpenAI-compatible chat endpoint */
    const char *llm_model;  /* --llm-model */
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

struct hr_cache;
struct hr_corpus;
struct cJSON;

/* Parses a whole number in [lo, hi] given to option opt; on error prints a
 * usage error and sets *ok = 0. */
long cli_parse_long(const char *cmd, const char *opt, const char *v, long lo, long hi, int *ok);

/* The sentence encoder the options name: the local model (--model, --device,
 * through the embedding cache) or a remote OpenAI-compatible endpoint
 * (--embed-url, --embed-model, cached likewise). */
typedef struct cli_embedder {
    const cli_common *opt;
    struct hr_model *model;             /* local */
    hr_encoder *enc;                    /* local */
    struct hr_cache *cache;             /* local, NULL with --no-cache */
    struct hr_remote_embedder *remote;  /* remote */
    char cache_path[4096];              /* "" with --no-cache */
    size_t dim;                         /* 0 until known (remote: after the first call) */
    size_t last_computed, last_cached;  /* texts of the last call: embedded, from the cache */
    cli_progress bar;                   /* of the call under way */
} cli_embedder;

hr_status cli_embedder_open(cli_embedder *e, const cli_common *opt, char *err, size_t errlen);
void cli_embedder_close(cli_embedder *e);
/* Embeds n texts (lens may be NULL) with a progress bar labelled label;
 * *emb receives a malloc'ed (n, e->dim) row-major matrix. */
hr_status cli_embedder_embed(cli_embedder *e, const char *const *texts, const size_t *lens,
                             size_t n, const char *label, float **emb, char *err, size_t errlen);
hr_status cli_embedder_embed_corpus(cli_embedder *e, const struct hr_corpus *corpus,
                                    const char *label, float **emb, char *err, size_t errlen);
const char *cli_embedder_model(const cli_embedder *e);    /* for reports */
const char *cli_embedder_model_id(const cli_embedder *e); /* NULL while unknown */
const char *cli_embedder_device(const cli_embedder *e);   /* "cpu", "cuda" or "remote" */

struct hr_scorer_options;
/* If argv[*i] is a scorer option (--score-method, --score-temperature),
 * consumes it into *so and returns 1; 0 when it is not one; -1 after a usage
 * error. */
int cli_scorer_parse(struct hr_scorer_options *so, const char *cmd, int argc, char **argv, int *i);
extern const char cli_scorer_help[];

/* Writes text and a final newline to path through a temporary file and a
 * rename: the file is there whole or not at all. */
hr_status cli_write_atomic(const char *path, const char *text, char *err, size_t errlen);

/* Adds a number to a JSON object so that it reads back as the same double
 * (the shortest of 15, 16 or 17 significant digits that does); null for an
 * infinity or NaN, which JSON cannot hold. */
void cli_json_number(struct cJSON *o, const char *name, double v);

/* Text for a table cell: control characters as spaces, cut at about width
 * bytes on a UTF-8 boundary with "..." after. out holds width + 4 bytes. */
void cli_table_text(const char *s, size_t len, char *out, size_t width);
/* A p- or q-value for a table, 9 characters: "%9.2e", or "  <1e-300" for
 * values below 1e-300 (with a million samples the normal approximation
 * underflows to 0, which would read as a certainty). Returns out. */
const char *cli_p_text(double p, char out[16]);

#endif
