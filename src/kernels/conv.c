/* 2-D convolution as im2col + GEMM (see conv.h for the determinism argument).
 *
 * Layout: a row of the column matrix is one output pixel, its K = KH*KW*(C/groups) entries
 * ordered (kh, kw, c) — the same order as the filter's [KH, KW, C/G, F] rows, so the filter is
 * the GEMM's B operand as it is stored, a group being a column slice of it (ldb = F).
 *   forward:          y[rows, Fg]   = col[rows, K] . w_g[K, Fg]
 *   backprop input:   dcol[rows, K] = dy[rows, Fg] . w_g^T, then col2im (scatter-add)
 *   backprop filter:  dw_g[K, Fg]  += col^T . dy[rows, Fg]
 * A 1x1 kernel at stride 1 without padding needs no im2col at all: col is x itself. */
#include "kernels/conv.h"

#include "core/internal.h"
#include "kernels/gemm.h"

#include <math.h>

/* Elements of one chunk's column buffer: 256 KiB of f32 keeps a chunk's column rows, its
 * output rows and the packed filter in L2 while the GEMM runs. */
#define CONV_CHUNK_ELEMS ((int64_t)1 << 16)
/* The filter gradient keeps at most this many parts (and this many partial-sum elements),
 * each summing a contiguous run of chunks; the parts are added in order at the end. */
#define CONV_MAX_PARTS   16
#define CONV_PART_BUDGET ((int64_t)1 << 22)

bool gt__conv_out_dim(int64_t in, int64_t k, int64_t stride, int64_t dil, bool same, int64_t *out,
                      int64_t *pad_before) {
    int64_t eff = (k - 1) * dil + 1;
    if (same) {
        int64_t o = (in + stride - 1) / stride;
        int64_t total = (o - 1) * stride + eff - in;
        if (total < 0)
            total = 0;
        *out = o;
        *pad_before = total / 2;
        return true;
    }
    *pad_before = 0;
    if (in - eff < 0) {
        *out = 0;
        return false;
    }
    *out = (in - eff) / stride + 1; /* = ceil((in - eff + 1) / stride) */
    return true;
}

static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* Threads for `work` independent units. float32 products that go to OpenBLAS stay on one
 * thread, as in matmul: the library is called serially (see gemm.c), never concurrently. */
static int team_size(gt_dtype dt, int64_t work) {
    int64_t t = gt__threads();
    if (dt == GT_F32 && strcmp(gt__gemm_backend(), "blas") == 0)
        t = 1;
    return (int)clamp64(work, 1, t < 1 ? 1 : t);
}

static void gemm(gt_dtype dt, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, bool accumulate, void *c, int64_t ldc) {
    if (dt == GT_F32)
        gt__gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
    else
        gt__gemm_f64(ta, tb, m, n, k, 1.0, a, lda, b, ldb, accumulate ? 1.0 : 0.0, c, ldc);
}

/* The output columns ow in [*lo, *hi) whose input column ow * sw + off lies inside [0, w). */
static void valid_cols(int64_t off, int64_t sw, int64_t w, int64_t ow0, int64_t ow1, int64_t *lo,
                       int64_t *hi) {
    int64_t a = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t b = w - 1 - off < 0 ? 0 : (w - 1 - off) / sw + 1;
    if (a < ow0)
        a = ow0;
    if (b > ow1)
        b = ow1;
    if (b < a)
        b = a;
    *lo = a;
    *hi = b;
}

/* The column rows [r0, r0 + nr) of group gi: copies (im2col) or scatter-adds (col2im). Rows
 * are taken one output-row segment (fixed n, oh) at a time and, within it, tap by tap
 * (kh, kw), so the innermost loop runs along ow with a fixed stride: a tight loop even for
 * one channel. col2im's additions into an element come in a fixed order (segments, then
 * taps), whatever the threads. */
