/* The kernel thread pool: gt__par_for runs the tasks [0, n) of one job on the calling thread
 * and on gt__threads() - 1 workers that claim tasks one at a time.
 *
 * Why not OpenMP: an OpenMP team splits work statically and every region ends in a barrier
 * that waits for every thread of the team. On a busy machine (another process, a game's render
 * thread, a test suite) a worker is often not running when a region starts, and the caller
 * then waits a scheduler time slice for it, at every region: a Fashion-MNIST MLP epoch went
 * from 1.2 s to 25 s under a load of 6 on 2 cores. Here the caller never waits for a worker
 * that has not started: tasks are claimed dynamically, the caller runs whatever nobody else
 * has claimed, and it only waits for tasks a worker has claimed and is running. Which thread
 * runs a task never changes what the task computes, so results stay bitwise independent of
 * the thread count and of scheduling.
 *
 * The claim word packs (next task, task count, thread limit) into one 64-bit atomic; a worker
 * claims with a compare-and-swap and reads the job's fields only after a successful claim.
 * A job's fields are written before its claim word is published (release) and are not
 * rewritten until every claimed task has finished, so a claimed task always sees its own job,
 * even when the worker woke for an earlier one. Idle workers spin for about 50 us (a training
 * step's next region usually comes sooner), then sleep on a futex. */
#define _GNU_SOURCE
#include "core/internal.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define HAVE_FUTEX 1
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 63
#define TASK_BITS 28 /* tasks per job, < 2^28 */
#define TASK_MASK ((UINT64_C(1) << TASK_BITS) - 1)
#define SPIN_NS 50000

/* word = next | count << 28 | threads << 56 */
static uint64_t pack(int64_t next, int64_t count, int threads) {
    return (uint64_t)next | (uint64_t)count << TASK_BITS | (uint64_t)threads << (2 * TASK_BITS);
}

static struct {
    pthread_mutex_t run; /* one job at a time; a second caller runs its job serially */
    pthread_mutex_t grow;
    _Atomic uint64_t word;
    _Atomic int64_t done; /* tasks of the current job finished */
    _Atomic uint32_t seq; /* futex word: bumped when a job is published */
    _Atomic int sleepers;
    gt__par_fn fn; /* the current job (stable while any of its tasks runs) */
    void *ctx;
    _Atomic int nworkers;
} P = {.run = PTHREAD_MUTEX_INITIALIZER, .grow = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local bool in_task; /* nested gt__par_for calls run serially */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Claims and runs tasks until the job has none left unclaimed. */
static void run_tasks(int tid) {
    uint64_t w = atomic_load_explicit(&P.word, memory_order_acquire);
    for (;;) {
        const int64_t next = (int64_t)(w & TASK_MASK), count = (int64_t)(w >> TASK_BITS & TASK_MASK);
        const int threads = (int)(w >> (2 * TASK_BITS));
        if (next >= count || tid >= threads)
            return;
        if (!atomic_compare_exchange_weak_explicit(&P.word, &w, w + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        P.fn(P.ctx, next, tid);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
        w = atomic_load_explicit(&P.word, memory_order_acquire);
    }
}

static bool has_work(void) {
    uint64_t w = atomic_load_explicit(&P.word, memory_order_acquire);
    return (w & TASK_MASK) < (w >> TASK_BITS & TASK_MASK);
}

static void *worker(void *arg) {
    const int tid = (int)(intptr_t)arg;
    in_task = true;
    for (;;) {
        uint32_t seq = atomic_load_explicit(&P.seq, memory_order_acquire);
        run_tasks(tid);
        /* spin a little: the next job of a training step usually follows within microseconds */
        double t0 = now_ns();
        bool woke = false;
        for (int i = 1; !woke; i++) {
            woke = atomic_load_explicit(&P.seq, memory_order_acquire) != seq || has_work();
            if (!woke && (i & 63) == 0 && now_ns() - t0 > SPIN_NS)
                break;
            CPU_RELAX();
        }
        if (woke)
            continue;
        /* sleepers, then seq (both seq_cst), against the caller's seq, then sleepers: either
         * the caller sees this sleeper and wakes it, or this worker sees the new seq */
        atomic_fetch_add(&P.sleepers, 1);
#ifdef HAVE_FUTEX
        if (atomic_load(&P.seq) == seq && !has_work())
            syscall(SYS_futex, &P.seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
#else
        sched_yield();
#endif
        atomic_fetch_sub(&P.sleepers, 1);
    }
    return NULL;
}

/* Starts workers up to n; false when none could be started. */
static int ensure_workers(int n) {
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    if (P.nworkers >= n)
        return n;
    pthread_mutex_lock(&P.grow);
    while (P.nworkers < n) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        bool ok = pthread_create(&t, &a, worker, (void *)(intptr_t)(P.nworkers + 1)) == 0;
        pthread_attr_destroy(&a);
        if (!ok)
            break;
        P.nworkers++;
    }
    int have = P.nworkers;
    pthread_mutex_unlock(&P.grow);
    return have < n ? have : n;
}

void gt__par_for(int64_t n, int threads, gt__par_fn fn, void *ctx) {
    if (n <= 0)
        return;
    int nt = gt__threads();
    if (threads > 0 && threads < nt)
        nt = threads;
    if ((int64_t)nt > n)
        nt = (int)n;
    if (nt <= 1 || in_task || n > (int64_t)TASK_MASK || pthread_mutex_trylock(&P.run) != 0) {
        for (int64_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    nt = 1 + ensure_workers(nt - 1);
    in_task = true;
    P.fn = fn;
    P.ctx = ctx;
    atomic_store_explicit(&P.done, 0, memory_order_relaxed);
    atomic_store_explicit(&P.word, pack(0, n, nt), memory_order_release);
    atomic_fetch_add(&P.seq, 1); /* seq_cst with the sleepers check: see worker() */
#ifdef HAVE_FUTEX
    if (atomic_load(&P.sleepers) > 0)
        syscall(SYS_futex, &P.seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
    run_tasks(0);
    /* only tasks a worker claimed and is running are left: wait for them */
    for (int i = 1; atomic_load_explicit(&P.done, memory_order_acquire) < n; i++) {
        if ((i & 1023) == 0)
            sched_yield(); /* the worker may have been preempted on this core */
        else
            CPU_RELAX();
    }
    in_task = false;
    pthread_mutex_unlock(&P.run);
}

bool gt__par_active(void) { return in_task; }
