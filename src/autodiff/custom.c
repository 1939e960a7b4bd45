/* Custom gradients (tf.custom_gradient) and recomputation (tf.recompute_grad). The forward
 * function runs with the thread's tapes set aside, inside its own scope, and is recorded as
 * one op whose inputs are the function's inputs and the variables it read. */
#include "autodiff/tape_internal.h"

#include <stdlib.h>

typedef struct custom_attr {
    gt_grad_fn grad;   /* NULL: recompute the forward under a tape instead */
    gt_forward_fn fwd;
    void *user;
    int nin, nvars;
} custom_attr;

static bool custom_infer(gt__call *c) {
    (void)c;
    return true; /* the call is assembled by run_custom, never through gt__apply */
}

/* The backward of a recomputed function: run it again under a fresh tape, then take the
 * gradient of its output with dy as the output gradient. */
static int recompute(const custom_attr *a, const gt_tensor *dy, gt_tensor *const *inputs,
                     gt_tensor **dx) {
    int n = a->nin + a->nvars;
    gt_tape *t = gt_tape_begin(NULL);
    if (!t) return -1;
    for (int i = 0; i < a->nin; i++)
        if (gt__is_float(inputs[i]->dtype)) gt_tape_watch(t, inputs[i]);
    for (int i = 0; i < a->nvars; i++) gt_tape_watch(t, inputs[a->nin + i]);
    gt_tensor *y = a->fwd(a->nin, (const gt_tensor *const *)inputs, a->user);
    gt_tape_end(t);
    bool ok = y && gt_tape_gradient(t, 1, (const gt_tensor *const *)&y, &dy, n,
                                    (const gt_tensor *const *)inputs, GT_UNCONNECTED_NONE, dx);
    gt_tape_free(t);
    return ok ? n : -1;
}

static void custom_grad(gt__gctx *g) {
    const custom_attr *a = g->attr;
    int n = a->nin + a->nvars;
    const char *who = a->grad ? "gt_custom_gradient" : "gt_recompute_grad";
    gt_tensor **dx = gt__calloc((size_t)n, sizeof *dx, "a custom gradient");
    if (!dx) return;
    int got = a->grad ? a->grad(g->gy, a->nin, (const gt_tensor *const *)g->in, g->out, dx, a->nvars,
                                g->in + a->nin, dx + a->nin, a->user)
                      : recompute(a, g->gy, g->in, dx);
    if (got < 0) {
        if (gt_ok()) gt__error("%s: the gradient function failed without saying why", who);
    } else if (got != n) {
        if (a->nvars > 0 && got == a->nin)
            gt__error("%s: Must return gradient for each variable from @custom_gradient grad_fn "
                      "(the function read %d variables; return nin + nvars = %d gradients, got %d)",
                      who, a->nvars, n, got);
        else
            gt__error("%s: the gradient function returned %d gradients for %d inputs and %d "
                      "variables; it must return one for each (NULL where there is none)",
                      who, got, a->nin, a->nvars);
    } else {
        for (int i = 0; i < n; i++) {
            if (!dx[i]) continue;
            const gt__meta *m = &g->meta[i];
            if (dx[i]->dtype != m->dtype || dx[i]->rank != m->rank ||
                memcmp(dx[i]->shape, m->shape, sizeof(int64_t) * (size_t)m->rank)) {
                gt__error("%s: the gradient function returned a gradient of shape %s (%s) for %s "
                          "%d of shape %s (%s)", who, GT__SHAPE_STR(dx[i]), gt_dtype_name(dx[i]->dtype),
                          i < a->nin ? "input" : "variable", i < a->nin ? i : i - a->nin,
                          gt__shape_str((char[96]){0}, 96, m->rank, m->shape), gt_dtype_name(m->dtype));
                break;
            }
            if (g->need[i]) g->gx[i] = dx[i];
        }
    }
    gt__free(dx);
}

