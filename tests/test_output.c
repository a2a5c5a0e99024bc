/*
 * tests/test_output.c: output paths are checked against inputs, and files
 * are written through temporaries that a planted link cannot redirect, with
 * mode 0644, leftovers of killed runs removed (hyporank/output.h, and the
 * .npy writer on top of it).
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, symlink */

#include "hyporank/npy.h"
#include "hyporank/output.h"
#include "test_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static const char *path_in(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_text_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECKF(f && fputs(text, f) >= 0, "cannot write %s", path);
    if (f) fclose(f);
}

static hr_status write_hello(FILE *f, const void *ctx)
{
    return fputs(ctx, f) >= 0 ? HR_OK : HR_ERR_IO;
}

static hr_status write_fails(FILE *f, const void *ctx)
{
    (void)f, (void)ctx;
    return HR_ERR_IO;
}

/* A PID that no process has: a child that has exited and been reaped. */
static pid_t gone_pid(void)
{
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

static void test_an_output_equal_to_an_input_is_refused_naming_both_options(void)
{
    const char *in = path_in("corpus.jsonl");
    write_text_file(in, "{\"text\": \"a\"}\n");
    char err[1024] = "";
    hr_path_use same[] = {{"--in", in, HR_PATH_INPUT}, {"--out", in, HR_PATH_OUTPUT}};
    CHECK(hr_output_check(same, 2, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "--out") && strstr(err, "--in") && strstr(err, "same file"), "%s", err);

    /* Another spelling, a symbolic link and a hard link are the same file too. */
    char other[700];
    snprintf(other, sizeof other, "%s/./../%s/corpus.jsonl", dir, strrchr(dir, '/') + 1);
    hr_path_use spelled[] = {{"--a", in, HR_PATH_INPUT}, {"--json", other, HR_PATH_OUTPUT}};
    CHECKF(hr_output_check(spelled, 2, err, sizeof err) == HR_ERR_INPUT, "%s", other);
    const char *soft = path_in("link.jsonl"), *hard = path_in("hard.jsonl");
    CHECK(symlink(in, soft) == 0 && link(in, hard) == 0);
    hr_path_use linked[] = {{"--a", in, HR_PATH_INPUT}, {"--json", soft, HR_PATH_OUTPUT},
                            {"--markdown", hard, HR_PATH_OUTPUT}};
    CHECK(hr_output_check(linked, 2, err, sizeof err) == HR_ERR_INPUT);
    CHECK(hr_output_check(linked + 1, 2, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "one would overwrite the other"), "%s", err);

    /* Two outputs that do not exist yet, by their resolved paths. */
    char rel[700];
    snprintf(rel, sizeof rel, "%s/sub/../new.json", dir);
    CHECK(mkdir(path_in("sub"), 0700) == 0);
    hr_path_use twice[] = {{"--json", path_in("new.json"), HR_PATH_OUTPUT},
                           {"--markdown", rel, HR_PATH_OUTPUT}};
    CHECK(hr_output_check(twice, 2, err, sizeof err) == HR_ERR_INPUT);

    /* Distinct files pass; absent paths are skipped. */
    hr_path_use fine[] = {{"--in", in, HR_PATH_INPUT}, {"--cache", NULL, HR_PATH_INPUT},
                          {"--out", path_in("fine.npy"), HR_PATH_OUTPUT}};
    CHECKF(hr_output_check(fine, 3, err, sizeof err) == HR_OK, "%s", err);
}

static void test_empty_folder_and_missing_folder_outputs_are_usage_errors(void)
{
    char err[1024] = "";
    hr_path_use empty[] = {{"--out", "", HR_PATH_OUTPUT}};
    CHECK(hr_output_check(empty, 1, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "--out: the path is empty"), "%s", err);
    hr_path_use folder[] = {{"--json", dir, HR_PATH_OUTPUT}};
    CHECK(hr_output_check(folder, 1, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "is a folder"), "%s", err);
    hr_path_use missing[] = {{"--json", path_in("no/such/x.json"), HR_PATH_OUTPUT}};
    CHECK(hr_output_check(missing, 1, err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "does not exist"), "%s", err);
    CHECK(hr_output_write("", write_hello, "x", err, sizeof err) == HR_ERR_INPUT);
    CHECKF(strstr(err, "empty"), "%s", err);
}

static void test_a_link_planted_at_the_temporary_name_is_never_followed(void)
{
    const char *victim = path_in("victim.txt"), *out = path_in("planted.json");
    write_text_file(victim, "precious\n");
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    CHECK(symlink(victim, tmp) == 0);
    char err[1024] = "";
    CHECKF(hr_output_write(out, write_hello, "new content\n", err, sizeof err) == HR_OK, "%s", err);
    char *v = test_read_file(victim), *o = test_read_file(out);
    CHECKF(v && strcmp(v, "precious\n") == 0, "the victim now holds: %s", v ? v : "(nothing)");
    CHECKF(o && strcmp(o, "new content\n") == 0, "the output holds: %s", o ? o : "(nothing)");
    struct stat sb;
    CHECK(lstat(out, &sb) == 0 && S_ISREG(sb.st_mode)); /* a file, not a link to the victim */
    free(v), free(o);

    /* The .npy writer goes the same way. */
    const char *npy = path_in("planted.npy");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", npy, (long)getpid());
    CHECK(symlink(victim, tmp) == 0);
    const float m[4] = {1, 2, 3, 4};
    CHECKF(hr_npy_write_f32(npy, m, 2, 2, err, sizeof err) == HR_OK, "%s", err);
    v = test_read_file(victim);
    CHECKF(v && strcmp(v, "precious\n") == 0, "the victim now holds: %s", v ? v : "(nothing)");
    free(v);
    CHECK(lstat(npy, &sb) == 0 && S_ISREG(sb.st_mode));
}

static void test_outputs_get_mode_0644_less_the_umask(void)
{
    mode_t old = umask(0);
    char err[1024] = "";
    struct stat sb;
    CHECKF(hr_output_write(path_in("mode.json"), write_hello, "{}\n", err, sizeof err) == HR_OK,
           "%s", err);
    CHECK(stat(path_in("mode.json"), &sb) == 0 && (sb.st_mode & 0777) == 0644);
    const float m[1] = {1};
    CHECK(hr_npy_write_f32(path_in("mode.npy"), m, 1, 1, err, sizeof err) == HR_OK);
    CHECKF(stat(path_in("mode.npy"), &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode %o",
           (unsigned)(sb.st_mode & 0777));
    umask(077);
    CHECK(hr_output_write(path_in("mode2.json"), write_hello, "{}\n", err, sizeof err) == HR_OK);
    CHECK(stat(path_in("mode2.json"), &sb) == 0 && (sb.st_mode & 0777) == 0600);
    umask(old);
}

static void test_leftovers_of_killed_runs_are_removed_on_the_next_write(void)
{
    const char *out = path_in("big.npy");
    char dead[700], dead2[700], alive[700], other[700];
    snprintf(dead, sizeof dead, "%s.tmp.%ld", out, (long)gone_pid());
    snprintf(dead2, sizeof dead2, "%s.tmp.%ld.0badcafe", out, (long)gone_pid());
    snprintf(alive, sizeof alive, "%s.tmp.%ld", out, (long)getppid()); /* a live process */
    snprintf(other, sizeof other, "%s.tmp.notapid", out);
    write_text_file(dead, "half a file");
    write_text_file(dead2, "half a file");
    write_text_file(alive, "being written");
    write_text_file(other, "not ours");
    const float m[2] = {1, 2};
    char err[1024] = "";
    CHECKF(hr_npy_write_f32(out, m, 1, 2, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(access(dead, F_OK) != 0 && access(dead2, F_OK) != 0, "a dead run's temporary is left");
    CHECK(access(alive, F_OK) == 0);
    CHECK(access(other, F_OK) == 0);
}

static void test_a_failed_write_leaves_the_old_file_and_no_temporary(void)
{
    const char *out = path_in("keep.json");
    write_text_file(out, "old\n");
    char err[1024] = "";
    CHECK(hr_output_write(out, write_fails, NULL, err, sizeof err) == HR_ERR_IO);
    CHECKF(strstr(err, out) != NULL, "%s", err);
    char *o = test_read_file(out);
    CHECK(o && strcmp(o, "old\n") == 0);
    free(o);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/hyporank-output-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    RUN(test_an_output_equal_to_an_input_is_refused_naming_both_options);
    RUN(test_empty_folder_and_missing_folder_outputs_are_usage_errors);
    RUN(test_a_link_planted_at_the_temporary_name_is_never_followed);
    RUN(test_outputs_get_mode_0644_less_the_umask);
    RUN(test_leftovers_of_killed_runs_are_removed_on_the_next_write);
    RUN(test_a_failed_write_leaves_the_old_file_and_no_temporary);
    int rc = test_summary();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return rc;
}
