#include "gtt_files.h"

#include "gtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[96];

bool gtt_tmpdir_begin(const char *prefix) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%sXXXXXX", prefix);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return false;
    }
    return true;
}

const char *gtt_tmpdir(void) { return tmpdir; }

const char *gtt_tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

void gtt_tmpdir_end(void) {
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

void gtt_write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    GTT_CHECK(f != NULL, "cannot create %s", path);
    if (!f) return;
    if (n) fwrite(p, 1, n, f);
    fclose(f);
}

unsigned char *gtt_read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)(len > 0 ? len : 0) + 1);
    if (p) *n = fread(p, 1, (size_t)(len > 0 ? len : 0), f);
    fclose(f);
    return p;
}
