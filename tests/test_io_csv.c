/* Numeric CSV reader: header detection, label column by index or name, quoting, CRLF, BOM,
 * blank lines, and errors that name the line and column. */
#include "gtt.h"

#include <gradtape_io.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool parse(const char *text, const gt_csv_desc *d, gt_csv *out) {
    gt_error_clear();
    return gt_csv_parse(text, strlen(text), "t.csv", d, out);
}

static void expect_fail(const char *text, const gt_csv_desc *d, const char *needle) {
    gt_csv c;
    GTT_CHECK(!parse(text, d, &c), "should fail: %s", text);
    GTT_CHECK(c.x == NULL && c.rows == 0, "output zeroed");
    GTT_ERROR_HAS(needle);
}

static void test_basic(void) {
    gt_csv c;
    /* Header auto-detected, label by name in the middle. */
    GTT_OK(parse("a,label,b\n1,0,2.5\n-3e2,1,4\n", &(gt_csv_desc){.label_name = "label"}, &c));
    GTT_CHECK(c.rows == 2 && c.cols == 2, "2x2 features, got %lldx%lld", (long long)c.rows,
              (long long)c.cols);
    GTT_CHECK(c.x && c.x[0] == 1 && c.x[1] == 2.5f && c.x[2] == -300 && c.x[3] == 4, "values");
    GTT_CHECK(c.y && c.y[0] == 0 && c.y[1] == 1, "labels");
    GTT_CHECK(c.names && !strcmp(c.names[0], "a") && !strcmp(c.names[1], "b") &&
                  !strcmp(c.label_name, "label"),
              "names");
    gt_csv_free(&c);
    GTT_CHECK(c.x == NULL, "free zeroes");

    /* No header (auto), last column as label, CRLF, BOM, blank lines, spaces, quotes. */
    GTT_OK(parse("\xEF\xBB\xBF"
                 "1, 2 ,\"3\"\r\n\r\n  \n4,5,6\r\n",
                 &(gt_csv_desc){.has_label = true, .label_column = -1}, &c));
    GTT_CHECK(c.rows == 2 && c.cols == 2 && !c.names, "no header");
    GTT_CHECK(c.x[0] == 1 && c.x[1] == 2 && c.y[0] == 3 && c.x[2] == 4 && c.y[1] == 6, "values");
    gt_csv_free(&c);

    /* Header forced absent / present; other delimiter; no label. */
    GTT_OK(parse("1;2\n3;4", &(gt_csv_desc){.delimiter = ';', .header = GT_CSV_HEADER_ABSENT}, &c));
    GTT_CHECK(c.rows == 2 && c.cols == 2 && !c.y && c.x[3] == 4, "semicolons, no newline at end");
    gt_csv_free(&c);
    GTT_OK(parse("1,2\n3,4\n", &(gt_csv_desc){.header = GT_CSV_HEADER_PRESENT}, &c));
    GTT_CHECK(c.rows == 1 && c.names && !strcmp(c.names[0], "1"), "first line as names");
    gt_csv_free(&c);
    /* Quoted header names with commas and doubled quotes. */
    GTT_OK(parse("\"x, y\",\"say \"\"hi\"\"\"\n1,2\n", NULL, &c));
    GTT_CHECK(c.names && !strcmp(c.names[0], "x, y") && !strcmp(c.names[1], "say \"hi\""),
              "quoted names: [%s] [%s]", c.names ? c.names[0] : "", c.names ? c.names[1] : "");
    gt_csv_free(&c);
    /* nan/inf parse; a header only gives zero rows. */
    GTT_OK(parse("nan,inf,-1e-50\n", NULL, &c));
    GTT_CHECK(c.rows == 1 && isnan(c.x[0]) && isinf(c.x[1]) && c.x[2] == 0, "nan, inf, underflow");
    gt_csv_free(&c);
    GTT_OK(parse("a,b\n", NULL, &c));
    GTT_CHECK(c.rows == 0 && c.cols == 2, "header only");
    gt_csv_free(&c);
}

