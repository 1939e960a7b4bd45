/* Models: user models (a struct with its own call function and tracked layers), Sequential,
 * and model.summary() in Keras 3's table format. */
#include "nn_internal.h"

#include <stdlib.h>
#include <string.h>

static gt_tensor *model_call_tramp(gt_layer *l, const gt_tensor *x, bool training) {
    gt_model *m = (gt_model *)l;
    return m->call(m, x, training);
}

static void model_destroy_tramp(gt_layer *l) {
    gt_model *m = (gt_model *)l;
    if (m->destroy)
        m->destroy(m);
}

static gt_model *model_alloc(const char *class_name, const char *name, size_t size,
                             gt_model_call_fn call, void (*destroy)(gt_model *)) {
    if (size < sizeof(gt_model))
        size = sizeof(gt_model);
    /* a temporary vtable names the object; the model then points at its own copy */
    gt_layer_vtable tmp = {class_name, NULL, model_call_tramp, model_destroy_tramp};
    gt_model *m = (gt_model *)gt_layer_new(&tmp, size, name);
    if (!m)
        return NULL;
    snprintf(m->class_name, sizeof m->class_name, "%s", class_name);
    m->vtable = tmp;
    m->vtable.class_name = m->class_name;
    m->layer.vt = &m->vtable;
    m->call = call;
    m->destroy = destroy;
    return m;
}

gt_model *gt_model_new(const gt_model_desc *desc) {
    if (!desc || !desc->call) {
        nn_error("Model: a user model needs a call function (gt_model_desc.call)");
        return NULL;
    }
    return model_alloc(desc->class_name ? desc->class_name : "Model", desc->name, desc->size,
                       desc->call, desc->destroy);
}

gt_layer *gt_model_track(gt_model *m, gt_layer *layer) {
    return gt_layer_track(m ? &m->layer : NULL, layer);
}

gt_tensor *gt_model_call(gt_model *m, const gt_tensor *x, bool training) {
    if (!m) {
        if (x)
            nn_error("model call: NULL model");
        return NULL;
    }
    return gt_layer_call(&m->layer, x, training);
}

void gt_model_free(gt_model *m) {
    if (m)
        gt_layer_free(&m->layer);
}

gt_layer *gt_model_layer(gt_model *m) {
    return m ? &m->layer : NULL;
}

static gt_tensor *seq_call(gt_model *m, const gt_tensor *x, bool training) {
    gt_tensor *y = (gt_tensor *)x;
    for (int i = 0; i < m->layer.nchildren && y; i++)
        y = gt_layer_call(m->layer.children[i], y, training);
    return y;
}

gt_model *gt_sequential(const char *name) {
    return model_alloc("Sequential", name, sizeof(gt_model), seq_call, NULL);
}

bool gt_sequential_add(gt_model *m, gt_layer *layer) {
    if (!layer)
        return false;
    if (!m || m->call != seq_call) {
        gt_layer_free(layer);
        nn_error("Sequential.add: the model is not a Sequential model");
        return false;
    }
    for (int i = 0; i < m->layer.nchildren; i++)
        if (strcmp(m->layer.children[i]->name, layer->name) == 0) {
            nn_error("All layers added to a Sequential model should have unique names. Name "
                     "\"%s\" is already the name of a layer in this model. Update the `name` "
                     "argument to pass a unique name.",
                     layer->name);
            gt_layer_free(layer);
            return false;
        }
    return gt_layer_track(&m->layer, layer) != NULL;
}

/* ---- summary ------------------------------------------------------------------------------ */

static void with_commas(int64_t v, char *buf, size_t n) {
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
    size_t len = strlen(digits), o = 0;
    if (v < 0 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 1 < n; i++) {
        buf[o++] = digits[i];
        size_t rest = len - i - 1;
        if (rest && rest % 3 == 0 && o + 1 < n)
            buf[o++] = ',';
    }
    buf[o] = 0;
}

static void readable_size(double bytes, char *buf, size_t n) {
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    for (int i = 0; i < 6; i++) {
        if (bytes / 1024 < 1) {
            snprintf(buf, n, "%.2f %s", bytes, units[i]);
            return;
        }
        bytes /= 1024;
    }
    snprintf(buf, n, "%.2f %s", bytes, units[5]);
}

static void count_and_size(gt_tensor **v, int n, int64_t *count, double *bytes) {
    *count = 0;
    *bytes = 0;
    for (int i = 0; i < n; i++) {
        *count += gt_tensor_size(v[i]);
        *bytes += (double)gt_tensor_size(v[i]) * (double)gt_dtype_size(gt_tensor_dtype(v[i]));
    }
}

/* One horizontal rule of the rich table: left, fill, junction, right (UTF-8 strings). */
static void rule(FILE *f, const int *w, const char *l, const char *fill, const char *j,
                 const char *r) {
    fputs(l, f);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < w[c]; i++)
            fputs(fill, f);
        fputs(c < 2 ? j : r, f);
    }
    fputc('\n', f);
}

/* Rich's divide_line: words (a run of non-spaces and the spaces after it) fill a line while
 * they fit (trailing spaces not counted); a word wider than the line is folded. Writes the
 * break offsets to brk and returns their count. */
