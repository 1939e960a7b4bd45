/* keras.activations on the core's ops. Softmax and sigmoid keep their input as the output's
 * logits (Keras' `_keras_logits`), which the cross-entropy losses pick up. */
#include "nn_internal.h"

static const char *const act_names[GT_ACT_COUNT] = {
    [GT_ACT_LINEAR] = "linear",     [GT_ACT_RELU] = "relu",
    [GT_ACT_RELU6] = "relu6",       [GT_ACT_LEAKY_RELU] = "leaky_relu",
    [GT_ACT_ELU] = "elu",           [GT_ACT_SELU] = "selu",
    [GT_ACT_GELU] = "gelu",         [GT_ACT_GELU_APPROX] = "gelu_approximate",
    [GT_ACT_SIGMOID] = "sigmoid",   [GT_ACT_TANH] = "tanh",
    [GT_ACT_SOFTMAX] = "softmax",   [GT_ACT_LOG_SOFTMAX] = "log_softmax",
    [GT_ACT_SOFTPLUS] = "softplus", [GT_ACT_SILU] = "silu",
    [GT_ACT_SOFTSIGN] = "softsign",
};

const char *gt_activation_name(gt_activation act) {
    if ((int)act < 0 || act >= GT_ACT_COUNT)
        return NULL;
    return act_names[act];
}

static gt_tensor *with_logits(gt_tensor *out, const gt_tensor *logits) {
    if (out && !gt_tensor_attach_logits(out, logits))
        return NULL;
    return out;
}

gt_tensor *gt_activation_apply(gt_activation act, const gt_tensor *x) {
    if (!x)
        return NULL; /* the first error stays */
    switch (act) {
    case GT_ACT_LINEAR:
        return (gt_tensor *)x;
    case GT_ACT_RELU:
        return gt_relu(x);
    case GT_ACT_RELU6:
        return gt_relu6(x);
    case GT_ACT_LEAKY_RELU:
        return gt_leaky_relu(x, 0.2);
    case GT_ACT_ELU:
        return gt_elu(x, 1.0);
    case GT_ACT_SELU:
        return gt_selu(x);
    case GT_ACT_GELU:
        return gt_gelu(x, false);
    case GT_ACT_GELU_APPROX:
        return gt_gelu(x, true);
    case GT_ACT_SIGMOID:
        return with_logits(gt_sigmoid(x), x);
    case GT_ACT_TANH:
        return gt_tanh(x);
    case GT_ACT_SOFTMAX:
        return with_logits(gt_softmax(x, -1), x);
    case GT_ACT_LOG_SOFTMAX:
        return gt_log_softmax(x, -1);
    case GT_ACT_SOFTPLUS:
        return gt_softplus(x);
    case GT_ACT_SILU:
        return gt_silu(x);
    case GT_ACT_SOFTSIGN:
        return gt_softsign(x);
    default:
        break;
    }
    nn_error("activation: unknown activation %d (valid: 0..%d, see gt_activation)", (int)act,
             GT_ACT_COUNT - 1);
    return NULL;
}
