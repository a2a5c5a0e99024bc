/*
 * tests/test_tokenizer.c: the WordPiece tokenizer against Hugging Face.
 *
 * The fixture tests/fixtures/tokenizer-cases.jsonl holds texts and the ids
 * the Hugging Face fast tokenizer gives them (see gen-tokenizer-fixture.py);
 * every case must match id for id. Small named tests cover the API and the
 * options on a vocabulary written here.
 */
#include "hyporank/tokenizer.h"
#include "test_util.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IDS 256 /* all-MiniLM-L6-v2 max_seq_length, as in the fixture */

static hr_tokenizer *tok; /* the model's tokenizer, default options */

static const char *model_vocab(void)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/vocab.txt", test_model_dir());
    return path;
}

static int32_t id_of(const char *token)
{
    for (size_t i = 0; i < hr_tokenizer_vocab_size(tok); i++)
        if (strcmp(hr_tokenizer_token(tok, (int32_t)i), token) == 0)
            return (int32_t)i;
    return -1;
}

/* Encodes a NUL-terminated text into ids (MAX_IDS); returns the count. */
static size_t encode(const hr_tokenizer *t, const char *text, int32_t *ids)
{
    return hr_tokenizer_encode(t, text, strlen(text), ids, MAX_IDS);
}

static int same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na * sizeof *a) == 0;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* Writes lines to a new temporary file; returns its path (static buffer). */
static const char *temp_vocab(const char *contents)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/hr_test_vocab_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    size_t len = strlen(contents);
    ssize_t w = write(fd, contents, len);
    close(fd);
    return w == (ssize_t)len ? path : NULL;
}

/* -------------------------------------------------------------- the fixture */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void test_every_fixture_case_matches_hugging_face(void)
{
    const char *path = test_fixture("tokenizer-cases.jsonl");
    FILE *f = fopen(path, "r");
    CHECKF(f != NULL, "%s: %s", path, strerror(errno));
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0, lineno = 0, cases = 0, matched = 0, shown = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        cJSON *obj = cJSON_Parse(line);
        cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
        cJSON *hex = cJSON_GetObjectItemCaseSensitive(obj, "utf8_hex");
        cJSON *want = cJSON_GetObjectItemCaseSensitive(obj, "ids");
        CHECKF(cJSON_IsString(text) && cJSON_IsArray(want), "%s:%zu: not a case", path, lineno);
        if (!cJSON_IsString(text) || !cJSON_IsArray(want)) {
            cJSON_Delete(obj);
            continue;
        }
        /* text: (len) UTF-8 bytes; from utf8_hex when the text holds NUL */
        char *bytes = NULL;
        const char *s = text->valuestring;
        size_t len = strlen(s);
        if (cJSON_IsString(hex)) {
            len = strlen(hex->valuestring) / 2;
            bytes = malloc(len + 1);
            for (size_t i = 0; bytes && i < len; i++)
                bytes[i] = (char)(hex_digit(hex->valuestring[2 * i]) << 4 |
                                  hex_digit(hex->valuestring[2 * i + 1]));
            s = bytes;
        }
        int32_t expect[MAX_IDS], ids[MAX_IDS];
        size_t ne = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, want) {
            if (ne < MAX_IDS)
                expect[ne++] = (int32_t)v->valuedouble;
        }
        size_t n = s ? hr_tokenizer_encode(tok, s, len, ids, MAX_IDS) : 0;
        cases++;
        if (same_ids(ids, n, expect, ne)) {
            matched++;
        } else if (shown++ < 5) {
            fprintf(stderr, "%s:%zu: mismatch for text \"%s\"\n", path, lineno, text->valuestring);
            print_ids("hf  ", expect, ne);
            print_ids("ours", ids, n);
        }
        free(bytes);
        cJSON_Delete(obj);
    }
    free(line);
    fclose(f);
    fprintf(stderr, "fixture: %zu of %zu cases match\n", matched, cases);
    CHECKF(cases >= 2000, "only %zu cases in %s", cases, path);
    CHECKF(matched == cases, "%zu of %zu cases differ", cases - matched, cases);
}

/* ------------------------------------------------------------ named tests */

