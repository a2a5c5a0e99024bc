/*
 * hyporank/hash.h: SHA-256 (FIPS 180-4), for cache keys and model identity.
 *
 *     hr_sha256 h; hr_sha256_init(&h);
 *     hr_sha256_update(&h, data, len);
 *     unsigned char digest[32]; hr_sha256_final(&h, digest);
 */
#ifndef HYPORANK_HASH_H
#define HYPORANK_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hr_sha256 {
    uint32_t state[8];
    uint64_t bytes;          /* total bytes hashed so far */
    unsigned char block[64]; /* pending partial block */
    size_t fill;             /* bytes in block */
} hr_sha256;

void hr_sha256_init(hr_sha256 *h);
void hr_sha256_update(hr_sha256 *h, const void *data, size_t len);
void hr_sha256_final(hr_sha256 *h, unsigned char digest[32]);
/* One-shot digest of data as 64 lower-case hex digits plus NUL. */
void hr_sha256_hex(const void *data, size_t len, char hex[65]);
/* Writes 32 bytes as 64 hex digits plus NUL. */
void hr_hex_encode(const unsigned char digest[32], char hex[65]);

#ifdef __cplusplus
}
#endif

#endif
