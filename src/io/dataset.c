/* In-memory (x, y) datasets: samples shared between views, batches made through a reused
 * staging buffer, per-epoch shuffles that depend only on (seed, epoch). */
#include "io/io_internal.h"
#include "kernels/convert.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The samples, shared by every view made from one dataset. */
typedef struct ds_store {
    int refs;
    int64_t n;
    int x_rank;
    int64_t x_shape[GT_MAX_RANK];
    int64_t x_size; /* elements per sample */
    uint8_t *x_u8;  /* n * x_size bytes (free()), or */
    float *x_f32;   /* n * x_size floats */
    int32_t *labels;
    int64_t num_classes;
    float *targets;
    int64_t y_width;
    size_t bytes;
} ds_store;

struct gt_dataset {
    ds_store *s;
    int64_t begin, count;
    double scale, offset;
    int xb_rank;    /* batch sample shape */
    int64_t xb_shape[GT_MAX_RANK];
    bool one_hot;
    bool shuffled;
    int64_t *order;     /* count entries once shuffled */
    void *ystage;       /* label staging buffer, grown to the largest batch seen */
    int64_t ystage_cap; /* bytes */
};

static void store_release(ds_store *s) {
    if (!s || --s->refs > 0)
        return;
    free(s->x_u8);
    gt__free(s->x_f32);
    gt__free(s->labels);
    gt__free(s->targets);
    gt__free(s);
}

/* A view of [begin, begin + count) of store s with default or copied batch options. */
static gt_dataset *view_new(ds_store *s, int64_t begin, int64_t count, const gt_dataset *like) {
    gt_dataset *ds = gt__calloc(1, sizeof *ds, "a dataset");
    if (!ds)
        return NULL;
    s->refs++;
    ds->s = s;
    ds->begin = begin;
    ds->count = count;
    if (like) {
        ds->scale = like->scale;
        ds->offset = like->offset;
        ds->xb_rank = like->xb_rank;
        memcpy(ds->xb_shape, like->xb_shape, sizeof ds->xb_shape);
        ds->one_hot = like->one_hot;
    } else {
        ds->scale = s->x_u8 ? 1.0 / 255.0 : 1.0;
        ds->offset = 0.0;
        ds->xb_rank = s->x_rank;
        memcpy(ds->xb_shape, s->x_shape, sizeof ds->xb_shape);
    }
    return ds;
}

static bool sample_shape_ok(const char *who, int rank, const int64_t *shape, int64_t *size) {
    if (rank < 0 || rank > GT_MAX_RANK - 1 || (rank && !shape)) {
        gt__error("%s: a sample's rank must be 0..%d (a batch adds one axis), got %d", who,
                  GT_MAX_RANK - 1, rank);
        return false;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0 || !gt__io_mul(n, shape[i], &n)) {
            gt__error("%s: bad sample dimension %lld at axis %d", who, (long long)shape[i], i);
            return false;
        }
    *size = n;
    return true;
}

/* Checks labels and finds the class count (0 given: max + 1). */
static bool check_labels(const char *who, const int32_t *labels, int64_t n, int64_t *classes) {
    int64_t mx = -1;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || (*classes > 0 && labels[i] >= *classes)) {
            gt__error("%s: label %d of sample %lld is outside [0, %lld)", who, (int)labels[i],
                      (long long)i, (long long)(*classes > 0 ? *classes : INT32_MAX));
            return false;
        }
        if (labels[i] > mx)
            mx = labels[i];
    }
    if (*classes <= 0)
        *classes = mx + 1;
    return true;
}

static ds_store *store_new(int64_t n, int rank, const int64_t *shape, int64_t size) {
    ds_store *s = gt__calloc(1, sizeof *s, "a dataset");
    if (!s)
        return NULL;
    s->n = n;
    s->x_rank = rank;
    for (int i = 0; i < rank; i++)
        s->x_shape[i] = shape[i];
    s->x_size = size;
    return s;
}

