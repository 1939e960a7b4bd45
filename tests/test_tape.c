/* The tape's behaviours, one test each, with TensorFlow's documented results. */
#include "gtt.h"

#include <stdlib.h>

static gt_tensor *vec(int64_t n, const double *v) {
    return gt_tensor_new(GT_F64, 1, (int64_t[]){n}, v);
}

/* x = 3.0: y = x**2 gives 6.0 (the seed's first program). */
static void test_square(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(3.0), "x");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_pow_s(x, 2.0);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, y, x);
    GTT_OK(g != NULL);
    GTT_CHECK(gt_item(g) == 6.0, "got %g", gt_item(g));
    GTT_CHECK(gt_tensor_dtype(g) == GT_F32, "dtype %s", gt_dtype_name(gt_tensor_dtype(g)));
    char buf[32];
    gt_tensor_format(g, buf, sizeof buf);
    GTT_CHECK(!strcmp(buf, "6.0"), "printed as '%s'", buf);
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* x = 1: y = x^3; dy/dx = 3, d2y/dx2 = 6, d3y/dx3 = 6 (the guide's higher-order example). */
static void test_higher_order(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(1.0), "x");
    gt_tape *t3 = gt_tape_begin(NULL);
    gt_tape *t2 = gt_tape_begin(NULL);
    gt_tape *t1 = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(gt_mul(x, x), x);
    gt_tape_end(t1);
    gt_tensor *dy = gt_gradient(t1, y, x);
    gt_tape_end(t2);
    gt_tensor *d2y = gt_gradient(t2, dy, x);
    gt_tape_end(t3);
    gt_tensor *d3y = gt_gradient(t3, d2y, x);
    GTT_CHECK(dy && gt_item(dy) == 3.0, "dy/dx = %g", dy ? gt_item(dy) : -1);
    GTT_CHECK(d2y && gt_item(d2y) == 6.0, "d2y/dx2 = %g", d2y ? gt_item(d2y) : -1);
    GTT_CHECK(d3y && gt_item(d3y) == 6.0, "d3y/dx3 = %g", d3y ? gt_item(d3y) : -1);
    gt_tape_free(t1);
    gt_tape_free(t2);
    gt_tape_free(t3);
    gt_variable_free(x);
    gt_scope_end();
}

/* Non-scalar targets are summed: d/dx sum(x * [3, 4]) = 7. */
static void test_nonscalar_target(void) {
    gt_scope_begin();
    gt_tensor *x = gt_scalar_of(GT_F64, 2.0);
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    gt_tensor *y = gt_mul(x, vec(2, (double[]){3, 4}));
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, y, x);
    GTT_CHECK(g && gt_item(g) == 7.0, "got %g", g ? gt_item(g) : -1);
    gt_tape_free(t);
    gt_scope_end();
}

/* Several targets are summed too; output gradients weight them. */
static void test_multiple_targets(void) {
    gt_scope_begin();
    gt_tensor *x = gt_scalar_of(GT_F64, 2.0);
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tensor *y0 = gt_mul_s(x, 3.0), *y1 = gt_mul(x, x);
    gt_tape_end(t);
    const gt_tensor *ys[2] = {y0, y1}, *src[1] = {x};
    gt_tensor *g = NULL;
    GTT_OK(gt_tape_gradient(t, 2, ys, NULL, 1, src, GT_UNCONNECTED_NONE, &g));
    GTT_CHECK(g && gt_item(g) == 3.0 + 4.0, "sum of targets: %g", g ? gt_item(g) : -1);
    const gt_tensor *og[2] = {gt_scalar_of(GT_F64, 10.0), NULL};
    GTT_OK(gt_tape_gradient(t, 2, ys, og, 1, src, GT_UNCONNECTED_NONE, &g));
    GTT_CHECK(g && gt_item(g) == 30.0 + 4.0, "weighted: %g", g ? gt_item(g) : -1);
    /* A wrongly shaped output gradient is an error. */
    const gt_tensor *bad[2] = {gt_zeros(GT_F64, GT_SHAPE(2)), NULL};
    GTT_CHECK(!gt_tape_gradient(t, 2, ys, bad, 1, src, GT_UNCONNECTED_NONE, &g), "accepted");
    GTT_ERROR_HAS("output gradient 0 has shape [2]");
    gt_tape_free(t);
    gt_scope_end();
}