static void test_empty_string_gives_cls_sep(void)
{
    int32_t ids[MAX_IDS];
    size_t n = hr_tokenizer_encode(tok, "", 0, ids, MAX_IDS);
    CHECK(n == 2 && ids[0] == id_of("[CLS]") && ids[1] == id_of("[SEP]"));
    n = hr_tokenizer_encode(tok, NULL, 0, ids, MAX_IDS);
    CHECK(n == 2);
    n = encode(tok, " \t\n ", ids);
    CHECK(n == 2);
}

static void test_header_example_gives_six_ids(void)
{
    int32_t ids[MAX_IDS];
    size_t n = hr_tokenizer_encode(tok, "Hello, world!", 13, ids, 256);
    int32_t want[] = {id_of("[CLS]"), id_of("hello"), id_of(","), id_of("world"), id_of("!"),
                      id_of("[SEP]")};
    CHECKF(same_ids(ids, n, want, 6), "n = %zu", n);
}

static void test_punctuation_splits_into_own_tokens(void)
{
    int32_t ids[MAX_IDS];
    size_t n = encode(tok, "a,b.c¿d", ids);
    int32_t want[] = {id_of("[CLS]"), id_of("a"), id_of(","), id_of("b"), id_of("."), id_of("c"),
                      id_of("¿"), id_of("d"), id_of("[SEP]")};
    CHECKF(same_ids(ids, n, want, 9), "n = %zu", n);
}

static void test_continuation_pieces_carry_the_prefix(void)
{
    int32_t ids[MAX_IDS];
    size_t n = encode(tok, "unbelievably", ids);
    CHECK(n >= 4);
    for (size_t i = 2; i + 1 < n; i++)
        CHECKF(strncmp(hr_tokenizer_token(tok, ids[i]), "##", 2) == 0, "piece %zu is %s", i,
               hr_tokenizer_token(tok, ids[i]));
}

static void test_truncation_keeps_sep(void)
{
    int32_t ids[MAX_IDS];
    const char *text = "one two three four five six seven eight nine ten";
    size_t n = hr_tokenizer_encode(tok, text, strlen(text), ids, 5);
    CHECK(n == 5);
    CHECK(ids[0] == id_of("[CLS]") && ids[1] == id_of("one") && ids[3] == id_of("three"));
    CHECK(ids[4] == id_of("[SEP]"));
    n = hr_tokenizer_encode(tok, text, strlen(text), ids, 2);
    CHECK(n == 2 && ids[0] == id_of("[CLS]") && ids[1] == id_of("[SEP]"));
}

static void test_too_small_id_buffer_writes_nothing(void)
{
    int32_t ids[2] = {-7, -7};
    CHECK(hr_tokenizer_encode(tok, "hello", 5, ids, 1) == 0);
    CHECK(hr_tokenizer_encode(tok, "hello", 5, ids, 0) == 0);
    CHECK(ids[0] == -7);
}

static void test_word_of_more_than_100_chars_is_unk(void)
{
    char text[256];
    int32_t ids[MAX_IDS];
    memset(text, 'a', 101);
    text[101] = '\0';
    size_t n = encode(tok, text, ids);
    CHECK(n == 3 && ids[1] == id_of("[UNK]"));
    text[100] = '\0'; /* exactly 100: WordPiece runs */
    n = encode(tok, text, ids);
    CHECK(n > 3 && ids[1] != id_of("[UNK]"));
}

static void test_accents_are_stripped_and_case_lowered(void)
{
    int32_t a[MAX_IDS], b[MAX_IDS];
    size_t na = encode(tok, "CAFÉ Ångström", a);
    size_t nb = encode(tok, "cafe angstrom", b);
    CHECK(same_ids(a, na, b, nb));
    na = encode(tok, "e\xcc\x81", a); /* e + U+0301 */
    nb = encode(tok, "e", b);
    CHECK(same_ids(a, na, b, nb));
}

static void test_control_chars_and_invalid_utf8_are_dropped(void)
{
    int32_t a[MAX_IDS], b[MAX_IDS];
    size_t nb = encode(tok, "ab", b);
    size_t na = hr_tokenizer_encode(tok, "a\0b", 3, a, MAX_IDS);
    CHECK(same_ids(a, na, b, nb));
    na = encode(tok, "a\x07\xe2\x80\x8b" "b", a); /* BEL, U+200B */
    CHECK(same_ids(a, na, b, nb));
    na = encode(tok, "a\xff\xc3" "b", a); /* not UTF-8 */
    CHECK(same_ids(a, na, b, nb));
}