#define DEFINE_COLS(T, SUF)                                                                        \
    static void im2col_##SUF(const gt__conv_geom *g, int64_t gi, int64_t r0, int64_t nr,           \
                             const T *x, T *col) {                                                 \
        const int64_t cg = g->c / g->groups, opix = g->oh * g->ow, K = g->kh * g->kw * cg;         \
        for (int64_t r = r0; r < r0 + nr;) {                                                       \
            const int64_t n = r / opix, oh = r % opix / g->ow, ow0 = r % g->ow;                    \
            const int64_t ow1 = ow0 + (r0 + nr - r) < g->ow ? ow0 + (r0 + nr - r) : g->ow;         \
            const T *xn = x + n * g->h * g->w * g->c + gi * cg;                                    \
            T *seg = col + (r - r0) * K;                                                           \
            for (int64_t kh = 0; kh < g->kh; kh++) {                                               \
                const int64_t ih = oh * g->sh - g->pt + kh * g->dh;                                \
                for (int64_t kw = 0; kw < g->kw; kw++) {                                           \
                    T *dst = seg + (kh * g->kw + kw) * cg; /* at column ow0 */                     \
                    const int64_t off = kw * g->dw - g->pl;                                        \
                    int64_t lo = ow0, hi = ow0;                                                    \
                    if (ih >= 0 && ih < g->h)                                                      \
                        valid_cols(off, g->sw, g->w, ow0, ow1, &lo, &hi);                          \
                    for (int64_t ow = ow0; ow < lo; ow++)                                          \
                        for (int64_t c = 0; c < cg; c++)                                           \
                            dst[(ow - ow0) * K + c] = 0;                                           \
                    if (hi > lo) {                                                                 \
                        const T *src = xn + (ih * g->w + off + lo * g->sw) * g->c;                 \
                        T *d = dst + (lo - ow0) * K;                                               \
                        const int64_t step = g->sw * g->c;                                         \
                        if (cg == 1)                                                               \
                            for (int64_t i = 0; i < hi - lo; i++)                                  \
                                d[i * K] = src[i * step];                                          \
                        else                                                                       \
                            for (int64_t i = 0; i < hi - lo; i++)                                  \
                                memcpy(d + i * K, src + i * step, sizeof(T) * (size_t)cg);         \
                    }                                                                              \
                    for (int64_t ow = hi; ow < ow1; ow++)                                          \
                        for (int64_t c = 0; c < cg; c++)                                           \
                            dst[(ow - ow0) * K + c] = 0;                                           \
                }                                                                                  \
            }                                                                                      \
            r += ow1 - ow0;                                                                        \
        }                                                                                          \
    }                                                                                              \
    static void col2im_##SUF(const gt__conv_geom *g, int64_t gi, int64_t r0, int64_t nr,           \
                             const T *col, T *dx) {                                                \
        const int64_t cg = g->c / g->groups, opix = g->oh * g->ow, K = g->kh * g->kw * cg;         \
        for (int64_t r = r0; r < r0 + nr;) {                                                       \
            const int64_t n = r / opix, oh = r % opix / g->ow, ow0 = r % g->ow;                    \
            const int64_t ow1 = ow0 + (r0 + nr - r) < g->ow ? ow0 + (r0 + nr - r) : g->ow;         \
            T *xn = dx + n * g->h * g->w * g->c + gi * cg;                                         \
            const T *seg = col + (r - r0) * K;                                                     \
            for (int64_t kh = 0; kh < g->kh; kh++) {                                               \
                const int64_t ih = oh * g->sh - g->pt + kh * g->dh;                                \
                if (ih < 0 || ih >= g->h)                                                          \
                    continue;                                                                      \
                for (int64_t kw = 0; kw < g->kw; kw++) {                                           \
                    const int64_t off = kw * g->dw - g->pl;                                        \
                    int64_t lo, hi;                                                                \
                    valid_cols(off, g->sw, g->w, ow0, ow1, &lo, &hi);                              \
                    if (hi <= lo)                                                                  \
                        continue;                                                                  \
                    const T *s = seg + (kh * g->kw + kw) * cg + (lo - ow0) * K;                    \
                    T *dst = xn + (ih * g->w + off + lo * g->sw) * g->c;                           \
                    const int64_t step = g->sw * g->c;                                             \
                    if (cg == 1)                                                                   \
                        for (int64_t i = 0; i < hi - lo; i++)                                      \
                            dst[i * step] += s[i * K];                                             \
                    else                                                                           \
                        for (int64_t i = 0; i < hi - lo; i++) {                                    \
                            T *d = dst + i * step;                                                 \
                            const T *sc = s + i * K;                                               \
                            GT__SIMD for (int64_t c = 0; c < cg; c++) d[c] += sc[c];                   \
                        }                                                                          \
                }                                                                                  \
            }                                                                                      \
            r += ow1 - ow0;                                                                        \
        }                                                                                          \
    }

