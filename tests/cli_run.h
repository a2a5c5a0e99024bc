/*
 * tests/cli_run.h: running the hyporank program ($HR_CLI, which ctest sets)
 * from a test, as a user would, and reading what it printed.
 *
 *     char *out, *err;
 *     const char *args[] = {"describe", "--a", a, "--b", b, NULL};
 *     int status = cli_run(cli, dir, &out, &err, args);  // output kept in dir
 */
#ifndef HYPORANK_CLI_RUN_H
#define HYPORANK_CLI_RUN_H

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The whole file as a NUL-terminated string ("" when it cannot be read); free it. */
static inline char *read_all(const char *path)
{
    char *s = test_read_file(path);
    return s ? s : strdup("");
}

/* Starts the program with args (NULL-terminated, at most 38), its standard
 * output and error going to dir/stdout.txt and dir/stderr.txt. */
static inline pid_t cli_start(const char *cli, const char *dir, const char *const *args)
{
    char o[600], e[600];
    snprintf(o, sizeof o, "%s/stdout.txt", dir);
    snprintf(e, sizeof e, "%s/stderr.txt", dir);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(o, "wb", stdout) || !freopen(e, "wb", stderr)) _exit(126);
        char *argv[40];
        int n = 0;
        argv[n++] = (char *)cli;
        for (; args[n - 1] && n < 39; n++) argv[n] = (char *)args[n - 1];
        argv[n] = NULL;
        execv(cli, argv);
        _exit(127);
    }
    return pid;
}

/* Runs the program to the end; *out and *err (either may be NULL) get what it
 * printed. Returns its exit status (128 + signal when killed). */
static inline int cli_run(const char *cli, const char *dir, char **out, char **err,
                          const char *const *args)
{
    int status;
    waitpid(cli_start(cli, dir, args), &status, 0);
    char o[600], e[600];
    snprintf(o, sizeof o, "%s/stdout.txt", dir);
    snprintf(e, sizeof e, "%s/stderr.txt", dir);
    if (out) *out = read_all(o);
    if (err) *err = read_all(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
