/* safetensors writer: header JSON in the reference layout, atomic write. Also the dtype table
 * and the string builder the reader and loader share. */
#include "io/safetensors_internal.h"

#include <stdarg.h>
#include <stdlib.h>

const st_dtype gt__st_dtypes[] = {
    {"F32", 4, GT_F32},   {"F64", 8, GT_F64}, {"I32", 4, GT_I32}, {"I64", 8, GT_I64},
    {"BOOL", 1, GT_BOOL}, {"F16", 2, -1},     {"BF16", 2, -1},    {"I8", 1, -1},
    {"I16", 2, -1},       {"U8", 1, -1},      {"U16", 2, -1},     {"U32", 4, -1},
    {"U64", 8, -1},       {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};
const int gt__st_ndtypes = (int)(sizeof gt__st_dtypes / sizeof gt__st_dtypes[0]);

const char *gt__st_name_of(gt_dtype d) {
    for (int i = 0; i < NDTYPES; i++)
        if (DTYPES[i].gt == (int)d)
            return DTYPES[i].name;
    return NULL;
}

/* ---- a small string builder ----------------------------------------------------------------- */

void gt__sb_put(sb *b, const char *p, size_t k) {
    if (b->oom)
        return;
    if (b->n + k + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->n + k + 1)
            nc *= 2;
        char *ns = gt__realloc(b->s, nc, "a safetensors header");
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->n, p, k);
    b->n += k;
    b->s[b->n] = 0;
}
void gt__sb_str(sb *b, const char *s) {
    gt__sb_put(b, s, strlen(s));
}
void gt__sb_fmt(sb *b, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k > 0)
        gt__sb_put(b, buf, (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
}
/* A JSON string literal: quotes, backslashes and control characters escaped. */
void gt__sb_json(sb *b, const char *s) {
    gt__sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            gt__sb_put(b, e, 2);
        } else if (*p < 0x20) {
            gt__sb_fmt(b, "\\u%04x", *p);
        } else {
            gt__sb_put(b, (const char *)p, 1);
        }
    }
    gt__sb_put(b, "\"", 1);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- saving ------------------------------------------------------------------------------- */

static bool check_name(const char *who, const char *what, const char *s) {
    if (!s) {
        gt__error("%s: a %s is NULL", who, what);
        return false;
    }
    if (!gt__json_utf8_valid(s, strlen(s))) {
        gt__error("%s: %s '%s' is not valid UTF-8", who, what, s);
        return false;
    }
    return true;
}

/* Sorts a copy of n strings and reports the first duplicate. */
static bool unique(const char *who, const char *what, int n, const char **sorted) {
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
    for (int i = 1; i < n; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) {
            gt__error("%s: two %ss are both called '%s'", who, what, sorted[i]);
            return false;
        }
    return true;
}

bool gt_safetensors_save(const char *path, int n, const char *const *names,
                         const gt_tensor *const *tensors, int nmeta, const gt_kv *meta) {
    const char *who = "gt_safetensors_save";
    if (n < 0 || (n > 0 && !tensors) || nmeta < 0 || (nmeta > 0 && !meta)) {
        gt__error("%s: bad arguments (n=%d, tensors %s, nmeta=%d)", who, n,
                  tensors ? "given" : "NULL", nmeta);
        return false;
    }
    for (int i = 0; i < n; i++)
        if (!tensors[i]) {
            gt__error_null(who); /* keeps an earlier error: the tensor probably came from it */
            return false;
        }
    int most = n > nmeta ? n : nmeta;
    const char **sorted = gt__malloc((size_t)(most ? most : 1) * sizeof *sorted, "names");
    if (!sorted)
        return false;
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const char *nm = names ? names[i] : NULL;
        if (!names) {
            if (!gt_is_variable(tensors[i])) {
                gt__error("%s: names is NULL, so every tensor must be a variable (named by its "
                          "path), but tensor %d is not",
                          who, i);
                ok = false;
                break;
            }
            nm = gt_variable_path(tensors[i]);
        }
        ok = check_name(who, "tensor name", nm);
        if (ok && (!*nm || !strcmp(nm, "__metadata__"))) {
            gt__error("%s: tensor %d has the name '%s', which is reserved or empty", who, i, nm);
            ok = false;
        }
        if (ok && !gt__st_name_of(gt_tensor_dtype(tensors[i]))) {
            gt__error("%s: tensor '%s' has an unsupported dtype", who, nm);
            ok = false;
        }
        sorted[i] = nm;
    }
    if (ok)
        ok = unique(who, "tensor", n, sorted);
    for (int i = 0; i < nmeta && ok; i++) {
        ok = check_name(who, "metadata key", meta[i].key) &&
             check_name(who, "metadata value", meta[i].value);
        sorted[i] = meta[i].key;
    }
    if (ok)
        ok = unique(who, "metadata key", nmeta, sorted);
    gt__free(sorted);
    if (!ok)
        return false;

    /* The header, in the reference implementation's layout: __metadata__ first, then each
     * tensor, compact JSON, padded with spaces to a multiple of 8 bytes. */
    sb h = {0};
    gt__sb_str(&h, "{");
    if (nmeta) {
        gt__sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i)
                gt__sb_str(&h, ",");
            gt__sb_json(&h, meta[i].key);
            gt__sb_str(&h, ":");
            gt__sb_json(&h, meta[i].value);
        }
        gt__sb_str(&h, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const gt_tensor *t = tensors[i];
        const char *nm = names ? names[i] : gt_variable_path(t);
        uint64_t bytes = (uint64_t)gt_tensor_size(t) * gt_dtype_size(gt_tensor_dtype(t));
        if (i || nmeta)
            gt__sb_str(&h, ",");
        gt__sb_json(&h, nm);
        gt__sb_fmt(&h, ":{\"dtype\":\"%s\",\"shape\":[", gt__st_name_of(gt_tensor_dtype(t)));
        for (int a = 0; a < gt_tensor_rank(t); a++)
            gt__sb_fmt(&h, "%s%lld", a ? "," : "", (long long)gt_tensor_shape(t)[a]);
        gt__sb_fmt(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                   (unsigned long long)(off + bytes));
        off += bytes;
    }
    gt__sb_str(&h, "}");
    while (!h.oom && h.n % 8)
        gt__sb_str(&h, " ");
    if (h.oom) {
        gt__free(h.s);
        return false;
    }

    gt__io_atomic a;
    if (!gt__io_atomic_open(&a, who, path)) {
        gt__free(h.s);
        return false;
    }
    uint8_t len8[8];
    gt__io_put_le64(len8, h.n);
    gt__io_atomic_write(&a, len8, 8);
    gt__io_atomic_write(&a, h.s, h.n);
    gt__free(h.s);
    bool le = gt__io_little_endian();
    for (int i = 0; i < n && !a.failed; i++) {
        const gt_tensor *t = tensors[i];
        size_t es = gt_dtype_size(gt_tensor_dtype(t)), total = (size_t)gt_tensor_size(t) * es;
        const uint8_t *p = gt_tensor_data(t);
        if (le || es == 1) {
            gt__io_atomic_write(&a, p, total);
            continue;
        }
        uint8_t chunk[1 << 14];
        for (size_t at = 0; at < total && !a.failed; at += sizeof chunk) {
            size_t k = total - at < sizeof chunk ? total - at : sizeof chunk;
            memcpy(chunk, p + at, k);
            gt__io_swap(chunk, k / es, es);
            gt__io_atomic_write(&a, chunk, k);
        }
    }
    return gt__io_atomic_commit(&a);
}
