/* Strict JSON parsing into an index-linked node array; see json.h. */
#include "io/json.h"

#include "io/io_internal.h"

#include <stdarg.h>
#include <stdlib.h>

typedef struct parser {
    gt__json *j;
    const unsigned char *s;
    size_t n, i;
    bool oom;
} parser;

static bool fail(parser *p, const char *fmt, ...) GT__PRINTF(2, 3);
static bool fail(parser *p, const char *fmt, ...) {
    if (p->j->err[0])
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->j->err, sizeof p->j->err, fmt, ap);
    va_end(ap);
    p->j->err_pos = p->i;
    return false;
}

static void skip_ws(parser *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int32_t new_node(parser *p, uint8_t type) {
    gt__json *j = p->j;
    if (j->n == j->cap) {
        if (j->cap >= INT32_MAX / 2) {
            fail(p, "too many JSON values");
            return -1;
        }
        int32_t ncap = j->cap ? j->cap * 2 : 64;
        gt__jnode *nn = gt__realloc(j->nodes, (size_t)ncap * sizeof *nn, "a JSON parse");
        if (!nn) {
            p->oom = true;
            fail(p, "out of memory");
            return -1;
        }
        j->nodes = nn;
        j->cap = ncap;
    }
    gt__jnode *nd = &j->nodes[j->n];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->next = nd->child = -1;
    nd->pos = p->i;
    return j->n++;
}

static bool put_bytes(parser *p, const char *b, size_t k) {
    gt__json *j = p->j;
    if (j->slen + k + 1 > j->scap) {
        size_t ncap = j->scap ? j->scap : 256;
        while (ncap < j->slen + k + 1)
            ncap *= 2;
        char *ns = gt__realloc(j->strs, ncap, "a JSON parse");
        if (!ns) {
            p->oom = true;
            return fail(p, "out of memory");
        }
        j->strs = ns;
        j->scap = ncap;
    }
    memcpy(j->strs + j->slen, b, k);
    j->slen += k;
    return true;
}

static int hex4(const unsigned char *s) {
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int c = s[k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return len;
}

static size_t utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At the opening quote. */
static bool parse_string(parser *p, int32_t node) {
    p->i++;
    p->j->nodes[node].str = p->j->slen;
    size_t start = p->j->slen;
    for (;;) {
        if (p->i >= p->n)
            return fail(p, "unterminated string");
        unsigned c = p->s[p->i];
        if (c == '"') {
            p->i++;
            break;
        }
        if (c < 0x20)
            return fail(p, "raw control character 0x%02x in a string", c);
        if (c == '\\') {
            if (p->i + 1 >= p->n)
                return fail(p, "unterminated escape");
            unsigned e = p->s[p->i + 1];
            char ch;
            switch (e) {
            case '"':
                ch = '"';
                break;
            case '\\':
                ch = '\\';
                break;
            case '/':
                ch = '/';
                break;
            case 'b':
                ch = '\b';
                break;
            case 'f':
                ch = '\f';
                break;
            case 'n':
                ch = '\n';
                break;
            case 'r':
                ch = '\r';
                break;
            case 't':
                ch = '\t';
                break;
            case 'u': {
                if (p->n - p->i < 6)
                    return fail(p, "truncated \\u escape");
                int v = hex4(p->s + p->i + 2);
                if (v < 0)
                    return fail(p, "bad \\u escape (needs 4 hex digits)");
                uint32_t cp = (uint32_t)v;
                p->i += 6;
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail(p, "lone low surrogate \\u%04x", v);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                        return fail(p, "high surrogate \\u%04x without its low half", v);
                    int lo = hex4(p->s + p->i + 2);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return fail(p, "high surrogate \\u%04x without its low half", v);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                    p->i += 6;
                }
                char buf[4];
                if (!put_bytes(p, buf, utf8_put(buf, cp)))
                    return false;
                continue;
            }
            default:
                return fail(p, "bad escape \\%c", e >= 0x20 && e < 0x7F ? (char)e : '?');
            }
            if (!put_bytes(p, &ch, 1))
                return false;
            p->i += 2;
            continue;
        }
        size_t k = utf8_len(p->s + p->i, p->n - p->i);
        if (!k)
            return fail(p, "invalid UTF-8 byte 0x%02x in a string", c);
        if (!put_bytes(p, (const char *)p->s + p->i, k))
            return false;
        p->i += k;
    }
    p->j->nodes[node].len = p->j->slen - start;
    return put_bytes(p, "", 1);
}

static bool is_digit(unsigned c) {
    return c >= '0' && c <= '9';
}

static bool parse_number(parser *p, int32_t node) {
    size_t b = p->i;
    bool neg = false, frac = false;
    if (p->s[p->i] == '-') {
        neg = true;
        p->i++;
    }
    if (p->i >= p->n || !is_digit(p->s[p->i]))
        return fail(p, "bad number: no digits");
    uint64_t u = 0;
    bool fits = true;
    if (p->s[p->i] == '0') {
        p->i++;
        if (p->i < p->n && is_digit(p->s[p->i]))
            return fail(p, "bad number: leading zero");
    } else {
        while (p->i < p->n && is_digit(p->s[p->i])) {
            unsigned d = p->s[p->i++] - '0';
            if (u > (UINT64_MAX - d) / 10)
                fits = false;
            else
                u = u * 10 + d;
        }
    }
    if (p->i < p->n && p->s[p->i] == '.') {
        frac = true;
        p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i]))
            return fail(p, "bad number: no digits after '.'");
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        frac = true;
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (p->i >= p->n || !is_digit(p->s[p->i]))
            return fail(p, "bad number: empty exponent");
        while (p->i < p->n && is_digit(p->s[p->i]))
            p->i++;
    }
    size_t len = p->i - b;
    char buf[64];
    gt__jnode *nd = &p->j->nodes[node];
    if (len < sizeof buf) {
        memcpy(buf, p->s + b, len);
        buf[len] = 0;
        nd->num = strtod(buf, NULL);
    } else {
        nd->num = neg ? -1e308 : 1e308; /* only integer-ness matters to safetensors */
    }
    nd->is_uint = !neg && !frac && fits;
    nd->u = u;
    return true;
}

