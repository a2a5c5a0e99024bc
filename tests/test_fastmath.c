/*
 * tests/test_fastmath.c: hr_expf and hr_gelu against libm in double.
 */
#include "core/fastmath.h"
#include "test_util.h"

#include <math.h>

static double rel_err(double got, double want)
{
    return fabs(got - want) / fmax(fabs(want), 1e-30);
}

static void test_expf_is_within_a_few_ulp_of_exp(void)
{
    /* float has 2^-24 = 6e-8 relative precision; allow ~4 ulp. */
    double worst = 0, at = 0;
    for (double x = -87.0; x <= 88.0; x += 1e-3) {
        float xf = (float)x;
        double e = rel_err(hr_expf(xf), exp((double)xf));
        if (e > worst) worst = e, at = xf;
    }
    fprintf(stderr, "  hr_expf: max relative error %.3g at x = %g\n", worst, at);
    CHECKF(worst < 2.5e-7, "max relative error %g at %g", worst, at);
}

static void test_expf_saturates_instead_of_overflowing(void)
{
    CHECK(isfinite(hr_expf(1000.f)) && hr_expf(1000.f) > 1e38f);
    CHECK(hr_expf(-1000.f) >= 0.f && hr_expf(-1000.f) < 1e-37f);
    CHECK(hr_expf(0.f) == 1.f);
}

static double gelu_ref(double x)
{
    return 0.5 * x * erfc(-x / sqrt(2.0));
}

static void test_gelu_matches_erf_gelu_to_float_precision(void)
{
    /* The reference is GELU in double. Two regions:
     *  x >= -3: |GELU| > 4e-3 (or exactly 0); relative error. float32 holds
     *           6e-8, erfcc 1.2e-7, and exp's argument -z^2 + p (|.| up to 6)
     *           rounds to ~5e-7 relative: 2e-6 bounds the sum.
     *  x < -3:  the tail, |GELU| < 4e-3 and falling to 0; absolute error,
     *           which is what reaches the next matrix product.
     * And in both: no worse than the float32 formula PyTorch evaluates,
     * 0.5 x (1 + erff(x / sqrt 2)), whose 1 + erf cancels in the tail. */
    double worst_rel = 0, at_rel = 0, worst_tail = 0, ours_abs = 0, torch_abs = 0;
    for (double x = -12.0; x <= 12.0; x += 1e-4) {
        float xf = (float)x;
        double want = gelu_ref(xf), got = hr_gelu(xf);
        double torch = 0.5f * xf * (1.f + erff(xf * 0.70710678118654752f));
        ours_abs = fmax(ours_abs, fabs(got - want));
        torch_abs = fmax(torch_abs, fabs(torch - want));
        if (xf >= -3.f) {
            double e = want == 0 ? fabs(got) : rel_err(got, want);
            if (e > worst_rel) worst_rel = e, at_rel = xf;
        } else {
            worst_tail = fmax(worst_tail, fabs(got - want));
        }
    }
    fprintf(stderr,
            "  hr_gelu: max relative error %.3g (x = %g) for x >= -3, max absolute %.3g below;"
            " overall absolute %.3g (float32 erff formula: %.3g)\n",
            worst_rel, at_rel, worst_tail, ours_abs, torch_abs);
    CHECKF(worst_rel < 2e-6, "max relative error %g at %g", worst_rel, at_rel);
    CHECKF(worst_tail < 1e-8, "max absolute error in the tail: %g", worst_tail);
    CHECKF(ours_abs <= torch_abs, "ours %g, float32 erff formula %g", ours_abs, torch_abs);
}

static void test_gelu_of_large_inputs_is_identity_or_zero(void)
{
    CHECK(hr_gelu(50.f) == 50.f);
    CHECK(fabsf(hr_gelu(-50.f)) < 1e-30f);
    CHECK(hr_gelu(0.f) == 0.f);
}

int main(void)
{
    RUN(test_expf_is_within_a_few_ulp_of_exp);
    RUN(test_expf_saturates_instead_of_overflowing);
    RUN(test_gelu_matches_erf_gelu_to_float_precision);
    RUN(test_gelu_of_large_inputs_is_identity_or_zero);
    return test_summary();
}