static void test_cjk_ideographs_become_words(void)
{
    int32_t ids[MAX_IDS];
    size_t n = encode(tok, "中文", ids);
    CHECK(n == 4 && ids[1] == id_of("中") && ids[2] == id_of("文"));
}

static void test_special_tokens_in_text_keep_their_ids(void)
{
    int32_t ids[MAX_IDS];
    size_t n = encode(tok, "a[MASK]b [cls]", ids);
    int32_t want[] = {id_of("[CLS]"), id_of("a"), id_of("[MASK]"), id_of("b"), id_of("["),
                      id_of("cl"), id_of("##s"), id_of("]"), id_of("[SEP]")};
    CHECKF(same_ids(ids, n, want, 9), "n = %zu", n);
}

static void test_long_run_of_combining_marks_is_one_unknown_word(void)
{
    /* 'a' and 60 of U+1D165 (class 216, not Mn: kept, held for ordering) */
    char text[1 + 60 * 4 + 1];
    int32_t ids[MAX_IDS];
    text[0] = 'a';
    for (int i = 0; i < 60; i++)
        memcpy(text + 1 + 4 * i, "\xf0\x9d\x85\xa5", 4);
    text[sizeof text - 1] = '\0';
    size_t n = encode(tok, text, ids);
    CHECK(n == 3 && ids[1] == id_of("[UNK]"));
}

static void test_vocab_size_and_token_strings(void)
{
    CHECK(hr_tokenizer_vocab_size(tok) == 30522);
    CHECK(strcmp(hr_tokenizer_token(tok, 101), "[CLS]") == 0);
    CHECK(hr_tokenizer_token(tok, -1) == NULL);
    CHECK(hr_tokenizer_token(tok, 30522) == NULL);
    CHECK(hr_tokenizer_vocab_size(NULL) == 0);
}

static void test_missing_vocab_file_is_io_error(void)
{
    char err[256] = "";
    hr_tokenizer *t = NULL;
    hr_status st = hr_tokenizer_load("/nonexistent/vocab.txt", NULL, &t, err, sizeof err);
    CHECK(st == HR_ERR_IO && t == NULL);
    CHECKF(strstr(err, "/nonexistent/vocab.txt") != NULL, "err: %s", err);
}

static void test_vocab_without_unk_is_rejected(void)
{
    const char *path = temp_vocab("[PAD]\n[CLS]\n[SEP]\nhello\n");
    CHECK(path != NULL);
    if (!path)
        return;
    char err[256] = "";
    hr_tokenizer *t = NULL;
    hr_status st = hr_tokenizer_load(path, NULL, &t, err, sizeof err);
    CHECK(st == HR_ERR_MODEL && t == NULL);
    CHECKF(strstr(err, "[UNK]") != NULL && strstr(err, path) != NULL, "err: %s", err);
    remove(path);
}

static void test_vocab_with_invalid_utf8_names_the_line(void)
{
    const char *path = temp_vocab("[UNK]\n[CLS]\n[SEP]\nbad\xff\n");
    CHECK(path != NULL);
    if (!path)
        return;
    char err[256] = "";
    hr_tokenizer *t = NULL;
    CHECK(hr_tokenizer_load(path, NULL, &t, err, sizeof err) == HR_ERR_MODEL);
    CHECKF(strstr(err, ":4:") != NULL, "err: %s", err);
    remove(path);
}

static void test_bad_strip_accents_option_is_input_error(void)
{
    hr_tokenizer_options o = hr_tokenizer_default_options();
    o.strip_accents = 2;
    hr_tokenizer *t = NULL;
    CHECK(hr_tokenizer_load(model_vocab(), &o, &t, NULL, 0) == HR_ERR_INPUT && t == NULL);
}

/* A small vocabulary with cased and accented entries, CRLF line ends. */
static const char small_vocab[] = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\nHello\r\n"
                                  "café\r\ncafe\r\nCAFÉ\r\n##s\r\n中\r\n文\r\n中文\r\n##";

static hr_tokenizer *small_tokenizer(int lower, int strip, int cjk)
{
    const char *path = temp_vocab(small_vocab);
    if (!path)
        return NULL;
    hr_tokenizer_options o = {lower, strip, cjk};
    hr_tokenizer *t = NULL;
    hr_status st = hr_tokenizer_load(path, &o, &t, NULL, 0);
    remove(path);
    return st == HR_OK ? t : NULL;
}

