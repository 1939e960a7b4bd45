/* safetensors checkpoints: atomic writer, strict validating reader, all-or-nothing loading
 * into variables. Format: https://github.com/huggingface/safetensors#format */
#include "io/io_internal.h"
#include "io/json.h"

#include <stdarg.h>
#include <stdlib.h>

/* The reader refuses headers larger than this (the reference implementation's limit). */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct st_dtype {
    const char *name;
    size_t size;
    int gt; /* gt_dtype, or -1 when gradtape has no equivalent */
} st_dtype;

static const st_dtype DTYPES[] = {
    {"F32", 4, GT_F32},   {"F64", 8, GT_F64}, {"I32", 4, GT_I32}, {"I64", 8, GT_I64},
    {"BOOL", 1, GT_BOOL}, {"F16", 2, -1},     {"BF16", 2, -1},    {"I8", 1, -1},
    {"I16", 2, -1},       {"U8", 1, -1},      {"U16", 2, -1},     {"U32", 4, -1},
    {"U64", 8, -1},       {"F8_E4M3", 1, -1}, {"F8_E5M2", 1, -1},
};
#define NDTYPES (int)(sizeof DTYPES / sizeof DTYPES[0])

static const char *st_name_of(gt_dtype d) {
    for (int i = 0; i < NDTYPES; i++)
        if (DTYPES[i].gt == (int)d)
            return DTYPES[i].name;
    return NULL;
}

/* ---- a small string builder ----------------------------------------------------------------- */

typedef struct sb {
    char *s;
    size_t n, cap;
    bool oom;
} sb;