static void test_errors(void) {
    expect_fail("a,b\n1,2\n3,x\n", NULL, "line 3, column 2 ('b'): 'x' is not a number");
    expect_fail("1,2\n3,4,5\n", NULL, "line 2 has 3 fields, expected 2");
    expect_fail("1,2\n\n3\n", NULL, "line 3 has 1 fields, expected 2");
    expect_fail("1,2\n3,\n", NULL, "line 2, column 2: '' is empty");
    expect_fail("1,2\n3,1e39\n", NULL, "out of float32's range");
    expect_fail("1,2\n\"3,4\n", NULL, "line 2: unterminated quoted field");
    expect_fail("1,2\n\"3\"x,4\n", NULL, "after a closing quote");
    expect_fail("", NULL, "the file is empty");
    expect_fail("\n\n", NULL, "the file is empty");
    expect_fail("a,b\n1,2\n", &(gt_csv_desc){.label_name = "c"}, "no column is named 'c'");
    expect_fail("1,2\n", &(gt_csv_desc){.label_name = "c"}, "not a header");
    expect_fail("1,2\n", &(gt_csv_desc){.has_label = true, .label_column = 2}, "out of range");
    expect_fail("1,2\n", &(gt_csv_desc){.has_label = true, .label_column = -3}, "out of range");
    const char nul[] = "1,2\n3,\0\n";
    gt_csv c;
    GTT_CHECK(!gt_csv_parse(nul, sizeof nul - 1, "t.csv", NULL, &c), "NUL byte");
    GTT_ERROR_HAS("NUL byte");
    GTT_CHECK(!gt_csv_read("/nonexistent/x.csv", NULL, &c), "missing file");
    GTT_ERROR_HAS("cannot open /nonexistent/x.csv");
}

static void test_file_and_dataset(void) {
    char path[] = "/tmp/gt_test_io_csv_XXXXXX";
    int fd = mkstemp(path);
    GTT_CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    const char *text = "f1,f2,class\n0.5,1,2\n1.5,2,0\n2.5,3,1\n";
    GTT_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write");
    close(fd);
    gt_csv c;
    GTT_OK(gt_csv_read(path, &(gt_csv_desc){.has_label = true, .label_column = -1}, &c));
    remove(path);
    gt_dataset *ds = gt_dataset_from_csv(&c, true);
    GTT_OK(ds != NULL);
    if (ds) {
        GTT_CHECK(gt_dataset_size(ds) == 3 && gt_dataset_num_classes(ds) == 3,
                  "3 samples, 3 classes");
        gt_scope_begin();
        gt_tensor *x, *y;
        GTT_OK(gt_dataset_batch(ds, 2, 1, &x, &y));
        const double wx[2] = {2.5, 3}, wy[1] = {1};
        gtt_tensor_close("csv x", x, wx, 2, 0, 0);
        gtt_tensor_close("csv y", y, wy, 1, 0, 0);
        GTT_CHECK(y && gt_tensor_dtype(y) == GT_I32, "class labels are int32");
        gt_scope_end();
        gt_dataset_free(ds);
    }
    ds = gt_dataset_from_csv(&c, false);
    GTT_OK(ds != NULL);
    if (ds) {
        gt_scope_begin();
        gt_tensor *x, *y;
        GTT_OK(gt_dataset_batch(ds, 3, 0, &x, &y));
        GTT_CHECK(y && gt_tensor_dtype(y) == GT_F32 && gt_tensor_rank(y) == 2 &&
                      gt_tensor_dim(y, 1) == 1,
                  "float targets [B,1]");
        gt_scope_end();
        gt_dataset_free(ds);
    }
    c.y[1] = 0.5f;
    GTT_CHECK(gt_dataset_from_csv(&c, true) == NULL, "fractional class label");
    GTT_ERROR_HAS("not a whole number");
    gt_csv_free(&c);
}

/* Every byte of a CSV text flipped or replaced: parses or fails with a message, never crashes. */
static void test_fuzz(void) {
    const char *src = "a,\"b c\",label\r\n1,2.5,0\n\n-3e2,\"4\",1\n5,6,2";
    size_t n = strlen(src);
    char *b = malloc(n + 1);
    const char repl[] = ",\"\n\r \x00x.-e9";
    int ok = 0, err = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof repl; k++) {
            memcpy(b, src, n);
            b[i] = k < sizeof repl - 1 ? repl[k] : (char)(b[i] ^ 0x80);
            for (int lab = 0; lab < 2; lab++) {
                gt_csv c;
                gt_error_clear();
                gt_csv_desc d = {.has_label = lab == 1, .label_column = -1};
                if (gt_csv_parse(b, n - (i % 3 == 0), "fuzz", &d, &c)) {
                    ok++;
                    GTT_CHECK(c.rows >= 0 && c.cols >= 0 && (c.rows * c.cols == 0 || c.x),
                              "consistent");
                    gt_csv_free(&c);
                } else {
                    err++;
                    if (!gt_error())
                        GTT_CHECK(0, "a failure without a message");
                }
            }
        }
    free(b);
    gt_error_clear();
    printf("csv fuzz: %d parsed, %d rejected\n", ok, err);
    GTT_CHECK(ok > 0 && err > 0, "both outcomes");
}

int main(void) {
    test_basic();
    test_fuzz();
    test_errors();
    test_file_and_dataset();
    return gtt_finish();
}
