/* Numeric CSV: a header line (optional, auto-detected), float fields, one label column. */
#include "io/io_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

typedef struct field {
    const char *p; /* into the text, or into the row's unquote buffer */
    size_t n;
} field;

typedef struct row {
    field *f;
    int64_t nf, cap;
    char *unq; /* unquoted copies of quoted fields */
    int64_t unq_len, unq_cap;
} row;

static bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

/* Splits one line (without its newline) into fields. */
static bool split_line(row *r, const char *s, size_t n, char delim, const char *name,
                       int64_t line) {
    r->nf = 0;
    r->unq_len = 0;
    /* Unquoted text can be at most the line itself. */
    if (!gt__grow((void **)&r->unq, &r->unq_cap, (int64_t)n + 1, 1, "a CSV line"))
        return false;
    size_t i = 0;
    for (;;) {
        if (!gt__grow((void **)&r->f, &r->cap, r->nf + 1, sizeof(field), "a CSV row"))
            return false;
        size_t j = i;
        while (j < n && is_blank(s[j]))
            j++;
        if (j < n && s[j] == '"') {
            char *out = r->unq + r->unq_len;
            size_t k = 0;
            j++;
            for (;;) {
                if (j >= n) {
                    gt__error("csv: %s: line %lld: unterminated quoted field (fields may not span "
                              "lines)",
                              name, (long long)line);
                    return false;
                }
                if (s[j] == '"') {
                    if (j + 1 < n && s[j + 1] == '"') {
                        out[k++] = '"';
                        j += 2;
                        continue;
                    }
                    j++;
                    break;
                }
                out[k++] = s[j++];
            }
            while (j < n && is_blank(s[j]))
                j++;
            if (j < n && s[j] != delim) {
                gt__error("csv: %s: line %lld: unexpected '%c' after a closing quote in field %lld",
                          name, (long long)line, s[j], (long long)r->nf + 1);
                return false;
            }
            r->f[r->nf++] = (field){out, k};
            r->unq_len += (int64_t)k;
            i = j;
        } else {
            size_t e = j;
            while (e < n && s[e] != delim)
                e++;
            size_t end = e;
            while (end > j && is_blank(s[end - 1]))
                end--;
            r->f[r->nf++] = (field){s + j, end - j};
            i = e;
        }
        if (i >= n)
            break;
        i++;          /* the delimiter */
        if (i == n) { /* a trailing delimiter ends with one empty field */
            if (!gt__grow((void **)&r->f, &r->cap, r->nf + 1, sizeof(field), "a CSV row"))
                return false;
            r->f[r->nf++] = (field){s + n, 0};
            break;
        }
    }
    return true;
}

/* Parses a whole field as a number: 1, 0 when it is not one, -1 when out of memory (the
 * library error is set then; an error pending from before the call does not count). *range is
 * set when the number overflows float32. */
static int parse_num(const field *f, char **scratch, int64_t *cap, double *v, bool *range) {
    *range = false;
    if (f->n == 0)
        return 0;
    if (!gt__grow((void **)scratch, cap, (int64_t)f->n + 1, 1, "a CSV field"))
        return -1;
    memcpy(*scratch, f->p, f->n);
    (*scratch)[f->n] = 0;
    if (is_blank((*scratch)[0]))
        return 0;
    char *end;
    errno = 0;
    double d = strtod(*scratch, &end);
    if (end != *scratch + f->n)
        return 0;
    if (isfinite(d) && fabs(d) > FLT_MAX)
        *range = true;
    if (errno == ERANGE && fabs(d) > 1.0)
        *range = true; /* underflow to 0 is fine */
    *v = d;
    return 1;
}

static char *dup_field(const field *f) {
    char *s = gt__malloc(f->n + 1, "a CSV column name");
    if (s) {
        memcpy(s, f->p, f->n);
        s[f->n] = 0;
    }
    return s;
}

void gt_csv_free(gt_csv *csv) {
    if (!csv)
        return;
    gt__free(csv->x);
    gt__free(csv->y);
    if (csv->names)
        for (int64_t i = 0; i < csv->cols; i++)
            gt__free(csv->names[i]);
    gt__free(csv->names);
    gt__free(csv->label_name);
    memset(csv, 0, sizeof *csv);
}

