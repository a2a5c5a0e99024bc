/* host/core/memory.c: see memory.h. */
#define _GNU_SOURCE /* MADV_HUGEPAGE */
#include "core/memory.h"

#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

void *hr_alloc_large(size_t bytes)
{
    if (bytes < 2 * HUGE_PAGE) return malloc(bytes ? bytes : 1);
    void *p = NULL;
    const size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (rounded < bytes || posix_memalign(&p, HUGE_PAGE, rounded) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: refused, it still works */
#endif
    return p;
}