/* Unconnected sources give NULL, or zeros of their shape with GT_UNCONNECTED_ZERO. */
static void test_unconnected(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_zeros(GT_F32, GT_SHAPE(2, 2)), "x");
    gt_tensor *y = gt_variable(gt_scalar(1.0), "y");
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tensor *z = gt_mul_s(y, 2.0);
    gt_tape_end(t);
    GTT_CHECK(gt_gradient(t, z, x) == NULL && gt_ok(), "expected NULL without error");
    GTT_CHECK(gt_tape_explain(t, x) && strstr(gt_tape_explain(t, x), "never read"),
              "explanation: %s", gt_tape_explain(t, x) ? gt_tape_explain(t, x) : "(none)");
    const gt_tensor *src[1] = {x};
    gt_tensor *g = NULL;
    GTT_OK(gt_tape_gradient(t, 1, (const gt_tensor *const *)&z, NULL, 1, src, GT_UNCONNECTED_ZERO, &g));
    GTT_CHECK(g && gt_tensor_size(g) == 4 && gt_tensor_rank(g) == 2 && gt_tensor_get(g, 3) == 0,
              "zeros of the source's shape");
    GTT_CHECK(!gt_tape_gradient(t, 1, (const gt_tensor *const *)&z, NULL, 1, src, (gt_unconnected)7, &g),
              "bad enum accepted");
    GTT_ERROR_HAS("Unknown value for unconnected_gradients");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_variable_free(y);
    gt_scope_end();
}

/* A non-persistent tape can be used once. */
static void test_non_persistent_once(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(3.0), "x");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(x, x);
    gt_tape_end(t);
    GTT_OK(gt_gradient(t, y, x) != NULL);
    GTT_CHECK(gt_gradient(t, y, x) == NULL, "second use succeeded");
    GTT_ERROR_HAS("A non-persistent GradientTape can only be used to compute one set of gradients");
    gt_tape_free(t);
    /* A persistent one can be used again, with the same result. */
    t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    y = gt_mul(x, x);
    gt_tape_end(t);
    gt_tensor *a = gt_gradient(t, y, x), *b = gt_gradient(t, y, x);
    GTT_CHECK(a && b && gt_item(a) == 6 && gt_item(b) == 6, "persistent reuse");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* Ops run while paused are not recorded: their results are constants to the tape. */
static void test_pause(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(2.0), "x");
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tensor *y = gt_mul(x, x);
    gt_tape_pause(t);
    gt_tensor *w = gt_mul(x, x);
    gt_tape_resume(t);
    gt_tensor *z = gt_add(y, w);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, z, x);
    GTT_CHECK(g && gt_item(g) == 4.0, "only y counts: %g", g ? gt_item(g) : -1);
    GTT_CHECK(gt_gradient(t, w, x) == NULL && gt_ok(), "dw/dx should be NULL");
    const char *why = gt_tape_explain(t, x);
    GTT_CHECK(why && strstr(why, "paused"), "explanation: %s", why ? why : "(none)");
    GTT_CHECK(!gt_tape_resume(t), "resume of a tape that is not paused");
    GTT_ERROR_HAS("not paused");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* Integer tensors are never recorded; watching one warns and its gradient is NULL. */
static int warnings;
static void count_warning(const char *msg, void *user) {
    (void)user;
    if (strstr(msg, "must be floating")) warnings++;
}
static void test_integer_not_recorded(void) {
    gt_scope_begin();
    gt_set_warning_handler(count_warning, NULL);
    gt_tensor *i = gt_scalar_of(GT_I32, 3);
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, i);
    gt_tensor *y = gt_mul(i, i);
    GTT_CHECK(gt_tape_size(t) == 0, "recorded %lld ops", (long long)gt_tape_size(t));
    gt_tape_end(t);
    GTT_CHECK(gt_gradient(t, y, i) == NULL && gt_ok(), "int gradient");
    const char *why = gt_tape_explain(t, i);
    GTT_CHECK(why && strstr(why, "int32"), "explanation: %s", why ? why : "(none)");
    GTT_CHECK(warnings == 1, "warnings: %d", warnings);
    gt_set_warning_handler(NULL, NULL);
    gt_tape_free(t);
    /* A float path through an integer cast is blocked, and explained. */
    gt_tensor *x = gt_variable(gt_scalar(2.5), "x");
    t = gt_tape_begin(NULL);
    gt_tensor *z = gt_mul(gt_cast(gt_cast(x, GT_I32), GT_F32), x);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, z, x);
    GTT_CHECK(g && gt_item(g) == 2.0, "d/dx int(x)*x = int(x) = %g", g ? gt_item(g) : -1);
    gt_tape_free(t);
    t = gt_tape_begin(NULL);
    z = gt_cast(gt_cast(x, GT_I32), GT_F32);
    gt_tape_end(t);
    GTT_CHECK(gt_gradient(t, z, x) == NULL && gt_ok(), "cast through int gives NULL");
    why = gt_tape_explain(t, x);
    GTT_CHECK(why && strstr(why, "integer"), "explanation: %s", why ? why : "(none)");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* Reading a variable snapshots it: an assignment after the read leaves the recorded value. */
