/* Variables: the only mutable values. Storage is copy-on-write, so every tensor and tape
 * record that read an old value keeps it. */
#include "core/internal.h"

#include <stdlib.h>

struct gt__var {
    char *name;
    char *path;
    bool trainable;
    gt_tensor *snap; /* the last snapshot taken of the current value (reads reuse it) */
};

/* A read returns the cached snapshot while the value is unchanged, so a step that uses a
 * variable many times makes one tensor and one tape record, not one per use. */
gt_tensor *gt__var_snapshot(const gt_tensor *v) {
    gt__var *x = v->var;
    if (x->snap && x->snap->storage == v->storage) {
        gt__scope_add(gt__retain(x->snap));
        return x->snap;
    }
    gt_tensor *s = gt__tensor_alias(v, v->rank, v->shape);
    if (!s) return NULL;
    gt__tensor_unref(x->snap);
    x->snap = gt_retain(s);
    return s;
}

static void drop_snapshot(gt_tensor *v) {
    gt__tensor_unref(v->var->snap);
    v->var->snap = NULL;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = gt__malloc(n, "a variable name");
    if (p) memcpy(p, s, n);
    return p;
}

static bool is_var(const char *who, const gt_tensor *v) {
    if (!v) {
        gt__error_null(who);
        return false;
    }
    if (!v->var) {
        gt__error("%s: the tensor is not a variable (make one with gt_variable)", who);
        return false;
    }
    return true;
}

gt_tensor *gt_variable_ex(const gt_tensor *initial, const char *name, bool trainable) {
    if (!initial) {
        gt__error_null("gt_variable");
        return NULL;
    }
    if (!name || !*name) name = "Variable";
    gt_tensor *v = gt__tensor_struct();
    gt__var *x = gt__calloc(1, sizeof *x, "a variable");
    if (!v || !x) goto fail;
    x->name = dup_str(name);
    x->path = dup_str(name);
    if (!x->name || !x->path) goto fail;
    x->trainable = trainable;
    v->var = x;
    v->dtype = initial->dtype;
    v->rank = initial->rank;
    v->size = initial->size;
    memcpy(v->shape, initial->shape, sizeof v->shape);
    v->storage = initial->storage;
    gt__storage_retain(v->storage);
    v->data = v->storage->data;
    return v;
fail:
    if (x) {
        gt__free(x->name);
        gt__free(x->path);
        gt__free(x);
    }
    if (v) {
        v->var = NULL;
        gt__tensor_unref(v);
    }
    return NULL;
}

gt_tensor *gt_variable(const gt_tensor *initial, const char *name) {
    return gt_variable_ex(initial, name, true);
}

void gt_variable_free(gt_tensor *v) {
    if (!v) return;
    if (!v->var) {
        gt__error("gt_variable_free: the tensor is not a variable (scopes own tensors)");
        return;
    }
    drop_snapshot(v);
    gt__free(v->var->name);
    gt__free(v->var->path);
    gt__free(v->var);
    v->var = NULL;
    gt__tensor_unref(v);
}

bool gt_is_variable(const gt_tensor *t) { return t && t->var; }

const char *gt_variable_name(const gt_tensor *v) {
    return is_var("gt_variable_name", v) ? v->var->name : NULL;
}
const char *gt_variable_path(const gt_tensor *v) {
    return is_var("gt_variable_path", v) ? v->var->path : NULL;
}

bool gt_variable_set_path(gt_tensor *v, const char *path) {
    if (!is_var("gt_variable_set_path", v)) return false;
    if (!path) {
        gt__error("gt_variable_set_path: path is NULL");
        return false;
    }
    char *p = dup_str(path);
    if (!p) return false;
    gt__free(v->var->path);
    v->var->path = p;
    return true;
}

bool gt_variable_trainable(const gt_tensor *v) { return v && v->var && v->var->trainable; }

void gt_variable_set_trainable(gt_tensor *v, bool trainable) {
    if (is_var("gt_variable_set_trainable", v)) v->var->trainable = trainable;
}

gt_tensor *gt_variable_value(const gt_tensor *v) {
    if (!is_var("gt_variable_value", v)) return NULL;
    return gt__var_read(v);
}

/* Makes v's storage exclusive (copy-on-write); with copy false the old contents are not
 * needed (a full overwrite follows). A sharer of the old storage keeps it alive. */
