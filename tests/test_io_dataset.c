/* Datasets: batches (shapes, scaling, one-hot, the last partial batch), per-epoch shuffles that
 * depend only on (seed, epoch), Keras' validation_split, views, no allocation per step, IDX
 * folders, and the real Fashion-MNIST files (which must be installed: the test fails, with the
 * command to run, when they are not). */
#include "gtt.h"
#include "gtt_files.h"

#include <gradtape_io.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef GT_HAVE_ZLIB
#define GZ ".gz" /* the test set of the fake folder is compressed, the training set plain */
#else
#define GZ ""
#endif

/* 10 samples of shape [2,3]: x[i][k] = 10 i + k, label i % 3. */
static gt_dataset *small(void) {
    uint8_t x[60];
    int32_t y[10];
    for (int i = 0; i < 10; i++) {
        for (int k = 0; k < 6; k++)
            x[i * 6 + k] = (uint8_t)(10 * i + k);
        y[i] = i % 3;
    }
    return gt_dataset_new(&(gt_dataset_desc){
        .count = 10, .x_rank = 2, .x_shape = (const int64_t[]){2, 3}, .x_u8 = x, .labels = y});
}

/* The sample index of each row of a batch (x's first element / 10). */
static void batch_ids(gt_dataset *ds, int64_t bs, int64_t b, int64_t *ids, int64_t *m) {
    gt_tensor *x, *y;
    *m = 0;
    if (!gt_dataset_batch(ds, bs, b, &x, &y))
        return;
    *m = gt_tensor_dim(x, 0);
    int64_t per = gt_tensor_size(x) / *m;
    for (int64_t j = 0; j < *m; j++) {
        ids[j] = (int64_t)(gt_tensor_get(x, j * per) * 255.0 / 10.0 + 0.5);
        GTT_CHECK(gt_tensor_get(y, j) == ids[j] % 3, "label follows its sample");
    }
}

