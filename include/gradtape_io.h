/*
 * gradtape_io — data sets and checkpoints: IDX (MNIST-family) and numeric CSV readers, an
 * in-memory (x, y) dataset that batches and shuffles, and safetensors checkpoints.
 *
 * Train on Fashion-MNIST in a few lines:
 *
 *     gt_dataset *train, *test;
 *     if (!gt_mnist_load(NULL, &train, &test)) { fprintf(stderr, "%s\n", gt_error()); return 2; }
 *     gt_dataset_set_x_shape(train, GT_SHAPE(784));          // flat [B, 784] batches
 *     for (int64_t epoch = 0; epoch < 10; epoch++) {
 *         gt_dataset_shuffle(train, seed, epoch);            // order depends on (seed, epoch) only
 *         for (int64_t i = 0; i < gt_dataset_num_batches(train, 128); i++) {
 *             gt_scope_begin();
 *             gt_tensor *x, *y;                              // x: f32 [B,784] in [0,1]; y: i32 [B]
 *             gt_dataset_batch(train, 128, i, &x, &y);
 *             ... forward, tape, optimizer step ...
 *             gt_scope_end();
 *         }
 *     }
 *     gt_safetensors_save(path, n, NULL, vars, 0, NULL);     // names = variables' Keras paths
 *     gt_dataset_free(train); gt_dataset_free(test);
 *
 * Conventions are gradtape.h's: failures return NULL/false and set gt_error() with a message
 * naming the file and what is wrong; tensors returned belong to the current scope; objects
 * (gt_dataset, gt_safetensors) have a _free/_close. docs/data.md describes the formats.
 */
#ifndef GRADTAPE_IO_H
#define GRADTAPE_IO_H

#include <gradtape.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * IDX files (http://yann.lecun.com/exdb/mnist/): 00 00 <type> <rank>, rank big-endian u32
 * dimensions, then the big-endian elements. Plain or gzip-compressed (detected by the magic
 * bytes 1f 8b; needs zlib).
 * ========================================================================================== */

/** IDX element types (the third magic byte). */
typedef enum gt_idx_type {
    GT_IDX_U8 = 0x08,  /**< unsigned byte (images, labels) */
    GT_IDX_I8 = 0x09,  /**< signed byte */
    GT_IDX_I16 = 0x0B, /**< big-endian int16 */
    GT_IDX_I32 = 0x0C, /**< big-endian int32 */
    GT_IDX_F32 = 0x0D, /**< big-endian float32 */
    GT_IDX_F64 = 0x0E  /**< big-endian float64 */
} gt_idx_type;

/** Highest rank an IDX file may have here (MNIST's images are rank 3). */
#define GT_IDX_MAX_RANK 4

/** The contents of an IDX file. Elements are in host byte order; u8 and i8 stay bytes. */
typedef struct gt_idx {
    gt_idx_type type;
    int rank;                      /**< 1..GT_IDX_MAX_RANK */
    int64_t dims[GT_IDX_MAX_RANK]; /**< dims[0..rank-1] */
    int64_t count;                 /**< number of elements, the product of dims */
    void *data;                    /**< count elements of the type's C type (uint8_t, int8_t,
                                        int16_t, int32_t, float, double); free with gt_idx_free */
} gt_idx;

/** Bytes per element of an IDX type (0 for a value that is not one). */
size_t gt_idx_type_size(gt_idx_type type);

/** Reads an IDX file, plain or gzip. Validates everything before trusting it: the magic
 *  (00 00, a known type code, rank 1-4), the header length, that the dimensions' product does
 *  not overflow, and that the data is exactly as long as the dimensions say. Each problem has
 *  its own message naming the file ("bad magic", "truncated header", "truncated data",
 *  "trailing bytes", "dimensions overflow", "corrupt gzip data", ...). On failure *out is
 *  zeroed and false returned.
 *
 *      gt_idx labels;
 *      if (!gt_idx_read("train-labels-idx1-ubyte.gz", &labels)) puts(gt_error());
 */
bool gt_idx_read(const char *path, gt_idx *out);

/** As gt_idx_read on n bytes in memory (plain or gzip); name is used in messages. The bytes
 *  are copied (the caller keeps them). */
bool gt_idx_parse(const void *bytes, size_t n, const char *name, gt_idx *out);

/** Frees the data of an IDX read and zeroes *idx. NULL and zeroed structs are ignored. */
void gt_idx_free(gt_idx *idx);

/** Writes an IDX file (gzip-compressed when path ends in ".gz", which needs zlib). data holds
 *  prod(dims) elements of the type's C type in host order. Written atomically (temporary file,
 *  fsync, rename). */
bool gt_idx_write(const char *path, gt_idx_type type, int rank, const int64_t *dims,
                  const void *data);

