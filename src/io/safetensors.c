/* safetensors reader: strict validation of the header and offsets, accessors. */
#include "io/safetensors_internal.h"

#include <stdlib.h>

/* ---- reading ------------------------------------------------------------------------------ */

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
bool gt__st_check_bool(const gt_safetensors *st, const st_entry *e) {
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

void gt__st_copy(const gt_safetensors *st, const st_entry *e, void *dst) {
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
    if (!gt__st_check_bool(st, e))
        return NULL;
    if (gt__io_little_endian())
        return gt_tensor_new(dt, e->rank, e->shape, st->data + e->begin);
    void *tmp = gt__malloc((size_t)(e->end - e->begin) + 1, "a tensor's bytes");
    if (!tmp)
        return NULL;
    gt__st_copy(st, e, tmp);
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