static void test_batches(void) {
    gt_dataset *ds = small();
    GTT_OK(ds != NULL);
    if (!ds)
        return;
    gt_scope_begin();
    int64_t shape[GT_MAX_RANK];
    GTT_CHECK(gt_dataset_size(ds) == 10 && gt_dataset_sample_shape(ds, shape) == 2 &&
                  shape[0] == 2 && shape[1] == 3 && gt_dataset_num_classes(ds) == 3 &&
                  gt_dataset_label(ds, 4) == 1,
              "size, shape, classes, label");
    GTT_CHECK(gt_dataset_num_batches(ds, 4) == 3 && gt_dataset_num_batches(ds, 10) == 1 &&
                  gt_dataset_num_batches(ds, 11) == 1 && gt_dataset_num_batches(ds, 1) == 10,
              "ceil(n / batch)");
    gt_tensor *x, *y;
    GTT_OK(gt_dataset_batch(ds, 4, 2, &x, &y)); /* the last, partial batch: samples 8, 9 */
    GTT_CHECK(x && gt_tensor_rank(x) == 3 && gt_tensor_dim(x, 0) == 2 && gt_tensor_dim(x, 1) == 2 &&
                  gt_tensor_dim(x, 2) == 3 && gt_tensor_dtype(x) == GT_F32,
              "x is float32 [2,2,3]");
    double want[12];
    for (int i = 0; i < 12; i++)
        want[i] = (float)((80 + (i / 6) * 10 + i % 6) / 255.0);
    gtt_tensor_close("last batch x", x, want, 12, 0, 0);
    const double wy[2] = {8 % 3, 9 % 3};
    gtt_tensor_close("last batch y", y, wy, 2, 0, 0);
    GTT_CHECK(y && gt_tensor_dtype(y) == GT_I32 && gt_tensor_rank(y) == 1, "y is int32 [B]");

    GTT_OK(gt_dataset_set_x_shape(ds, 1, (const int64_t[]){6}));
    GTT_OK(gt_dataset_batch(ds, 4, 0, &x, &y));
    GTT_CHECK(x && gt_tensor_rank(x) == 2 && gt_tensor_dim(x, 1) == 6, "flat [B,6]");
    GTT_OK(gt_dataset_set_x_shape(ds, 3, (const int64_t[]){2, 3, 1}));
    GTT_OK(gt_dataset_batch(ds, 4, 0, &x, &y));
    GTT_CHECK(x && gt_tensor_rank(x) == 4 && gt_tensor_dim(x, 3) == 1, "channels-last [B,2,3,1]");
    GTT_CHECK(!gt_dataset_set_x_shape(ds, 1, (const int64_t[]){7}), "wrong element count");
    GTT_ERROR_HAS("a sample has 6 elements but the shape asked for holds 7");

    GTT_OK(gt_dataset_set_one_hot(ds, true));
    GTT_OK(gt_dataset_batch(ds, 4, 1, &x, &y)); /* samples 4..7: labels 1 2 0 1 */
    const double oh[12] = {0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0};
    gtt_tensor_close("one-hot y", y, oh, 12, 0, 0);
    GTT_CHECK(y && gt_tensor_dtype(y) == GT_F32 && gt_tensor_dim(y, 1) == 3,
              "one-hot float32 [B,3]");
    GTT_OK(gt_dataset_set_one_hot(ds, false));

    GTT_OK(gt_dataset_set_scale(ds, 2.0, -1.0));
    GTT_OK(gt_dataset_batch(ds, 1, 3, &x, NULL)); /* y not wanted */
    GTT_CHECK(x && gt_tensor_get(x, 5) == 2.0 * 35 - 1.0, "x = raw * scale + offset");
    GTT_CHECK(!gt_dataset_set_scale(ds, NAN, 0), "NaN scale refused");
    GTT_ERROR_HAS("finite");

    GTT_CHECK(!gt_dataset_batch(ds, 4, 3, &x, &y) && x == NULL && y == NULL, "batch 3 of 3");
    GTT_ERROR_HAS("batch 3 does not exist");
    GTT_CHECK(!gt_dataset_batch(ds, 0, 0, &x, &y), "batch size 0");
    GTT_ERROR_HAS("batch_size must be positive");
    GTT_CHECK(gt_dataset_label(ds, 10) == -1, "label out of range");
    GTT_ERROR_HAS("outside [0, 10)");
    gt_scope_end();
    gt_dataset_free(ds);
}

/* Every byte value scales exactly as NumPy's x / 255.0 cast to float32. */
static void test_scale_exact(void) {
    uint8_t x[256];
    for (int i = 0; i < 256; i++)
        x[i] = (uint8_t)i;
    gt_dataset *ds = gt_dataset_new(&(gt_dataset_desc){.count = 256, .x_rank = 0, .x_u8 = x});
    GTT_OK(ds != NULL);
    gt_scope_begin();
    gt_tensor *xb, *yb;
    GTT_OK(gt_dataset_batch(ds, 256, 0, &xb, &yb));
    GTT_CHECK(yb == NULL, "no labels, no y");
    int bad = 0;
    for (int v = 0; v < 256; v++)
        if ((float)gt_tensor_get(xb, v) != (float)(v / 255.0))
            bad++;
    GTT_CHECK(bad == 0, "%d byte values differ from float32(v / 255.0)", bad);
    gt_scope_end();
    gt_dataset_free(ds);
}

