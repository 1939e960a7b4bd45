/* keras.callbacks.History: every epoch's logs; written as CSV (the columns Keras' CSVLogger
 * writes) and drawn as an SVG chart (loss panel, accuracy panel), both atomically. */
#include "nn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gt_history {
    int nkeys;
    char keys[GT_LOGS_MAX][GT_LOGS_NAME_MAX];
    int64_t n, cap;
    int64_t *epoch;
    double *values; /* n rows of GT_LOGS_MAX values (NaN when absent) */
};

gt_history *gt_history_new(void) {
    gt_history *h = calloc(1, sizeof *h);
    if (!h)
        nn_error("history: out of memory");
    return h;
}

void gt_history_free(gt_history *h) {
    if (!h)
        return;
    free(h->epoch);
    free(h->values);
    free(h);
}

static int key_index(const gt_history *h, const char *key) {
    for (int i = 0; i < h->nkeys; i++)
        if (strcmp(h->keys[i], key) == 0)
            return i;
    return -1;
}

bool gt_history_append(gt_history *h, int64_t epoch, const gt_logs *logs) {
    if (!h || !logs) {
        nn_error("history append: NULL argument");
        return false;
    }
    for (int i = 0; i < logs->n; i++)
        if (key_index(h, logs->names[i]) < 0) {
            if (h->nkeys >= GT_LOGS_MAX) {
                nn_error("history: more than %d keys", GT_LOGS_MAX);
                return false;
            }
            snprintf(h->keys[h->nkeys++], GT_LOGS_NAME_MAX, "%s", logs->names[i]);
        }
    if (h->n == h->cap) {
        int64_t nc = h->cap ? 2 * h->cap : 16;
        int64_t *ne = realloc(h->epoch, sizeof *ne * (size_t)nc);
        if (!ne) {
            nn_error("history: out of memory");
            return false;
        }
        h->epoch = ne;
        double *nv = realloc(h->values, sizeof *nv * (size_t)nc * GT_LOGS_MAX);
        if (!nv) {
            nn_error("history: out of memory");
            return false;
        }
        h->values = nv;
        h->cap = nc;
    }
    double *row = h->values + h->n * GT_LOGS_MAX;
    for (int k = 0; k < GT_LOGS_MAX; k++)
        row[k] = NAN;
    for (int i = 0; i < logs->n; i++)
        row[key_index(h, logs->names[i])] = logs->values[i];
    h->epoch[h->n++] = epoch;
    return true;
}

int64_t gt_history_epochs(const gt_history *h) {
    return h ? h->n : 0;
}
int gt_history_num_keys(const gt_history *h) {
    return h ? h->nkeys : 0;
}
const char *gt_history_key(const gt_history *h, int i) {
    return h && i >= 0 && i < h->nkeys ? h->keys[i] : NULL;
}
int64_t gt_history_epoch(const gt_history *h, int64_t i) {
    return h && i >= 0 && i < h->n ? h->epoch[i] : -1;
}
double gt_history_get(const gt_history *h, const char *key, int64_t i) {
    if (!h || !key || i < 0 || i >= h->n)
        return NAN;
    int k = key_index(h, key);
    return k < 0 ? NAN : h->values[i * GT_LOGS_MAX + k];
}

/* ---- atomic text files -------------------------------------------------------------------- */

typedef struct afile {
    FILE *f;
    char tmp[4200];
    const char *path;
} afile;

static bool afile_open(afile *a, const char *path, const char *what) {
    if (!path || !*path) {
        nn_error("%s: empty path", what);
        return false;
    }
    if (strlen(path) > 4000) {
        nn_error("%s: path too long", what);
        return false;
    }
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->path = path;
    a->f = fopen(a->tmp, "w");
    if (!a->f) {
        nn_error("%s: cannot write '%s': %s (does the folder exist and is it writable?)", what,
                 path, strerror(errno));
        return false;
    }
    return true;
}