static bool parse_value(parser *p, int depth, int32_t *out);

static bool parse_container(parser *p, int depth, int32_t node, bool object) {
    char close = object ? '}' : ']';
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == (unsigned char)close) {
        p->i++;
        return true;
    }
    int32_t last = -1, count = 0;
    for (;;) {
        skip_ws(p);
        if (object) {
            if (p->i >= p->n)
                return fail(p, "unterminated object");
            if (p->s[p->i] != '"')
                return fail(p, "expected a string key");
            int32_t key = new_node(p, GT__J_STR);
            if (key < 0 || !parse_string(p, key))
                return false;
            if (last < 0)
                p->j->nodes[node].child = key;
            else
                p->j->nodes[last].next = key;
            last = key;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return fail(p, "expected ':' after a key");
            p->i++;
        }
        int32_t v;
        if (!parse_value(p, depth + 1, &v))
            return false;
        if (last < 0)
            p->j->nodes[node].child = v;
        else
            p->j->nodes[last].next = v;
        last = v;
        if (count == INT32_MAX)
            return fail(p, "too many members");
        count++;
        skip_ws(p);
        if (p->i >= p->n)
            return fail(p, object ? "unterminated object" : "unterminated array");
        if (p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->s[p->i] == (unsigned char)close) {
            p->i++;
            break;
        }
        return fail(p, "expected ',' or '%c'", close);
    }
    p->j->nodes[node].count = count;
    return true;
}

static bool literal(parser *p, const char *word) {
    size_t k = strlen(word);
    if (p->n - p->i < k || memcmp(p->s + p->i, word, k))
        return fail(p, "unexpected character");
    p->i += k;
    return true;
}

static bool parse_value(parser *p, int depth, int32_t *out) {
    if (depth > GT__JSON_MAX_DEPTH)
        return fail(p, "nested more than %d deep", GT__JSON_MAX_DEPTH);
    skip_ws(p);
    if (p->i >= p->n)
        return fail(p, "unexpected end of the JSON text");
    unsigned c = p->s[p->i];
    int32_t node;
    switch (c) {
    case '{':
    case '[':
        node = new_node(p, c == '{' ? GT__J_OBJ : GT__J_ARR);
        if (node < 0 || !parse_container(p, depth, node, c == '{'))
            return false;
        break;
    case '"':
        node = new_node(p, GT__J_STR);
        if (node < 0 || !parse_string(p, node))
            return false;
        break;
    case 't':
    case 'f':
    case 'n':
        node = new_node(p, c == 't' ? GT__J_TRUE : c == 'f' ? GT__J_FALSE : GT__J_NULL);
        if (node < 0 || !literal(p, c == 't' ? "true" : c == 'f' ? "false" : "null"))
            return false;
        break;
    default:
        if (c != '-' && !is_digit(c))
            return fail(p, "unexpected character '%c'", c >= 0x20 && c < 0x7F ? (char)c : '?');
        node = new_node(p, GT__J_NUM);
        if (node < 0 || !parse_number(p, node))
            return false;
        break;
    }
    *out = node;
    return true;
}

bool gt__json_parse(gt__json *j, const char *s, size_t n) {
    memset(j, 0, sizeof *j);
    parser p = {j, (const unsigned char *)s, n, 0, false};
    int32_t root;
    bool ok = parse_value(&p, 1, &root);
    if (ok) {
        skip_ws(&p);
        if (p.i != n)
            ok = fail(&p, "extra text after the JSON value");
    }
    return ok;
}

bool gt__json_utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(u + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

void gt__json_free(gt__json *j) {
    gt__free(j->nodes);
    gt__free(j->strs);
    memset(j, 0, sizeof *j);
}
