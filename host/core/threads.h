/*
 * host/core/threads.h: run one function on n workers, the calling thread
 * being one of them.
 *
 *     typedef struct part { size_t lo, hi; double sum; } part;
 *     part parts[HR_MAX_WORKERS];
 *     ... fill parts[0..n) ...
 *     hr_run_workers(work, parts, sizeof parts[0], n);   // work(&parts[i]) for each i
 *
 * Every argument is worked on exactly once before the call returns: args[1..n)
 * on new threads, args[0] on the calling thread, and any whose thread could
 * not be started on the calling thread afterwards. n is at most
 * HR_MAX_WORKERS; n = 0 does nothing.
 */
#ifndef HYPORANK_THREADS_H
#define HYPORANK_THREADS_H

#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

#define HR_MAX_WORKERS 64

static inline void hr_run_workers(void *(*fn)(void *), void *args, size_t stride, int n)
{
    pthread_t tid[HR_MAX_WORKERS];
    int started[HR_MAX_WORKERS] = {0};
    char *a = args;
    if (n <= 0) return;
    if (n > HR_MAX_WORKERS) n = HR_MAX_WORKERS;
    for (int t = 1; t < n; t++)
        started[t] = pthread_create(&tid[t], NULL, fn, a + (size_t)t * stride) == 0;
    fn(a);
    for (int t = 1; t < n; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else fn(a + (size_t)t * stride);
    }
}

/* The processors online, in [1, HR_MAX_WORKERS]. */
static inline int hr_cpu_count(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > HR_MAX_WORKERS ? HR_MAX_WORKERS : (int)c;
}

/* Workers for an option's n_threads: n_threads, or one per core when it is
 * <= 0; in [1, HR_MAX_WORKERS]. */
static inline int hr_workers(int n_threads)
{
    if (n_threads <= 0) return hr_cpu_count();
    return n_threads > HR_MAX_WORKERS ? HR_MAX_WORKERS : n_threads;
}

#endif
