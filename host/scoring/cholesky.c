/* host/scoring/cholesky.c: see cholesky.h. */
#include "scoring/cholesky.h"

#include <math.h>
#include <stddef.h>

int hr_cholesky(const double *H, int p, double ridge, double *L)
{
    for (int i = 0; i < p; i++) {
        double *li = L + (size_t)i * p;
        for (int j = 0; j <= i; j++) {
            const double *lj = L + (size_t)j * p;
            double s = H[(size_t)j * p + i]; /* H[j][i], j <= i: upper triangle */
            for (int k = 0; k < j; k++) s -= li[k] * lj[k];
            if (j == i) {
                s += ridge;
                if (!(s > 0)) return -1;
                li[i] = sqrt(s);
            } else {
                li[j] = s / lj[j];
            }
        }
    }
    return 0;
}

void hr_cholesky_solve(const double *L, int p, double *x)
{
    for (int i = 0; i < p; i++) { /* L v = rhs */
        const double *li = L + (size_t)i * p;
        double s = x[i];
        for (int k = 0; k < i; k++) s -= li[k] * x[k];
        x[i] = s / li[i];
    }
    for (int i = p - 1; i >= 0; i--) { /* L^T x = v */
        double s = x[i];
        for (int k = i + 1; k < p; k++) s -= L[(size_t)k * p + i] * x[k];
        x[i] = s / L[(size_t)i * p + i];
    }
}
