/*
 * host/backends/cpu/blas_core.h: spotting an OpenBLAS that runs the wrong kernels.
 *
 * OpenBLAS picks its kernels for the CPU it finds when it loads. A build older
 * than the CPU (Debian 12's 0.3.21 on Intel Emerald Rapids, say) does not
 * know the model and falls back to Prescott, SSE3 kernels, several times
 * slower than the AVX-512 ones the CPU can run. The choice can only be
 * changed through OPENBLAS_CORETYPE before the library loads, so programs
 * (not this library) act on the advice: set the variable and exec again.
 */
#ifndef HYPORANK_BLAS_CORE_H
#define HYPORANK_BLAS_CORE_H

/* The OPENBLAS_CORETYPE that would serve this CPU better than the kernels
 * OpenBLAS chose, or NULL when its choice is fine, when OPENBLAS_CORETYPE is
 * already set (someone chose on purpose), or when the CPU is not x86-64. */
const char *hr_blas_better_coretype(void);

/* Runs the program again (execv of /proc/self/exe with argv) with
 * OPENBLAS_CORETYPE set to hr_blas_better_coretype() when there is a better
 * one, once (HYPORANK_BLAS_REEXEC marks the second run). Returns when there
 * is nothing to do or the exec fails, which leaves the program as it was.
 * Call first thing in main, before any thread starts. */
void hr_blas_use_better_kernels(char **argv);

/* The kernel set OpenBLAS is running ("SkylakeX", "Prescott", ...). */
const char *hr_blas_corename(void);

#endif
