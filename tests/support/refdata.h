/* Reader for the reference-data files written by tests/ref/gen_ops.py (tests/data/ops_ref.txt;
 * the format is described in tests/ref/README.md). Plain C: it parses text into arrays and
 * calls nothing in gradtape, so a test can load the file before the library is usable.
 *
 *   refdata_file f;
 *   char err[256];
 *   if (!refdata_load(GT_TEST_DATA_DIR "/ops_ref.txt", &f, err, sizeof err)) { ...err... }
 *   for (int i = 0; i < f.ncases; i++) { const refdata_case *c = &f.cases[i]; ... }
 *   refdata_free(&f);
 */
#ifndef GT_TEST_REFDATA_H
#define GT_TEST_REFDATA_H

#include <gradtape.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REFDATA_MAX_TENSORS 8 /* per kind (in/out/w/grad) in one case */
#define REFDATA_MAX_ATTRS 8
#define REFDATA_MAX_ATTR_VALUES 16

/* One tensor of a case: an input ("in"), an expected output ("out"), a gradient weight ("w")
 * or an expected gradient ("grad"). data holds size elements of the dtype's C type (float,
 * double, int32_t, int64_t, bool); is_none marks a gradient TensorFlow reported as None. */
typedef struct refdata_tensor {
    char name[32]; /* input name ("a", "x0", "labels"); "" for outputs and weights */
    bool is_none;
    gt_dtype dtype;
    int rank;
    int64_t shape[GT_MAX_RANK];
    int64_t size;
    void *data; /* NULL when size == 0 or is_none */
} refdata_tensor;

/* "attr name v1 v2 ..." kept as text; the helpers below convert. */
typedef struct refdata_attr {
    char name[32];
    int nvalues;
    char values[REFDATA_MAX_ATTR_VALUES][40];
} refdata_attr;

typedef struct refdata_case {
    char id[128]; /* "add/f32/bcast_213_41" */
    char op[64];  /* "add" */
    int line;     /* line of "case" in the file */
    int nattrs, nin, nout, nw, ngrad;
    refdata_attr attrs[REFDATA_MAX_ATTRS];
    refdata_tensor in[REFDATA_MAX_TENSORS];
    refdata_tensor out[REFDATA_MAX_TENSORS];
    refdata_tensor w[REFDATA_MAX_TENSORS];
    refdata_tensor grad[REFDATA_MAX_TENSORS];
} refdata_case;

typedef struct refdata_file {
    int ncases;
    refdata_case *cases;
    char versions[256]; /* the "# versions:" header line, without the prefix */
} refdata_file;

/* Reads a whole file. On failure returns false with "path:line: reason" in err. */
bool refdata_load(const char *path, refdata_file *f, char *err, size_t errn);
/* Frees what refdata_load allocated; f is left empty. */
void refdata_free(refdata_file *f);

/* Parses a dtype name as the file spells it ("float32", ..., "bool"). */
bool refdata_parse_dtype(const char *s, gt_dtype *out);

/* The attribute of that name, or NULL. */
const refdata_attr *refdata_attr_find(const refdata_case *c, const char *name);
/* Typed access; each returns false (and leaves *out alone) when the attribute is missing or
 * malformed. ints: "empty" is a list of 0 values; returns the count in *n (at most max). */
bool refdata_attr_double(const refdata_case *c, const char *name, double *out);
bool refdata_attr_int(const refdata_case *c, const char *name, int64_t *out);
bool refdata_attr_bool(const refdata_case *c, const char *name, bool *out);
bool refdata_attr_dtype(const refdata_case *c, const char *name, gt_dtype *out);
bool refdata_attr_ints(const refdata_case *c, const char *name, int64_t *out, int max, int *n);
/* True when the attribute's single value is the word `word` ("all", "none"). */
bool refdata_attr_is(const refdata_case *c, const char *name, const char *word);

/* Element i of t converted to double (bool: 0/1). */
double refdata_get(const refdata_tensor *t, int64_t i);

#endif