static void test_shuffle(void) {
    /* A pinned order: a change in the shuffle (or in Philox) shows up here first. */
    int64_t o[10];
    GTT_OK(gt_shuffle_order(10, 42, 0, o));
    const int64_t golden[10] = {4, 2, 8, 3, 6, 5, 0, 9, 7, 1};
    GTT_CHECK(!memcmp(o, golden, sizeof o),
              "seed 42 epoch 0 order: %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
              (long long)o[0], (long long)o[1], (long long)o[2], (long long)o[3], (long long)o[4],
              (long long)o[5], (long long)o[6], (long long)o[7], (long long)o[8], (long long)o[9]);

    gt_dataset *a = small(), *b = small();
    gt_scope_begin();
    int64_t ids[10], m, seen[10] = {0}, order3[10], k = 0;
    /* Epoch 3 straight away on one dataset, after epochs 0..2 on the other: same order. */
    GTT_OK(gt_dataset_shuffle(a, 7, 3));
    for (int e = 0; e < 3; e++)
        GTT_OK(gt_dataset_shuffle(b, 7, e));
    GTT_OK(gt_dataset_shuffle(b, 7, 3));
    for (int64_t bi = 0; bi < gt_dataset_num_batches(a, 3); bi++) {
        int64_t ib[3], mb;
        batch_ids(a, 3, bi, ids, &m);
        batch_ids(b, 3, bi, ib, &mb);
        GTT_CHECK(m == mb && !memcmp(ids, ib, (size_t)m * sizeof *ids),
                  "epoch 3 independent of history");
        for (int64_t j = 0; j < m; j++) {
            if (ids[j] >= 0 && ids[j] < 10)
                seen[ids[j]]++;
            order3[k++] = ids[j];
        }
    }
    int once = 0;
    for (int i = 0; i < 10; i++)
        once += seen[i] == 1;
    GTT_CHECK(once == 10 && k == 10, "an epoch visits every sample exactly once");
    int64_t direct[10];
    GTT_OK(gt_shuffle_order(10, 7, 3, direct));
    GTT_CHECK(!memcmp(direct, order3, sizeof direct), "gt_shuffle_order gives the dataset's order");
    int64_t e2[10], s2[10];
    GTT_OK(gt_shuffle_order(10, 7, 2, e2));
    GTT_OK(gt_shuffle_order(10, 8, 3, s2));
    GTT_CHECK(memcmp(e2, direct, sizeof e2) && memcmp(s2, direct, sizeof s2),
              "other epochs and seeds give other orders");
    gt_dataset_unshuffle(a);
    batch_ids(a, 10, 0, ids, &m);
    bool identity = m == 10;
    for (int i = 0; i < 10 && identity; i++)
        identity = ids[i] == i;
    GTT_CHECK(identity, "unshuffle restores the stored order");
    gt_scope_end();
    gt_dataset_free(a);
    gt_dataset_free(b);

    /* Uniformity, loosely: where sample 0 lands over 5000 epochs of 5 (expect 1000 each, sd 28). */
    int land[5] = {0};
    for (int e = 0; e < 5000; e++) {
        int64_t p[5];
        gt_shuffle_order(5, 1, e, p);
        for (int i = 0; i < 5; i++)
            if (p[i] == 0)
                land[i]++;
    }
    for (int i = 0; i < 5; i++)
        GTT_CHECK(land[i] > 880 && land[i] < 1120, "position %d: %d of 5000", i, land[i]);

    /* A large permutation is a permutation. */
    int64_t n = 60000, *big = malloc((size_t)n * sizeof *big);
    char *hit = calloc((size_t)n, 1);
    GTT_OK(gt_shuffle_order(n, 123, 9, big));
    int64_t dup = 0, moved = 0;
    for (int64_t i = 0; i < n; i++) {
        if (big[i] < 0 || big[i] >= n || hit[big[i]]++)
            dup++;
        moved += big[i] != i;
    }
    GTT_CHECK(dup == 0 && moved > n - 100, "60000-permutation: %lld bad, %lld moved",
              (long long)dup, (long long)moved);
    free(big);
    free(hit);
    GTT_CHECK(!gt_shuffle_order(3, 1, -1, o), "negative epoch");
    GTT_ERROR_HAS("epoch >= 0");
}