static void test_assign_after_read(void) {
    gt_scope_begin();
    gt_tensor *v = gt_variable(gt_scalar(3.0), "v");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(v, v);
    gt_variable_assign(v, gt_scalar(100.0));
    gt_tape_end(t);
    GTT_CHECK(gt_item(y) == 9.0, "y changed to %g", gt_item(y));
    gt_tensor *g = gt_gradient(t, y, v);
    GTT_CHECK(g && gt_item(g) == 6.0, "gradient used the old value: %g", g ? gt_item(g) : -1);
    GTT_CHECK(gt_item(gt_variable_value(v)) == 100.0, "variable value");
    gt_variable_assign_add(v, gt_scalar(1.0));
    gt_variable_assign_sub(v, gt_scalar(0.5));
    GTT_CHECK(gt_item(gt_variable_value(v)) == 100.5, "assign_add/sub");
    GTT_CHECK(!gt_variable_assign(v, gt_zeros(GT_F32, GT_SHAPE(2))), "shape mismatch accepted");
    GTT_ERROR_HAS("has shape [] but the value has shape [2]");
    GTT_CHECK(!gt_variable_assign(v, gt_scalar_of(GT_F64, 1)), "dtype mismatch accepted");
    GTT_ERROR_HAS("dtype float32 but the value has dtype float64");
    gt_tape_free(t);
    gt_variable_free(v);
    gt_scope_end();
}

/* gt_variable_data_overwrite: in place while nothing shares the value; a fresh buffer when a
 * tape's read does, the shared value left as it was and readable through *current. */
static void test_data_overwrite(void) {
    gt_scope_begin();
    gt_tensor *v = gt_variable(gt_tensor_new(GT_F32, GT_SHAPE(3), (float[]){1, 2, 3}), "v");
    GTT_OK(gt_variable_data(v) != NULL); /* its own storage: the initial tensor shared it */
    const void *cur = NULL;
    float *w = gt_variable_data_overwrite(v, &cur);
    GTT_CHECK(w && w == cur, "unshared: the update is in place");
    for (int i = 0; w && i < 3; i++) w[i] = ((const float *)cur)[i];
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_reduce_sum(gt_mul(v, v), GT_ALL, false);
    gt_tape_end(t);
    w = gt_variable_data_overwrite(v, &cur);
    GTT_CHECK(w && cur && w != cur, "shared with the tape's read: a fresh buffer");
    const float *old = cur;
    GTT_CHECK(old && old[0] == 1 && old[1] == 2 && old[2] == 3, "the current value is readable");
    for (int i = 0; w && i < 3; i++) w[i] = old[i] * 10;
    gt_tensor *g = gt_gradient(t, y, v); /* 2 v at the value the tape read */
    const float *gd = g ? gt_tensor_data(g) : NULL;
    GTT_CHECK(gd && gd[0] == 2 && gd[1] == 4 && gd[2] == 6, "the tape still sees the old value");
    const float *nv = gt_tensor_data(gt_variable_value(v));
    GTT_CHECK(nv && nv[0] == 10 && nv[1] == 20 && nv[2] == 30, "the variable has the new value");
    GTT_CHECK(!gt_variable_data_overwrite(v, NULL), "NULL current accepted");
    gt_error_clear();
    GTT_CHECK(!gt_variable_data_overwrite(gt_scalar(1.0), &cur), "a plain tensor accepted");
    gt_error_clear();
    gt_tape_free(t);
    gt_variable_free(v);
    gt_scope_end();
}