static bool afile_close(afile *a, const char *what) {
    bool ok = !ferror(a->f) && fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    int err = errno;
    ok = fclose(a->f) == 0 && ok;
    if (ok && rename(a->tmp, a->path) != 0) {
        err = errno;
        ok = false;
    }
    if (!ok) {
        remove(a->tmp);
        nn_error("%s: writing '%s' failed: %s", what, a->path, strerror(err));
    }
    return ok;
}

/* Python's repr of a float: the shortest text that reads back to the same double. */
static void put_double(FILE *f, double v) {
    if (isnan(v))
        return; /* an empty cell, as CSVLogger writes a missing key */
    char b[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (strtod(b, NULL) == v)
            break;
    }
    fputs(b, f);
}

/* Keys sorted as CSVLogger sorts them (plain string order: accuracy, loss, val_accuracy, ...). */
static int sorted_keys(const gt_history *h, int *order) {
    for (int i = 0; i < h->nkeys; i++)
        order[i] = i;
    for (int i = 1; i < h->nkeys; i++)
        for (int j = i; j > 0 && strcmp(h->keys[order[j - 1]], h->keys[order[j]]) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return h->nkeys;
}

bool gt_history_write_csv(const gt_history *h, const char *path) {
    if (!h) {
        nn_error("history csv: NULL history");
        return false;
    }
    afile a;
    if (!afile_open(&a, path, "history csv"))
        return false;
    int order[GT_LOGS_MAX];
    int nk = sorted_keys(h, order);
    fputs("epoch", a.f);
    for (int i = 0; i < nk; i++)
        fprintf(a.f, ",%s", h->keys[order[i]]);
    fputc('\n', a.f);
    for (int64_t e = 0; e < h->n; e++) {
        fprintf(a.f, "%lld", (long long)h->epoch[e]);
        for (int i = 0; i < nk; i++) {
            fputc(',', a.f);
            put_double(a.f, h->values[e * GT_LOGS_MAX + order[i]]);
        }
        fputc('\n', a.f);
    }
    return afile_close(&a, "history csv");
}

/* ---- SVG chart ---------------------------------------------------------------------------- */

static void xml_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about `want` intervals. */
static double nice_step(double range, int want) {
    if (!(range > 0))
        return 1;
    double raw = range / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                     "#8c564b"};

typedef struct panel {
    const char *title, *ylabel;
    int nseries;
    int keys[8];
} panel;

static void draw_panel(FILE *f, const gt_history *h, const panel *p, double x0, double y0,
                       double w, double hgt) {
    double px0 = x0 + 62, px1 = x0 + w - 16, py0 = y0 + 34, py1 = y0 + hgt - 48;
    /* data ranges */
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < p->nseries; s++)
        for (int64_t e = 0; e < h->n; e++) {
            double v = h->values[e * GT_LOGS_MAX + p->keys[s]];
            if (isfinite(v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.05 : 0.5;
        lo -= pad;
        hi += pad;
    }
    double ystep = nice_step(hi - lo, 5);
    double ylo = floor(lo / ystep) * ystep, yhi = ceil(hi / ystep) * ystep;
    double xmin = (double)(h->n ? h->epoch[0] + 1 : 1), xmax = (double)(h->n ? h->epoch[h->n - 1] + 1 : 1);
    if (xmax - xmin < 1) {
        xmin -= 0.5;
        xmax += 0.5;
    }
    double xstep = nice_step(xmax - xmin, 8);
    if (xstep < 1)
        xstep = 1;
#define SX(x) (px0 + ((x) - xmin) / (xmax - xmin) * (px1 - px0))
#define SY(y) (py1 - ((y) - ylo) / (yhi - ylo) * (py1 - py0))
    fprintf(f, "<g class=\"panel\">\n");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"15\" "
               "font-weight=\"bold\">", (px0 + px1) / 2, y0 + 20);
    xml_text(f, p->title);
    fputs("</text>\n", f);
    /* grid and y ticks */
    for (double t = ylo; t <= yhi + ystep * 1e-6; t += ystep) {
        double y = SY(t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                px0, y, px1, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" font-size=\"11\">%.*f</text>\n",
                px0 - 6, y + 4, ystep >= 1 ? 0 : (int)ceil(-log10(ystep) - 1e-9), t);
    }
    /* x ticks */
    for (double t = ceil(xmin); t <= xmax + 1e-9; t += xstep) {
        double x = SX(t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n",
                x, py1, x, py1 + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\">%.0f</text>\n",
                x, py1 + 18, t);
    }
    /* axes */
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", px0,
            py1, px1, py1);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n", px0,
            py0, px0, py1);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">epoch</text>\n",
            (px0 + px1) / 2, py1 + 36);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
               "transform=\"rotate(-90 %.1f %.1f)\">", x0 + 16, (py0 + py1) / 2, x0 + 16,
            (py0 + py1) / 2);
    xml_text(f, p->ylabel);
    fputs("</text>\n", f);
    /* series */
    for (int s = 0; s < p->nseries; s++) {
        const char *key = h->keys[p->keys[s]];
        const char *col = colors[s % 6];
        bool val = strncmp(key, "val_", 4) == 0;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col,
                val ? " stroke-dasharray=\"6,3\"" : "");
        for (int64_t e = 0; e < h->n; e++) {
            double v = h->values[e * GT_LOGS_MAX + p->keys[s]];
            if (isfinite(v))
                fprintf(f, "%.1f,%.1f ", SX((double)h->epoch[e] + 1), SY(v));
        }
        fputs("\"/>\n", f);
        for (int64_t e = 0; e < h->n; e++) {
            double v = h->values[e * GT_LOGS_MAX + p->keys[s]];
            if (isfinite(v))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                        SX((double)h->epoch[e] + 1), SY(v), col);
        }
    }
    /* legend, top right inside the plot */
    double lx = px1 - 130, ly = py0 + 6;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"124\" height=\"%d\" fill=\"#fff\" "
               "fill-opacity=\"0.85\" stroke=\"#999\"/>\n", lx, ly, 8 + 18 * p->nseries);
    for (int s = 0; s < p->nseries; s++) {
        const char *key = h->keys[p->keys[s]];
        bool val = strncmp(key, "val_", 4) == 0;
        double yy = ly + 16 + 18 * s;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-width=\"2\"%s/>\n", lx + 8, yy - 4, lx + 32, yy - 4, colors[s % 6],
                val ? " stroke-dasharray=\"6,3\"" : "");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", lx + 38, yy);
        xml_text(f, key);
        fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
