/* Elementwise math and activations, with TensorFlow's gradient rules (tf-semantics.md §6, §9).
 *
 * Activations whose gradient runs in every training step (relu, sigmoid, tanh, ...) get a
 * fused gradient op of their own ("relu_grad"(dy, y), like TensorFlow's ReluGrad), which in
 * turn has a gradient rule written with ops, so derivatives of any order work. Every op of
 * this file shares one attribute block (kind + alpha) and one shape rule. */
#include "kernels/unary.h"
#include "ops/registry.h"

static bool int_ok(int kind) {
    return kind == GT__EW_NEG || kind == GT__EW_ABS || kind == GT__EW_SIGN || kind == GT__EW_SQUARE;
}

static bool ew_infer(gt__call *c) {
    const gt_tensor *x = c->in[0];
    int kind = ((const gt__ew_attr *)c->attr)->kind;
    bool ok = gt__is_float(x->dtype) ||
              (int_ok(kind) && (x->dtype == GT_I32 || x->dtype == GT_I64));
    if (!ok) {
        gt__error("gt_%s: input has dtype %s (shape %s) but gt_%s takes %s; convert it with "
                  "gt_cast(x, GT_F32)",
                  c->op->name, gt_dtype_name(x->dtype), GT__SHAPE_STR(x), c->op->name,
                  int_ok(kind) ? "float32, float64, int32 or int64" : "float32 or float64");
        return false;
    }
    c->dtype = x->dtype;
    c->rank = x->rank;
    memcpy(c->shape, x->shape, sizeof c->shape);
    return true;
}

static void ew_forward(gt__call *c) {
    const gt__ew_attr *a = c->attr;
    gt__ew_unary((gt__ew_kind)a->kind, c->out->dtype, c->in[0]->data, c->out->data, c->out->size,
                 a->alpha);
}

/* The fused gradient ops take (dy, saved value) of one float dtype and shape; only this
 * file's rules call them, so a mismatch is an internal error. */
static bool ew2_infer(gt__call *c) {
    const gt_tensor *a = c->in[0], *b = c->in[1];
    if (!gt__is_float(a->dtype) || a->dtype != b->dtype || !gt__same_shape(a, b)) {
        gt__error("internal: %s takes two float tensors of one dtype and shape, got %s %s and "
                  "%s %s", c->op->name, gt_dtype_name(a->dtype), GT__SHAPE_STR(a),
                  gt_dtype_name(b->dtype), GT__SHAPE_STR(b));
        return false;
    }
    c->dtype = a->dtype;
    c->rank = a->rank;
    memcpy(c->shape, a->shape, sizeof c->shape);
    return true;
}

static void ew2_forward(gt__call *c) {
    const gt__ew_attr *a = c->attr;
    gt__ew_binary((gt__ew_kind)a->kind, c->out->dtype, c->in[0]->data, c->in[1]->data,
                  c->out->data, c->out->size, a->alpha);
}

/* ---- fused gradient ops ------------------------------------------------------------------- */

extern const gt__op gt__op_relu_grad, gt__op_relu6_grad, gt__op_leaky_relu_grad,
    gt__op_elu_grad, gt__op_selu_grad, gt__op_sigmoid_grad, gt__op_tanh_grad,
    gt__op_softplus_grad, gt__op_gelu_grad;

static gt_tensor *ew2(const gt__op *op, gt__ew_kind k, const gt_tensor *dy, const gt_tensor *v,
                      double alpha) {
    gt__ew_attr a = {k, alpha};
    /* The fused kernels take equal shapes. A Jacobian sweep hands the rules a gradient with
     * extra leading rows: broadcast the saved tensor to it (and only then). */
    if (dy && v && !gt__same_shape(dy, v)) {
        int r;
        int64_t sh[GT_MAX_RANK];
        if (!gt__broadcast_shape(op->name, dy->rank, dy->shape, v->rank, v->shape, &r, sh)) return NULL;
        if (dy->rank != r || memcmp(dy->shape, sh, sizeof(int64_t) * (size_t)r)) dy = gt_broadcast_to(dy, r, sh);
        if (v->rank != r || memcmp(v->shape, sh, sizeof(int64_t) * (size_t)r)) v = gt_broadcast_to(v, r, sh);
    }
    return gt__apply2(op, dy, v, &a);
}

