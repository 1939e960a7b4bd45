/* The op profiler (gt_profiler_*): wall time per op name and phase, plus named regions for the
 * work that is not an op (optimizer updates, dataset batches).
 *
 * Off, it costs one relaxed atomic load per op. On, each record takes a mutex: the profiler is
 * for finding where a step's time goes, not for running inside the timed loop of a benchmark.
 * Rows are keyed by the name pointer (every op and region name is a string literal), so a
 * lookup is a short probe of a fixed open-addressing table, with no string work. */
#include "core/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 512 /* a power of two, above the number of ops and regions times two phases */

typedef struct row {
    const char *name; /* NULL: empty slot */
    int kind;         /* gt__prof_kind */
    int64_t calls;
    double secs;
} row;

atomic_int gt__prof_on;
_Thread_local int gt__prof_grad;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static row rows[SLOTS];
static int64_t nrows;
static double t_start, t_stop; /* wall clock of start and of stop (0 while running) */

double gt__prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void gt__prof_add(const char *name, gt__prof_kind kind, double secs) {
    const size_t h = ((size_t)(uintptr_t)name >> 3) * 31u + (size_t)kind;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SLOTS; i++) {
        row *r = &rows[(h + i) & (SLOTS - 1)];
        if (!r->name) {
            if (nrows >= SLOTS / 2) /* keep probes short; only unseen names are dropped */
                break;
            *r = (row){name, (int)kind, 0, 0};
            nrows++;
        }
        if (r->name == name && r->kind == (int)kind) {
            r->calls++;
            r->secs += secs;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

void gt_profiler_start(void) {
    pthread_mutex_lock(&lock);
    memset(rows, 0, sizeof rows);
    nrows = 0;
    t_start = gt__prof_now();
    t_stop = 0;
    pthread_mutex_unlock(&lock);
    atomic_store_explicit(&gt__prof_on, 1, memory_order_relaxed);
}

void gt_profiler_stop(void) {
    if (!atomic_exchange_explicit(&gt__prof_on, 0, memory_order_relaxed))
        return;
    pthread_mutex_lock(&lock);
    t_stop = gt__prof_now();
    pthread_mutex_unlock(&lock);
}

static int by_time(const void *a, const void *b) {
    const row *x = a, *y = b;
    if (x->secs != y->secs)
        return x->secs < y->secs ? 1 : -1;
    const int c = strcmp(x->name, y->name);
    return c ? c : x->kind - y->kind;
}

bool gt_profiler_write(FILE *f) {
    if (!f) {
        gt__error_null("gt_profiler_write");
        return false;
    }
    static const char *const kinds[] = {"forward", "gradient", "other"};
    row sorted[SLOTS];
    int64_t n = 0;
    double wall, in_rows = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SLOTS; i++)
        if (rows[i].name)
            sorted[n++] = rows[i];
    wall = (t_stop ? t_stop : gt__prof_now()) - t_start;
    pthread_mutex_unlock(&lock);
    if (t_start == 0) {
        gt__error("gt_profiler_write: the profiler has not been started (gt_profiler_start)");
        return false;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, by_time);
    for (int64_t i = 0; i < n; i++)
        in_rows += sorted[i].secs;
    const double pct = wall > 0 ? 100.0 / wall : 0;
    int w = (int)strlen("wall time profiled");
    for (int64_t i = 0; i < n; i++)
        if ((int)strlen(sorted[i].name) > w)
            w = (int)strlen(sorted[i].name);
    fprintf(f, "%-*s %-8s %9s %11s %10s %7s\n", w, "op or region", "phase", "calls", "total ms",
            "mean us", "share");
    for (int64_t i = 0; i < n; i++) {
        const row *r = &sorted[i];
        fprintf(f, "%-*s %-8s %9lld %11.3f %10.2f %6.1f%%\n", w, r->name, kinds[r->kind],
                (long long)r->calls, 1e3 * r->secs, 1e6 * r->secs / (double)r->calls,
                pct * r->secs);
    }
    fprintf(f, "%-*s %-8s %9s %11.3f %10s %6.1f%%\n", w, "all of the above", "", "", 1e3 * in_rows,
            "", pct * in_rows);
    fprintf(f, "%-*s %-8s %9s %11.3f %10s %6.1f%%\n", w, "wall time profiled", "", "", 1e3 * wall,
            "", wall > 0 ? 100.0 : 0);
    if (fflush(f) != 0 || ferror(f)) {
        gt__error("gt_profiler_write: writing the table failed");
        return false;
    }
    return true;
}
