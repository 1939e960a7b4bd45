/* SimpleRNN, LSTM and GRU:
 *  - outputs and the gradients w.r.t. the input and every weight against Keras 3 itself
 *    (tests/ref/gen_keras_recurrent.py -> tests/data/keras_recurrent_ref.txt; each case's
 *    configuration is read from that file): every layer, last output and sequences,
 *    go_backwards, GRU reset_after on and off, no bias, other activations, batch 1 and T 1;
 *  - go_backwards and return_sequences against their definitions, float64 layers;
 *  - the recurrence's cost: one input product for the sequence, one recurrent product a step;
 *  - initial weights (orthogonal recurrent kernels, LSTM's forget bias), variable names and
 *    paths, parameter counts and model.summary() against Keras;
 *  - gradient checks in float64 against finite differences, first and second order (through
 *    the input and through the weights);
 *  - error cases;
 *  - training: recurrent models learn small sequence tasks (fit and a tape loop); a checkpoint
 *    of a trained model, under Keras' variable paths, loads back into a new one.
 * GT_RECURRENT_STATS=1 prints the worst observed error of each Keras comparison. */
#include "gtt.h"
#include "gtt_files.h"
#include "layer_check.h"
#include "nn_ref.h"

#include <gradtape_io.h>
#include <gradtape_nn.h>

#include <stdlib.h>
#include <string.h>

#define REF_FILE GT_TEST_DATA_DIR "/keras_recurrent_ref.txt"

/* The activation codes of gen_keras_recurrent.py's `cfg` records. */
static gt_activation act_of(int code) {
    static const gt_activation acts[] = {GT_ACT_LINEAR /* the layer's default */,
                                         GT_ACT_RELU,
                                         GT_ACT_SIGMOID,
                                         GT_ACT_NONE,
                                         GT_ACT_TANH,
                                         GT_ACT_SOFTSIGN};
    return code >= 0 && code < (int)(sizeof acts / sizeof *acts) ? acts[code] : GT_ACT_COUNT;
}

typedef gt_layer *(*rnn_ctor)(const gt_rnn_desc *);
static const rnn_ctor ctors[3] = {gt_simple_rnn, gt_lstm, gt_gru};

/* ---- against Keras -------------------------------------------------------------------------- */

/* Tolerances (float32). Keras and gradtape run the same float32 operations per step but sum
 * the products in other orders (and LSTM adds its bias before the recurrent product, Keras
 * after), so each step's pre-activations differ by an ulp or two of sums of <= 8 products of
 * size ~1 (~1e-7). The state carries these differences through at most 5 steps with gains
 * below 1 (|tanh'|, |sigmoid'| <= 1, recurrent weights of norm ~1), adding up to ~1e-6 at
 * worst: outputs within 2e-6 absolute + 2e-6 relative. The gradients sum over every step and
 * (weights) every batch row, up to 15 such terms times w ~ N(0, 1): 1e-5 absolute + 1e-5
 * relative. Observed (GT_RECURRENT_STATS=1): <= 1.2e-7 on outputs, <= 7.2e-7 on gradients. */
static void keras_cases(void) {
    static const char *cases[] = {
        "simple.last",          "simple.seq_back_relu",  "simple.linear_nobias",
        "simple.b1t1",          "lstm.last",             "lstm.seq",
        "lstm.back_nobias",     "lstm.acts_seq_back",    "lstm.b1t1",
        "gru.last",             "gru.seq",               "gru.before_seq",
        "gru.before_back_relu", "gru.back_nobias",       "gru.before_nobias_acts",
        "gru.b1t1",
    };
    static const char *names[3] = {"kernel", "recurrent_kernel", "bias"};
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const char *key = cases[ci];
        char k[160];
        snprintf(k, sizeof k, "%s.cfg", key);
        int kind = (int)lcheck_cfg(k, 0);
        bool use_bias = lcheck_cfg(k, 4) != 0;
        gt_rnn_desc d = {
            .units = (int64_t)lcheck_cfg(k, 1),
            .activation = act_of((int)lcheck_cfg(k, 2)),
            .recurrent_activation = act_of((int)lcheck_cfg(k, 3)),
            .no_bias = !use_bias,
            .return_sequences = lcheck_cfg(k, 5) != 0,
            .go_backwards = lcheck_cfg(k, 6) != 0,
            .no_reset_after = kind == 2 && lcheck_cfg(k, 7) == 0,
        };
        gt_scope_begin();
        gt_layer *l = ctors[kind](&d);
        GTT_OK(l != NULL);
        int64_t xs[GT_MAX_RANK];
        snprintf(k, sizeof k, "%s.xshape", key);
        int xr = lcheck_ref_shape(k, xs);
        GTT_OK(gt_layer_build(l, xr, xs));
        gt_tensor *vars[3];
        int nv = gt_layer_variables(l, vars, 3);
        GTT_CHECK(nv == 2 + use_bias, "%s: %d variables", key, nv);
        for (int i = 0; i < nv && i < 3; i++) {
            GTT_CHECK(strcmp(gt_variable_name(vars[i]), names[i]) == 0, "%s: variable %d is %s",
                      key, i, gt_variable_name(vars[i]));
            snprintf(k, sizeof k, "%s.%s", key, names[i]);
            lcheck_set_var(vars[i], k);
        }
        snprintf(k, sizeof k, "%s.x", key);
        lcheck_forward_and_grads(key, l, nnref_tensor(k, GT_F32, xr, xs), false, 2e-6, 2e-6, 1e-5,
                                 1e-5);
        gt_layer_free(l);
        gt_scope_end();
    }
}