static void check_ids(hr_tokenizer *t, const char *text, const int32_t *want, size_t nwant)
{
    int32_t ids[MAX_IDS];
    size_t n = encode(t, text, ids);
    CHECKF(same_ids(ids, n, want, nwant), "text \"%s\"", text);
    if (!same_ids(ids, n, want, nwant)) {
        print_ids("want", want, nwant);
        print_ids("got ", ids, n);
    }
}

static void test_crlf_vocab_loads_with_line_numbers_as_ids(void)
{
    hr_tokenizer *t = small_tokenizer(1, -1, 1);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(hr_tokenizer_vocab_size(t) == 15);
    CHECK(strcmp(hr_tokenizer_token(t, 6), "Hello") == 0);
    CHECK(strcmp(hr_tokenizer_token(t, 14), "##") == 0);
    hr_tokenizer_destroy(t);
}

static void test_default_options_lower_case_and_strip_accents(void)
{
    hr_tokenizer *t = small_tokenizer(1, -1, 1);
    CHECK(t != NULL);
    if (!t)
        return;
    check_ids(t, "Hello CAFÉS", (int32_t[]){2, 5, 8, 10, 3}, 5);
    check_ids(t, "中文", (int32_t[]){2, 11, 12, 3}, 4);
    hr_tokenizer_destroy(t);
}

static void test_no_lower_case_keeps_case_and_accents(void)
{
    hr_tokenizer *t = small_tokenizer(0, -1, 1); /* strip follows lower: off */
    CHECK(t != NULL);
    if (!t)
        return;
    check_ids(t, "Hello café CAFÉ cafés", (int32_t[]){2, 6, 7, 9, 7, 10, 3}, 7);
    hr_tokenizer_destroy(t);
}

static void test_lower_case_without_stripping_keeps_accents(void)
{
    hr_tokenizer *t = small_tokenizer(1, 0, 1);
    CHECK(t != NULL);
    if (!t)
        return;
    check_ids(t, "CAFÉ cafe\xcc\x81", (int32_t[]){2, 7, 1, 3}, 4); /* e + U+0301 is not "é" */
    hr_tokenizer_destroy(t);
}

static void test_chinese_chars_stay_joined_when_option_is_off(void)
{
    hr_tokenizer *t = small_tokenizer(1, -1, 0);
    CHECK(t != NULL);
    if (!t)
        return;
    check_ids(t, "中文", (int32_t[]){2, 13, 3}, 3);
    hr_tokenizer_destroy(t);
}

static void test_destroy_accepts_null(void)
{
    hr_tokenizer_destroy(NULL);
    CHECK(1);
}

int main(void)
{
    char err[512] = "";
    hr_status st = hr_tokenizer_load(model_vocab(), NULL, &tok, err, sizeof err);
    if (st != HR_OK) {
        fprintf(stderr, "cannot load %s: %s: %s\n", model_vocab(), hr_status_str(st), err);
        return 1;
    }
    RUN(test_every_fixture_case_matches_hugging_face);
    RUN(test_empty_string_gives_cls_sep);
    RUN(test_header_example_gives_six_ids);
    RUN(test_punctuation_splits_into_own_tokens);
    RUN(test_continuation_pieces_carry_the_prefix);
    RUN(test_truncation_keeps_sep);
    RUN(test_too_small_id_buffer_writes_nothing);
    RUN(test_word_of_more_than_100_chars_is_unk);
    RUN(test_accents_are_stripped_and_case_lowered);
    RUN(test_control_chars_and_invalid_utf8_are_dropped);
    RUN(test_cjk_ideographs_become_words);
    RUN(test_special_tokens_in_text_keep_their_ids);
    RUN(test_long_run_of_combining_marks_is_one_unknown_word);
    RUN(test_vocab_size_and_token_strings);
    RUN(test_missing_vocab_file_is_io_error);
    RUN(test_vocab_without_unk_is_rejected);
    RUN(test_vocab_with_invalid_utf8_names_the_line);
    RUN(test_bad_strip_accents_option_is_input_error);
    RUN(test_crlf_vocab_loads_with_line_numbers_as_ids);
    RUN(test_default_options_lower_case_and_strip_accents);
    RUN(test_no_lower_case_keeps_case_and_accents);
    RUN(test_lower_case_without_stripping_keeps_accents);
    RUN(test_chinese_chars_stay_joined_when_option_is_off);
    RUN(test_destroy_accepts_null);
    hr_tokenizer_destroy(tok);
    return test_summary();
}