static void sb_put(sb *b, const char *p, size_t k) {
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
static void sb_str(sb *b, const char *s) {
    sb_put(b, s, strlen(s));
}
static void sb_fmt(sb *b, const char *fmt, ...) GT__PRINTF(2, 3);
static void sb_fmt(sb *b, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (k > 0)
        sb_put(b, buf, (size_t)k < sizeof buf ? (size_t)k : sizeof buf - 1);
}
/* A JSON string literal: quotes, backslashes and control characters escaped. */
static void sb_json(sb *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            sb_put(b, e, 2);
        } else if (*p < 0x20) {
            sb_fmt(b, "\\u%04x", *p);
        } else {
            sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
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
        if (ok && !st_name_of(gt_tensor_dtype(tensors[i]))) {
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
    sb_str(&h, "{");
    if (nmeta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < nmeta; i++) {
            if (i)
                sb_str(&h, ",");
            sb_json(&h, meta[i].key);
            sb_str(&h, ":");
            sb_json(&h, meta[i].value);
        }
        sb_str(&h, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const gt_tensor *t = tensors[i];
        const char *nm = names ? names[i] : gt_variable_path(t);
        uint64_t bytes = (uint64_t)gt_tensor_size(t) * gt_dtype_size(gt_tensor_dtype(t));
        if (i || nmeta)
            sb_str(&h, ",");
        sb_json(&h, nm);
        sb_fmt(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_name_of(gt_tensor_dtype(t)));
        for (int a = 0; a < gt_tensor_rank(t); a++)
            sb_fmt(&h, "%s%lld", a ? "," : "", (long long)gt_tensor_shape(t)[a]);
        sb_fmt(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
               (unsigned long long)(off + bytes));
        off += bytes;
    }
    sb_str(&h, "}");
    while (!h.oom && h.n % 8)
        sb_str(&h, " ");
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

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct st_entry {
    const char *name; /* into json.strs */
    int dtype;        /* index into DTYPES */
    int rank;
    int64_t shape[GT_MAX_RANK];
    uint64_t begin, end;
} st_entry;

struct gt_safetensors {
    char *label; /* file name for messages */
    uint8_t *buf;
    const uint8_t *data; /* tensor data: buf + 8 + header length */
    uint64_t data_len;
    gt__json json;
    st_entry *e; /* in data order */
    int count;
    int *by_name; /* entry indices sorted by name */
    gt_kv *meta;
    int nmeta;
};

void gt_safetensors_close(gt_safetensors *st) {
    if (!st)
        return;
    gt__free(st->label);
    gt__free(st->buf);
    gt__json_free(&st->json);
    gt__free(st->e);
    gt__free(st->by_name);
    gt__free(st->meta);
    gt__free(st);
}

static _Thread_local const gt_safetensors *sort_ctx; /* qsort has no context argument in C11 */
static int cmp_by_name(const void *a, const void *b) {
    return strcmp(sort_ctx->e[*(const int *)a].name, sort_ctx->e[*(const int *)b].name);
}
static int cmp_by_offset(const void *a, const void *b) {
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

#define BAD(...)                                                                                   \
    do {                                                                                           \
        gt__error(__VA_ARGS__);                                                                    \
        return false;                                                                              \
    } while (0)

/* One tensor entry: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]} exactly. */
static bool parse_entry(const gt_safetensors *st, int32_t key, int32_t obj, st_entry *out) {
    const gt__json *j = &st->json;
    const gt__jnode *N = j->nodes;
    const char *nm = gt__json_str(j, key), *L = st->label;
    if (N[key].len != strlen(nm))
        BAD("safetensors: %s: a tensor name contains a NUL byte", L);
    if (N[key].len == 0)
        BAD("safetensors: %s: a tensor has an empty name", L);
    if (N[obj].type != GT__J_OBJ)
        BAD("safetensors: %s: the header entry of tensor '%s' is not an object", L, nm);
    out->name = nm;
    out->dtype = -1;
    int32_t shape = -1, offs = -1, dt = -1;
    for (int32_t k = N[obj].child; k >= 0; k = N[N[k].next].next) {
        const char *f = gt__json_str(j, k);
        int32_t v = N[k].next;
        int32_t *slot = !strcmp(f, "dtype")          ? &dt
                        : !strcmp(f, "shape")        ? &shape
                        : !strcmp(f, "data_offsets") ? &offs
                                                     : NULL;
        if (!slot)
            BAD("safetensors: %s: tensor '%s' has an unknown field '%s'", L, nm, f);
        if (*slot >= 0)
            BAD("safetensors: %s: tensor '%s' repeats the field '%s'", L, nm, f);
        *slot = v;
    }
    if (dt < 0 || shape < 0 || offs < 0)
        BAD("safetensors: %s: tensor '%s' lacks '%s'", L, nm,
            dt < 0      ? "dtype"
            : shape < 0 ? "shape"
                        : "data_offsets");
    if (N[dt].type != GT__J_STR)
        BAD("safetensors: %s: tensor '%s': dtype is not a string", L, nm);
    for (int d = 0; d < NDTYPES; d++)
        if (!strcmp(gt__json_str(j, dt), DTYPES[d].name) && N[dt].len == strlen(DTYPES[d].name))
            out->dtype = d;
    if (out->dtype < 0)
        BAD("safetensors: %s: tensor '%s' has an unknown dtype '%.20s' (known: F32 F64 I32 I64 "
            "BOOL F16 BF16 I8 I16 U8 U16 U32 U64 F8_E4M3 F8_E5M2)",
            L, nm, gt__json_str(j, dt));
    if (N[shape].type != GT__J_ARR)
        BAD("safetensors: %s: tensor '%s': shape is not an array", L, nm);
    if (N[shape].count > GT_MAX_RANK)
        BAD("safetensors: %s: tensor '%s' has rank %d; gradtape tensors have at most %d axes", L,
            nm, N[shape].count, GT_MAX_RANK);
    out->rank = N[shape].count;
    int64_t elems = 1;
    bool overflow = false;
    int a = 0;
    for (int32_t k = N[shape].child; k >= 0; k = N[k].next, a++) {
        if (N[k].type != GT__J_NUM || !N[k].is_uint || N[k].u > (uint64_t)INT64_MAX)
            BAD("safetensors: %s: tensor '%s': shape entries must be non-negative integers", L, nm);
        out->shape[a] = (int64_t)N[k].u;
        if (!overflow && !gt__io_mul(elems, out->shape[a], &elems))
            overflow = true;
    }
    int64_t bytes;
    if (overflow || !gt__io_mul(elems, (int64_t)DTYPES[out->dtype].size, &bytes))
        BAD("safetensors: %s: tensor '%s': its shape's size overflows", L, nm);
    if (N[offs].type != GT__J_ARR || N[offs].count != 2)
        BAD("safetensors: %s: tensor '%s': data_offsets must be [begin, end]", L, nm);
    int32_t b = N[offs].child, e = N[b].next;
    if (N[b].type != GT__J_NUM || !N[b].is_uint || N[e].type != GT__J_NUM || !N[e].is_uint)
        BAD("safetensors: %s: tensor '%s': data_offsets must be non-negative integers", L, nm);
    out->begin = N[b].u;
    out->end = N[e].u;
    if (out->end < out->begin)
        BAD("safetensors: %s: tensor '%s': data_offsets [%llu, %llu] end before they begin", L, nm,
            (unsigned long long)out->begin, (unsigned long long)out->end);
    if (out->end - out->begin != (uint64_t)bytes) {
        char s[160];
        size_t at = 0;
        for (int i = 0; i < out->rank && at < sizeof s; i++)
            at += (size_t)snprintf(s + at, sizeof s - at, "%s%lld", i ? "," : "",
                                   (long long)out->shape[i]);
        if (!out->rank)
            s[0] = 0;
        BAD("safetensors: %s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but %s [%s] "
            "needs %lld (shape/size mismatch)",
            L, nm, (unsigned long long)out->begin, (unsigned long long)out->end,
            (unsigned long long)(out->end - out->begin), DTYPES[out->dtype].name, s,
            (long long)bytes);
    }
    return true;
}

static bool parse_metadata(gt_safetensors *st, int32_t obj) {
    const gt__json *j = &st->json;
    const gt__jnode *N = j->nodes;
    if (N[obj].type != GT__J_OBJ)
        BAD("safetensors: %s: __metadata__ must be an object of strings", st->label);
    st->meta = gt__calloc((size_t)(N[obj].count ? N[obj].count : 1), sizeof *st->meta, "metadata");
    if (!st->meta)
        return false;
    for (int32_t k = N[obj].child; k >= 0; k = N[N[k].next].next) {
        int32_t v = N[k].next;
        if (N[v].type != GT__J_STR)
            BAD("safetensors: %s: __metadata__ value of '%s' is not a string", st->label,
                gt__json_str(j, k));
        if (N[k].len != strlen(gt__json_str(j, k)) || N[v].len != strlen(gt__json_str(j, v)))
            BAD("safetensors: %s: __metadata__ holds a NUL byte", st->label);
        for (int i = 0; i < st->nmeta; i++)
            if (!strcmp(st->meta[i].key, gt__json_str(j, k)))
                BAD("safetensors: %s: __metadata__ repeats the key '%s'", st->label,
                    gt__json_str(j, k));
        st->meta[st->nmeta++] = (gt_kv){gt__json_str(j, k), gt__json_str(j, v)};
    }
    return true;
}

static bool validate(gt_safetensors *st, size_t n) {
    const char *L = st->label;
    if (n < 8)
        BAD("safetensors: %s: truncated: the file has %zu bytes, fewer than the 8-byte header "
            "length every safetensors file starts with",
            L, n);
    uint64_t hlen = gt__io_le64(st->buf);
    if (hlen > n - 8)
        BAD("safetensors: %s: header length %llu runs past the end of the file (only %zu bytes "
            "follow it): a truncated or corrupt file",
            L, (unsigned long long)hlen, n - 8);
    if (hlen > ST_MAX_HEADER)
        BAD("safetensors: %s: header length %llu is over the %u-byte limit: not a safetensors "
            "file",
            L, (unsigned long long)hlen, ST_MAX_HEADER);
    const char *h = (const char *)st->buf + 8;
    if (hlen < 2 || h[0] != '{')
        BAD("safetensors: %s: the header does not start with '{': not a safetensors file", L);
    st->data = st->buf + 8 + hlen;
    st->data_len = n - 8 - hlen;
    if (!gt__json_parse(&st->json, h, (size_t)hlen)) {
        if (!gt_ok())
            return false; /* out of memory */
        BAD("safetensors: %s: bad JSON header at byte %zu of %llu: %s", L, st->json.err_pos,
            (unsigned long long)hlen, st->json.err);
    }
    const gt__jnode *N = st->json.nodes;
    if (N[0].type != GT__J_OBJ)
        BAD("safetensors: %s: the header is not a JSON object", L);
    int nt = N[0].count;
    st->e = gt__calloc((size_t)(nt ? nt : 1), sizeof *st->e, "a safetensors index");
    st->by_name = gt__calloc((size_t)(nt ? nt : 1), sizeof *st->by_name, "a safetensors index");
    if (!st->e || !st->by_name)
        return false;
    bool seen_meta = false;
    for (int32_t k = N[0].child; k >= 0; k = N[N[k].next].next) {
        if (!strcmp(gt__json_str(&st->json, k), "__metadata__") && N[k].len == 12) {
            if (seen_meta)
                BAD("safetensors: %s: __metadata__ appears twice", L);
            seen_meta = true;
            if (!parse_metadata(st, N[k].next))
                return false;
            continue;
        }
        if (!parse_entry(st, k, N[k].next, &st->e[st->count]))
            return false;
        st->count++;
    }
    /* Names are unique. */
    for (int i = 0; i < st->count; i++)
        st->by_name[i] = i;
    sort_ctx = st;
    qsort(st->by_name, (size_t)st->count, sizeof(int), cmp_by_name);
    for (int i = 1; i < st->count; i++)
        if (!strcmp(st->e[st->by_name[i - 1]].name, st->e[st->by_name[i]].name))
            BAD("safetensors: %s: two tensors are both called '%s'", L, st->e[st->by_name[i]].name);
    /* Offsets tile [0, data_len) exactly: sorted, each begins where the previous ended. */
    qsort(st->e, (size_t)st->count, sizeof *st->e, cmp_by_offset);
    uint64_t at = 0;
    for (int i = 0; i < st->count; i++) {
        const st_entry *e = &st->e[i];
        if (e->begin < at)
            BAD("safetensors: %s: tensor '%s' (data_offsets [%llu, %llu]) overlaps tensor '%s' "
                "(which ends at %llu)",
                L, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                st->e[i - 1].name, (unsigned long long)at);
        if (e->begin > at)
            BAD("safetensors: %s: bytes [%llu, %llu) of the data belong to no tensor (a gap before "
                "'%s'): offsets must be contiguous",
                L, (unsigned long long)at, (unsigned long long)e->begin, e->name);
        if (e->end > st->data_len)
            BAD("safetensors: %s: tensor '%s' (data_offsets [%llu, %llu]) lies beyond the %llu "
                "bytes of data the file holds: truncated data or offsets out of range",
                L, e->name, (unsigned long long)e->begin, (unsigned long long)e->end,
                (unsigned long long)st->data_len);
        at = e->end;
    }
    if (at != st->data_len)
        BAD("safetensors: %s: %llu trailing bytes after the %llu bytes of tensor data the header "
            "describes",
            L, (unsigned long long)(st->data_len - at), (unsigned long long)at);
    for (int i = 0; i < st->count; i++)
        st->by_name[i] = i;
    qsort(st->by_name, (size_t)st->count, sizeof(int), cmp_by_name);
    return true;
}

/* Takes ownership of buf. */
static gt_safetensors *open_owned(uint8_t *buf, size_t n, const char *label) {
    gt_safetensors *st = gt__calloc(1, sizeof *st, "a safetensors file");
    if (!st) {
        gt__free(buf);
        return NULL;
    }
    st->buf = buf;
    st->label = gt__io_strdup(label);
    if (!st->label || !validate(st, n)) {
        gt_safetensors_close(st);
        return NULL;
    }
    return st;
}

gt_safetensors *gt_safetensors_open(const char *path) {
    uint8_t *buf;
    size_t n;
    if (!gt__io_read_file("safetensors", path, &buf, &n))
        return NULL;
    return open_owned(buf, n, path);
}

gt_safetensors *gt_safetensors_parse(const void *bytes, size_t n, const char *name) {
    if (!bytes && n) {
        gt__error("gt_safetensors_parse: bytes is NULL");
        return NULL;
    }
    uint8_t *buf = gt__malloc(n ? n : 1, "a safetensors file");
    if (!buf)
        return NULL;
    if (n)
        memcpy(buf, bytes, n);
    return open_owned(buf, n, name ? name : "(memory)");
}

int gt_safetensors_count(const gt_safetensors *st) {
    return st ? st->count : 0;
}

const char *gt_safetensors_name(const gt_safetensors *st, int i) {
    return st && i >= 0 && i < st->count ? st->e[i].name : NULL;
}

int gt_safetensors_find(const gt_safetensors *st, const char *name) {
    if (!st || !name)
        return -1;
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(st->e[st->by_name[mid]].name, name);
        if (!c)
            return st->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

const char *gt_safetensors_dtype_name(const gt_safetensors *st, int i) {
    return st && i >= 0 && i < st->count ? DTYPES[st->e[i].dtype].name : NULL;
}

bool gt_safetensors_info(const gt_safetensors *st, int i, gt_dtype *dtype, int *rank,
                         const int64_t **shape) {
    if (!st || i < 0 || i >= st->count) {
        gt__error("gt_safetensors_info: no tensor %d", i);
        return false;
    }
    const st_entry *e = &st->e[i];
    if (rank)
        *rank = e->rank;
    if (shape)
        *shape = e->shape;
    if (DTYPES[e->dtype].gt < 0) {
        gt__error("safetensors: %s: tensor '%s' has dtype %s, which gradtape cannot hold (F32 "
                  "F64 I32 I64 BOOL)",
                  st->label, e->name, DTYPES[e->dtype].name);
        return false;
    }
    if (dtype)
        *dtype = (gt_dtype)DTYPES[e->dtype].gt;
    return true;
}

/* Copies entry e's data into dst (host byte order), checking bools are 0 or 1. */
static bool entry_check_bool(const gt_safetensors *st, const st_entry *e) {
    if (DTYPES[e->dtype].gt != GT_BOOL)
        return true;
    const uint8_t *p = st->data + e->begin;
    for (uint64_t k = 0; k < e->end - e->begin; k++)
        if (p[k] > 1)
            BAD("safetensors: %s: BOOL tensor '%s' holds the byte %u at element %llu (must be 0 "
                "or 1)",
                st->label, e->name, p[k], (unsigned long long)k);
    return true;
}

static void entry_copy(const gt_safetensors *st, const st_entry *e, void *dst) {
    size_t bytes = (size_t)(e->end - e->begin);
    if (bytes)
        memcpy(dst, st->data + e->begin, bytes);
    if (!gt__io_little_endian())
        gt__io_swap(dst, bytes / DTYPES[e->dtype].size, DTYPES[e->dtype].size);
}

gt_tensor *gt_safetensors_get(const gt_safetensors *st, const char *name) {
    if (!st || !name) {
        gt__error_null("gt_safetensors_get");
        return NULL;
    }
    int i = gt_safetensors_find(st, name);
    if (i < 0) {
        gt__error("safetensors: %s: no tensor called '%s' (the file has %d)", st->label, name,
                  st->count);
        return NULL;
    }
    gt_dtype dt;
    if (!gt_safetensors_info(st, i, &dt, NULL, NULL))
        return NULL;
    const st_entry *e = &st->e[i];
    if (!entry_check_bool(st, e))
        return NULL;
    if (gt__io_little_endian())
        return gt_tensor_new(dt, e->rank, e->shape, st->data + e->begin);
    void *tmp = gt__malloc((size_t)(e->end - e->begin) + 1, "a tensor's bytes");
    if (!tmp)
        return NULL;
    entry_copy(st, e, tmp);
    gt_tensor *t = gt_tensor_new(dt, e->rank, e->shape, tmp);
    gt__free(tmp);
    return t;
}

const char *gt_safetensors_metadata(const gt_safetensors *st, const char *key) {
    if (!st || !key)
        return NULL;
    for (int i = 0; i < st->nmeta; i++)
        if (!strcmp(st->meta[i].key, key))
            return st->meta[i].value;
    return NULL;
}

int gt_safetensors_metadata_count(const gt_safetensors *st) {
    return st ? st->nmeta : 0;
}

gt_kv gt_safetensors_metadata_at(const gt_safetensors *st, int i) {
    if (!st || i < 0 || i >= st->nmeta)
        return (gt_kv){NULL, NULL};
    return st->meta[i];
}

/* ---- loading into variables ------------------------------------------------------------------ */

/* A list of names in an error message: the first few, then a count. */
typedef struct namelist {
    sb text;
    int count;
} namelist;

static void nl_add(namelist *l, const char *fmt, ...) GT__PRINTF(2, 3);
static void nl_add(namelist *l, const char *fmt, ...) {
    if (l->count++ >= 3)
        return;
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (l->count > 1)
        sb_str(&l->text, ", ");
    sb_str(&l->text, buf);
}

static void nl_emit(sb *msg, const namelist *l, const char *what, const char *hint) {
    if (!l->count)
        return;
    sb_fmt(msg, "; %s (%d): ", what, l->count);
    if (l->text.s)
        sb_str(msg, l->text.s);
    if (l->count > 3)
        sb_fmt(msg, " and %d more", l->count - 3);
    if (hint)
        sb_str(msg, hint);
}

static const char *shape_str(char *buf, size_t n, int rank, const int64_t *shape) {
    size_t at = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (at < n)
        snprintf(buf + at, n - at, "]");
    return buf;
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

bool gt_safetensors_assign(const gt_safetensors *st, int n, gt_tensor *const *vars,
                           const char *const *names, bool allow_extra) {
    const char *who = "gt_safetensors_assign";
    if (!st || n < 0 || (n > 0 && !vars)) {
        gt__error("%s: bad arguments (checkpoint %s, n=%d)", who, st ? "given" : "NULL", n);
        return false;
    }
    int *idx = gt__malloc((size_t)(n ? n : 1) * sizeof(int), "a load plan");
    bool *used = gt__calloc((size_t)(st->count ? st->count : 1), sizeof(bool), "a load plan");
    void **ptrs = gt__malloc((size_t)(n ? n : 1) * sizeof(void *), "a load plan");
    if (!idx || !used || !ptrs) {
        gt__free(idx);
        gt__free(used);
        gt__free(ptrs);
        return false;
    }
    bool ok = true;
    /* Phase 1: the arguments themselves. */
    for (int i = 0; i < n && ok; i++) {
        if (!vars[i] || !gt_is_variable(vars[i])) {
            if (vars[i] || gt_ok())
                gt__error("%s: entry %d is %s, not a variable", who, i,
                          vars[i] ? "a tensor" : "NULL");
            ok = false;
        } else if (names && !names[i]) {
            gt__error("%s: names[%d] is NULL", who, i);
            ok = false;
        }
        ptrs[i] = vars[i];
    }
    if (ok && n > 1) {
        qsort(ptrs, (size_t)n, sizeof *ptrs, cmp_ptr);
        for (int i = 1; i < n && ok; i++)
            if (ptrs[i] == ptrs[i - 1]) {
                gt__error("%s: the variable '%s' appears twice in the list", who,
                          gt_variable_path(ptrs[i]));
                ok = false;
            }
    }
    if (!ok)
        goto out;
    /* Phase 2: match every variable; collect every problem before reporting. */
    namelist missing = {0}, mismatched = {0}, extra = {0}, twice = {0};
    for (int i = 0; i < n; i++) {
        const char *nm = names ? names[i] : gt_variable_path(vars[i]);
        int k = gt_safetensors_find(st, nm);
        idx[i] = k;
        if (k < 0) {
            nl_add(&missing, "'%s'", nm);
            continue;
        }
        if (used[k]) {
            nl_add(&twice, "'%s'", nm);
            continue;
        }
        used[k] = true;
        const st_entry *e = &st->e[k];
        gt_dtype vd = gt_tensor_dtype(vars[i]);
        int vr = gt_tensor_rank(vars[i]);
        const int64_t *vs = gt_tensor_shape(vars[i]);
        char a[96], b[96];
        if (DTYPES[e->dtype].gt != (int)vd || e->rank != vr ||
            (vr && memcmp(e->shape, vs, (size_t)vr * sizeof(int64_t)))) {
            nl_add(&mismatched, "'%s' is %s %s in the model but %s %s in the file", nm,
                   st_name_of(vd), shape_str(a, sizeof a, vr, vs), DTYPES[e->dtype].name,
                   shape_str(b, sizeof b, e->rank, e->shape));
            continue;
        }
        if (!entry_check_bool(st, e)) {
            ok = false;
            break;
        }
    }
    if (ok && !allow_extra)
        for (int k = 0; k < st->count; k++)
            if (!used[k])
                nl_add(&extra, "'%s'", st->e[k].name);
    if (ok && (missing.count || mismatched.count || extra.count || twice.count)) {
        sb msg = {0};
        sb_fmt(&msg, "safetensors: %s: cannot load %d variables", st->label, n);
        nl_emit(&msg, &missing, "missing from the checkpoint", NULL);
        nl_emit(&msg, &mismatched, "dtype or shape mismatch", NULL);
        nl_emit(&msg, &twice, "named twice", NULL);
        nl_emit(&msg, &extra, "extra tensors in the checkpoint",
                " (pass allow_extra to ignore them)");
        sb_str(&msg, "; no variable was changed");
        if (msg.s)
            gt__error("%s", msg.s);
        else
            gt__error("safetensors: %s: cannot load the variables", st->label);
        gt__free(msg.s);
        ok = false;
    }
    gt__free(missing.text.s);
    gt__free(mismatched.text.s);
    gt__free(extra.text.s);
    gt__free(twice.text.s);
    if (!ok)
        goto out;
    /* Phase 3: every writable pointer first (copy-on-write may allocate and fail), then the
     * copies, which cannot fail. */
    for (int i = 0; i < n && ok; i++) {
        ptrs[i] = NULL;
        if (gt_tensor_size(vars[i]) == 0)
            continue;
        ptrs[i] = gt_variable_data(vars[i]);
        if (!ptrs[i])
            ok = false;
    }
    if (!ok)
        goto out;
    for (int i = 0; i < n; i++)
        if (ptrs[i])
            entry_copy(st, &st->e[idx[i]], ptrs[i]);
out:
    gt__free(idx);
    gt__free(used);
    gt__free(ptrs);
    return ok;
}

bool gt_safetensors_load_variables(const char *path, int n, gt_tensor *const *vars,
                                   const char *const *names, bool allow_extra) {
    gt_safetensors *st = gt_safetensors_open(path);
    if (!st)
        return false;
    bool ok = gt_safetensors_assign(st, n, vars, names, allow_extra);
    gt_safetensors_close(st);
    return ok;
}
