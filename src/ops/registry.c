/* Every built-in op, by family, so tests can walk them all (each family file defines its
 * table). */
#include "ops/registry.h"

extern const gt__op gt__op_read_variable;
static const gt__op *const autodiff_ops[] = {&gt__op_read_variable};

static const struct {
    const gt__op *const *ops;
    const int *n;
} families[] = {
    {gt__ops_binary, &gt__ops_binary_n},   {gt__ops_misc, &gt__ops_misc_n},
    {gt__ops_unary, &gt__ops_unary_n},     {gt__ops_nn, &gt__ops_nn_n},
    {gt__ops_reduce, &gt__ops_reduce_n},   {gt__ops_matmul, &gt__ops_matmul_n},
    {gt__ops_shape, &gt__ops_shape_n},     {gt__ops_conv, &gt__ops_conv_n},
    {autodiff_ops, &(const int){1}},
};

int gt__op_count(void) {
    int n = 0;
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) n += *families[f].n;
    return n;
}

const gt__op *gt__op_at(int i) {
    if (i < 0) return NULL;
    for (size_t f = 0; f < sizeof families / sizeof *families; f++) {
        int n = *families[f].n;
        if (i < n) return families[f].ops[i];
        i -= n;
    }
    return NULL;
}
