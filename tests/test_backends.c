/*
 * tests/test_backends.c: every registered backend (host/backends/backend.h)
 * runs every operation against the CPU reference, in the spirit of ggml's
 * test-backend-ops:
 *
 *   encoder  each step of the forward pass (hr_encoder_ops) against the
 *            CPU's function (host/backends/cpu/encoder_cpu.h), attention
 *            against an exact (double) reference for every backend; the
 *            forward pass of the real model, and whole embed calls through
 *            hr_encoder_create, against the CPU encoder
 *   scorer   the three methods against the CPU scorer (random data, every
 *            memory layout), and against the specification computed the
 *            plain way (host/scoring/score_methods.h on a materialised score
 *            matrix, tests/scorer_reference.h) on data whose scores are exact
 *   probe    the passes, through the one Newton loop, against the CPU fit
 *
 * with the tolerances named below. Besides: the registry, the auto policy,
 * the test-only "reference" backend (tests/backend_reference.c) being
 * called through the public API, and the specification's rewritings (the
 * GPU's forms: CENTERED's linear form, CONTRAST's shifted form) against it.
 *
 *     test_backends [--device cpu|cuda|all]
 *
 * --device cpu (ctest test_backends, label cpu): the backends of
 * HR_DEVICE_CPU (the CPU itself, where an independent reference exists,
 * and the reference backend) and the checks above that need no device.
 * --device cuda (ctest test_backends_gpu, label gpu): the CUDA backend;
 * exits 77 (skipped) when the build has none or no GPU is usable.
 * all (the default): both. A backend that is registered but has no usable
 * device is skipped with a line that says why.
 */
#include "backends/backend.h"
#include "backends/cpu/encoder_cpu.h"
#include "backends/cpu/gemm_amx.h"
#include "core/simd.h"
#include "model/encoder_internal.h"
#include "model/model_internal.h"
#include "scoring/probe_internal.h"
#include "scoring/score_methods.h"
#include "hyporank/device.h"
#include "hyporank/findings.h"
#include "hyporank/encoder.h"
#include "hyporank/model.h"
#include "hyporank/probe.h"
#include "hyporank/scorer.h"
#include "hyporank/stats.h"
#include "hyporank/tokenizer.h"
#include "backend_reference.h"
#include "scorer_reference.h"
#include "test_random.h"
#include "test_texts.h"
#include "test_util.h"
#ifdef HR_HAVE_CUDA
#include "backends/cuda/encoder_cuda.h"
#include "backends/cuda/probe_cuda.h"
#include "backends/cuda/scorer_cuda.h"
#endif

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Tolerances                                                                */

/* Row steps (LayerNorm, L2 normalisation, embedding + LayerNorm, residual +
 * LayerNorm): float32 row reductions in different orders (warp tree against
 * 16 interleaved partial sums) differ by a few ulp per element; 1e-5
 * absolute on O(1) outputs leaves a wide margin yet catches any real mistake
 * (a wrong eps, a missing gamma, a wrong row, position or id). */
#define ROW_TOL 1e-5f
/* GELU: CUDA's erff is within 2 ulp; hr_gelu is within a few ulp of the
 * exact GELU (tests/test_fastmath.c); the product 0.5 v (1 + erf) adds two
 * roundings. So a few float ulp relative: 1e-6 (1 + |ref|) allows ~8 ulp
 * for large outputs plus 1e-6 absolute for the far negative tail, where
 * 1 + erff(v / sqrt 2) cancels (the output there is below 2e-6 anyway). */
#define GELU_REL_TOL 1e-6f
/* Attention against the exact (double) reference. Outputs are convex
 * combinations of V values (|v| <= 2). A float32 implementation's worst
 * case: each score's dot product (dh = 32 terms of size <= 4: <= 32 u 128 /
 * sqrt(32) = 1.4e-5 with u = 6e-8) moves the softmax weights by that
 * relative amount, <= 6e-5 on the output, and the weighted sum over up to
 * 512 keys adds <= 512 u 2 = 6e-5: about 1e-4 in all, and dh = 64 is no
 * worse after the 1/sqrt(dh) scale. Typical errors are ~1e-6; a wrong key,
 * bias, scale or a lost tile is off by ~1e-1. */
#define ATTENTION_TOL 1e-4f
/* Mean pooling: the column sums run in the same order on both sides; only
 * the L2 norm's sum differs in order (a few ulp). Means of values in
 * [-1.9, 2.1] are below ~2.1: 2e-6 absolute is ~8 ulp there. */
#define POOL_TOL 2e-6f
/* Sentence embeddings against the CPU encoder, per text: FP16 GEMM inputs
 * (relative rounding 2^-11 ~ 4.9e-4 per weight and activation, averaging
 * out over 384..1536 terms) with FP32 accumulation and an FP32 residual
 * stream keep sentence embeddings at cosine ~0.9999+ against float32;
 * 0.9995 is the bar issue 4 sets, not a number tuned to pass. */
#define MIN_COSINE 0.9995
/* The same batches on one backend split differently: only the GEMM shapes
 * differ, so agreement is to float rounding. */
#define MIN_COSINE_SAME_BACKEND 0.99999
/* The CPU forward on AMX tiles (gemm_amx.h) against sgemm's: measured
 * 1 - 1.1e-10 at worst over the texts of test_forward_matches_cpu_on_real_texts;
 * with single BF16 products instead of split ones, 1 - 5.2e-5. */
#define MIN_COSINE_AMX (1.0 - 1e-8)
/* Scorer (host/backends/cuda/scorer_cuda.h explains them):
 *   AUROC  1e-4: a binned AUROC is off by at most half the mass of A-B
 *          pairs sharing a bin (bins 3.05e-5 wide: about 8e-5 for cosines
 *          of spread 0.05, in practice far less), plus the pairs the FP16
 *          rounding reorders (scores off by ~2.5e-5 on random data). Data
 *          whose scores are exact in FP16 and a bin apart must agree to
 *          rounding (EXACT_TOL).
 *   means  1e-3: FP16 inputs with FP32 accumulation put each score within
 *          2u + u^2 = 9.8e-4 (u = 2^-11) of the exact product for vectors
 *          of norm <= 1; a mean is within the same bound. CONTRAST's score
 *          is a similarity minus a pool term, each within it: twice;
 *          CENTERED's means are scaled back from a unit-norm hypothesis of
 *          norm at most 2K / (K - 1) <= 3: three times.
 *   z, p   checked where p_cpu > P_FLOOR. Given the two U's, z must agree
 *          to |U_gpu - U_cpu| / sigma plus the tie-term approximation
 *          (relative 1e-6 of |z|, against ~3e-8 expected); and whatever the
 *          U's, the AUROC bound gives dz <= 1e-4 n_a n_b / sigma, so p may
 *          differ by a relative exp((|z| + 1 + dz) dz) - 1 (Mills' ratio
 *          bounds the slope of log p in z by |z| + 1). */
#define AUROC_TOL 1e-4
#define MEAN_TOL 1e-3
/* An accelerator's similarities against the CPU's: FP16 products of unit
 * vectors are within 1e-3 of the float ones (each factor rounded to 2^-11
 * relative, sum_i |h_i x_i| <= 1), and its bins add half of 2 / 65536. The
 * effects' statistics (quantiles, the threshold, mean hinges) inherit that
 * bound, twice for the hinges (the threshold and the similarity both move);
 * the effect is their difference over the gain. */
#define EFFECT_SIM_TOL 1e-3
#define P_FLOOR 1e-10
#define EXACT_TOL 1e-12
/* Bins over [-1, 1] of a binning scorer (host/backends/cuda/scorer_cuda.h),
 * for the bound on groups of one sample; a scorer without bins is closer. */
#define SCORE_BINS 65536
#ifdef HR_HAVE_CUDA
_Static_assert(SCORE_BINS == HR_SCORER_CUDA_BINS, "the CUDA scorer's bins");
#endif
/* Probe (both fits compute the same L, gradient and Hessian in double and
 * differ only in the order of summation):
 *   coefficients  max_j |theta_b_j - theta_cpu_j| <= 2 tol max(1, max_j
 *           |theta_cpu_j|), theta = (w, b), tol the fit's stopping tolerance
 *           (1e-8 by default). Each fit ends by taking a full Newton step no
 *           larger than tol max(1, max |theta|), and after it the error is of
 *           the order of the step squared (quadratic convergence), far below
 *           the step: so each fit is within tol (relative) of the minimiser
 *           and the two within 2 tol of each other. Rounding moves the
 *           minimiser by about (n u max|term|) / lambda_min(H) ~ 1e-12 here
 *           (u = 1.1e-16, n <= 5e4, lambda_min >= about lambda = 1):
 *           negligible against 2e-8. A larger difference means the backend
 *           computed a different function, which is what this test is for.
 *   decision values  |f_b(x) - f_cpu(x)| <= |dw|_1 max|x_k| + |db|:
 *           checked against the bound from the coefficient tolerance.
 *   objective  |L_b - L_cpu| <= 1e-9 |L_cpu|: L is a sum of n positive
 *           terms, each summed in another order (worst case n u = 5.5e-12
 *           relative for n = 5e4) from margins whose own rounding is
 *           d u sum_k |theta_k x_k| (about 1e-12 relative per term); the
 *           coefficient difference moves L only to second order (L is flat
 *           at its minimiser). 1e-9 leaves a margin of over 100.
 *   iterations  equal, or one apart: a full step that lands within rounding
 *           of the tol threshold may be taken one iteration later on one
 *           side. Both fits must converge.
 *   AUROC of the decision values (rounded to float, as hr_probe_cross_validate
 *           does): a positive-negative pair can change order only if its
 *           CPU values are closer than 2 max|f_b - f_cpu| plus two float
 *           roundings (2^-22 max|f|); each such pair moves U by at most 1, so
 *           |dAUROC| <= (such pairs) / (n_1 n_0), counted on the data. */
#define PROBE_OBJECTIVE_REL_TOL 1e-9

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static unsigned lcg_state;
static float frand(void) /* uniform in [-1, 1) */
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / 8388608.f - 1.f;
}

static void fill(float *v, size_t n, float scale, float shift)
{
    for (size_t i = 0; i < n; i++) v[i] = scale * frand() + shift;
}

static float max_abs_diff(const float *a, const float *b, size_t n)
{
    float m = 0.f;
    for (size_t i = 0; i < n; i++) {
        const float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = isnan(d) ? INFINITY : d; /* a NaN counts as infinitely far */
    }
    return m;
}

static const hr_backend *cpu_backend(void)
{
    return hr_backend_named("cpu");
}

/* 1 when the public API picks b for b's device and service svc. */
static int public_api_runs(const hr_backend *b, hr_service svc)
{
    const hr_backend *p = NULL;
    return hr_backend_for(b->device, svc, &p, NULL, 0) == HR_OK && p == b;
}

/* ------------------------------------------------------------------------ */
/* Registry, policy, the reference backend, the specification's forms       */

static void test_registry_lists_the_builds_backends(void)
{
    const hr_backend *cpu = cpu_backend(), *ref = hr_backend_named("reference");
    CHECK(cpu && cpu->device == HR_DEVICE_CPU && cpu->encoder && cpu->scorer && cpu->probe);
    CHECK(hr_backend_at(0) == cpu); /* built-in backends first */
    CHECK(ref && ref->device == HR_DEVICE_CPU && ref->scorer && !ref->encoder && !ref->probe);
    CHECK(hr_backend_at(hr_backend_count() - 1) == ref && hr_backend_at(hr_backend_count()) == NULL);
    CHECK(hr_backend_named("no such backend") == NULL);
    CHECK(hr_device_usable(HR_DEVICE_CPU, NULL) == 1);
    /* The last registered backend of a device runs it: the reference scorer
     * on the CPU in this program; the CPU's own encoder and probe. */
    const hr_backend *b = NULL;
    CHECK(hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_SCORER, &b, NULL, 0) == HR_OK && b == ref);
    CHECK(hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_ENCODER, &b, NULL, 0) == HR_OK && b == cpu);
    CHECK(hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_PROBE, &b, NULL, 0) == HR_OK && b == cpu);
    char name[64] = "";
    CHECK(hr_device_name(HR_DEVICE_CPU, name, sizeof name, NULL, NULL, 0) == HR_OK &&
          strcmp(name, "cpu") == 0);
#ifdef HR_HAVE_CUDA
    const hr_backend *cuda = hr_backend_named("cuda");
    CHECK(cuda && cuda->device == HR_DEVICE_CUDA && cuda->encoder && cuda->scorer && cuda->probe);
#else
    /* A build without CUDA has no CUDA backend, and says so. */
    const char *why = NULL;
    char err[256] = "";
    CHECK(hr_backend_named("cuda") == NULL);
    CHECK(hr_device_usable(HR_DEVICE_CUDA, &why) == 0 && why && strstr(why, "CUDA toolkit"));
    CHECK(hr_backend_for(HR_DEVICE_CUDA, HR_SERVICE_SCORER, &b, err, sizeof err) ==
              HR_ERR_UNSUPPORTED && b == NULL);
    CHECKF(strstr(err, "without the CUDA toolkit") != NULL, "%s", err);
    CHECK(hr_device_name(HR_DEVICE_CUDA, name, sizeof name, NULL, err, sizeof err) ==
          HR_ERR_UNSUPPORTED);
#endif
}

static void test_auto_falls_back_on_device_failures_only(void)
{
    const hr_status recoverable[] = {HR_ERR_NO_DEVICE, HR_ERR_UNSUPPORTED, HR_ERR_CUDA,
                                     HR_ERR_NOMEM};
    const hr_status final[] = {HR_OK, HR_ERR_INPUT, HR_ERR_IO, HR_ERR_MODEL, HR_ERR_CACHE,
                               HR_ERR_INTERNAL};
    for (size_t i = 0; i < sizeof recoverable / sizeof recoverable[0]; i++) {
        CHECK(hr_device_falls_back(HR_DEVICE_AUTO, recoverable[i]) == 1);
        CHECK(hr_device_falls_back(HR_DEVICE_CUDA, recoverable[i]) == 0);
        CHECK(hr_device_falls_back(HR_DEVICE_CPU, recoverable[i]) == 0);
    }
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        CHECKF(hr_device_falls_back(HR_DEVICE_AUTO, final[i]) == 0, "status %d", (int)final[i]);
    const hr_device all[] = {HR_DEVICE_AUTO, HR_DEVICE_CPU, HR_DEVICE_CUDA};
    for (size_t i = 0; i < 3; i++) {
        hr_device d;
        CHECK(hr_device_parse(hr_device_str(all[i]), &d) == 0 && d == all[i]);
    }
    hr_device d = HR_DEVICE_CPU;
    CHECK(hr_device_parse("gpu", &d) == -1 && hr_device_parse(NULL, &d) == -1);
    CHECK(d == HR_DEVICE_CPU);
}

/* The test-only backend (tests/backend_reference.c) is one file and one
 * registration line; the public scorer on the CPU runs through it. */
