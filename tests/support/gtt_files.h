/* Test support for tests that write files: a private temporary folder and whole-file I/O. */
#ifndef GTT_FILES_H
#define GTT_FILES_H

#include <stdbool.h>
#include <stddef.h>

/* Makes a fresh folder /tmp/<prefix>XXXXXX for this test; false (with a message) if it cannot. */
bool gtt_tmpdir_begin(const char *prefix);
/* The folder made by gtt_tmpdir_begin. */
const char *gtt_tmpdir(void);
/* <folder>/<name>; the text stays valid for the next three calls. */
const char *gtt_tmp_path(const char *name);
/* Removes the folder and everything in it. */
void gtt_tmpdir_end(void);
/* Writes n bytes to path (a failure counts as a failed check). */
void gtt_write_bytes(const char *path, const void *p, size_t n);
/* The whole file (malloc'd, free it), its size in *n; NULL when it cannot be read. */
unsigned char *gtt_read_bytes(const char *path, size_t *n);

#endif
