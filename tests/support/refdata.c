/* Reader for tests/data/ops_ref.txt (format: tests/ref/README.md). Line oriented: every line is
 * whitespace-separated tokens; the first token says what the line is. Floats are read with
 * strtof for float32 (exact for the shortest-repr text the generator writes, without the double
 * rounding strtod-then-cast could add) and strtod for float64; "inf", "-inf", "nan" included. */
#include "refdata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *path;
    int line;
    char *err;
    size_t errn;
} parser;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static bool fail(parser *p, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err && p->errn) snprintf(p->err, p->errn, "%s:%d: %s", p->path, p->line, msg);
    return false;
}

bool refdata_parse_dtype(const char *s, gt_dtype *out) {
    static const struct {
        const char *name;
        gt_dtype dt;
    } names[] = {{"float32", GT_F32}, {"float64", GT_F64}, {"int32", GT_I32},
                 {"int64", GT_I64},   {"bool", GT_BOOL}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].dt;
            return true;
        }
    return false;
}

static size_t elem_size(gt_dtype dt) {
    switch (dt) {
    case GT_F32: return sizeof(float);
    case GT_F64: return sizeof(double);
    case GT_I32: return sizeof(int32_t);
    case GT_I64: return sizeof(int64_t);
    case GT_BOOL: return sizeof(bool);
    }
    return 1;
}

static bool parse_i64(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) return false;
    *out = (int64_t)v;
    return true;
}

/* "[2,3]" / "[]" */
static bool parse_shape(parser *p, const char *s, refdata_tensor *t) {
    size_t len = strlen(s);
    if (len < 2 || s[0] != '[' || s[len - 1] != ']') return fail(p, "bad shape '%s'", s);
    t->rank = 0;
    t->size = 1;
    const char *q = s + 1;
    while (*q != ']') {
        if (t->rank == GT_MAX_RANK) return fail(p, "shape '%s' has too many dims", s);
        char *end;
        errno = 0;
        long long d = strtoll(q, &end, 10);
        if (errno || end == q || d < 0 || (*end != ',' && *end != ']'))
            return fail(p, "bad shape '%s'", s);
        t->shape[t->rank++] = (int64_t)d;
        t->size *= (int64_t)d;
        q = *end == ',' ? end + 1 : end;
    }
    return true;
}

static bool parse_value(parser *p, const char *s, gt_dtype dt, void *data, int64_t i) {
    char *end;
    errno = 0;
    switch (dt) {
    case GT_F32: ((float *)data)[i] = strtof(s, &end); break;
    case GT_F64: ((double *)data)[i] = strtod(s, &end); break;
    case GT_I32:
    case GT_I64: {
        long long v = strtoll(s, &end, 10);
        if (errno) return fail(p, "integer '%s' out of range", s);
        if (dt == GT_I32) {
            if (v < INT32_MIN || v > INT32_MAX) return fail(p, "int32 '%s' out of range", s);
            ((int32_t *)data)[i] = (int32_t)v;
        } else {
            ((int64_t *)data)[i] = (int64_t)v;
        }
        break;
    }
    case GT_BOOL:
        if (strcmp(s, "0") && strcmp(s, "1")) return fail(p, "bool value '%s' (want 0/1)", s);
        ((bool *)data)[i] = s[0] == '1';
        return true;
    }
    /* ERANGE on float parsing only means a subnormal or overflowing literal; the generator
     * writes exact representations, so accept the value strto* produced. */
    if (end == s || *end) return fail(p, "bad value '%s'", s);
    return true;
}

/* tokens: [name] dtype shape values... (name present for in/grad) */
static bool parse_tensor(parser *p, char **tok, int ntok, bool named, refdata_tensor *t) {
    memset(t, 0, sizeof *t);
    int k = 0;
    if (named) {
        if (ntok < 1) return fail(p, "missing tensor name");
        if (strlen(tok[0]) >= sizeof t->name) return fail(p, "tensor name too long");
        strcpy(t->name, tok[0]);
        k = 1;
        if (ntok == 2 && !strcmp(tok[1], "none")) {
            t->is_none = true;
            return true;
        }
    }
    if (ntok < k + 2) return fail(p, "tensor needs a dtype and a shape");
    if (!refdata_parse_dtype(tok[k], &t->dtype)) return fail(p, "unknown dtype '%s'", tok[k]);
    if (!parse_shape(p, tok[k + 1], t)) return false;
    int nvals = ntok - k - 2;
    if ((int64_t)nvals != t->size)
        return fail(p, "shape %s has %lld elements but %d values are given", tok[k + 1],
                    (long long)t->size, nvals);
    if (t->size > 0) {
        t->data = calloc((size_t)t->size, elem_size(t->dtype));
        if (!t->data) return fail(p, "out of memory");
        for (int64_t i = 0; i < t->size; i++)
            if (!parse_value(p, tok[k + 2 + i], t->dtype, t->data, i)) return false;
    }
    return true;
}

