/* libFuzzer target: numeric CSV (gt_csv_parse) and the datasets made from it
 * (gt_dataset_from_csv, gt_dataset_batch).
 *
 * Input layout (fuzz/README.md):
 *   byte 0   delimiter: bit 7 set -> the low 7 bits as the delimiter (0 -> default ','),
 *            else one of 0 , ; TAB space | : " (a quote is an invalid delimiter)
 *   byte 1   bits 0-1 header mode (0 AUTO, 1 PRESENT, 2 ABSENT, 3 AUTO), bit 2 has_label,
 *            bit 3 label_name follows, bit 4 class labels for the dataset
 *   byte 2   label_column, as int8 (negative counts from the end)
 *   [byte 3  label_name length L (0-15), then L bytes of the name]   when bit 3 is set
 *   rest     the CSV text (not NUL-terminated, in an exact-size buffer)
 * Invariants: a failure leaves a message and a zeroed gt_csv; a success a consistent one
 * (every value, label and name readable); an unrelated error already pending does not change
 * the result; gt_csv_read on the same bytes as a file agrees. */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include <gradtape.h>
#include <gradtape_io.h>

static void check_csv(bool ok, const gt_csv *c, const gt_csv_desc *d) {
    fuzz_check_error(ok, "gt_csv_parse");
    if (!ok) {
        FUZZ_CHECK(!c->x && !c->y && !c->names && !c->label_name && !c->rows && !c->cols,
                   "failure left data");
        return;
    }
    bool label = d->has_label || d->label_name;
    FUZZ_CHECK(c->rows >= 0 && c->cols >= 0, "rows %lld cols %lld", (long long)c->rows,
               (long long)c->cols);
    FUZZ_CHECK(c->rows * c->cols == 0 || c->x, "no x for %lld x %lld", (long long)c->rows,
               (long long)c->cols);
    if (c->x)
        fuzz_touch(c->x, (size_t)(c->rows * c->cols) * sizeof(float));
    FUZZ_CHECK(!label || c->rows == 0 || c->y, "labels asked for but y is NULL");
    FUZZ_CHECK(label || !c->y, "y without a label column");
    if (c->y)
        fuzz_touch(c->y, (size_t)c->rows * sizeof(float));
    if (c->names) {
        for (int64_t i = 0; i < c->cols; i++) {
            FUZZ_CHECK(c->names[i] != NULL, "name %lld is NULL", (long long)i);
            fuzz_touch(c->names[i], strlen(c->names[i]) + 1);
        }
        FUZZ_CHECK(!label || c->label_name, "a header and a label column but no label_name");
    } else {
        FUZZ_CHECK(!c->label_name, "label_name without names");
    }
    if (d->label_name)
        FUZZ_CHECK(c->label_name && !strcmp(c->label_name, d->label_name), "label_name %s",
                   c->label_name ? c->label_name : "(null)");
    if (d->header == GT_CSV_HEADER_PRESENT)
        FUZZ_CHECK(c->names, "header PRESENT but no names");
    if (d->header == GT_CSV_HEADER_ABSENT)
        FUZZ_CHECK(!c->names, "header ABSENT but names");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    gt_set_num_threads(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char delims[8] = {0, ',', ';', '\t', ' ', '|', ':', '"'};
    if (size < 3)
        return 0;
    gt_csv_desc d = {0};
    d.delimiter = data[0] & 0x80 ? (char)(data[0] & 0x7f) : delims[data[0] % 8];
    d.header =
        (gt_csv_header)(data[1] & 3) == 3 ? GT_CSV_HEADER_AUTO : (gt_csv_header)(data[1] & 3);
    d.has_label = data[1] & 4;
    bool class_labels = data[1] & 16;
    d.label_column = (int8_t)data[2];
    size_t at = 3;
    char name[16];
    if (data[1] & 8) {
        if (at >= size)
            return 0;
        size_t len = data[at++] % 16;
        if (len > size - at)
            return 0;
        memcpy(name, data + at, len);
        name[len] = 0;
        at += len;
        d.label_name = name;
    }
    size_t n = size - at;
    char *text = fuzz_dup(data + at, n);

    gt_csv c, c2;
    gt_error_clear();
    bool ok = gt_csv_parse(text, n, "fuzz.csv", &d, &c);
    check_csv(ok, &c, &d);
    FUZZ_LOG("gt_csv_parse(delimiter 0x%02x, header %d, has_label %d, label_column %d, "
             "label_name %s): %s, %lld rows x %lld cols",
             (unsigned char)d.delimiter, (int)d.header, d.has_label, d.label_column,
             d.label_name ? d.label_name : "-", ok ? "ok" : "fails", (long long)c.rows,
             (long long)c.cols);

    gt_error_clear();
    gt_set_error("an unrelated earlier error");
    bool ok2 = gt_csv_parse(text, n, "fuzz.csv", &d, &c2);
    FUZZ_CHECK(ok2 == ok, "a pending error changed the result (%s -> %s)", ok ? "ok" : "fails",
               ok2 ? "ok" : "fails");
    if (ok2)
        FUZZ_CHECK(c2.rows == c.rows && c2.cols == c.cols, "a pending error changed the shape");
    gt_csv_free(&c2);
    gt_error_clear();

    /* the same bytes as a file */
    bool ok3 = gt_csv_read(fuzz_as_file(text, n), &d, &c2);
    FUZZ_CHECK(ok3 == ok, "gt_csv_read and gt_csv_parse disagree");
    if (ok3)
        FUZZ_CHECK(c2.rows == c.rows && c2.cols == c.cols, "gt_csv_read read another shape");
    gt_csv_free(&c2);
    gt_error_clear();

    if (ok) {
        gt_dataset *ds = gt_dataset_from_csv(&c, class_labels);
        fuzz_check_error(ds != NULL, "gt_dataset_from_csv");
        FUZZ_LOG("gt_dataset_from_csv(class_labels %d): %s", class_labels, ds ? "ok" : "fails");
        if (ds) {
            FUZZ_CHECK(gt_dataset_size(ds) == c.rows, "dataset size");
            int64_t nb = gt_dataset_num_batches(ds, 4);
            if (nb > 0) {
                gt_scope_begin();
                gt_tensor *x, *y;
                bool okb = gt_dataset_batch(ds, 4, nb - 1, &x, &y);
                fuzz_check_error(okb, "gt_dataset_batch");
                gt_scope_end();
            }
            gt_dataset_free(ds);
        }
        gt_error_clear();
    }
    gt_csv_free(&c);
    FUZZ_CHECK(!c.x && !c.names && !c.rows, "gt_csv_free left data");
    free(text);
    gt_error_clear();
    return 0;
}