static void test_reference_backend_is_called_through_the_public_scorer(void)
{
    rng_state = 7;
    const size_t na = 40, nb = 30, k = 5, d = 8;
    float *xa = exact_matrix(na, d, 0), *xb = exact_matrix(nb, d, 0), *h = exact_matrix(k, d, 0);
    hr_hypothesis_score got[5], want[5];
    char err[256] = "";
    memset(&backend_reference_counts, 0, sizeof backend_reference_counts);
    hr_scorer_options o = hr_scorer_default_options();
    o.device = HR_DEVICE_CPU;
    o.n_threads = 1;
    hr_scorer *s = NULL;
    CHECKF(hr_scorer_create(xa, na, xb, nb, (int)d, &o, &s, err, sizeof err) == HR_OK, "%s", err);
    CHECK(backend_reference_counts.create == 1 && backend_reference_counts.score == 0);
    if (s) {
        CHECK(hr_scorer_device(s) == HR_DEVICE_CPU);
        CHECKF(hr_scorer_score(s, h, k, got, err, sizeof err) == HR_OK, "%s", err);
        CHECK(hr_scorer_score(s, h, k, got, err, sizeof err) == HR_OK);
        CHECK(backend_reference_counts.score == 2);
    }
    hr_scorer_destroy(s);
    CHECK(backend_reference_counts.destroy == 1);
    /* What it returns is the CPU backend's, to the bit (q-values aside). */
    const hr_scorer_backend *cpu = cpu_backend()->scorer;
    const hr_scorer_backend_options bo = {o.method, HR_SCORER_DEFAULT_TEMPERATURE, (size_t)1 << 20,
                                          0, 1};
    void *state = NULL;
    CHECK(cpu->create(xa, na, xb, nb, (int)d, &bo, &state, err, sizeof err) == HR_OK);
    if (state && cpu->score(state, h, k, want, err, sizeof err) == HR_OK)
        for (size_t i = 0; i < k; i++)
            CHECKF(got[i].auroc == want[i].auroc && got[i].p_value == want[i].p_value &&
                       got[i].mean_a == want[i].mean_a && got[i].mean_b == want[i].mean_b,
                   "hypothesis %zu", i);
    cpu->destroy(state);
    free(xa), free(xb), free(h);
}

/* The method's score of hypothesis k on the sample whose similarities to
 * the K hypotheses are col[0..K), by its definition, in double (CONTRAST:
 * the max-shifted log-sum-exp over j != k). */
static double definition_score(hr_score_method m, double t, const float *col, size_t K, size_t k)
{
    const double v = col[k];
    if (m == HR_SCORE_COSINE || K == 1) return v;
    if (m == HR_SCORE_CENTERED) {
        double others = 0.0;
        for (size_t j = 0; j < K; j++)
            if (j != k) others += col[j];
        return v - others / (double)(K - 1);
    }
    double mx = -INFINITY, sum = 0.0;
    for (size_t j = 0; j < K; j++)
        if (j != k && col[j] > mx) mx = col[j];
    for (size_t j = 0; j < K; j++)
        if (j != k) sum += exp((col[j] - mx) / t);
    return v - mx - t * (log(sum) - log((double)(K - 1)));
}

/* hr_score_sample (the specification, one sample at a time) against the
 * definitions on random similarities: both are within a few double ulps of
 * the exact score before the rounding to float, so within two float ulps
 * of each other after it (plus T times the double rounding of the pool
 * term's logs, 1e-15 relative, at T = 1000). */
static void test_score_methods_match_their_definitions(void)
{
    rng_state = 11;
    const size_t ks[] = {1, 2, 3, 7, 50};
    const double ts[] = {0.002, 0.02, 1.0, 30.0, 1000.0};
    const hr_score_method ms[] = {HR_SCORE_COSINE, HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    float s[50], out[50];
    double worst = 0.0;
    for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
        for (int rep = 0; rep < 20; rep++) {
            const size_t K = ks[a];
            for (size_t j = 0; j < K; j++) s[j] = (float)(0.3 * rng_normal() + 0.2);
            if (rep == 0)
                for (size_t j = 0; j < K; j++) s[j] = 0.25f; /* all tied: pool terms exact */
            for (size_t mi = 0; mi < 3; mi++)
                for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
                    hr_score_sample(ms[mi], ts[ti], s, K, out);
                    for (size_t k = 0; k < K; k++) {
                        const double want = definition_score(ms[mi], ts[ti], s, K, k);
                        const double tol = 2.0 * FLT_EPSILON * fmax(1.0, fabs(want)) +
                                           1e-13 * ts[ti];
                        worst = fmax(worst, fabs(out[k] - want) / tol);
                        CHECKF(fabs(out[k] - want) <= tol, "%s T=%g K=%zu k=%zu: %.9g vs %.9g",
                               hr_score_method_str(ms[mi]), ts[ti], K, k, out[k], want);
                        if (rep == 0 && K > 1)
                            CHECKF(out[k] == (ms[mi] == HR_SCORE_COSINE ? 0.25f : 0.f),
                                   "ties %s: %.9g", hr_score_method_str(ms[mi]), out[k]);
                    }
                }
        }
    fprintf(stderr, "  largest |difference| / tolerance %.3g\n", worst);
}

/* CONTRAST's shifted form (kernels/scorer.cu above T = 1) against the plain
 * one, both in double from the same finished statistics. They are the same
 * function; the shifted form's rounding is that of R = r - (K - 1) (K u)
 * divided by K - 1 and carried through log1p of 1 + d >= 1 / (K - 1): at
 * most about T K u, times a few. */
static void test_contrast_shifted_form_matches_the_plain_one(void)
{
    rng_state = 12;
    const size_t K = 200;
    const double ts[] = {0.002, 0.02, 1.0, 30.0, 1000.0};
    float s[200];
    double worst = 0.0;
    for (int rep = 0; rep < 50; rep++) {
        for (size_t j = 0; j < K; j++) s[j] = (float)(0.15 * rng_normal() + 0.2);
        for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
            const double t = ts[ti], lk = log((double)(K - 1));
            hr_contrast_pool p;
            hr_contrast_pool_start(&p);
            for (size_t j = 0; j < K; j++) hr_contrast_pool_fold(&p, s[j], j, t);
            hr_contrast_pool_finish(&p, t, lk);
            for (size_t k = 0; k < K; k++) {
                const double plain = hr_contrast_score(s[k], k, &p, t, lk);
                const double shifted = hr_contrast_score_shifted(s[k], k, &p, t, (double)(K - 1));
                const double tol = 16.0 * (double)K * t * DBL_EPSILON + 1e-12;
                worst = fmax(worst, fabs(plain - shifted) / tol);
                CHECKF(fabs(plain - shifted) <= tol, "T=%g k=%zu: plain %.17g shifted %.17g", t,
                       k, plain, shifted);
            }
        }
    }
    fprintf(stderr, "  largest |difference| / tolerance %.3g\n", worst);
}

/* CENTERED's linear form (what a backend that only scores h . x uses)
 * against hr_score_centered: (h_lin_k . x) |h_lin_k| = s_k - (C - s_k) /
 * (K - 1), in double, to the rounding of sums of d + K terms of size <= 1. */
static void test_centered_linear_form_matches_the_spec(void)
{
    rng_state = 13;
    const int d = 16;
    const size_t ks[] = {1, 2, 7};
    for (size_t a = 0; a < 3; a++) {
        const size_t K = ks[a];
        float h[7 * 16], hl[7 * 16], x[16];
        double norm[7], sim[7];
        for (size_t i = 0; i < K * (size_t)d; i++) h[i] = (float)(0.25 * rng_normal());
        for (int c = 0; c < d; c++) x[c] = (float)(0.25 * rng_normal());
        CHECK(hr_score_centered_linear(h, K, d, hl, norm, NULL, 0) == HR_OK);
        double c = 0;
        for (size_t k = 0; k < K; k++) c += sim[k] = hr_similarity(h + k * d, x, d);
        for (size_t k = 0; k < K; k++) {
            const double want = K == 1 ? sim[k] : hr_score_centered(sim[k], c, K);
            const double got = hr_similarity(hl + k * d, x, d) * norm[k];
            double ss = 0;
            for (int q = 0; q < d; q++) ss += (double)hl[k * d + q] * hl[k * d + q];
            CHECKF(fabs(sqrt(ss) - 1.0) <= 1e-6, "K=%zu k=%zu: |h_lin| = %.9g", K, k, sqrt(ss));
            /* h_lin is stored as float: its rounding (6e-8 relative) is the error */
            CHECKF(fabs(got - want) <= 1e-6 * norm[k], "K=%zu k=%zu: %.12g vs %.12g", K, k, got,
                   want);
        }
    }
}

/* A probe built from coefficients reads back through the probe's accessors
 * and decision function (the Newton loop returns its fit this way). */
static void test_probe_from_coef_reads_back(void)
{
    const double w[3] = {0.5, -2.0, 3.25};
    const hr_probe_info info = {7, 1, 12.5, 1e-9, 2e-10, HR_PROBE_SOLVER_NEWTON, 0};
    hr_probe *p = hr_probe_from_coef(w, 3, -0.75, &info);
    CHECK(p != NULL);
    if (!p) return;
    CHECK(hr_probe_dim(p) == 3);
    CHECK(hr_probe_coef(p)[0] == 0.5 && hr_probe_coef(p)[1] == -2.0 && hr_probe_coef(p)[2] == 3.25);
    CHECK(hr_probe_intercept(p) == -0.75);
    hr_probe_info got = hr_probe_get_info(p);
    CHECK(got.iterations == 7 && got.converged == 1 && got.objective == 12.5 &&
          got.grad_inf == 1e-9 && got.last_step == 2e-10);
    const float x[6] = {1, 0, 0, 0, 1, 2};
    double f[2];
    char err[256];
    CHECK(hr_probe_decision(p, x, 2, f, err, sizeof err) == HR_OK);
    CHECKF(f[0] == -0.25 && f[1] == 3.75, "%g %g", f[0], f[1]);
    hr_probe_destroy(p);
    CHECK(hr_probe_from_coef(NULL, 3, 0, NULL) == NULL);
    CHECK(hr_probe_from_coef(w, 0, 0, NULL) == NULL);
}

/* ------------------------------------------------------------------------ */
/* Encoder: each step                                                         */

static const hr_backend *cur; /* the backend under test */

/* Sequence lengths for the packed-batch steps: a single token, sizes either
 * side of the attention tile (32) and of a query pass (32), and the longest
 * (512), so every edge of the tiling is crossed. */
static const int lens_all[] = {1, 2, 31, 32, 33, 64, 100, 7, 512, 3};
#define N_LENS ((int)(sizeof lens_all / sizeof lens_all[0]))

static int *make_offsets(const int *lens, int n_seq)
{
    int *off = malloc(((size_t)n_seq + 1) * sizeof *off);
    off[0] = 0;
    for (int s = 0; s < n_seq; s++) off[s + 1] = off[s] + lens[s];
    return off;
}

/* add_bias_rows on qkv, then attention of host/backends/cpu/encoder_cpu.c, written with
 * loops (in double, so that the reference's own rounding is negligible next
 * to the float32 GPU kernel's). qkv: (T, 3h), ctx: (T, h). */
static void attention_ref(const float *qkv, const float *qkv_b, const int *offsets, int n_seq,
                          int h, int heads, float *ctx)
{
    const int dh = h / heads, ld = 3 * h;
    const double scale = 1.0 / sqrt((double)dh);
    double *p = malloc(512 * sizeof *p);
    for (int s = 0; s < n_seq; s++) {
        const int start = offsets[s], len = offsets[s + 1] - start;
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < len; i++) {
                const float *q = qkv + (size_t)(start + i) * ld + hd * dh;
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < len; j++) {
                    const float *k = qkv + (size_t)(start + j) * ld + h + hd * dh;
                    double d = 0.0;
                    for (int c = 0; c < dh; c++)
                        d += ((double)q[c] + qkv_b[hd * dh + c]) * ((double)k[c] + qkv_b[h + hd * dh + c]);
                    p[j] = d * scale;
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j < len; j++) sum += p[j] = exp(p[j] - mx);
                for (int c = 0; c < dh; c++) {
                    double o = 0.0;
                    for (int j = 0; j < len; j++)
                        o += p[j] * ((double)qkv[(size_t)(start + j) * ld + 2 * h + hd * dh + c] +
                                     qkv_b[2 * h + hd * dh + c]);
                    ctx[(size_t)(start + i) * h + hd * dh + c] = (float)(o / sum);
                }
            }
    }
    free(p);
}

/* Shapes of the row steps: a single element, sizes below, at and above the
 * block width, the model's 384, and an all-zero row (norm 0 must not produce
 * NaN). */
static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 128}, {17, 129}, {64, 384}, {2, 1536}, {1000, 384}};

static void test_l2_normalize_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    lcg_state = 12345u;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        float *cpu = malloc(n * sizeof *cpu), *dev = malloc(n * sizeof *dev);
        for (size_t i = 0; i < n; i++) cpu[i] = dev[i] = 3.f * frand();
        if (rows > 1) memset(cpu, 0, cols * sizeof *cpu), memset(dev, 0, cols * sizeof *dev);
        char err[512] = "";
        CHECK(ref->l2_normalize_rows(cpu, rows, cols, err, sizeof err) == HR_OK);
        CHECKF(ops->l2_normalize_rows(dev, rows, cols, err, sizeof err) == HR_OK, "%s", err);
        float d = max_abs_diff(cpu, dev, n);
        CHECKF(d <= ROW_TOL, "shape (%d, %d): max difference %g", rows, cols, d);
        free(cpu), free(dev);
    }
}

static void test_layernorm_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t n = (size_t)rows * cols;
        float *cpu = malloc(n * sizeof *cpu), *dev = malloc(n * sizeof *dev);
        float *g = malloc(cols * sizeof *g), *b = malloc(cols * sizeof *b);
        for (size_t i = 0; i < n; i++) cpu[i] = dev[i] = 4.f * frand() + 0.5f;
        for (int c = 0; c < cols; c++) g[c] = 1.f + 0.2f * frand(), b[c] = 0.1f * frand();
        char err[512] = "";
        CHECK(ref->layernorm_rows(cpu, rows, cols, g, b, 1e-12f, err, sizeof err) == HR_OK);
        CHECKF(ops->layernorm_rows(dev, rows, cols, g, b, 1e-12f, err, sizeof err) == HR_OK, "%s",
               err);
        float d = max_abs_diff(cpu, dev, n);
        /* (1, 1): variance 0, the output is beta exactly on both sides. */
        CHECKF(d <= ROW_TOL, "shape (%d, %d): max difference %g", rows, cols, d);
        free(cpu), free(dev), free(g), free(b);
    }
}

static void test_embed_layernorm_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    const int h = 384, vocab = 97, n_pos = 512;
    lcg_state = 4242u;
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    int32_t *ids = malloc((size_t)T * sizeof *ids);
    float *word = malloc((size_t)vocab * h * sizeof *word), *pos = malloc((size_t)n_pos * h * sizeof *pos);
    float *type0 = malloc(h * sizeof *type0), *g = malloc(h * sizeof *g), *b = malloc(h * sizeof *b);
    float *cpu = malloc((size_t)T * h * sizeof *cpu), *dev = malloc((size_t)T * h * sizeof *dev);
    for (int t = 0; t < T; t++) ids[t] = (int32_t)((lcg_state = lcg_state * 1664525u + 1013904223u) >> 8) % vocab;
    fill(word, (size_t)vocab * h, 1.f, 0.f), fill(pos, (size_t)n_pos * h, 0.5f, 0.f);
    fill(type0, h, 0.1f, 0.f), fill(g, h, 0.2f, 1.f), fill(b, h, 0.1f, 0.f);
    char err[512] = "";
    CHECK(ref->embed_layernorm(ids, off, N_LENS, word, vocab, pos, n_pos, type0, g, b, 1e-12f, h,
                               cpu, err, sizeof err) == HR_OK);
    CHECKF(ops->embed_layernorm(ids, off, N_LENS, word, vocab, pos, n_pos, type0, g, b, 1e-12f, h,
                                dev, err, sizeof err) == HR_OK,
           "%s", err);
    float d = max_abs_diff(cpu, dev, (size_t)T * h);
    CHECKF(d <= ROW_TOL, "max difference %g", d);
    free(off), free(ids), free(word), free(pos), free(type0), free(g), free(b), free(cpu), free(dev);
}

