/*
 * tests/fake_server.h: starting tests/fake_openai_server.py (an OpenAI-
 * compatible server on 127.0.0.1) from a test, and reading its /stats.
 *
 *     const char *args[] = {"--models", "judge-1", "--time-limit", "300", NULL};
 *     pid_t pid; long port;
 *     if (fake_server_start(args, 1, &pid, &port) != 0) ...   // skip or fail
 *     ... http://127.0.0.1:<port> ...
 *     cJSON *stats = fake_server_get_json("http://127.0.0.1:<port>", "/stats");
 *     fake_server_stop(pid);
 */
#ifndef HYPORANK_FAKE_SERVER_H
#define HYPORANK_FAKE_SERVER_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts the server (found through $HR_SOURCE_DIR, which ctest sets) with
 * the extra arguments args (NULL-terminated, at most 16) and reads the
 * n_ports port numbers it prints first (1, or 2 with --tls-dir) into ports.
 * Returns 0; -1 when python3 cannot be run; -2 when the server did not start. */
static inline int fake_server_start(const char *const *args, int n_ports, pid_t *pid, long *ports)
{
    const char *src = getenv("HR_SOURCE_DIR");
    char script[1024];
    snprintf(script, sizeof script, "%s/tests/fake_openai_server.py", src ? src : ".");
    int fd[2];
    if (pipe(fd) != 0) return -1;
    *pid = fork();
    if (*pid < 0) return -1;
    if (*pid == 0) {
        char *argv[20];
        int n = 0;
        argv[n++] = "python3";
        argv[n++] = script;
        for (int i = 0; args && args[i] && n < 19; i++) argv[n++] = (char *)args[i];
        argv[n] = NULL;
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp("python3", argv);
        _exit(127);
    }
    close(fd[1]);
    for (int k = 0; k < n_ports; k++) {
        char line[32];
        size_t got = 0;
        while (got < sizeof line - 1) {
            ssize_t r = read(fd[0], line + got, 1);
            if (r <= 0 || line[got] == '\n') break;
            got++;
        }
        line[got] = '\0';
        char *end;
        ports[k] = strtol(line, &end, 10);
        if (got == 0 || *end || ports[k] <= 0 || ports[k] > 65535) {
            int st = 0;
            close(fd[0]);
            kill(*pid, SIGTERM);
            waitpid(*pid, &st, 0);
            *pid = 0;
            return WIFEXITED(st) && WEXITSTATUS(st) == 127 ? -1 : -2;
        }
    }
    close(fd[0]);
    return 0;
}

/* The plain server most tests use: one chat model "judge-1", no key, no
 * TLS, stopping itself after 300 s. Writes its URL ("http://127.0.0.1:PORT")
 * into url. Returns as fake_server_start. */
static inline int fake_server_start_judge(pid_t *pid, char *url, size_t size)
{
    const char *args[] = {"--models", "judge-1", "--time-limit", "300", NULL};
    long port;
    int rc = fake_server_start(args, 1, pid, &port);
    if (rc == 0) snprintf(url, size, "http://127.0.0.1:%ld", port);
    return rc;
}

static inline void fake_server_stop(pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

static inline size_t fake_server_collect_(char *p, size_t size, size_t n, void *user)
{
    char **buf = user;
    size_t old = *buf ? strlen(*buf) : 0;
    char *b = realloc(*buf, old + size * n + 1);
    if (!b) return 0;
    memcpy(b + old, p, size * n);
    b[old + size * n] = '\0';
    *buf = b;
    return size * n;
}

/* GET base_url + path, parsed as JSON (NULL on any failure); cJSON_Delete it. */
static inline cJSON *fake_server_get_json(const char *base_url, const char *path)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", base_url, path);
    CURL *e = curl_easy_init();
    char *body = NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fake_server_collect_);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 5L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    cJSON *j = rc == CURLE_OK && body ? cJSON_Parse(body) : NULL;
    free(body);
    return j;
}

#endif
