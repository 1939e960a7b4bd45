#!/usr/bin/env bash
# gradtape vs TensorFlow 2 + Keras 3 vs PyTorch on the same CPU work (make bench).
#
#   make bench                          every workload, full repetitions
#   make bench BENCH=mlp_epoch,chain    only these workloads (comma or space separated)
#   GT_BENCH_QUICK=1 make bench         quick mode: fewer repetitions, shorter timings,
#                                       epochs timed on a few batches and extrapolated
#
# Workloads (unit; ratio = gradtape / the faster peer, lower is better):
#   scalar_grad  µs/call   d(x**2)/dx at 3.0 under a tape
#   chain        µs/op     100 elementwise ops (mul, tanh, add) on [16], forward + backward
#   seed_step    µs/step   the seed's training step (32x10 -> Dense 5 relu -> Dense 2 softmax)
#   mlp_epoch    s/epoch   Fashion-MNIST 784-256-128-10, Adam 1e-3, batch 128 (+ test accuracy)
#   cnn_epoch    s/epoch   Fashion-MNIST Conv32-Pool-Conv64-Pool-Dense128-Dense10, Adam, 128
#   sgemm_256, sgemm_1024, sgemm_2048   GFLOP/s of a square float32 matmul (BENCH=sgemm: all three)
#   mlp_rss      MiB       peak RSS (VmHWM) of the mlp_epoch processes
# For GFLOP/s the ratio is still time-like: gradtape's time / the faster peer's time
# (= the faster peer's GFLOP/s / gradtape's GFLOP/s).
#
# Each repetition runs every selected workload once per runner, interleaved
# (gradtape, tensorflow tape, tensorflow fit, pytorch, then the next workload), each run in
# its own process; the reported value is the median over repetitions. TensorFlow's value is
# the faster of its variants (the eager GradientTape loop as the seed writes it, and Keras fit
# where it applies); both are in the table.
#
# Environment:
#   BUILD                 build folder holding bench/bench_* (default: build)
#   GT_BENCH_REPS         repetitions (default 5, quick 2; the epochs: 3, quick 1)
#   GT_BENCH_VENV         TensorFlow venv, created when missing with `pip install tensorflow-cpu
#                         keras` (default ~/.cache/gradtape/bench-venv; outside the repo)
#   GT_BENCH_TORCH_PYTHON the Python that has torch (default /usr/bin/python3: Debian's
#                         python3-torch, installed with apt-get when missing)
#   GT_BENCH_NO_INSTALL=1 never install a peer (a missing peer is reported as n/a)
#   GT_BENCH_PEERS        runners to use (default "gradtape tensorflow pytorch")
#   GT_BENCH_THREADS      gradtape's threads (default 2)
#   GT_BENCH_GT1          workloads also run with gradtape on 1 thread, for the table's
#                         "gradtape 1 thr" column (default "mlp_epoch sgemm"; "all"; "" for none)
#   GT_BENCH_TF_INTRA / GT_BENCH_TF_INTER       TensorFlow's thread pools (default 2 / 2)
#   GT_BENCH_TORCH_THREADS / GT_BENCH_TORCH_BLAS PyTorch's threads and OpenBLAS's (default 1 / 2)
#   GT_BENCH_OUT          results folder (default bench/results; git-ignored)
#   GT_BENCH_TIMEOUT      seconds one run may take (default 3600)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-build}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN="$BUILD/bench"
OUT="${GT_BENCH_OUT:-$ROOT/bench/results}"
QUICK=0
case "${GT_BENCH_QUICK:-0}" in "" | 0) ;; *) QUICK=1 ;; esac
VENV="${GT_BENCH_VENV:-$HOME/.cache/gradtape/bench-venv}"
TORCH_PY="${GT_BENCH_TORCH_PYTHON:-/usr/bin/python3}"
PEERS="${GT_BENCH_PEERS:-gradtape tensorflow pytorch}"
TIMEOUT="${GT_BENCH_TIMEOUT:-3600}"
GT1="${GT_BENCH_GT1-mlp_epoch sgemm}"
export GT_BENCH_THREADS="${GT_BENCH_THREADS:-2}"
export GT_BENCH_TF_INTRA="${GT_BENCH_TF_INTRA:-2}"
export GT_BENCH_TF_INTER="${GT_BENCH_TF_INTER:-2}"
export GT_BENCH_TORCH_THREADS="${GT_BENCH_TORCH_THREADS:-1}"
TORCH_BLAS="${GT_BENCH_TORCH_BLAS:-2}"
if [ $QUICK = 1 ]; then REPS="${GT_BENCH_REPS:-2}"; EREPS="${GT_BENCH_REPS:-1}"
else REPS="${GT_BENCH_REPS:-5}"; EREPS="${GT_BENCH_REPS:-3}"; fi
export GT_BENCH_QUICK=$QUICK

