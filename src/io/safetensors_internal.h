/* Shared by the safetensors writer, reader and variable loader (src/io/safetensors*.c). */
#ifndef GT_IO_SAFETENSORS_INTERNAL_H
#define GT_IO_SAFETENSORS_INTERNAL_H

#include "io/io_internal.h"
#include "io/json.h"

/* The reader refuses headers larger than this (the reference implementation's limit). */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct st_dtype {
    const char *name;
    size_t size;
    int gt; /* gt_dtype, or -1 when gradtape has no equivalent */
} st_dtype;

/* Every dtype of the safetensors format gradtape knows (gt = -1: no gradtape equivalent). */
extern const st_dtype gt__st_dtypes[];
extern const int gt__st_ndtypes;
#define DTYPES  gt__st_dtypes
#define NDTYPES gt__st_ndtypes
/* The safetensors name of a gradtape dtype ("F32", ...). */
const char *gt__st_name_of(gt_dtype d);

/* A growable NUL-terminated string; oom is set (and the library error) when it cannot grow. */
typedef struct sb {
    char *s;
    size_t n, cap;
    bool oom;
} sb;

void gt__sb_put(sb *b, const char *p, size_t k);
void gt__sb_str(sb *b, const char *s);
void gt__sb_fmt(sb *b, const char *fmt, ...) GT__PRINTF(2, 3);
/* Appends s as a JSON string literal (quotes, backslashes, control characters escaped). */
void gt__sb_json(sb *b, const char *s);

typedef struct st_entry {
    const char *name; /* into json.strs */
    int dtype;        /* index into DTYPES */
    int rank;
    int64_t shape[GT_MAX_RANK];
    uint64_t begin, end;
} st_entry;

struct gt_safetensors {
    char *label; /* file name for messages */
    uint8_t *buf;
    const uint8_t *data; /* tensor data: buf + 8 + header length */
    uint64_t data_len;
    gt__json json;
    st_entry *e; /* in data order */
    int count;
    int *by_name; /* entry indices sorted by name */
    gt_kv *meta;
    int nmeta;
};

/* Refuses BOOL tensors holding bytes other than 0 and 1 (false + error). */
bool gt__st_check_bool(const gt_safetensors *st, const st_entry *e);
/* Copies entry e's data into dst in host byte order. */
void gt__st_copy(const gt_safetensors *st, const st_entry *e, void *dst);

#endif