static void test_residual_layernorm_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    const int rows = 777, h = 384;
    const size_t n = (size_t)rows * h;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dev = malloc(n * sizeof *dev);
    float *bias = malloc(h * sizeof *bias), *g = malloc(h * sizeof *g), *b = malloc(h * sizeof *b);
    fill(x, n, 3.f, 0.2f), fill(y, n, 2.f, 0.f), fill(bias, h, 0.3f, 0.f);
    fill(g, h, 0.2f, 1.f), fill(b, h, 0.1f, 0.f);
    memcpy(dev, x, n * sizeof *x);
    char err[512] = "";
    CHECK(ref->residual_layernorm(x, y, bias, rows, h, g, b, 1e-12f, err, sizeof err) == HR_OK);
    CHECKF(ops->residual_layernorm(dev, y, bias, rows, h, g, b, 1e-12f, err, sizeof err) == HR_OK,
           "%s", err);
    /* The same additions; the LayerNorm sums differ in order. */
    float d = max_abs_diff(x, dev, n);
    CHECKF(d <= ROW_TOL, "max difference %g", d);
    free(x), free(y), free(dev), free(bias), free(g), free(b);
}

static void test_bias_gelu_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    const int rows = 300, cols = 1536;
    const size_t n = (size_t)rows * cols;
    float *cpu = malloc(n * sizeof *cpu), *dev = malloc(n * sizeof *dev), *b = malloc(cols * sizeof *b);
    fill(cpu, n, 6.f, 0.f), fill(b, cols, 1.f, 0.f); /* inputs in about [-7, 7]: both tails */
    memcpy(dev, cpu, n * sizeof *cpu);
    char err[512] = "";
    CHECK(ref->bias_gelu(cpu, b, rows, cols, err, sizeof err) == HR_OK);
    CHECKF(ops->bias_gelu(dev, b, rows, cols, err, sizeof err) == HR_OK, "%s", err);
    float worst = 0.f;
    for (size_t i = 0; i < n; i++) {
        const float excess = fabsf(cpu[i] - dev[i]) - GELU_REL_TOL * (1.f + fabsf(cpu[i]));
        if (!(excess <= worst)) worst = isnan(excess) ? INFINITY : excess;
    }
    CHECKF(worst <= 0.f, "difference exceeds the bound by %g", worst);
    free(cpu), free(dev), free(b);
}

typedef hr_status (*attention_fn)(const float *qkv, const float *qkv_b, const int *offsets,
                                  int n_seq, int h, int heads, float *ctx, char *err,
                                  size_t errlen);

static void attention_case_with(attention_fn attention, float tol, int h, int heads);

static void attention_case(int h, int heads)
{
    attention_case_with(cur->encoder->ops->attention, ATTENTION_TOL, h, heads);
}

/* attention (a backend's, or a kernel's own wrapper) against the exact
 * reference within tol; the CPU's also with its portable loops. */
static void attention_case_with(attention_fn attention, float tol, int h, int heads)
{
    const hr_encoder_ops *ops = cur->encoder->ops;
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    float *qkv = malloc((size_t)T * 3 * h * sizeof *qkv), *qkv_b = malloc((size_t)3 * h * sizeof *qkv_b);
    float *exact = malloc((size_t)T * h * sizeof *exact), *dev = malloc((size_t)T * h * sizeof *dev);
    /* Components of q, k, v (bias included) in [-2, 2]: scaled scores of
     * order 1 with a spread of about 1, so the softmax is far from uniform. */
    fill(qkv, (size_t)T * 3 * h, 1.5f, 0.f), fill(qkv_b, (size_t)3 * h, 0.5f, 0.f);
    char err[512] = "";
    attention_ref(qkv, qkv_b, off, N_LENS, h, heads, exact);
    CHECKF(attention(qkv, qkv_b, off, N_LENS, h, heads, dev, err, sizeof err) == HR_OK, "%s",
           err);
    float d = max_abs_diff(exact, dev, (size_t)T * h);
    CHECKF(d <= tol, "h %d heads %d: max difference %g", h, heads, d);
    /* the CPU's other versions of its vector loops too: each level the CPU has */
    for (int l = HR_SIMD_PORTABLE; cur->device == HR_DEVICE_CPU && l < HR_SIMD_AVX512; l++) {
        hr_simd_cap((hr_simd_level)l);
        const int ran = hr_simd_level_now() == (hr_simd_level)l;
        CHECK(ops->attention(qkv, qkv_b, off, N_LENS, h, heads, dev, err, sizeof err) == HR_OK);
        hr_simd_cap(HR_SIMD_AVX512);
        if (!ran) break;
        d = max_abs_diff(exact, dev, (size_t)T * h);
        CHECKF(d <= ATTENTION_TOL, "h %d heads %d, loops of level %d: max difference %g", h, heads,
               l, d);
    }
    free(off), free(qkv), free(qkv_b), free(exact), free(dev);
}

#ifdef HR_HAVE_CUDA
/* The tensor-core attention (flash_attention_kernel) rounds Q, K, V and the
 * softmax weights P to FP16 (u = 2^-11 = 4.9e-4 relative): P and V alone
 * move an output by up to about 3 u max|v| = 2.9e-3 here (|v| <= 2), and
 * each score's rounding adds less. A C emulation of exactly those roundings
 * on data of this kind (lengths 1 to 512, head sizes 32 and 64) was off the
 * exact reference by at most 7.2e-4. A wrong tile, mask or rescale is off
 * by ~1e-1. */
#define FLASH_ATTENTION_TOL 4e-3f

static void test_forward_matches_cpu_on_real_texts(void);

static void test_flash_attention_matches_the_exact_reference(void)
{
    attention_case_with(hr_cuda_flash_attention_host, FLASH_ATTENTION_TOL, 384, 12);
    attention_case_with(hr_cuda_flash_attention_host, FLASH_ATTENTION_TOL, 128, 2);
}

/* The whole forward pass with the tensor-core attention (the encoder reads
 * HYPORANK_GPU_ATTENTION when it is created) within the same bounds as with
 * the FP32 one. */
static void test_forward_with_flash_attention_matches_cpu(void)
{
    setenv("HYPORANK_GPU_ATTENTION", "flash", 1);
    test_forward_matches_cpu_on_real_texts();
    unsetenv("HYPORANK_GPU_ATTENTION");
}
#endif

/* Every backend's attention, the CPU's included, against the exact one. */
static void test_attention_matches_the_exact_reference(void)
{
    attention_case(384, 12); /* MiniLM: head size 32 */
    attention_case(128, 2);  /* head size 64 */
    if (cur->device == HR_DEVICE_CPU) attention_case(120, 6); /* head size 20: a partial tile */
}

static void test_mean_pool_matches_cpu(void)
{
    const hr_encoder_ops *ops = cur->encoder->ops, *ref = cpu_backend()->encoder->ops;
    const int h = 384;
    int *off = make_offsets(lens_all, N_LENS);
    const int T = off[N_LENS];
    float *x = malloc((size_t)T * h * sizeof *x);
    float *cpu = malloc((size_t)N_LENS * h * sizeof *cpu), *dev = malloc((size_t)N_LENS * h * sizeof *dev);
    fill(x, (size_t)T * h, 2.f, 0.1f);
    for (int normalize = 0; normalize <= 1; normalize++) {
        char err[512] = "";
        CHECK(ref->mean_pool(x, off, N_LENS, h, normalize, cpu, err, sizeof err) == HR_OK);
        CHECKF(ops->mean_pool(x, off, N_LENS, h, normalize, dev, err, sizeof err) == HR_OK, "%s",
               err);
        float d = max_abs_diff(cpu, dev, (size_t)N_LENS * h);
        CHECKF(d <= POOL_TOL, "normalize %d: max difference %g", normalize, d);
    }
    free(off), free(x), free(cpu), free(dev);
}

/* ------------------------------------------------------------------------ */
/* Encoder: the forward pass and whole embed calls on the real model        */

static hr_model *model;

static const char *const short_texts[] = {
    "Stocks fall",
    "Local team wins championship after dramatic overtime",
    "Is it going to rain tomorrow?",
    "Scientists discover new species of frog in the Amazon rainforest",
    "How do I reset my password?",
    "The pandemic changed how we work",
    "BREAKING: earthquake hits coastal city",
    "I absolutely loved this movie, the acting was superb!",
    "Worst purchase ever. Do not buy.",
    "Central bank raises interest rates by 0.25%",
    "Café owners in Zürich protest new rules",
    "東京で新しい博物館が開館",
    "Why is the sky blue?",
    "Recipe: easy vegan chocolate cake",
    "ok",
    "12345 67890",
    "Can you recommend a good book about the history of mathematics?",
    "Government announces plan to cut emissions by half by 2030",
    "The quick brown fox jumps over the lazy dog.",
    "New smartphone features a foldable screen and a week-long battery",
};

static const char *const sentences[] = {
    "The committee met on Tuesday to discuss the proposed changes to the city's zoning laws. ",
    "Several residents voiced concerns about traffic, noise and the loss of green space. ",
    "Supporters argued that the new housing would lower rents and bring young families back downtown. ",
    "After three hours of debate, the vote was postponed until the next session in March. ",
    "Meanwhile, researchers at the university published a study on urban heat islands. ",
    "They found that neighbourhoods with more trees were up to four degrees cooler in summer. ",
};

/* A paragraph of n sentences, cycling through sentences[] from `first`. */
static char *paragraph(int n, int first)
{
    size_t cap = 1, k = sizeof sentences / sizeof sentences[0];
    for (int i = 0; i < n; i++) cap += strlen(sentences[(size_t)(first + i) % k]);
    char *p = malloc(cap);
    p[0] = '\0';
    for (int i = 0; i < n; i++) strcat(p, sentences[(size_t)(first + i) % k]);
    return p;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / (sqrt(aa * bb) + 1e-30);
}

/* Packs texts (plus a one-token sequence, [CLS] alone, at index 0) as
 * hr_cpu_embed does: ids (T), offsets (n_seq + 1). Returns n_seq. */
static int pack_texts(const char *const *texts, int n_texts, int max_len, int32_t **ids_out,
                      int **off_out)
{
    const hr_tokenizer *tok = hr_model_tokenizer(model);
    const int n_seq = n_texts + 1;
    int32_t *ids = malloc(((size_t)n_seq * max_len) * sizeof *ids);
    int *off = malloc(((size_t)n_seq + 1) * sizeof *off);
    int32_t tmp[4];
    hr_tokenizer_encode(tok, "a", 1, tmp, 4);
    off[0] = 0;
    ids[0] = tmp[0]; /* [CLS] */
    off[1] = 1;
    for (int i = 0; i < n_texts; i++) {
        size_t n = hr_tokenizer_encode(tok, texts[i], strlen(texts[i]), ids + off[i + 1], (size_t)max_len);
        off[i + 2] = off[i + 1] + (int)n;
    }
    *ids_out = ids;
    *off_out = off;
    return n_seq;
}

static void test_forward_matches_cpu_on_real_texts(void)
{
    const hr_encoder_backend *eb = cur->encoder;
    const int h = hr_model_dim(model), max_len = hr_model_max_tokens(model);
    enum { N_SHORT = sizeof short_texts / sizeof short_texts[0], N_LONG = 14 };
    const char *texts[N_SHORT + N_LONG];
    char *longs[N_LONG];
    for (int i = 0; i < N_SHORT; i++) texts[i] = short_texts[i];
    /* 1 to 30 sentences: ~20 to well past max_len tokens (truncated to it) */
    static const int n_sent[N_LONG] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30};
    for (int i = 0; i < N_LONG; i++) texts[N_SHORT + i] = longs[i] = paragraph(n_sent[i], i);

    int32_t *ids;
    int *off;
    const int n_seq = pack_texts(texts, N_SHORT + N_LONG, max_len, &ids, &off);
    const int T = off[n_seq];
    int longest = 0;
    for (int s = 0; s < n_seq; s++) longest = off[s + 1] - off[s] > longest ? off[s + 1] - off[s] : longest;
    CHECKF(longest == max_len, "the batch should reach max_len %d, longest %d", max_len, longest);
    CHECK(off[1] - off[0] == 1);

    float *cpu = malloc((size_t)n_seq * h * sizeof *cpu), *dev = malloc((size_t)n_seq * h * sizeof *dev);
    hr_cpu_workspace *ws = hr_cpu_workspace_create(model, NULL, T, max_len); /* sgemm: the reference */
    CHECK(ws != NULL);
    hr_cpu_forward(model, ids, off, n_seq, cpu, ws);

    char err[512] = "";
    void *enc = NULL;
    hr_status st = eb->create(model, 1, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        CHECKF(eb->forward(enc, ids, off, n_seq, dev, err, sizeof err) == HR_OK, "%s", err);
        const double min_cosine = strcmp(cur->name, "cpu") == 0 ? MIN_COSINE_AMX : MIN_COSINE;
        double worst = 1.0;
        int worst_s = -1;
        for (int s = 0; s < n_seq; s++) {
            const double c = cosine(cpu + (size_t)s * h, dev + (size_t)s * h, h);
            if (!(c >= worst)) worst = c, worst_s = s;
            CHECKF(c >= min_cosine, "sequence %d (%d tokens): cosine %.12f", s, off[s + 1] - off[s], c);
        }
        fprintf(stderr, "  %d sequences, %d tokens: worst cosine %.12f (sequence %d)\n", n_seq, T,
                worst, worst_s);

        /* A smaller second batch on the same encoder (no regrowth; other GEMM
         * shapes): the last 5 sequences, offsets rebased. */
        const int first = n_seq - 5;
        int off2[6];
        for (int s = 0; s <= 5; s++) off2[s] = off[first + s] - off[first];
        CHECKF(eb->forward(enc, ids + off[first], off2, 5, dev, err, sizeof err) == HR_OK, "%s", err);
        for (int s = 0; s < 5; s++) {
            const double c = cosine(cpu + (size_t)(first + s) * h, dev + (size_t)s * h, h);
            CHECKF(c >= min_cosine, "second batch, sequence %d: cosine %.12f", s, c);
        }
        CHECK(eb->forward(enc, ids, off, 0, dev, err, sizeof err) == HR_OK);
    }
    eb->destroy(enc);
    eb->destroy(NULL);
    hr_cpu_workspace_destroy(ws);
    for (int i = 0; i < N_LONG; i++) free(longs[i]);
    free(ids), free(off), free(cpu), free(dev);
}

/* Progress as a driver reports it: on the calling thread, never backwards,
 * never past the total. */
typedef struct progress_log {
    pthread_t caller;
    size_t last, total, calls;
    int off_thread, backwards;
} progress_log;

static int log_progress(size_t done, size_t total, void *user)
{
    progress_log *p = user;
    if (!pthread_equal(pthread_self(), p->caller)) p->off_thread++;
    if (done < p->last || done > total) p->backwards++;
    p->last = done;
    p->total = total;
    p->calls++;
    return 0;
}

/* Embeds texts with an encoder on `device` (opt: the driver's options, or
 * NULL) into out (n, dim). Returns the status; checks progress. */
static hr_status embed_on(hr_device device, const hr_gpu_embed_options *opt,
                          const char *const *texts, const size_t *lens, size_t n, float *out)
{
    char err[512] = "";
    hr_encoder *enc = NULL;
    hr_status st = hr_encoder_create(model, device, 0, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "create %s: %s", hr_device_str(device), err);
    if (st != HR_OK) return st;
    CHECKF(hr_encoder_device(enc) == device, "asked for %s, got %s", hr_device_str(device),
           hr_device_str(hr_encoder_device(enc)));
    if (opt) hr_encoder_set_gpu_options(enc, opt);
    progress_log p;
    memset(&p, 0, sizeof p);
    p.caller = pthread_self();
    st = hr_encoder_embed(enc, texts, lens, n, out, log_progress, &p, err, sizeof err);
    CHECKF(st == HR_OK, "embed %s: %s", hr_device_str(device), err);
    CHECKF(hr_encoder_device(enc) == device, "%s encoder now on %s", hr_device_str(device),
           hr_device_str(hr_encoder_device(enc)));
    if (n > 0 && st == HR_OK) {
        CHECKF(p.off_thread == 0, "%d progress calls off the calling thread", p.off_thread);
        CHECKF(p.backwards == 0, "%d progress calls went backwards or past the total", p.backwards);
        CHECKF(p.calls > 0 && p.last == n && p.total == n, "progress ended at %zu of %zu (%zu calls)",
               p.last, p.total, p.calls);
    }
    hr_encoder_destroy(enc);
    return st;
}

