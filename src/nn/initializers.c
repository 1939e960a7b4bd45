/* keras.initializers: Keras 3's fan rules and VarianceScaling presets. Keras draws with TF's
 * stateless RNG, which no other program reproduces bit for bit; these draw from gt_rng and
 * match Keras' distributions (tests check moments and bounds). */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

/* Standard deviation of a unit normal truncated to [-2, 2] (Keras' constant). */
#define TRUNC_STD 0.87962566103423978

void gt_compute_fans(int rank, const int64_t *shape, double *fan_in, double *fan_out) {
    double in = 1, out = 1;
    if (rank == 1) {
        in = out = (double)shape[0];
    } else if (rank == 2) {
        in = (double)shape[0];
        out = (double)shape[1];
    } else if (rank > 2) {
        double rf = 1;
        for (int i = 0; i < rank - 2; i++)
            rf *= (double)shape[i];
        in = (double)shape[rank - 2] * rf;
        out = (double)shape[rank - 1] * rf;
    }
    if (fan_in)
        *fan_in = in;
    if (fan_out)
        *fan_out = out;
}

static int64_t numel(int rank, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= shape[i];
    return n;
}

/* Orthogonal: QR of a (max(r,c), min(r,c)) normal matrix, q *= sign(diag(r)), transposed
 * back when rows < cols, times gain (Keras 3's OrthogonalInitializer). Modified Gram-Schmidt
 * in float64 gives the same q as Householder QR up to rounding. */
static gt_tensor *orthogonal(double gain, gt_dtype dtype, int rank, const int64_t *shape,
                             gt_rng *rng) {
    if (rank < 2) {
        nn_error("initializer orthogonal: the shape must have rank >= 2, got rank %d", rank);
        return NULL;
    }
    int64_t rows = numel(rank - 1, shape), cols = shape[rank - 1];
    int64_t m = rows > cols ? rows : cols, k = rows > cols ? cols : rows;
    gt_scope_begin();
    gt_tensor *a = gt_random_normal(GT_SHAPE(m, k), 0.0, 1.0, GT_F64, rng);
    double *q = a ? malloc(sizeof(double) * (size_t)(m * k)) : NULL;
    double *out = a ? malloc(sizeof(double) * (size_t)(rows * cols)) : NULL;
    gt_tensor *res = NULL;
    if (q && out) {
        memcpy(q, gt_tensor_data(a), sizeof(double) * (size_t)(m * k));
        for (int64_t j = 0; j < k; j++) {
            for (int64_t p = 0; p < j; p++) { /* remove components along earlier columns */
                double d = 0;
                for (int64_t i = 0; i < m; i++)
                    d += q[i * k + p] * q[i * k + j];
                for (int64_t i = 0; i < m; i++)
                    q[i * k + j] -= d * q[i * k + p];
            }
            double nrm = 0;
            for (int64_t i = 0; i < m; i++)
                nrm += q[i * k + j] * q[i * k + j];
            nrm = sqrt(nrm);
            /* r_jj = nrm > 0, so sign(diag(r)) = +1: q's columns stay as they are. */
            for (int64_t i = 0; i < m; i++)
                q[i * k + j] = nrm > 0 ? q[i * k + j] / nrm : 0;
        }
        if (rows < cols) { /* q is (cols, rows): out = q^T */
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++)
                    out[i * cols + j] = gain * q[j * k + i];
        } else {
            for (int64_t i = 0; i < rows * cols; i++)
                out[i] = gain * q[i];
        }
        gt_tensor *t = gt_tensor_new(GT_F64, rank, shape, out);
        res = dtype == GT_F64 ? t : gt_cast(t, dtype);
        if (res)
            gt_keep(res);
    } else if (a) {
        nn_error("initializer orthogonal: out of memory for a %lldx%lld matrix", (long long)m,
                 (long long)k);
    }
    free(q);
    free(out);
    gt_scope_end();
    return res;
}

