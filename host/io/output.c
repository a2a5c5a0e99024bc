/*
 * host/io/output.c: output paths checked against the inputs, and files
 * written through temporaries that nothing can redirect (hyporank/output.h).
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include "hyporank/output.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Temporaries tried before giving up: PATH.tmp.PID, then random suffixes. */
#define TEMP_TRIES 64

/* ---- paths ---------------------------------------------------------------- */

/* The folder part of path ("." when none) and its last name, as new strings;
 * 0 when out of memory. */
static int split_path(const char *path, char **dir, char **base)
{
    const char *slash = strrchr(path, '/');
    *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    *base = strdup(slash ? slash + 1 : path);
    if (*dir && *base) return 1;
    free(*dir), free(*base);
    *dir = *base = NULL;
    return 0;
}

/* Where a path is, as far as it can be known. */
typedef struct path_id {
    int exists;       /* stat succeeded: dev and ino hold */
    int is_dir;
    dev_t dev;
    ino_t ino;
    char *resolved;   /* the absolute path (folder resolved, last name as given); NULL
                         when its folder does not exist */
    int dir_missing;  /* the folder does not exist (or cannot be searched) */
    char *dir;        /* the folder as given, for messages */
} path_id;

static void id_free(path_id *id)
{
    free(id->resolved), free(id->dir);
}

static hr_status identify(const char *path, path_id *id)
{
    memset(id, 0, sizeof *id);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        id->exists = 1;
        id->is_dir = S_ISDIR(sb.st_mode);
        id->dev = sb.st_dev;
        id->ino = sb.st_ino;
    }
    char *base = NULL;
    if (!split_path(path, &id->dir, &base)) return HR_ERR_NOMEM;
    char *real = realpath(id->dir, NULL);
    if (!real) {
        id->dir_missing = errno == ENOENT || errno == ENOTDIR;
        free(base);
        return errno == ENOMEM ? HR_ERR_NOMEM : HR_OK;
    }
    size_t n = strlen(real) + strlen(base) + 2;
    id->resolved = malloc(n);
    if (id->resolved) snprintf(id->resolved, n, "%s/%s", strcmp(real, "/") ? real : "", base);
    free(real), free(base);
    return id->resolved ? HR_OK : HR_ERR_NOMEM;
}

static int same_file(const path_id *a, const path_id *b)
{
    if (a->exists && b->exists) return a->dev == b->dev && a->ino == b->ino;
    return a->resolved && b->resolved && strcmp(a->resolved, b->resolved) == 0;
}

/* A name that can only be a folder: "", ".", "..", or ending in '/'. */
static int names_a_folder(const char *path)
{
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    const char *last = slash ? slash + 1 : path;
    return n == 0 || path[n - 1] == '/' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0;
}

hr_status hr_output_check(const hr_path_use *uses, size_t n, char *err, size_t errlen)
{
    if (!uses && n) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_output_check: no paths");
    for (size_t i = 0; i < n; i++) {
        const hr_path_use *u = &uses[i];
        if (u->role == HR_PATH_OUTPUT && u->path && !u->path[0])
            return hr_fail(HR_ERR_INPUT, err, errlen, "%s: the path is empty; give a file name",
                           u->option);
    }
    path_id *ids = calloc(n ? n : 1, sizeof *ids);
    if (!ids) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    hr_status st = HR_OK;
    for (size_t i = 0; i < n && st == HR_OK; i++)
        if (uses[i].path && uses[i].path[0] && identify(uses[i].path, &ids[i]) != HR_OK)
            st = hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
    for (size_t i = 0; i < n && st == HR_OK; i++) {
        const hr_path_use *o = &uses[i];
        if (o->role != HR_PATH_OUTPUT || !o->path) continue;
        if (ids[i].is_dir || names_a_folder(o->path)) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "%s %s is a folder; give a file name",
                         o->option, o->path);
            break;
        }
        if (ids[i].dir_missing) {
            st = hr_fail(HR_ERR_INPUT, err, errlen, "%s %s: the folder %s does not exist",
                         o->option, o->path, ids[i].dir);
            break;
        }
        for (size_t j = 0; j < n; j++) {
            const hr_path_use *u = &uses[j];
            if (j == i || !u->path || !u->path[0] || !same_file(&ids[i], &ids[j])) continue;
            /* Two outputs clash once: report it for the first of the pair. */
            if (u->role == HR_PATH_OUTPUT && j < i) continue;
            if (u->role == HR_PATH_OUTPUT)
                st = hr_fail(HR_ERR_INPUT, err, errlen,
                             "%s %s and %s %s are the same file: one would overwrite the other; "
                             "give each its own path",
                             o->option, o->path, u->option, u->path);
            else
                st = hr_fail(HR_ERR_INPUT, err, errlen,
                             "%s %s is the same file as %s %s: writing it would destroy that "
                             "input; give %s another path",
                             o->option, o->path, u->option, u->path, o->option);
            break;
        }
    }
    for (size_t i = 0; i < n; i++) id_free(&ids[i]);
    free(ids);
    return st;
}