/* Per-text cosine of two (n, dim) sets; checks every one >= min_cos and that
 * every row has unit length (so a row left unwritten is caught). */
static void compare_rows(const char *what, const char *const *texts, const float *cpu,
                         const float *gpu, size_t n, double min_cos)
{
    const int h = hr_model_dim(model);
    double worst = 1.0, sum = 0.0;
    size_t worst_i = 0, bad = 0, bad_norm = 0;
    for (size_t i = 0; i < n; i++) {
        const double c = cosine(cpu + i * h, gpu + i * h, h);
        sum += c;
        if (!(c >= worst)) worst = c, worst_i = i;
        if (!(c >= min_cos)) bad++;
        double ss = 0;
        for (int k = 0; k < h; k++) ss += (double)gpu[i * h + k] * gpu[i * h + k];
        if (model->normalize && !(fabs(sqrt(ss) - 1.0) < 1e-3)) bad_norm++;
    }
    fprintf(stderr, "  %s: %zu texts, worst cosine %.6f (text %zu), mean %.7f\n", what, n, worst,
            worst_i, n ? sum / (double)n : 1.0);
    CHECKF(bad == 0, "%s: %zu of %zu texts below cosine %.4f; worst %.6f: \"%.60s\"", what, bad, n,
           min_cos, worst, n ? texts[worst_i] : "");
    CHECKF(bad_norm == 0, "%s: %zu rows are not unit length", what, bad_norm);
}

static void test_embed_fixture_texts_match_cpu(void)
{
    size_t n = 0;
    char **texts = read_texts(test_fixture("embedding-texts.jsonl"), &n);
    CHECKF(texts && n >= 200, "fixture texts: %zu", n);
    if (!texts) return;
    const size_t h = (size_t)hr_model_dim(model);
    float *cpu = malloc(n * h * sizeof *cpu), *dev = malloc(n * h * sizeof *dev);
    if (embed_on(HR_DEVICE_CPU, NULL, (const char *const *)texts, NULL, n, cpu) == HR_OK &&
        embed_on(cur->device, NULL, (const char *const *)texts, NULL, n, dev) == HR_OK)
        compare_rows("fixture", (const char *const *)texts, cpu, dev, n, MIN_COSINE);
    free(cpu), free(dev);
    free_texts(texts, n);
}

/* n texts of words from the fixture: mostly 1 to 40 words, every 53rd 150 to
 * 400 words (past the model's limit: truncated), every 401st empty. */
static char **generated_texts(size_t n, size_t *lens)
{
    size_t n_src = 0;
    char **src = read_texts(test_fixture("embedding-texts.jsonl"), &n_src);
    /* the fixture's words, split at spaces */
    size_t n_words = 0, cap = 0;
    char **words = NULL;
    for (size_t i = 0; src && i < n_src; i++) {
        char *save = NULL;
        for (char *w = strtok_r(src[i], " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            if (n_words == cap) {
                cap = cap ? 2 * cap : 1024;
                words = realloc(words, cap * sizeof *words);
            }
            words[n_words++] = w;
        }
    }
    char **texts = malloc(n * sizeof *texts);
    unsigned r = 12345u;
#define NEXT_RAND() (r = r * 1664525u + 1013904223u, r >> 8)
    for (size_t i = 0; i < n; i++) {
        size_t nw = 1 + NEXT_RAND() % 40;
        if (i % 53 == 5) nw = 150 + NEXT_RAND() % 250;
        if (i % 401 == 7 || n_words == 0) nw = 0;
        size_t len = 0, tcap = 64;
        char *t = malloc(tcap);
        t[0] = '\0';
        for (size_t w = 0; w < nw; w++) {
            const char *word = words[NEXT_RAND() % n_words];
            const size_t wl = strlen(word);
            if (len + wl + 2 > tcap) {
                tcap = 2 * (len + wl + 2);
                t = realloc(t, tcap);
            }
            if (w) t[len++] = ' ';
            memcpy(t + len, word, wl + 1);
            len += wl;
        }
        texts[i] = t;
        lens[i] = len;
    }
#undef NEXT_RAND
    free(words);
    free_texts(src, n_src);
    return texts;
}

/* Texts for the generated test: HR_TEST_GPU_TEXTS (default 2000; fewer
 * keeps a run under compute-sanitizer short, more makes more chunks). */
static size_t generated_count(void)
{
    const char *v = getenv("HR_TEST_GPU_TEXTS");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n >= 20 && n <= 10000000 ? (size_t)n : 2000;
}

static void test_embed_generated_texts_match_cpu(void)
{
    const size_t N = generated_count();
    const size_t h = (size_t)hr_model_dim(model);
    size_t *lens = malloc(N * sizeof *lens);
    char **texts = generated_texts(N, lens);
    const char *const *t = (const char *const *)texts;
    float *cpu = malloc(N * h * sizeof *cpu), *dev = malloc(N * h * sizeof *dev);
    const int max_len = hr_model_max_tokens(model);
    size_t truncated = 0, empty = 0;
    int32_t *ids = malloc((size_t)max_len * 2 * sizeof *ids);
    for (size_t i = 0; i < N; i++) {
        empty += lens[i] == 0;
        truncated += hr_tokenizer_encode(hr_model_tokenizer(model), texts[i], lens[i], ids,
                                         (size_t)max_len * 2) > (size_t)max_len;
    }
    free(ids);
    CHECKF(truncated >= N / 100 && empty >= N / 450, "%zu texts past the limit, %zu empty", truncated,
           empty);
    fprintf(stderr, "  %zu generated texts, %zu past the limit, %zu empty\n", N, truncated, empty);
    if (embed_on(HR_DEVICE_CPU, NULL, t, lens, N, cpu) == HR_OK) {
        /* the defaults: one chunk (2000 texts), a few batches of 32768 tokens,
         * both slots */
        memset(dev, 0, N * h * sizeof *dev);
        if (embed_on(cur->device, NULL, t, lens, N, dev) == HR_OK)
            compare_rows("generated, default chunks", t, cpu, dev, N, MIN_COSINE);
        /* small chunks and batches: 4 chunks (of 2000 texts), the next
         * tokenised while the device works on this one, ~30 batches through
         * both slots */
        const hr_gpu_embed_options small = {500, 2048};
        memset(dev, 0, N * h * sizeof *dev);
        if (embed_on(cur->device, &small, t, lens, N, dev) == HR_OK)
            compare_rows("generated, 500-text chunks, 2048-token batches", t, cpu, dev, N,
                         MIN_COSINE);
        /* batches of one text at the limit (budget below max_len is raised to it) */
        const hr_gpu_embed_options tiny = {97, 1};
        memset(dev, 0, N * h * sizeof *dev);
        const size_t n_tiny = N < 200 ? N : 200;
        if (embed_on(cur->device, &tiny, t, lens, n_tiny, dev) == HR_OK)
            compare_rows("generated, 97-text chunks, max_len-token batches", t, cpu, dev, n_tiny,
                         MIN_COSINE);
    }
    free(cpu), free(dev), free(lens);
    free_texts(texts, N);
}

static void test_embed_edge_cases_match_cpu(void)
{
    const size_t h = (size_t)hr_model_dim(model);
    char *longest = paragraph(40, 0); /* far past max_len */
    const char *cases[][3] = {
        {"Central bank raises interest rates by 0.25%", NULL, NULL}, /* n = 1 */
        {"", NULL, NULL},                                            /* one empty text */
        {longest, NULL, NULL},                                       /* one truncated text */
        {"", "x", longest},                                          /* all three together */
    };
    const size_t counts[] = {1, 1, 1, 3};
    float cpu[3 * 384], dev[3 * 384];
    CHECK(h <= 384);
    for (size_t c = 0; c < sizeof counts / sizeof counts[0] && h <= 384; c++) {
        if (embed_on(HR_DEVICE_CPU, NULL, cases[c], NULL, counts[c], cpu) != HR_OK) continue;
        if (embed_on(cur->device, NULL, cases[c], NULL, counts[c], dev) != HR_OK) continue;
        char what[64];
        snprintf(what, sizeof what, "edge case %zu", c);
        compare_rows(what, cases[c], cpu, dev, counts[c], MIN_COSINE);
    }
    /* n = 0 writes nothing and succeeds */
    CHECK(embed_on(cur->device, NULL, cases[0], NULL, 0, dev) == HR_OK);
    free(longest);
}

static void test_auto_picks_the_accelerator(void)
{
    char err[512] = "";
    hr_encoder *enc = NULL;
    CHECKF(hr_encoder_create(model, HR_DEVICE_AUTO, 0, &enc, err, sizeof err) == HR_OK, "%s", err);
    if (!enc) return;
    const char *note = hr_encoder_gpu_note(enc);
    CHECKF(hr_encoder_device(enc) == cur->device, "auto picked %s: %s",
           hr_device_str(hr_encoder_device(enc)), note ? note : "(no note)");
    CHECK(note == NULL);
    const char *texts[] = {"auto should run this on the GPU", "and this"};
    float out[2 * 384];
    if (hr_model_dim(model) <= 384) {
        CHECKF(hr_encoder_embed(enc, texts, NULL, 2, out, NULL, NULL, err, sizeof err) == HR_OK, "%s",
               err);
        note = hr_encoder_gpu_note(enc);
        CHECKF(hr_encoder_device(enc) == cur->device, "auto fell back to the CPU: %s",
               note ? note : "(no note)");
    }
    hr_encoder_destroy(enc);
}

/* ------------------------------------------------------------------------ */
/* Scorer                                                                     */

/* v: (d) <- normalise(random normal + shift * dir); dir may be NULL. */
static void random_unit(float *v, int d, const float *dir, double shift)
{
    double ss = 0.0, t[4096];
    for (int c = 0; c < d; c++) {
        t[c] = rng_normal() + (dir ? shift * dir[c] * sqrt((double)d) : 0.0);
        ss += t[c] * t[c];
    }
    const double inv = ss > 0.0 ? 1.0 / sqrt(ss) : 0.0;
    for (int c = 0; c < d; c++) v[c] = (float)(t[c] * inv);
}

/* The documented bound evaluated on the data, for tiny groups (where one
 * shared bin moves the AUROC by 1 / (2 n_a n_b)): the fraction of A-B pairs
 * whose exact scores are closer than two bins plus ten times the typical
 * FP16 error (2u / sqrt(d)), each counted whole; at least AUROC_TOL. */
static double near_pair_tol(const float *xa, size_t n_a, const float *xb, size_t n_b, int d,
                            const float *hk)
{
    const double win = 2.0 * 2.0 / SCORE_BINS + 10.0 * 2.0 * 0x1.0p-11 / sqrt((double)d);
    double *sb = malloc(n_b * sizeof *sb);
    for (size_t j = 0; j < n_b; j++) {
        double v = 0.0;
        for (int c = 0; c < d; c++) v += (double)hk[c] * xb[j * d + c];
        sb[j] = v;
    }
    size_t near = 0;
    for (size_t i = 0; i < n_a; i++) {
        double v = 0.0;
        for (int c = 0; c < d; c++) v += (double)hk[c] * xa[i * d + c];
        for (size_t j = 0; j < n_b; j++) near += fabs(v - sb[j]) < win;
    }
    free(sb);
    return fmax(AUROC_TOL, (double)near / ((double)n_a * (double)n_b));
}

/* The backend's scorer on these samples: options for method (t: CONTRAST's
 * temperature) and budget, the accelerator's device memory (0: its
 * default); want_streamed 1, 0, or -1 (either) is checked on accelerators. */
static void *open_scorer(const char *what, hr_score_method method, double t, const float *xa,
                         size_t n_a, const float *xb, size_t n_b, int d, size_t budget,
                         int want_streamed)
{
    const hr_scorer_backend_options o = {method, t > 0.0 ? t : HR_SCORER_DEFAULT_TEMPERATURE,
                                         (size_t)256 << 20, budget, 0};
    void *state = NULL;
    char err[512] = "";
    CHECKF(cur->scorer->create(xa, n_a, xb, n_b, d, &o, &state, err, sizeof err) == HR_OK,
           "%s: %s", what, err);
    if (!state) return NULL;
    hr_scorer_layout lay;
    cur->scorer->layout(state, &lay);
    fprintf(stderr, "  %s: resident %d, chunk %zu, block %zu, group %zu (N = %zu)\n", what,
            lay.resident, lay.chunk_samples, lay.block_rows, lay.group_rows, n_a + n_b);
    if (want_streamed >= 0 && cur->device != HR_DEVICE_CPU)
        CHECKF(lay.resident == !want_streamed, "%s: resident %d", what, lay.resident);
    return state;
}

/* Fills every hypothesis score of the backend and of the CPU scorer and
 * compares them: COSINE when t is 0, else CONTRAST at temperature t.
 * budget: the backend's device memory; want_streamed: 1, 0, or -1 (either);
 * auroc_tol < 0: the documented bound evaluated on the data. */
static void compare_method(const char *what, const float *xa, size_t n_a, const float *xb,
                           size_t n_b, int d, const float *h, size_t k, size_t budget,
                           int want_streamed, double auroc_tol, double t)
{
    hr_hypothesis_score *cpu = calloc(k, sizeof *cpu), *dev = calloc(k, sizeof *dev);
    char err[512] = "";
    hr_scorer_options o = hr_scorer_default_options();
    o.method = t > 0.0 ? HR_SCORE_CONTRAST : HR_SCORE_COSINE;
    o.temperature = t;
    o.device = HR_DEVICE_CPU;
    const double mean_tol = t > 0.0 ? 2 * MEAN_TOL : MEAN_TOL;
    hr_scorer *sc = NULL;
    void *sd = NULL;
    CHECKF(hr_scorer_create(xa, n_a, xb, n_b, d, &o, &sc, err, sizeof err) == HR_OK, "%s: %s",
           what, err);
    sd = open_scorer(what, o.method, t, xa, n_a, xb, n_b, d, budget, want_streamed);
    if (!sc || !sd) goto done;
    CHECKF(hr_scorer_score(sc, h, k, cpu, err, sizeof err) == HR_OK, "%s: %s", what, err);
    CHECKF(cur->scorer->score(sd, h, k, dev, err, sizeof err) == HR_OK, "%s: %s", what, err);
    const double nn = (double)n_a * (double)n_b, n = (double)(n_a + n_b);
    const double sigma0 = sqrt(nn * (n + 1.0) / 12.0);
    double worst_auroc = 0.0, worst_mean = 0.0;
    for (size_t i = 0; i < k; i++) {
        const hr_hypothesis_score *c = &cpu[i], *g = &dev[i];
        const double da = fabs(g->auroc - c->auroc);
        const double dm = fmax(fabs(g->mean_a - c->mean_a), fabs(g->mean_b - c->mean_b));
        worst_auroc = fmax(worst_auroc, da);
        worst_mean = fmax(worst_mean, dm);
        const double tol = auroc_tol >= 0.0 ? auroc_tol : near_pair_tol(xa, n_a, xb, n_b, d, h + i * d);
        CHECKF(da <= tol, "%s: hypothesis %zu: auroc %s %.9f cpu %.9f (tolerance %g)", what, i,
               cur->name, g->auroc, c->auroc, tol);
        CHECKF(dm <= mean_tol, "%s: hypothesis %zu: means %s %g %g cpu %g %g", what, i, cur->name,
               g->mean_a, g->mean_b, c->mean_a, c->mean_b);
        CHECKF(fabs(g->u - g->auroc * nn) <= 1e-6 * nn, "%s: hypothesis %zu: u %g, auroc %g", what,
               i, g->u, g->auroc);
        if (!(c->p_value > P_FLOOR)) continue;
        /* The CPU's sigma (tie-corrected) from its own z, else the largest. */
        const double num = fmax(fabs(c->u - nn / 2.0) - 0.5, 0.0);
        const double sigma = fabs(c->z) > 0.1 ? num / fabs(c->z) : sigma0;
        const double dz_u = fabs(g->u - c->u) / sigma + 1e-6 * (fabs(c->z) + 1.0);
        CHECKF(fabs(g->z - c->z) <= dz_u + 1e-12, "%s: hypothesis %zu: z %s %.9g cpu %.9g (U %g %g)",
               what, i, cur->name, g->z, c->z, g->u, c->u);
        const double dz = fmax(tol, AUROC_TOL) * nn / sigma + 1e-6 * (fabs(c->z) + 1.0);
        const double rel = expm1((fabs(c->z) + 1.0 + dz) * dz) + 1e-12;
        CHECKF(fabs(g->p_value - c->p_value) <= rel * c->p_value,
               "%s: hypothesis %zu: p %s %.9g cpu %.9g (relative tolerance %g)", what, i,
               cur->name, g->p_value, c->p_value, rel);
    }
    fprintf(stderr, "  %s: largest |auroc diff| %.3g, |mean diff| %.3g\n", what, worst_auroc,
            worst_mean);
done:
    hr_scorer_destroy(sc);
    cur->scorer->destroy(sd);
    free(cpu);
    free(dev);
}