/* ---- definitions: go_backwards, return_sequences, dtypes, cost ------------------------------ */

/* x with its time axis reversed. */
static gt_tensor *reverse_time(const gt_tensor *x) {
    int64_t t = gt_tensor_dim(x, 1);
    gt_tensor *idx = gt_cast(gt_range((double)t - 1, -1, -1, GT_F64), GT_I64);
    return gt_gather(x, idx, 1);
}

/* Two layers of one kind, the same weights; the second with the options changed. */
static void same_weights(gt_layer *dst, const gt_layer *src) {
    gt_tensor *a[3], *b[3];
    int n = gt_layer_variables(src, a, 3);
    GTT_CHECK(gt_layer_variables(dst, b, 3) == n, "same variable count");
    for (int i = 0; i < n; i++)
        GTT_OK(gt_variable_assign(b[i], a[i]));
}

static void definitions(void) {
    for (int kind = 0; kind < 3; kind++) {
        gt_scope_begin();
        gt_set_seed(100 + (uint64_t)kind);
        gt_tensor *x = gtt_randn(GT_SHAPE(3, 5, 4), 1, 0, 21);
        gt_layer *fwd = ctors[kind](&(gt_rnn_desc){.units = 3});
        gt_layer *seq = ctors[kind](&(gt_rnn_desc){.units = 3, .return_sequences = true});
        gt_layer *back = ctors[kind](&(gt_rnn_desc){.units = 3, .go_backwards = true});
        gt_layer *backseq = ctors[kind](
            &(gt_rnn_desc){.units = 3, .go_backwards = true, .return_sequences = true});
        gt_tensor *y = gt_layer_call(fwd, x, false);
        GTT_CHECK(y && gt_tensor_dtype(y) == GT_F64 && gt_tensor_rank(y) == 2 &&
                      gt_tensor_dim(y, 0) == 3 && gt_tensor_dim(y, 1) == 3,
                  "kind %d: float64 [3, 3] output", kind);
        gt_tensor *k;
        gt_layer_variables(fwd, &k, 1);
        GTT_CHECK(gt_tensor_dtype(k) == GT_F64, "float64 weights from a float64 input");
        GTT_OK(gt_layer_call(seq, x, false) && gt_layer_call(back, x, false) &&
               gt_layer_call(backseq, x, false)); /* built in float64 */
        same_weights(seq, fwd);
        same_weights(back, fwd);
        same_weights(backseq, fwd);
        /* the sequence's last step is the last output; go_backwards reads the reversed input and
         * returns the outputs in processing order */
        gt_tensor *ys = gt_layer_call(seq, x, false);
        gt_tensor *last = gt_reshape(gt_slice(ys, (const int64_t[]){0, 4, 0},
                                              (const int64_t[]){-1, 1, -1}),
                                     GT_SHAPE(3, 3));
        GTT_CHECK(gt_tensor_equal(last, y), "kind %d: return_sequences ends with the output", kind);
        gt_tensor *xr = reverse_time(x);
        GTT_CHECK(gt_tensor_equal(gt_layer_call(back, x, false), gt_layer_call(fwd, xr, false)),
                  "kind %d: go_backwards reads the sequence from its end", kind);
        GTT_CHECK(gt_tensor_equal(gt_layer_call(backseq, x, false), gt_layer_call(seq, xr, false)),
                  "kind %d: go_backwards sequences in processing order", kind);
        /* a float32 input to a float64 layer is cast (Keras' autocasting) */
        gt_tensor *y32 = gt_layer_call(fwd, gt_cast(x, GT_F32), false);
        GTT_CHECK(y32 && gt_tensor_dtype(y32) == GT_F64, "autocast to the layer's dtype");
        gt_layer_free(fwd);
        gt_layer_free(seq);
        gt_layer_free(back);
        gt_layer_free(backseq);
        gt_scope_end();
    }
}

