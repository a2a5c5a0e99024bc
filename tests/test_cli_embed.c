/*
 * tests/test_cli_embed.c: `hyporank embed` as a user runs it ($HR_CLI, the
 * program ctest built): the .npy it writes, the cache (a second run computes
 * nothing; a run killed with SIGKILL leaves a cache the next run uses), and
 * bad input (exit status 2, a message naming the file and line).
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include "hyporank/cache.h"
#include "hyporank/model.h"
#include "hyporank/npy.h"
#include "cli_run.h"
#include "test_util.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *cli;
static char dir[256];

static const char *path_in(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    fputs(content, f);
    fclose(f);
}

/* Starts the program with the given arguments (NULL-terminated). */
static pid_t start(const char *const *args)
{
    return cli_start(cli, dir, args);
}

/* Runs the program to the end; returns its exit status; *err gets stderr. */
static int run(char **err, const char *const *args)
{
    return cli_run(cli, dir, NULL, err, args);
}

static void test_embed_writes_one_row_per_text_in_file_order(void)
{
    write_file(path_in("a.txt"), "first text\nsecond text\n\nthird text\n");
    char *err;
    const char *args[] = {"embed", "--in", path_in("a.txt"), "--out", path_in("a.npy"),
                          "--cache", path_in("c1.sqlite"), NULL};
    int rc = run(&err, args);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    float *m = NULL;
    size_t r = 0, c = 0;
    char e[256];
    CHECK(hr_npy_read_f32(path_in("a.npy"), &m, &r, &c, e, sizeof e) == HR_OK);
    CHECKF(r == 3 && c == 384, "shape (%zu, %zu)", r, c);
    free(m);
    free(err);
}

static void test_second_run_on_same_texts_computes_nothing(void)
{
    write_file(path_in("b.jsonl"), "{\"text\": \"alpha\"}\n{\"text\": \"beta\"}\n{\"text\": \"gamma\"}\n");
    const char *args1[] = {"embed", "--in", path_in("b.jsonl"), "--out", path_in("b1.npy"),
                           "--cache", path_in("c2.sqlite"), NULL};
    const char *args2[] = {"embed", "--in", path_in("b.jsonl"), "--out", path_in("b2.npy"),
                           "--cache", path_in("c2.sqlite"), NULL};
    char *err1, *err2;
    CHECK(run(&err1, args1) == 0);
    CHECKF(strstr(err1, "3 computed, 0 from cache") != NULL, "first run said: %s", err1);
    CHECK(run(&err2, args2) == 0);
    CHECKF(strstr(err2, "0 computed, 3 from cache") != NULL, "second run said: %s", err2);
    char *a = read_all(path_in("b1.npy")), *b = read_all(path_in("b2.npy"));
    struct stat sa, sb;
    stat(path_in("b1.npy"), &sa);
    stat(path_in("b2.npy"), &sb);
    CHECK(sa.st_size == sb.st_size && memcmp(a, b, (size_t)sa.st_size) == 0);
    free(a), free(b), free(err1), free(err2);
}

