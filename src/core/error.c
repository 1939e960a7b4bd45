/* Thread-local error state and the warning channel. */
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define GT__ERR_MAX 1024

static _Thread_local char err_buf[GT__ERR_MAX];
_Thread_local bool gt__err_set;
static gt_error_handler err_handler;
static void *err_user;
static gt_warning_handler warn_handler;
static void *warn_user;

const char *gt_error(void) { return gt__err_set ? err_buf : NULL; }
void gt_error_clear(void) { gt__err_set = false; err_buf[0] = 0; }
bool gt_ok(void) { return !gt__err_set; }

void gt_set_error_handler(gt_error_handler handler, void *user) {
    err_handler = handler;
    err_user = user;
}

void gt_abort_on_error(const char *message, void *user) {
    (void)user;
    fprintf(stderr, "gradtape error: %s\n", message);
    abort();
}

/* The first error wins: later failures are usually consequences of it. */
static void set_v(const char *fmt, va_list ap) {
    if (gt__err_set) return;
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    gt__err_set = true;
    if (err_handler) err_handler(err_buf, err_user);
}

void gt__error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_v(fmt, ap);
    va_end(ap);
}

void gt_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_v(fmt, ap);
    va_end(ap);
}

void gt__error_null(const char *who) {
    if (!gt__err_set) gt__error("%s: an input is NULL (no earlier error was recorded)", who);
}

void gt__error_oom(const char *what, size_t bytes) {
    gt__error("out of memory: could not allocate %zu bytes for %s", bytes, what);
}

void gt_set_warning_handler(gt_warning_handler handler, void *user) {
    warn_handler = handler;
    warn_user = user;
}

static void warn_v(const char *fmt, va_list ap) {
    char buf[GT__ERR_MAX];
    vsnprintf(buf, sizeof buf, fmt, ap);
    if (warn_handler)
        warn_handler(buf, warn_user);
    else
        fprintf(stderr, "WARNING: %s\n", buf);
}

void gt_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    warn_v(fmt, ap);
    va_end(ap);
}

void gt__warn_once(int *flag, const char *fmt, ...) {
    if (*flag) return;
    *flag = 1;
    va_list ap;
    va_start(ap, fmt);
    warn_v(fmt, ap);
    va_end(ap);
}