/* Calls of op `name` in the profiler's table ("name  phase  calls ..."): the forward row. */
static long op_calls(const char *table, const char *name) {
    size_t n = strlen(name);
    for (const char *p = table; (p = strstr(p, name)) != NULL; p += n) {
        bool start = p == table || p[-1] == '\n' || p[-1] == ' ';
        char phase[32];
        long calls;
        if (start && p[n] == ' ' && sscanf(p + n, "%31s %ld", phase, &calls) == 2 &&
            strcmp(phase, "forward") == 0)
            return calls;
    }
    return 0;
}

/* One product of the whole input with the kernel (fused with the input bias), then one
 * product with the recurrent kernel per step; GRU without reset_after needs two per step. */
static void cost(void) {
    static const struct {
        int kind;
        bool reset_before;
        long per_step;
    } cases[] = {{0, false, 1}, {1, false, 1}, {2, false, 1}, {2, true, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gt_scope_begin();
        gt_layer *l = ctors[cases[i].kind](
            &(gt_rnn_desc){.units = 4, .no_reset_after = cases[i].reset_before});
        gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(2, 7, 3));
        GTT_OK(gt_layer_build(l, GT_SHAPE(2, 7, 3)));
        gt_profiler_start();
        GTT_OK(gt_layer_call(l, x, false) != NULL);
        gt_profiler_stop();
        char table[8192] = "";
        FILE *f = tmpfile();
        GTT_OK(gt_profiler_write(f));
        rewind(f);
        table[fread(table, 1, sizeof table - 1, f)] = 0;
        fclose(f);
        long mm = op_calls(table, "matmul"), fused = op_calls(table, "matmul_bias_act");
        long want_mm = 7 * cases[i].per_step - (cases[i].kind == 2 && !cases[i].reset_before ? 7 : 0);
        long want_fused = 1 + (cases[i].kind == 2 && !cases[i].reset_before ? 7 : 0);
        GTT_CHECK(mm == want_mm && fused == want_fused,
                  "kind %d%s: %ld matmul + %ld matmul_bias_act calls for 7 steps, want %ld + %ld\n%s",
                  cases[i].kind, cases[i].reset_before ? " (reset before)" : "", mm, fused,
                  want_mm, want_fused, table);
        gt_layer_free(l);
        gt_scope_end();
    }
}

/* ---- initial weights, names, parameter counts, summaries ------------------------------------ */

/* max |a b^T - I| for a (n, m) with n <= m: the rows' orthonormality. */
static double orthonormal_rows_error(const gt_tensor *a) {
    gt_tensor *p = gt_matmul(a, a, false, true);
    gt_tensor *e = gt_sub(p, gt_cast(gt_eye(gt_tensor_dim(a, 0), GT_F64), gt_tensor_dtype(a)));
    return gt_item(gt_reduce_max(gt_abs(e), GT_ALL, false));
}

