/* Runs every op family's gradient-check cases (first and second order against finite
 * differences in float64) and checks the registry: each op has a gradient rule or is marked
 * not differentiable, and each differentiable op has at least one case. */
#include "core/internal.h"
#include "gtt.h"

#include <stdlib.h>

static const gtt_case *const families[] = {gtt_cases_binary, gtt_cases_misc,   gtt_cases_unary,
                                           gtt_cases_nn,     gtt_cases_reduce, gtt_cases_matmul,
                                           gtt_cases_shape,  gtt_cases_autodiff,
                                           gtt_cases_conv};

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL; /* optional: run one op's cases */
    for (size_t f = 0; f < sizeof families / sizeof *families; f++)
        for (const gtt_case *c = families[f]; c->op; c++)
            if (!only || !strcmp(only, c->op)) c->run();

    for (int i = 0; i < gt__op_count(); i++) {
        const gt__op *op = gt__op_at(i);
        bool nondiff = op->flags & GT__OP_NONDIFF;
        GTT_CHECK(nondiff || op->grad, "op '%s' has no gradient rule and is not marked "
                  "not differentiable", op->name);
        if (nondiff) continue;
        bool found = false;
        for (size_t f = 0; f < sizeof families / sizeof *families && !found; f++)
            for (const gtt_case *c = families[f]; c->op && !found; c++) found = !strcmp(c->op, op->name);
        GTT_CHECK(found, "op '%s' has no gradient-check case", op->name);
    }
    return gtt_finish();
}