static void free_case(refdata_case *c) {
    refdata_tensor *lists[] = {c->in, c->out, c->w, c->grad};
    int counts[] = {c->nin, c->nout, c->nw, c->ngrad};
    for (int l = 0; l < 4; l++)
        for (int i = 0; i < counts[l]; i++) {
            free(lists[l][i].data);
            lists[l][i].data = NULL;
        }
}

void refdata_free(refdata_file *f) {
    if (!f) return;
    for (int i = 0; i < f->ncases; i++) free_case(&f->cases[i]);
    free(f->cases);
    f->cases = NULL;
    f->ncases = 0;
}

/* Splits line in place into tokens; grows *tok as needed. Returns the count. */
static int tokenize(char *line, char ***tok, int *cap) {
    int n = 0;
    char *save = NULL;
    for (char *s = strtok_r(line, " \t\r\n", &save); s; s = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == *cap) {
            int nc = *cap ? *cap * 2 : 64;
            char **nt = realloc(*tok, sizeof(char *) * (size_t)nc);
            if (!nt) return -1;
            *tok = nt;
            *cap = nc;
        }
        (*tok)[n++] = s;
    }
    return n;
}

bool refdata_load(const char *path, refdata_file *f, char *err, size_t errn) {
    memset(f, 0, sizeof *f);
    parser p = {path, 0, err, errn};
    FILE *fp = fopen(path, "r");
    if (!fp) return fail(&p, "cannot open: %s", strerror(errno));
    char *line = NULL;
    size_t linecap = 0;
    char **tok = NULL;
    int tokcap = 0, capcases = 0;
    refdata_case *c = NULL; /* the open case */
    bool ok = true, have_format = false;
    while (ok && getline(&line, &linecap, fp) >= 0) {
        p.line++;
        if (line[0] == '#') {
            const char *key = "# versions: ";
            if (!strncmp(line, key, strlen(key))) {
                snprintf(f->versions, sizeof f->versions, "%s", line + strlen(key));
                f->versions[strcspn(f->versions, "\r\n")] = 0;
            }
            continue;
        }
        int n = tokenize(line, &tok, &tokcap);
        if (n < 0) {
            ok = fail(&p, "out of memory");
            break;
        }
        if (n == 0) continue;
        const char *kw = tok[0];
        if (!strcmp(kw, "format")) {
            if (n != 2 || strcmp(tok[1], "1")) ok = fail(&p, "unsupported format (want 1)");
            have_format = true;
            continue;
        }
        if (!strcmp(kw, "case")) {
            if (c) {
                ok = fail(&p, "case '%s' is not closed with 'end'", c->id);
                break;
            }
            if (n != 2 || strlen(tok[1]) >= sizeof c->id) {
                ok = fail(&p, "malformed case line");
                break;
            }
            if (f->ncases == capcases) {
                int nc = capcases ? capcases * 2 : 256;
                refdata_case *ncs = realloc(f->cases, sizeof *ncs * (size_t)nc);
                if (!ncs) {
                    ok = fail(&p, "out of memory");
                    break;
                }
                f->cases = ncs;
                capcases = nc;
            }
            c = &f->cases[f->ncases++];
            memset(c, 0, sizeof *c);
            strcpy(c->id, tok[1]);
            c->line = p.line;
            continue;
        }
        if (!c) {
            ok = fail(&p, "'%s' outside a case", kw);
            break;
        }
        if (!strcmp(kw, "end")) {
            if (!c->op[0]) ok = fail(&p, "case '%s' has no op", c->id);
            else if (c->nout == 0) ok = fail(&p, "case '%s' has no output", c->id);
            else if (c->ngrad && c->nw != c->nout)
                ok = fail(&p, "case '%s': %d weights for %d outputs", c->id, c->nw, c->nout);
            c = NULL;
        } else if (!strcmp(kw, "op")) {
            if (n != 2 || strlen(tok[1]) >= sizeof c->op) ok = fail(&p, "malformed op line");
            else strcpy(c->op, tok[1]);
        } else if (!strcmp(kw, "attr")) {
            if (n < 3 || n - 2 > REFDATA_MAX_ATTR_VALUES || c->nattrs == REFDATA_MAX_ATTRS ||
                strlen(tok[1]) >= sizeof c->attrs[0].name) {
                ok = fail(&p, "malformed attr line");
                break;
            }
            refdata_attr *a = &c->attrs[c->nattrs++];
            strcpy(a->name, tok[1]);
            a->nvalues = 0;
            if (n == 3 && !strcmp(tok[2], "empty")) continue;
            for (int i = 2; i < n && ok; i++) {
                if (strlen(tok[i]) >= sizeof a->values[0]) ok = fail(&p, "attr value too long");
                else strcpy(a->values[a->nvalues++], tok[i]);
            }
        } else {
            refdata_tensor *list;
            int *count;
            bool named;
            if (!strcmp(kw, "in")) list = c->in, count = &c->nin, named = true;
            else if (!strcmp(kw, "out")) list = c->out, count = &c->nout, named = false;
            else if (!strcmp(kw, "w")) list = c->w, count = &c->nw, named = false;
            else if (!strcmp(kw, "grad")) list = c->grad, count = &c->ngrad, named = true;
            else {
                ok = fail(&p, "unknown line kind '%s'", kw);
                break;
            }
            if (*count == REFDATA_MAX_TENSORS) {
                ok = fail(&p, "too many '%s' lines in case '%s'", kw, c->id);
                break;
            }
            refdata_tensor *t = &list[*count];
            ok = parse_tensor(&p, tok + 1, n - 1, named, t);
            (*count)++; /* counted even on failure so refdata_free releases t->data */
        }
    }
    if (ok && c) ok = fail(&p, "file ends inside case '%s'", c->id);
    if (ok && !have_format) ok = fail(&p, "no 'format' line");
    if (ok && ferror(fp)) ok = fail(&p, "read error");
    free(line);
    free(tok);
    fclose(fp);
    if (!ok) refdata_free(f);
    return ok;
}