static void test_split_and_views(void) {
    gt_dataset *ds = small(), *tr, *va;
    GTT_OK(gt_dataset_split(ds, 0.2, &tr, &va));
    GTT_CHECK(tr && va && gt_dataset_size(tr) == 8 && gt_dataset_size(va) == 2,
              "10 * 0.8 = 8 train");
    GTT_CHECK(va && gt_dataset_label(va, 0) == 8 % 3 && gt_dataset_label(va, 1) == 9 % 3,
              "validation is the last samples");
    gt_scope_begin();
    int64_t ids[10], m;
    GTT_OK(gt_dataset_shuffle(tr, 5, 0));
    batch_ids(va, 5, 0, ids, &m);
    GTT_CHECK(m == 2 && ids[0] == 8 && ids[1] == 9, "shuffling train leaves validation alone");
    int64_t all[8], k = 0;
    for (int64_t b = 0; b < gt_dataset_num_batches(tr, 3); b++) {
        batch_ids(tr, 3, b, ids, &m);
        for (int64_t j = 0; j < m; j++)
            all[k++] = ids[j];
    }
    int ok = k == 8;
    for (int i = 0; i < k; i++)
        ok &= all[i] >= 0 && all[i] < 8;
    GTT_CHECK(ok, "shuffled train draws only from the first 8 samples");
    gt_scope_end();
    gt_dataset_free(tr);
    gt_dataset_free(va);

    /* Keras' floor(n * (1 - f)) in doubles: 7 * 0.7 = 4.8999999999999995 -> 4. */
    gt_dataset *seven = gt_dataset_take(ds, 7);
    GTT_OK(gt_dataset_split(seven, 0.3, &tr, &va));
    GTT_CHECK(tr && gt_dataset_size(tr) == 4 && gt_dataset_size(va) == 3, "7 at 0.3: 4 + 3");
    gt_dataset_free(tr);
    gt_dataset_free(va);
    gt_dataset_free(seven);
    GTT_OK(gt_dataset_split(ds, 0.05, &tr, &va));
    GTT_CHECK(tr && gt_dataset_size(tr) == 9 && gt_dataset_size(va) == 1, "10 at 0.05: 9 + 1");
    gt_dataset_free(tr);
    gt_dataset_free(va);
    GTT_CHECK(!gt_dataset_split(ds, 0.99, &tr, &va) && !tr && !va, "empty train part");
    GTT_ERROR_HAS("not sufficient to split");
    GTT_CHECK(!gt_dataset_split(ds, 1.5, &tr, &va), "fraction above 1");
    GTT_ERROR_HAS("between 0 and 1");
    GTT_CHECK(!gt_dataset_split(ds, 0.0, &tr, &va), "fraction 0");
    GTT_ERROR_HAS("between 0 and 1");

    /* Views outlive their parent; options are inherited, order is not. */
    GTT_OK(gt_dataset_set_x_shape(ds, 1, (const int64_t[]){6}));
    gt_dataset *first3 = gt_dataset_take(ds, 3), *all10 = gt_dataset_take(ds, 100);
    gt_dataset *mid = gt_dataset_slice(ds, 4, 3);
    GTT_CHECK(gt_dataset_slice(ds, 8, 3) == NULL, "slice past the end");
    GTT_ERROR_HAS("outside the dataset's 10 samples");
    gt_dataset_free(ds);
    GTT_CHECK(first3 && gt_dataset_size(first3) == 3 && all10 && gt_dataset_size(all10) == 10,
              "take clamps");
    GTT_CHECK(mid && gt_dataset_label(mid, 0) == 4 % 3, "slice starts at 4");
    gt_scope_begin();
    gt_tensor *x, *y;
    GTT_OK(gt_dataset_batch(mid, 8, 0, &x, &y));
    GTT_CHECK(x && gt_tensor_rank(x) == 2 && gt_tensor_dim(x, 0) == 3 && gt_tensor_dim(x, 1) == 6 &&
                  gt_tensor_get(x, 6) * 255.0 > 49.99 && gt_tensor_get(x, 6) * 255.0 < 50.01,
              "view keeps the flat shape; row 1 is sample 5");
    gt_scope_end();
    gt_dataset_free(first3);
    gt_dataset_free(all10);
    gt_dataset_free(mid);
}

