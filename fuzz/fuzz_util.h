/* Helpers shared by the libFuzzer targets in fuzz/ (see fuzz/README.md). */
#ifndef GT_FUZZ_UTIL_H
#define GT_FUZZ_UTIL_H

#include <gradtape.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

/* A broken invariant is a crash: libFuzzer saves the input and stops. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "INVARIANT FAILED at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n  gt_error(): %s\n", gt_error() ? gt_error() : "(none)");           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* FUZZ_VERBOSE=1 (when reproducing one input) prints what each step returned. */
static inline bool fuzz_verbose(void) {
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("FUZZ_VERBOSE");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v == 1;
}
#define FUZZ_LOG(...)                                                                              \
    do {                                                                                           \
        if (fuzz_verbose()) {                                                                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "%s%s\n", gt_error() ? "  error: " : "",                               \
                    gt_error() ? gt_error() : "");                                                 \
        }                                                                                          \
    } while (0)

/* Failure must leave a message; success must leave none (the error was cleared before). */
static inline void fuzz_check_error(bool ok, const char *what) {
    if (ok)
        FUZZ_CHECK(gt_ok(), "%s succeeded but left an error pending", what);
    else
        FUZZ_CHECK(!gt_ok() && gt_error() && gt_error()[0], "%s failed without a message", what);
}

/* Reads every byte of p[0..n) so that ASan sees an out-of-bounds buffer. */
static inline void fuzz_touch(const void *p, size_t n) {
    const volatile unsigned char *b = p;
    unsigned char acc = 0;
    for (size_t i = 0; i < n; i++)
        acc ^= b[i];
    (void)acc;
}

/* The input as a file for path-based APIs: one memfd per process, rewritten each time and
 * opened through /proc/self/fd (a per-process file under /tmp when there is no memfd). */
static inline const char *fuzz_as_file(const void *data, size_t n) {
    static int fd = -2;
    static char path[64];
    if (fd == -2) {
#if defined(__linux__) && defined(SYS_memfd_create)
        fd = (int)syscall(SYS_memfd_create, "gt-fuzz", 0);
        if (fd >= 0)
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
#else
        fd = -1;
#endif
        if (fd < 0) {
            snprintf(path, sizeof path, "/tmp/gt-fuzz-%ld.bin", (long)getpid());
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        }
        FUZZ_CHECK(fd >= 0, "cannot create a scratch file");
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
    const unsigned char *p = data;
    for (size_t at = 0; at < n;) {
        ssize_t w = pwrite(fd, p + at, n - at, (off_t)at);
        FUZZ_CHECK(w > 0, "pwrite");
        at += (size_t)w;
    }
    return path;
}

/* An exact-size heap copy (so ASan catches reads one past the end; libFuzzer's own buffer is
 * exact too, but targets that slice the input need their own). */
static inline void *fuzz_dup(const void *p, size_t n) {
    void *d = malloc(n ? n : 1);
    FUZZ_CHECK(d != NULL, "malloc");
    if (n)
        memcpy(d, p, n);
    return d;
}

#endif