static void initial_weights(void) {
    gt_scope_begin();
    gt_reset_uids();
    gt_set_seed(3);
    /* Orthogonal recurrent kernels: (u, k*u) has orthonormal rows (Keras transposes the QR of
     * the (k*u, u) draw), so R R^T = I to float32 precision (32 products: ~32 * 2^-24 * 2);
     * the square SimpleRNN kernel is orthogonal both ways. Kernels are glorot_uniform, biases
     * zeros except LSTM's forget quarter. */
    gt_layer *ls[3];
    for (int kind = 0; kind < 3; kind++) {
        ls[kind] = ctors[kind](&(gt_rnn_desc){.units = 32});
        GTT_OK(gt_layer_build(ls[kind], GT_SHAPE(2, 3, 16)));
        gt_tensor *v[3];
        GTT_CHECK(gt_layer_variables(ls[kind], v, 3) == 3, "three variables");
        GTT_CHECK(orthonormal_rows_error(v[1]) < 5e-6, "kind %d: R R^T = I (error %g)", kind,
                  orthonormal_rows_error(v[1]));
        if (kind == 0) {
            gt_tensor *rt = gt_transpose(v[1], NULL);
            GTT_CHECK(orthonormal_rows_error(rt) < 5e-6, "SimpleRNN: R^T R = I (error %g)",
                      orthonormal_rows_error(rt));
        }
        int64_t g = (int64_t)(kind == 0 ? 1 : kind == 1 ? 4 : 3) * 32;
        double limit = sqrt(6.0 / (double)(16 + g));
        double mx = gt_item(gt_reduce_max(gt_abs(v[0]), GT_ALL, false));
        GTT_CHECK(mx <= limit && mx > 0.95 * limit, "kind %d: glorot bound: max %g, limit %g",
                  kind, mx, limit);
    }
    gt_tensor *b[3];
    gt_layer_variables(ls[1], b, 3);
    const double *kb = nnref_get("init.lstm_bias", NULL); /* Keras: LSTM(3) */
    double want[128];
    for (int i = 0; i < 128; i++)
        want[i] = i >= 32 && i < 64 ? 1 : 0;
    gtt_tensor_close("LSTM forget bias = 1", b[2], want, 128, 0, 0);
    GTT_CHECK(kb && kb[0] == 0 && kb[3] == 1 && kb[5] == 1 && kb[6] == 0, "Keras' LSTM bias");
    gt_layer_variables(ls[2], b, 3);
    GTT_CHECK(gt_tensor_rank(b[2]) == 2 && gt_tensor_dim(b[2], 0) == 2 &&
                  gt_tensor_dim(b[2], 1) == 96 &&
                  gt_item(gt_reduce_max(gt_abs(b[2]), GT_ALL, false)) == 0,
              "GRU bias (2, 3u) of zeros");
    for (int kind = 0; kind < 3; kind++)
        gt_layer_free(ls[kind]);

    /* The forget quarter is 1 whatever bias_initializer; the other quarters follow it. */
    gt_layer *l = gt_lstm(&(gt_rnn_desc){
        .units = 2, .bias_initializer = {.kind = GT_INIT_CONSTANT, .value = 0.5}});
    GTT_OK(gt_layer_build(l, GT_SHAPE(1, 1, 1)));
    gt_layer_variables(l, b, 3);
    gtt_tensor_close("LSTM bias with a constant initializer", b[2],
                     (const double[]){0.5, 0.5, 1, 1, 0.5, 0.5, 0.5, 0.5}, 8, 0, 0);
    gt_layer_free(l);
    l = gt_lstm(&(gt_rnn_desc){.units = 2, .no_unit_forget_bias = true});
    GTT_OK(gt_layer_build(l, GT_SHAPE(1, 1, 1)));
    gt_layer_variables(l, b, 3);
    GTT_CHECK(gt_item(gt_reduce_max(gt_abs(b[2]), GT_ALL, false)) == 0, "unit_forget_bias=False");
    gt_layer_free(l);
    /* initializers given in the descriptor are used */
    l = gt_gru(&(gt_rnn_desc){.units = 2,
                              .kernel_initializer = {.kind = GT_INIT_ONES},
                              .recurrent_initializer = {.kind = GT_INIT_ZEROS},
                              .no_reset_after = true});
    GTT_OK(gt_layer_build(l, GT_SHAPE(1, 1, 3)));
    gt_layer_variables(l, b, 3);
    GTT_CHECK(gt_item(gt_reduce_min(b[0], GT_ALL, false)) == 1 &&
                  gt_item(gt_reduce_max(gt_abs(b[1]), GT_ALL, false)) == 0 &&
                  gt_tensor_rank(b[2]) == 1 && gt_tensor_dim(b[2], 0) == 6,
              "GRU reset_after=False: bias (3u,), initializers honoured");
    gt_layer_free(l);

    /* Parameter counts against Keras' count_params: units 5 on 7 features. */
    const gt_rnn_desc u5 = {.units = 5};
    gt_layer *pc[5] = {gt_simple_rnn(&u5), gt_lstm(&u5), gt_gru(&u5),
                       gt_gru(&(gt_rnn_desc){.units = 5, .no_reset_after = true}),
                       gt_lstm(&(gt_rnn_desc){.units = 5, .no_bias = true})};
    for (int i = 0; i < 5; i++) {
        GTT_OK(gt_layer_build(pc[i], GT_SHAPE(2, 3, 7)));
        GTT_CLOSE(gt_layer_count_params(pc[i]), lcheck_cfg("init.count_params", i), 0, 0);
        gt_layer_free(pc[i]);
    }
    gt_scope_end();
}