gt_dataset *gt_dataset_new(const gt_dataset_desc *desc) {
    const char *who = "gt_dataset_new";
    if (!desc) {
        gt__error("%s: desc is NULL", who);
        return NULL;
    }
    int64_t size, total;
    if (desc->count < 0) {
        gt__error("%s: count is negative (%lld)", who, (long long)desc->count);
        return NULL;
    }
    if (!sample_shape_ok(who, desc->x_rank, desc->x_shape, &size))
        return NULL;
    if (!desc->x_u8 == !desc->x_f32) {
        gt__error("%s: give exactly one of x_u8 and x_f32", who);
        return NULL;
    }
    if (desc->labels && desc->targets) {
        gt__error("%s: give labels or targets, not both", who);
        return NULL;
    }
    int64_t width = desc->target_width > 0 ? desc->target_width : 1, ybytes, xbytes;
    if (!gt__io_mul(desc->count, size, &total) || !gt__io_mul(total, 4, &xbytes) ||
        !gt__io_mul(desc->count, width, &ybytes) || !gt__io_mul(ybytes, 4, &ybytes)) {
        gt__error("%s: %lld samples of %lld elements overflow", who, (long long)desc->count,
                  (long long)size);
        return NULL;
    }
    int64_t classes = desc->num_classes;
    if (desc->labels && !check_labels(who, desc->labels, desc->count, &classes))
        return NULL;
    ds_store *s = store_new(desc->count, desc->x_rank, desc->x_shape, size);
    if (!s)
        return NULL;
    s->refs = 0;
    size_t xb = (size_t)total * (desc->x_u8 ? 1 : sizeof(float));
    bool ok;
    if (desc->x_u8) {
        ok = (s->x_u8 = malloc(xb ? xb : 1)) != NULL;
        if (!ok)
            gt__error_oom("a dataset's samples", xb);
        else
            memcpy(s->x_u8, desc->x_u8, xb);
    } else {
        ok = (s->x_f32 = gt__malloc(xb ? xb : 1, "a dataset's samples")) != NULL;
        if (ok)
            memcpy(s->x_f32, desc->x_f32, xb);
    }
    s->bytes = xb;
    if (ok && desc->labels) {
        size_t lb = (size_t)desc->count * sizeof(int32_t);
        ok = (s->labels = gt__malloc(lb ? lb : 1, "a dataset's labels")) != NULL;
        if (ok)
            memcpy(s->labels, desc->labels, lb);
        s->num_classes = classes;
        s->bytes += lb;
    } else if (ok && desc->targets) {
        size_t tb = (size_t)ybytes;
        ok = (s->targets = gt__malloc(tb ? tb : 1, "a dataset's targets")) != NULL;
        if (ok)
            memcpy(s->targets, desc->targets, tb);
        s->y_width = width;
        s->bytes += tb;
    }
    gt_dataset *ds = ok ? view_new(s, 0, desc->count, NULL) : NULL;
    if (!ds) {
        s->refs = 1;
        store_release(s);
    }
    return ds;
}

