/* Model + optimizer checkpoints in safetensors (gradtape_io), Keras-style names:
 *
 *     sequential/dense/kernel                               every model variable, by path
 *     optimizer/adam/momentum/sequential/dense/kernel       optimizer/<name>/<slot>/<path>
 *     optimizer/nadam/u_product                             the optimizer's own variables
 *     optimizer/iterations                                  I64 scalar
 *     optimizer/learning_rate                               F32 scalar (no schedule only)
 *
 * Loading is all or nothing: the optimizer's slots are loaded through temporary variables
 * passed to gt_safetensors_assign in the same call as the model's variables, so the IO layer
 * validates every tensor (presence, dtype, shape, nothing extra) before anything is written;
 * only after it succeeded are the temporaries copied into the slots (plain memcpy, which
 * cannot fail). */
#include "nn_internal.h"

#include "gradtape_io.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK_NAME 512

typedef struct ck_list {
    int n, cap;
    gt_tensor **t;     /* tensors to save / variables to load into */
    char (*names)[CK_NAME];
    gt_tensor **temps; /* temporaries this list owns (load) */
    int ntemps;
} ck_list;

static bool ck_grow(ck_list *l, int need) {
    if (need <= l->cap)
        return true;
    int nc = need + 16;
    gt_tensor **t = realloc(l->t, sizeof *t * (size_t)nc);
    if (t)
        l->t = t;
    char(*nm)[CK_NAME] = t ? realloc(l->names, sizeof *nm * (size_t)nc) : NULL;
    if (nm)
        l->names = nm;
    gt_tensor **tm = nm ? realloc(l->temps, sizeof *tm * (size_t)nc) : NULL;
    if (tm)
        l->temps = tm;
    if (!t || !nm || !tm) {
        nn_error("checkpoint: out of memory");
        return false;
    }
    l->cap = nc;
    return true;
}

static bool ck_add(ck_list *l, gt_tensor *t, const char *fmt, const char *a, const char *b,
                   const char *c) {
    if (!t || !ck_grow(l, l->n + 1))
        return false;
    int w = snprintf(l->names[l->n], CK_NAME, fmt, a, b, c);
    if (w < 0 || w >= CK_NAME) {
        nn_error("checkpoint: tensor name too long (%s/%s/%s)", a, b, c);
        return false;
    }
    l->t[l->n++] = t;
    return true;
}

static void ck_free(ck_list *l) {
    for (int i = 0; i < l->ntemps; i++)
        gt_variable_free(l->temps[i]);
    free(l->t);
    free(l->names);
    free(l->temps);
    *l = (ck_list){0};
}

static const char **ck_name_ptrs(const ck_list *l) {
    const char **p = malloc(sizeof *p * (size_t)(l->n ? l->n : 1));
    if (!p) {
        nn_error("checkpoint: out of memory");
        return NULL;
    }
    for (int i = 0; i < l->n; i++)
        p[i] = l->names[i];
    return p;
}

static void opt_prefix(const gt_optimizer *opt, char *buf, size_t n) {
    snprintf(buf, n, "%s", gt_optimizer_name(opt));
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
}

/* The model's variables, in Keras order, with their paths. */
static bool model_vars(gt_model *model, ck_list *l, const char *fn) {
    gt_layer *layer = gt_model_layer(model);
    int n = gt_layer_variables(layer, NULL, 0);
    if (n == 0) {
        nn_error("%s: the model has no variables yet: build it first (call it once, or "
                 "gt_model_build(model, GT_SHAPE(1, 784)))",
                 fn);
        return false;
    }
    if (!ck_grow(l, n))
        return false;
    gt_layer_variables(layer, l->t, n);
    for (int i = 0; i < n; i++) {
        int w = snprintf(l->names[i], CK_NAME, "%s", gt_variable_path(l->t[i]));
        if (w >= CK_NAME) {
            nn_error("%s: variable path too long: %s", fn, gt_variable_path(l->t[i]));
            return false;
        }
    }
    l->n = n;
    return true;
}

static int opt_slots(const gt_optimizer *opt, gt_optimizer_slot **out) {
    int ns = gt_optimizer_slots(opt, NULL, 0);
    *out = malloc(sizeof **out * (size_t)(ns ? ns : 1));
    if (!*out) {
        nn_error("checkpoint: out of memory");
        return -1;
    }
    gt_optimizer_slots(opt, *out, ns);
    return ns;
}

