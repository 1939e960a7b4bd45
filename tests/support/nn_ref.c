#include "nn_ref.h"
#include "gtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
    char *key;
    int64_t n;
    double *v;
} rec;
static rec *recs;
static int nrecs;

bool nnref_load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        GTT_CHECK(0, "cannot open %s (run tests/ref/gen_keras.py)", path);
        return false;
    }
    char key[256];
    int cap = 0;
    while (fscanf(f, "%255s", key) == 1) {
        if (key[0] == '#') {
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {
            }
            continue;
        }
        long long n;
        if (fscanf(f, "%lld", &n) != 1 || n < 0)
            break;
        if (nrecs == cap) {
            cap = cap ? 2 * cap : 256;
            recs = realloc(recs, sizeof(rec) * (size_t)cap);
        }
        rec *r = &recs[nrecs++];
        r->key = malloc(strlen(key) + 1);
        strcpy(r->key, key);
        r->n = n;
        r->v = malloc(sizeof(double) * (size_t)(n ? n : 1));
        for (long long i = 0; i < n; i++)
            if (fscanf(f, "%lf", &r->v[i]) != 1)
                r->v[i] = NAN;
    }
    fclose(f);
    GTT_CHECK(nrecs > 0, "no records in %s", path);
    return nrecs > 0;
}

const double *nnref_get(const char *key, int64_t *n) {
    for (int i = 0; i < nrecs; i++)
        if (strcmp(recs[i].key, key) == 0) {
            if (n)
                *n = recs[i].n;
            return recs[i].v;
        }
    GTT_CHECK(0, "reference record %s missing", key);
    if (n)
        *n = 0;
    return NULL;
}

gt_tensor *nnref_tensor(const char *key, gt_dtype dtype, int rank, const int64_t *shape) {
    int64_t n, want = 1;
    const double *v = nnref_get(key, &n);
    for (int i = 0; i < rank; i++)
        want *= shape[i];
    if (!v || n != want) {
        GTT_CHECK(0, "record %s has %lld values, want %lld", key, (long long)n, (long long)want);
        return NULL;
    }
    gt_tensor *t64 = gt_tensor_new(GT_F64, rank, shape, v);
    return dtype == GT_F64 ? t64 : gt_cast(t64, dtype);
}

void nnref_check(const char *key, const gt_tensor *t, double atol, double rtol) {
    int64_t n;
    const double *v = nnref_get(key, &n);
    if (!v)
        return;
    gtt_tensor_close(key, t, v, n, atol, rtol);
}

void nnref_free(void) {
    for (int i = 0; i < nrecs; i++) {
        free(recs[i].key);
        free(recs[i].v);
    }
    free(recs);
    recs = NULL;
    nrecs = 0;
}

char nnref_last_warning[2048];
int nnref_warnings;

static void capture(const char *msg, void *user) {
    (void)user;
    snprintf(nnref_last_warning, sizeof nnref_last_warning, "%s", msg);
    nnref_warnings++;
}

void nnref_capture_warnings(void) {
    gt_set_warning_handler(capture, NULL);
}