gt_dataset *gt_dataset_from_idx(const char *images_path, const char *labels_path) {
    const char *who = "gt_dataset_from_idx";
    gt_idx im = {0}, lb = {0};
    if (!gt_idx_read(images_path, &im))
        return NULL;
    if (labels_path && !gt_idx_read(labels_path, &lb)) {
        gt_idx_free(&im);
        return NULL;
    }
    ds_store *s = NULL;
    int64_t n = im.dims[0];
    if (labels_path) {
        if (lb.rank != 1 || lb.dims[0] != n) {
            gt__error("%s: %s holds %lld labels (rank %d), but %s holds %lld images: they must "
                      "match one to one",
                      who, labels_path, (long long)lb.dims[0], lb.rank, images_path, (long long)n);
            goto fail;
        }
        if (lb.type == GT_IDX_F32 || lb.type == GT_IDX_F64) {
            gt__error("%s: %s holds %s values; class labels must be integers", who, labels_path,
                      lb.type == GT_IDX_F32 ? "f32" : "f64");
            goto fail;
        }
    }
    s = store_new(n, im.rank - 1, im.dims + 1, n ? im.count / n : 0);
    if (!s)
        goto fail;
    if (!n) { /* a zero-sample file: the product of the rest still defines the sample */
        s->x_size = 1;
        for (int i = 1; i < im.rank; i++)
            if (!gt__io_mul(s->x_size, im.dims[i], &s->x_size)) {
                gt__error("%s: %s: dimensions overflow: its samples would have more than 2^63 "
                          "elements (a corrupt header)",
                          who, images_path);
                goto fail;
            }
    }
    if (im.type == GT_IDX_U8) {
        s->x_u8 = im.data; /* kept as bytes, no copy */
        im.data = NULL;
        s->bytes = (size_t)im.count;
    } else {
        size_t xb = (size_t)im.count * sizeof(float);
        s->x_f32 = gt__malloc(xb ? xb : 1, "a dataset's samples");
        if (!s->x_f32)
            goto fail;
        for (int64_t i = 0; i < im.count; i++) {
            switch (im.type) {
            case GT_IDX_I8:
                s->x_f32[i] = ((int8_t *)im.data)[i];
                break;
            case GT_IDX_I16:
                s->x_f32[i] = ((int16_t *)im.data)[i];
                break;
            case GT_IDX_I32:
                s->x_f32[i] = (float)((int32_t *)im.data)[i];
                break;
            case GT_IDX_F32:
                s->x_f32[i] = ((float *)im.data)[i];
                break;
            case GT_IDX_F64:
                s->x_f32[i] = (float)((double *)im.data)[i];
                break;
            default:
                break;
            }
        }
        s->bytes = xb;
    }
    if (labels_path) {
        size_t bytes = (size_t)n * sizeof(int32_t);
        s->labels = gt__malloc(bytes ? bytes : 1, "a dataset's labels");
        if (!s->labels)
            goto fail;
        for (int64_t i = 0; i < n; i++) {
            switch (lb.type) {
            case GT_IDX_U8:
                s->labels[i] = ((uint8_t *)lb.data)[i];
                break;
            case GT_IDX_I8:
                s->labels[i] = ((int8_t *)lb.data)[i];
                break;
            case GT_IDX_I16:
                s->labels[i] = ((int16_t *)lb.data)[i];
                break;
            default:
                s->labels[i] = ((int32_t *)lb.data)[i];
                break;
            }
        }
        s->bytes += bytes;
        if (!check_labels(labels_path, s->labels, n, &s->num_classes))
            goto fail;
    }
    gt_idx_free(&im);
    gt_idx_free(&lb);
    gt_dataset *ds = view_new(s, 0, n, NULL);
    if (!ds) {
        s->refs = 1;
        store_release(s);
    }
    return ds;
fail:
    gt_idx_free(&im);
    gt_idx_free(&lb);
    if (s) {
        s->refs = 1;
        store_release(s);
    }
    return NULL;
}

gt_dataset *gt_dataset_from_csv(const gt_csv *csv, bool class_labels) {
    const char *who = "gt_dataset_from_csv";
    if (!csv || (!csv->x && csv->rows && csv->cols)) {
        gt__error("%s: csv is NULL or empty (freed?)", who);
        return NULL;
    }
    gt_dataset_desc d = {.count = csv->rows, .x_rank = 1, .x_shape = &csv->cols};
    float dummy = 0;
    d.x_f32 = csv->x ? csv->x : &dummy;
    int32_t *labels = NULL;
    if (csv->y && class_labels) {
        labels = gt__malloc((size_t)(csv->rows ? csv->rows : 1) * sizeof(int32_t), "CSV labels");
        if (!labels)
            return NULL;
        for (int64_t i = 0; i < csv->rows; i++) {
            float v = csv->y[i];
            if (!(v >= 0 && v < 2147483648.0f) || v != floorf(v)) {
                gt__error("%s: label %g of row %lld is not a whole number >= 0: pass class_labels "
                          "= false for float targets",
                          who, (double)v, (long long)i + 1);
                gt__free(labels);
                return NULL;
            }
            labels[i] = (int32_t)v;
        }
        d.labels = labels;
    } else if (csv->y) {
        d.targets = csv->y;
        d.target_width = 1;
    }
    gt_dataset *ds = gt_dataset_new(&d);
    gt__free(labels);
    return ds;
}