static void names_and_summaries(void) {
    gt_reset_uids();
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_simple_rnn(&(gt_rnn_desc){.units = 8, .return_sequences = true}));
    gt_sequential_add(m, gt_lstm(&(gt_rnn_desc){.units = 6, .return_sequences = true}));
    gt_sequential_add(m, gt_gru(&(gt_rnn_desc){.units = 4}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 1}));
    gt_scope_begin();
    GTT_OK(gt_model_call(m, gt_zeros(GT_F32, GT_SHAPE(2, 7, 5)), false) != NULL);
    gt_scope_end();
    lcheck_summary(m, 88, REF_FILE, "stack88");
    /* Keras 3's paths: the weights belong to the cell sublayer */
    static const char *paths[] = {
        "sequential/simple_rnn/simple_rnn_cell/kernel",
        "sequential/simple_rnn/simple_rnn_cell/recurrent_kernel",
        "sequential/simple_rnn/simple_rnn_cell/bias",
        "sequential/lstm/lstm_cell/kernel",
        "sequential/lstm/lstm_cell/recurrent_kernel",
        "sequential/lstm/lstm_cell/bias",
        "sequential/gru/gru_cell/kernel",
        "sequential/gru/gru_cell/recurrent_kernel",
        "sequential/gru/gru_cell/bias",
        "sequential/dense/kernel",
        "sequential/dense/bias",
    };
    gt_tensor *v[16];
    int n = gt_layer_trainable_variables(gt_model_layer(m), v, 16);
    GTT_CHECK(n == 11, "%d trainable variables", n);
    for (int i = 0; i < n && i < 11; i++)
        GTT_CHECK(strcmp(gt_variable_path(v[i]), paths[i]) == 0, "path %s, want %s",
                  gt_variable_path(v[i]), paths[i]);
    /* layer.trainable = False reaches the cell's weights */
    gt_layer *lstm = gt_model_layer(m)->children[1];
    GTT_CHECK(strcmp(gt_layer_class_name(lstm), "LSTM") == 0, "class %s",
              gt_layer_class_name(lstm));
    gt_layer_set_trainable(lstm, false);
    GTT_CHECK(gt_layer_trainable_variables(gt_model_layer(m), NULL, 0) == 8 &&
                  gt_layer_non_trainable_variables(gt_model_layer(m), NULL, 0) == 3,
              "a frozen LSTM's weights are non-trainable");
    gt_model_free(m);

    /* built with batch None, as a model started from keras.Input((6, 3)) */
    gt_reset_uids();
    m = gt_sequential(NULL);
    gt_sequential_add(m, gt_gru(&(gt_rnn_desc){.units = 5,
                                               .no_reset_after = true,
                                               .return_sequences = true,
                                               .go_backwards = true}));
    gt_sequential_add(m, gt_lstm(&(gt_rnn_desc){.units = 3, .no_bias = true}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 2}));
    GTT_OK(gt_model_build(m, GT_SHAPE(-1, 6, 3)));
    lcheck_summary(m, 100, REF_FILE, "none100");
    gt_model_free(m);
}

/* ---- gradient checks in float64 ------------------------------------------------------------- */

/* Tiny layers (2 units, 3 steps, batch 2) so that the second-order checks through every weight
 * element stay fast; each option that changes the computation has a case. The recurrent
 * activations stay smooth (relu's kink would break the finite differences). */
