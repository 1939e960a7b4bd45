/* The layer base: Keras-style auto names, name scopes that give variables their paths, lazy
 * build, weights and sublayers in Keras order, the trainable switch. */
#include "nn_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- auto names: one process-wide counter per snake_case prefix (Keras' object_name_uids) -- */

typedef struct uid_entry {
    char prefix[96];
    int64_t count;
} uid_entry;
static uid_entry *uids;
static int nuids, capuids;
static pthread_mutex_t uid_lock = PTHREAD_MUTEX_INITIALIZER;

void gt_reset_uids(void) {
    pthread_mutex_lock(&uid_lock);
    free(uids);
    uids = NULL;
    nuids = capuids = 0;
    pthread_mutex_unlock(&uid_lock);
}

/* Keras' uniquify: the first use of a prefix gives it bare, then prefix_1, prefix_2, ... */
static bool uniquify(const char *prefix, char *out, size_t n) {
    pthread_mutex_lock(&uid_lock);
    int i = 0;
    while (i < nuids && strcmp(uids[i].prefix, prefix) != 0)
        i++;
    if (i == nuids) {
        if (nuids == capuids) {
            int cap = capuids ? 2 * capuids : 16;
            uid_entry *u = realloc(uids, sizeof(*u) * (size_t)cap);
            if (!u) {
                pthread_mutex_unlock(&uid_lock);
                nn_error("layer: out of memory for the name counters");
                return false;
            }
            uids = u;
            capuids = cap;
        }
        snprintf(uids[i].prefix, sizeof uids[i].prefix, "%s", prefix);
        uids[i].count = 0;
        nuids++;
    }
    char buf[128]; /* prefix (< 96) + "_" + up to 20 digits */
    if (uids[i].count == 0)
        snprintf(buf, sizeof buf, "%s", prefix);
    else
        snprintf(buf, sizeof buf, "%s_%lld", prefix, (long long)uids[i].count);
    uids[i].count++;
    pthread_mutex_unlock(&uid_lock);
    size_t len = strlen(buf);
    if (len >= n) {
        nn_error("layer: the automatic name '%s' is too long (at most %zu characters)", buf, n - 1);
        return false;
    }
    memcpy(out, buf, len + 1);
    return true;
}

/* Keras' to_snake_case: drop non-word characters, then "(.)([A-Z][a-z]+)" -> "\1_\2",
 * "([a-z])([A-Z])" -> "\1_\2", lower-case. */
char *gt_snake_case(const char *name, char *buf, size_t n) {
    if (!buf || n == 0)
        return buf;
    char tmp[256], tmp2[512];
    size_t k = 0;
    for (const char *p = name ? name : ""; *p && k + 1 < sizeof tmp; p++)
        if (isalnum((unsigned char)*p) || *p == '_')
            tmp[k++] = *p;
    tmp[k] = 0;
    /* pass 1: an upper case letter followed by lower case, preceded by any character */
    size_t j = 0;
    for (size_t i = 0; i < k && j + 2 < sizeof tmp2; i++) {
        if (i > 0 && isupper((unsigned char)tmp[i]) && i + 1 < k &&
            islower((unsigned char)tmp[i + 1])) {
            /* regex matches are non-overlapping: the previous character must not itself start
             * a match just inserted; the greedy [a-z]+ after it consumed letters only */
            tmp2[j++] = '_';
        }
        tmp2[j++] = tmp[i];
    }
    tmp2[j] = 0;
    /* pass 2: lower case followed by upper case */
    size_t o = 0;
    for (size_t i = 0; i < j && o + 2 < n; i++) {
        buf[o++] = (char)tolower((unsigned char)tmp2[i]);
        if (islower((unsigned char)tmp2[i]) && i + 1 < j && isupper((unsigned char)tmp2[i + 1]) &&
            o + 2 < n)
            buf[o++] = '_';
    }
    buf[o] = 0;
    return buf;
}

/* ---- name scopes --------------------------------------------------------------------------- */

#define SCOPE_MAX   1024
#define SCOPE_DEPTH 64
static _Thread_local char scope_buf[SCOPE_MAX];
static _Thread_local size_t scope_len[SCOPE_DEPTH];
static _Thread_local int scope_depth;