const refdata_attr *refdata_attr_find(const refdata_case *c, const char *name) {
    for (int i = 0; i < c->nattrs; i++)
        if (!strcmp(c->attrs[i].name, name)) return &c->attrs[i];
    return NULL;
}

bool refdata_attr_double(const refdata_case *c, const char *name, double *out) {
    const refdata_attr *a = refdata_attr_find(c, name);
    if (!a || a->nvalues != 1) return false;
    char *end;
    double v = strtod(a->values[0], &end);
    if (end == a->values[0] || *end) return false;
    *out = v;
    return true;
}

bool refdata_attr_int(const refdata_case *c, const char *name, int64_t *out) {
    const refdata_attr *a = refdata_attr_find(c, name);
    return a && a->nvalues == 1 && parse_i64(a->values[0], out);
}

bool refdata_attr_bool(const refdata_case *c, const char *name, bool *out) {
    const refdata_attr *a = refdata_attr_find(c, name);
    if (!a || a->nvalues != 1) return false;
    if (!strcmp(a->values[0], "true")) *out = true;
    else if (!strcmp(a->values[0], "false")) *out = false;
    else return false;
    return true;
}

bool refdata_attr_dtype(const refdata_case *c, const char *name, gt_dtype *out) {
    const refdata_attr *a = refdata_attr_find(c, name);
    return a && a->nvalues == 1 && refdata_parse_dtype(a->values[0], out);
}

bool refdata_attr_ints(const refdata_case *c, const char *name, int64_t *out, int max, int *n) {
    const refdata_attr *a = refdata_attr_find(c, name);
    if (!a || a->nvalues > max) return false;
    for (int i = 0; i < a->nvalues; i++)
        if (!parse_i64(a->values[i], &out[i])) return false;
    *n = a->nvalues;
    return true;
}

bool refdata_attr_is(const refdata_case *c, const char *name, const char *word) {
    const refdata_attr *a = refdata_attr_find(c, name);
    return a && a->nvalues == 1 && !strcmp(a->values[0], word);
}

double refdata_get(const refdata_tensor *t, int64_t i) {
    switch (t->dtype) {
    case GT_F32: return ((const float *)t->data)[i];
    case GT_F64: return ((const double *)t->data)[i];
    case GT_I32: return ((const int32_t *)t->data)[i];
    case GT_I64: return (double)((const int64_t *)t->data)[i];
    case GT_BOOL: return ((const bool *)t->data)[i] ? 1.0 : 0.0;
    }
    return 0.0;
}