static double attr_alpha(const gt__gctx *g) { return ((const gt__ew_attr *)g->attr)->alpha; }
static gt__ew_kind attr_kind(const gt__gctx *g) {
    return (gt__ew_kind)((const gt__ew_attr *)g->attr)->kind;
}

static gt_tensor *zeros_meta(const gt__gctx *g, int i) {
    const gt__meta *m = &g->meta[i];
    return gt_zeros(m->dtype, m->rank, m->shape);
}

/* Ops of the form dy * mask(b): linear in dy with the same mask, zero in b (TensorFlow's
 * _ReluGradGrad and friends return zeros, not None, for b). */
static void mask_grad_grad(gt__gctx *g) {
    if (g->need[0]) g->gx[0] = ew2(g->op, attr_kind(g), g->gy, g->in[1], attr_alpha(g));
    if (g->need[1]) g->gx[1] = zeros_meta(g, 1);
}

/* out = dy where y > 0, dy*(y + c) where y < 0 (elu, selu): the y-derivative is dy on the
 * negative side only (TensorFlow's _EluGradGrad: where(y < 0, grad * dy, 0)). */
static void elu_like_grad_grad(gt__gctx *g) {
    gt_tensor *dy = g->in[0], *y = g->in[1];
    if (g->need[0]) g->gx[0] = ew2(g->op, attr_kind(g), g->gy, y, attr_alpha(g));
    if (g->need[1])
        g->gx[1] = ew2(&gt__op_relu_grad, GT__EW_RELU_GRAD, gt_mul(g->gy, dy), gt_neg(y), 0);
}

/* out = dy*y*(1-y): d/dy_in = g*dy*(1 - 2y) (TensorFlow: gb - 2*gb*y with gb = g*dy). */
static void sigmoid_grad_grad(gt__gctx *g) {
    gt_tensor *dy = g->in[0], *y = g->in[1];
    if (g->need[0]) g->gx[0] = ew2(&gt__op_sigmoid_grad, GT__EW_SIGMOID_GRAD, g->gy, y, 0);
    if (g->need[1]) {
        gt_tensor *gb = gt_mul(g->gy, dy);
        g->gx[1] = gt_sub(gb, gt_mul(gt_mul_s(gb, 2.0), y));
    }
}

/* out = dy*(1-y^2): d/dy_in = -2*g*dy*y. */
static void tanh_grad_grad(gt__gctx *g) {
    gt_tensor *dy = g->in[0], *y = g->in[1];
    if (g->need[0]) g->gx[0] = ew2(&gt__op_tanh_grad, GT__EW_TANH_GRAD, g->gy, y, 0);
    if (g->need[1]) g->gx[1] = gt_mul(gt_mul_s(gt_mul(g->gy, dy), -2.0), y);
}

/* out = dy*sigmoid(x): d/dx = g*dy*sigmoid(x)*(1 - sigmoid(x)). */
static void softplus_grad_grad(gt__gctx *g) {
    gt_tensor *dy = g->in[0], *x = g->in[1];
    if (g->need[0]) g->gx[0] = ew2(&gt__op_softplus_grad, GT__EW_SOFTPLUS_GRAD, g->gy, x, 0);
    if (g->need[1])
        g->gx[1] = ew2(&gt__op_sigmoid_grad, GT__EW_SIGMOID_GRAD, gt_mul(g->gy, dy), gt_sigmoid(x), 0);
}