/* ---- Fashion-MNIST / MNIST folders ---------------------------------------------------------- */

#define INSTALL_HINT                                                                               \
    "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass "      \
    "the folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "                  \
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"

/* "<dir>/<base>.gz" if it exists, else "<dir>/<base>"; false (+error) when neither does. */
static bool find_file(const char *dir, const char *base, char *out, size_t n) {
    struct stat st;
    snprintf(out, n, "%s/%s.gz", dir, base);
    if (stat(out, &st) == 0)
        return true;
    snprintf(out, n, "%s/%s", dir, base);
    if (stat(out, &st) == 0)
        return true;
    gt__error("mnist: %s/%s(.gz) not found: " INSTALL_HINT, dir, base);
    return false;
}

bool gt_mnist_load(const char *dir, gt_dataset **train, gt_dataset **test) {
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!train || !test) {
        gt__error("gt_mnist_load: train and test must not be NULL");
        return false;
    }
    if (!dir)
        dir = GT_FASHION_MNIST_DIR;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        gt__error("mnist: the folder %s does not exist: " INSTALL_HINT, dir);
        return false;
    }
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    size_t len = strlen(dir) + 64;
    char *paths = gt__malloc(4 * len, "file names");
    if (!paths)
        return false;
    bool ok = true;
    for (int i = 0; i < 4 && ok; i++)
        ok = find_file(dir, names[i], paths + i * len, len);
    gt_dataset *tr = ok ? gt_dataset_from_idx(paths, paths + len) : NULL;
    gt_dataset *te = tr ? gt_dataset_from_idx(paths + 2 * len, paths + 3 * len) : NULL;
    if (te && tr->s->x_size != te->s->x_size) {
        gt__error("mnist: %s: train images hold %lld values each, test images %lld", dir,
                  (long long)tr->s->x_size, (long long)te->s->x_size);
        gt_dataset_free(te);
        te = NULL;
    }
    gt__free(paths);
    if (!te) {
        gt_dataset_free(tr);
        return false;
    }
    /* Both sets use the larger class count (10), whichever labels a small test set lacks. */
    int64_t c = tr->s->num_classes > te->s->num_classes ? tr->s->num_classes : te->s->num_classes;
    tr->s->num_classes = te->s->num_classes = c;
    *train = tr;
    *test = te;
    return true;
}

/* ---- views and accessors -------------------------------------------------------------------- */

void gt_dataset_free(gt_dataset *ds) {
    if (!ds)
        return;
    store_release(ds->s);
    gt__free(ds->order);
    gt__free(ds->ystage);
    gt__free(ds);
}

gt_dataset *gt_dataset_slice(const gt_dataset *ds, int64_t begin, int64_t count) {
    if (!ds) {
        gt__error_null("gt_dataset_slice");
        return NULL;
    }
    if (begin < 0 || count < 0 || begin > ds->count || count > ds->count - begin) {
        gt__error("gt_dataset_slice: [%lld, %lld + %lld) is outside the dataset's %lld samples",
                  (long long)begin, (long long)begin, (long long)count, (long long)ds->count);
        return NULL;
    }
    return view_new(ds->s, ds->begin + begin, count, ds);
}

gt_dataset *gt_dataset_take(const gt_dataset *ds, int64_t n) {
    if (!ds) {
        gt__error_null("gt_dataset_take");
        return NULL;
    }
    if (n < 0) {
        gt__error("gt_dataset_take: n is negative (%lld)", (long long)n);
        return NULL;
    }
    return gt_dataset_slice(ds, 0, n < ds->count ? n : ds->count);
}