log() { echo "bench: $*" >&2; }

# ---- which workloads ---------------------------------------------------------------------
ALL_GROUPS="scalar_grad chain seed_step mlp_epoch cnn_epoch sgemm"
groups=""
BENCH="${BENCH:-}"
for w in ${BENCH//,/ }; do
    case "$w" in
    scalar_grad | chain | seed_step | mlp_epoch | cnn_epoch) g=$w ;;
    mlp_rss) g=mlp_epoch ;;
    sgemm | sgemm_256 | sgemm_1024 | sgemm_2048 | matmul) g=sgemm ;;
    all) g="$ALL_GROUPS" ;;
    *)
        echo "bench: unknown workload '$w' (workloads: $ALL_GROUPS mlp_rss sgemm_256 sgemm_1024 sgemm_2048)" >&2
        exit 2
        ;;
    esac
    for x in $g; do case " $groups " in *" $x "*) ;; *) groups="$groups $x" ;; esac; done
done
[ -z "${groups// /}" ] && groups="$ALL_GROUPS"
groups="${groups# }"

# ---- the peers ---------------------------------------------------------------------------
have_peer() { case " $PEERS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
may_install() { [ "${GT_BENCH_NO_INSTALL:-0}" = 0 ]; }

TF_PY=""
if have_peer tensorflow; then
    if ! "$VENV/bin/python" -c "import tensorflow, keras" >/dev/null 2>&1; then
        if may_install; then
            log "creating the TensorFlow venv $VENV (pip install tensorflow-cpu keras)"
            mkdir -p "$(dirname "$VENV")"
            { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q tensorflow-cpu keras; } >&2 ||
                log "could not set up TensorFlow in $VENV"
        fi
    fi
    if "$VENV/bin/python" -c "import tensorflow, keras" >/dev/null 2>&1; then
        TF_PY="$VENV/bin/python"
    else
        log "TensorFlow unavailable: its column is n/a"
    fi
fi
TORCH_OK=0
if have_peer pytorch; then
    if ! "$TORCH_PY" -c "import torch" >/dev/null 2>&1 && may_install && command -v apt-get >/dev/null; then
        log "installing Debian's python3-torch"
        { apt-get install -y python3-torch || { apt-get update && apt-get install -y python3-torch; }; } >&2 ||
            log "could not install python3-torch"
    fi
    if "$TORCH_PY" -c "import torch" >/dev/null 2>&1; then TORCH_OK=1; else log "PyTorch unavailable: its column is n/a"; fi
fi

# ---- runners: <group> -> "runner|command" lines ------------------------------------------
runners() {
    local g=$1 c
    case $g in sgemm) c=matmul ;; *) c=$g ;; esac
    if have_peer gradtape; then
        if [ -x "$BIN/bench_$c" ]; then echo "gradtape|$BIN/bench_$c"
        else log "$BIN/bench_$c is not built: gradtape column is n/a for $g"; fi
        case " $GT1 " in
        *" $g "* | " all ") [ -x "$BIN/bench_$c" ] && echo "gradtape_1t|$BIN/bench_$c --threads 1" ;;
        esac
    fi
    if [ -n "$TF_PY" ]; then
        case $g in
        seed_step | mlp_epoch | cnn_epoch)
            echo "tf_tape|$TF_PY $ROOT/bench/${c}_tf.py --variant tape"
            echo "tf_fit|$TF_PY $ROOT/bench/${c}_tf.py --variant fit"
            ;;
        *) echo "tf|$TF_PY $ROOT/bench/${c}_tf.py" ;;
        esac
    fi
    [ $TORCH_OK = 1 ] && echo "torch|env OPENBLAS_NUM_THREADS=$TORCH_BLAS $TORCH_PY $ROOT/bench/${c}_torch.py"
    return 0
}

