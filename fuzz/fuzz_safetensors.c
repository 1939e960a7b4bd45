/* libFuzzer target: the safetensors reader and everything that loads from it.
 *
 * Each input is
 *   1. parsed in memory (gt_safetensors_parse), and again with an unrelated error pending
 *      (the result must not change); on success every accessor runs on every tensor
 *      (name, find, dtype_name, info, get, metadata) and the results are cross-checked;
 *   2. assigned to variables (gt_safetensors_assign): the fixed model's variables by path,
 *      five variables of every dtype named a..e, and those five under the file's own tensor
 *      names, with and without allow_extra. On failure
 *      every variable must keep its exact bytes (all or nothing);
 *   3. when it parsed, written to a memfd and loaded with gt_checkpoint_load into the fixed
 *      model (fuzz_model.h), without and with an Adam optimizer: on failure the model and the
 *      optimizer (slots, iterations, learning rate) must be unchanged.
 * gen_seeds.c writes valid files for these exact names, so mutations start from files that
 * load. */
#define _GNU_SOURCE
#include "fuzz_model.h"
#include "fuzz_util.h"

#include <gradtape.h>
#include <gradtape_io.h>
#include <gradtape_nn.h>

#define MAXV     16
#define MAXSLOTS 32

static gt_model *model;
static gt_optimizer *opt;
static gt_tensor *mvars[MAXV];
static int nmvars;
static gt_tensor *nvars[FUZZ_NVARS];
static const char *nnames[FUZZ_NVARS];

/* A byte copy of the state a failed load must not change. */
typedef struct snapshot {
    size_t n;
    unsigned char *bytes;
} snapshot;

static void snap_add(snapshot *s, const void *p, size_t n) {
    s->bytes = realloc(s->bytes, s->n + n + 1);
    FUZZ_CHECK(s->bytes != NULL, "realloc");
    if (n)
        memcpy(s->bytes + s->n, p, n);
    s->n += n;
}

static void snap_vars(snapshot *s, gt_tensor *const *v, int n) {
    for (int i = 0; i < n; i++)
        snap_add(s, gt_tensor_data(v[i]),
                 (size_t)gt_tensor_size(v[i]) * gt_dtype_size(gt_tensor_dtype(v[i])));
}

static snapshot take(bool with_opt) {
    snapshot s = {0};
    snap_vars(&s, mvars, nmvars);
    snap_vars(&s, nvars, FUZZ_NVARS);
    if (with_opt && gt_optimizer_is_built(opt)) {
        gt_optimizer_slot slots[MAXSLOTS];
        int ns = gt_optimizer_slots(opt, slots, MAXSLOTS);
        FUZZ_CHECK(ns <= MAXSLOTS, "%d slots", ns);
        for (int i = 0; i < ns; i++)
            snap_add(&s, slots[i].data, (size_t)slots[i].size * gt_dtype_size(slots[i].dtype));
        int64_t it = gt_optimizer_iterations(opt);
        double lr = gt_optimizer_learning_rate(opt);
        snap_add(&s, &it, sizeof it);
        snap_add(&s, &lr, sizeof lr);
    }
    return s;
}

static bool same(const snapshot *a, const snapshot *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->bytes, b->bytes, a->n) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gt_set_num_threads(1);
    model = fuzz_model();
    opt = gt_adam(NULL);
    FUZZ_CHECK(model && opt, "cannot make the model: %s", gt_error());
    nmvars = gt_layer_variables(gt_model_layer(model), mvars, MAXV);
    FUZZ_CHECK(nmvars > 0 && nmvars <= MAXV, "%d variables", nmvars);
    gt_tensor *trainable[MAXV];
    int nt = gt_layer_trainable_variables(gt_model_layer(model), trainable, MAXV);
    FUZZ_CHECK(gt_optimizer_build(opt, nt, trainable), "optimizer build: %s", gt_error());
    fuzz_named_vars(nvars, nnames);
    for (int i = 0; i < FUZZ_NVARS; i++)
        FUZZ_CHECK(nvars[i], "variable %d: %s", i, gt_error());
    gt_error_clear();
    return 0;
}