void nn_scope_push(const char *name) {
    size_t cur = strlen(scope_buf);
    if (scope_depth < SCOPE_DEPTH)
        scope_len[scope_depth] = cur;
    scope_depth++;
    const size_t len = strlen(name);
    if (cur + len + 2 < SCOPE_MAX) { /* every layer call pushes: no formatting */
        char *p = scope_buf + cur;
        if (cur)
            *p++ = '/';
        memcpy(p, name, len + 1);
    }
}

void nn_scope_pop(void) {
    if (scope_depth <= 0)
        return;
    scope_depth--;
    if (scope_depth < SCOPE_DEPTH)
        scope_buf[scope_len[scope_depth]] = 0;
}

void nn_scope_path(const char *name, char *buf, size_t n) {
    if (scope_buf[0])
        snprintf(buf, n, "%s/%s", scope_buf, name);
    else
        snprintf(buf, n, "%s", name);
}

void nn_shape_str(int rank, const int64_t *shape, char *buf, size_t n) {
    if (n == 0)
        return;
    /* appends stop once the buffer is full (o < n always: no pointer past the end) */
#define SHAPE_PUT(...)                                                                             \
    do {                                                                                           \
        int w_ = snprintf(buf + o, n - o, __VA_ARGS__);                                            \
        o = w_ < 0 || (size_t)w_ >= n - o ? n - 1 : o + (size_t)w_;                                \
    } while (0)
    size_t o = 0;
    SHAPE_PUT("(");
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) /* unknown (a batch axis built as None) */
            SHAPE_PUT("%sNone", i ? ", " : "");
        else
            SHAPE_PUT("%s%lld", i ? ", " : "", (long long)shape[i]);
    }
    SHAPE_PUT(rank == 1 ? ",)" : ")");
#undef SHAPE_PUT
}

const gt_tensor *nn_autocast(const gt_layer *l, const gt_tensor *x) {
    return gt_tensor_dtype(x) != l->dtype ? gt_cast(x, l->dtype) : x;
}

/* ---- input checks with Keras' InputSpec errors --------------------------------------------- */

#define INCOMPATIBLE_INPUT "Input 0 of layer \"%s\" is incompatible with the layer: "

/* The rank error of InputSpec(<spec>=want): spec is "ndim" or "min_ndim". Returns false. */
static bool ndim_error(const gt_layer *l, const char *spec, int want, int rank,
                       const int64_t *shape, const char *hint) {
    char got[256];
    nn_shape_str(rank, shape, got, sizeof got);
    nn_error(INCOMPATIBLE_INPUT "expected %s=%d, found ndim=%d. Full shape received: %s%s",
             l->name, spec, want, rank, got, hint ? hint : "");
    return false;
}

bool nn_expect_ndim(const gt_layer *l, int ndim, int rank, const int64_t *shape, const char *hint) {
    return rank == ndim || ndim_error(l, "ndim", ndim, rank, shape, hint);
}

bool nn_expect_min_ndim(const gt_layer *l, int min_ndim, int rank, const int64_t *shape) {
    return rank >= min_ndim || ndim_error(l, "min_ndim", min_ndim, rank, shape, NULL);
}

bool nn_expect_axis(const gt_layer *l, int axis, int64_t value, int rank, const int64_t *shape) {
    int a = axis < 0 ? rank + axis : axis;
    if (a >= 0 && a < rank && shape[a] == value)
        return true;
    char got[256];
    nn_shape_str(rank, shape, got, sizeof got);
    nn_error(INCOMPATIBLE_INPUT "expected axis %d of input shape to have value %lld, but received "
                                "input with shape %s",
             l->name, axis, (long long)value, got);
    return false;
}

/* ---- the base ------------------------------------------------------------------------------ */

static bool valid_name(const char *s) {
    if (!*s || strlen(s) > 95)
        return false;
    for (; *s; s++)
        if (*s == '/' || isspace((unsigned char)*s))
            return false;
    return true;
}