bool gt_csv_parse(const char *text, size_t n, const char *name, const gt_csv_desc *desc,
                  gt_csv *out) {
    if (!out) {
        gt__error("gt_csv_parse: out is NULL");
        return false;
    }
    memset(out, 0, sizeof *out);
    if (!text && n) {
        gt__error("gt_csv_parse: text is NULL");
        return false;
    }
    gt_csv_desc d = desc ? *desc : (gt_csv_desc){0};
    if (!name)
        name = "(memory)";
    char delim = d.delimiter ? d.delimiter : ',';
    if (delim == '"' || delim == '\n' || delim == '\r') {
        gt__error("csv: %s: the delimiter cannot be a quote or a newline", name);
        return false;
    }
    if (d.label_name)
        d.has_label = true;
    if (d.label_name && d.header == GT_CSV_HEADER_ABSENT) {
        gt__error("csv: %s: label_name '%s' needs a header line, but header is ABSENT", name,
                  d.label_name);
        return false;
    }

    row r = {0};
    char *scratch = NULL;
    int64_t scratch_cap = 0, xcap = 0, ycap = 0;
    int64_t ncols = -1, label = -1, rows = 0, line = 0;
    bool ok = false, first = true;
    size_t i = 0;
    if (n >= 3 && (uint8_t)text[0] == 0xEF && (uint8_t)text[1] == 0xBB && (uint8_t)text[2] == 0xBF)
        i = 3;
    while (i < n) {
        size_t e = i;
        while (e < n && text[e] != '\n')
            e++;
        size_t len = e - i;
        if (len && text[i + len - 1] == '\r')
            len--;
        const char *s = text + i;
        i = e < n ? e + 1 : n;
        line++;
        size_t k = 0;
        while (k < len && (is_blank(s[k]) || s[k] == '\r'))
            k++;
        if (k == len)
            continue; /* blank line */
        if (memchr(s, 0, len)) {
            gt__error("csv: %s: line %lld contains a NUL byte: not a text file", name,
                      (long long)line);
            goto done;
        }
        if (!split_line(&r, s, len, delim, name, line))
            goto done;

        if (first) {
            first = false;
            ncols = r.nf;
            bool header = d.header == GT_CSV_HEADER_PRESENT;
            if (d.header == GT_CSV_HEADER_AUTO) {
                for (int64_t c = 0; c < r.nf && !header; c++) {
                    double v;
                    bool range;
                    int num = parse_num(&r.f[c], &scratch, &scratch_cap, &v, &range);
                    if (num < 0)
                        goto done;
                    if (num == 0)
                        header = true;
                }
            }
            if (d.has_label) {
                if (d.label_name) {
                    if (!header) {
                        gt__error("csv: %s: label_name '%s' given, but the first line is not a "
                                  "header (every field is a number)",
                                  name, d.label_name);
                        goto done;
                    }
                    for (int64_t c = 0; c < r.nf && label < 0; c++)
                        if (r.f[c].n == strlen(d.label_name) &&
                            !memcmp(r.f[c].p, d.label_name, r.f[c].n))
                            label = c;
                    if (label < 0) {
                        gt__error("csv: %s: no column is named '%s' in the header (line %lld)",
                                  name, d.label_name, (long long)line);
                        goto done;
                    }
                } else {
                    label = d.label_column < 0 ? ncols + d.label_column : d.label_column;
                    if (label < 0 || label >= ncols) {
                        gt__error("csv: %s: label_column %d is out of range for %lld columns", name,
                                  d.label_column, (long long)ncols);
                        goto done;
                    }
                }
            }
            out->cols = ncols - (label >= 0);
            if (header) {
                out->names = gt__calloc((size_t)(out->cols ? out->cols : 1), sizeof(char *),
                                        "CSV column names");
                if (!out->names)
                    goto done;
                for (int64_t c = 0, o = 0; c < r.nf; c++) {
                    char *nm = dup_field(&r.f[c]);
                    if (!nm)
                        goto done;
                    if (c == label)
                        out->label_name = nm;
                    else
                        out->names[o++] = nm;
                }
                continue;
            }
        }

        if (r.nf != ncols) {
            gt__error("csv: %s: line %lld has %lld fields, expected %lld (as the first line)", name,
                      (long long)line, (long long)r.nf, (long long)ncols);
            goto done;
        }
        if (!gt__grow((void **)&out->x, &xcap, (rows + 1) * out->cols, sizeof(float), "CSV values"))
            goto done;
        if (label >= 0 && !gt__grow((void **)&out->y, &ycap, rows + 1, sizeof(float), "CSV labels"))
            goto done;
        /* no feature columns (only the label): x stays NULL, and NULL + 0 is undefined */
        float *xr = out->cols ? out->x + rows * out->cols : NULL;
        for (int64_t c = 0, o = 0; c < r.nf; c++) {
            double v;
            bool range;
            int num = parse_num(&r.f[c], &scratch, &scratch_cap, &v, &range);
            if (num < 0)
                goto done;
            if (num == 0 || range) {
                const char *col =
                    out->names ? (c == label ? out->label_name
                                             : out->names[c > label && label >= 0 ? c - 1 : c])
                               : NULL;
                int shown = r.f[c].n > 40 ? 40 : (int)r.f[c].n;
                gt__error("csv: %s: line %lld, column %lld%s%s%s: '%.*s'%s", name, (long long)line,
                          (long long)c + 1, col ? " ('" : "", col ? col : "", col ? "')" : "",
                          shown, r.f[c].p,
                          range      ? " is out of float32's range"
                          : r.f[c].n ? " is not a number"
                                     : " is empty (every field must be a number)");
                goto done;
            }
            if (c == label)
                out->y[rows] = (float)v;
            else
                xr[o++] = (float)v;
        }
        rows++;
    }
    if (ncols < 0) {
        gt__error("csv: %s: no data: the file is empty", name);
        goto done;
    }
    out->rows = rows;
    ok = true;
done:
    gt__free(r.f);
    gt__free(r.unq);
    gt__free(scratch);
    if (!ok) {
        if (gt_ok())
            gt__error("csv: %s: could not be read", name);
        gt_csv_free(out);
    }
    return ok;
}

bool gt_csv_read(const char *path, const gt_csv_desc *desc, gt_csv *out) {
    if (out)
        memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t n;
    if (!gt__io_read_file("csv", path, &buf, &n))
        return false;
    bool ok = gt_csv_parse((const char *)buf, n, path, desc, out);
    gt__free(buf);
    return ok;
}
