/* libFuzzer target: the strict JSON parser of safetensors headers (src/io/json.c, internal
 * header src/io/json.h). The input is the JSON text, in an exact-size buffer.
 * Invariants on success: the node tree is well formed (indices in range, every child
 * reachable once, counts match, depth <= GT__JSON_MAX_DEPTH, every node used), strings are
 * NUL-terminated, in range and valid UTF-8 (escapes decoded, surrogate pairs combined), and
 * a number marked is_uint reads back as the same integer. On failure: a message and an error
 * position within the input. */
#define _GNU_SOURCE
#include "fuzz_util.h"

#include "io/json.h"

#include <errno.h>

typedef struct walk {
    const gt__json *j;
    const char *s;
    size_t n;
    int32_t visited;
} walk;

static void check_node(walk *w, int32_t i, int depth) {
    const gt__json *j = w->j;
    FUZZ_CHECK(i >= 0 && i < j->n, "node index %d of %d", i, j->n);
    FUZZ_CHECK(depth <= GT__JSON_MAX_DEPTH, "depth %d", depth);
    w->visited++;
    const gt__jnode *nd = &j->nodes[i];
    FUZZ_CHECK(nd->pos < w->n, "node %d at byte %zu of %zu", i, nd->pos, w->n);
    switch (nd->type) {
    case GT__J_NULL:
    case GT__J_FALSE:
    case GT__J_TRUE:
        FUZZ_CHECK(nd->child < 0, "a literal with children");
        break;
    case GT__J_NUM: {
        FUZZ_CHECK(nd->child < 0, "a number with children");
        char c = w->s[nd->pos];
        FUZZ_CHECK(c == '-' || (c >= '0' && c <= '9'), "number at '%c'", c);
        if (nd->is_uint) {
            char buf[32];
            size_t k = 0;
            while (nd->pos + k < w->n && k < sizeof buf - 1 && w->s[nd->pos + k] >= '0' &&
                   w->s[nd->pos + k] <= '9') {
                buf[k] = w->s[nd->pos + k];
                k++;
            }
            buf[k] = 0;
            errno = 0;
            unsigned long long v = strtoull(buf, NULL, 10);
            FUZZ_CHECK(errno == 0 && v == nd->u, "is_uint %llu but the text says %s",
                       (unsigned long long)nd->u, buf);
        }
        break;
    }
    case GT__J_STR:
        FUZZ_CHECK(nd->child < 0, "a string with children");
        FUZZ_CHECK(w->s[nd->pos] == '"', "string not at a quote");
        FUZZ_CHECK(nd->str <= j->slen && nd->len < j->slen - nd->str + 1 &&
                       nd->str + nd->len < j->slen,
                   "string [%zu, +%zu) outside %zu", nd->str, nd->len, j->slen);
        FUZZ_CHECK(j->strs[nd->str + nd->len] == 0, "string not NUL-terminated");
        FUZZ_CHECK(gt__json_utf8_valid(j->strs + nd->str, nd->len), "decoded string not UTF-8");
        break;
    case GT__J_ARR:
    case GT__J_OBJ: {
        FUZZ_CHECK(w->s[nd->pos] == (nd->type == GT__J_OBJ ? '{' : '['), "container at '%c'",
                   w->s[nd->pos]);
        int32_t items = 0;
        for (int32_t k = nd->child; k >= 0; k = j->nodes[k].next) {
            FUZZ_CHECK(k > i && k < j->n, "child %d of node %d", k, i);
            if (nd->type == GT__J_OBJ && items % 2 == 0)
                FUZZ_CHECK(j->nodes[k].type == GT__J_STR, "an object key that is not a string");
            check_node(w, k, depth + 1);
            items++;
        }
        FUZZ_CHECK(items == (nd->type == GT__J_OBJ ? 2 * nd->count : nd->count),
                   "node %d: count %d but %d children", i, nd->count, items);
        break;
    }
    default:
        FUZZ_CHECK(0, "node type %d", nd->type);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = fuzz_dup(data, size);
    gt__json j;
    gt_error_clear();
    bool ok = gt__json_parse(&j, s, size);
    if (ok) {
        FUZZ_CHECK(j.n >= 1 && j.nodes, "success without nodes");
        FUZZ_CHECK(j.err[0] == 0, "success with an error message");
        walk w = {&j, s, size, 0};
        check_node(&w, 0, 1);
        FUZZ_CHECK(w.visited == j.n, "%d nodes, %d reachable", j.n, w.visited);
        FUZZ_CHECK(j.nodes[0].next < 0, "the root has a sibling");
    } else {
        FUZZ_CHECK(j.err[0] != 0, "failure without a message");
        FUZZ_CHECK(j.err_pos <= size, "error position %zu past the end %zu", j.err_pos, size);
        FUZZ_CHECK(gt_ok(), "a syntax error set the library error: %s", gt_error());
    }
    /* A whole valid document parses the same when embedded in whitespace. */
    if (ok && size < 4096) {
        char *padded = malloc(size + 2);
        FUZZ_CHECK(padded != NULL, "malloc");
        padded[0] = '\n';
        memcpy(padded + 1, s, size);
        padded[size + 1] = ' ';
        gt__json j2;
        FUZZ_CHECK(gt__json_parse(&j2, padded, size + 2), "padding broke a valid document: %s",
                   j2.err);
        FUZZ_CHECK(j2.n == j.n && j2.slen == j.slen, "padding changed the tree");
        gt__json_free(&j2);
        free(padded);
    }
    gt__json_free(&j);
    FUZZ_CHECK(!j.nodes && !j.strs, "gt__json_free left pointers");
    free(s);
    return 0;
}