static void compare(const char *what, const float *xa, size_t n_a, const float *xb, size_t n_b,
                    int d, const float *h, size_t k, size_t budget, int want_streamed,
                    double auroc_tol)
{
    compare_method(what, xa, n_a, xb, n_b, d, h, k, budget, want_streamed, auroc_tol, 0.0);
}

/* The effects (hyporank/findings.h) of the backend's score_effects against
 * hr_effect_rows on the CPU: exactly for the CPU backend (the same
 * function on the same float similarities, summed in the same order), and
 * within EFFECT_SIM_TOL for an accelerator. */
static void compare_effects(const char *what, const float *xa, size_t n_a, const float *xb,
                            size_t n_b, int d, const float *h, size_t k)
{
    hr_hypothesis_score *sc = calloc(k, sizeof *sc);
    hr_effect *want = calloc(k, sizeof *want), *got = calloc(k, sizeof *got);
    char err[512] = "";
    if (!cur->scorer->score_effects) { /* optional: the front end computes them on the CPU */
        fprintf(stderr, "  %s: %s has no score_effects (the CPU computes them)\n", what, cur->name);
        free(sc), free(want), free(got);
        return;
    }
    void *sd = open_scorer(what, HR_SCORE_COSINE, 0.0, xa, n_a, xb, n_b, d, 0, -1);
    if (!sd) goto done;
    CHECKF(hr_effect_rows(xa, n_a, xb, n_b, d, h, k, want, err, sizeof err) == HR_OK, "%s: %s",
           what, err);
    CHECKF(cur->scorer->score_effects(sd, h, k, sc, got, err, sizeof err) == HR_OK, "%s: %s",
           what, err);
    const int exact = cur->device == HR_DEVICE_CPU;
    double worst = 0.0;
    for (size_t i = 0; i < k; i++) {
        const hr_effect *w = &want[i], *g = &got[i];
        if (exact) {
            CHECKF(memcmp(w, g, sizeof *w) == 0, "%s: hypothesis %zu: effect %.17g vs %.17g",
                   what, i, g->effect, w->effect);
            continue;
        }
        const double tol_h = 2 * EFFECT_SIM_TOL;
        CHECKF(fabs(g->tau - w->tau) <= EFFECT_SIM_TOL && fabs(g->mu0 - w->mu0) <= EFFECT_SIM_TOL,
               "%s: hypothesis %zu: threshold %.6f cpu %.6f, q50 %.6f cpu %.6f", what, i, g->tau,
               w->tau, g->mu0, w->mu0);
        CHECKF(fabs(g->hinge_a - w->hinge_a) <= tol_h && fabs(g->hinge_b - w->hinge_b) <= tol_h,
               "%s: hypothesis %zu: hinges %.6f %.6f cpu %.6f %.6f", what, i, g->hinge_a,
               g->hinge_b, w->hinge_a, w->hinge_b);
        /* the hinges' difference over the gain, and the gain itself within
         * 10%: its inputs (quantiles) move by EFFECT_SIM_TOL against a
         * spread of 0.02 and more */
        const double tol_e = 2 * tol_h / w->gain + 0.1 * fabs(w->effect);
        CHECKF(fabs(g->effect - w->effect) <= tol_e, "%s: hypothesis %zu: effect %.6f cpu %.6f "
               "(tolerance %.3g)", what, i, g->effect, w->effect, tol_e);
        worst = fmax(worst, fabs(g->effect - w->effect));
    }
    if (!exact) fprintf(stderr, "  %s: largest |effect diff| %.3g\n", what, worst);
done:
    if (sd) cur->scorer->destroy(sd);
    free(sc), free(want), free(got);
}


/* A: unit vectors leaning towards dir; B: uniform; hypotheses: half leaning
 * towards dir (significant ones), half random. */
static void make_shifted(float *xa, size_t n_a, float *xb, size_t n_b, float *h, size_t k, int d)
{
    float dir[4096];
    random_unit(dir, d, NULL, 0.0);
    for (size_t i = 0; i < n_a; i++) random_unit(xa + i * d, d, dir, 0.05);
    for (size_t i = 0; i < n_b; i++) random_unit(xb + i * d, d, NULL, 0.0);
    for (size_t i = 0; i < k; i++) random_unit(h + i * d, d, i % 2 ? dir : NULL, 0.2);
}

/* k = 250: the scorer cuts the hypotheses into blocks (two or more threads)
 * where hr_effect_rows takes them in one; the same bits either way
 * (HR_SIMILARITY_ROW_ALIGN, score_methods.h). */
static void test_effects_agree_with_cpu(void)
{
    rng_state = 77;
    const size_t n_a = 6000, n_b = 5000, k = 250;
    const int d = 384;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    make_shifted(xa, n_a, xb, n_b, h, k, d);
    compare_effects("effects", xa, n_a, xb, n_b, d, h, k);
    free(xa), free(xb), free(h);
}

static void test_random_unit_vectors_agree_with_cpu(void)
{
    rng_state = 2024; /* the data these checks were written with */
    const size_t n_a = 20000, n_b = 17000, k = 300;
    const int d = 384;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    make_shifted(xa, n_a, xb, n_b, h, k, d);
    compare("random, default budget", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL);
    /* 64 MiB: X resident (28 MB) but the tile (~9 MB) takes chunks of 4,096
     * samples (not dividing 37,000) and the histograms groups of 36
     * hypotheses (not dividing 300, nor does the GEMM block). */
    compare("random, several resident chunks", xa, n_a, xb, n_b, d, h, k, (size_t)64 << 20, 0,
            AUROC_TOL);
    /* 8 MiB: X (28 MB in FP16) streamed from the host in chunks of 455. */
    compare("random, streamed", xa, n_a, xb, n_b, d, h, 40, (size_t)8 << 20, 1, AUROC_TOL);
    free(xa), free(xb), free(h);
}

static void test_sizes_not_dividing_tiles_agree_with_cpu(void)
{
    const size_t n_a = 4099, n_b = 4097, k = 257;
    const int d = 100;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    make_shifted(xa, n_a, xb, n_b, h, k, d);
    compare("odd sizes", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL);
    compare("odd sizes, 3 MiB", xa, n_a, xb, n_b, d, h, k, (size_t)3 << 20, -1, AUROC_TOL);
    free(xa), free(xb), free(h);
}

/* Samples from the 8 basis vectors e_0..e_7, hypotheses with components that
 * are multiples of 1/32 on those axes (hypothesis 0 is zero: every score
 * ties): every score is exact in FP16 and FP32, equal scores tie on both
 * sides, and distinct ones are 1/32 apart (a thousand bins): counts are
 * exact, so the backend must agree with the specification computed the
 * plain way (every similarity exact, scored by hr_score_sample, then the
 * sorting Mann-Whitney reference) to rounding, for every method. Runs on
 * every backend, the CPU's included. */
static void test_many_ties_agree_with_the_specification(void)
{
    rng_state = 2025;
    const size_t n_a = 3000, n_b = 2500, k = 64, n = n_a + n_b;
    const int d = 384;
    float *xa = calloc(n_a * d, sizeof *xa), *xb = calloc(n_b * d, sizeof *xb);
    float *h = calloc(k * d, sizeof *h);
    for (size_t i = 0; i < n_a; i++) xa[i * d + rng_next() % 8] = 1.f;
    for (size_t i = 0; i < n_b; i++) xb[i * d + (rng_next() % 8 + rng_next() % 3) % 8] = 1.f;
    for (size_t i = 1; i < k; i++)
        for (int c = 0; c < 8; c++) h[i * d + c] = (float)((int)(rng_next() % 11) - 5) / 32.f;
    float *sims = malloc(k * sizeof *sims), *s = malloc(k * n * sizeof *s); /* (k), (k, N) */
    hr_hypothesis_score *want = malloc(k * sizeof *want), *got = malloc(k * sizeof *got);
    const hr_score_method ms[] = {HR_SCORE_COSINE, HR_SCORE_CENTERED, HR_SCORE_CONTRAST};
    const size_t budgets[] = {0, (size_t)3 << 20};
    for (size_t mi = 0; mi < 3; mi++) {
        for (size_t x = 0; x < n; x++) {
            const float *v = x < n_a ? xa + x * d : xb + (x - n_a) * d;
            for (size_t r = 0; r < k; r++) sims[r] = (float)hr_similarity(h + r * d, v, d);
            hr_score_sample(ms[mi], HR_SCORER_DEFAULT_TEMPERATURE, sims, k, sims);
            for (size_t r = 0; r < k; r++) s[r * n + x] = sims[r];
        }
        reference_results(s, n_a, n_b, k, want);
        /* CENTERED on a binning backend: the linear form's hypotheses are
         * no longer multiples of 1/32, and CONTRAST's scores are not exact
         * in FP16: for those the AUROC bound applies, not rounding. */
        const int exact = ms[mi] == HR_SCORE_COSINE || cur->device == HR_DEVICE_CPU;
        const double mean_tol = cur->device == HR_DEVICE_CPU ? 1e-12
                                : ms[mi] == HR_SCORE_CENTERED ? 3 * MEAN_TOL
                                : ms[mi] == HR_SCORE_CONTRAST ? 2 * MEAN_TOL : MEAN_TOL;
        for (size_t bi = 0; bi < (cur->device == HR_DEVICE_CPU ? 1u : 2u); bi++) {
            char what[96];
            snprintf(what, sizeof what, "many ties, %s%s", hr_score_method_str(ms[mi]),
                     bi ? ", 3 MiB" : "");
            void *st = open_scorer(what, ms[mi], 0.0, xa, n_a, xb, n_b, d, budgets[bi], -1);
            char err[512] = "";
            if (!st) continue;
            CHECKF(cur->scorer->score(st, h, k, got, err, sizeof err) == HR_OK, "%s: %s", what, err);
            double worst = 0.0;
            for (size_t i = 0; i < k; i++) {
                const double da = fabs(got[i].auroc - want[i].auroc);
                worst = fmax(worst, da);
                CHECKF(da <= (exact ? EXACT_TOL : AUROC_TOL),
                       "%s: hypothesis %zu: auroc %s %.12f spec %.12f", what, i, cur->name,
                       got[i].auroc, want[i].auroc);
                CHECKF(fabs(got[i].mean_a - want[i].mean_a) <= mean_tol &&
                           fabs(got[i].mean_b - want[i].mean_b) <= mean_tol,
                       "%s: hypothesis %zu: means %s %.12g %.12g spec %.12g %.12g", what, i,
                       cur->name, got[i].mean_a, got[i].mean_b, want[i].mean_a, want[i].mean_b);
                if (cur->device == HR_DEVICE_CPU) /* exact: the same statistics, to the bit */
                    CHECKF(got[i].auroc == want[i].auroc && got[i].u == want[i].u &&
                               got[i].z == want[i].z && got[i].p_value == want[i].p_value,
                           "%s: hypothesis %zu: u %.17g z %.17g p %.17g, spec %.17g %.17g %.17g",
                           what, i, got[i].u, got[i].z, got[i].p_value, want[i].u, want[i].z,
                           want[i].p_value);
            }
            fprintf(stderr, "  %s: largest |auroc diff| %.3g\n", what, worst);
            cur->scorer->destroy(st);
        }
    }
    /* Accelerators against the CPU scorer as well: z and p within the bounds
     * the AUROC tolerance gives (here the AUROCs agree to rounding). */
    if (cur->device != HR_DEVICE_CPU) {
        compare("many ties", xa, n_a, xb, n_b, d, h, k, 0, -1, EXACT_TOL);
        compare("many ties, streamed", xa, n_a, xb, n_b, d, h, k, (size_t)3 << 20, -1, EXACT_TOL);
    }
    free(sims), free(s), free(want), free(got);
    free(xa), free(xb), free(h);
}

static void test_identical_samples_give_one_half_and_p_one(void)
{
    const size_t n_a = 500, n_b = 700, k = 5;
    const int d = 384;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h), v[384];
    random_unit(v, d, NULL, 0.0);
    for (size_t i = 0; i < n_a; i++) memcpy(xa + i * d, v, sizeof v);
    for (size_t i = 0; i < n_b; i++) memcpy(xb + i * d, v, sizeof v);
    for (size_t i = 0; i < k; i++) random_unit(h + i * d, d, NULL, 0.0);
    compare("identical samples", xa, n_a, xb, n_b, d, h, k, 0, -1, EXACT_TOL);
    hr_hypothesis_score out[5];
    char err[512] = "";
    void *sd = open_scorer("identical samples", HR_SCORE_COSINE, 0.0, xa, n_a, xb, n_b, d, 0, -1);
    if (sd && cur->scorer->score(sd, h, k, out, err, sizeof err) == HR_OK)
        for (size_t i = 0; i < k; i++)
            CHECKF(out[i].auroc == 0.5 && out[i].z == 0.0 && out[i].p_value == 1.0,
                   "hypothesis %zu: auroc %g z %g p %g", i, out[i].auroc, out[i].z,
                   out[i].p_value);
    cur->scorer->destroy(sd);
    free(xa), free(xb), free(h);
}

static void test_groups_of_one_sample_agree_with_cpu(void)
{
    const size_t big = 1000, k = 33;
    const int d = 384;
    float *x1 = malloc(d * sizeof *x1), *xn = malloc(big * d * sizeof *xn), *x1b = malloc(d * sizeof *x1b);
    float *h = malloc(k * d * sizeof *h);
    random_unit(x1, d, NULL, 0.0);
    random_unit(x1b, d, NULL, 0.0);
    for (size_t i = 0; i < big; i++) random_unit(xn + i * d, d, NULL, 0.0);
    for (size_t i = 0; i < k; i++) random_unit(h + i * d, d, NULL, 0.0);
    /* With a group of one, a B sample in the A sample's bin moves the AUROC
     * by 1 / (2 n_b) = 5e-4: the 1e-4 of DESIGN.md cannot hold here; the
     * bound is checked as documented, evaluated on the data (-1). */
    compare("n_a = 1", x1, 1, xn, big, d, h, k, 0, -1, -1.0);
    compare("n_b = 1", xn, big, x1, 1, d, h, k, 0, -1, -1.0);
    /* One pair: 0, 1/2 or 1, exact unless the two cosines share a bin. */
    compare("n_a = n_b = 1", x1, 1, x1b, 1, d, h, k, 0, -1, -1.0);
    free(x1), free(xn), free(x1b), free(h);
}