/* gelu''(x): exact form C0/sqrt(pi) exp(-u^2) (2 - 2u^2) with u = C0 x; tanh form
 * (1-t^2)(u' + x/2 (u'' - 2 t u'^2)) with u = C(x + K x^3). Written with ops so third
 * derivatives work too. */
static gt_tensor *gelu_second(const gt_tensor *x, bool approx) {
    if (!approx) {
        gt_tensor *u2 = gt_square(gt_mul_s(x, GT__GELU_C0));
        gt_tensor *e = gt_mul_s(gt_exp(gt_neg(u2)), GT__GELU_C0 * GT__INV_SQRT_PI);
        return gt_mul(e, gt_rsub_s(2.0, gt_mul_s(u2, 2.0)));
    }
    gt_tensor *x2 = gt_square(x);
    gt_tensor *u = gt_mul_s(gt_add(x, gt_mul_s(gt_mul(x2, x), GT__GELU_K)), GT__GELU_C);
    gt_tensor *t = gt_tanh(u);
    gt_tensor *du = gt_mul_s(gt_add_s(gt_mul_s(x2, 3 * GT__GELU_K), 1.0), GT__GELU_C);
    gt_tensor *ddu = gt_mul_s(x, 6 * GT__GELU_C * GT__GELU_K);
    gt_tensor *inner = gt_sub(ddu, gt_mul(gt_mul_s(t, 2.0), gt_square(du)));
    gt_tensor *sech2 = gt_rsub_s(1.0, gt_square(t));
    return gt_mul(sech2, gt_add(du, gt_mul(gt_mul_s(x, 0.5), inner)));
}

static void gelu_grad_grad(gt__gctx *g) {
    gt_tensor *dy = g->in[0], *x = g->in[1];
    gt__ew_kind k = attr_kind(g);
    if (g->need[0]) g->gx[0] = ew2(&gt__op_gelu_grad, k, g->gy, x, 0);
    if (g->need[1])
        g->gx[1] = gt_mul(gt_mul(g->gy, dy), gelu_second(x, k == GT__EW_GELU_TANH_GRAD));
}

#define GRAD_OP(var, nm, keep, rule)                                                                \
    const gt__op var = {.name = nm, .nin = 2, .flags = GT__OP_BATCHABLE, .keep_in = keep,          \
                        .attr_size = sizeof(gt__ew_attr),                                          \
                        .infer = ew2_infer, .forward = ew2_forward, .grad = rule}

GRAD_OP(gt__op_relu_grad, "relu_grad", 2u, mask_grad_grad);
GRAD_OP(gt__op_relu6_grad, "relu6_grad", 2u, mask_grad_grad);
GRAD_OP(gt__op_leaky_relu_grad, "leaky_relu_grad", 2u, mask_grad_grad);
GRAD_OP(gt__op_elu_grad, "elu_grad", 3u, elu_like_grad_grad);
GRAD_OP(gt__op_selu_grad, "selu_grad", 3u, elu_like_grad_grad);
GRAD_OP(gt__op_sigmoid_grad, "sigmoid_grad", 3u, sigmoid_grad_grad);
GRAD_OP(gt__op_tanh_grad, "tanh_grad", 3u, tanh_grad_grad);
GRAD_OP(gt__op_softplus_grad, "softplus_grad", 3u, softplus_grad_grad);
GRAD_OP(gt__op_gelu_grad, "gelu_grad", 3u, gelu_grad_grad);

/* ---- gradient rules of the forward ops (TensorFlow's math_grad.py / nn_grad.py) ------------ */

#define X (g->in[0])
#define Y (g->out)
#define GY (g->gy)