DEFINE_COLS(float, f32)
DEFINE_COLS(double, f64)

static void im2col(gt_dtype dt, const gt__conv_geom *g, int64_t gi, int64_t r0, int64_t nr,
                   const void *x, void *col) {
    if (dt == GT_F32)
        im2col_f32(g, gi, r0, nr, x, col);
    else
        im2col_f64(g, gi, r0, nr, x, col);
}

static void col2im(gt_dtype dt, const gt__conv_geom *g, int64_t gi, int64_t r0, int64_t nr,
                   const void *col, void *dx) {
    if (dt == GT_F32)
        col2im_f32(g, gi, r0, nr, col, dx);
    else
        col2im_f64(g, gi, r0, nr, col, dx);
}

/* A 1x1 kernel at stride 1 with no padding (any dilation: there is one tap): the column
 * matrix of group 0 .. G-1 is x's channel slice itself. */
static bool pointwise(const gt__conv_geom *g) {
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 &&
           g->oh == g->h && g->ow == g->w;
}

static void fill_nan(gt_dtype dt, void *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (dt == GT_F32)
            ((float *)p)[i] = (float)NAN;
        else
            ((double *)p)[i] = NAN;
    }
}

#define AT(p, off)  ((char *)(p) + (size_t)(off)*es)
#define CAT(p, off) ((const char *)(p) + (size_t)(off)*es)

/* The fused epilogue on nr rows of F channels: y = y + b, then relu (NaN passes, as in the
 * relu op: x > 0 || x != x ? x : 0). One pass with the sum in a register: a second loop would
 * reload vectors just stored, which Zen 1 cannot forward from its split 256-bit stores. */
#define RELU(v) ((v) > 0 || (v) != (v) ? (v) : 0)
#define DEFINE_EPILOGUE(T, SUF)                                                                    \
    static void epilogue_##SUF(T *y, int64_t nr, int64_t F, const T *b, bool relu) {               \
        for (int64_t r = 0; r < nr; r++, y += F) {                                                 \
            if (b && relu) {                                                                       \
                GT__SIMD for (int64_t j = 0; j < F; j++) {                                             \
                    const T v = y[j] + b[j];                                                       \
                    y[j] = RELU(v);                                                                \
                }                                                                                  \
            } else if (b) {                                                                        \
                GT__SIMD for (int64_t j = 0; j < F; j++) y[j] = y[j] + b[j];                           \
            } else {                                                                               \
                GT__SIMD for (int64_t j = 0; j < F; j++) y[j] = RELU(y[j]);                            \
            }                                                                                      \
        }                                                                                          \
    }
DEFINE_EPILOGUE(float, f32)
DEFINE_EPILOGUE(double, f64)

static void epilogue(gt_dtype dt, void *y, int64_t nr, int64_t F, const void *b, bool relu) {
    if (!b && !relu)
        return;
    if (dt == GT_F32)
        epilogue_f32(y, nr, F, b, relu);
    else
        epilogue_f64(y, nr, F, b, relu);
}

/* gt__bias_act_rows: blocks of rows across threads; each element's arithmetic is the same. */
typedef struct bias_act_job {
    gt_dtype dt;
    void *y;
    int64_t rows, f, per;
    const void *b;
    bool relu;
} bias_act_job;

static void bias_act_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const bias_act_job *j = ctx;
    const size_t es = gt_dtype_size(j->dt);
    const int64_t r0 = t * j->per, nr = min64(j->per, j->rows - r0);
    epilogue(j->dt, (char *)j->y + (size_t)(r0 * j->f) * es, nr, j->f, j->b, j->relu);
}

