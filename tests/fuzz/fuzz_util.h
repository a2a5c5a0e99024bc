/*
 * tests/fuzz/fuzz_util.h: what the libFuzzer harnesses share. Built only with
 * -DHR_FUZZ=ON and clang (scripts/fuzz.sh); each harness is one
 * LLVMFuzzerTestOneInput over one reader or parser of untrusted bytes.
 */
#ifndef HYPORANK_FUZZ_UTIL_H
#define HYPORANK_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes data to a file of this process named after suffix (the readers
 * take paths, and the extension picks the format); returns its path. */
static inline const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/hr-fuzz-%ld%s", tmp && *tmp ? tmp : "/tmp", (long)getpid(),
             suffix);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    return path;
}

/* data as a NUL-terminated copy (free it). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