/* stop_gradient blocks; the explanation names it. z = x^2 + stop_gradient(y^2). */
static void test_stop_gradient(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(2.0), "x"), *y = gt_variable(gt_scalar(3.0), "y");
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tensor *z = gt_add(gt_mul(x, x), gt_stop_gradient(gt_mul(y, y)));
    gt_tape_end(t);
    gt_tensor *gx = gt_gradient(t, z, x), *gy = gt_gradient(t, z, y);
    GTT_CHECK(gx && gt_item(gx) == 4.0, "dz/dx");
    GTT_CHECK(!gy && gt_ok(), "dz/dy should be NULL");
    const char *why = gt_tape_explain(t, y);
    GTT_CHECK(why && strstr(why, "stop_gradient"), "explanation: %s", why ? why : "(none)");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_variable_free(y);
    gt_scope_end();
}

/* watch_accessed_variables=False and non-trainable variables: NULL unless watched. */
static void test_watching(void) {
    gt_scope_begin();
    gt_tensor *a = gt_variable(gt_scalar(2.0), "a");
    gt_tensor *b = gt_variable_ex(gt_scalar(3.0), "b", false);
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true, .dont_watch_accessed_variables = true});
    gt_tensor *y = gt_mul(a, b);
    gt_tape_end(t);
    GTT_CHECK(!gt_gradient(t, y, a) && gt_ok(), "a not watched");
    const char *why = gt_tape_explain(t, a);
    GTT_CHECK(why && strstr(why, "dont_watch_accessed_variables"), "explanation: %s", why ? why : "");
    gt_tape_free(t);
    t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    y = gt_mul(a, b);
    gt_tape_end(t);
    GTT_CHECK(!gt_gradient(t, y, b) && gt_ok(), "non-trainable b not watched");
    why = gt_tape_explain(t, b);
    GTT_CHECK(why && strstr(why, "not trainable"), "explanation: %s", why ? why : "");
    gt_tape_free(t);
    t = gt_tape_begin(NULL);
    gt_tape_watch(t, b);
    y = gt_mul(a, b);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, y, b);
    GTT_CHECK(g && gt_item(g) == 2.0, "watched non-trainable: %g", g ? gt_item(g) : -1);
    gt_tape_free(t);
    /* A plain tensor never watched. */
    gt_tensor *c = gt_scalar(1.0);
    t = gt_tape_begin(NULL);
    y = gt_mul(c, a);
    gt_tape_end(t);
    GTT_CHECK(!gt_gradient(t, y, c) && gt_ok(), "c never watched");
    why = gt_tape_explain(t, c);
    GTT_CHECK(why && strstr(why, "gt_tape_watch"), "explanation: %s", why ? why : "");
    gt_tape_free(t);
    gt_variable_free(a);
    gt_variable_free(b);
    gt_scope_end();
}

/* Two tapes record at once; each sees what it watches. */
static void test_two_tapes(void) {
    gt_scope_begin();
    gt_tensor *x0 = gt_scalar(2.0), *x1 = gt_scalar(3.0);
    gt_tape *t0 = gt_tape_begin(NULL), *t1 = gt_tape_begin(NULL);
    gt_tape_watch(t0, x0);
    gt_tape_watch(t1, x1);
    gt_tensor *y0 = gt_mul(x0, x0), *y1 = gt_mul(x1, x1);
    gt_tape_end(t1);
    gt_tape_end(t0);
    gt_tensor *g0 = gt_gradient(t0, y0, x0), *g1 = gt_gradient(t1, y1, x1);
    GTT_CHECK(g0 && g1 && gt_item(g0) == 4 && gt_item(g1) == 6, "independent tapes");
    GTT_CHECK(gt_tape_size(t0) == 0 && gt_tape_size(t1) == 0, "consumed tapes are cleared");
    gt_tape_free(t0);
    gt_tape_free(t1);
    gt_scope_end();
}