void gt__bias_act_rows(gt_dtype dt, void *y, int64_t rows, int64_t f, const void *bias, bool relu) {
    if (rows <= 0 || f <= 0 || (!bias && !relu))
        return;
    if (rows * f <= GT__PAR_MIN) {
        epilogue(dt, y, rows, f, bias, relu);
        return;
    }
    const int64_t per = clamp64(GT__PAR_MIN / f, 1, rows);
    bias_act_job j = {dt, y, rows, f, per, bias, relu};
    gt__par_for((rows + per - 1) / per, 0, bias_act_task, &j);
}

/* One convolution pass split into tasks; tid picks the thread's column buffer in ws. */
typedef struct conv_job {
    gt_dtype dt;
    const gt__conv_geom *g;
    const void *a, *b; /* fwd: x, w; bwd_input: dy, w; bwd_filter: x, dy */
    const void *bias;
    bool relu;
    void *out;
    void *ws;
    int64_t chunk, rows, per_task; /* rows: fwd/bwd_filter's; per_task: images (bwd_input) */
    bool direct;                   /* fwd/bwd_filter: the direct path, no column buffer */
} conv_job;

/* Forward chunk ch: im2col, GEMM and the epilogue. */
static void fwd_task(void *ctx, int64_t ch, int tid) {
    const conv_job *j = ctx;
    const gt__conv_geom *g = j->g;
    const gt_dtype dt = j->dt;
    const size_t es = gt_dtype_size(dt);
    const int64_t F = g->f, G = g->groups, cg = g->c / G, fg = F / G, K = g->kh * g->kw * cg;
    const int64_t r0 = ch * j->chunk, nr = min64(j->chunk, j->rows - r0);
    if (j->direct) {
        gt__conv_direct_fwd(g, r0, nr, j->a, j->b, j->bias, j->relu, (float *)AT(j->out, r0 * F));
        return;
    }
    void *col = AT(j->ws, tid * j->chunk * K);
    for (int64_t gi = 0; gi < G; gi++) {
        im2col(dt, g, gi, r0, nr, j->a, col);
        gemm(dt, false, false, nr, fg, K, col, K, CAT(j->b, gi * fg), F, false,
             AT(j->out, r0 * F + gi * fg), F);
    }
    epilogue(dt, AT(j->out, r0 * F), nr, F, j->bias, j->relu);
}

bool gt__conv2d_fwd(gt_dtype dt, const gt__conv_geom *g, const void *x, const void *w,
                    const void *bias, bool relu, void *y) {
    const size_t es = gt_dtype_size(dt);
    const int64_t rows = g->n * g->oh * g->ow, F = g->f, G = g->groups;
    const int64_t cg = g->c / G, fg = F / G, K = g->kh * g->kw * cg;
    if (rows == 0 || F == 0)
        return true;
    if (K == 0) {
        memset(y, 0, (size_t)(rows * F) * es);
        gt__bias_act_rows(dt, y, rows, F, bias, relu);
        return true;
    }
    if (pointwise(g)) {
        for (int64_t gi = 0; gi < G; gi++)
            gemm(dt, false, false, rows, fg, cg, CAT(x, gi * cg), g->c, CAT(w, gi * fg), F, false,
                 AT(y, gi * fg), F);
        gt__bias_act_rows(dt, y, rows, F, bias, relu);
        return true;
    }
    const int64_t chunk = clamp64(CONV_CHUNK_ELEMS / K, 1, rows);
    const int64_t nch = (rows + chunk - 1) / chunk;
    const int nt = team_size(dt, nch);
    const bool direct = gt__conv_direct_ok(dt, g);
    gt__storage *ws = direct ? NULL : gt__storage_new((size_t)(nt * chunk * K) * es);
    if (!direct && !ws) {
        fill_nan(dt, y, rows * F);
        return false;
    }
    conv_job j = {dt, g, x, w, bias, relu, y, ws ? ws->data : NULL, chunk, rows, 0, direct};
    gt__par_for(nch, nt, fwd_task, &j);
    if (ws)
        gt__storage_release(ws);
    return true;
}