static void gradchecks(void) {
    static const struct {
        const char *name;
        int kind;
        gt_rnn_desc desc;
        bool second_order;
    } cases[] = {
        {"SimpleRNN sequences backwards", 0,
         {.units = 2, .return_sequences = true, .go_backwards = true}, true},
        {"SimpleRNN softsign no bias", 0, {.units = 3, .activation = GT_ACT_SOFTSIGN,
                                           .no_bias = true}, false},
        {"LSTM", 1, {.units = 2}, true},
        {"LSTM sequences backwards", 1,
         {.units = 2, .return_sequences = true, .go_backwards = true}, false},
        {"GRU", 2, {.units = 2, .return_sequences = true}, true},
        {"GRU reset before", 2, {.units = 2, .no_reset_after = true}, true},
        {"GRU reset before, no bias, backwards", 2,
         {.units = 2, .no_reset_after = true, .no_bias = true, .go_backwards = true}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        gt_layer *l = ctors[cases[i].kind](&cases[i].desc);
        lcheck_layer_gradcheck(cases[i].name, l, gtt_randn(GT_SHAPE(2, 3, 2), 1, 0, 40 + i), false,
                               false, &(gtt_grad_opts){.first_only = !cases[i].second_order});
        gt_layer_free(l);
    }
}

/* ---- errors --------------------------------------------------------------------------------- */

static void errors(void) {
    gt_scope_begin();
    gt_reset_uids();
    GTT_CHECK(!gt_lstm(&(gt_rnn_desc){.units = 0}), "units 0");
    GTT_ERROR_HAS("LSTM: Received an invalid value for argument `units`, expected a positive "
                  "integer, got 0.");
    GTT_CHECK(!gt_gru(&(gt_rnn_desc){.units = -3}), "units -3");
    GTT_ERROR_HAS("GRU: Received an invalid value for argument `units`, expected a positive "
                  "integer, got -3.");
    /* units past INT64_MAX / gates would wrap the weights' gates * units columns (LSTM's
     * 4 * 2**62 to 0, UB): rejected when the layer is made */
    GTT_CHECK(!gt_lstm(&(gt_rnn_desc){.units = INT64_C(1) << 62}), "LSTM units 2**62");
    GTT_ERROR_HAS("LSTM: Received an invalid value for argument `units`, expected a positive "
                  "integer of at most 2305843009213693951 (the weights have 4 * units columns), "
                  "got 4611686018427387904.");
    GTT_CHECK(!gt_gru(&(gt_rnn_desc){.units = INT64_MAX / 3 + 1}), "GRU units INT64_MAX / 3 + 1");
    GTT_ERROR_HAS("GRU: Received an invalid value for argument `units`, expected a positive "
                  "integer of at most 3074457345618258602 (the weights have 3 * units columns), "
                  "got 3074457345618258603.");
    GTT_CHECK(!gt_simple_rnn(NULL), "NULL descriptor");
    GTT_ERROR_HAS("SimpleRNN: Received an invalid value for argument `units`");
    GTT_CHECK(!gt_simple_rnn(&(gt_rnn_desc){.units = 2, .recurrent_activation = GT_ACT_RELU}),
              "SimpleRNN has no recurrent activation");
    GTT_ERROR_HAS("Unrecognized keyword arguments passed to SimpleRNN: recurrent_activation");
    GTT_CHECK(!gt_gru(&(gt_rnn_desc){.units = 2, .no_unit_forget_bias = true}), "GRU forget bias");
    GTT_ERROR_HAS("Unrecognized keyword arguments passed to GRU: unit_forget_bias");
    GTT_CHECK(!gt_lstm(&(gt_rnn_desc){.units = 2, .no_reset_after = true}), "LSTM reset_after");
    GTT_ERROR_HAS("Unrecognized keyword arguments passed to LSTM: reset_after");
    GTT_CHECK(!gt_lstm(&(gt_rnn_desc){.units = 2, .activation = (gt_activation)99}), "activation");
    GTT_ERROR_HAS("LSTM: unknown activation 99");
    GTT_CHECK(!gt_gru(&(gt_rnn_desc){.units = 2, .recurrent_activation = GT_ACT_COUNT}),
              "recurrent activation");
    GTT_ERROR_HAS("GRU: unknown recurrent_activation");
    GTT_CHECK(!gt_dense(&(gt_dense_desc){.units = 2, .activation = GT_ACT_NONE}),
              "GT_ACT_NONE is for the recurrent layers only");
    GTT_ERROR_HAS("Dense: unknown activation");

    /* failed constructors use no name: the first layer is lstm */
    gt_layer *l = gt_lstm(&(gt_rnn_desc){.units = 3});
    GTT_CHECK(strcmp(gt_layer_name(l), "lstm") == 0, "name %s", gt_layer_name(l));
    GTT_CHECK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 4)), false) == NULL, "rank 2");
    GTT_ERROR_HAS("Input 0 of layer \"lstm\" is incompatible with the layer: expected ndim=3, "
                  "found ndim=2. Full shape received: (2, 4)");
    GTT_CHECK(!gt_layer_built(l), "not built after a failed build");
    GTT_CHECK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 4, 1, 1)), false) == NULL, "rank 4");
    GTT_ERROR_HAS("expected ndim=3, found ndim=4. Full shape received: (2, 4, 1, 1)");
    GTT_OK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 4, 5)), false) != NULL);
    GTT_CHECK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 4, 6)), false) == NULL, "features");
    GTT_ERROR_HAS("Input 0 of layer \"lstm\" is incompatible with the layer: expected axis -1 of "
                  "input shape to have value 5, but received input with shape (2, 4, 6)");
    GTT_CHECK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 5)), false) == NULL, "rank after build");
    GTT_ERROR_HAS("expected ndim=3, found ndim=2");
    GTT_CHECK(gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(2, 0, 5)), false) == NULL, "no steps");
    GTT_ERROR_HAS("LSTM 'lstm': the input must have between 1 and");
    /* other timestep counts and batch sizes are fine after the build, an empty batch too */
    gt_tensor *y = gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(1, 9, 5)), false);
    GTT_CHECK(y && gt_tensor_dim(y, 0) == 1 && gt_tensor_dim(y, 1) == 3, "another shape");
    y = gt_layer_call(l, gt_zeros(GT_F32, GT_SHAPE(0, 2, 5)), false);
    GTT_CHECK(y && gt_tensor_dim(y, 0) == 0 && gt_tensor_dim(y, 1) == 3, "empty batch");
    /* integer inputs are cast to the layer's float dtype */
    y = gt_layer_call(l, gt_zeros(GT_I32, GT_SHAPE(1, 2, 5)), false);
    GTT_CHECK(y && gt_tensor_dtype(y) == GT_F32, "integer input");
    /* the cell is not called on its own */
    gt_layer *cell = l->children[0];
    GTT_CHECK(strcmp(gt_layer_name(cell), "lstm_cell") == 0 &&
                  strcmp(gt_layer_class_name(cell), "LSTMCell") == 0,
              "cell %s (%s)", gt_layer_name(cell), gt_layer_class_name(cell));
    GTT_CHECK(gt_layer_call(cell, gt_zeros(GT_F32, GT_SHAPE(2, 5)), false) == NULL, "cell call");
    GTT_ERROR_HAS("LSTMCell 'lstm_cell': a cell runs inside its recurrent layer");
    gt_layer_free(l);
    /* names: Keras' snake case, uniquified per prefix; the cells keep their fixed names */
    gt_layer *ls[4] = {gt_simple_rnn(&(gt_rnn_desc){.units = 1}),
                       gt_simple_rnn(&(gt_rnn_desc){.units = 1}),
                       gt_lstm(&(gt_rnn_desc){.units = 1}), gt_gru(&(gt_rnn_desc){.units = 1})};
    static const char *want[4] = {"simple_rnn", "simple_rnn_1", "lstm_1", "gru"};
    for (int i = 0; i < 4; i++) {
        GTT_CHECK(ls[i] && strcmp(gt_layer_name(ls[i]), want[i]) == 0, "name %s, want %s",
                  ls[i] ? gt_layer_name(ls[i]) : "NULL", want[i]);
        gt_layer_free(ls[i]);
    }
    /* the largest units each layer takes: made, then its weights are too large to build */
    gt_layer *big[3] = {gt_simple_rnn(&(gt_rnn_desc){.units = INT64_MAX}),
                        gt_lstm(&(gt_rnn_desc){.units = INT64_MAX / 4}),
                        gt_gru(&(gt_rnn_desc){.units = INT64_MAX / 3})};
    for (int i = 0; i < 3; i++) {
        GTT_CHECK(big[i] != NULL, "largest units %d: %s", i, gt_error() ? gt_error() : "");
        GTT_CHECK(gt_layer_call(big[i], gt_ones(GT_F32, GT_SHAPE(1, 3, 2)), false) == NULL,
                  "largest units %d: call", i);
        GTT_ERROR_HAS("too many elements");
        GTT_CHECK(!gt_layer_built(big[i]) && gt_layer_count_params(big[i]) == 0,
                  "largest units %d: not built", i);
        gt_layer_free(big[i]);
    }
    GTT_CHECK(gt_ok(), "no stray error: %s", gt_error() ? gt_error() : "");
    gt_scope_end();
}