/* CONTRAST against the CPU: random data at several temperatures (the
 * shifted form above T = 1), resident and streamed, and the small pools
 * (K = 2: the two AUROCs sum to one; K = 1: the similarity itself). */
static void test_contrast_agrees_with_cpu(void)
{
    const size_t n_a = 9000, n_b = 7000, k = 200;
    const int d = 384;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    make_shifted(xa, n_a, xb, n_b, h, k, d);
    compare_method("contrast T = 0.02", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL, 0.02);
    compare_method("contrast T = 0.002", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL, 0.002);
    compare_method("contrast T = 1", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL, 1.0);
    compare_method("contrast T = 30", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL, 30.0);
    compare_method("contrast T = 1000", xa, n_a, xb, n_b, d, h, k, 0, 0, AUROC_TOL, 1000.0);
    compare_method("contrast, streamed", xa, n_a, xb, n_b, d, h, 40, (size_t)8 << 20, 1,
                   AUROC_TOL, 0.02);
    compare_method("contrast, several chunks", xa, n_a, xb, n_b, d, h, k, (size_t)48 << 20, 0,
                   AUROC_TOL, 0.02);
    compare_method("contrast K = 2", xa, n_a, xb, n_b, d, h, 2, 0, 0, AUROC_TOL, 0.02);
    compare_method("contrast K = 1", xa, n_a, xb, n_b, d, h, 1, 0, 0, AUROC_TOL, 0.02);
    hr_hypothesis_score r[2];
    char err[512] = "";
    void *sd = open_scorer("contrast", HR_SCORE_CONTRAST, 0.02, xa, n_a, xb, n_b, d, 0, -1);
    /* K = 2: the exact AUROCs sum to 1; the binned ones are each within
     * AUROC_TOL of the exact (the bins are not symmetric about 0, so the sum
     * is not exact). */
    if (sd && cur->scorer->score(sd, h, 2, r, err, sizeof err) == HR_OK)
        CHECKF(fabs(r[0].auroc + r[1].auroc - 1.0) <= 2 * AUROC_TOL, "K = 2: %.12f + %.12f",
               r[0].auroc, r[1].auroc);
    /* Identical hypotheses: every contrast score is 0, a tie. */
    float *same = malloc(3 * d * sizeof *same);
    for (int i = 0; i < 3; i++) memcpy(same + i * d, h, d * sizeof *same);
    hr_hypothesis_score r3[3];
    if (sd && cur->scorer->score(sd, same, 3, r3, err, sizeof err) == HR_OK)
        for (int i = 0; i < 3; i++)
            CHECKF(r3[i].auroc == 0.5 && r3[i].p_value == 1.0, "identical %d: auroc %g p %g", i,
                   r3[i].auroc, r3[i].p_value);
    cur->scorer->destroy(sd);
    free(same), free(xa), free(xb), free(h);
}

/* The public scorer (hyporank/scorer.h) with device dev against the CPU:
 * the device it picks must be want, and its results the CPU's within the
 * tolerances above. */
static void public_vs_cpu(const char *what, hr_score_method m, hr_device dev, hr_device want,
                          const float *xa, size_t n_a, const float *xb, size_t n_b, int d,
                          const float *h, size_t k)
{
    hr_hypothesis_score *cpu = calloc(k, sizeof *cpu), *dv = calloc(k, sizeof *dv);
    char err[512] = "";
    hr_scorer_options o = hr_scorer_default_options();
    o.method = m;
    o.device = HR_DEVICE_CPU;
    hr_scorer *sc = NULL, *sd = NULL;
    CHECKF(hr_scorer_create(xa, n_a, xb, n_b, d, &o, &sc, err, sizeof err) == HR_OK, "%s: %s",
           what, err);
    o.device = dev;
    CHECKF(hr_scorer_create(xa, n_a, xb, n_b, d, &o, &sd, err, sizeof err) == HR_OK, "%s: %s",
           what, err);
    if (!sc || !sd) goto done;
    CHECKF(hr_scorer_score(sc, h, k, cpu, err, sizeof err) == HR_OK, "%s: %s", what, err);
    CHECKF(hr_scorer_score(sd, h, k, dv, err, sizeof err) == HR_OK, "%s: %s", what, err);
    CHECKF(hr_scorer_device(sd) == want, "%s: device %s, expected %s", what,
           hr_device_str(hr_scorer_device(sd)), hr_device_str(want));
    const double mean_tol = m == HR_SCORE_CENTERED ? 3 * MEAN_TOL
                            : m == HR_SCORE_CONTRAST ? 2 * MEAN_TOL : MEAN_TOL;
    double worst = 0.0;
    for (size_t i = 0; i < k; i++) {
        const double da = fabs(dv[i].auroc - cpu[i].auroc);
        worst = fmax(worst, da);
        CHECKF(da <= AUROC_TOL, "%s: hypothesis %zu: auroc %.9f cpu %.9f", what, i, dv[i].auroc,
               cpu[i].auroc);
        CHECKF(fabs(dv[i].mean_a - cpu[i].mean_a) <= mean_tol &&
                   fabs(dv[i].mean_b - cpu[i].mean_b) <= mean_tol,
               "%s: hypothesis %zu: means %g %g cpu %g %g", what, i, dv[i].mean_a, dv[i].mean_b,
               cpu[i].mean_a, cpu[i].mean_b);
        CHECKF(dv[i].q_value >= dv[i].p_value && dv[i].q_value <= 1.0, "%s: hypothesis %zu: p %g q %g",
               what, i, dv[i].p_value, dv[i].q_value);
    }
    fprintf(stderr, "  %s: on %s, largest |auroc diff| %.3g\n", what,
            hr_device_str(hr_scorer_device(sd)), worst);
done:
    hr_scorer_destroy(sc);
    hr_scorer_destroy(sd);
    free(cpu), free(dv);
}

static void test_public_scorer_picks_the_backend_and_agrees(void)
{
    const hr_device dv = cur->device;
    const int is_auto = hr_backend_accelerator(HR_SERVICE_SCORER, NULL) == cur;
    const size_t n_a = 6000, n_b = 5000, k = 120;
    const int d = 384;
    float *xa = malloc(n_a * d * sizeof *xa), *xb = malloc(n_b * d * sizeof *xb);
    float *h = malloc(k * d * sizeof *h);
    make_shifted(xa, n_a, xb, n_b, h, k, d);
    public_vs_cpu("cosine", HR_SCORE_COSINE, dv, dv, xa, n_a, xb, n_b, d, h, k);
    public_vs_cpu("centered", HR_SCORE_CENTERED, dv, dv, xa, n_a, xb, n_b, d, h, k);
    if (is_auto) public_vs_cpu("cosine on auto", HR_SCORE_COSINE, HR_DEVICE_AUTO, dv, xa, n_a, xb, n_b, d, h, k);
    public_vs_cpu("centered, two hypotheses", HR_SCORE_CENTERED, dv, dv, xa, n_a, xb, n_b, d, h, 2);
    public_vs_cpu("centered, one hypothesis", HR_SCORE_CENTERED, dv, dv, xa, n_a, xb, n_b, d, h, 1);
    public_vs_cpu("contrast", HR_SCORE_CONTRAST, dv, dv, xa, n_a, xb, n_b, d, h, k);
    if (is_auto) {
        public_vs_cpu("contrast on auto", HR_SCORE_CONTRAST, HR_DEVICE_AUTO, dv, xa, n_a, xb, n_b, d,
                      h, k);
        /* Tiny groups: fewer A-B pairs than the backend asks for, auto keeps the exact CPU. */
        if (cur->scorer->auto_min_pairs > 900.0 * 1000.0)
            public_vs_cpu("cosine on auto, 900 x 1000", HR_SCORE_COSINE, HR_DEVICE_AUTO,
                          HR_DEVICE_CPU, xa, 900, xb, 1000, d, h, k);
    }
#ifdef HR_HAVE_CUDA
    if (strcmp(cur->name, "cuda") == 0) {
        /* A hypothesis of norm 2: the GPU refuses it (its bins cover the
         * cosines of unit vectors); auto moves to the CPU at the first
         * score, cuda says so. */
        for (int c = 0; c < d; c++) h[5 * d + c] *= 2.f;
        public_vs_cpu("cosine on auto, a hypothesis of norm 2", HR_SCORE_COSINE, HR_DEVICE_AUTO,
                      HR_DEVICE_CPU, xa, n_a, xb, n_b, d, h, k);
        hr_scorer_options o = hr_scorer_default_options();
        o.device = HR_DEVICE_CUDA;
        o.method = HR_SCORE_COSINE;
        hr_scorer *s = NULL;
        hr_hypothesis_score r[1];
        char err[512] = "";
        CHECK(hr_scorer_create(xa, n_a, xb, n_b, d, &o, &s, err, sizeof err) == HR_OK);
        if (s) CHECK(hr_scorer_score(s, h + 5 * d, 1, r, err, sizeof err) == HR_ERR_UNSUPPORTED);
        hr_scorer_destroy(s);
    }
#endif
    free(xa), free(xb), free(h);
}

#ifdef HR_HAVE_CUDA
/* The CUDA scorer refuses embeddings of norm above 1.001 (UNSUPPORTED,
 * naming the sample, so auto can fall back) and a non-finite hypothesis
 * (INPUT). */
static void test_cuda_scorer_refuses_non_unit_embeddings(void)
{
    const int d = 16;
    float xa[2 * 16], xb[16], h[16];
    char err[512] = "";
    random_unit(xa, d, NULL, 0.0);
    random_unit(xa + d, d, NULL, 0.0);
    random_unit(xb, d, NULL, 0.0);
    random_unit(h, d, NULL, 0.0);
    xa[d] *= 3.f; /* A sample 1 */
    hr_scorer_cuda *sg = NULL;
    CHECK(hr_scorer_cuda_create(xa, 2, xb, 1, d, 0, &sg, err, sizeof err) == HR_ERR_UNSUPPORTED);
    CHECKF(strstr(err, "A sample 1") != NULL, "%s", err);
    CHECK(sg == NULL);
    xa[d] /= 3.f;
    CHECKF(hr_scorer_cuda_create(xa, 2, xb, 1, d, 0, &sg, err, sizeof err) == HR_OK, "%s", err);
    hr_hypothesis_score out[1];
    h[0] = NAN;
    if (sg) CHECK(hr_scorer_cuda_score(sg, h, 1, out, err, sizeof err) == HR_ERR_INPUT);
    hr_scorer_cuda_destroy(sg);
}
#endif

/* ------------------------------------------------------------------------ */
/* Probe                                                                      */

/* A data set: X (n, d) row-major unit rows; y (n) with
 * P(y = 1) = sigmoid(signal sqrt(d) x . dir + bias) for a random unit dir;
 * w (n) weights when weighted (uniform in [0, 3), about 5% exactly 0), else
 * NULL. Counts of each class in n1, n0. */
typedef struct dataset {
    float *X;
    uint8_t *y;
    double *w;
    size_t n, n1;
    int d;
} dataset;

static dataset make_data(size_t n, int d, double signal, double bias, int weighted)
{
    dataset s = {malloc(n * (size_t)d * sizeof(float)), malloc(n), NULL, n, 0, d};
    double *dir = malloc((size_t)d * sizeof *dir), ss = 0;
    for (int k = 0; k < d; k++) dir[k] = rng_normal(), ss += dir[k] * dir[k];
    for (int k = 0; k < d; k++) dir[k] /= sqrt(ss);
    for (size_t i = 0; i < n; i++) {
        float *r = s.X + i * (size_t)d;
        double rs = 0, dot = 0;
        for (int k = 0; k < d; k++) r[k] = (float)rng_normal(), rs += (double)r[k] * r[k];
        for (int k = 0; k < d; k++) r[k] = (float)(r[k] / sqrt(rs)), dot += r[k] * dir[k];
        s.y[i] = rng_uniform() < 1.0 / (1.0 + exp(-(signal * sqrt((double)d) * dot + bias)));
        s.n1 += s.y[i];
    }
    if (weighted) {
        s.w = malloc(n * sizeof *s.w);
        for (size_t i = 0; i < n; i++) s.w[i] = rng_uniform() < 0.05 ? 0.0 : 3.0 * rng_uniform();
    }
    free(dir);
    return s;
}

static void free_data(dataset *s)
{
    free(s->X), free(s->y), free(s->w);
}

/* AUROC (class 1 positive) of the values f (n), rounded to float. */
static double auroc_of(const double *f, const uint8_t *y, size_t n, size_t n1)
{
    float *sc = malloc(n * sizeof *sc);
    size_t a = 0, b = n1;
    for (size_t i = 0; i < n; i++) sc[y[i] ? a++ : b++] = (float)f[i];
    hr_mw_result mw;
    char err[256];
    hr_status st = hr_mw_sorted(sc, n1, n - n1, &mw, err, sizeof err);
    free(sc);
    return st == HR_OK ? mw.auroc : NAN;
}

/* Fraction of (class 1, class 0) pairs whose values f are within win. */
static double near_pairs(const double *f, const uint8_t *y, size_t n, size_t n1, double win)
{
    double *neg = malloc((n - n1) * sizeof *neg);
    size_t m = 0, near = 0;
    for (size_t i = 0; i < n; i++)
        if (!y[i]) neg[m++] = f[i];
    qsort(neg, m, sizeof *neg, cmp_double);
    for (size_t i = 0; i < n; i++) {
        if (!y[i]) continue;
        size_t lo = 0, hi = m; /* first neg >= f - win */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (neg[mid] < f[i] - win) lo = mid + 1; else hi = mid;
        }
        size_t a = lo;
        lo = a, hi = m; /* first neg > f + win */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (neg[mid] <= f[i] + win) lo = mid + 1; else hi = mid;
        }
        near += lo - a;
    }
    free(neg);
    return (double)near / ((double)n1 * (double)(n - n1));
}

/* Fits s on the CPU (hr_probe_fit) and on the backend's passes (data with
 * memory budget; want_resident 1, 0, or -1 for either, checked on
 * accelerators) and compares them. */