static void accessors(const gt_safetensors *st) {
    int n = gt_safetensors_count(st);
    FUZZ_CHECK(n >= 0, "count %d", n);
    FUZZ_CHECK(gt_safetensors_name(st, n) == NULL && gt_safetensors_name(st, -1) == NULL,
               "names out of range");
    for (int i = 0; i < n; i++) {
        const char *name = gt_safetensors_name(st, i);
        FUZZ_CHECK(name && name[0], "tensor %d has no name", i);
        FUZZ_CHECK(gt_safetensors_find(st, name) == i, "find(%s) != %d", name, i);
        FUZZ_CHECK(gt_safetensors_dtype_name(st, i), "dtype name %d", i);
        gt_dtype dt;
        int rank = -1;
        const int64_t *shape = NULL;
        gt_error_clear();
        bool known = gt_safetensors_info(st, i, &dt, &rank, &shape);
        fuzz_check_error(known, "gt_safetensors_info");
        FUZZ_CHECK(rank >= 0 && rank <= GT_MAX_RANK && (rank == 0 || shape), "rank %d", rank);
        gt_error_clear();
        gt_scope_begin();
        gt_tensor *t = gt_safetensors_get(st, name);
        fuzz_check_error(t != NULL, "gt_safetensors_get");
        if (t) {
            FUZZ_CHECK(known && gt_tensor_dtype(t) == dt && gt_tensor_rank(t) == rank,
                       "get(%s) disagrees with info", name);
            for (int a = 0; a < rank; a++)
                FUZZ_CHECK(gt_tensor_shape(t)[a] == shape[a], "get(%s): axis %d", name, a);
            fuzz_touch(gt_tensor_data(t), (size_t)gt_tensor_size(t) * gt_dtype_size(dt));
        }
        gt_scope_end();
        gt_error_clear();
    }
    FUZZ_CHECK(gt_safetensors_find(st, "") == -1, "find(\"\")");
    int nm = gt_safetensors_metadata_count(st);
    for (int i = 0; i < nm; i++) {
        gt_kv kv = gt_safetensors_metadata_at(st, i);
        FUZZ_CHECK(kv.key && kv.value, "metadata %d", i);
        FUZZ_CHECK(gt_safetensors_metadata(st, kv.key) == kv.value, "metadata(%s)", kv.key);
    }
    FUZZ_CHECK(gt_safetensors_metadata_at(st, nm).key == NULL, "metadata out of range");
}

static void assign(const gt_safetensors *st, int n, gt_tensor *const *vars,
                   const char *const *names, bool allow_extra) {
    snapshot before = take(false);
    gt_error_clear();
    bool ok = gt_safetensors_assign(st, n, vars, names, allow_extra);
    FUZZ_LOG("assign(%d variables, %s, allow_extra=%d): %s", n,
             names == nnames ? "a..e"
             : names         ? "the file's names"
                             : "model",
             allow_extra, ok ? "ok" : "fails");
    fuzz_check_error(ok, "gt_safetensors_assign");
    if (!ok) {
        snapshot after = take(false);
        FUZZ_CHECK(same(&before, &after), "a failed assign changed a variable");
        free(after.bytes);
    }
    free(before.bytes);
    gt_error_clear();
}

/* o NULL: weights only; else an optimizer that is already built (its state is compared), or
 * `fresh`, an unbuilt one the load builds (only the model is compared then). */
static void checkpoint(const char *path, gt_optimizer *o, bool fresh) {
    bool with_opt = o && !fresh;
    snapshot before = take(with_opt);
    gt_error_clear();
    bool ok = gt_checkpoint_load(path, model, o);
    FUZZ_LOG("gt_checkpoint_load(%s): %s",
             !o      ? "no optimizer"
             : fresh ? "fresh adam"
                     : "adam",
             ok ? "ok" : "fails");
    if (ok)
        FUZZ_CHECK(gt_ok(), "gt_checkpoint_load returned true with an error pending: %s",
                   gt_error() ? gt_error() : "");
    else
        fuzz_check_error(ok, "gt_checkpoint_load");
    if (!ok) {
        snapshot after = take(with_opt);
        FUZZ_CHECK(same(&before, &after), "a failed checkpoint load changed the %s",
                   with_opt ? "model or the optimizer" : "model");
        free(after.bytes);
    }
    free(before.bytes);
    gt_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gt_error_clear();
    gt_safetensors *st = gt_safetensors_parse(data, size, "fuzz.safetensors");
    fuzz_check_error(st != NULL, "gt_safetensors_parse");
    FUZZ_LOG("gt_safetensors_parse: %s (%d tensors)", st ? "ok" : "fails",
             gt_safetensors_count(st));
    gt_error_clear();
    gt_set_error("an unrelated earlier error");
    gt_safetensors *st2 = gt_safetensors_parse(data, size, "fuzz.safetensors");
    FUZZ_CHECK((st2 != NULL) == (st != NULL), "a pending error changed the result");
    if (st2)
        FUZZ_CHECK(gt_safetensors_count(st2) == gt_safetensors_count(st), "count changed");
    gt_safetensors_close(st2);
    gt_error_clear();
    if (!st)
        return 0;

    accessors(st);
    assign(st, nmvars, mvars, NULL, false);
    assign(st, nmvars, mvars, NULL, true);
    assign(st, FUZZ_NVARS, nvars, nnames, false);
    assign(st, FUZZ_NVARS, nvars, nnames, true);
    /* the a..e variables under the file's own names (reused when it has fewer than five), so
     * the dtype/shape comparison and the "named twice" check always run */
    int count = gt_safetensors_count(st);
    if (count > 0) {
        const char *fnames[FUZZ_NVARS];
        for (int i = 0; i < FUZZ_NVARS; i++)
            fnames[i] = gt_safetensors_name(st, (i + (int)(size % 7)) % count);
        assign(st, FUZZ_NVARS, nvars, fnames, true);
        assign(st, count < FUZZ_NVARS ? count : FUZZ_NVARS, nvars, fnames, false);
    }
    gt_safetensors_close(st);

    const char *path = fuzz_as_file(data, size);
    checkpoint(path, NULL, false);
    checkpoint(path, opt, false);
    gt_optimizer *fresh = gt_adam(NULL);
    FUZZ_CHECK(fresh, "gt_adam");
    checkpoint(path, fresh, true);
    gt_optimizer_free(fresh);
    gt_error_clear();
    return 0;
}