bool gt_checkpoint_save(const char *path, gt_model *model, const gt_optimizer *opt, int nmeta,
                        const gt_kv *meta) {
    if (!path || !model) {
        nn_error("checkpoint save: path and model are required");
        return false;
    }
    if (nmeta < 0 || (nmeta > 0 && !meta)) {
        nn_error("checkpoint save: meta must hold nmeta entries");
        return false;
    }
    ck_list l = {0};
    gt_optimizer_slot *slots = NULL;
    gt_kv *kv = NULL;
    const char **names = NULL;
    gt_scope_begin();
    bool ok = model_vars(model, &l, "checkpoint save");
    if (ok && opt) {
        char on[64];
        opt_prefix(opt, on, sizeof on);
        int ns = opt_slots(opt, &slots);
        ok = ns >= 0;
        for (int i = 0; ok && i < ns; i++) {
            const gt_tensor *v = slots[i].var; /* NULL: the optimizer's own scalar */
            gt_tensor *t = gt_tensor_new(slots[i].dtype, v ? gt_tensor_rank(v) : 0,
                                         v ? gt_tensor_shape(v) : NULL, slots[i].data);
            ok = v ? ck_add(&l, t, "optimizer/%s/%s/%s", on, slots[i].name, gt_variable_path(v))
                   : ck_add(&l, t, "optimizer/%s/%s%s", on, slots[i].name, "");
        }
        int64_t it = gt_optimizer_iterations(opt);
        ok = ok && ck_add(&l, gt_tensor_new(GT_I64, 0, NULL, &it), "optimizer/%s%s%s",
                          "iterations", "", "");
        if (ok && !gt_optimizer_has_schedule(opt))
            ok = ck_add(&l, gt_scalar_of(GT_F32, gt_optimizer_learning_rate(opt)),
                        "optimizer/%s%s%s", "learning_rate", "", "");
    }
    if (ok) {
        kv = malloc(sizeof *kv * (size_t)(nmeta + 1));
        names = ck_name_ptrs(&l);
        ok = kv && names;
        if (!kv)
            nn_error("checkpoint save: out of memory");
    }
    if (ok) {
        kv[0] = (gt_kv){"format", "pt"};
        int k = 1;
        for (int i = 0; i < nmeta; i++)
            if (strcmp(meta[i].key, "format") != 0)
                kv[k++] = meta[i];
        ok = gt_safetensors_save(path, l.n, names, (const gt_tensor *const *)l.t, k, kv);
    }
    gt_scope_end();
    free(names);
    free(kv);
    free(slots);
    ck_free(&l);
    return ok;
}

/* A temporary variable of v's shape and dtype for loading slot data through the IO layer. */
static gt_tensor *temp_var(ck_list *l, gt_dtype dt, int rank, const int64_t *shape) {
    gt_tensor *z = gt_zeros(dt, rank, shape);
    gt_tensor *v = z ? gt_variable_ex(z, "checkpoint_slot", false) : NULL;
    if (v && ck_grow(l, l->n + 1))
        l->temps[l->ntemps++] = v;
    else if (v) {
        gt_variable_free(v);
        v = NULL;
    }
    return v;
}

