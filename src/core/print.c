/* Printing tensors the way NumPy does (floatmode 'maxprec', precision 8, line width 75,
 * summarised with '...' above 1000 elements), so programs print what their Python twins do. */
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GT__PREC 8
#define GT__WIDTH 75
#define GT__THRESHOLD 1000
#define GT__EDGE 3

typedef struct {
    char *buf;
    size_t n, len;
} out_t;

static void put(out_t *o, const char *s) {
    size_t k = strlen(s);
    if (o->len + 1 < o->n) {
        size_t room = o->n - o->len - 1, c = k < room ? k : room;
        memcpy(o->buf + o->len, s, c);
        o->buf[o->len + c] = 0;
    }
    o->len += k;
}

/* Shortest fixed-point text with at most GT__PREC fractional digits that reads back as v
 * (at the tensor's precision). */
static void fmt_fixed(char *s, size_t n, double v, bool f32) {
    if (isnan(v)) { snprintf(s, n, "nan"); return; }
    if (isinf(v)) { snprintf(s, n, v < 0 ? "-inf" : "inf"); return; }
    for (int p = 0; p <= GT__PREC; p++) {
        snprintf(s, n, "%.*f", p, v);
        double r = strtod(s, NULL);
        if (f32 ? (float)r == (float)v : r == v) break;
    }
    if (!strchr(s, '.')) {
        size_t k = strlen(s);
        if (k + 1 < n) s[k] = '.', s[k + 1] = 0;
    } else {
        /* "%.8f" may leave trailing zeros when no shorter text was exact. */
        size_t k = strlen(s);
        while (k > 0 && s[k - 1] == '0') s[--k] = 0;
    }
}

static void fmt_sci(char *s, size_t n, double v, bool f32) {
    if (!isfinite(v)) { fmt_fixed(s, n, v, f32); return; }
    char t[64];
    int p = 0;
    for (; p <= GT__PREC; p++) {
        snprintf(t, sizeof t, "%.*e", p, v);
        double r = strtod(t, NULL);
        if (f32 ? (float)r == (float)v : r == v) break;
    }
    if (p > GT__PREC) snprintf(t, sizeof t, "%.*e", GT__PREC, v);
    char *e = strchr(t, 'e');
    char mant[48], ex[16];
    size_t ml = (size_t)(e - t);
    memcpy(mant, t, ml);
    mant[ml] = 0;
    if (!strchr(mant, '.')) strcat(mant, ".");
    int expo = atoi(e + 1);
    snprintf(ex, sizeof ex, "e%c%02d", expo < 0 ? '-' : '+', abs(expo));
    snprintf(s, n, "%s%s", mant, ex);
}

typedef struct {
    const gt_tensor *t;
    bool sci, f32, summarise;
    int int_w, frac_w; /* widths left and right of the point (floats) or total (others) */
} style;

static bool shown(const style *st, int axis, int64_t i) {
    int64_t d = st->t->shape[axis];
    return !st->summarise || d <= 2 * GT__EDGE || i < GT__EDGE || i >= d - GT__EDGE;
}

static void elem_text(const style *st, int64_t i, char *s, size_t n) {
    const gt_tensor *t = st->t;
    double v = gt__get(t, i);
    switch (t->dtype) {
    case GT_BOOL: snprintf(s, n, v != 0 ? "True" : "False"); return;
    case GT_I32:
    case GT_I64: snprintf(s, n, "%lld", t->dtype == GT_I64 ? (long long)((const int64_t *)t->data)[i] : (long long)v); return;
    default: if (st->sci) fmt_sci(s, n, v, st->f32); else fmt_fixed(s, n, v, st->f32); return;
    }
}

static void elem_padded(const style *st, int64_t i, char *s, size_t n) {
    char raw[64];
    elem_text(st, i, raw, sizeof raw);
    if (gt__is_float(st->t->dtype) && !st->sci) {
        const char *dot = strchr(raw, '.');
        int il = dot ? (int)(dot - raw) : (int)strlen(raw);
        int fl = dot ? (int)strlen(dot + 1) : 0;
        snprintf(s, n, "%*s%s%*s", st->int_w - il, "", raw, dot ? st->frac_w - fl : st->frac_w + 1, "");
    } else {
        snprintf(s, n, "%*s", st->int_w, raw);
    }
}

