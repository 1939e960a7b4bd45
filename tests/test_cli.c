/* The gradtape command, run as a user runs it (the path comes from CMake as GT_TOOL_PATH):
 * --help for each command, bad flags and missing files (exit status 2 and a message that says
 * what to do), and a tiny train -> evaluate -> predict round whose train and evaluate end with
 * the same `test_loss=<float> test_accuracy=<float>` line. Needs the Fashion-MNIST files
 * (fails with the install command when they are missing). */
#include "gtt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GT_TOOL_PATH
#error "GT_TOOL_PATH must name the built gradtape tool (CMakeLists.txt sets it)"
#endif

static char tmpdir[64];
static char out[1 << 16], err[1 << 16];

static void slurp(const char *path, char *buf, size_t n) {
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k] = 0;
    fclose(f);
}

/* Runs `gradtape <args>`; returns the exit status, fills out/err. */
static int run(const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && GT_PROGBAR_TTY=0 '%s' %s >out.txt 2>err.txt", tmpdir,
             GT_TOOL_PATH, args);
    int st = system(cmd);
    char p[256];
    snprintf(p, sizeof p, "%s/out.txt", tmpdir);
    slurp(p, out, sizeof out);
    snprintf(p, sizeof p, "%s/err.txt", tmpdir);
    slurp(p, err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *last_line(const char *s) {
    static char line[512];
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n')
        n--;
    size_t b = n;
    while (b && s[b - 1] != '\n')
        b--;
    snprintf(line, sizeof line, "%.*s", (int)(n - b), s + b);
    return line;
}

static bool result_line(const char *line, double *loss, double *acc) {
    int used = 0;
    return sscanf(line, "test_loss=%lf test_accuracy=%lf%n", loss, acc, &used) == 2 &&
           line[used] == 0 && *acc >= 0 && *acc <= 1;
}

static void test_usage(void) {
    GTT_CHECK(run("--help") == 0 && strstr(out, "usage: gradtape <command>"), "gradtape --help");
    const char *cmds[] = {"train", "evaluate", "predict"};
    for (int i = 0; i < 3; i++) {
        char a[64], want[64];
        snprintf(a, sizeof a, "%s --help", cmds[i]);
        snprintf(want, sizeof want, "usage: gradtape %s", cmds[i]);
        GTT_CHECK(run(a) == 0 && strstr(out, want), "%s: %s", a, out);
    }
    GTT_CHECK(run("train --bogus") == 2 && strstr(err, "unknown option '--bogus'") &&
                  strstr(err, "gradtape train --help"),
              "bad flag: exit 2 and what to do: %s", err);
    GTT_CHECK(run("train --epochs zero") == 2 && strstr(err, "invalid value 'zero' for --epochs"),
              "bad value: %s", err);
    GTT_CHECK(run("train --epochs") == 2 && strstr(err, "needs a value"), "missing value: %s", err);
    GTT_CHECK(run("train --optimizer adadelta") == 2 && strstr(err, "choose adam") &&
                  strstr(err, "adamax, nadam or lion"),
              "bad optimizer: %s", err);
    GTT_CHECK(run("train --model mlp:12,x --limit 10") == 2 && strstr(err, "mlp:256,128"),
              "bad model: %s", err);
    GTT_CHECK(run("frobnicate") == 2 && strstr(err, "unknown command"), "unknown command");
    GTT_CHECK(run("") == 2, "no command");
    GTT_CHECK(run("evaluate") == 2 && strstr(err, "--checkpoint is required"),
              "evaluate without a checkpoint: %s", err);
    GTT_CHECK(run("evaluate --checkpoint nope.safetensors") == 2 &&
                  strstr(err, "cannot read checkpoint 'nope.safetensors'") &&
                  strstr(err, "gradtape train --checkpoint"),
              "missing checkpoint: %s", err);
    GTT_CHECK(run("train --data /nonexistent/folder --epochs 1") == 2 &&
                  strstr(err, "dataset-fashion-mnist") && strstr(err, "--data DIR"),
              "missing data: %s", err);
    GTT_CHECK(run("predict --checkpoint x --epochs 3") == 2 && strstr(err, "unknown option"),
              "train-only flag on predict: %s", err);
}

static void test_round(void) {
    int rc = run("train --epochs 2 --limit 3000 --test-limit 500 --threads 1 --batch-size 64 "
                 "--validation-split 0.1 --checkpoint ck.safetensors --history h.csv "
                 "--chart h.svg --profile prof.txt");
    GTT_CHECK(rc == 0, "tiny train run: exit %d\n%s%s", rc, out, err);
    static char prof[1 << 14];
    char path[256];
    snprintf(path, sizeof path, "%s/prof.txt", tmpdir);
    slurp(path, prof, sizeof prof);
    GTT_CHECK(strstr(prof, "\nmatmul ") && strstr(prof, " gradient ") &&
                  strstr(prof, "\napply_updates ") && strstr(prof, "\nwall time profiled "),
              "--profile writes the op table:\n%s", prof);
    double l1 = 0, a1 = 0, l2 = 0, a2 = 0;
    char train_line[512];
    snprintf(train_line, sizeof train_line, "%s", last_line(out));
    GTT_CHECK(result_line(train_line, &l1, &a1), "train ends with the result line: '%s'",
              train_line);
    GTT_CHECK(strstr(out, "Epoch 2/2\n") && strstr(out, " - val_loss: "),
              "one plain line per epoch off a terminal:\n%s", out);
    GTT_CHECK(a1 > 0.6, "a tiny run still learns: accuracy %g", a1);
    rc = run("evaluate --checkpoint ck.safetensors --test-limit 500 --batch-size 64");
    GTT_CHECK(rc == 0, "evaluate: exit %d %s", rc, err);
    GTT_CHECK(result_line(last_line(out), &l2, &a2), "evaluate ends with the result line: '%s'",
              last_line(out));
    GTT_CHECK(!strcmp(last_line(out), train_line), "evaluate of the checkpoint = train's result: "
                                                   "'%s' vs '%s'",
              last_line(out), train_line);
    rc = run("predict --checkpoint ck.safetensors --count 5");
    GTT_CHECK(rc == 0 && strstr(out, "image") && strstr(last_line(out), "accuracy="),
              "predict: %s %s", out, err);
    int rows = 0;
    for (const char *p = out; (p = strstr(p, "\n")) != NULL; p++)
        rows++;
    GTT_CHECK(rows == 7, "predict prints a header, 5 rows and the accuracy (%d lines)", rows);
    /* the optimizers Keras users reach for beyond Adam train too */
    const char *more[] = {"adamax", "nadam", "lion"};
    for (int i = 0; i < 3; i++) {
        char cmd[160], want[64];
        snprintf(cmd, sizeof cmd,
                 "train --optimizer %s --epochs 1 --limit 1000 --test-limit 200 --threads 1",
                 more[i]);
        snprintf(want, sizeof want, "optimizer %s (learning rate 0.001)", more[i]);
        rc = run(cmd);
        GTT_CHECK(rc == 0 && strstr(out, want) && result_line(last_line(out), &l2, &a2),
                  "%s: exit %d\n%s%s", cmd, rc, out, err);
    }
    rc = run("evaluate --checkpoint ck.safetensors --model mlp:64");
    GTT_CHECK(rc == 2 && strstr(err, "cannot load") && strstr(err, "--model"),
              "wrong --model: %s", err);
    /* a damaged checkpoint */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd %s && head -c 1000 ck.safetensors > cut.safetensors", tmpdir);
    GTT_CHECK(system(cmd) == 0, "cut");
    rc = run("evaluate --checkpoint cut.safetensors");
    GTT_CHECK(rc == 2 && strstr(err, "cut.safetensors"), "truncated checkpoint: %d %s", rc, err);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gt_cli_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    if (access(GT_FASHION_MNIST_DIR, R_OK) != 0) {
        fprintf(stderr, "FAIL: %s is missing (install it: sudo scripts/install-deps.sh demo)\n",
                GT_FASHION_MNIST_DIR);
        return 1;
    }
    test_usage();
    test_round();
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -f %s/* && rmdir %s", tmpdir, tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "note: could not remove %s\n", tmpdir);
    return gtt_finish();
}