/** The IDX contents as a tensor of its shape: u8, i8, i16 and i32 become int32; f32 float32;
 *  f64 float64. Owned by the current scope. */
gt_tensor *gt_idx_to_tensor(const gt_idx *idx);

/* ============================================================================================
 * Numeric CSV
 * ========================================================================================== */

/** Whether a CSV file's first line names the columns. */
typedef enum gt_csv_header {
    GT_CSV_HEADER_AUTO,    /**< a header when a field of the first line is not a number (default) */
    GT_CSV_HEADER_PRESENT, /**< the first line is a header */
    GT_CSV_HEADER_ABSENT   /**< every line is data */
} gt_csv_header;

/** CSV options; {0} (or NULL) means comma-separated, header auto-detected, no label column. */
typedef struct gt_csv_desc {
    char delimiter;         /**< field separator; 0 means ',' */
    gt_csv_header header;   /**< see gt_csv_header */
    bool has_label;         /**< split one column off as the labels (y) */
    int label_column;       /**< its 0-based index when has_label; negative counts from the end
                                 (-1 is the last column) */
    const char *label_name; /**< or the label column's header name (implies has_label and a
                                 header) */
} gt_csv_desc;

/** A parsed numeric CSV file. */
typedef struct gt_csv {
    int64_t rows;     /**< data rows */
    int64_t cols;     /**< feature columns (the label column excluded) */
    float *x;         /**< rows * cols features, row-major */
    float *y;         /**< rows labels, or NULL without a label column */
    char **names;     /**< cols feature names from the header, or NULL without a header */
    char *label_name; /**< the label column's header name, or NULL */
} gt_csv;

/** Reads a numeric CSV file: fields are decimal numbers (as strtod reads them, so "nan" and
 *  "inf" too) separated by the delimiter, optionally double-quoted; blank lines are skipped;
 *  CRLF and a UTF-8 BOM are accepted. A bad field, a row with the wrong number of fields, or a
 *  number out of float32's range is an error naming the line (1-based, as an editor shows it)
 *  and the column. On failure *out is zeroed. */
bool gt_csv_read(const char *path, const gt_csv_desc *desc, gt_csv *out);

/** As gt_csv_read on n bytes of text in memory; name is used in messages. */
bool gt_csv_parse(const char *text, size_t n, const char *name, const gt_csv_desc *desc,
                  gt_csv *out);

/** Frees a parsed CSV and zeroes *csv. */
void gt_csv_free(gt_csv *csv);

/* ============================================================================================
 * Datasets of (x, y)
 *
 * A dataset holds n samples in memory, x as bytes (images) or float32, y as int32 class labels,
 * float32 targets or nothing. Images stay bytes until a batch is made: Fashion-MNIST's 60,000
 * 28x28 training images cost 47 MB, not 188. gt_dataset_batch() converts one batch to float32
 * (scaled, by default /255 for bytes), in the chosen shape, through a staging buffer the
 * dataset reuses, so a step allocates nothing but the two tensors it returns.
 *
 * take/slice/split return views sharing the samples (no copy); each view has its own batch
 * options and order and must be freed. A dataset is not safe to use from several threads at
 * once (batches reuse the staging buffer).
 * ========================================================================================== */

typedef struct gt_dataset gt_dataset;

/** The samples for gt_dataset_new, copied by it. Give exactly one of x_u8 / x_f32, and at most
 *  one of labels / targets. */
typedef struct gt_dataset_desc {
    int64_t count;          /**< number of samples */
    int x_rank;             /**< rank of one sample (0..GT_MAX_RANK-1) */
    const int64_t *x_shape; /**< shape of one sample */
    const uint8_t *x_u8;    /**< count * prod(x_shape) bytes (scaled by 1/255 by default) */
    const float *x_f32;     /**< or as many floats (not scaled by default) */
    const int32_t *labels;  /**< count class labels in [0, num_classes) */
    int64_t num_classes;    /**< 0: max label + 1 */
    const float *targets;   /**< or count * target_width float targets */
    int64_t target_width;   /**< 0 means 1 */
} gt_dataset_desc;

/** A dataset holding a copy of the samples described. */
gt_dataset *gt_dataset_new(const gt_dataset_desc *desc);

/** A dataset from an IDX images file (first dimension = samples; u8 kept as bytes, other
 *  types stored as float32) and an IDX labels file of integer class labels (rank 1, one per
 *  image). Either may be gzip. labels_path NULL gives a dataset without y. */
gt_dataset *gt_dataset_from_idx(const char *images_path, const char *labels_path);

/** A dataset from a parsed CSV: x = the feature columns. With class_labels, y = the label
 *  column as int32 classes (each label must be a whole number >= 0); otherwise y = float
 *  targets [n, 1]. A CSV without labels gives a dataset without y. */