mkdir -p "$OUT/raw"
TSV="$OUT/latest.tsv"
: >"$TSV"
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
started=$(date +%s)
log "workloads: $groups; repetitions $REPS (epochs $EREPS)$([ $QUICK = 1 ] && echo ', quick mode'); load $load_before"

maxreps=$REPS
[ "$EREPS" -gt "$maxreps" ] && maxreps=$EREPS
for rep in $(seq 1 "$maxreps"); do
    for g in $groups; do
        case $g in mlp_epoch | cnn_epoch) n=$EREPS ;; *) n=$REPS ;; esac
        [ "$rep" -gt "$n" ] && continue
        while IFS='|' read -r runner cmd; do
            [ -z "$runner" ] && continue
            # The eager TensorFlow CNN loop is the slowest run by far and never the faster
            # TensorFlow variant: one repetition of it is enough.
            if [ "$g.$runner" = cnn_epoch.tf_tape ] && [ "$rep" -gt 1 ]; then continue; fi
            raw="$OUT/raw/$g.$runner.$rep.txt"
            t0=$(date +%s.%N)
            # shellcheck disable=SC2086
            (cd "$ROOT/bench" && timeout "$TIMEOUT" $cmd) >"$raw" 2>"$raw.err"
            rc=$?
            t1=$(date +%s.%N)
            if [ $rc -ne 0 ]; then
                log "$g/$runner rep $rep failed (exit $rc): $(grep -v '^WARNING\|^I0000\|^W0000' "$raw.err" | tail -n 2 | tr '\n' ' ')"
                continue
            fi
            grep '^RESULT ' "$raw" | while read -r _ key value; do
                printf '%s\t%s\t%s\t%s\t%s\n' "$g" "$runner" "$rep" "$key" "$value" >>"$TSV"
            done
            if grep -q '^# not available' "$raw"; then log "$g/$runner: $(grep '^# not available' "$raw" | head -n 1 | cut -c3-)"; fi
            log "$(printf '%-11s %-8s rep %d: %s (%.0fs)' "$g" "$runner" "$rep" \
                "$(grep '^RESULT ' "$raw" | cut -d' ' -f2- | tr '\n' ' ')" "$(awk "BEGIN{print $t1 - $t0}")")"
        done < <(runners "$g")
    done
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
elapsed=$(($(date +%s) - started))

# ---- machine facts for the report -----------------------------------------------------------
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
FLAGS="$(grep -o -w -E 'avx512f|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
CEILING=""
[ -x "$BIN/bench_sgemm" ] && CEILING="$("$BIN/bench_sgemm" --ceiling 2>/dev/null | grep 'FMA ceiling' | tr '\n' ';' | sed 's/;$//; s/;/; /')"
TFV="$([ -n "$TF_PY" ] && "$TF_PY" -c 'import tensorflow as t, keras as k; print(f"TensorFlow {t.__version__}, Keras {k.__version__}")' 2>/dev/null)"
TORCHV="$([ $TORCH_OK = 1 ] && "$TORCH_PY" -c 'import torch; print(f"PyTorch {torch.__version__}")' 2>/dev/null)"

# ---- medians, lines, table ---------------------------------------------------------------------
python3 - "$TSV" "$OUT/latest.md" "$groups" <<'PYEOF'
import statistics, sys, collections
tsv, md_path, groups = sys.argv[1], sys.argv[2], sys.argv[3].split()
vals = collections.defaultdict(list)   # (group, runner, key) -> [values]
for line in open(tsv):
    g, r, rep, k, v = line.rstrip("\n").split("\t")
    try:
        x = float(v)
    except ValueError:
        continue
    if x == x:  # skip NaN ("not available")
        vals[(g, r, k)].append(x)

def med(g, r, k):
    v = vals.get((g, r, k))
    return statistics.median(v) if v else None