gt_tensor *gt_initializer_make(const gt_initializer *init, gt_dtype dtype, int rank,
                               const int64_t *shape) {
    if (!init) {
        nn_error("initializer: NULL initializer (pass &(gt_initializer){ .kind = ... })");
        return NULL;
    }
    if (dtype != GT_F32 && dtype != GT_F64) {
        nn_error("initializer: dtype must be float32 or float64, got %s", gt_dtype_name(dtype));
        return NULL;
    }
    if (rank < 0 || rank > GT_MAX_RANK || (rank > 0 && !shape)) {
        nn_error("initializer: invalid shape (rank %d)", rank);
        return NULL;
    }
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0) {
            nn_error("initializer: negative dimension %lld in the shape", (long long)shape[i]);
            return NULL;
        }
    gt_rng local = gt_rng_new(init->seed), *rng = init->seed ? &local : NULL;
    double fan_in, fan_out;
    gt_compute_fans(rank, shape, &fan_in, &fan_out);
    double scale = 1.0;
    gt_fan_mode mode = GT_FAN_IN;
    gt_distribution dist = GT_DIST_TRUNCATED_NORMAL;
    switch (init->kind) {
    case GT_INIT_DEFAULT:
        nn_error("initializer: GT_INIT_DEFAULT has no meaning outside a layer; name a kind");
        return NULL;
    case GT_INIT_ZEROS:
        return gt_zeros(dtype, rank, shape);
    case GT_INIT_ONES:
        return gt_ones(dtype, rank, shape);
    case GT_INIT_CONSTANT:
        return gt_fill(dtype, rank, shape, init->value);
    case GT_INIT_RANDOM_NORMAL:
    case GT_INIT_TRUNCATED_NORMAL: {
        double sd = nn_opt(init->stddev, 0.05);
        if (!(sd >= 0)) {
            nn_error("initializer: stddev must be >= 0, got %g", sd);
            return NULL;
        }
        return init->kind == GT_INIT_RANDOM_NORMAL
                   ? gt_random_normal(rank, shape, init->mean, sd, dtype, rng)
                   : gt_truncated_normal(rank, shape, init->mean, sd, dtype, rng);
    }
    case GT_INIT_RANDOM_UNIFORM: {
        double lo = init->minval, hi = init->maxval;
        if (lo == 0 && hi == 0 && !nn_is_explicit_zero(lo) && !nn_is_explicit_zero(hi)) {
            lo = -0.05;
            hi = 0.05;
        }
        if (!(lo <= hi)) {
            nn_error("initializer random_uniform: minval (%g) must be <= maxval (%g)", lo, hi);
            return NULL;
        }
        if (lo == hi)
            return gt_fill(dtype, rank, shape, lo);
        return gt_random_uniform(rank, shape, lo, hi, dtype, rng);
    }
    case GT_INIT_GLOROT_UNIFORM:
        mode = GT_FAN_AVG;
        dist = GT_DIST_UNIFORM;
        break;
    case GT_INIT_GLOROT_NORMAL:
        mode = GT_FAN_AVG;
        break;
    case GT_INIT_HE_UNIFORM:
        scale = 2.0;
        dist = GT_DIST_UNIFORM;
        break;
    case GT_INIT_HE_NORMAL:
        scale = 2.0;
        break;
    case GT_INIT_LECUN_UNIFORM:
        dist = GT_DIST_UNIFORM;
        break;
    case GT_INIT_LECUN_NORMAL:
        break;
    case GT_INIT_ORTHOGONAL:
        return orthogonal(nn_opt(init->gain, 1.0), dtype, rank, shape, rng);
    case GT_INIT_VARIANCE_SCALING:
        scale = nn_opt(init->scale, 1.0);
        mode = init->mode;
        dist = init->distribution;
        if (!(scale > 0)) {
            nn_error("initializer variance_scaling: Argument `scale` must be positive float. "
                     "Received: scale=%g",
                     scale);
            return NULL;
        }
        if ((int)mode < 0 || mode > GT_FAN_AVG || (int)dist < 0 || dist > GT_DIST_UNIFORM) {
            nn_error("initializer variance_scaling: invalid mode or distribution");
            return NULL;
        }
        break;
    default:
        nn_error("initializer: unknown kind %d", (int)init->kind);
        return NULL;
    }
    double n = mode == GT_FAN_IN ? fan_in : mode == GT_FAN_OUT ? fan_out : (fan_in + fan_out) / 2;
    if (n < 1)
        n = 1;
    double s = scale / n;
    switch (dist) {
    case GT_DIST_TRUNCATED_NORMAL:
        return gt_truncated_normal(rank, shape, 0.0, sqrt(s) / TRUNC_STD, dtype, rng);
    case GT_DIST_UNTRUNCATED_NORMAL:
        return gt_random_normal(rank, shape, 0.0, sqrt(s), dtype, rng);
    default: {
        double limit = sqrt(3.0 * s);
        return gt_random_uniform(rank, shape, -limit, limit, dtype, rng);
    }
    }
}