bool gt_dataset_split(const gt_dataset *ds, double fraction, gt_dataset **train, gt_dataset **val) {
    if (train)
        *train = NULL;
    if (val)
        *val = NULL;
    if (!ds || !train || !val) {
        gt__error_null("gt_dataset_split");
        return false;
    }
    if (!(fraction > 0.0 && fraction < 1.0)) {
        gt__error("gt_dataset_split: validation_split must be between 0 and 1 (exclusive), got %g",
                  fraction);
        return false;
    }
    /* Keras: split_at = int(math.floor(batch_dim * (1.0 - validation_split))). */
    int64_t at = (int64_t)floor((double)ds->count * (1.0 - fraction));
    if (at <= 0 || at >= ds->count) {
        gt__error("gt_dataset_split: the data has %lld samples, which is not sufficient to split "
                  "it into a validation and training set as specified by validation_split=%g: "
                  "provide more data or a different fraction",
                  (long long)ds->count, fraction);
        return false;
    }
    *train = gt_dataset_slice(ds, 0, at);
    *val = *train ? gt_dataset_slice(ds, at, ds->count - at) : NULL;
    if (!*val) {
        gt_dataset_free(*train);
        *train = NULL;
        return false;
    }
    return true;
}

int64_t gt_dataset_size(const gt_dataset *ds) {
    if (!ds) {
        gt__error_null("gt_dataset_size");
        return -1;
    }
    return ds->count;
}

int gt_dataset_sample_shape(const gt_dataset *ds, int64_t *shape) {
    if (!ds) {
        gt__error_null("gt_dataset_sample_shape");
        return -1;
    }
    if (shape)
        for (int i = 0; i < ds->s->x_rank; i++)
            shape[i] = ds->s->x_shape[i];
    return ds->s->x_rank;
}

int64_t gt_dataset_num_classes(const gt_dataset *ds) {
    if (!ds) {
        gt__error_null("gt_dataset_num_classes");
        return -1;
    }
    return ds->s->labels ? ds->s->num_classes : 0;
}

int32_t gt_dataset_label(const gt_dataset *ds, int64_t i) {
    if (!ds) {
        gt__error_null("gt_dataset_label");
        return -1;
    }
    if (!ds->s->labels) {
        gt__error("gt_dataset_label: the dataset has no class labels");
        return -1;
    }
    if (i < 0 || i >= ds->count) {
        gt__error("gt_dataset_label: index %lld is outside [0, %lld)", (long long)i,
                  (long long)ds->count);
        return -1;
    }
    return ds->s->labels[ds->begin + i];
}

size_t gt_dataset_memory(const gt_dataset *ds) {
    if (!ds)
        return 0;
    return ds->s->bytes + sizeof *ds->s + sizeof *ds +
           (ds->order ? (size_t)ds->count * sizeof(int64_t) : 0) +
           (size_t)ds->ystage_cap;
}

bool gt_dataset_set_scale(gt_dataset *ds, double scale, double offset) {
    if (!ds) {
        gt__error_null("gt_dataset_set_scale");
        return false;
    }
    if (!isfinite(scale) || !isfinite(offset)) {
        gt__error("gt_dataset_set_scale: scale and offset must be finite (got %g, %g)", scale,
                  offset);
        return false;
    }
    ds->scale = scale;
    ds->offset = offset;
    return true;
}

bool gt_dataset_set_x_shape(gt_dataset *ds, int rank, const int64_t *shape) {
    const char *who = "gt_dataset_set_x_shape";
    if (!ds) {
        gt__error_null(who);
        return false;
    }
    int64_t size;
    if (!sample_shape_ok(who, rank, shape, &size))
        return false;
    if (size != ds->s->x_size) {
        gt__error("%s: a sample has %lld elements but the shape asked for holds %lld", who,
                  (long long)ds->s->x_size, (long long)size);
        return false;
    }
    ds->xb_rank = rank;
    for (int i = 0; i < rank; i++)
        ds->xb_shape[i] = shape[i];
    return true;
}

bool gt_dataset_set_one_hot(gt_dataset *ds, bool one_hot) {
    if (!ds) {
        gt__error_null("gt_dataset_set_one_hot");
        return false;
    }
    if (one_hot && !ds->s->labels) {
        gt__error("gt_dataset_set_one_hot: one-hot y needs class labels; this dataset has %s",
                  ds->s->targets ? "float targets" : "no y");
        return false;
    }
    ds->one_hot = one_hot;
    return true;
}

int64_t gt_dataset_num_batches(const gt_dataset *ds, int64_t batch_size) {
    if (!ds) {
        gt__error_null("gt_dataset_num_batches");
        return -1;
    }
    if (batch_size <= 0) {
        gt__error("gt_dataset_num_batches: batch_size must be positive, got %lld",
                  (long long)batch_size);
        return -1;
    }
    return ds->count / batch_size + (ds->count % batch_size != 0);
}