# workload -> (group, key, unit, kind); kind: time (lower better), rate (higher better), mem
W = [("scalar_grad", "scalar_grad", "value", "µs/call", "time"),
     ("chain", "chain", "value", "µs/op", "time"),
     ("seed_step", "seed_step", "value", "µs/step", "time"),
     ("mlp_epoch", "mlp_epoch", "value", "s/epoch", "time"),
     ("cnn_epoch", "cnn_epoch", "value", "s/epoch", "time"),
     ("sgemm_256", "sgemm", "sgemm_256", "GFLOP/s", "rate"),
     ("sgemm_1024", "sgemm", "sgemm_1024", "GFLOP/s", "rate"),
     ("sgemm_2048", "sgemm", "sgemm_2048", "GFLOP/s", "rate"),
     ("mlp_rss", "mlp_epoch", "rss_mib", "MiB", "mem")]

def fmt(x):
    if x is None:
        return "n/a"
    a = abs(x)
    return f"{x:.3g}" if a < 100 else f"{x:.0f}"

def better(kind, xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return max(xs) if kind == "rate" else min(xs)

lines, rows = [], []
for name, g, k, unit, kind in W:
    if g not in groups:
        continue
    gt = med(g, "gradtape", k)
    tf_tape, tf_fit, tf_plain = med(g, "tf_tape", k), med(g, "tf_fit", k), med(g, "tf", k)
    tf = better(kind, [tf_tape, tf_fit, tf_plain])
    torch = med(g, "torch", k)
    peer = better(kind, [tf, torch])
    if gt is None or peer is None:
        ratio = None
    elif kind == "rate":
        ratio = peer / gt
    else:
        ratio = gt / peer
    rstr = "n/a" if ratio is None else f"{ratio:.3g}"
    lines.append(f"{name} gradtape={fmt(gt)} tensorflow={fmt(tf)} pytorch={fmt(torch)} ratio={rstr} {unit}")
    extra = ""
    if g in ("mlp_epoch", "cnn_epoch") and k == "value":
        acc = [med(g, r, "accuracy") for r in ("gradtape", "tf_tape", "tf_fit", "torch")]
        extra = " / ".join(fmt(a) for a in acc)
    if g == "sgemm":
        extra = "numpy " + fmt(med(g, "tf", "numpy_" + k))
    nrep = max([len(vals.get((g, r, k), [])) for r in ("gradtape", "tf", "tf_tape", "tf_fit", "torch")] or [0])
    rows.append((name, unit, fmt(gt), fmt(tf), fmt(tf_tape if tf_plain is None else tf_plain),
                 fmt(tf_fit) if tf_plain is None else "", fmt(torch), rstr, str(nrep), fmt(med(g, "gradtape_1t", k)), extra))

print()
for l in lines:
    print(l)
with open(md_path, "w") as f:
    f.write("| workload | unit | gradtape | TensorFlow (best) | TF tape / eager | TF fit | PyTorch "
            "| ratio | reps | gradtape 1 thr | notes (test accuracy gt / tf tape / tf fit / torch) |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for r in rows:
        f.write("| " + " | ".join(r) + " |\n")
    f.write("\nratio = gradtape / the faster peer, time-like for every unit (GFLOP/s: the faster "
            "peer's GFLOP/s / gradtape's; MiB: gradtape / the smaller peer); lower is better. "
            "Values are medians over the repetitions.\n")
PYEOF
[ $? -ne 0 ] && { log "could not summarise $TSV"; exit 1; }

{
    echo
    echo "- $(date -u '+%Y-%m-%d %H:%M UTC'), $([ $QUICK = 1 ] && echo 'quick mode' || echo 'full run'), ${elapsed}s; load average (1/5/15 min) $load_before before, $load_after after"
    echo "- CPU: $CPU; flags: $FLAGS; $CEILING"
    echo "- gradtape: $GT_BENCH_THREADS threads (its kernel thread pool); ${TFV:-TensorFlow n/a}: intra_op $GT_BENCH_TF_INTRA, inter_op $GT_BENCH_TF_INTER; ${TORCHV:-PyTorch n/a}: torch threads $GT_BENCH_TORCH_THREADS, OPENBLAS_NUM_THREADS $TORCH_BLAS"
    echo "- raw results: $TSV, per-run output in $OUT/raw/"
} >>"$OUT/latest.md"
echo
cat "$OUT/latest.md"