static bool own_storage(gt_tensor *v, bool copy) {
    drop_snapshot(v); /* the value is about to change */
    if (atomic_load(&v->storage->refs) == 1) return true;
    size_t bytes = (size_t)v->size * gt_dtype_size(v->dtype);
    const bool prof = copy && gt__profiling();
    const double t0 = prof ? gt__prof_now() : 0;
    gt__storage *s = gt__storage_new(bytes);
    if (!s) return false;
    if (copy && bytes) memcpy(s->data, v->data, bytes);
    if (prof) gt__prof_add("variable copy-on-write", GT__PROF_OTHER, gt__prof_now() - t0);
    gt__storage_release(v->storage);
    v->storage = s;
    v->data = s->data;
    return true;
}

void *gt_variable_data(gt_tensor *v) {
    if (!is_var("gt_variable_data", v) || !own_storage(v, true)) return NULL;
    return v->data;
}

void *gt_variable_data_overwrite(gt_tensor *v, const void **current) {
    if (!is_var("gt_variable_data_overwrite", v)) return NULL;
    if (!current) {
        gt__error_null("gt_variable_data_overwrite");
        return NULL;
    }
    const void *old = v->data; /* alive after own_storage: exclusive, or held by its sharer */
    *current = NULL;
    if (!own_storage(v, false)) return NULL;
    *current = old;
    return v->data;
}

float *gt_variable_data_f32(gt_tensor *v) {
    if (!is_var("gt_variable_data_f32", v)) return NULL;
    if (v->dtype != GT_F32) {
        gt__error("gt_variable_data_f32: variable '%s' has dtype %s, not float32", v->var->path,
                  gt_dtype_name(v->dtype));
        return NULL;
    }
    return gt_variable_data(v);
}

static bool check_value(const char *who, const gt_tensor *v, const gt_tensor *x, bool scalar_ok) {
    if (!is_var(who, v)) return false;
    if (!x) {
        gt__error_null(who);
        return false;
    }
    if (x->dtype != v->dtype) {
        gt__error("%s: variable '%s' has dtype %s but the value has dtype %s (cast it first)", who,
                  v->var->path, gt_dtype_name(v->dtype), gt_dtype_name(x->dtype));
        return false;
    }
    if (!gt__same_shape(x, v) && !(scalar_ok && x->size == 1 && x->rank == 0)) {
        gt__error("%s: variable '%s' has shape %s but the value has shape %s", who, v->var->path,
                  GT__SHAPE_STR(v), GT__SHAPE_STR(x));
        return false;
    }
    return true;
}

bool gt_variable_assign(gt_tensor *v, const gt_tensor *x) {
    if (!check_value("gt_variable_assign", v, x, false)) return false;
    if (x->var) x = gt__var_read(x);
    if (!x) return false;
    /* Share the value's storage: both are immutable from here on. */
    drop_snapshot(v);
    gt__storage_retain(x->storage);
    gt__storage_release(v->storage);
    v->storage = x->storage;
    v->data = v->storage->data;
    return true;
}

static bool update(const char *who, gt_tensor *v, const gt_tensor *x, double sign) {
    if (!check_value(who, v, x, true)) return false;
    if (x->var) x = gt__var_read(x);
    if (!x || !own_storage(v, true)) return false;
    int64_t n = v->size, step = x->size == 1 && v->size != 1 ? 0 : 1;
    switch (v->dtype) {
    case GT_F32: {
        float *p = v->data;
        const float *q = x->data;
        float s = (float)sign;
        for (int64_t i = 0; i < n; i++) p[i] += s * q[i * step];
        break;
    }
    case GT_F64: {
        double *p = v->data;
        const double *q = x->data;
        for (int64_t i = 0; i < n; i++) p[i] += sign * q[i * step];
        break;
    }
    default:
        for (int64_t i = 0; i < n; i++) gt__set(v, i, gt__get(v, i) + sign * gt__get(x, i * step));
    }
    return true;
}

bool gt_variable_assign_add(gt_tensor *v, const gt_tensor *x) {
    return update("gt_variable_assign_add", v, x, 1.0);
}
bool gt_variable_assign_sub(gt_tensor *v, const gt_tensor *x) {
    return update("gt_variable_assign_sub", v, x, -1.0);
}