gt_layer *gt_layer_new(const gt_layer_vtable *vt, size_t size, const char *name) {
    if (!vt || !vt->call) {
        nn_error("layer: a layer type needs a vtable with a call function");
        return NULL;
    }
    if (size < sizeof(gt_layer))
        size = sizeof(gt_layer);
    if (name && !valid_name(name)) {
        nn_error("layer: invalid name '%s' (1 to 95 characters, no '/' or spaces)", name);
        return NULL;
    }
    gt_layer *l = calloc(1, size);
    if (!l) {
        nn_error("layer: out of memory (%zu bytes)", size);
        return NULL;
    }
    l->vt = vt;
    l->trainable = true;
    l->dtype = GT_F32;
    l->out_rank = -1;
    if (name) {
        snprintf(l->name, sizeof l->name, "%s", name);
    } else {
        char snake[96];
        gt_snake_case(vt->class_name ? vt->class_name : "Layer", snake, sizeof snake);
        if (!uniquify(snake, l->name, sizeof l->name)) {
            free(l);
            return NULL;
        }
    }
    return l;
}

void gt_layer_free(gt_layer *l) {
    if (!l)
        return;
    if (l->vt && l->vt->destroy)
        l->vt->destroy(l);
    for (int i = 0; i < l->nchildren; i++)
        gt_layer_free(l->children[i]);
    for (int i = 0; i < l->nweights; i++)
        gt_variable_free(l->weights[i]);
    free(l->children);
    free(l->weights);
    free(l->weight_trainable);
    free(l);
}

const char *gt_layer_name(const gt_layer *l) {
    return l ? l->name : NULL;
}
const char *gt_layer_class_name(const gt_layer *l) {
    return l && l->vt ? (l->vt->class_name ? l->vt->class_name : "Layer") : NULL;
}
bool gt_layer_built(const gt_layer *l) {
    return l && l->built;
}

gt_layer *gt_layer_track(gt_layer *parent, gt_layer *child) {
    if (!child)
        return NULL;
    if (!parent) {
        gt_layer_free(child);
        nn_error("layer track: NULL parent");
        return NULL;
    }
    if (child == parent) {
        nn_error("layer track: a layer cannot track itself");
        return NULL;
    }
    for (int i = 0; i < parent->nchildren; i++)
        if (parent->children[i] == child)
            return child; /* tracked once, as Keras dedups */
    if (parent->nchildren == parent->capchildren) {
        int cap = parent->capchildren ? 2 * parent->capchildren : 4;
        gt_layer **c = realloc(parent->children, sizeof(*c) * (size_t)cap);
        if (!c) {
            gt_layer_free(child);
            nn_error("layer track: out of memory");
            return NULL;
        }
        parent->children = c;
        parent->capchildren = cap;
    }
    parent->children[parent->nchildren++] = child;
    if (!parent->trainable)
        gt_layer_set_trainable(child, false);
    return child;
}

void gt_layer_set_trainable(gt_layer *l, bool trainable) {
    if (!l)
        return;
    l->trainable = trainable;
    for (int i = 0; i < l->nweights; i++)
        if (l->weight_trainable[i])
            gt_variable_set_trainable(l->weights[i], trainable);
    for (int i = 0; i < l->nchildren; i++)
        gt_layer_set_trainable(l->children[i], trainable);
}

gt_tensor *gt_layer_add_weight(gt_layer *l, const char *name, int rank, const int64_t *shape,
                               const gt_initializer *init, bool trainable) {
    if (!l || !name || !init) {
        nn_error("add_weight: NULL layer, name or initializer");
        return NULL;
    }
    if (l->nweights == l->capweights) {
        int cap = l->capweights ? 2 * l->capweights : 4;
        gt_tensor **w = realloc(l->weights, sizeof(*w) * (size_t)cap);
        if (w)
            l->weights = w;
        bool *t = realloc(l->weight_trainable, sizeof(*t) * (size_t)cap);
        if (t)
            l->weight_trainable = t;
        if (!w || !t) {
            nn_error("add_weight: out of memory");
            return NULL;
        }
        l->capweights = cap;
    }
    gt_scope_begin();
    gt_tensor *v = NULL, *value = gt_initializer_make(init, l->dtype, rank, shape);
    if (value)
        v = gt_variable_ex(value, name, trainable && l->trainable);
    gt_scope_end();
    if (!v)
        return NULL;
    char path[1024];
    nn_scope_path(name, path, sizeof path);
    if (!gt_variable_set_path(v, path)) {
        gt_variable_free(v);
        return NULL;
    }
    l->weights[l->nweights] = v;
    l->weight_trainable[l->nweights] = trainable;
    l->nweights++;
    return v;
}

