/*
 * hyporank/output.h: writing the files a run produces without harming what
 * the user already has.
 *
 * Two guards, used by every command that writes a file (and by hr_npy_write_f32):
 *
 *   hr_output_check, before any work: every output path is compared with
 *   every input, the cache and the other outputs. Two paths are the same
 *   file when both exist with the same device and inode (hard links and
 *   symbolic links included), or, when one does not exist yet, when they
 *   resolve to the same absolute path (the folder through realpath, the last
 *   name as given). A clash, an empty output path, an output that is a
 *   folder, or an output whose folder does not exist, is HR_ERR_INPUT naming
 *   the options: nothing has been read or written yet.
 *
 *   hr_output_write, at the end: the file is written to a temporary name in
 *   its own folder, PATH.tmp.PID (PATH.tmp.PID.XXXXXXXX when that name is
 *   taken), created with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0644 (less
 *   the umask): a file or a symbolic link planted under that name is never
 *   opened, followed or overwritten. The data is flushed and fsync'd, then
 *   renamed over PATH, so PATH holds the old file or the whole new one and
 *   never a part. Before writing, temporaries of that naming pattern for the
 *   same PATH whose process is gone (a run killed during its write) are
 *   removed: regular files and links owned by the user, never a folder.
 *
 *     hr_path_use uses[] = {
 *         {"--in", "texts.jsonl", HR_PATH_INPUT},
 *         {"--cache", "cache.sqlite", HR_PATH_INPUT},
 *         {"--out", "texts.npy", HR_PATH_OUTPUT},
 *     };
 *     if (hr_output_check(uses, 3, err, sizeof err) != HR_OK) ...   // exit 2
 *     ... the work ...
 *     hr_output_write("texts.npy", write_npy, &data, err, sizeof err);
 *
 * Ownership: nothing is kept; the strings are borrowed for the call.
 */
#ifndef HYPORANK_OUTPUT_H
#define HYPORANK_OUTPUT_H

#include "hyporank/status.h"

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_path_role {
    HR_PATH_INPUT = 0, /* read by the run (a corpus, the cache, the model) */
    HR_PATH_OUTPUT     /* written by the run */
} hr_path_role;

/* One path a run uses, as the user gave it. */
typedef struct hr_path_use {
    const char *option; /* how the user named it, for messages: "--in", "--cache" */
    const char *path;   /* NULL: not given (skipped) */
    hr_path_role role;
} hr_path_use;

/* The checks above over uses[0..n). HR_OK, or HR_ERR_INPUT with a message
 * naming both options ("--out x.jsonl is the same file as --in x.jsonl:
 * ..."); HR_ERR_NOMEM. */
hr_status hr_output_check(const hr_path_use *uses, size_t n, char *err, size_t errlen);

/* Renders the file's content into f; HR_OK, or an error (f's own errors are
 * noticed by hr_output_write whatever it returns). */
typedef hr_status (*hr_output_fn)(FILE *f, const void *ctx);

/* Writes path through a temporary file (above): write renders into it.
 * HR_ERR_INPUT for an empty path; HR_ERR_IO when the temporary cannot be
 * made, written, synced or renamed (err names path, never the temporary's
 * random name); the temporary is removed on every failure. */
hr_status hr_output_write(const char *path, hr_output_fn write, const void *ctx, char *err,
                          size_t errlen);

/* Removes the temporaries of path whose process is gone (above); returns how
 * many. hr_output_write calls it; exposed for tests. */
size_t hr_output_remove_stale(const char *path);

#ifdef __cplusplus
}
#endif

#endif