/* ---- shuffling ---------------------------------------------------------------------------- */

/* Domain separation: a shuffle with seed s draws from a different Philox stream than
 * gt_rng_new(s) used for weights, so the two never share random numbers. */
#define SHUFFLE_KEY 0x73687566666C6531ull /* "shuffle1" */

bool gt_shuffle_order(int64_t n, uint64_t seed, int64_t epoch, int64_t *order) {
    if (n < 0 || epoch < 0 || (n && !order)) {
        gt__error("gt_shuffle_order: need n >= 0, epoch >= 0 and an output array (n=%lld, "
                  "epoch=%lld)",
                  (long long)n, (long long)epoch);
        return false;
    }
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    if (n < 2)
        return true;
    gt_rng rng = gt_rng_new(seed);
    rng.key ^= SHUFFLE_KEY;
    rng.counter = (uint64_t)epoch; /* epoch e is Philox draw e: independent of the others */
    gt_scope_begin();
    gt_tensor *u = gt_random_uniform(1, &n, 0.0, 1.0, GT_F64, &rng);
    const double *v = u ? gt_tensor_data(u) : NULL;
    if (v) {
        /* Fisher-Yates from the end: j uniform in [0, i] from a 53-bit uniform in [0, 1). */
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(v[i] * (double)(i + 1));
            if (j > i)
                j = i;
            int64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
    gt_scope_end();
    return v != NULL;
}

bool gt_dataset_shuffle(gt_dataset *ds, uint64_t seed, int64_t epoch) {
    if (!ds) {
        gt__error_null("gt_dataset_shuffle");
        return false;
    }
    if (!ds->order && ds->count) {
        ds->order = gt__malloc((size_t)ds->count * sizeof(int64_t), "a dataset's order");
        if (!ds->order)
            return false;
    }
    if (!gt_shuffle_order(ds->count, seed, epoch, ds->order)) {
        ds->shuffled = false;
        return false;
    }
    ds->shuffled = true;
    return true;
}

void gt_dataset_unshuffle(gt_dataset *ds) {
    if (ds)
        ds->shuffled = false;
}

/* ---- batches ------------------------------------------------------------------------------ */

static bool grow(void **p, int64_t *cap, int64_t bytes, const char *what) {
    if (bytes <= *cap)
        return true;
    void *q = gt__realloc(*p, (size_t)(bytes ? bytes : 1), what);
    if (!q)
        return false;
    *p = q;
    *cap = bytes;
    return true;
}

/* Rows [r0, r1) of a batch starting at sample `start`, converted into xs. */
typedef struct batch_job {
    const gt_dataset *ds;
    float *xs;
    int64_t start, m, es;
} batch_job;

static void batch_rows(const batch_job *b, int64_t r0, int64_t r1) {
    const gt_dataset *ds = b->ds;
    const ds_store *s = ds->s;
    const int64_t es = b->es;
    const bool plain = ds->scale == 1.0 && ds->offset == 0.0;
    for (int64_t j = r0; j < r1; j++) {
        int64_t src = ds->begin + (ds->shuffled ? ds->order[b->start + j] : b->start + j);
        float *dst = b->xs + j * es;
        if (s->x_u8) {
            /* shuffled rows are random: fetch the next one while converting this one */
            if (j + 1 < r1) {
                const int64_t k = b->start + j + 1;
                const uint8_t *q = s->x_u8 + (ds->begin + (ds->shuffled ? ds->order[k] : k)) * es;
                for (int64_t o = 0; o < es; o += 64)
                    __builtin_prefetch(q + o);
            }
            gt__u8_to_f32(s->x_u8 + src * es, dst, es, ds->scale, ds->offset);
        } else {
            const float *p = s->x_f32 + src * es;
            if (plain)
                memcpy(dst, p, (size_t)es * sizeof(float));
            else
                for (int64_t k = 0; k < es; k++)
                    dst[k] = (float)((double)p[k] * ds->scale + ds->offset);
        }
    }
}

#define BATCH_ROWS 16 /* rows per task */
static void batch_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const batch_job *b = ctx;
    const int64_t r0 = t * BATCH_ROWS;
    batch_rows(b, r0, r0 + BATCH_ROWS < b->m ? r0 + BATCH_ROWS : b->m);
}