/* Input-gradient task t: images [t*per_task, ...), zeroed, then GEMM + col2im per chunk. */
static void bwd_input_task(void *ctx, int64_t t, int tid) {
    const conv_job *j = ctx;
    const gt__conv_geom *g = j->g;
    const gt_dtype dt = j->dt;
    const size_t es = gt_dtype_size(dt);
    const int64_t opix = g->oh * g->ow, F = g->f, G = g->groups;
    const int64_t cg = g->c / G, fg = F / G, K = g->kh * g->kw * cg, img = g->h * g->w * g->c;
    void *col = AT(j->ws, tid * j->chunk * K);
    const int64_t n0 = t * j->per_task, n1 = min64(g->n, n0 + j->per_task);
    memset(AT(j->out, n0 * img), 0, (size_t)((n1 - n0) * img) * es);
    for (int64_t r0 = n0 * opix; r0 < n1 * opix; r0 += j->chunk) {
        const int64_t nr = min64(j->chunk, n1 * opix - r0);
        for (int64_t gi = 0; gi < G; gi++) {
            gemm(dt, false, true, nr, K, fg, CAT(j->a, r0 * F + gi * fg), F, CAT(j->b, gi * fg), F,
                 false, col, K);
            col2im(dt, g, gi, r0, nr, col, j->out);
        }
    }
}

bool gt__conv2d_bwd_input(gt_dtype dt, const gt__conv_geom *g, const void *dy, const void *w,
                          void *dx) {
    const size_t es = gt_dtype_size(dt);
    const int64_t opix = g->oh * g->ow, F = g->f, G = g->groups;
    const int64_t cg = g->c / G, fg = F / G, K = g->kh * g->kw * cg;
    const int64_t xsize = g->n * g->h * g->w * g->c;
    if (xsize == 0)
        return true;
    if (opix == 0 || F == 0 || K == 0) {
        memset(dx, 0, (size_t)xsize * es);
        return true;
    }
    if (pointwise(g)) {
        for (int64_t gi = 0; gi < G; gi++)
            gemm(dt, false, true, g->n * opix, cg, fg, CAT(dy, gi * fg), F, CAT(w, gi * fg), F,
                 false, AT(dx, gi * cg), g->c);
        return true;
    }
    /* Tasks own whole images, so no two threads add into the same element. */
    const int64_t per_task = clamp64(CONV_CHUNK_ELEMS / (opix * K), 1, g->n);
    const int64_t ntask = (g->n + per_task - 1) / per_task;
    const int64_t chunk = clamp64(CONV_CHUNK_ELEMS / K, 1, per_task * opix);
    const int nt = team_size(dt, ntask);
    gt__storage *ws = gt__storage_new((size_t)(nt * chunk * K) * es);
    if (!ws) {
        fill_nan(dt, dx, xsize);
        return false;
    }
    conv_job j = {dt, g, dy, w, NULL, false, dx, ws->data, chunk, 0, per_task, false};
    gt__par_for(ntask, nt, bwd_input_task, &j);
    gt__storage_release(ws);
    return true;
}

/* The filter gradient's parts: part s sums chunks [s*nch/nparts, (s+1)*nch/nparts) in order
 * into its own buffer (base.out + s*wsize, or dw itself when there is one part). */
typedef struct filter_job {
    conv_job base;
    int64_t nch, nparts, wsize;
    bool pw;
} filter_job;

static void bwd_filter_task(void *ctx, int64_t s, int tid) {
    const filter_job *fj = ctx;
    const conv_job *j = &fj->base;
    const gt__conv_geom *g = j->g;
    const gt_dtype dt = j->dt;
    const size_t es = gt_dtype_size(dt);
    const int64_t F = g->f, G = g->groups, cg = g->c / G, fg = F / G, K = g->kh * g->kw * cg;
    void *col = AT(j->ws, tid * j->chunk * K);
    void *part = AT(j->out, s * fj->wsize);
    const int64_t c0 = s * fj->nch / fj->nparts, c1 = (s + 1) * fj->nch / fj->nparts;
    for (int64_t ch = c0; ch < c1; ch++) {
        const int64_t r0 = ch * j->chunk, nr = min64(j->chunk, j->rows - r0);
        if (j->direct) {
            gt__conv_direct_dw(g, r0, nr, j->a, j->b, ch > c0, part);
            continue;
        }
        for (int64_t gi = 0; gi < G; gi++) {
            const void *a = CAT(j->a, r0 * g->c + gi * cg);
            int64_t lda = g->c;
            if (!fj->pw) {
                im2col(dt, g, gi, r0, nr, j->a, col);
                a = col;
                lda = K;
            }
            gemm(dt, true, false, K, fg, nr, a, lda, CAT(j->b, r0 * F + gi * fg), F, ch > c0,
                 AT(part, gi * fg), F);
        }
    }
}