static int divide_line(const char *s, int width, int *brk, int max) {
    int n = 0, offset = 0, i = 0, len = (int)strlen(s);
    while (i < len) {
        int start = i;
        while (i < len && s[i] == ' ')
            i++; /* leading spaces belong to the first word */
        while (i < len && s[i] != ' ')
            i++;
        int word = i - start;
        while (i < len && s[i] == ' ')
            i++;
        int full = i - start;
        if (width - offset >= word) {
            offset += full;
        } else if (word > width) { /* fold the word into chunks of the width */
            for (int pos = start; pos < start + full; pos += width) {
                if (pos && n < max)
                    brk[n++] = pos;
                offset = start + full - pos < width ? start + full - pos : width;
            }
        } else if (offset && start) {
            if (n < max)
                brk[n++] = start;
            offset = full;
        }
    }
    return n;
}

#define CELL_LINES 16

/* One table row; cells wider than their column wrap onto more lines as rich wraps them
 * (lines right-stripped, vertical alignment top). */
static void row(FILE *f, const int *w, const char *bar, const char *const *cells) {
    int brk[3][CELL_LINES], nbrk[3], nlines = 1;
    for (int c = 0; c < 3; c++) {
        nbrk[c] = divide_line(cells[c], w[c] - 2, brk[c], CELL_LINES - 1);
        if (nbrk[c] + 1 > nlines)
            nlines = nbrk[c] + 1;
    }
    for (int ln = 0; ln < nlines; ln++) {
        for (int c = 0; c < 3; c++) {
            char part[512] = "";
            if (ln <= nbrk[c]) {
                int from = ln ? brk[c][ln - 1] : 0;
                int to = ln < nbrk[c] ? brk[c][ln] : (int)strlen(cells[c]);
                int k = to - from < (int)sizeof part - 1 ? to - from : (int)sizeof part - 1;
                memcpy(part, cells[c] + from, (size_t)k);
                while (k > 0 && part[k - 1] == ' ')
                    k--;
                part[k] = 0;
            }
            int inner = w[c] - 2;
            fputs(bar, f);
            if (c == 2) /* Param # is right-justified */
                fprintf(f, " %*s ", inner, part);
            else
                fprintf(f, " %-*s ", inner, part);
        }
        fputs(bar, f);
        fputc('\n', f);
    }
}

void gt_model_summary(const gt_model *m, FILE *f, int line_length) {
    if (!m || !f)
        return;
    if (line_length <= 0) {
        int cols = 80;
        const char *env = getenv("COLUMNS");
        if (env && atoi(env) > 0)
            cols = atoi(env);
        line_length = cols - 4 < 88 ? cols - 4 : 88;
    }
    /* Keras' positions [0.45, 0.80, 1.0] of line_length; rich then fits the table's four
     * borders by taking round(4/3)=1, round(3/2)=2 and 1 from the columns (ratio_reduce). */
    static const double pos[3] = {0.45, 0.80, 1.0};
    int w[3], cur = 0;
    for (int c = 0; c < 3; c++) {
        w[c] = (int)(pos[c] * line_length) - cur;
        cur += w[c];
    }
    w[0] -= 1;
    w[1] -= 2;
    w[2] -= 1;
    fprintf(f, "Model: \"%s\"\n", m->layer.name);
    rule(f, w, "\xe2\x94\x8f", "\xe2\x94\x81", "\xe2\x94\xb3", "\xe2\x94\x93");
    const char *head[3] = {"Layer (type)", "Output Shape", "Param #"};
    row(f, w, "\xe2\x94\x83", head);
    rule(f, w, "\xe2\x94\xa1", "\xe2\x94\x81", "\xe2\x95\x87", "\xe2\x94\xa9");
    const gt_layer *ml = &m->layer;
    for (int i = 0; i < ml->nchildren; i++) {
        const gt_layer *l = ml->children[i];
        char name[256], shape[256], params[64];
        snprintf(name, sizeof name, "%s (%s)", l->name, gt_layer_class_name(l));
        if (l->out_rank >= 0)
            nn_shape_str(l->out_rank, l->out_shape, shape, sizeof shape);
        else
            snprintf(shape, sizeof shape, "?");
        if (l->built)
            with_commas(gt_layer_count_params(l), params, sizeof params);
        else
            snprintf(params, sizeof params, "0 (unbuilt)");
        const char *cells[3] = {name, shape, params};
        row(f, w, "\xe2\x94\x82", cells);
        if (i + 1 < ml->nchildren)
            rule(f, w, "\xe2\x94\x9c", "\xe2\x94\x80", "\xe2\x94\xbc", "\xe2\x94\xa4");
    }
    rule(f, w, "\xe2\x94\x94", "\xe2\x94\x80", "\xe2\x94\xb4", "\xe2\x94\x98");
    int n = gt_layer_variables(ml, NULL, 0);
    gt_tensor **v = malloc(sizeof(*v) * (size_t)(n ? n : 1));
    if (!v)
        return;
    const char *label[3] = {"Total params", "Trainable params", "Non-trainable params"};
    for (int k = 0; k < 3; k++) {
        int cnt = k == 0   ? gt_layer_variables(ml, v, n)
                  : k == 1 ? gt_layer_trainable_variables(ml, v, n)
                           : gt_layer_non_trainable_variables(ml, v, n);
        int64_t count;
        double bytes;
        count_and_size(v, cnt, &count, &bytes);
        char c[64], s[64];
        with_commas(count, c, sizeof c);
        readable_size(bytes, s, sizeof s);
        fprintf(f, " %s: %s (%s)\n", label[k], c, s);
    }
    free(v);
}