static bool make_batch(gt_dataset *ds, int64_t batch_size, int64_t index, gt_tensor **x,
                       gt_tensor **y) {
    const char *who = "gt_dataset_batch";
    if (x)
        *x = NULL;
    if (y)
        *y = NULL;
    if (!ds || !x) {
        gt__error_null(who);
        return false;
    }
    int64_t nb = gt_dataset_num_batches(ds, batch_size);
    if (nb < 0)
        return false;
    if (index < 0 || index >= nb) {
        gt__error("%s: batch %lld does not exist: %lld samples in batches of %lld make %lld", who,
                  (long long)index, (long long)ds->count, (long long)batch_size, (long long)nb);
        return false;
    }
    const ds_store *s = ds->s;
    int64_t start = index * batch_size;
    int64_t m = ds->count - start < batch_size ? ds->count - start : batch_size;
    int64_t es = s->x_size;
    /* The samples are converted straight into the batch tensor (from the size-class cache, so
     * a steady-state epoch allocates nothing), rows split across threads above the kernels'
     * threshold: each element is converted on its own, so any split gives the same bytes. */
    int64_t shape[GT_MAX_RANK];
    shape[0] = m;
    for (int i = 0; i < ds->xb_rank; i++)
        shape[i + 1] = ds->xb_shape[i];
    gt_tensor *xt = gt__tensor_alloc(GT_F32, ds->xb_rank + 1, shape);
    if (!xt)
        return false;
    batch_job b = {ds, xt->data, start, m, es};
    if (m * es <= GT__PAR_MIN)
        batch_rows(&b, 0, m);
    else
        gt__par_for((m + BATCH_ROWS - 1) / BATCH_ROWS, 0, batch_task, &b);
    const int64_t full = batch_size < ds->count ? batch_size : ds->count; /* label staging */
    if (!y || (!s->labels && !s->targets)) {
        *x = xt;
        return true;
    }
    gt_tensor *yt = NULL;
    if (s->labels && !ds->one_hot) {
        if (!grow(&ds->ystage, &ds->ystage_cap, full * (int64_t)sizeof(int32_t),
                  "a batch staging buffer"))
            return false;
        int32_t *ys = ds->ystage;
        for (int64_t j = 0; j < m; j++)
            ys[j] = s->labels[ds->begin + (ds->shuffled ? ds->order[start + j] : start + j)];
        yt = gt_tensor_new(GT_I32, 1, &m, ys);
    } else {
        int64_t w = s->labels ? s->num_classes : s->y_width;
        if (!grow(&ds->ystage, &ds->ystage_cap, full * w * (int64_t)sizeof(float),
                  "a batch staging buffer"))
            return false;
        float *ys = ds->ystage;
        for (int64_t j = 0; j < m; j++) {
            int64_t src = ds->begin + (ds->shuffled ? ds->order[start + j] : start + j);
            if (s->labels) {
                memset(ys + j * w, 0, (size_t)w * sizeof(float));
                ys[j * w + s->labels[src]] = 1.0f;
            } else {
                memcpy(ys + j * w, s->targets + src * w, (size_t)w * sizeof(float));
            }
        }
        yt = gt_tensor_new(GT_F32, 2, (int64_t[]){m, w}, ys);
    }
    if (!yt)
        return false; /* xt stays with the scope, which frees it */
    *x = xt;
    *y = yt;
    return true;
}

bool gt_dataset_batch(gt_dataset *ds, int64_t batch_size, int64_t index, gt_tensor **x,
                      gt_tensor **y) {
    if (!gt__profiling())
        return make_batch(ds, batch_size, index, x, y);
    const double t0 = gt__prof_now();
    const bool ok = make_batch(ds, batch_size, index, x, y);
    gt__prof_add("dataset_batch", GT__PROF_OTHER, gt__prof_now() - t0);
    return ok;
}