/* ---- temporaries ------------------------------------------------------------ */

/* Whether name is one of base's temporaries: base ".tmp." PID, optionally
 * "." and 1 to 16 hex digits. *pid gets the PID. */
static int temp_of(const char *name, const char *base, long *pid)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp.", 5) != 0) return 0;
    const char *p = name + bl + 5;
    if (*p < '0' || *p > '9') return 0;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (errno || v <= 0) return 0;
    if (*end == '.') {
        const char *h = end + 1;
        size_t k = 0;
        while ((h[k] >= '0' && h[k] <= '9') || (h[k] >= 'a' && h[k] <= 'f')) k++;
        if (k == 0 || k > 16 || h[k]) return 0;
    } else if (*end) {
        return 0;
    }
    *pid = v;
    return 1;
}

size_t hr_output_remove_stale(const char *path)
{
    if (!path || !path[0]) return 0;
    char *dir, *base;
    if (!split_path(path, &dir, &base)) return 0;
    size_t removed = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d && dfd >= 0) close(dfd);
    const uid_t me = geteuid();
    const long self = (long)getpid();
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        long pid;
        if (!temp_of(e->d_name, base, &pid) || pid == self || (pid_t)pid != pid) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to know */
        struct stat sb;
        if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || sb.st_uid != me ||
            !(S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)))
            continue;
        if (unlinkat(dfd, e->d_name, 0) == 0) removed++;
    }
    if (d) closedir(d);
    free(dir), free(base);
    return removed;
}

/* A 64-bit value that differs between calls and processes, for names. */
static uint64_t name_noise(void)
{
    static uint64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 ((uint64_t)getpid() << 17) ^ (++counter * 0x9E3779B97F4A7C15ULL);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

/* Creates path's temporary (above): *tmp is its malloc'ed name, the return
 * the open descriptor; -1 with errno set when none could be made. */
static int create_temp(const char *path, char **tmp)
{
    size_t len = strlen(path) + 48;
    *tmp = malloc(len);
    if (!*tmp) {
        errno = ENOMEM;
        return -1;
    }
    for (int k = 0; k < TEMP_TRIES; k++) {
        if (k == 0) snprintf(*tmp, len, "%s.tmp.%ld", path, (long)getpid());
        else
            snprintf(*tmp, len, "%s.tmp.%ld.%08llx", path, (long)getpid(),
                     (unsigned long long)(name_noise() & 0xffffffffULL));
        int fd;
        do {
            fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        } while (fd < 0 && errno == EINTR);
        if (fd >= 0) return fd;
        if (errno != EEXIST && errno != ELOOP) break;
    }
    int saved = errno;
    free(*tmp);
    *tmp = NULL;
    errno = saved;
    return -1;
}

/* Makes the rename durable: fsync of the folder (best effort: some file
 * systems refuse it, and the data itself is already on disk). */
static void sync_folder(const char *path)
{
    char *dir, *base;
    if (!split_path(path, &dir, &base)) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir), free(base);
}

hr_status hr_output_write(const char *path, hr_output_fn write, const void *ctx, char *err,
                          size_t errlen)
{
    if (!path || !path[0])
        return hr_fail(HR_ERR_INPUT, err, errlen, "no output path given (the path is empty)");
    if (!write) return hr_fail(HR_ERR_INTERNAL, err, errlen, "hr_output_write: no writer");
    hr_output_remove_stale(path);
    char *tmp = NULL;
    int fd = create_temp(path, &tmp);
    if (fd < 0) {
        if (errno == ENOMEM) return hr_fail(HR_ERR_NOMEM, err, errlen, "out of memory");
        return hr_fail(HR_ERR_IO, err, errlen, "cannot create a temporary file beside %s: %s",
                       path, strerror(errno));
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return hr_fail(HR_ERR_IO, err, errlen, "cannot write %s: %s", path, strerror(saved));
    }
    errno = 0;
    hr_status wst = write(f, ctx);
    int ok = wst == HR_OK && !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno ? errno : EIO;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        free(tmp);
        if (wst == HR_ERR_NOMEM) return hr_fail(HR_ERR_NOMEM, err, errlen, "%s: out of memory", path);
        return hr_fail(HR_ERR_IO, err, errlen, "cannot write %s: %s", path, strerror(saved));
    }
    free(tmp);
    sync_folder(path);
    return HR_OK;
}