bool gt_checkpoint_load(const char *path, gt_model *model, gt_optimizer *opt) {
    if (!path || !model) {
        nn_error("checkpoint load: path and model are required");
        return false;
    }
    ck_list l = {0};
    gt_optimizer_slot *slots = NULL;
    const char **names = NULL;
    gt_tensor **tvars = NULL;
    int ns = 0, nmodel = 0;
    gt_safetensors *st = NULL;
    gt_scope_begin();
    bool ok = model_vars(model, &l, "checkpoint load");
    nmodel = l.n;
    if (ok)
        ok = (st = gt_safetensors_open(path)) != NULL;
    /* The model's own paths, or by position when they are not in the file (another instance
     * of the architecture, auto-named sequential_1/dense_2/...): file order is save order. */
    char (*paths)[CK_NAME] = NULL;
    if (ok) {
        paths = malloc(sizeof *paths * (size_t)nmodel);
        ok = paths != NULL;
        if (!ok)
            nn_error("checkpoint load: out of memory");
    }
    if (ok) {
        bool all_found = true;
        for (int i = 0; i < nmodel && all_found; i++)
            all_found = gt_safetensors_find(st, l.names[i]) >= 0;
        int nfile = 0;
        for (int i = 0; i < gt_safetensors_count(st); i++)
            nfile += strncmp(gt_safetensors_name(st, i), "optimizer/", 10) != 0;
        bool positional = !all_found && nfile == nmodel;
        for (int i = 0, k = 0; i < nmodel; i++) {
            if (positional) {
                while (strncmp(gt_safetensors_name(st, k), "optimizer/", 10) == 0)
                    k++;
                snprintf(l.names[i], CK_NAME, "%s", gt_safetensors_name(st, k++));
            }
            snprintf(paths[i], CK_NAME, "%s", l.names[i]);
        }
    }
    if (ok && opt && !gt_optimizer_is_built(opt)) {
        /* slots are built for the trainable variables, as the first apply_gradients would */
        int nt = gt_layer_trainable_variables(gt_model_layer(model), NULL, 0);
        tvars = malloc(sizeof *tvars * (size_t)(nt ? nt : 1));
        ok = tvars != NULL;
        if (ok) {
            gt_layer_trainable_variables(gt_model_layer(model), tvars, nt);
            ok = gt_optimizer_build(opt, nt, tvars);
        }
    }
    if (ok && opt) {
        char on[64];
        opt_prefix(opt, on, sizeof on);
        ns = opt_slots(opt, &slots);
        ok = ns >= 0;
        for (int i = 0; ok && i < ns; i++) {
            const gt_tensor *v = slots[i].var;
            if (!v) { /* the optimizer's own scalar */
                ok = ck_add(&l, temp_var(&l, slots[i].dtype, 0, NULL), "optimizer/%s/%s%s", on,
                            slots[i].name, "");
                continue;
            }
            gt_tensor *t = temp_var(&l, slots[i].dtype, gt_tensor_rank(v), gt_tensor_shape(v));
            const char *vp = gt_variable_path(v);
            for (int j = 0; j < nmodel; j++)
                if (l.t[j] == v) {
                    vp = paths[j];
                    break;
                }
            ok = ck_add(&l, t, "optimizer/%s/%s/%s", on, slots[i].name, vp);
        }
        ok = ok && ck_add(&l, temp_var(&l, GT_I64, 0, NULL), "optimizer/%s%s%s", "iterations",
                          "", "");
        if (ok && !gt_optimizer_has_schedule(opt))
            ok = ck_add(&l, temp_var(&l, GT_F32, 0, NULL), "optimizer/%s%s%s", "learning_rate",
                        "", "");
    }
    bool allow_extra = false;
    if (ok && !opt) {
        /* weights only: optimizer entries in the file are fine, anything else extra is not */
        bool other = false, any = false;
        for (int i = 0; i < gt_safetensors_count(st); i++) {
            const char *nm = gt_safetensors_name(st, i);
            bool known = false;
            for (int j = 0; j < l.n && !known; j++)
                known = strcmp(l.names[j], nm) == 0;
            if (!known) {
                any = true;
                other |= strncmp(nm, "optimizer/", 10) != 0;
            }
        }
        allow_extra = any && !other;
    }
    if (ok && opt && gt_safetensors_find(st, "optimizer/iterations") >= 0) {
        /* a negative step count passes every shape and dtype check: refuse it before anything
         * is written, as the optimizer would refuse it after */
        const gt_tensor *it = gt_safetensors_get(st, "optimizer/iterations");
        ok = it != NULL;
        if (ok && gt_tensor_dtype(it) == GT_I64 && gt_tensor_size(it) == 1 &&
            *(const int64_t *)gt_tensor_data(it) < 0) {
            nn_error("checkpoint load: %s: optimizer/iterations is %lld; it must be >= 0", path,
                     (long long)*(const int64_t *)gt_tensor_data(it));
            ok = false;
        }
    }
    if (ok)
        ok = (names = ck_name_ptrs(&l)) != NULL;
    if (ok)
        ok = gt_safetensors_assign(st, l.n, l.t, names, allow_extra);
    if (ok && opt) {
        /* validated: copy the temporaries into the optimizer (cannot fail from here) */
        int k = nmodel;
        for (int i = 0; i < ns; i++, k++)
            memcpy(slots[i].data, gt_tensor_data(l.t[k]),
                   (size_t)slots[i].size * gt_dtype_size(slots[i].dtype));
        gt_optimizer_set_iterations(opt, *(const int64_t *)gt_tensor_data(l.t[k++]));
        if (!gt_optimizer_has_schedule(opt))
            gt_optimizer_set_learning_rate(opt, (double)*(const float *)gt_tensor_data(l.t[k]));
    }
    gt_scope_end();
    gt_safetensors_close(st);
    free(paths);
    free(names);
    free(slots);
    free(tvars);
    ck_free(&l);
    return ok;
}
