/*
 * hyporank/status.h: status codes shared by every module.
 *
 * Library functions return an hr_status and never exit or print. Most take an
 * optional error buffer (char *err, size_t errlen) that receives one line of
 * detail (file, line, what was wrong); pass NULL, 0 to skip it.
 *
 *     char err[512];
 *     hr_status st = hr_corpus_read("a.jsonl", NULL, &corpus, err, sizeof err);
 *     if (st != HR_OK) fprintf(stderr, "hyporank: %s\n", err);
 *
 * HR_ERR_INPUT marks a problem with the user's input (bad file, bad value):
 * the CLI turns it into exit status 2. Every other error is exit status 1.
 */
#ifndef HYPORANK_STATUS_H
#define HYPORANK_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_status {
    HR_OK = 0,
    HR_ERR_INPUT,       /* the user's input is invalid: file, line, value */
    HR_ERR_IO,          /* reading or writing failed (disk, permissions) */
    HR_ERR_NOMEM,       /* an allocation failed */
    HR_ERR_MODEL,       /* the model folder is missing, malformed or unsupported */
    HR_ERR_UNSUPPORTED, /* asked for something this build or device cannot do */
    HR_ERR_NO_DEVICE,   /* no usable CUDA device */
    HR_ERR_CUDA,        /* a CUDA or cuBLAS call failed */
    HR_ERR_CACHE,       /* an SQLite call on the cache failed */
    HR_ERR_INTERNAL,    /* a bug: a precondition that callers should have met */
    HR_ERR_CANCELLED    /* the caller's cancel hook stopped the call (hyporank/events.h) */
} hr_status;

/* A short, static, human-readable name of a status ("invalid input"). */
const char *hr_status_str(hr_status st);

#ifdef __cplusplus
}
#endif

#endif
