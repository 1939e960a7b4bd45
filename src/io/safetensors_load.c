/* Loading a checkpoint into variables: everything checked before anything is written. */
#include "io/safetensors_internal.h"

#include <stdarg.h>
#include <stdlib.h>

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
        gt__sb_str(&l->text, ", ");
    gt__sb_str(&l->text, buf);
}

static void nl_emit(sb *msg, const namelist *l, const char *what, const char *hint) {
    if (!l->count)
        return;
    gt__sb_fmt(msg, "; %s (%d): ", what, l->count);
    if (l->text.s)
        gt__sb_str(msg, l->text.s);
    if (l->count > 3)
        gt__sb_fmt(msg, " and %d more", l->count - 3);
    if (hint)
        gt__sb_str(msg, hint);
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
                   gt__st_name_of(vd), shape_str(a, sizeof a, vr, vs), DTYPES[e->dtype].name,
                   shape_str(b, sizeof b, e->rank, e->shape));
            continue;
        }
        if (!gt__st_check_bool(st, e)) {
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
        gt__sb_fmt(&msg, "safetensors: %s: cannot load %d variables", st->label, n);
        nl_emit(&msg, &missing, "missing from the checkpoint", NULL);
        nl_emit(&msg, &mismatched, "dtype or shape mismatch", NULL);
        nl_emit(&msg, &twice, "named twice", NULL);
        nl_emit(&msg, &extra, "extra tensors in the checkpoint",
                " (pass allow_extra to ignore them)");
        gt__sb_str(&msg, "; no variable was changed");
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
            gt__st_copy(st, &st->e[idx[i]], ptrs[i]);
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