/* After the first batch, a step allocates nothing but its tensors (from the allocator cache). */
static void test_no_allocation_per_step(void) {
    enum { N = 1000, D = 784 };
    uint8_t *x = malloc(N * D);
    int32_t y[N];
    for (int i = 0; i < N * D; i++)
        x[i] = (uint8_t)(i * 31);
    for (int i = 0; i < N; i++)
        y[i] = i % 10;
    gt_dataset *ds = gt_dataset_new(&(gt_dataset_desc){
        .count = N, .x_rank = 2, .x_shape = (const int64_t[]){28, 28}, .x_u8 = x, .labels = y});
    free(x);
    GTT_OK(gt_dataset_shuffle(ds, 1, 0));
    for (int b = 0; b < 3; b++) { /* warm up: staging buffers, allocator cache */
        gt_scope_begin();
        gt_tensor *xb, *yb;
        gt_dataset_batch(ds, 64, b, &xb, &yb);
        gt_scope_end();
    }
    gt_mem_stats before = gt_mem_stats_get();
    for (int e = 1; e < 3; e++) {
        GTT_OK(gt_dataset_shuffle(ds, 1, e));
        for (int64_t b = 0; b < gt_dataset_num_batches(ds, 64) - 1; b++) {
            gt_scope_begin();
            gt_tensor *xb, *yb;
            GTT_OK(gt_dataset_batch(ds, 64, b, &xb, &yb));
            gt_scope_end();
        }
    }
    gt_mem_stats after = gt_mem_stats_get();
    GTT_CHECK(after.mallocs == before.mallocs && after.lib_mallocs == before.lib_mallocs,
              "steady state: %llu buffer mallocs, %llu library mallocs over 30 batches",
              (unsigned long long)(after.mallocs - before.mallocs),
              (unsigned long long)(after.lib_mallocs - before.lib_mallocs));
    size_t mem = gt_dataset_memory(ds);
    GTT_CHECK(mem >= (size_t)N * D + N * 4 &&
                  mem < (size_t)N * D + N * 4 + N * 8 + 64 * D * 4 + 4096,
              "memory %zu: bytes + labels + order + one staging batch", mem);
    gt_dataset_free(ds);
}

static void test_constructors(void) {
    uint8_t x[4] = {1, 2, 3, 4};
    float xf[4] = {1, 2, 3, 4};
    int32_t bad[2] = {0, -1};
    GTT_CHECK(
        !gt_dataset_new(&(gt_dataset_desc){
            .count = 2, .x_rank = 1, .x_shape = (const int64_t[]){2}, .x_u8 = x, .x_f32 = xf}),
        "two x sources");
    GTT_ERROR_HAS("exactly one of x_u8 and x_f32");
    GTT_CHECK(
        !gt_dataset_new(&(gt_dataset_desc){
            .count = 2, .x_rank = 1, .x_shape = (const int64_t[]){2}, .x_u8 = x, .labels = bad}),
        "negative label");
    GTT_ERROR_HAS("label -1 of sample 1");
    GTT_CHECK(!gt_dataset_new(&(gt_dataset_desc){.count = 2,
                                                 .x_rank = 1,
                                                 .x_shape = (const int64_t[]){2},
                                                 .x_u8 = x,
                                                 .labels = (const int32_t[]){0, 5},
                                                 .num_classes = 3}),
              "label above num_classes");
    GTT_ERROR_HAS("outside [0, 3)");
    gt_dataset *f =
        gt_dataset_new(&(gt_dataset_desc){.count = 2,
                                          .x_rank = 1,
                                          .x_shape = (const int64_t[]){2},
                                          .x_f32 = xf,
                                          .targets = (const float[]){0.5f, 1.5f, 2.5f, 3.5f},
                                          .target_width = 2});
    GTT_OK(f != NULL);
    GTT_CHECK(!gt_dataset_set_one_hot(f, true), "one-hot needs labels");
    GTT_ERROR_HAS("float targets");
    gt_scope_begin();
    gt_tensor *xb, *yb;
    GTT_OK(gt_dataset_batch(f, 2, 0, &xb, &yb));
    const double wx[4] = {1, 2, 3, 4}, wy[4] = {0.5, 1.5, 2.5, 3.5};
    gtt_tensor_close("float x unscaled", xb, wx, 4, 0, 0);
    gtt_tensor_close("targets", yb, wy, 4, 0, 0);
    gt_scope_end();
    gt_dataset_free(f);
}