gt_dataset *gt_dataset_from_csv(const gt_csv *csv, bool class_labels);

/** Default folder of gt_mnist_load: Debian's dataset-fashion-mnist package. */
#define GT_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/** Loads an MNIST-format folder (Fashion-MNIST, MNIST, KMNIST: train-images-idx3-ubyte,
 *  train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or
 *  with .gz) into train and test datasets of 28x28 byte images (sample shape [28,28]; set
 *  [784] or [28,28,1] with gt_dataset_set_x_shape) and int32 labels, 10 classes. dir NULL
 *  means GT_FASHION_MNIST_DIR; a missing folder or file gets an error saying to install
 *  dataset-fashion-mnist. On failure both outputs are NULL. */
bool gt_mnist_load(const char *dir, gt_dataset **train, gt_dataset **test);

/** Frees a dataset or view (the samples go when the last view sharing them does). NULL is
 *  ignored. */
void gt_dataset_free(gt_dataset *ds);

/** A view of the first n samples (n larger than the size takes them all); for quick runs. */
gt_dataset *gt_dataset_take(const gt_dataset *ds, int64_t n);
/** A view of samples [begin, begin + count). */
gt_dataset *gt_dataset_slice(const gt_dataset *ds, int64_t begin, int64_t count);
/** Keras' validation_split: the LAST fraction of the samples (taken before any shuffling)
 *  becomes *val, the rest *train: the first floor(n * (1 - fraction)) samples train. fraction
 *  must be in (0, 1) and leave both parts non-empty (Keras' error otherwise). Both are views
 *  with ds's batch options. */
bool gt_dataset_split(const gt_dataset *ds, double fraction, gt_dataset **train, gt_dataset **val);

/** Number of samples. */
int64_t gt_dataset_size(const gt_dataset *ds);
/** Shape of one sample as stored (e.g. [28,28]) into shape[GT_MAX_RANK]; returns the rank
 *  (-1 on error). */
int gt_dataset_sample_shape(const gt_dataset *ds, int64_t *shape);
/** Number of classes for class labels, 0 for float targets or no y. */
int64_t gt_dataset_num_classes(const gt_dataset *ds);
/** Class label of sample i (in the view's original, unshuffled order); -1 on error. */
int32_t gt_dataset_label(const gt_dataset *ds, int64_t i);
/** Bytes of memory the dataset holds: the shared samples plus this view's order and staging
 *  buffers. */
size_t gt_dataset_memory(const gt_dataset *ds);

/** Batch x values are float32(raw * scale + offset), computed in double. Defaults: 1/255 and
 *  0 for byte images, 1 and 0 for float samples. */
bool gt_dataset_set_scale(gt_dataset *ds, double scale, double offset);
/** Shape of one sample in a batch: the x batch is [B, shape...]. Must hold the same number of
 *  elements as the stored sample: GT_SHAPE(784) gives flat [B,784] batches, GT_SHAPE(28,28,1)
 *  channels-last images. Rank at most GT_MAX_RANK-1. */
bool gt_dataset_set_x_shape(gt_dataset *ds, int rank, const int64_t *shape);
/** y as one-hot float32 [B, num_classes] instead of int32 labels [B]. Needs class labels. */
bool gt_dataset_set_one_hot(gt_dataset *ds, bool one_hot);

/** Batches per epoch: ceil(size / batch_size) (the last partial batch is kept); -1 on error. */
int64_t gt_dataset_num_batches(const gt_dataset *ds, int64_t batch_size);

/** Orders the samples for epoch `epoch` by a Fisher-Yates shuffle driven by Philox draws keyed
 *  by seed, with the epoch as the counter: the order depends only on (seed, epoch, size), not
 *  on earlier epochs, threads or calls. Costs no allocation after the first call. */
bool gt_dataset_shuffle(gt_dataset *ds, uint64_t seed, int64_t epoch);
/** Restores the stored order (batches then run 0, 1, 2, ...). */
void gt_dataset_unshuffle(gt_dataset *ds);
/** The permutation gt_dataset_shuffle uses, written to order[0..n-1] (for a loop that wants
 *  the same order without a dataset). */
bool gt_shuffle_order(int64_t n, uint64_t seed, int64_t epoch, int64_t *order);

/** Makes batch `index` (0-based, of gt_dataset_num_batches) of the current order: *x float32
 *  [B, x_shape...] and *y int32 [B] labels, float32 [B, C] one-hot, float32 [B, width]
 *  targets, or NULL for a dataset without y. B is batch_size except for a last partial batch.
 *  Both tensors belong to the current scope. On error both are NULL. */
bool gt_dataset_batch(gt_dataset *ds, int64_t batch_size, int64_t index, gt_tensor **x,
                      gt_tensor **y);

