/*
 * host/core/memory.h: buffers for large arrays (score slabs, embedding
 * matrices read from .npy files).
 */
#ifndef HYPORANK_MEMORY_H
#define HYPORANK_MEMORY_H

#include <stddef.h>

/* At least bytes (1 when bytes is 0), released with free(), or NULL when out
 * of memory. From 4 MiB on the buffer is aligned to 2 MiB and marked for
 * transparent huge pages (madvise), so that first touching it takes up to
 * 512 times fewer page faults where the kernel grants them (Linux's default
 * "madvise" mode); otherwise it is plain malloc. */
void *hr_alloc_large(size_t bytes);

#endif