static void test_run_killed_with_sigkill_leaves_a_cache_the_next_run_uses(void)
{
    /* 12,000 distinct texts: several cache batches (4,096 texts each) and
     * several seconds of work, so the kill lands mid-run. */
    FILE *f = fopen(path_in("big.txt"), "wb");
    for (int i = 0; i < 12000; i++) fprintf(f, "headline number %d about topic %d\n", i, i % 97);
    fclose(f);
    char *in = strdup(path_in("big.txt")), *out = strdup(path_in("big.npy"));
    char *cache = strdup(path_in("c3.sqlite")), *wal = strdup(path_in("c3.sqlite-wal"));
    const char *args[] = {"embed", "--in", in, "--out", out, "--cache", cache, NULL};
    pid_t pid = start(args);
    /* Wait until the cache holds a committed batch, then kill. */
    hr_model *model = NULL;
    char e[512];
    CHECKF(hr_model_load(test_model_dir(), &model, e, sizeof e) == HR_OK, "%s", e);
    if (!model) return;
    double waited = 0;
    while (waited < 300) {
        hr_cache *c = NULL;
        size_t stored = 0;
        if (access(cache, F_OK) == 0 && hr_cache_open(cache, &c, e, sizeof e) == HR_OK &&
            hr_cache_count(c, hr_model_id(model), &stored, e, sizeof e) == HR_OK && stored > 0) {
            hr_cache_close(c);
            break;
        }
        hr_cache_close(c);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 0.05;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECKF(WIFSIGNALED(status), "the first run finished before it could be killed");
    CHECK(access(out, F_OK) != 0); /* nothing half-written under the name */

    char *err;
    int rc = run(&err, args);
    CHECKF(rc == 0, "rerun exit %d: %s", rc, err);
    size_t computed = 0, cached = 0;
    const char *p = strstr(err, " computed, ");
    if (p) {
        while (p > err && p[-1] >= '0' && p[-1] <= '9') p--;
        sscanf(p, "%zu computed, %zu from cache", &computed, &cached);
    }
    fprintf(stderr, "  after SIGKILL: %zu from cache, %zu computed\n", cached, computed);
    CHECKF(cached >= 4096 && cached + computed == 12000, "rerun said: %s", err);
    free(err), free(in), free(out), free(cache), free(wal);
    hr_model_destroy(model);
}

static void expect_input_error(const char *name, const char *content, const char *want_line,
                               const char *extra_flag, const char *extra_value)
{
    const char *p = path_in(name);
    if (content) write_file(p, content);
    const char *args[] = {"embed", "--in", p, "--out", path_in("bad.npy"), "--no-cache",
                          extra_flag, extra_value, NULL};
    char *err;
    int rc = run(&err, args);
    CHECKF(rc == 2, "%s: exit %d, wanted 2: %s", name, rc, err);
    CHECKF(strstr(err, name) != NULL, "%s: message does not name the file: %s", name, err);
    if (want_line) CHECKF(strstr(err, want_line) != NULL, "%s: message lacks '%s': %s", name, want_line, err);
    free(err);
}

static void test_bad_input_exits_2_naming_file_and_line(void)
{
    expect_input_error("missing.jsonl", NULL, NULL, NULL, NULL);
    expect_input_error("notjson.jsonl", "{\"text\": \"ok\"}\nnot json\n", ":2:", NULL, NULL);
    expect_input_error("nofield.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"x\"}\n", ":2:", NULL, NULL);
    expect_input_error("number.jsonl", "{\"text\": 42}\n", ":1:", NULL, NULL);
    expect_input_error("badutf8.txt", "fine\nbad \xC3\x28 byte\n", ":2:", NULL, NULL);
    expect_input_error("quotes.csv", "id,text\n1,\"unclosed\n2,two\n", ":2:", NULL, NULL);
    expect_input_error("empty.txt", "\n\n", NULL, NULL, NULL);
    expect_input_error("field.jsonl", "{\"text\": \"ok\"}\n", ":1:", "--text-field", "body");
}

static void test_usage_errors_exit_2(void)
{
    char *err;
    const char *no_out[] = {"embed", "--in", path_in("a.txt"), NULL};
    CHECK(run(&err, no_out) == 2 && strstr(err, "--out") != NULL);
    free(err);
    const char *bad_device[] = {"embed", "--in", path_in("a.txt"), "--out", path_in("x.npy"),
                                "--device", "tpu", NULL};
    CHECK(run(&err, bad_device) == 2 && strstr(err, "tpu") != NULL);
    free(err);
    const char *help[] = {"embed", "--help", NULL};
    CHECK(run(NULL, help) == 0);
}

static void test_long_texts_are_truncated_not_rejected(void)
{
    size_t n = 200000;
    char *text = malloc(n + 2);
    for (size_t i = 0; i < n; i++) text[i] = i % 6 == 5 ? ' ' : 'a' + (char)(i % 5);
    text[n] = '\n';
    text[n + 1] = '\0';
    write_file(path_in("long.txt"), text);
    free(text);
    const char *args[] = {"embed", "--in", path_in("long.txt"), "--out", path_in("long.npy"),
                          "--no-cache", NULL};
    char *err;
    CHECKF(run(&err, args) == 0, "%s", err);
    free(err);
}

/* A model folder beside the real one: its files linked, the weights either
 * linked too or written shifted by four bytes after the header. */
static const char *model_copy(const char *name, int shifted)
{
    const char *d = path_in(name);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && for f in '%s'/*; do ln -s \"$f\" '%s'/; done",
             d, test_model_dir(), d);
    CHECK(system(cmd) == 0);
    if (!shifted) return d;
    char w[600], src[600], rec[620];
    snprintf(w, sizeof w, "%s/model.safetensors", d);
    snprintf(src, sizeof src, "%s/model.safetensors", test_model_dir());
    snprintf(rec, sizeof rec, "%s.sha256", w);
    unlink(w);
    unlink(rec); /* the source's record describes other weights: this copy has none */
    FILE *in = fopen(src, "rb"), *out = fopen(w, "wb");
    unsigned char head[8];
    CHECK(in && out && fread(head, 1, 8, in) == 8);
    unsigned long long hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | head[i];
    fwrite(head, 1, 8, out);
    char *buf = malloc(1 << 20);
    for (unsigned long long left = hlen; left > 0;) {
        size_t k = fread(buf, 1, left < (1u << 20) ? (size_t)left : (1u << 20), in);
        if (k == 0) break;
        fwrite(buf, 1, k, out);
        left -= k;
    }
    fwrite("\0\0\0\0", 1, 4, out); /* the shift */
    for (size_t k; (k = fread(buf, 1, 1 << 20, in)) > 0;) fwrite(buf, 1, k, out);
    free(buf);
    fclose(in), fclose(out);
    return d;
}

static void test_damaged_or_unrecorded_weights_stop_with_exit_2(void)
{
    const char *texts = path_in("model-check.txt");
    write_file(texts, "one text\n");
    const char *shifted = model_copy("shifted-model", 1);
    const char *a1[] = {"embed", "--in", texts, "--out", path_in("s.npy"), "--model", shifted,
                        "--no-cache", "--device", "cpu", NULL};
    char *err;
    int rc = cli_run(cli, dir, NULL, &err, a1);
    CHECKF(rc == 2 && strstr(err, "belong to no tensor"), "shifted weights: exit %d: %s", rc, err);
    free(err);

    /* Linked weights, a record that does not match them: refused with what
     * to do; --no-verify-model skips the check. */
    const char *linked = model_copy("recorded-model", 0);
    char rec[600];
    snprintf(rec, sizeof rec, "%s/model.safetensors.sha256", linked);
    unlink(rec);
    write_file(rec, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  "
                    "model.safetensors\n");
    const char *a2[] = {"embed", "--in", texts, "--out", path_in("r.npy"), "--model", linked,
                        "--no-cache", "--device", "cpu", NULL};
    rc = cli_run(cli, dir, NULL, &err, a2);
    CHECKF(rc == 2 && strstr(err, "fetch-model.sh") && strstr(err, "damaged"), "exit %d: %s", rc,
           err);
    free(err);
    const char *a3[] = {"embed", "--in", texts, "--out", path_in("r.npy"), "--model", linked,
                        "--no-cache", "--device", "cpu", "--no-verify-model", NULL};
    rc = cli_run(cli, dir, NULL, &err, a3);
    CHECKF(rc == 0, "--no-verify-model: exit %d: %s", rc, err);
    free(err);
}

int main(void)
{
    cli = getenv("HR_CLI");
    if (!cli) return test_skip("HR_CLI is not set (run through ctest)");
    snprintf(dir, sizeof dir, "%s/hyporank-cli-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    RUN(test_embed_writes_one_row_per_text_in_file_order);
    RUN(test_second_run_on_same_texts_computes_nothing);
    RUN(test_run_killed_with_sigkill_leaves_a_cache_the_next_run_uses);
    RUN(test_bad_input_exits_2_naming_file_and_line);
    RUN(test_usage_errors_exit_2);
    RUN(test_long_texts_are_truncated_not_rejected);
    RUN(test_damaged_or_unrecorded_weights_stop_with_exit_2);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
