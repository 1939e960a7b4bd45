/* keras.utils.Progbar (keras/src/utils/progbar.py, Keras 3) for fit / evaluate / predict, and
 * the logs dict. Formats exactly as Keras 3 does: "%{digits}d/%d", a 20-cell bar of U+2501
 * (green done, white to go), the time left while running ("2s", "1:05", "1:02:03") or the
 * elapsed time when finished ("3s"), the time per step ("6ms/step", "850us/step", "1s/step"),
 * then " - name: value" with 4 decimals (or 4 significant digits in e-notation below 1e-3).
 * Everything is formatted into a fixed buffer: an update allocates nothing. */
#include "nn_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- logs -------------------------------------------------------------------------------- */

static int logs_find(const gt_logs *l, const char *name) {
    for (int i = 0; l && name && i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return i;
    return -1;
}

double gt_logs_get(const gt_logs *l, const char *name) {
    int i = logs_find(l, name);
    return i < 0 ? NAN : l->values[i];
}

bool gt_logs_has(const gt_logs *l, const char *name) {
    return logs_find(l, name) >= 0;
}

bool gt_logs_set(gt_logs *l, const char *name, double value) {
    if (!l || !name)
        return false;
    int i = logs_find(l, name);
    if (i < 0) {
        if (l->n >= GT_LOGS_MAX || strlen(name) >= GT_LOGS_NAME_MAX) {
            nn_error("logs: cannot add '%s' (at most %d entries of names shorter than %d)", name,
                     GT_LOGS_MAX, GT_LOGS_NAME_MAX);
            return false;
        }
        i = l->n++;
        snprintf(l->names[i], GT_LOGS_NAME_MAX, "%s", name);
    }
    l->values[i] = value;
    return true;
}

/* ---- the bar ----------------------------------------------------------------------------- */

#define PB_WIDTH 20
#define PB_BUF 4096

struct gt_progbar {
    int64_t target;
    int verbose;
    FILE *f;
    bool dynamic;
    double start, last_update, after_first; /* after_first < 0: not yet */
    int prev_width;
    char buf[PB_BUF];
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool is_terminal(FILE *f) {
    const char *env = getenv("GT_PROGBAR_TTY");
    if (env && *env)
        return env[0] == '1' || env[0] == 'y' || env[0] == 't';
    return isatty(fileno(f)) == 1;
}

gt_progbar *gt_progbar_new(int64_t target, int verbose, FILE *f) {
    gt_progbar *pb = calloc(1, sizeof *pb);
    if (!pb) {
        nn_error("progbar: out of memory");
        return NULL;
    }
    pb->target = target;
    pb->verbose = verbose;
    pb->f = f ? f : stdout;
    pb->dynamic = is_terminal(pb->f);
    pb->start = now_s();
    pb->last_update = 0;
    pb->after_first = -1;
    return pb;
}

void gt_progbar_free(gt_progbar *pb) {
    free(pb);
}

/* _estimate_step_duration: ignores the (slow, non-representative) first step once there are
 * more. */
static double step_duration(gt_progbar *pb, int64_t current, double now) {
    if (!current)
        return 0;
    double t;
    if (pb->after_first >= 0 && current > 1)
        t = (now - pb->after_first) / (double)(current - 1);
    else
        t = (now - pb->start) / (double)current;
    if (current == 1)
        pb->after_first = now;
    return t;
}

typedef struct out {
    char *p;
    size_t n, k;
    int visible; /* printed width without escape sequences (U+2501 counts as one) */
} out;

static void put(out *o, bool vis, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void put(out *o, bool vis, const char *fmt, ...) {
    if (o->k >= o->n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->p + o->k, o->n - o->k, fmt, ap);
    va_end(ap);
    if (w < 0)
        return;
    if ((size_t)w >= o->n - o->k)
        w = (int)(o->n - o->k - 1);
    o->k += (size_t)w;
    if (vis)
        o->visible += w;
}

static void put_bar_cells(out *o, int cells) {
    for (int i = 0; i < cells && o->k + 4 < o->n; i++) {
        memcpy(o->p + o->k, "\xe2\x94\x81", 3); /* ━ */
        o->k += 3;
        o->visible += 1;
    }
    o->p[o->k] = 0;
}

static void put_time_per_unit(out *o, double t) {
    if (t >= 1 || t == 0)
        put(o, true, " %.0fs/step", t);
    else if (t >= 1e-3)
        put(o, true, " %.0fms/step", t * 1000.0);
    else
        put(o, true, " %.0fus/step", t * 1e6);
}

static void put_values(out *o, const gt_logs *logs, bool plain) {
    for (int i = 0; logs && i < logs->n; i++) {
        double v = logs->values[i];
        /* verbose 1 compares abs(avg); verbose 2 compares avg (Keras' own asymmetry) */
        bool fixed = plain ? v > 1e-3 : fabs(v) > 1e-3;
        if (fixed)
            put(o, true, " - %s: %.4f", logs->names[i], v);
        else
            put(o, true, " - %s: %.4e", logs->names[i], v);
    }
}

static int digits(int64_t n) {
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

void gt_progbar_update(gt_progbar *pb, int64_t current, const gt_logs *logs, bool finalize) {
    if (!pb || pb->verbose <= 0)
        return;
    double now = now_s();
    double tpu = step_duration(pb, current, now);
    out o = {pb->buf, PB_BUF, 0, 0};
    pb->buf[0] = 0;
    bool bar_mode = pb->verbose == 1 && pb->dynamic;
    if (!bar_mode) {
        /* verbose 2, or verbose 1 off a terminal: only the final line, in verbose 2's form */
        if (finalize && pb->target > 0) {
            put(&o, true, "%*lld/%lld - %.0fs -", digits(pb->target), (long long)current,
                (long long)pb->target, now - pb->start);
            put_time_per_unit(&o, tpu);
            put_values(&o, logs, true);
            put(&o, true, "\n");
            fputs(pb->buf, pb->f);
            fflush(pb->f);
        }
        pb->last_update = now;
        return;
    }
    if (now - pb->last_update < 0.05 && !finalize)
        return;
    put(&o, false, "\r");
    if (pb->target > 0) {
        put(&o, false, "\x1b[1m");
        put(&o, true, "%*lld/%lld", digits(pb->target), (long long)current,
            (long long)pb->target);
        put(&o, false, "\x1b[0m");
        put(&o, true, " ");
        double prog = (double)current / (double)pb->target;
        int done = (int)(PB_WIDTH * prog);
        if (done > PB_WIDTH)
            done = PB_WIDTH;
        if (done > 0) {
            put(&o, false, "\x1b[32m");
            put_bar_cells(&o, done);
            put(&o, false, "\x1b[0m");
        }
        put(&o, false, "\x1b[37m");
        put_bar_cells(&o, PB_WIDTH - done);
        put(&o, false, "\x1b[0m");
    } else {
        put(&o, true, "%7lld/Unknown", (long long)current);
    }
    if (pb->target > 0 && !finalize) {
        double eta = tpu * (double)(pb->target - current);
        long long e = (long long)eta;
        put(&o, true, " ");
        put(&o, false, "\x1b[1m");
        if (eta > 3600)
            put(&o, true, "%lld:%02lld:%02lld", e / 3600, (e % 3600) / 60, e % 60);
        else if (eta > 60)
            put(&o, true, "%lld:%02lld", e / 60, e % 60);
        else
            put(&o, true, "%llds", e);
        put(&o, false, "\x1b[0m");
    } else {
        put(&o, true, " ");
        put(&o, false, "\x1b[1m");
        put(&o, true, "%.0fs", now - pb->start);
        put(&o, false, "\x1b[0m");
    }
    put_time_per_unit(&o, tpu);
    put_values(&o, logs, false);
    int width = o.visible;
    for (int i = width; i < pb->prev_width; i++)
        put(&o, false, " ");
    if (finalize)
        put(&o, false, "\n");
    fputs(pb->buf, pb->f);
    fflush(pb->f);
    pb->prev_width = width;
    pb->last_update = now;
}