static void compare_fit(const char *what, const dataset *s, const hr_probe_options *o,
                        size_t budget, int want_resident)
{
    char err[512] = "";
    hr_probe *pc = NULL, *pg = NULL;
    void *g = NULL;
    double *fc = malloc(s->n * sizeof *fc), *fg = malloc(s->n * sizeof *fg);
    const hr_probe_options oo = o ? *o : hr_probe_default_options();
    const int d = s->d;
    CHECKF(hr_probe_fit(s->X, s->n, d, s->y, s->w, o, &pc, err, sizeof err) == HR_OK, "%s: cpu: %s",
           what, err);
    CHECKF(cur->probe->data_create(s->X, d, NULL, s->n, s->y, s->w, budget, &g, err, sizeof err) ==
               HR_OK,
           "%s: %s data: %s", what, cur->name, err);
    if (g) {
        hr_probe_layout lay;
        cur->probe->layout(g, &lay);
        fprintf(stderr, "  %s: n = %zu (%zu of class 1), d = %d, %s; resident %d, chunk %zu rows\n",
                what, s->n, s->n1, d, s->w ? "weighted" : "unweighted", lay.resident,
                lay.chunk_rows);
        if (want_resident >= 0 && cur->device != HR_DEVICE_CPU)
            CHECKF(lay.resident == want_resident, "%s: resident %d", what, lay.resident);
        CHECKF(hr_probe_fit_on(cur->probe, g, d, s->n, &oo, &pg, err, sizeof err) == HR_OK,
               "%s: %s fit: %s", what, cur->name, err);
    }
    if (!pc || !pg) goto done;
    CHECK(hr_probe_dim(pg) == d);
    const double *wc = hr_probe_coef(pc), *wg = hr_probe_coef(pg);
    const double bc = hr_probe_intercept(pc), bg = hr_probe_intercept(pg);
    double scale = fabs(bc), dmax = fabs(bg - bc), dw1 = fabs(bg - bc);
    for (int k = 0; k < d; k++) {
        scale = fmax(scale, fabs(wc[k]));
        dmax = fmax(dmax, fabs(wg[k] - wc[k]));
        dw1 += fabs(wg[k] - wc[k]);
    }
    const double coef_tol = 2.0 * oo.tol * fmax(1.0, scale);
    hr_probe_info ic = hr_probe_get_info(pc), ig = hr_probe_get_info(pg);
    fprintf(stderr,
            "  %s: max |theta_%s - theta_cpu| = %.3g (tolerance %.3g, max |theta| %.3g); "
            "b %.12g vs %.12g; iterations %d vs %d; objective %.15g vs %.15g\n",
            what, cur->name, dmax, coef_tol, scale, bg, bc, ig.iterations, ic.iterations,
            ig.objective, ic.objective);
    CHECKF(dmax <= coef_tol, "%s: coefficients differ by %.3g (tolerance %.3g)", what, dmax,
           coef_tol);
    CHECKF(fabs(bg - bc) <= coef_tol, "%s: intercept %s %.15g cpu %.15g", what, cur->name, bg, bc);
    CHECKF(ic.converged && ig.converged, "%s: converged cpu %d %s %d", what, ic.converged,
           cur->name, ig.converged);
    CHECKF(abs(ig.iterations - ic.iterations) <= 1, "%s: iterations %s %d cpu %d", what,
           cur->name, ig.iterations, ic.iterations);
    CHECKF(fabs(ig.objective - ic.objective) <= PROBE_OBJECTIVE_REL_TOL * fabs(ic.objective),
           "%s: objective %s %.17g cpu %.17g", what, cur->name, ig.objective, ic.objective);

    CHECK(hr_probe_decision(pc, s->X, s->n, fc, err, sizeof err) == HR_OK);
    CHECK(hr_probe_decision(pg, s->X, s->n, fg, err, sizeof err) == HR_OK);
    double fdiff = 0, fmaxabs = 0, xmax = 0;
    for (size_t i = 0; i < s->n * (size_t)d; i++) xmax = fmax(xmax, fabs((double)s->X[i]));
    for (size_t i = 0; i < s->n; i++) {
        fdiff = fmax(fdiff, fabs(fg[i] - fc[i]));
        fmaxabs = fmax(fmaxabs, fabs(fc[i]));
    }
    /* the bound the coefficients allow, plus the rounding of two sums of d + 1 terms */
    const double fbound = coef_tol * ((double)d * xmax + 1.0) + 4.0 * (d + 1) * 0x1.0p-53 *
                          (fmaxabs + scale * (double)d * xmax);
    CHECKF(fdiff <= fbound, "%s: decision values differ by %.3g (bound %.3g)", what, fdiff, fbound);
    if (s->n1 > 0 && s->n1 < s->n) {
        const double ac = auroc_of(fc, s->y, s->n, s->n1), ag = auroc_of(fg, s->y, s->n, s->n1);
        const double win = 2.0 * fdiff + 0x1.0p-22 * fmaxabs;
        const double atol = near_pairs(fc, s->y, s->n, s->n1, win) + 1e-12;
        fprintf(stderr, "  %s: training AUROC %s %.9f cpu %.9f (tolerance %.3g)\n", what,
                cur->name, ag, ac, atol);
        CHECKF(fabs(ag - ac) <= atol, "%s: AUROC %s %.12f cpu %.12f (tolerance %.3g)", what,
               cur->name, ag, ac, atol);
    }
done:
    hr_probe_destroy(pc);
    hr_probe_destroy(pg);
    cur->probe->data_destroy(g);
    free(fc);
    free(fg);
}

static void test_d384_unweighted_agrees_with_cpu(void)
{
    rng_state = 20240611; /* the data these checks were written with */
    dataset s = make_data(20011, 384, 3.0, 0.0, 0);
    compare_fit("d 384, default budget", &s, NULL, 0, 1);
    free_data(&s);
}

static void test_d384_weighted_unbalanced_agrees_with_cpu(void)
{
    dataset s = make_data(20011, 384, 3.0, -3.0, 1);
    compare_fit("d 384, weighted, unbalanced", &s, NULL, 0, 1);
    free_data(&s);
}

static void test_small_d_agrees_with_cpu(void)
{
    dataset s = make_data(50021, 7, 2.0, -4.0, 0);
    compare_fit("d 7, unbalanced", &s, NULL, 0, 1);
    free_data(&s);
    dataset t = make_data(50021, 7, 2.0, 1.0, 1);
    compare_fit("d 7, weighted", &t, NULL, 0, 1);
    free_data(&t);
}

static void test_several_chunks_and_streaming_agree_with_cpu(void)
{
    dataset s = make_data(20011, 384, 3.0, -1.0, 1);
    /* 48 MiB: X (30.7 MB) resident, blocks of 3,926 rows: 6 chunks, the last
     * of 381 rows (see host/backends/cuda/probe_cuda.h, "Memory") */
    compare_fit("d 384, resident in chunks", &s, NULL, (size_t)48 << 20, 1);
    /* 8 MiB: X streamed from the host in chunks of about 500 rows */
    compare_fit("d 384, streamed", &s, NULL, (size_t)8 << 20, 0);
    free_data(&s);
}

static void test_other_options_agree_with_cpu(void)
{
    dataset s = make_data(5003, 384, 3.0, 0.5, 0);
    hr_probe_options o = hr_probe_default_options();
    o.lambda = 0.05; /* weak penalty, more features than separate the classes well */
    o.tol = 1e-10;
    compare_fit("d 384, lambda 0.05, tol 1e-10", &s, &o, 0, 1);
    o.lambda = 100;
    o.tol = 1e-8;
    compare_fit("d 384, lambda 100", &s, &o, 0, 1);
    free_data(&s);
}

static void test_tiny_sizes_agree_with_cpu(void)
{
    dataset s = make_data(3, 384, 3.0, 0.0, 0); /* fewer rows than features */
    s.y[0] = 1, s.y[1] = 0, s.n1 = (size_t)s.y[0] + s.y[1] + s.y[2];
    compare_fit("n 3, d 384", &s, NULL, 0, 1);
    free_data(&s);
    dataset t = make_data(2, 1, 1.0, 0.0, 0);
    t.y[0] = 1, t.y[1] = 0, t.n1 = 1;
    compare_fit("n 2, d 1", &t, NULL, 0, 1);
    free_data(&t);
}

/* The gradient pass without the Hessian (H NULL: what L-BFGS asks for) gives
 * the loss and gradient of the pass with it, on the CPU's data as the
 * reference: the same sums in another order (threads' ranges; on a GPU its
 * reductions), so to 1e-12 relative. Then an L-BFGS fit on the backend's
 * passes lands where the CPU's does. Runs on every backend (on the CPU it
 * checks the fused pass against the BLAS one). */
static void test_gradient_without_hessian_agrees(void)
{
    rng_state = 20261206;
    dataset s = make_data(30011, 384, 3.0, -0.5, 1);
    const int p = s.d + 1;
    char err[512] = "";
    const hr_backend *cpu = NULL;
    void *gc = NULL, *gb = NULL;
    double *theta = malloc(p * sizeof *theta), *g0 = malloc(p * sizeof *g0);
    double *g1 = malloc(p * sizeof *g1), *H = malloc((size_t)p * p * sizeof *H);
    hr_probe *a = NULL, *b = NULL;
    CHECK(hr_backend_for(HR_DEVICE_CPU, HR_SERVICE_PROBE, &cpu, err, sizeof err) == HR_OK);
    CHECKF(cpu->probe->data_create(s.X, s.d, NULL, s.n, s.y, s.w, 0, &gc, err, sizeof err) ==
               HR_OK, "%s", err);
    CHECKF(cur->probe->data_create(s.X, s.d, NULL, s.n, s.y, s.w, 0, &gb, err, sizeof err) ==
               HR_OK, "%s", err);
    if (!gc || !gb) goto done;
    for (int k = 0; k < p; k++) theta[k] = 0.3 * rng_normal();
    double l0 = 0, l1 = 0;
    CHECK(cpu->probe->gradient(gc, theta, &l0, g0, H, err, sizeof err) == HR_OK);
    CHECKF(cur->probe->gradient(gb, theta, &l1, g1, NULL, err, sizeof err) == HR_OK, "%s", err);
    double gmax = 0, gdiff = 0;
    for (int k = 0; k < p; k++) gmax = fmax(gmax, fabs(g0[k]));
    for (int k = 0; k < p; k++) gdiff = fmax(gdiff, fabs(g1[k] - g0[k]));
    CHECKF(fabs(l1 - l0) <= 1e-12 * fabs(l0), "loss %.17g against %.17g", l1, l0);
    CHECKF(gdiff <= 1e-12 * gmax, "gradient differs by %.3g (largest entry %.3g)", gdiff, gmax);

    hr_probe_options o = hr_probe_default_options();
    o.solver = HR_PROBE_SOLVER_LBFGS;
    CHECKF(hr_probe_fit_on(cpu->probe, gc, s.d, s.n, &o, &a, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit_on(cur->probe, gb, s.d, s.n, &o, &b, err, sizeof err) == HR_OK, "%s", err);
    if (a && b) {
        const hr_probe_info ia = hr_probe_get_info(a), ib = hr_probe_get_info(b);
        CHECK(ia.converged && ib.converged);
        CHECK(ia.solver == HR_PROBE_SOLVER_LBFGS && ib.solver == HR_PROBE_SOLVER_LBFGS);
        double diff = fabs(hr_probe_intercept(a) - hr_probe_intercept(b)), scale = 1;
        for (int k = 0; k < s.d; k++) {
            diff = fmax(diff, fabs(hr_probe_coef(a)[k] - hr_probe_coef(b)[k]));
            scale = fmax(scale, fabs(hr_probe_coef(a)[k]));
        }
        /* two runs of the same iteration on sums rounded differently: they
         * part by rounding only until the stopping rule, far below 1e-6 */
        CHECKF(diff <= 1e-6 * scale, "L-BFGS coefficients differ by %.3g (scale %.3g)", diff,
               scale);
        fprintf(stderr, "    %s: loss %.1e, gradient %.1e relative; L-BFGS %d and %d iterations, "
                        "coefficients %.1e\n", cur->name, fabs(l1 - l0) / fabs(l0),
                gdiff / gmax, ia.iterations, ib.iterations, diff / scale);
    }
done:
    hr_probe_destroy(a), hr_probe_destroy(b);
    if (gc) cpu->probe->data_destroy(gc);
    if (gb) cur->probe->data_destroy(gb);
    free(theta), free(g0), free(g1), free(H);
    free_data(&s);
}

/* One data handle, several fits: the same fit twice gives the same bits
 * (fixed-order reductions), a stronger penalty smaller coefficients, and
 * the public hr_probe_fit on the backend's device (the same default plan)
 * the same bits again. Runs on every backend. */
static void test_one_handle_fits_twice(void)
{
    rng_state = 20240612;
    dataset s = make_data(4099, 64, 3.0, 0.0, 0);
    char err[512] = "";
    void *g = NULL;
    hr_probe *a = NULL, *b = NULL, *c = NULL;
    hr_probe_options o = hr_probe_default_options(), def = hr_probe_default_options();
    CHECKF(cur->probe->data_create(s.X, s.d, NULL, s.n, s.y, NULL, 0, &g, err, sizeof err) == HR_OK,
           "%s", err);
    if (!g) goto done;
    o.lambda = 10;
    CHECKF(hr_probe_fit_on(cur->probe, g, s.d, s.n, &def, &a, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit_on(cur->probe, g, s.d, s.n, &o, &b, err, sizeof err) == HR_OK, "%s", err);
    CHECKF(hr_probe_fit_on(cur->probe, g, s.d, s.n, &def, &c, err, sizeof err) == HR_OK, "%s", err);
    if (!a || !b || !c) goto done;
    CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(c), (size_t)s.d * sizeof(double)) == 0);
    CHECK(hr_probe_intercept(a) == hr_probe_intercept(c));
    double na = 0, nb = 0;
    for (int k = 0; k < s.d; k++)
        na += hr_probe_coef(a)[k] * hr_probe_coef(a)[k], nb += hr_probe_coef(b)[k] * hr_probe_coef(b)[k];
    CHECKF(nb < na, "|w|^2 lambda 10: %g, lambda 1: %g", nb, na);
    if (public_api_runs(cur, HR_SERVICE_PROBE)) {
        hr_probe *one = NULL;
        def.device = cur->device;
        CHECKF(hr_probe_fit(s.X, s.n, s.d, s.y, NULL, &def, &one, err, sizeof err) == HR_OK, "%s",
               err);
        if (one) {
            CHECK(memcmp(hr_probe_coef(a), hr_probe_coef(one), (size_t)s.d * sizeof(double)) == 0);
            CHECK(hr_probe_intercept(a) == hr_probe_intercept(one));
            CHECK(hr_probe_get_info(one).iterations == hr_probe_get_info(a).iterations);
        }
        hr_probe_destroy(one);
    }
done:
    hr_probe_destroy(a);
    hr_probe_destroy(b);
    hr_probe_destroy(c);
    cur->probe->data_destroy(g);
    free_data(&s);
}

/* The device option (hyporank/probe.h): hr_probe_fit and cross-validation
 * on the backend's device, and AUTO on a fit above its threshold, give what
 * the CPU gives, to the coefficient tolerance above carried through a
 * decision value: |df| <= 2 tol max(1, max |theta|) (1 + sum |x|). */
static void test_device_option_agrees_with_cpu(void)
{
    rng_state = 20240613;
    dataset s = make_data(30011, 384, 0.8, 0.1, 1);
    const size_t n = s.n;
    const int d = s.d, k = 5;
    double *cpu = malloc(n * sizeof *cpu), *dev = malloc(n * sizeof *dev);
    char err[512] = "";
    hr_probe_options o = hr_probe_default_options();
    hr_probe *ref = NULL;
    CHECKF(hr_probe_fit(s.X, n, d, s.y, s.w, &o, &ref, err, sizeof err) == HR_OK, "%s", err);
    double big = 1.0;
    for (int c = 0; ref && c < d; c++) big = fmax(big, fabs(hr_probe_coef(ref)[c]));
    if (ref) big = fmax(big, fabs(hr_probe_intercept(ref)));
    hr_probe_destroy(ref);
    CHECKF(hr_probe_cross_validate(s.X, n, d, s.y, s.w, &o, k, 3, cpu, NULL, err, sizeof err) ==
               HR_OK, "%s", err);
    const hr_device devices[2] = {cur->device, HR_DEVICE_AUTO};
    for (int v = 0; v < 2; v++) {
        o.device = devices[v];
        CHECKF(hr_probe_cross_validate(s.X, n, d, s.y, s.w, &o, k, 3, dev, NULL, err,
                                       sizeof err) == HR_OK,
               "%s: %s", hr_device_str(o.device), err);
        double worst = 0.0;
        for (size_t i = 0; i < n; i++) {
            double l1 = 1.0;
            for (int c = 0; c < d; c++) l1 += fabs(s.X[i * d + c]);
            const double tol = 2 * o.tol * big * l1;
            worst = fmax(worst, fabs(dev[i] - cpu[i]) / tol);
            CHECKF(fabs(dev[i] - cpu[i]) <= tol, "%s: row %zu: %.12g vs %.12g",
                   hr_device_str(o.device), i, dev[i], cpu[i]);
        }
        fprintf(stderr, "  cross-validation on %s: largest |difference| / tolerance %.3g\n",
                hr_device_str(o.device), worst);
    }
    free(cpu), free(dev);
    free_data(&s);
}

