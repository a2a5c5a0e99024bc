/*
 * tests/test_corpus.c: the JSONL, TXT and CSV readers and the UTF-8 check.
 *
 * Each test writes the small input it needs into a fresh temporary folder
 * (mkdtemp) and reads it back; error tests check the status and that the
 * message names the file and the line.
 */
#include "hyporank/corpus.h"
#include "test_util.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static char written[128][512]; /* files this program wrote, removed at the end */
static int nwritten;

/* Writes len bytes to tmpdir/name; returns the path (static, one of 8). */
static const char *write_bytes(const char *name, const char *data, size_t len)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
    if (len && fwrite(data, 1, len, f) != len) exit(1);
    fclose(f);
    if (nwritten < 128) snprintf(written[nwritten++], sizeof written[0], "%s", p);
    return p;
}

static const char *write_file(const char *name, const char *text)
{
    return write_bytes(name, text, strlen(text));
}

/* Reads path with the given options; the corpus is kept in *out (NULL when
 * the read failed). */
static hr_status read_with(const char *path, const char *field, hr_corpus_format fmt,
                           hr_corpus **out, char *err, size_t errlen)
{
    hr_corpus_options opt = {.text_field = field, .format = fmt};
    return hr_corpus_read(path, &opt, out, err, errlen);
}

/* Expects HR_ERR_INPUT with "PATH:LINE:" in the message and `what` in it. */
#define EXPECT_INPUT_ERROR(path, field, fmt, line, what)                                  \
    do {                                                                                   \
        char err_[1024] = "", where_[600];                                                 \
        hr_corpus *c_ = (hr_corpus *)1;                                                    \
        hr_status st_ = read_with(path, field, fmt, &c_, err_, sizeof err_);               \
        snprintf(where_, sizeof where_, "%s:%d:", path, (int)(line));                      \
        CHECKF(st_ == HR_ERR_INPUT, "status %s, message: %s", hr_status_str(st_), err_);  \
        CHECKF(c_ == NULL, "%s", "*out must be NULL on failure");                          \
        CHECKF(strstr(err_, where_) == err_, "message should start with %s: %s", where_,   \
               err_);                                                                      \
        CHECKF(strstr(err_, what) != NULL, "message should say \"%s\": %s", what, err_);   \
        if (st_ == HR_OK) hr_corpus_destroy(c_);                                           \
    } while (0)

static hr_corpus *read_ok(const char *path, const char *field, hr_corpus_format fmt)
{
    char err[1024] = "";
    hr_corpus *c = NULL;
    hr_status st = read_with(path, field, fmt, &c, err, sizeof err);
    CHECKF(st == HR_OK, "reading %s: %s: %s", path, hr_status_str(st), err);
    return st == HR_OK ? c : NULL;
}

static int text_is(const hr_corpus *c, size_t i, const char *want, size_t line)
{
    return c && i < c->n && c->lens[i] == strlen(want) &&
           memcmp(c->texts[i], want, c->lens[i]) == 0 && c->texts[i][c->lens[i]] == '\0' &&
           c->lines[i] == line;
}

/* ------------------------------------------------------------------------ */
/* JSONL                                                                      */

