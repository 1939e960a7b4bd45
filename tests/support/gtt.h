/* Test support: checks that count, finite-difference gradient checks (first and second
 * order, in float64), and a closing "N passed, N failed" line. Every test binary returns
 * gtt_finish(), which is non-zero when anything failed. */
#ifndef GTT_H
#define GTT_H

#include <gradtape.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int gtt_passed, gtt_failed;

/* Records one check; prints the failure with file:line and the formatted reason. */
#define GTT_CHECK(cond, ...)                                                                     \
    gtt_check_((cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
#define GTT_OK(cond) gtt_check_((cond), __FILE__, __LINE__, #cond, "%s", gt_error() ? gt_error() : "")
/* |a - b| <= atol + rtol * |b| (NaNs must match NaNs, infinities must match exactly). */
#define GTT_CLOSE(a, b, atol, rtol)                                                              \
    gtt_close_((double)(a), (double)(b), (atol), (rtol), __FILE__, __LINE__, #a)
/* The pending error message contains `needle` (then the error is cleared). */
#define GTT_ERROR_HAS(needle) gtt_error_has_((needle), __FILE__, __LINE__)

void gtt_check_(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void gtt_close_(double a, double b, double atol, double rtol, const char *file, int line,
                const char *expr);
void gtt_error_has_(const char *needle, const char *file, int line);
/* Compares every element of t with want[] (size n). */
void gtt_tensor_close(const char *what, const gt_tensor *t, const double *want, int64_t n,
                      double atol, double rtol);
/* Prints "N passed, N failed" and returns the exit status. */
int gtt_finish(void);

/* ---- gradient checks ------------------------------------------------------------------ */

/* The function under test: builds its output from inputs x[0..nin-1] with public ops. */
typedef gt_tensor *(*gtt_fn)(gt_tensor *const *x, void *user);

typedef struct gtt_grad_opts {
    double h;        /* finite-difference step (default 1e-6) */
    double atol;     /* first-order tolerance (default 1e-6) */
    double rtol;     /* (default 1e-5) */
    double h2;       /* second-order step (default 1e-5) */
    double atol2;    /* second-order tolerances (default 1e-5 / 1e-4) */
    double rtol2;
    bool first_only; /* skip the second-order check (only for rules TF itself lacks) */
    unsigned skip;   /* bitmask of inputs not to differentiate (indices, labels, ...) */
} gtt_grad_opts;

/* Checks d/dx_i sum(w * f(x)), w a fixed random weight of f's output shape, for every float64
 * input (integer inputs are skipped): the tape's gradient against central differences, then
 * the gradient of sum(v * gradient) through nested tapes against central differences of the
 * first gradient. Inputs must be float64 tensors away from kinks. Counts the checks. */
void gtt_gradcheck(const char *name, gtt_fn f, void *user, int nin, gt_tensor *const *x,
                   const gtt_grad_opts *opts);

/* Checks that a fused op equals the composition it replaces bitwise: the outputs of fused(x)
 * and composed(x), and the gradients of sum(y * y) with respect to each of x[0..nin-1] (nin
 * <= 4). what names the case in failure messages. Counts the checks. */
void gtt_check_fused(const char *what, gtt_fn fused, gtt_fn composed, void *user, int nin,
                     gt_tensor *const *x);

/* A float64 tensor of the given shape filled from N(0,1) (seeded, deterministic), scaled and
 * shifted: value = shift + scale * z. */
gt_tensor *gtt_randn(int rank, const int64_t *shape, double scale, double shift, uint64_t seed);
/* A float64 tensor with values uniform in [lo, hi). */
gt_tensor *gtt_rand_uniform(int rank, const int64_t *shape, double lo, double hi, uint64_t seed);

/* One gradient-check case: `run` calls gtt_gradcheck for op `op` (its registry name) on
 * inputs it makes. Each op family lists its cases in tests/support/cases_<family>.c as an
 * array ending with {NULL, NULL}; test_gradcheck runs them all and fails for any
 * differentiable op in the registry without a case. */
typedef struct gtt_case {
    const char *op;
    void (*run)(void);
} gtt_case;

extern const gtt_case gtt_cases_binary[], gtt_cases_misc[], gtt_cases_unary[], gtt_cases_nn[],
    gtt_cases_reduce[], gtt_cases_matmul[], gtt_cases_shape[], gtt_cases_autodiff[], gtt_cases_conv[];

#endif