bool gt_layer_build(gt_layer *l, int rank, const int64_t *shape) {
    if (!l) {
        nn_error("layer build: NULL layer");
        return false;
    }
    if (l->built)
        return true;
    nn_scope_push(l->name);
    bool ok = l->vt->build ? l->vt->build(l, rank, shape) : true;
    nn_scope_pop();
    if (ok)
        l->built = true;
    return ok;
}

gt_tensor *gt_layer_call(gt_layer *l, const gt_tensor *x, bool training) {
    if (!x)
        return NULL; /* keep the first error */
    if (!l) {
        nn_error("layer call: NULL layer");
        return NULL;
    }
    gt_dtype dt = gt_tensor_dtype(x);
    bool keep_ints = nn_layer_keeps_int_inputs(l); /* Embedding: ids stay ids */
    if (!l->built && !keep_ints)
        l->dtype = gt_dtype_is_float(dt) ? dt : GT_F32;
    /* Keras autocasts inputs to the layer's compute dtype (integer inputs become floats) */
    if (dt != l->dtype && !gt_dtype_is_float(dt) && !keep_ints)
        x = gt_cast(x, l->dtype);
    if (!x)
        return NULL;
    if (!l->built) {
        nn_scope_push(l->name);
        bool ok = l->vt->build ? l->vt->build(l, gt_tensor_rank(x), gt_tensor_shape(x)) : true;
        nn_scope_pop();
        if (!ok)
            return NULL;
        l->built = true;
    }
    nn_scope_push(l->name);
    gt_tensor *y = l->vt->call(l, x, training);
    nn_scope_pop();
    if (y) {
        l->out_rank = gt_tensor_rank(y);
        memcpy(l->out_shape, gt_tensor_shape(y), sizeof(int64_t) * (size_t)l->out_rank);
    }
    return y;
}

/* ---- variables in Keras order ------------------------------------------------------------- */

typedef enum { WANT_ALL, WANT_TRAINABLE, WANT_NON_TRAINABLE } want_t;

/* Keras' weights: own created-trainable, own created-non-trainable, then sublayers' weights.
 * trainable_weights = [] if not layer.trainable else [w in weights if w.trainable]. */
static void collect_weights(const gt_layer *l, gt_tensor **out, int cap, int *n) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < l->nweights; i++)
            if (l->weight_trainable[i] == (pass == 0)) {
                gt_tensor *w = l->weights[i];
                bool seen = false;
                for (int j = 0; j < *n && j < cap; j++)
                    seen |= out[j] == w;
                if (seen)
                    continue;
                if (*n < cap)
                    out[*n] = w;
                (*n)++;
            }
    for (int c = 0; c < l->nchildren; c++)
        collect_weights(l->children[c], out, cap, n);
}

static int collect(const gt_layer *l, gt_tensor **out, int cap, want_t want) {
    if (!l)
        return 0;
    if (!out)
        cap = 0;
    int total = 0;
    collect_weights(l, NULL, 0, &total);
    gt_tensor **all = malloc(sizeof(*all) * (size_t)(total ? total : 1));
    if (!all) {
        nn_error("layer variables: out of memory");
        return 0;
    }
    int n = 0;
    collect_weights(l, all, total, &n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        bool t = gt_variable_trainable(all[i]);
        bool take = want == WANT_ALL || (want == WANT_TRAINABLE && l->trainable && t) ||
                    (want == WANT_NON_TRAINABLE && (!l->trainable || !t));
        if (!take)
            continue;
        if (k < cap)
            out[k] = all[i];
        k++;
    }
    free(all);
    return k;
}

int gt_layer_variables(const gt_layer *l, gt_tensor **out, int cap) {
    return collect(l, out, cap, WANT_ALL);
}
int gt_layer_trainable_variables(const gt_layer *l, gt_tensor **out, int cap) {
    return collect(l, out, cap, WANT_TRAINABLE);
}
int gt_layer_non_trainable_variables(const gt_layer *l, gt_tensor **out, int cap) {
    return collect(l, out, cap, WANT_NON_TRAINABLE);
}

int64_t gt_layer_count_params(const gt_layer *l) {
    if (!l)
        return 0;
    int n = gt_layer_variables(l, NULL, 0);
    gt_tensor **v = malloc(sizeof(*v) * (size_t)(n ? n : 1));
    if (!v)
        return 0;
    gt_layer_variables(l, v, n);
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += gt_tensor_size(v[i]);
    free(v);
    return total;
}