const gt__op gt__op_custom_gradient = {.name = "custom_gradient", .nin = 0,
                                       .flags = GT__OP_VARIADIC, .keep_in = GT__KEEP_ALL,
                                       .keep_out = true, .attr_size = sizeof(custom_attr),
                                       .infer = custom_infer, .grad = custom_grad};

static gt_tensor *run_custom(const char *who, gt_forward_fn fwd, gt_grad_fn grad, void *user,
                             int nin, const gt_tensor *const *inputs) {
    if (!fwd || nin < 0 || (nin && !inputs)) {
        gt__error("%s: the forward function and the inputs are required", who);
        return NULL;
    }
    for (int i = 0; i < nin; i++)
        if (!inputs[i]) {
            gt__error_null(who);
            return NULL;
        }
    /* Variables passed as inputs are read here, where tapes see (and watch) the read, as
     * TensorFlow converts arguments to tensors before calling the function. */
    const gt_tensor *args_inl[8];
    const gt_tensor **args = nin <= 8 ? args_inl : gt__malloc(sizeof *args * (size_t)nin, "a custom gradient");
    if (!args) return NULL;
    for (int i = 0; i < nin; i++) {
        args[i] = inputs[i]->var ? gt__var_read(inputs[i]) : inputs[i];
        if (!args[i]) {
            if (args != args_inl) gt__free(args);
            return NULL;
        }
    }
    inputs = args;
    /* Run forward unrecorded, in its own scope, with a watcher listing variables it reads. */
    gt__tape_stack saved;
    gt__tapes_suspend(&saved);
    gt_tape *watcher = gt_tape_begin(NULL);
    if (watcher) watcher->collect_vars = true;
    gt_scope_begin();
    gt_tensor *y = watcher ? fwd(nin, inputs, user) : NULL;
    if (y && y->var) y = gt__var_read(y);
    if (y) gt_keep(y);
    gt_scope_end();
    int nvars = 0;
    gt_tensor **vars = NULL;
    if (watcher) {
        gt_tape_end(watcher);
        nvars = (int)watcher->nvars;
        vars = watcher->vars;
        watcher->vars = NULL;
        watcher->nvars = watcher->varcap = 0;
        gt_tape_free(watcher);
    }
    gt__tapes_restore(&saved);
    gt_tensor *out = NULL;
    if (y && !gt__is_float(y->dtype) && grad) {
        out = y; /* nothing to differentiate */
    } else if (y) {
        /* A fresh id even when forward returned one of its inputs. */
        out = gt__tensor_alias(y, y->rank, y->shape);
    }
    if (out && out != y && gt__tapes_active) {
        gt_tensor **in = gt__malloc(sizeof *in * (size_t)(nin + nvars + 1), "a custom gradient");
        if (in) {
            for (int i = 0; i < nin; i++) in[i] = (gt_tensor *)inputs[i];
            for (int i = 0; i < nvars; i++) {
                in[nin + i] = vars[i];
                gt__tapes_note_var(vars[i]);
            }
            custom_attr a = {grad, fwd, user, nin, nvars};
            gt__call c = {.op = &gt__op_custom_gradient, .nin = nin + nvars, .in = in, .attr = &a,
                          .dtype = out->dtype, .rank = out->rank, .out = out};
            memcpy(c.shape, out->shape, sizeof c.shape);
            gt__tape_record(&c);
            gt__free(in);
        }
    }
    for (int i = 0; i < nvars; i++) gt__tensor_unref(vars[i]);
    gt__free(vars);
    if (args != args_inl) gt__free(args);
    return out;
}

gt_tensor *gt_custom_gradient(gt_forward_fn forward, gt_grad_fn grad, void *user, int nin,
                              const gt_tensor *const *inputs) {
    if (!grad) {
        gt__error("gt_custom_gradient: the gradient function is NULL");
        return NULL;
    }
    return run_custom("gt_custom_gradient", forward, grad, user, nin, inputs);
}

gt_tensor *gt_recompute_grad(gt_forward_fn f, void *user, int nin, const gt_tensor *const *inputs) {
    return run_custom("gt_recompute_grad", f, NULL, user, nin, inputs);
}
