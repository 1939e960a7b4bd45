/* The op profiler: which rows a known sequence of ops, a gradient, an optimizer update, a
 * copy-on-write and a dataset batch produce, with exact call counts; nothing is counted while
 * stopped; restarting clears the table; and the errors of gt_profiler_write. */
#include "gtt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The table written to a temporary file, read back whole. */
static char *table(void) {
    FILE *f = tmpfile();
    GTT_CHECK(f != NULL, "tmpfile failed");
    if (!f)
        return NULL;
    GTT_OK(gt_profiler_write(f));
    long n = ftell(f);
    rewind(f);
    char *s = calloc((size_t)n + 1, 1);
    GTT_CHECK(s && fread(s, 1, (size_t)n, f) == (size_t)n, "reading the table back failed");
    fclose(f);
    return s;
}

/* The call count of row (name, phase), or -1 when the table has no such row. Rows are
 * "<name padded> <phase> <calls> ..."; a name is matched whole. */
static long long calls(const char *t, const char *name, const char *phase) {
    const size_t len = strlen(name);
    for (const char *line = t; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, name, len) != 0 || line[len] != ' ')
            continue;
        char ph[16];
        long long c;
        if (sscanf(line + len, " %15s %lld", ph, &c) == 2 && strcmp(ph, phase) == 0)
            return c;
    }
    return -1;
}

int main(void) {
    /* Errors first: never started, then a NULL stream. */
    GTT_CHECK(!gt_profiler_write(stdout), "write before any start must fail");
    GTT_ERROR_HAS("has not been started");
    gt_profiler_start();
    GTT_CHECK(!gt_profiler_write(NULL), "a NULL stream must fail");
    gt_profiler_stop();
    gt_error_clear();

    gt_tensor *w = gt_variable(gt_fill(GT_F32, GT_SHAPE(4, 3), 0.5), "w");
    gt_tensor *x = gt_retain(gt_fill(GT_F32, GT_SHAPE(2, 4), 0.25));
    gt_profiler_start();
    for (int i = 0; i < 3; i++) {
        gt_scope_begin();
        gt_tape *t = gt_tape_begin(NULL);
        gt_tensor *y = gt_matmul(x, w, false, false); /* forward: matmul */
        gt_tensor *loss = gt_reduce_sum(gt_relu(y), GT_ALL, false);
        gt_tape_end(t);
        gt_tensor *g = gt_gradient(t, loss, w); /* gradient: relu_grad, matmul (dw only) */
        GTT_OK(g != NULL);
        /* The snapshot read by the matmul still holds w's buffer: the update copies it. */
        void *wd = gt_variable_data(w);
        GTT_OK(wd != NULL);
        gt_update u = {.rule = GT_UPDATE_SGD,
                       .dtype = GT_F32,
                       .n = 12,
                       .w = wd,
                       .g = gt_tensor_data(g),
                       .lr = 0.1};
        GTT_OK(gt_apply_updates(&u, 1));
        gt_tape_free(t);
        gt_scope_end();
    }
    gt_profiler_stop();
    /* Stopped: none of these count. */
    gt_scope_begin();
    gt_matmul(x, w, false, false);
    gt_scope_end();

    char *t = table();
    GTT_CHECK(t != NULL, "no table");
    if (t) {
        GTT_CHECK(calls(t, "matmul", "forward") == 3, "matmul forward calls %lld, want 3\n%s",
                  calls(t, "matmul", "forward"), t);
        GTT_CHECK(calls(t, "relu", "forward") == 3, "relu forward calls %lld\n%s",
                  calls(t, "relu", "forward"), t);
        GTT_CHECK(calls(t, "relu_grad", "gradient") == 3, "relu_grad calls %lld\n%s",
                  calls(t, "relu_grad", "gradient"), t);
        GTT_CHECK(calls(t, "matmul", "gradient") == 3, "matmul gradient calls %lld\n%s",
                  calls(t, "matmul", "gradient"), t);
        GTT_CHECK(calls(t, "relu_grad", "forward") == -1, "relu_grad counted as forward\n%s", t);
        GTT_CHECK(calls(t, "apply_updates", "other") == 3, "apply_updates calls %lld\n%s",
                  calls(t, "apply_updates", "other"), t);
        GTT_CHECK(calls(t, "variable copy-on-write", "other") == 3, "copy-on-write calls %lld\n%s",
                  calls(t, "variable copy-on-write", "other"), t);
        GTT_CHECK(strstr(t, "wall time profiled") != NULL, "no wall time line\n%s", t);
        free(t);
    }

    /* A restart clears the table; dataset batches have their row. */
    gt_profiler_start();
    const uint8_t px[10 * 2] = {0};
    const int32_t labels[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    gt_dataset *ds = gt_dataset_new(&(gt_dataset_desc){
        .count = 10, .x_rank = 1, .x_shape = (int64_t[]){2}, .x_u8 = px, .labels = labels});
    GTT_OK(ds != NULL);
    for (int64_t b = 0; ds && b < 3; b++) {
        gt_scope_begin();
        gt_tensor *bx, *by;
        GTT_OK(gt_dataset_batch(ds, 4, b, &bx, &by));
        gt_scope_end();
    }
    gt_profiler_stop();
    t = table();
    if (t) {
        GTT_CHECK(calls(t, "matmul", "forward") == -1, "restart kept old rows\n%s", t);
        GTT_CHECK(calls(t, "dataset_batch", "other") == 3, "dataset_batch calls %lld\n%s",
                  calls(t, "dataset_batch", "other"), t);
        free(t);
    }
    gt_dataset_free(ds);
    gt_release(x);
    gt_variable_free(w);
    return gtt_finish();
}
