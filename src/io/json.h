/* A small strict JSON parser (RFC 8259) for safetensors headers. Input is untrusted: every
 * read is bounds-checked, nesting is limited, strings must be valid UTF-8 with valid escapes
 * (\uXXXX surrogate pairs combined, lone surrogates rejected), numbers follow the JSON
 * grammar exactly. The result is a flat node array linked by indices (two allocations). */
#ifndef GT_IO_JSON_H
#define GT_IO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { GT__J_NULL, GT__J_FALSE, GT__J_TRUE, GT__J_NUM, GT__J_STR, GT__J_ARR, GT__J_OBJ };

#define GT__JSON_MAX_DEPTH 64

typedef struct gt__jnode {
    uint8_t type;
    bool is_uint;  /* a number written as a plain non-negative integer that fits in uint64 */
    int32_t next;  /* next sibling or -1 */
    int32_t child; /* first child or -1; an object's children alternate key, value */
    int32_t count; /* array items or object members */
    uint64_t u;    /* the integer when is_uint */
    double num;    /* any number's value */
    size_t str;    /* string: offset of its decoded, NUL-terminated bytes in strs */
    size_t len;    /* string: decoded length (may contain NUL from \u0000) */
    size_t pos;    /* byte offset in the input */
} gt__jnode;

typedef struct gt__json {
    gt__jnode *nodes;
    int32_t n, cap;
    char *strs;
    size_t slen, scap;
    char err[200]; /* set when parsing fails */
    size_t err_pos;
} gt__json;

/* Parses exactly one JSON value in s[0..n), surrounded by optional whitespace. The root is
 * node 0. On failure returns false with err/err_pos set (an allocation failure also sets the
 * library error). */
bool gt__json_parse(gt__json *j, const char *s, size_t n);
void gt__json_free(gt__json *j);
/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
bool gt__json_utf8_valid(const char *s, size_t n);
static inline const char *gt__json_str(const gt__json *j, int32_t i) {
    return j->strs + j->nodes[i].str;
}

#endif