/* ---- training ------------------------------------------------------------------------------- */

enum { NSEQ = 128, STEPS = 6 };

/* Sequences of STEPS values uniform in [-1, 1) and their sums. */
static void sum_task(float *x, float *y, uint64_t seed) {
    gt_scope_begin();
    gt_tensor *t = gtt_rand_uniform(GT_SHAPE(NSEQ, STEPS, 1), -1, 1, seed);
    gt_tensor_to_f32(t, x, NSEQ * STEPS);
    gt_tensor_to_f32(gt_reduce_sum(t, GT_AXES(1, 2), false), y, NSEQ);
    gt_scope_end();
}

/* A new LSTM(8) -> Dense(1), named as the first one ("sequential", "lstm", "dense"). */
static gt_model *sum_model(void) {
    gt_reset_uids();
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_lstm(&(gt_rnn_desc){.units = 8}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 1}));
    return m;
}

/* model.fit: LSTM(8) -> Dense(1) regresses the sum of a sequence (MSE, Adam). The loss at the
 * start is ~var(sum) = 6/3 = 2; the trained model must bring it under a tenth of the first
 * epoch's. Then a checkpoint round trip: the file holds the weights under Keras' paths, and a
 * new model loaded from it predicts the same values bitwise. */
static void fit_sum(void) {
    float x[NSEQ * STEPS], y[NSEQ];
    sum_task(x, y, 11);
    gt_set_seed(5);
    gt_dataset *ds = gt_dataset_new(&(gt_dataset_desc){
        .count = NSEQ, .x_rank = 2, .x_shape = (const int64_t[]){STEPS, 1}, .x_f32 = x,
        .targets = y});
    GTT_OK(ds != NULL);
    gt_model *m = sum_model();
    gt_loss *mse = gt_mean_squared_error(NULL);
    gt_optimizer *opt = gt_adam(&(gt_optimizer_desc){.learning_rate = 0.02});
    gt_history *h = NULL;
    GTT_OK(gt_model_fit(m, ds,
                        &(gt_fit_desc){.epochs = 25, .batch_size = 16, .seed = 1,
                                       .verbose = GT_VERBOSE_SILENT},
                        mse, opt, &h));
    int64_t ne = h ? gt_history_epochs(h) : 0;
    double first = ne ? gt_history_get(h, "loss", 0) : NAN;
    double last = ne ? gt_history_get(h, "loss", ne - 1) : NAN;
    GTT_CHECK(ne == 25 && first > 0.5 && last < 0.1 * first,
              "LSTM fit on sequence sums: loss %g -> %g over %lld epochs", first, last,
              (long long)ne);

    GTT_OK(gtt_tmpdir_begin("rnn"));
    char path[512];
    snprintf(path, sizeof path, "%s", gtt_tmp_path("lstm.safetensors"));
    GTT_OK(gt_checkpoint_save(path, m, opt, 0, NULL));
    gt_safetensors *st = gt_safetensors_open(path);
    GTT_CHECK(st && gt_safetensors_find(st, "sequential/lstm/lstm_cell/recurrent_kernel") >= 0 &&
                  gt_safetensors_find(st, "sequential/lstm/lstm_cell/bias") >= 0,
              "checkpoint entries under Keras' paths");
    gt_safetensors_close(st);
    gt_model *m2 = sum_model();
    GTT_OK(gt_model_build(m2, GT_SHAPE(1, STEPS, 1)));
    GTT_OK(gt_checkpoint_load(path, m2, NULL));
    gt_scope_begin();
    gt_tensor *x8 = gt_tensor_new(GT_F32, GT_SHAPE(8, STEPS, 1), x);
    GTT_CHECK(gt_tensor_equal(gt_model_call(m, x8, false), gt_model_call(m2, x8, false)),
              "the loaded model predicts as the saved one");
    gt_scope_end();
    gt_model_free(m2);
    gtt_tmpdir_end();
    gt_history_free(h);
    gt_optimizer_free(opt);
    gt_loss_free(mse);
    gt_model_free(m);
    gt_dataset_free(ds);
}

