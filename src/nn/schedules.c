/* keras.optimizers.schedules, evaluated in float32 op by op as Keras' TF backend does
 * (initial_learning_rate is a float32 tensor, every other operand is cast to it). */
#include "nn_internal.h"

#include <math.h>

static bool check(const gt_schedule *s) {
    switch (s->kind) {
    case GT_SCHEDULE_NONE:
        nn_error("schedule: kind is GT_SCHEDULE_NONE");
        return false;
    case GT_SCHEDULE_PIECEWISE_CONSTANT:
        if (s->nboundaries < 1 || !s->boundaries || !s->values) {
            nn_error("schedule PiecewiseConstantDecay: The length of boundaries should be 1 "
                     "less than the length of values. Received: %d boundaries (boundaries and "
                     "values must be non-NULL arrays of n and n+1 numbers)",
                     s->nboundaries);
            return false;
        }
        return true;
    case GT_SCHEDULE_EXPONENTIAL_DECAY:
    case GT_SCHEDULE_COSINE_DECAY:
    case GT_SCHEDULE_POLYNOMIAL_DECAY:
    case GT_SCHEDULE_INVERSE_TIME_DECAY:
        if (!(s->decay_steps > 0)) {
            nn_error("schedule: Argument `decay_steps` must be > 0. Received: decay_steps=%g",
                     s->decay_steps);
            return false;
        }
        if (s->kind == GT_SCHEDULE_COSINE_DECAY && s->warmup_steps < 0) {
            nn_error("schedule CosineDecay: warmup_steps must be >= 0, got %g", s->warmup_steps);
            return false;
        }
        return true;
    default:
        nn_error("schedule: unknown kind %d", (int)s->kind);
        return false;
    }
}

static float cosine_part(float step, float decay_steps, float from_lr, double alpha) {
    float frac = step / decay_steps;
    float cosd = 0.5f * (1.0f + cosf((float)3.14159265358979323846 * frac));
    float decayed = (float)(1 - alpha) * cosd + (float)alpha;
    return from_lr * decayed;
}

double gt_schedule_value(const gt_schedule *s, int64_t step) {
    if (!s) {
        nn_error("schedule: NULL schedule");
        return NAN;
    }
    if (!check(s))
        return NAN;
    float lr0 = (float)s->initial_learning_rate, st = (float)step;
    float ds = (float)s->decay_steps, rate = (float)s->decay_rate;
    switch (s->kind) {
    case GT_SCHEDULE_EXPONENTIAL_DECAY: {
        float p = st / ds;
        if (s->staircase)
            p = floorf(p);
        return lr0 * powf(rate, p);
    }
    case GT_SCHEDULE_INVERSE_TIME_DECAY: {
        float p = st / ds;
        if (s->staircase)
            p = floorf(p);
        return lr0 / (1.0f + rate * p);
    }
    case GT_SCHEDULE_PIECEWISE_CONSTANT: {
        /* boundaries are cast to the step's integer dtype (int64), values to float32 */
        int n = s->nboundaries;
        if (step <= (int64_t)s->boundaries[0])
            return (float)s->values[0];
        if (step > (int64_t)s->boundaries[n - 1])
            return (float)s->values[n];
        for (int i = 1; i < n; i++)
            if (step > (int64_t)s->boundaries[i - 1] && step <= (int64_t)s->boundaries[i])
                return (float)s->values[i];
        return 0.0f; /* boundaries not increasing: no range holds the step (Keras gives 0) */
    }
    case GT_SCHEDULE_POLYNOMIAL_DECAY: {
        float end = (float)nn_opt(s->end_learning_rate, 1e-4);
        float power = (float)nn_opt(s->power, 1.0);
        float dsr = ds;
        if (s->cycle) {
            float mult = st == 0 ? 1.0f : ceilf(st / ds);
            dsr = dsr * mult;
        } else {
            st = fminf(st, dsr);
        }
        float p = st / dsr;
        return (lr0 - end) * powf(1 - p, power) + end;
    }
    case GT_SCHEDULE_COSINE_DECAY: {
        bool warm = s->warmup_target != 0 || nn_is_explicit_zero(s->warmup_target);
        if (!warm)
            return cosine_part(fminf(st, ds), ds, lr0, s->alpha);
        float target = (float)s->warmup_target, ws = (float)s->warmup_steps;
        st = fminf(st, ds + ws);
        if (st < ws) {
            float frac = st / ws;
            return (target - lr0) * frac + lr0;
        }
        return cosine_part(st - ws, ds, target, s->alpha);
    }
    default:
        return NAN;
    }
}
