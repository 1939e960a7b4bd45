/* Elementwise kernels of one input (activations, math functions) and the same-shape
 * two-input kernels their gradients use (TensorFlow's ReluGrad, SigmoidGrad, ...). */
#ifndef GT_KERNELS_UNARY_H
#define GT_KERNELS_UNARY_H

#include "core/internal.h"

#include <math.h>

typedef enum gt__ew_kind {
    /* y = f(x) */
    GT__EW_NEG, GT__EW_ABS, GT__EW_SIGN, GT__EW_SQUARE, GT__EW_SQRT, GT__EW_RSQRT, GT__EW_EXP,
    GT__EW_LOG, GT__EW_LOG1P, GT__EW_EXPM1, GT__EW_SIN, GT__EW_COS, GT__EW_TANH,
    GT__EW_SIGMOID, GT__EW_RELU, GT__EW_RELU6, GT__EW_LEAKY_RELU, GT__EW_ELU, GT__EW_SELU,
    GT__EW_GELU, GT__EW_GELU_TANH, GT__EW_SOFTPLUS, GT__EW_SILU, GT__EW_SOFTSIGN,
    GT__EW_UNARY_END,
    /* out = f(a, b) on same-shape inputs; a is the upstream gradient dy for the *_GRAD kinds,
     * b the saved forward value named in the comment. */
    GT__EW_RELU_GRAD,      /* b = relu's output (or input): dy where b > 0 */
    GT__EW_RELU6_GRAD,     /* b = relu6's output: dy where 0 < b < 6 */
    GT__EW_LEAKY_GRAD,     /* b = x: dy where x > 0, alpha*dy elsewhere */
    GT__EW_ELU_GRAD,       /* b = y: dy where y > 0, dy*(y + alpha) elsewhere */
    GT__EW_SELU_GRAD,      /* b = y: dy*(y + scale*alpha) where y < 0, scale*dy elsewhere */
    GT__EW_SIGMOID_GRAD,   /* b = y: dy*y*(1 - y) */
    GT__EW_TANH_GRAD,      /* b = y: dy*(1 - y^2) */
    GT__EW_SOFTPLUS_GRAD,  /* b = x: dy / (1 + exp(-x)) */
    GT__EW_GELU_GRAD,      /* b = x: dy * gelu'(x) */
    GT__EW_GELU_TANH_GRAD, /* b = x: dy * gelu_tanh'(x) */
    GT__EW_SIGMOID_XENT,   /* a = labels z, b = logits x: max(x,0) - x*z + log1p(exp(-|x|)) */
    GT__EW_KIND_END
} gt__ew_kind;

/* The attribute block every elementwise op of the unary family carries. */
typedef struct gt__ew_attr {
    int kind;     /* gt__ew_kind */
    double alpha; /* leaky_relu / elu slope */
} gt__ew_attr;

/* SELU's constants as TensorFlow spells them (selu_op / SeluGrad). */
#define GT__SELU_SCALE 1.0507009873554804934193349852946
#define GT__SELU_ALPHA 1.6732632423543772848170429916717
#define GT__SELU_SCALE_ALPHA 1.7580993408473768599402175208123
/* gelu as TensorFlow 2.21's tf.nn.gelu computes it: exact 0.5 x erfc(-x C0), approximate
 * 0.5 x (1 + tanh(C (x + K x^3))). C0 and K pass through math_ops.cast(python_float, dtype),
 * which makes a float32 constant first, so they are the float32-rounded values even for
 * float64 (C, multiplied in directly, keeps double precision). */
#define GT__GELU_C0 0.7071067690849304 /* (float)(1/sqrt 2) */
#define GT__GELU_C 0.7978845608028654
#define GT__GELU_K 0.044714998453855515 /* (float)0.044715 */
#define GT__INV_SQRT_PI 0.5641895835477563

/* exp for float32, branch-free so loops of it vectorise (glibc's expf does not): Cody-Waite
 * reduction x = n ln2 + r, Cephes' degree-6 polynomial for e^r, then 2^n applied in two
 * halves so results down to the subnormals are rounded once. Within 2 ulp of the exact
 * value over the whole range (tests/test_ops_unary.c sweeps it); +inf above 88.73, 0 below
 * -103.98, NaN for NaN. */
static inline float gt__expf(float x) {
    union {
        float f;
        uint32_t u;
    } t, s1, s2;
    float xc = x > 89.0f ? 89.0f : x < -104.0f ? -104.0f : x;
    /* Adding 1.5 * 2^23 rounds x*log2(e) to an integer n held in the low mantissa bits, so n
     * is read from the bits (no float-to-int conversion, defined even for NaN). */
    t.f = xc * 1.44269504088896341f + 12582912.0f;
    float n = t.f - 12582912.0f;
    int32_t ni = (int32_t)(t.u - 0x4B400000u), n1 = ni / 2, n2 = ni - n1;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    s1.u = (uint32_t)(n1 + 127) << 23;
    s2.u = (uint32_t)(n2 + 127) << 23;
    return p * s1.f * s2.f;
}

/* tanh for float32 on gt__expf: an odd polynomial below 0.625 (Cephes' tanhf), else
 * 1 - 2 / (e^{2|x|} + 1), which is 1 once e overflows. */
static inline float gt__tanhf(float x) {
    float a = x < 0 ? -x : x, s = x * x;
    float p = -5.70498872745e-3f;
    p = p * s + 2.06390887954e-2f;
    p = p * s - 5.37397155531e-2f;
    p = p * s + 1.33314422036e-1f;
    p = p * s - 3.33332819422e-1f;
    float small = p * s * a + a;
    float big = 1.0f - 2.0f / (gt__expf(2.0f * a) + 1.0f);
    return copysignf(a < 0.625f ? small : big, x);
}

/* y[i] = f(x[i]) for n elements of dtype dt (f32/f64 for every kind; NEG, ABS, SIGN and
 * SQUARE also i32/i64). x and y may be the same buffer. */
void gt__ew_unary(gt__ew_kind k, gt_dtype dt, const void *x, void *y, int64_t n, double alpha);
/* out[i] = f(a[i], b[i]) for the two-input kinds, f32/f64. */
void gt__ew_binary(gt__ew_kind k, gt_dtype dt, const void *a, const void *b, void *out, int64_t n,
                   double alpha);

#endif