static void neg_grad(gt__gctx *g) { g->gx[0] = gt_neg(GY); }
static void abs_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_sign(X)); }
static void sign_grad(gt__gctx *g) { g->gx[0] = zeros_meta(g, 0); }
static void square_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_mul_s(X, 2.0)); }
/* SqrtGrad: 0.5 * dy / y (inf at x = 0, as in TensorFlow). */
static void sqrt_grad(gt__gctx *g) { g->gx[0] = gt_div(gt_mul_s(GY, 0.5), Y); }
/* RsqrtGrad: -0.5 * (dy * y) * (y * y). */
static void rsqrt_grad(gt__gctx *g) { g->gx[0] = gt_mul_s(gt_mul(gt_mul(GY, Y), gt_square(Y)), -0.5); }
static void exp_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, Y); }
static void log_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_rdiv_s(1.0, X)); }
static void log1p_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_rdiv_s(1.0, gt_add_s(X, 1.0))); }
static void expm1_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_exp(X)); }
static void sin_grad(gt__gctx *g) { g->gx[0] = gt_mul(GY, gt_cos(X)); }
static void cos_grad(gt__gctx *g) { g->gx[0] = gt_mul(gt_neg(GY), gt_sin(X)); }
static void tanh_grad(gt__gctx *g) { g->gx[0] = ew2(&gt__op_tanh_grad, GT__EW_TANH_GRAD, GY, Y, 0); }
static void sigmoid_grad(gt__gctx *g) {
    g->gx[0] = ew2(&gt__op_sigmoid_grad, GT__EW_SIGMOID_GRAD, GY, Y, 0);
}
/* From the output: 0 at x = 0 (ReluGrad). */
gt_tensor *gt__relu_grad(const gt_tensor *dy, const gt_tensor *y) {
    return ew2(&gt__op_relu_grad, GT__EW_RELU_GRAD, dy, y, 0);
}

static void relu_grad(gt__gctx *g) { g->gx[0] = gt__relu_grad(GY, Y); }
/* dy only where 0 < y < 6: 0 at both ends (Relu6Grad). */
static void relu6_grad(gt__gctx *g) {
    g->gx[0] = ew2(&gt__op_relu6_grad, GT__EW_RELU6_GRAD, GY, Y, 0);
}
/* dy where x > 0, alpha*dy elsewhere, x = 0 included (LeakyReluGrad). */
static void leaky_relu_grad(gt__gctx *g) {
    g->gx[0] = ew2(&gt__op_leaky_relu_grad, GT__EW_LEAKY_GRAD, GY, X, attr_alpha(g));
}
/* From the output: at x = 0, alpha*dy, which is dy for TensorFlow's alpha = 1 (EluGrad) and
 * what Keras' where(x > 0, elu, alpha*elu) gives for other alphas. */
static void elu_grad(gt__gctx *g) {
    g->gx[0] = ew2(&gt__op_elu_grad, GT__EW_ELU_GRAD, GY, Y, attr_alpha(g));
}
/* From the output: scale*dy at x = 0 (SeluGrad tests y < 0). */
static void selu_grad(gt__gctx *g) { g->gx[0] = ew2(&gt__op_selu_grad, GT__EW_SELU_GRAD, GY, Y, 0); }
static void gelu_grad(gt__gctx *g) {
    gt__ew_kind k = attr_kind(g) == GT__EW_GELU_TANH ? GT__EW_GELU_TANH_GRAD : GT__EW_GELU_GRAD;
    g->gx[0] = ew2(&gt__op_gelu_grad, k, GY, X, 0);
}
/* SoftplusGrad: dy / (1 + exp(-x)). */
static void softplus_grad(gt__gctx *g) {
    g->gx[0] = ew2(&gt__op_softplus_grad, GT__EW_SOFTPLUS_GRAD, GY, X, 0);
}
/* tf.nn.silu's gradient: dy * s * (1 + x * (1 - s)), s = sigmoid(x). */
static void silu_grad(gt__gctx *g) {
    gt_tensor *s = gt_sigmoid(X);
    g->gx[0] = gt_mul(GY, gt_mul(s, gt_add_s(gt_mul(X, gt_rsub_s(1.0, s)), 1.0)));
}
/* SoftsignGrad: dy / (1 + |x|)^2; made of ops, so unlike TensorFlow it has a second
 * derivative. */