/* reset discards the record; end/reenter and error texts follow TensorFlow. */
static void test_reset_and_reenter(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(2.0), "x");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(x, x);
    GTT_OK(gt_tape_reset(t));
    gt_tensor *z = gt_mul_s(x, 5.0);
    gt_tape_end(t);
    GTT_CHECK(!gt_tape_end(t), "double end");
    GTT_ERROR_HAS("Tape is not recording.");
    GTT_CHECK(!gt_tape_reset(t), "reset outside recording");
    GTT_ERROR_HAS("Tape is not recording.");
    GTT_OK(gt_tape_reenter(t));
    GTT_CHECK(!gt_tape_reenter(t), "double reenter");
    GTT_ERROR_HAS("Tape is still recording");
    gt_tape_end(t);
    gt_tensor *gz = gt_gradient(t, z, x);
    GTT_CHECK(gz && gt_item(gz) == 5.0, "after reset: %g", gz ? gt_item(gz) : -1);
    (void)y;
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* gradient inside the context: non-persistent stops recording, persistent records it. */
static void test_gradient_inside_context(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(2.0), "x");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(x, x);
    gt_tensor *g = gt_gradient(t, y, x);
    GTT_CHECK(g && gt_item(g) == 4, "gradient");
    GTT_CHECK(!gt_tape_is_recording(t), "non-persistent tape still records");
    gt_tape_free(t);
    t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    y = gt_mul(gt_mul(x, x), x);
    g = gt_gradient(t, y, x); /* 3x^2, recorded on t itself */
    gt_tape_end(t);
    gt_tensor *h = gt_gradient(t, g, x); /* 6x */
    GTT_CHECK(h && gt_item(h) == 12, "second derivative on one persistent tape: %g", h ? gt_item(h) : -1);
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* Gradients through casts between float dtypes keep the source's dtype. */
static void test_cast_gradient(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_scalar(1.5), "x");
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *y = gt_mul(gt_cast(x, GT_F64), gt_scalar_of(GT_F64, 4.0));
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, y, x);
    GTT_CHECK(g && gt_tensor_dtype(g) == GT_F32 && gt_item(g) == 4.0, "f32 source via f64");
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* A non-persistent tape frees what it saved as the sweep passes: after gradient() the
 * activations it held are gone even though the scope is still open. */
static void test_frees_saved(void) {
    gt_scope_begin();
    gt_tensor *x = gt_variable(gt_ones(GT_F32, GT_SHAPE(1 << 16)), "x");
    gt_mem_stats before = gt_mem_stats_get();
    gt_tape *t = gt_tape_begin(NULL);
    gt_scope_begin();
    gt_tensor *y = x;
    for (int i = 0; i < 8; i++) y = gt_mul(y, x);
    gt_tensor *s = gt_keep(gt_reduce_sum(y, GT_ALL, false));
    gt_scope_end(); /* only the tape holds the intermediates now */
    gt_tape_end(t);
    gt_mem_stats mid = gt_mem_stats_get();
    gt_tensor *g = gt_gradient(t, s, x);
    gt_mem_stats after = gt_mem_stats_get();
    GTT_OK(g != NULL);
    /* Seven products are saved (the eighth feeds reduce_sum, which keeps no input). */
    GTT_CHECK(mid.bytes_live - before.bytes_live >= 7 * (1 << 18), "tape holds activations");
    GTT_CHECK(after.bytes_live - before.bytes_live <= 2 * (1 << 18) + 4096,
              "after the sweep %lld bytes remain", (long long)(after.bytes_live - before.bytes_live));
    gt_tape_free(t);
    gt_variable_free(x);
    gt_scope_end();
}

/* Errors: NULL tape and NULL inputs, the first error is kept. */
static void test_errors(void) {
    gt_scope_begin();
    GTT_CHECK(gt_gradient(NULL, NULL, NULL) == NULL, "NULL tape");
    GTT_ERROR_HAS("tape is NULL");
    gt_tensor *a = gt_zeros(GT_F32, GT_SHAPE(2, 3)), *b = gt_zeros(GT_F32, GT_SHAPE(4));
    gt_tensor *c = gt_add(a, b);
    GTT_CHECK(c == NULL, "broadcast error");
    gt_tensor *d = gt_mul(c, a); /* NULL input: keeps the first error */
    GTT_CHECK(d == NULL, "NULL propagation");
    GTT_ERROR_HAS("add: shapes [2,3] and [4] are not broadcastable");
    GTT_CHECK(gt_add(a, gt_zeros(GT_F64, GT_SHAPE(3))) == NULL, "dtype mismatch");
    GTT_ERROR_HAS("add: operands have different dtypes");
    GTT_CHECK(gt_mul(NULL, a) == NULL, "NULL input");
    GTT_ERROR_HAS("mul: an input is NULL");
    gt_scope_end();
}

int main(void) {
    test_square();
    test_higher_order();
    test_nonscalar_target();
    test_multiple_targets();
    test_unconnected();
    test_non_persistent_once();
    test_pause();
    test_integer_not_recorded();
    test_assign_after_read();
    test_data_overwrite();
    test_stop_gradient();
    test_watching();
    test_two_tapes();
    test_reset_and_reenter();
    test_gradient_inside_context();
    test_cast_gradient();
    test_frees_saved();
    test_errors();
    if (gt_error()) {
        GTT_CHECK(0, "stray error: %s", gt_error());
    }
    return gtt_finish();
}