#undef SX
#undef SY
}

bool gt_history_write_svg(const gt_history *h, const char *path, const char *title) {
    if (!h) {
        nn_error("history svg: NULL history");
        return false;
    }
    panel loss = {"Loss", "loss", 0, {0}}, acc = {"Accuracy", "accuracy", 0, {0}};
    int order[GT_LOGS_MAX];
    int nk = sorted_keys(h, order);
    for (int i = 0; i < nk; i++) {
        const char *k = h->keys[order[i]];
        const char *base = strncmp(k, "val_", 4) == 0 ? k + 4 : k;
        if (strstr(base, "loss") && loss.nseries < 8)
            loss.keys[loss.nseries++] = order[i];
        else if (strstr(base, "acc") && acc.nseries < 8)
            acc.keys[acc.nseries++] = order[i];
    }
    afile a;
    if (!afile_open(&a, path, "history svg"))
        return false;
    int npanels = acc.nseries ? 2 : 1;
    double pw = 480, ph = 360, top = title ? 30 : 0;
    double W = pw * npanels, H = ph + top;
    fprintf(a.f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(a.f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
                 "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n",
            W, H, W, H);
    fprintf(a.f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", W, H);
    if (title) {
        fprintf(a.f, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"16\">",
                W / 2);
        xml_text(a.f, title);
        fputs("</text>\n", a.f);
    }
    draw_panel(a.f, h, &loss, 0, top, pw, ph);
    if (acc.nseries)
        draw_panel(a.f, h, &acc, pw, top, pw, ph);
    fputs("</svg>\n", a.f);
    return afile_close(&a, "history svg");
}