static void softsign_grad(gt__gctx *g) {
    g->gx[0] = gt_div(GY, gt_square(gt_add_s(gt_abs(X), 1.0)));
}

#undef X
#undef Y
#undef GY

#define KEEP_X 1u, false
#define KEEP_Y 0u, true
#define KEEP_NONE 0u, false
#define EW_OP(var, nm, keep, rule) EW_OP_(var, nm, keep, rule)
#define EW_OP_(var, nm, kin, kout, rule)                                                           \
    const gt__op var = {.name = nm, .nin = 1, .flags = GT__OP_BATCHABLE, .keep_in = kin,           \
                        .keep_out = kout,                                                          \
                        .attr_size = sizeof(gt__ew_attr), .infer = ew_infer,                       \
                        .forward = ew_forward, .grad = rule}

EW_OP(gt__op_neg, "neg", KEEP_NONE, neg_grad);
EW_OP(gt__op_abs, "abs", KEEP_X, abs_grad);
EW_OP(gt__op_sign, "sign", KEEP_NONE, sign_grad);
EW_OP(gt__op_square, "square", KEEP_X, square_grad);
EW_OP(gt__op_sqrt, "sqrt", KEEP_Y, sqrt_grad);
EW_OP(gt__op_rsqrt, "rsqrt", KEEP_Y, rsqrt_grad);
EW_OP(gt__op_exp, "exp", KEEP_Y, exp_grad);
EW_OP(gt__op_log, "log", KEEP_X, log_grad);
EW_OP(gt__op_log1p, "log1p", KEEP_X, log1p_grad);
EW_OP(gt__op_expm1, "expm1", KEEP_X, expm1_grad);
EW_OP(gt__op_sin, "sin", KEEP_X, sin_grad);
EW_OP(gt__op_cos, "cos", KEEP_X, cos_grad);
EW_OP(gt__op_tanh, "tanh", KEEP_Y, tanh_grad);
EW_OP(gt__op_sigmoid, "sigmoid", KEEP_Y, sigmoid_grad);
EW_OP(gt__op_relu, "relu", KEEP_Y, relu_grad);
EW_OP(gt__op_relu6, "relu6", KEEP_Y, relu6_grad);
EW_OP(gt__op_leaky_relu, "leaky_relu", KEEP_X, leaky_relu_grad);
EW_OP(gt__op_elu, "elu", KEEP_Y, elu_grad);
EW_OP(gt__op_selu, "selu", KEEP_Y, selu_grad);
EW_OP(gt__op_gelu, "gelu", KEEP_X, gelu_grad);
EW_OP(gt__op_softplus, "softplus", KEEP_X, softplus_grad);
EW_OP(gt__op_silu, "silu", KEEP_X, silu_grad);
EW_OP(gt__op_softsign, "softsign", KEEP_X, softsign_grad);

static gt_tensor *ew1(const gt__op *op, gt__ew_kind k, const gt_tensor *x, double alpha) {
    gt__ew_attr a = {k, alpha};
    return gt__apply1(op, x, &a);
}

