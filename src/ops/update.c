/* gt_apply_updates: the fused optimizer kernel's public entry (argument checks only; the
 * loops are src/kernels/optim.c). */
#include "kernels/optim.h"

bool gt_apply_updates(const gt_update *u, int n) {
    if (n < 0 || (n > 0 && !u)) {
        gt__error("gt_apply_updates: invalid arguments (n=%d, updates %s)", n, u ? "set" : "NULL");
        return false;
    }
    for (int k = 0; k < n; k++) {
        const gt_update *j = &u[k];
        const char *missing = NULL;
        if (j->dtype != GT_F32 && j->dtype != GT_F64) {
            gt__error("gt_apply_updates: update %d has dtype %s (float32 or float64 expected)", k,
                      gt_dtype_name(j->dtype));
            return false;
        }
        if ((unsigned)j->rule > GT_UPDATE_LION) {
            gt__error("gt_apply_updates: update %d has an unknown rule (%d)", k, (int)j->rule);
            return false;
        }
        if (j->n < 0) {
            gt__error("gt_apply_updates: update %d has a negative size (%lld)", k, (long long)j->n);
            return false;
        }
        if (j->n == 0) continue;
        if (!j->w) missing = "w";
        else if (!j->g) missing = "g";
        else if ((j->rule == GT_UPDATE_ADAM || j->rule == GT_UPDATE_ADAMAX ||
                  j->rule == GT_UPDATE_NADAM) && (!j->m || !j->v))
            missing = "m and v";
        else if ((j->rule == GT_UPDATE_RMSPROP || j->rule == GT_UPDATE_ADAGRAD) && !j->v)
            missing = "v";
        else if (j->rule == GT_UPDATE_LION && !j->m)
            missing = "m";
        if (missing) {
            gt__error("gt_apply_updates: update %d needs %s", k, missing);
            return false;
        }
    }
    const bool prof = gt__profiling();
    const double t0 = prof ? gt__prof_now() : 0;
    gt__opt_apply(u, n);
    if (prof) gt__prof_add("apply_updates", GT__PROF_OTHER, gt__prof_now() - t0);
    return true;
}
