/* host/backends/cpu/blas_core.c: see blas_core.h. */
#include "backends/cpu/blas_core.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void); /* OpenBLAS */

const char *hr_blas_corename(void)
{
    return openblas_get_corename();
}

/* Kernel sets without AVX2/FMA: OpenBLAS's fallbacks for CPUs it does not know. */
static int is_pre_avx2(const char *core)
{
    static const char *const old[] = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                      "atom", "katmai", "coppermine", "northwood", "banias",
                                      "sandybridge"};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++)
        if (strcasecmp(core, old[i]) == 0) return 1;
    return 0;
}

const char *hr_blas_better_coretype(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set) return NULL;
    const char *core = openblas_get_corename();
    if (!core || !is_pre_avx2(core)) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void hr_blas_use_better_kernels(char **argv)
{
    const char *core = hr_blas_better_coretype();
    if (!core || getenv("HYPORANK_BLAS_REEXEC")) return;
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("HYPORANK_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");
}