/* IDX files to a dataset; an MNIST-layout folder of plain (not gzip) files. */
static void test_idx_folder(void) {
    uint8_t img[5 * 28 * 28];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i % 251);
    uint8_t lab[5] = {3, 1, 4, 1, 5};
    GTT_OK(gt_idx_write(gtt_tmp_path("train-images-idx3-ubyte"), GT_IDX_U8, 3,
                        (const int64_t[]){5, 28, 28}, img));
    GTT_OK(
        gt_idx_write(gtt_tmp_path("train-labels-idx1-ubyte"), GT_IDX_U8, 1, (const int64_t[]){5}, lab));
    GTT_OK(gt_idx_write(gtt_tmp_path("t10k-images-idx3-ubyte" GZ), GT_IDX_U8, 3,
                        (const int64_t[]){2, 28, 28}, img));
    GTT_OK(gt_idx_write(gtt_tmp_path("t10k-labels-idx1-ubyte" GZ), GT_IDX_U8, 1, (const int64_t[]){2},
                        lab));
    gt_dataset *tr, *te;
    GTT_OK(gt_mnist_load(gtt_tmpdir(), &tr, &te));
    GTT_CHECK(tr && te && gt_dataset_size(tr) == 5 && gt_dataset_size(te) == 2, "5 + 2 samples");
    GTT_CHECK(tr && te && gt_dataset_num_classes(tr) == 6 && gt_dataset_num_classes(te) == 6,
              "both sets share the class count");
    GTT_CHECK(te && gt_dataset_label(te, 0) == 3, "test label");
    gt_dataset_free(tr);
    gt_dataset_free(te);

    /* Labels that do not match the images. */
    GTT_CHECK(!gt_dataset_from_idx(gtt_tmp_path("train-images-idx3-ubyte"),
                                   gtt_tmp_path("t10k-labels-idx1-ubyte" GZ)),
              "5 images, 2 labels");
    GTT_ERROR_HAS("must match one to one");
    float fl[5] = {0};
    GTT_OK(gt_idx_write(gtt_tmp_path("float-labels"), GT_IDX_F32, 1, (const int64_t[]){5}, fl));
    GTT_CHECK(!gt_dataset_from_idx(gtt_tmp_path("train-images-idx3-ubyte"), gtt_tmp_path("float-labels")),
              "float labels");
    GTT_ERROR_HAS("must be integers");
    /* Float images are stored as float and not scaled. */
    gt_dataset *fd = gt_dataset_from_idx(gtt_tmp_path("float-labels"), NULL);
    GTT_OK(fd != NULL);
    GTT_CHECK(fd && gt_dataset_size(fd) == 5 && gt_dataset_num_classes(fd) == 0, "no labels");
    gt_dataset_free(fd);

    remove(gtt_tmp_path("t10k-labels-idx1-ubyte" GZ));
    GTT_CHECK(!gt_mnist_load(gtt_tmpdir(), &tr, &te) && !tr && !te, "a missing file");
    GTT_ERROR_HAS("t10k-labels-idx1-ubyte(.gz) not found: install Debian's dataset-fashion-mnist");
    GTT_CHECK(!gt_mnist_load("/nonexistent/fashion", &tr, &te), "a missing folder");
    GTT_ERROR_HAS("does not exist: install Debian's dataset-fashion-mnist");
}

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* The real thing. CI installs dataset-fashion-mnist; a machine without it fails here, loudly. */
static void test_fashion_mnist(void) {
    gt_dataset *tr = NULL, *te = NULL;
    long rss0 = rss_kb();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool ok = gt_mnist_load(NULL, &tr, &te);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    GTT_CHECK(ok,
              "Fashion-MNIST could not be loaded from " GT_FASHION_MNIST_DIR ": %s -- this "
              "test needs the real files: install them with `sudo apt-get install "
              "dataset-fashion-mnist` (scripts/install-deps.sh demo does it)",
              gt_error() ? gt_error() : "");
    gt_error_clear();
    if (!ok)
        return;
    long rss1 = rss_kb();
    GTT_CHECK(gt_dataset_size(tr) == 60000 && gt_dataset_size(te) == 10000, "60000 + 10000");
    int64_t shape[GT_MAX_RANK];
    GTT_CHECK(gt_dataset_sample_shape(tr, shape) == 2 && shape[0] == 28 && shape[1] == 28, "28x28");
    GTT_CHECK(gt_dataset_num_classes(tr) == 10 && gt_dataset_num_classes(te) == 10, "10 classes");
    const int32_t first_train[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}; /* ankle boot, T-shirt, ... */
    const int32_t first_test[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
    int bad = 0;
    for (int i = 0; i < 10; i++)
        bad +=
            gt_dataset_label(tr, i) != first_train[i] || gt_dataset_label(te, i) != first_test[i];
    GTT_CHECK(bad == 0, "first labels of train and test");

    gt_scope_begin();
    GTT_OK(gt_dataset_set_x_shape(tr, 3, (const int64_t[]){28, 28, 1}));
    gt_tensor *x, *y;
    GTT_OK(gt_dataset_batch(tr, 128, 0, &x, &y));
    GTT_CHECK(x && gt_tensor_rank(x) == 4 && gt_tensor_dim(x, 0) == 128 && gt_tensor_dim(x, 3) == 1,
              "x batch [128,28,28,1]");
    /* Pixel sums of the first images (computed from the files with Python's gzip module). */
    double s = 0;
    for (int i = 0; i < 784; i++)
        s += gt_tensor_get(x, i) * 255.0;
    GTT_CLOSE(s, 76247, 0.05, 0);
    GTT_OK(gt_dataset_batch(te, 10000, 0, &x, &y));
    s = 0;
    for (int i = 0; i < 784; i++)
        s += gt_tensor_get(x, i) * 255.0;
    GTT_CLOSE(s, 33456, 0.05, 0);
    GTT_CHECK(gt_dataset_num_batches(tr, 128) == 469, "469 batches of 128 (last holds 96)");
    GTT_OK(gt_dataset_batch(tr, 128, 468, &x, &y));
    GTT_CHECK(x && gt_tensor_dim(x, 0) == 96, "last partial batch of 96");
    gt_scope_end();

    size_t mem = gt_dataset_memory(tr);
    printf("Fashion-MNIST: loaded in %.2f s; train set holds %zu bytes (%.1f MB; float32 would be "
           "%.1f MB); process RSS grew by %.1f MB for train + test\n",
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec), mem,
           mem / 1e6, 60000.0 * 784 * 4 / 1e6, (double)(rss1 - rss0) / 1024.0);
    GTT_CHECK(mem >= 47040000 && mem < 48000000, "train set costs ~47 MB, not 188 MB (%zu)", mem);
    gt_dataset_free(tr);
    gt_dataset_free(te);
}

int main(void) {
    if (!gtt_tmpdir_begin("gt_test_io_ds_")) return 1;
    test_batches();
    test_scale_exact();
    test_shuffle();
    test_split_and_views();
    test_no_allocation_per_step();
    test_constructors();
    test_idx_folder();
    test_fashion_mnist();
    gtt_tmpdir_end();
    return gtt_finish();
}