static void test_jsonl_texts_come_in_order_with_their_line_numbers(void)
{
    const char *p = write_file("a.jsonl", "{\"text\": \"first\"}\n"
                                          "{\"id\": 2, \"text\": \"second\", \"x\": [1, {}]}\n"
                                          "{\"text\": \"third\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(text_is(c, 0, "first", 1));
    CHECK(text_is(c, 1, "second", 2));
    CHECK(text_is(c, 2, "third", 3));
    CHECK(c && strcmp(c->path, p) == 0);
    hr_corpus_destroy(c);
}

static void test_jsonl_blank_lines_are_skipped_and_crlf_is_tolerated(void)
{
    const char *p = write_file("b.jsonl", "\r\n{\"text\": \"one\"}\r\n\n   \n\t\r\n"
                                          "{\"text\": \"two\"}   \r\n\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "one", 2));
    CHECK(text_is(c, 1, "two", 6));
    hr_corpus_destroy(c);
}

static void test_jsonl_last_line_without_a_newline_is_read(void)
{
    const char *p = write_file("c.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 1, "b", 2));
    hr_corpus_destroy(c);
}

static void test_jsonl_text_field_can_be_chosen(void)
{
    const char *p = write_file("d.jsonl", "{\"text\": \"no\", \"body\": \"yes\"}\n");
    hr_corpus *c = read_ok(p, "body", HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "yes", 1));
    hr_corpus_destroy(c);
}

static void test_jsonl_escapes_are_decoded_including_surrogate_pairs(void)
{
    const char *p = write_file("e.jsonl", "{\"text\": \"q\\\" b\\\\ n\\n t\\t e\\u00e9 "
                                          "g\\ud83d\\ude00 s\\/\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "q\" b\\ n\n t\t e\xC3\xA9 g\xF0\x9F\x98\x80 s/", 1));
    hr_corpus_destroy(c);
}

static void test_jsonl_raw_utf8_and_an_empty_string_are_kept(void)
{
    const char *p = write_file("f.jsonl", "{\"text\": \"caf\xC3\xA9 \xE2\x82\xAC "
                                          "\xF0\x9F\x98\x80\"}\n"
                                          "{\"text\": \"\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 1));
    CHECK(text_is(c, 1, "", 2));
    hr_corpus_destroy(c);
}

static void test_jsonl_line_that_is_not_json_names_file_and_line(void)
{
    const char *p = write_file("g.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"unterminated}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "not valid JSON");
}

static void test_jsonl_two_objects_on_one_line_are_rejected(void)
{
    const char *p = write_file("h.jsonl", "{\"text\": \"a\"} {\"text\": \"b\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "after the JSON value at column 15");
}

static void test_jsonl_line_that_is_not_an_object_says_what_it_is(void)
{
    const char *p = write_file("i.jsonl", "{\"text\": \"a\"}\n\n[\"text\"]\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 3, "expected a JSON object, found an array");
    p = write_file("i2.jsonl", "\"just a string\"\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "found a string");
}

static void test_jsonl_missing_field_lists_the_fields_there_are(void)
{
    const char *p = write_file("j.jsonl", "{\"text\": \"a\"}\n{\"id\": 1, \"body\": \"b\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "no field \"text\"");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "\"id\", \"body\"");
    p = write_file("j2.jsonl", "{}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "it has none");
}

static void test_jsonl_field_names_are_case_sensitive(void)
{
    const char *p = write_file("k.jsonl", "{\"Text\": \"a\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "no field \"text\"");
}

static void test_jsonl_field_that_is_not_a_string_says_its_type(void)
{
    const char *p = write_file("l.jsonl", "{\"text\": \"a\"}\n{\"text\": 12}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "field \"text\" is a number, not a string");
    p = write_file("l2.jsonl", "{\"text\": null}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "is null, not a string");
    p = write_file("l3.jsonl", "{\"text\": [\"a\"]}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "is an array, not a string");
    p = write_file("l4.jsonl", "{\"text\": false}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "is false, not a string");
}

static void test_jsonl_escaped_nul_is_rejected(void)
{
    const char *p = write_file("m.jsonl", "{\"text\": \"a\"}\n{\"text\": \"ab\\u0000c\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "column 13: escape \\u0000 is a NUL");
}

static void test_jsonl_escaped_backslash_before_u0000_is_plain_text(void)
{
    const char *p = write_file("m2.jsonl", "{\"text\": \"a\\\\u0000\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "a\\u0000", 1));
    hr_corpus_destroy(c);
}

static void test_jsonl_lone_escaped_surrogates_are_rejected(void)
{
    const char *p = write_file("n.jsonl", "{\"text\": \"x\\ud83d y\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "\\ud83d is a high surrogate");
    p = write_file("n2.jsonl", "{\"text\": \"x\\uDE00\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "\\uDE00 is a low surrogate");
    p = write_file("n3.jsonl", "{\"text\": \"x\\ud83d\\u0041\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "column 12");
    p = write_file("n4.jsonl", "{\"text\": \"x\\ud83d\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "high surrogate");
}

static void test_jsonl_invalid_utf8_names_the_byte_column(void)
{
    const char *p = write_file("o.jsonl", "{\"text\": \"a\"}\n{\"text\": \"ab\xFF\"}\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "invalid UTF-8 at byte column 13");
}

static void test_jsonl_raw_nul_byte_is_rejected(void)
{
    const char text[] = "{\"text\": \"a\"}\n{\"text\": \"a\0b\"}\n";
    const char *p = write_bytes("p.jsonl", text, sizeof text - 1);
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "NUL byte at column 12");
}

static void test_jsonl_byte_order_mark_is_skipped(void)
{
    const char *p = write_file("q.jsonl", "\xEF\xBB\xBF{\"text\": \"a\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "a", 1));
    hr_corpus_destroy(c);
}

/* ------------------------------------------------------------------------ */
/* TXT                                                                        */

static void test_txt_reads_one_text_a_line_skipping_blank_lines(void)
{
    const char *p = write_file("a.txt", "alpha\n\nbeta gamma\n  \n\tdelta \n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(text_is(c, 0, "alpha", 1));
    CHECK(text_is(c, 1, "beta gamma", 3));
    CHECK(text_is(c, 2, "\tdelta ", 5));
    hr_corpus_destroy(c);
}

static void test_txt_crlf_line_ends_are_stripped(void)
{
    const char *p = write_file("b.txt", "one\r\ntwo\r\n\r\nthree\r");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(text_is(c, 0, "one", 1));
    CHECK(text_is(c, 1, "two", 2));
    CHECK(text_is(c, 2, "three", 4));
    hr_corpus_destroy(c);
}

static void test_txt_byte_order_mark_at_start_is_skipped(void)
{
    const char *p = write_file("c.txt", "\xEF\xBB\xBFhello\nworld\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "hello", 1));
    hr_corpus_destroy(c);
}

static void test_txt_nul_byte_names_line_and_column(void)
{
    const char text[] = "fine\nbad\0line\n";
    const char *p = write_bytes("d.txt", text, sizeof text - 1);
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "NUL byte at column 4");
}

static void test_txt_invalid_utf8_names_line_and_byte_column(void)
{
    const char *p = write_file("e.txt", "fine\n\nab\xC3\x28\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 3, "invalid UTF-8 at byte column 3 (byte 0xC3)");
    /* After a byte order mark, columns still count its three bytes. */
    p = write_file("e2.txt", "\xEF\xBB\xBF" "a\x80\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "byte column 5");
}

static void test_txt_line_longer_than_the_read_buffer_is_read_whole(void)
{
    size_t n = (3u << 20) + 17; /* over the 1 MiB first read, not a power of two */
    char *buf = malloc(n + 16);
    memcpy(buf, "short\n", 6);
    for (size_t i = 6; i < n; i++) buf[i] = (char)('a' + i % 26);
    memcpy(buf + n, "\r\nend\n", 6);
    const char *p = write_bytes("f.txt", buf, n + 6);
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(c && c->lens[1] == n - 6 && memcmp(c->texts[1], buf + 6, n - 6) == 0);
    CHECK(text_is(c, 2, "end", 3));
    hr_corpus_destroy(c);
    free(buf);
}

static void test_txt_many_lines_across_read_buffers_keep_their_line_numbers(void)
{
    size_t lines = 300000, cap = lines * 12 + 1, len = 0;
    char *buf = malloc(cap);
    for (size_t i = 0; i < lines; i++) {
        if (i % 1000 == 999) buf[len++] = '\n'; /* a blank line now and then */
        else len += (size_t)snprintf(buf + len, cap - len, "t%zu\n", i);
    }
    const char *p = write_bytes("g.txt", buf, len);
    free(buf);
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    size_t want_n = lines - lines / 1000;
    CHECKF(c && c->n == want_n, "n = %zu", c ? c->n : 0);
    int all_ok = 1;
    for (size_t k = 0; c && k < c->n; k++) {
        size_t i = k + k / 999; /* the line index of the k-th text */
        char want[32];
        snprintf(want, sizeof want, "t%zu", i);
        if (!text_is(c, k, want, i + 1)) {
            all_ok = 0;
            CHECKF(0, "text %zu: \"%s\" at line %zu, want \"%s\" at %zu", k, c->texts[k],
                   c->lines[k], want, i + 1);
            break;
        }
    }
    CHECK(all_ok);
    hr_corpus_destroy(c);
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                        */

static void test_csv_text_column_is_found_by_name(void)
{
    const char *p = write_file("a.csv", "id,text,label\n1,hello,x\n2,world,y\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "hello", 2));
    CHECK(text_is(c, 1, "world", 3));
    hr_corpus_destroy(c);
}

static void test_csv_quoted_field_with_comma_and_doubled_quote_is_decoded(void)
{
    const char *p = write_file("b.csv", "text,n\n\"a, \"\"quoted\"\" b\",1\n\"\",2\n\"x\"\"\",3\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(text_is(c, 0, "a, \"quoted\" b", 2));
    CHECK(text_is(c, 1, "", 3));
    CHECK(text_is(c, 2, "x\"", 4));
    hr_corpus_destroy(c);
}

static void test_csv_quoted_field_with_newline_is_one_text(void)
{
    const char *p = write_file("c.csv", "id,text\n1,\"line one\nline two\n\nline four\"\n2,next\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "line one\nline two\n\nline four", 2));
    CHECK(text_is(c, 1, "next", 6));
    hr_corpus_destroy(c);
}

static void test_csv_crlf_records_and_last_record_without_newline(void)
{
    const char *p = write_file("d.csv", "text,id\r\nfirst,1\r\n\"second\r\nhalf\",2\r\n\r\nlast,3");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 3);
    CHECK(text_is(c, 0, "first", 2));
    CHECK(text_is(c, 1, "second\r\nhalf", 3));
    CHECK(text_is(c, 2, "last", 6));
    hr_corpus_destroy(c);
}

static void test_csv_column_can_be_chosen_and_empty_fields_count(void)
{
    const char *p = write_file("e.csv", "a,body,c\n,x,\n\"\",,\"\"\n");
    hr_corpus *c = read_ok(p, "body", HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "x", 2));
    CHECK(text_is(c, 1, "", 3));
    hr_corpus_destroy(c);
}

static void test_csv_single_column_file_skips_blank_lines(void)
{
    const char *p = write_file("f.csv", "\ntext\nx\n\ny\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == 2);
    CHECK(text_is(c, 0, "x", 3));
    CHECK(text_is(c, 1, "y", 5));
    hr_corpus_destroy(c);
}

static void test_csv_byte_order_mark_before_the_header_is_skipped(void)
{
    const char *p = write_file("g.csv", "\xEF\xBB\xBFtext\nhello\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "hello", 2));
    hr_corpus_destroy(c);
}

static void test_csv_row_with_the_wrong_number_of_fields_names_its_line(void)
{
    const char *p = write_file("h.csv", "id,text\n1,a\n2,\"b\nc\"\n3,d,extra\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 5, "the row has 3 fields, the header has 2");
    p = write_file("h2.csv", "id,text\n1\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "the row has 1 field, the header has 2");
}

static void test_csv_unbalanced_quote_names_the_line_where_the_field_started(void)
{
    const char *p = write_file("i.csv", "id,text\n1,ok\n2,\"never closed\n3,more\n4,more\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 3, "column 3) is never closed");
}

static void test_csv_text_after_a_closing_quote_is_rejected(void)
{
    const char *p = write_file("j.csv", "id,text\n1,\"say \"hi\" now\"\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2,
                       "column 9: unexpected character after the closing quote");
}

static void test_csv_quote_inside_an_unquoted_field_is_rejected_with_its_column(void)
{
    const char *p = write_file("j2.csv", "id,text\n1,ab\"cd\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "column 5: a quote inside a field");
    /* In another column, and on a later line of the file, too. */
    p = write_file("j3.csv", "text,id\nfine,1\n\"ok\",2\nx,3\"\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 4, "column 4: a quote inside a field");
}

static void test_csv_missing_column_lists_the_columns_there_are(void)
{
    const char *p = write_file("k.csv", "id, text,label\n1,a,b\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1,
                       "no column \"text\" in the header (columns: \"id\", \" text\", \"label\")");
}

static void test_csv_header_naming_the_column_twice_is_rejected(void)
{
    const char *p = write_file("l.csv", "text,id,text\na,1,b\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 1, "column \"text\" twice (columns 1 and 3)");
}

static void test_csv_invalid_utf8_in_a_multiline_field_names_its_own_line(void)
{
    const char *p = write_file("m.csv", "id,text\n1,\"first\nsecond \xE0\x80\xAF\"\n");
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 3, "invalid UTF-8 at byte column 8");
    const char nul[] = "text\n\"a\0\"\n";
    p = write_bytes("m2.csv", nul, sizeof nul - 1);
    EXPECT_INPUT_ERROR(p, NULL, HR_FORMAT_AUTO, 2, "NUL byte at column 3");
}

static void test_csv_other_columns_are_not_checked_for_utf8(void)
{
    const char *p = write_file("n.csv", "meta,text\n\xFF\xFE,fine\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "fine", 2));
    hr_corpus_destroy(c);
}

static void test_csv_quoted_fields_spanning_read_buffers_are_whole(void)
{
    /* Records of about 1 KiB, half of them quoted with line breaks inside,
     * over several 1 MiB reads: every boundary case comes up somewhere. */
    size_t rows = 6000, cap = rows * 1100 + 64, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf, cap, "id,text\r\n");
    size_t line = 2;
    int all_ok = 1;
    for (size_t i = 0; i < rows; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%zu,", i);
        if (i % 2) {
            buf[len++] = '"';
            for (size_t k = 0; k < 1000 + i % 7; k++)
                buf[len++] = (k % 97 == 5) ? '\n' : (k % 89 == 3) ? ',' : 'a';
            memcpy(buf + len, "\"\"\"\r\n", 5);
            len += 5;
        } else {
            for (size_t k = 0; k < 900 + i % 5; k++) buf[len++] = 'b';
            memcpy(buf + len, "\r\n", 2);
            len += 2;
        }
    }
    const char *p = write_bytes("o.csv", buf, len);
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(c && c->n == rows);
    for (size_t i = 0; c && i < c->n && all_ok; i++) {
        size_t want_len = i % 2 ? 1000 + i % 7 + 1 : 900 + i % 5;
        size_t nl = 0;
        for (size_t k = 0; k < c->lens[i]; k++) nl += c->texts[i][k] == '\n';
        if (c->lens[i] != want_len || c->lines[i] != line ||
            (i % 2 && c->texts[i][c->lens[i] - 1] != '"')) {
            all_ok = 0;
            CHECKF(0, "record %zu: len %zu (want %zu), line %zu (want %zu)", i, c->lens[i],
                   want_len, c->lines[i], line);
        }
        line += 1 + nl;
    }
    CHECK(all_ok);
    hr_corpus_destroy(c);
    free(buf);
}

/* ------------------------------------------------------------------------ */
/* Files, formats, empty corpora                                              */

static void test_unknown_extension_is_an_error_listing_the_known_ones(void)
{
    const char *p = write_file("x.json", "{\"text\": \"a\"}\n");
    char err[512] = "";
    hr_corpus *c = NULL;
    hr_status st = hr_corpus_read(p, NULL, &c, err, sizeof err);
    CHECK(st == HR_ERR_INPUT);
    CHECKF(strstr(err, p) && strstr(err, "\".json\"") && strstr(err, ".jsonl, .txt, .csv"), "%s",
           err);
    p = write_file("noext", "a\n");
    st = hr_corpus_read(p, NULL, &c, err, sizeof err);
    CHECK(st == HR_ERR_INPUT);
    CHECKF(strstr(err, p) && strstr(err, ".jsonl, .txt, .csv"), "%s", err);
}

static void test_format_given_explicitly_overrides_the_extension(void)
{
    const char *p = write_file("y.json", "{\"text\": \"a\"}\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_JSONL);
    CHECK(text_is(c, 0, "a", 1));
    hr_corpus_destroy(c);
    c = read_ok(p, NULL, HR_FORMAT_TXT);
    CHECK(text_is(c, 0, "{\"text\": \"a\"}", 1));
    hr_corpus_destroy(c);
}

static void test_extension_is_matched_without_regard_to_case(void)
{
    const char *p = write_file("UPPER.TXT", "a\n");
    hr_corpus *c = read_ok(p, NULL, HR_FORMAT_AUTO);
    CHECK(text_is(c, 0, "a", 1));
    hr_corpus_destroy(c);
}

static void test_missing_file_is_an_io_error_naming_the_file(void)
{
    char path[600], err[1024] = "";
    snprintf(path, sizeof path, "%s/does-not-exist.jsonl", tmpdir);
    hr_corpus *c = (hr_corpus *)1;
    hr_status st = hr_corpus_read(path, NULL, &c, err, sizeof err);
    CHECK(st == HR_ERR_IO);
    CHECK(c == NULL);
    CHECKF(strstr(err, path) && strstr(err, "No such file"), "%s", err);
}

static void test_directory_is_an_io_error_naming_it(void)
{
    char path[600], err[1024] = "";
    snprintf(path, sizeof path, "%s/dir.txt", tmpdir);
    mkdir(path, 0700);
    hr_corpus *c = NULL;
    hr_status st = hr_corpus_read(path, NULL, &c, err, sizeof err);
    CHECK(st == HR_ERR_IO);
    CHECKF(strstr(err, path) != NULL, "%s", err);
    rmdir(path);
}

static void test_empty_files_say_no_texts(void)
{
    const char *names[] = {"empty.jsonl", "empty.txt", "empty.csv", "blank.jsonl", "blank.txt",
                           "header-only.csv", "bom-only.txt"};
    const char *bodies[] = {"", "", "", "\n \r\n\n", "\n\n\r\n  \n", "id,text\r\n\r\n",
                            "\xEF\xBB\xBF"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *p = write_file(names[i], bodies[i]);
        char err[1024] = "", want[600];
        hr_corpus *c = NULL;
        hr_status st = hr_corpus_read(p, NULL, &c, err, sizeof err);
        snprintf(want, sizeof want, "%s: no texts", p);
        CHECKF(st == HR_ERR_INPUT && strcmp(err, want) == 0, "%s: %s", names[i], err);
    }
}

static void test_null_error_buffer_and_a_tiny_one_are_safe(void)
{
    const char *p = write_file("z.jsonl", "nope\n");
    hr_corpus *c = NULL;
    CHECK(hr_corpus_read(p, NULL, &c, NULL, 0) == HR_ERR_INPUT);
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    CHECK(hr_corpus_read(p, NULL, &c, tiny, sizeof tiny) == HR_ERR_INPUT);
    CHECK(memchr(tiny, '\0', sizeof tiny) != NULL);
}

static void test_destroy_accepts_null(void) { hr_corpus_destroy(NULL); }

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                      */

static int valid(const char *s, size_t len, size_t *bad)
{
    return hr_utf8_valid(s, len, bad);
}

static void test_valid_utf8_at_every_range_boundary_is_accepted(void)
{
    const char *ok[] = {"\x01", "\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xEC\xBF\xBF",
                        "\xED\x9F\xBF", "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80",
                        "\xF3\xBF\xBF\xBF", "\xF4\x8F\xBF\xBF", "plain ascii text, long enough"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECKF(valid(ok[i], strlen(ok[i]), NULL), "case %zu", i);
    CHECK(valid("", 0, NULL));
}

static void test_overlong_utf8_is_rejected(void)
{
    const char *bad[] = {"\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
                         "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(!valid(bad[i], strlen(bad[i]), NULL), "case %zu", i);
}

static void test_utf8_surrogates_are_rejected(void)
{
    CHECK(!valid("\xED\xA0\x80", 3, NULL));
    CHECK(!valid("\xED\xBF\xBF", 3, NULL));
    CHECK(!valid("\xED\xA0\xBD\xED\xB8\x80", 6, NULL)); /* CESU-8 pair */
}

static void test_utf8_above_u10ffff_is_rejected(void)
{
    CHECK(!valid("\xF4\x90\x80\x80", 4, NULL));
    CHECK(!valid("\xF5\x80\x80\x80", 4, NULL));
    CHECK(!valid("\xF8\x88\x80\x80\x80", 5, NULL));
    CHECK(!valid("\xFF", 1, NULL));
}

static void test_truncated_utf8_sequences_are_rejected(void)
{
    size_t bad = 99;
    CHECK(!valid("ab\xE2\x82", 4, &bad) && bad == 2);
    CHECK(!valid("ab\xE2\x82z", 5, &bad) && bad == 2);
    CHECK(!valid("\xF0\x9F\x98", 3, &bad) && bad == 0);
    CHECK(!valid("\xC3", 1, &bad) && bad == 0);
    CHECK(!valid("x\x80", 2, &bad) && bad == 1); /* stray continuation byte */
}

static void test_utf8_nul_byte_is_rejected_with_its_offset(void)
{
    size_t bad = 99;
    CHECK(!valid("abcdefghij\0k", 12, &bad) && bad == 10);
    CHECK(!valid("\0", 1, &bad) && bad == 0);
}

static void test_utf8_bad_offset_is_found_past_the_ascii_fast_path(void)
{
    char s[100];
    for (size_t at = 0; at < 64; at++) {
        memset(s, 'a', sizeof s);
        s[at] = (char)0xFF;
        size_t bad = 999;
        CHECKF(!valid(s, sizeof s, &bad) && bad == at, "at %zu: got %zu", at, bad);
    }
}

/* Reference: decode one code point the slow, obvious way. */
static int ref_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        uint32_t cp;
        size_t n;
        if (c < 0x80) { cp = c; n = 1; }
        else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; }
        else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; }
        else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; }
        else return 0;
        if (i + n > len) return 0;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp == 0 || cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += n;
    }
    return 1;
}

static void test_utf8_check_agrees_with_a_reference_decoder(void)
{
    /* Every string of one, two and three bytes, and four-byte strings over
     * the bytes where the rules change. */
    unsigned char s[4];
    long disagree = 0;
    for (size_t len = 1; len <= 3; len++) {
        for (uint32_t v = 0; v < (1u << (8 * len)); v++) {
            for (size_t k = 0; k < len; k++) s[k] = (unsigned char)(v >> (8 * k));
            if (valid((const char *)s, len, NULL) != ref_valid(s, len) && disagree++ < 5)
                CHECKF(0, "len %zu: %02X %02X %02X", len, s[0], s[1], s[2]);
        }
    }
    static const unsigned char edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                         0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4,
                                         0xF5, 0xFF};
    size_t ne = sizeof edge;
    for (size_t a = 0; a < ne; a++)
        for (size_t b = 0; b < ne; b++)
            for (size_t c = 0; c < ne; c++)
                for (size_t d = 0; d < ne; d++) {
                    s[0] = edge[a], s[1] = edge[b], s[2] = edge[c], s[3] = edge[d];
                    if (valid((const char *)s, 4, NULL) != ref_valid(s, 4) && disagree++ < 5)
                        CHECKF(0, "%02X %02X %02X %02X", s[0], s[1], s[2], s[3]);
                }
    CHECKF(disagree == 0, "%ld disagreements", disagree);
}

/* Other fields of each text come along, typed as the JSONL has them. */
static void test_jsonl_keeps_other_fields_with_their_types(void)
{
    const char *p = write_file("fields.jsonl",
                               "{\"text\": \"one\", \"label\": \"pos\", \"score\": 0.25}\n"
                               "\n"
                               "{\"text\": \"two\", \"label\": 3, \"score\": null}\n"
                               "{\"text\": \"three\", \"label\": true, \"score\": [1]}\n"
                               "{\"text\": \"four\", \"score\": {\"a\": 1}}\n"
                               "{\"text\": \"five\", \"label\": false, \"score\": \"\"}\n");
    const char *names[] = {"label", "score"};
    hr_corpus_options o = {.fields = names, .n_fields = 2};
    hr_corpus *c = NULL;
    char err[512];
    CHECKF(hr_corpus_read(p, &o, &c, err, sizeof err) == HR_OK, "%s", err);
    if (!c) return;
    CHECK(c->n == 5 && c->n_fields == 2);
    const hr_corpus_field *f = hr_corpus_get_field(c, 0, 0);
    CHECK(f->type == HR_FIELD_STRING && strcmp(f->text, "pos") == 0 && f->len == 3);
    f = hr_corpus_get_field(c, 0, 1);
    CHECK(f->type == HR_FIELD_NUMBER && f->number == 0.25 && f->text == NULL);
    CHECK(hr_corpus_get_field(c, 1, 0)->type == HR_FIELD_NUMBER &&
          hr_corpus_get_field(c, 1, 0)->number == 3);
    CHECK(hr_corpus_get_field(c, 1, 1)->type == HR_FIELD_NULL);
    CHECK(c->lines[1] == 3); /* the blank line is skipped, fields stay with their text */
    CHECK(hr_corpus_get_field(c, 2, 0)->type == HR_FIELD_TRUE);
    CHECK(hr_corpus_get_field(c, 2, 1)->type == HR_FIELD_ARRAY);
    CHECK(hr_corpus_get_field(c, 3, 0)->type == HR_FIELD_MISSING);
    CHECK(hr_corpus_get_field(c, 3, 1)->type == HR_FIELD_OBJECT);
    CHECK(hr_corpus_get_field(c, 4, 0)->type == HR_FIELD_FALSE);
    f = hr_corpus_get_field(c, 4, 1);
    CHECK(f->type == HR_FIELD_STRING && f->len == 0 && f->text && f->text[0] == '\0');
    CHECK(hr_corpus_get_field(c, 5, 0) == NULL && hr_corpus_get_field(c, 0, 2) == NULL);
    hr_corpus_destroy(c);
}

static void test_csv_keeps_other_columns_and_needs_them_in_the_header(void)
{
    const char *p = write_file("fields.csv", "id,text,label\n1,\"hello, world\",yes\n"
                                             "2,bye,\"no \"\"really\"\"\"\n3,empty,\n");
    const char *names[] = {"label"};
    hr_corpus_options o = {.fields = names, .n_fields = 1};
    hr_corpus *c = NULL;
    char err[512];
    CHECKF(hr_corpus_read(p, &o, &c, err, sizeof err) == HR_OK, "%s", err);
    if (c) {
        CHECK(c->n == 3);
        CHECK(strcmp(hr_corpus_get_field(c, 0, 0)->text, "yes") == 0);
        CHECK(strcmp(hr_corpus_get_field(c, 1, 0)->text, "no \"really\"") == 0);
        CHECK(hr_corpus_get_field(c, 2, 0)->type == HR_FIELD_STRING &&
              hr_corpus_get_field(c, 2, 0)->len == 0);
        CHECK(strcmp(c->texts[0], "hello, world") == 0);
        hr_corpus_destroy(c);
    }
    const char *missing[] = {"score"};
    hr_corpus_options m = {.fields = missing, .n_fields = 1};
    c = NULL;
    CHECK(hr_corpus_read(p, &m, &c, err, sizeof err) == HR_ERR_INPUT && c == NULL);
    CHECKF(strstr(err, "fields.csv:1:") && strstr(err, "no column \"score\""), "%s", err);
    const char *q = write_file("badfield.csv", "text,label\nfine,\xff\n");
    CHECK(hr_corpus_read(q, &o, &c, err, sizeof err) == HR_ERR_INPUT && c == NULL);
    CHECKF(strstr(err, "badfield.csv:2:") && strstr(err, "invalid UTF-8"), "%s", err);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/hr-corpus-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }

    RUN(test_jsonl_texts_come_in_order_with_their_line_numbers);
    RUN(test_jsonl_blank_lines_are_skipped_and_crlf_is_tolerated);
    RUN(test_jsonl_last_line_without_a_newline_is_read);
    RUN(test_jsonl_text_field_can_be_chosen);
    RUN(test_jsonl_escapes_are_decoded_including_surrogate_pairs);
    RUN(test_jsonl_raw_utf8_and_an_empty_string_are_kept);
    RUN(test_jsonl_line_that_is_not_json_names_file_and_line);
    RUN(test_jsonl_two_objects_on_one_line_are_rejected);
    RUN(test_jsonl_line_that_is_not_an_object_says_what_it_is);
    RUN(test_jsonl_missing_field_lists_the_fields_there_are);
    RUN(test_jsonl_field_names_are_case_sensitive);
    RUN(test_jsonl_field_that_is_not_a_string_says_its_type);
    RUN(test_jsonl_escaped_nul_is_rejected);
    RUN(test_jsonl_escaped_backslash_before_u0000_is_plain_text);
    RUN(test_jsonl_lone_escaped_surrogates_are_rejected);
    RUN(test_jsonl_invalid_utf8_names_the_byte_column);
    RUN(test_jsonl_raw_nul_byte_is_rejected);
    RUN(test_jsonl_byte_order_mark_is_skipped);

    RUN(test_txt_reads_one_text_a_line_skipping_blank_lines);
    RUN(test_txt_crlf_line_ends_are_stripped);
    RUN(test_txt_byte_order_mark_at_start_is_skipped);
    RUN(test_txt_nul_byte_names_line_and_column);
    RUN(test_txt_invalid_utf8_names_line_and_byte_column);
    RUN(test_txt_line_longer_than_the_read_buffer_is_read_whole);
    RUN(test_txt_many_lines_across_read_buffers_keep_their_line_numbers);

    RUN(test_csv_text_column_is_found_by_name);
    RUN(test_csv_quoted_field_with_comma_and_doubled_quote_is_decoded);
    RUN(test_csv_quoted_field_with_newline_is_one_text);
    RUN(test_csv_crlf_records_and_last_record_without_newline);
    RUN(test_csv_column_can_be_chosen_and_empty_fields_count);
    RUN(test_csv_single_column_file_skips_blank_lines);
    RUN(test_csv_byte_order_mark_before_the_header_is_skipped);
    RUN(test_csv_row_with_the_wrong_number_of_fields_names_its_line);
    RUN(test_csv_unbalanced_quote_names_the_line_where_the_field_started);
    RUN(test_csv_text_after_a_closing_quote_is_rejected);
    RUN(test_csv_quote_inside_an_unquoted_field_is_rejected_with_its_column);
    RUN(test_csv_missing_column_lists_the_columns_there_are);
    RUN(test_csv_header_naming_the_column_twice_is_rejected);
    RUN(test_csv_invalid_utf8_in_a_multiline_field_names_its_own_line);
    RUN(test_csv_other_columns_are_not_checked_for_utf8);
    RUN(test_csv_quoted_fields_spanning_read_buffers_are_whole);

    RUN(test_unknown_extension_is_an_error_listing_the_known_ones);
    RUN(test_format_given_explicitly_overrides_the_extension);
    RUN(test_extension_is_matched_without_regard_to_case);
    RUN(test_missing_file_is_an_io_error_naming_the_file);
    RUN(test_directory_is_an_io_error_naming_it);
    RUN(test_empty_files_say_no_texts);
    RUN(test_null_error_buffer_and_a_tiny_one_are_safe);
    RUN(test_destroy_accepts_null);
    RUN(test_jsonl_keeps_other_fields_with_their_types);
    RUN(test_csv_keeps_other_columns_and_needs_them_in_the_header);

    RUN(test_valid_utf8_at_every_range_boundary_is_accepted);
    RUN(test_overlong_utf8_is_rejected);
    RUN(test_utf8_surrogates_are_rejected);
    RUN(test_utf8_above_u10ffff_is_rejected);
    RUN(test_truncated_utf8_sequences_are_rejected);
    RUN(test_utf8_nul_byte_is_rejected_with_its_offset);
    RUN(test_utf8_bad_offset_is_found_past_the_ascii_fast_path);
    RUN(test_utf8_check_agrees_with_a_reference_decoder);

    for (int i = 0; i < nwritten; i++) unlink(written[i]);
    if (rmdir(tmpdir) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary();
}