/* ============================================================================================
 * safetensors checkpoints (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets":
 * [begin, end]}, ..., "__metadata__": {"key": "value"}} padded with spaces to a multiple of 8,
 * then the raw little-endian tensor data. NumPy and PyTorch users read these files directly.
 * ========================================================================================== */

/** A metadata entry (string key and value) for the header's "__metadata__". */
typedef struct gt_kv {
    const char *key;
    const char *value;
} gt_kv;

/** Writes n tensors under their names to path, atomically: the file is written to
 *  "<path>.tmp.<pid>", fsynced and renamed over path, so a crash never leaves a half-written
 *  checkpoint. names NULL uses each tensor's variable path (every tensor must then be a
 *  variable: "sequential/dense/kernel"); variables are saved with their current value. Names
 *  must be unique, non-empty and not "__metadata__". Tensors are written in the given order;
 *  dtypes F32 F64 I32 I64 BOOL. meta (nmeta entries, may be NULL) fills "__metadata__".
 *
 *      const char *names[] = {"w", "b"};  const gt_tensor *ts[] = {w, b};
 *      gt_safetensors_save("model.safetensors", 2, names, ts, 0, NULL);
 */
bool gt_safetensors_save(const char *path, int n, const char *const *names,
                         const gt_tensor *const *tensors, int nmeta, const gt_kv *meta);

/** An opened, fully validated checkpoint held in memory. */
typedef struct gt_safetensors gt_safetensors;

/** Reads and validates a whole checkpoint: header length within the file, the JSON header
 *  (parsed by a strict parser with depth, size, number and escape checks), every entry's dtype,
 *  shape and data_offsets (in range, contiguous from 0, non-overlapping, end - begin =
 *  prod(shape) * dtype size, the last end = the data's length). Tensors of other safetensors
 *  dtypes (F16, BF16, U8, ...) are listed but cannot be read. NULL and an error on failure. */
gt_safetensors *gt_safetensors_open(const char *path);
/** As gt_safetensors_open on n bytes in memory (copied); name is used in messages. */
gt_safetensors *gt_safetensors_parse(const void *bytes, size_t n, const char *name);
/** Frees an opened checkpoint. NULL is ignored. */
void gt_safetensors_close(gt_safetensors *st);

/** Number of tensors. */
int gt_safetensors_count(const gt_safetensors *st);
/** Name of tensor i, in the order of their data in the file (NULL when out of range). */
const char *gt_safetensors_name(const gt_safetensors *st, int i);
/** Index of the tensor called name, or -1 (not an error). */
int gt_safetensors_find(const gt_safetensors *st, const char *name);
/** The dtype string of tensor i as the file spells it ("F32", "BF16", ...). */
const char *gt_safetensors_dtype_name(const gt_safetensors *st, int i);
/** dtype, rank and shape of tensor i (shape points into st). False for a dtype gradtape has
 *  no equivalent for (with an error), or i out of range. Any output may be NULL. */
bool gt_safetensors_info(const gt_safetensors *st, int i, gt_dtype *dtype, int *rank,
                         const int64_t **shape);
/** A copy of tensor `name` as a tensor owned by the current scope; NULL and an error when
 *  there is no such tensor or its dtype is not one of F32 F64 I32 I64 BOOL. */
gt_tensor *gt_safetensors_get(const gt_safetensors *st, const char *name);
/** Value of a "__metadata__" entry, or NULL. */
const char *gt_safetensors_metadata(const gt_safetensors *st, const char *key);
/** Number of metadata entries, and entry i (key and value point into st). */
int gt_safetensors_metadata_count(const gt_safetensors *st);
gt_kv gt_safetensors_metadata_at(const gt_safetensors *st, int i);

/** Copies the checkpoint's tensors into n variables. The name of vars[i] is names[i], or its
 *  variable path when names is NULL. All-or-nothing: every variable must be found with its
 *  exact dtype and shape, no two entries may name the same variable or tensor, and (unless
 *  allow_extra) the checkpoint must hold no tensor outside the list; everything is checked
 *  before the first value is written, so on any error (messages list the missing, extra or
 *  mismatched names) every variable keeps its value. Writes go through gt_variable_data
 *  (copy-on-write: tapes keep the values they saw). */
bool gt_safetensors_assign(const gt_safetensors *st, int n, gt_tensor *const *vars,
                           const char *const *names, bool allow_extra);

/** gt_safetensors_open + gt_safetensors_assign + close: loads a checkpoint into variables,
 *  changing none of them unless the whole file fits. */
bool gt_safetensors_load_variables(const char *path, int n, gt_tensor *const *vars,
                                   const char *const *names, bool allow_extra);

#ifdef __cplusplus
}
#endif

#endif /* GRADTAPE_IO_H */