/* Prints the sub-array at flat offset base for axis, with indent columns of '['. */
static void print_rec(out_t *o, const style *st, int axis, int64_t base, int64_t stride, int indent) {
    const gt_tensor *t = st->t;
    int64_t d = t->shape[axis], inner = stride / (d ? d : 1);
    put(o, "[");
    if (axis == t->rank - 1) {
        int col = indent + 1;
        bool first = true;
        for (int64_t i = 0; i < d; i++) {
            if (!shown(st, axis, i)) {
                if (i == GT__EDGE) {
                    put(o, first ? "..." : " ...");
                    col += 4;
                    first = false;
                }
                continue;
            }
            char s[96];
            elem_padded(st, base + i, s, sizeof s);
            int w = (int)strlen(s);
            if (!first) {
                if (col + 1 + w + 1 > GT__WIDTH) {
                    put(o, "\n");
                    for (int k = 0; k < indent + 1; k++) put(o, " ");
                    col = indent + 1;
                } else {
                    put(o, " ");
                    col++;
                }
            }
            put(o, s);
            col += w;
            first = false;
        }
    } else {
        bool first = true;
        for (int64_t i = 0; i < d; i++) {
            if (!shown(st, axis, i)) {
                if (i == GT__EDGE) {
                    put(o, "\n");
                    for (int k = 0; k < indent + 1; k++) put(o, " ");
                    put(o, "...");
                }
                continue;
            }
            if (!first) {
                for (int k = 0; k < t->rank - 1 - axis; k++) put(o, "\n");
                for (int k = 0; k < indent + 1; k++) put(o, " ");
            }
            print_rec(o, st, axis + 1, base + i * inner, inner, indent + 1);
            first = false;
        }
    }
    put(o, "]");
}

static bool visible(const style *st, int64_t i) {
    const gt_tensor *t = st->t;
    for (int a = t->rank; a-- > 0;) {
        int64_t d = t->shape[a];
        if (!shown(st, a, i % d)) return false;
        i /= d;
    }
    return true;
}

int gt_tensor_format(const gt_tensor *t, char *buf, size_t n) {
    out_t o = {buf, n, 0};
    if (n) buf[0] = 0;
    if (!t) {
        put(&o, "NULL");
        return (int)o.len;
    }
    style st = {.t = t, .f32 = t->dtype == GT_F32, .summarise = t->size > GT__THRESHOLD};
    if (t->rank == 0) {
        char s[64];
        elem_text(&st, 0, s, sizeof s);
        if (gt__is_float(t->dtype) && isfinite(gt__get(t, 0)) && s[strlen(s) - 1] == '.') strcat(s, "0");
        put(&o, s);
        return (int)o.len;
    }
    if (t->size == 0) {
        put(&o, "[]");
        return (int)o.len;
    }
    if (gt__is_float(t->dtype)) {
        double mx = 0, mn = INFINITY;
        for (int64_t i = 0; i < t->size; i++) {
            double a = fabs(gt__get(t, i));
            if (!isfinite(a) || !visible(&st, i)) continue;
            if (a > mx) mx = a;
            if (a > 0 && a < mn) mn = a;
        }
        st.sci = mx >= 1e8 || (mn < 1e-4 && mn > 0) || (mn < INFINITY && mx / mn > 1e3);
    }
    for (int64_t i = 0; i < t->size; i++) {
        if (!visible(&st, i)) continue;
        char s[64];
        elem_text(&st, i, s, sizeof s);
        if (gt__is_float(t->dtype) && !st.sci) {
            const char *dot = strchr(s, '.');
            int il = dot ? (int)(dot - s) : (int)strlen(s);
            int fl = dot ? (int)strlen(dot + 1) : 0;
            if (il > st.int_w) st.int_w = il;
            if (fl > st.frac_w) st.frac_w = fl;
        } else if ((int)strlen(s) > st.int_w) {
            st.int_w = (int)strlen(s);
        }
    }
    print_rec(&o, &st, 0, 0, t->size, 0);
    return (int)o.len;
}

void gt_fprint(FILE *f, const gt_tensor *t) {
    char small[4096];
    int n = gt_tensor_format(t, small, sizeof small);
    if (n < (int)sizeof small) {
        fputs(small, f);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        fputs(small, f);
        return;
    }
    gt_tensor_format(t, big, (size_t)n + 1);
    fputs(big, f);
    free(big);
}

void gt_print(const gt_tensor *t) {
    gt_fprint(stdout, t);
    fputc('\n', stdout);
}
