/* Buffer allocator: refcounted storages from a per-thread size-class cache, so a training
 * step that makes the same tensors as the last one never reaches malloc. */
#include "core/internal.h"

#include <stdlib.h>

/* Classes grow by a quarter of a power of two (<= 25% waste); class c holds blocks of
 * class_bytes(c). Buffers above the last class are not cached. */
#define GT__NCLASS 160
#define GT__MIN_SHIFT 6
/* A thread parks at most this many bytes; beyond it buffers go back to the system. */
#define GT__CACHE_LIMIT ((int64_t)2 << 30)

static atomic_uint_fast64_t st_mallocs, st_frees, st_hits, st_lib_mallocs;
static atomic_int_fast64_t st_live, st_peak, st_cached;

typedef struct block {
    gt__storage st; /* header first: a cached block is reused as it is */
    struct block *next;
} block;

/* Data starts one cache line after the header so it stays 64-byte aligned. */
#define GT__HDR ((size_t)GT__ALIGN * ((sizeof(block) + GT__ALIGN - 1) / GT__ALIGN))

static _Thread_local block *cache[GT__NCLASS];
static _Thread_local int64_t cache_bytes;

static size_t class_bytes(int c) {
    int k = c / 4, q = c % 4;
    return ((size_t)(4 + q) << (k + GT__MIN_SHIFT)) >> 2;
}

static int class_of(size_t bytes) {
    if (bytes > class_bytes(GT__NCLASS - 1)) return -1;
    int lo = 0, hi = GT__NCLASS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (class_bytes(mid) >= bytes) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static void add_live(int64_t d) {
    int64_t now = atomic_fetch_add(&st_live, d) + d;
    int64_t peak = atomic_load(&st_peak);
    while (now > peak && !atomic_compare_exchange_weak(&st_peak, &peak, now)) {
    }
}

gt__storage *gt__storage_new(size_t bytes) {
    if (bytes == 0) bytes = 1;
    int c = class_of(bytes);
    size_t cap = c >= 0 ? class_bytes(c) : bytes;
    block *b = NULL;
    if (c >= 0 && cache[c]) {
        b = cache[c];
        cache[c] = b->next;
        cache_bytes -= (int64_t)cap;
        atomic_fetch_sub(&st_cached, (int64_t)cap);
        atomic_fetch_add(&st_hits, 1);
    } else {
        if (cap > SIZE_MAX / 2) {
            gt__error_oom("a tensor buffer", bytes);
            return NULL;
        }
        size_t total = (GT__HDR + cap + GT__ALIGN - 1) / GT__ALIGN * GT__ALIGN;
        b = aligned_alloc(GT__ALIGN, total);
        if (!b) {
            gt__error_oom("a tensor buffer", bytes);
            return NULL;
        }
        atomic_fetch_add(&st_mallocs, 1);
        atomic_fetch_add(&st_lib_mallocs, 1);
        b->st.size_class = c;
        b->st.bytes = cap;
        b->st.data = (char *)b + GT__HDR;
    }
    atomic_init(&b->st.refs, 1);
    add_live((int64_t)cap);
    return &b->st;
}

void gt__storage_retain(gt__storage *s) { atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed); }

void gt__storage_release(gt__storage *s) {
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1) return;
    block *b = (block *)s;
    add_live(-(int64_t)s->bytes);
    int c = s->size_class;
    if (c >= 0 && cache_bytes + (int64_t)s->bytes <= GT__CACHE_LIMIT) {
        b->next = cache[c];
        cache[c] = b;
        cache_bytes += (int64_t)s->bytes;
        atomic_fetch_add(&st_cached, (int64_t)s->bytes);
        return;
    }
    atomic_fetch_add(&st_frees, 1);
    free(b);
}

void gt_mem_trim(void) {
    for (int c = 0; c < GT__NCLASS; c++) {
        while (cache[c]) {
            block *b = cache[c];
            cache[c] = b->next;
            atomic_fetch_sub(&st_cached, (int64_t)b->st.bytes);
            atomic_fetch_add(&st_frees, 1);
            free(b);
        }
    }
    cache_bytes = 0;
}

gt_mem_stats gt_mem_stats_get(void) {
    gt_mem_stats s;
    s.mallocs = atomic_load(&st_mallocs);
    s.frees = atomic_load(&st_frees);
    s.cache_hits = atomic_load(&st_hits);
    s.bytes_live = atomic_load(&st_live);
    s.bytes_peak = atomic_load(&st_peak);
    s.bytes_cached = atomic_load(&st_cached);
    s.lib_mallocs = atomic_load(&st_lib_mallocs);
    return s;
}

void gt_mem_reset_peak(void) { atomic_store(&st_peak, atomic_load(&st_live)); }

void *gt__malloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) gt__error_oom(what, bytes);
    else atomic_fetch_add(&st_lib_mallocs, 1);
    return p;
}

void *gt__calloc(size_t n, size_t size, const char *what) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) gt__error_oom(what, n * size);
    else atomic_fetch_add(&st_lib_mallocs, 1);
    return p;
}

void *gt__realloc(void *p, size_t bytes, const char *what) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) gt__error_oom(what, bytes);
    else atomic_fetch_add(&st_lib_mallocs, 1);
    return q;
}

void gt__free(void *p) { free(p); }

bool gt__grow(void **arr, int64_t *cap, int64_t need, size_t elem, const char *what) {
    if (need <= *cap) return true;
    int64_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    if ((uint64_t)n > SIZE_MAX / elem) {
        gt__error_oom(what, SIZE_MAX);
        return false;
    }
    void *p = gt__realloc(*arr, (size_t)n * elem, what);
    if (!p) return false;
    *arr = p;
    *cap = n;
    return true;
}