/* dw[i] = parts[0][i] + parts[1][i] + ... in part order, for i in [i0, i1). */
#define DEFINE_SUM_PARTS(T, SUF)                                                                   \
    static void sum_parts_##SUF(T *o, const T *p, int64_t wsize, int64_t nparts, int64_t i0,       \
                                int64_t i1) {                                                      \
        for (int64_t i = i0; i < i1; i++) {                                                        \
            T acc = p[i];                                                                          \
            for (int64_t s = 1; s < nparts; s++)                                                   \
                acc += p[s * wsize + i];                                                           \
            o[i] = acc;                                                                            \
        }                                                                                          \
    }
DEFINE_SUM_PARTS(float, f32)
DEFINE_SUM_PARTS(double, f64)

static void sum_parts(const filter_job *fj, void *dw, int64_t i0, int64_t i1) {
    if (fj->base.dt == GT_F32)
        sum_parts_f32(dw, fj->base.out, fj->wsize, fj->nparts, i0, i1);
    else
        sum_parts_f64(dw, fj->base.out, fj->wsize, fj->nparts, i0, i1);
}

#define SUM_BLOCK 16384
typedef struct sum_job {
    const filter_job *fj;
    void *dw;
} sum_job;

static void sum_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const sum_job *sj = ctx;
    const int64_t i0 = t * SUM_BLOCK, i1 = min64(sj->fj->wsize, i0 + SUM_BLOCK);
    sum_parts(sj->fj, sj->dw, i0, i1);
}

bool gt__conv2d_bwd_filter(gt_dtype dt, const gt__conv_geom *g, const void *x, const void *dy,
                           void *dw) {
    const size_t es = gt_dtype_size(dt);
    const int64_t rows = g->n * g->oh * g->ow, F = g->f, G = g->groups;
    const int64_t K = g->kh * g->kw * (g->c / G), wsize = K * F;
    if (wsize == 0)
        return true;
    if (rows == 0) {
        memset(dw, 0, (size_t)wsize * es);
        return true;
    }
    const bool pw = pointwise(g), direct = gt__conv_direct_ok(dt, g);
    const int64_t chunk = clamp64(CONV_CHUNK_ELEMS / K, 1, rows);
    const int64_t nch = (rows + chunk - 1) / chunk;
    /* Parts depend on the shapes only: each sums its chunks in order, then parts add in order. */
    const int64_t nparts = clamp64(min64(nch, CONV_PART_BUDGET / wsize), 1, CONV_MAX_PARTS);
    const int nt = team_size(dt, nparts);
    const int64_t col_elems = pw || direct ? 0 : nt * chunk * K;
    const int64_t part_elems = nparts > 1 ? nparts * wsize : 0;
    gt__storage *ws = gt__storage_new((size_t)(col_elems + part_elems) * es);
    if (!ws) {
        fill_nan(dt, dw, wsize);
        return false;
    }
    void *parts = AT(ws->data, col_elems);
    filter_job j = {
        {dt, g, x, dy, NULL, false, nparts > 1 ? parts : dw, ws->data, chunk, rows, 0, direct},
        nch,
        nparts,
        wsize,
        pw};
    gt__par_for(nparts, nt, bwd_filter_task, &j);
    if (nparts > 1) {
        if (wsize <= GT__PAR_MIN)
            sum_parts(&j, dw, 0, wsize);
        else
            gt__par_for((wsize + SUM_BLOCK - 1) / SUM_BLOCK, 0, sum_task,
                        &(sum_job){&j, dw});
    }
    gt__storage_release(ws);
    return true;
}