#ifdef HR_HAVE_CUDA
/* Both fits on the given input: same status, same message, no probe. */
static void same_error(const char *what, const float *X, size_t n, int d, const uint8_t *y,
                       const double *w, const hr_probe_options *o, int null_out)
{
    char ec[512] = "", eg[512] = "";
    hr_probe *pc = NULL, *pg = NULL;
    hr_status sc = hr_probe_fit(X, n, d, y, w, o, null_out ? NULL : &pc, ec, sizeof ec);
    hr_status sg = hr_probe_fit_cuda(X, n, d, y, w, o, null_out ? NULL : &pg, eg, sizeof eg);
    CHECKF(sc != HR_OK, "%s: the CPU accepted it", what);
    CHECKF(sg == sc, "%s: status gpu %d (%s) cpu %d (%s)", what, (int)sg, eg, (int)sc, ec);
    CHECKF(strcmp(eg, ec) == 0, "%s: message gpu '%s' cpu '%s'", what, eg, ec);
    CHECK(pc == NULL && pg == NULL);
    hr_probe_destroy(pc);
    hr_probe_destroy(pg);
}

/* The GPU fit's own input checks (hr_probe_fit_cuda checks on the host and
 * the features on the GPU) give the CPU fit's status and message. */
static void test_cuda_probe_gives_the_cpus_errors(void)
{
    enum { N = 10, D = 4 };
    float X[N * D];
    uint8_t y[N];
    double w[N];
    for (int i = 0; i < N * D; i++) X[i] = (float)(rng_normal() * 0.5);
    for (int i = 0; i < N; i++) y[i] = (uint8_t)(i % 2), w[i] = 1.0 + i;
    hr_probe_options o = hr_probe_default_options();

    same_error("X NULL", NULL, N, D, y, NULL, NULL, 0);
    same_error("y NULL", X, N, D, NULL, NULL, NULL, 0);
    same_error("no rows", X, 0, D, y, NULL, NULL, 0);
    same_error("no features", X, N, 0, y, NULL, NULL, 0);
    same_error("no output pointer", X, N, D, y, NULL, NULL, 1);
    y[3] = 2;
    same_error("label 2", X, N, D, y, NULL, NULL, 0);
    X[2 * D + 1] = INFINITY; /* an earlier row's bad feature comes first */
    same_error("inf feature before a bad label", X, N, D, y, NULL, NULL, 0);
    X[2 * D + 1] = 0.25f, y[3] = 1;
    X[5 * D + 2] = NAN;
    same_error("NaN feature", X, N, D, y, NULL, NULL, 0);
    same_error("NaN feature, weighted", X, N, D, y, w, NULL, 0);
    w[5] = NAN; /* same row: the weight is reported first */
    same_error("NaN weight and NaN feature in one row", X, N, D, y, w, NULL, 0);
    w[5] = 6.0, X[5 * D + 2] = 0.5f;
    w[1] = -1.0;
    same_error("negative weight", X, N, D, y, w, NULL, 0);
    w[1] = INFINITY;
    same_error("infinite weight", X, N, D, y, w, NULL, 0);
    w[1] = 2.0;
    for (int i = 1; i < N; i += 2) w[i] = 0.0; /* class 1 has no weight */
    same_error("class 1 without weight", X, N, D, y, w, NULL, 0);
    X[8 * D + 3] = -INFINITY; /* ... but a bad feature is reported first */
    same_error("class 1 without weight and an inf feature", X, N, D, y, w, NULL, 0);
    X[8 * D + 3] = 0.0f;
    for (int i = 0; i < N; i++) w[i] = 1.0;
    uint8_t zeros[N] = {0};
    same_error("one class only", X, N, D, zeros, NULL, NULL, 0);
    o.lambda = 0;
    same_error("lambda 0", X, N, D, y, NULL, &o, 0);
    same_error("lambda 0 and one class", X, N, D, zeros, NULL, &o, 0); /* options first */
    o.lambda = INFINITY;
    same_error("lambda inf", X, N, D, y, NULL, &o, 0);
    o.lambda = 1, o.tol = 0;
    same_error("tol 0", X, N, D, y, NULL, &o, 0);
    o.tol = NAN;
    same_error("tol NaN", X, N, D, y, NULL, &o, 0);
    o.tol = 1e-8, o.max_iter = 0;
    same_error("max_iter 0", X, N, D, y, NULL, &o, 0);
    /* a handle refuses bad options as hr_probe_fit does */
    hr_probe_cuda_data *g = NULL;
    hr_probe *bad = NULL;
    char err[256] = "";
    for (int i = 0; i < N; i++) w[i] = 1.0;
    CHECKF(hr_probe_cuda_data_create(X, N, D, y, NULL, 0, &g, err, sizeof err) == HR_OK, "%s", err);
    o.max_iter = 0;
    if (g) CHECK(hr_probe_cuda_data_fit(g, &o, &bad, err, sizeof err) == HR_ERR_INPUT && bad == NULL);
    hr_probe_cuda_data_destroy(g);
}
#endif

/* ------------------------------------------------------------------------ */
/* CUDA only: the encoder's two-slot API and its checks of a batch          */

#ifdef HR_HAVE_CUDA
static void test_cuda_forward_refuses_bad_batches(void)
{
    const int max_len = hr_model_max_tokens(model);
    int32_t *ids;
    int *off;
    enum { N = sizeof short_texts / sizeof short_texts[0] };
    const int n_seq = pack_texts(short_texts, N, max_len, &ids, &off);
    float *out = malloc((size_t)n_seq * hr_model_dim(model) * sizeof *out);
    char err[512] = "";
    hr_cuda_encoder *enc = NULL;
    CHECKF(hr_cuda_encoder_create(model, &enc, err, sizeof err) == HR_OK, "%s", err);
    if (enc) {
        /* Bad input is the caller's bug: a clear error, no launch. */
        int bad_off[3] = {0, 0, 2}; /* an empty sequence */
        CHECK(hr_cuda_encoder_forward(enc, ids, bad_off, 2, out, err, sizeof err) == HR_ERR_INTERNAL);
        int32_t bad_ids[2] = {101, 1 << 30};
        int off_one[2] = {0, 2};
        CHECK(hr_cuda_encoder_forward(enc, bad_ids, off_one, 1, out, err, sizeof err) == HR_ERR_INTERNAL);
        CHECK(hr_cuda_encoder_forward(enc, ids, off, 0, out, err, sizeof err) == HR_OK);
    }
    hr_cuda_encoder_destroy(enc);
    hr_cuda_encoder_destroy(NULL);
    free(ids), free(off), free(out);
}

static void test_submit_wait_slots_match_forward(void)
{
    const int h = hr_model_dim(model), max_len = hr_model_max_tokens(model);
    enum { N = sizeof short_texts / sizeof short_texts[0] };
    int32_t *ids;
    int *off;
    const int n_seq = pack_texts(short_texts, N, max_len, &ids, &off);
    /* two batches: the first 8 sequences and the rest, offsets rebased */
    const int n0 = 8, n1 = n_seq - n0;
    int *off1 = malloc(((size_t)n1 + 1) * sizeof *off1);
    for (int s = 0; s <= n1; s++) off1[s] = off[n0 + s] - off[n0];
    float *ref = malloc((size_t)n_seq * h * sizeof *ref);
    char err[512] = "";
    hr_cuda_encoder *enc = NULL;
    hr_status st = hr_cuda_encoder_create(model, &enc, err, sizeof err);
    CHECKF(st == HR_OK, "%s", err);
    if (st == HR_OK) {
        CHECKF(hr_cuda_encoder_forward(enc, ids, off, n_seq, ref, err, sizeof err) == HR_OK, "%s", err);
        for (int round = 0; round < 3; round++) { /* the slots are reused */
            const float *r0 = NULL, *r1 = NULL;
            int got0 = -1, got1 = -1;
            CHECKF(hr_cuda_encoder_submit(enc, 0, ids, off, n0, err, sizeof err) == HR_OK, "%s", err);
            CHECKF(hr_cuda_encoder_submit(enc, 1, ids + off[n0], off1, n1, err, sizeof err) == HR_OK,
                   "%s", err);
            /* a busy slot refuses a second batch */
            CHECK(hr_cuda_encoder_submit(enc, 0, ids, off, n0, err, sizeof err) == HR_ERR_INTERNAL);
            CHECKF(hr_cuda_encoder_wait(enc, 1, &r1, &got1, err, sizeof err) == HR_OK, "%s", err);
            CHECKF(hr_cuda_encoder_wait(enc, 0, &r0, &got0, err, sizeof err) == HR_OK, "%s", err);
            CHECK(got0 == n0 && got1 == n1 && r0 && r1);
            if (!r0 || !r1 || got0 != n0 || got1 != n1) break;
            double worst = 1.0;
            for (int s = 0; s < n_seq; s++) {
                const float *g = s < n0 ? r0 + (size_t)s * h : r1 + (size_t)(s - n0) * h;
                const double c = cosine(ref + (size_t)s * h, g, h);
                worst = c < worst ? c : worst;
            }
            CHECKF(worst >= MIN_COSINE_SAME_BACKEND, "round %d: worst cosine against forward %.7f",
                   round, worst);
        }
        /* waiting on an idle slot is the caller's bug; an empty batch is fine */
        const float *r = NULL;
        int got = -1;
        CHECK(hr_cuda_encoder_wait(enc, 0, &r, NULL, err, sizeof err) == HR_ERR_INTERNAL);
        CHECK(hr_cuda_encoder_submit(enc, 1, NULL, NULL, 0, err, sizeof err) == HR_OK);
        CHECK(hr_cuda_encoder_wait(enc, 1, &r, &got, err, sizeof err) == HR_OK && got == 0);
        CHECK(hr_cuda_encoder_submit(enc, 2, ids, off, 1, err, sizeof err) == HR_ERR_INTERNAL);
        /* destroy with a batch in flight waits for it */
        CHECK(hr_cuda_encoder_submit(enc, 0, ids, off, n_seq, err, sizeof err) == HR_OK);
    }
    hr_cuda_encoder_destroy(enc);
    free(ids), free(off), free(off1), free(ref);
}
#endif

/* ------------------------------------------------------------------------ */
/* The run                                                                    */

static int load_model(void)
{
    if (model) return 0;
    char err[512] = "";
    if (hr_model_load(test_model_dir(), &model, err, sizeof err) != HR_OK) {
        fprintf(stderr, "cannot load the model (run scripts/fetch-model.sh): %s\n", err);
        return -1;
    }
    return 0;
}

/* Every operation of backend b. The CPU backend is the reference of most of
 * them: against itself it runs only the checks with a reference of their
 * own (attention, the scorer's specification, the probe's handle). */
static int run_backend(const hr_backend *b)
{
    const int is_cpu = b == cpu_backend();
    cur = b;
    fprintf(stderr, "== backend %s (%s)\n", b->name, hr_device_str(b->device));
    if (b->encoder && b->encoder->ops) {
        if (!is_cpu) {
            RUN(test_l2_normalize_matches_cpu);
            RUN(test_layernorm_matches_cpu);
            RUN(test_embed_layernorm_matches_cpu);
            RUN(test_residual_layernorm_matches_cpu);
            RUN(test_bias_gelu_matches_cpu);
        }
        lcg_state = 4242u;
        RUN(test_attention_matches_the_exact_reference);
        if (!is_cpu) RUN(test_mean_pool_matches_cpu);
    }
    if (b->encoder && strcmp(b->name, "cpu") == 0 && hr_amx_available()) {
        /* the CPU backend's own forward multiplies on AMX tiles */
        if (load_model() != 0) return -1;
        RUN(test_forward_matches_cpu_on_real_texts);
    }
    if (b->encoder && !is_cpu) {
        if (load_model() != 0) return -1;
        RUN(test_forward_matches_cpu_on_real_texts);
#ifdef HR_HAVE_CUDA
        if (strcmp(b->name, "cuda") == 0) {
            RUN(test_cuda_forward_refuses_bad_batches);
            RUN(test_submit_wait_slots_match_forward);
            lcg_state = 4242u;
            RUN(test_flash_attention_matches_the_exact_reference);
            RUN(test_forward_with_flash_attention_matches_cpu);
        }
#endif
        if (public_api_runs(b, HR_SERVICE_ENCODER)) {
            RUN(test_embed_fixture_texts_match_cpu);
            RUN(test_embed_generated_texts_match_cpu);
            RUN(test_embed_edge_cases_match_cpu);
        }
        if (hr_backend_accelerator(HR_SERVICE_ENCODER, NULL) == b) RUN(test_auto_picks_the_accelerator);
    }
    if (b->scorer) {
        RUN(test_many_ties_agree_with_the_specification);
        RUN(test_effects_agree_with_cpu);
        if (b->device != HR_DEVICE_CPU) {
            RUN(test_random_unit_vectors_agree_with_cpu);
            RUN(test_sizes_not_dividing_tiles_agree_with_cpu);
            RUN(test_identical_samples_give_one_half_and_p_one);
            RUN(test_groups_of_one_sample_agree_with_cpu);
            RUN(test_contrast_agrees_with_cpu);
            if (public_api_runs(b, HR_SERVICE_SCORER))
                RUN(test_public_scorer_picks_the_backend_and_agrees);
#ifdef HR_HAVE_CUDA
            if (strcmp(b->name, "cuda") == 0) RUN(test_cuda_scorer_refuses_non_unit_embeddings);
#endif
        }
    }
    if (b->probe) {
        RUN(test_one_handle_fits_twice);
        RUN(test_gradient_without_hessian_agrees);
        if (b->device != HR_DEVICE_CPU) {
            RUN(test_d384_unweighted_agrees_with_cpu);
            RUN(test_d384_weighted_unbalanced_agrees_with_cpu);
            RUN(test_small_d_agrees_with_cpu);
            RUN(test_several_chunks_and_streaming_agree_with_cpu);
            RUN(test_other_options_agree_with_cpu);
            RUN(test_tiny_sizes_agree_with_cpu);
            if (public_api_runs(b, HR_SERVICE_PROBE)) RUN(test_device_option_agrees_with_cpu);
#ifdef HR_HAVE_CUDA
            if (strcmp(b->name, "cuda") == 0) RUN(test_cuda_probe_gives_the_cpus_errors);
#endif
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) which = argv[++i];
        else {
            fprintf(stderr, "usage: test_backends [--device cpu|cuda|all]\n");
            return 2;
        }
    }
    hr_device only = HR_DEVICE_AUTO; /* all */
    if (strcmp(which, "all") != 0 && (hr_device_parse(which, &only) != 0 || only == HR_DEVICE_AUTO)) {
        fprintf(stderr, "test_backends: unknown device '%s'\n", which);
        return 2;
    }
    if (only == HR_DEVICE_AUTO || only == HR_DEVICE_CPU) {
        RUN(test_registry_lists_the_builds_backends);
        RUN(test_auto_falls_back_on_device_failures_only);
        RUN(test_reference_backend_is_called_through_the_public_scorer);
        RUN(test_score_methods_match_their_definitions);
        RUN(test_contrast_shifted_form_matches_the_plain_one);
        RUN(test_centered_linear_form_matches_the_spec);
        RUN(test_probe_from_coef_reads_back);
    }
    int ran = 0;
    for (size_t i = 0; i < hr_backend_count(); i++) {
        const hr_backend *b = hr_backend_at(i);
        if (only != HR_DEVICE_AUTO && b->device != only) continue;
        const char *why = NULL;
        if (!hr_backend_usable(b, &why)) {
            fprintf(stderr, "skip %s: %s\n", b->name, why ? why : "no device");
            continue;
        }
        if (run_backend(b) != 0) return 1;
        ran++;
    }
    hr_model_destroy(model);
    if (ran == 0) {
        const char *why = NULL;
        if (only != HR_DEVICE_AUTO && !hr_device_usable(only, &why))
            return test_skip(why ? why : "no backend for this device");
        return test_skip("no backend to run");
    }
    return test_summary();
}
