/*
 * tests/test_texts.h: the texts of a JSONL fixture ({"text": ...} a line),
 * read with cJSON, independently of the library's own corpus reader.
 *
 *     size_t n;
 *     char **texts = read_texts(test_fixture("embedding-texts.jsonl"), &n);
 *     ...
 *     free_texts(texts, n);
 */
#ifndef HYPORANK_TEST_TEXTS_H
#define HYPORANK_TEST_TEXTS_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* NULL when the file cannot be opened; lines without a "text" string are skipped. */
static inline char **read_texts(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char **texts = NULL;
    size_t cap = 0;
    *n = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        cJSON *obj = cJSON_Parse(line);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "text");
        if (cJSON_IsString(t)) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 256;
                texts = realloc(texts, cap * sizeof *texts);
            }
            texts[(*n)++] = strdup(t->valuestring);
        }
        cJSON_Delete(obj);
    }
    free(line);
    fclose(f);
    return texts;
}

static inline void free_texts(char **texts, size_t n)
{
    for (size_t i = 0; texts && i < n; i++) free(texts[i]);
    free(texts);
}

#endif