gt_tensor *gt_neg(const gt_tensor *x) { return ew1(&gt__op_neg, GT__EW_NEG, x, 0); }
gt_tensor *gt_abs(const gt_tensor *x) { return ew1(&gt__op_abs, GT__EW_ABS, x, 0); }
gt_tensor *gt_sign(const gt_tensor *x) { return ew1(&gt__op_sign, GT__EW_SIGN, x, 0); }
gt_tensor *gt_square(const gt_tensor *x) { return ew1(&gt__op_square, GT__EW_SQUARE, x, 0); }
gt_tensor *gt_sqrt(const gt_tensor *x) { return ew1(&gt__op_sqrt, GT__EW_SQRT, x, 0); }
gt_tensor *gt_rsqrt(const gt_tensor *x) { return ew1(&gt__op_rsqrt, GT__EW_RSQRT, x, 0); }
gt_tensor *gt_exp(const gt_tensor *x) { return ew1(&gt__op_exp, GT__EW_EXP, x, 0); }
gt_tensor *gt_log(const gt_tensor *x) { return ew1(&gt__op_log, GT__EW_LOG, x, 0); }
gt_tensor *gt_log1p(const gt_tensor *x) { return ew1(&gt__op_log1p, GT__EW_LOG1P, x, 0); }
gt_tensor *gt_expm1(const gt_tensor *x) { return ew1(&gt__op_expm1, GT__EW_EXPM1, x, 0); }
gt_tensor *gt_sin(const gt_tensor *x) { return ew1(&gt__op_sin, GT__EW_SIN, x, 0); }
gt_tensor *gt_cos(const gt_tensor *x) { return ew1(&gt__op_cos, GT__EW_COS, x, 0); }
gt_tensor *gt_tanh(const gt_tensor *x) { return ew1(&gt__op_tanh, GT__EW_TANH, x, 0); }
gt_tensor *gt_sigmoid(const gt_tensor *x) { return ew1(&gt__op_sigmoid, GT__EW_SIGMOID, x, 0); }
gt_tensor *gt_relu(const gt_tensor *x) { return ew1(&gt__op_relu, GT__EW_RELU, x, 0); }
gt_tensor *gt_relu6(const gt_tensor *x) { return ew1(&gt__op_relu6, GT__EW_RELU6, x, 0); }
/* tf.nn.leaky_relu's alpha is a float32 attribute, so float64 tensors see it rounded to
 * float32 too (0.2 acts as 0.20000000298...). */
gt_tensor *gt_leaky_relu(const gt_tensor *x, double alpha) {
    return ew1(&gt__op_leaky_relu, GT__EW_LEAKY_RELU, x, (double)(float)alpha);
}
gt_tensor *gt_elu(const gt_tensor *x, double alpha) { return ew1(&gt__op_elu, GT__EW_ELU, x, alpha); }
gt_tensor *gt_selu(const gt_tensor *x) { return ew1(&gt__op_selu, GT__EW_SELU, x, 0); }
gt_tensor *gt_gelu(const gt_tensor *x, bool approximate) {
    return ew1(&gt__op_gelu, approximate ? GT__EW_GELU_TANH : GT__EW_GELU, x, 0);
}
gt_tensor *gt_softplus(const gt_tensor *x) { return ew1(&gt__op_softplus, GT__EW_SOFTPLUS, x, 0); }
gt_tensor *gt_silu(const gt_tensor *x) { return ew1(&gt__op_silu, GT__EW_SILU, x, 0); }
gt_tensor *gt_softsign(const gt_tensor *x) { return ew1(&gt__op_softsign, GT__EW_SOFTSIGN, x, 0); }

const gt__op *const gt__ops_unary[] = {
    &gt__op_neg,         &gt__op_abs,           &gt__op_sign,          &gt__op_square,
    &gt__op_sqrt,        &gt__op_rsqrt,         &gt__op_exp,           &gt__op_log,
    &gt__op_log1p,       &gt__op_expm1,         &gt__op_sin,           &gt__op_cos,
    &gt__op_tanh,        &gt__op_sigmoid,       &gt__op_relu,          &gt__op_relu6,
    &gt__op_leaky_relu,  &gt__op_elu,           &gt__op_selu,          &gt__op_gelu,
    &gt__op_softplus,    &gt__op_silu,          &gt__op_softsign,      &gt__op_relu_grad,
    &gt__op_relu6_grad,  &gt__op_leaky_relu_grad, &gt__op_elu_grad,    &gt__op_selu_grad,
    &gt__op_sigmoid_grad, &gt__op_tanh_grad,    &gt__op_softplus_grad, &gt__op_gelu_grad,
};
const int gt__ops_unary_n = (int)(sizeof gt__ops_unary / sizeof *gt__ops_unary);