/* A tape loop: GRU(6, sequences) -> SimpleRNN(4) -> Dense(1) classifies whether a sequence's
 * sum is positive (binary cross-entropy from logits, Adam); the loss falls from ~log 2 to
 * under a third of its first value. */
static void tape_sign(void) {
    float xv[NSEQ * STEPS], sums[NSEQ], labels[NSEQ];
    sum_task(xv, sums, 12);
    for (int i = 0; i < NSEQ; i++)
        labels[i] = sums[i] > 0;
    gt_set_seed(6);
    gt_model *m = gt_sequential(NULL);
    gt_sequential_add(m, gt_gru(&(gt_rnn_desc){.units = 6, .return_sequences = true}));
    gt_sequential_add(m, gt_simple_rnn(&(gt_rnn_desc){.units = 4}));
    gt_sequential_add(m, gt_dense(&(gt_dense_desc){.units = 1}));
    gt_loss *bce = gt_binary_crossentropy(&(gt_loss_desc){.from_logits = true});
    gt_optimizer *opt = gt_adam(&(gt_optimizer_desc){.learning_rate = 0.02});
    gt_scope_begin();
    gt_tensor *x = gt_tensor_new(GT_F32, GT_SHAPE(NSEQ, STEPS, 1), xv);
    gt_tensor *yl = gt_tensor_new(GT_F32, GT_SHAPE(NSEQ, 1), labels);
    double first = NAN, last = NAN;
    for (int step = 0; step < 60; step++) {
        gt_scope_begin();
        gt_tape *tape = gt_tape_begin(NULL);
        gt_tensor *loss = gt_loss_call(bce, yl, gt_model_call(m, x, true), NULL);
        gt_tape_end(tape);
        gt_tensor *vars[16], *grads[16];
        int n = gt_layer_trainable_variables(gt_model_layer(m), vars, 16);
        GTT_OK(gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, n,
                                (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads) &&
               gt_optimizer_apply_gradients(opt, n, grads, vars));
        if (step == 0)
            first = gt_item(loss);
        last = gt_item(loss);
        gt_tape_free(tape);
        gt_scope_end();
    }
    GTT_CHECK(first > 0.5 && last < 0.3 * first, "GRU/SimpleRNN sign task: loss %g -> %g", first, last);
    gt_scope_end();
    gt_optimizer_free(opt);
    gt_loss_free(bce);
    gt_model_free(m);
}

int main(void) {
    lcheck_stats = getenv("GT_RECURRENT_STATS") != NULL;
    if (!nnref_load(REF_FILE))
        return gtt_finish();
    keras_cases();
    definitions();
    cost();
    initial_weights();
    names_and_summaries();
    gradchecks();
    errors();
    fit_sum();
    tape_sign();
    nnref_free();
    return gtt_finish();
}
