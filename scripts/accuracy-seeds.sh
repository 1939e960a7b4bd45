#!/usr/bin/env bash
# The accuracy of `make train-check`'s two trainings over several seeds, for gradtape and for
# Keras 3 (tests/ref/keras_train.py), one training at a time, then per library and model the
# mean, standard deviation, range and how many runs reach the train-check bar, and the mean
# difference gradtape - Keras over the seeds both ran. docs/training.md's table comes from it.
#
#   scripts/accuracy-seeds.sh [SEED ...]          (default seeds: 42 1 2 3 4 5 6 7 8 9 10 11)
#   GT_TRAIN_ONLY=mlp|cnn      one model
#   GT_KERAS_PYTHON=path       a Python with tensorflow-cpu and keras
#                              (default: $GT_BENCH_VENV/bin/python, else /work/venv/tf/bin/python)
#   GT_KERAS_ARGS="--reshuffle"  extra arguments for keras_train.py (--reshuffle: a new order
#                              each epoch; by default Keras' fit repeats one order, see there)
#   GT_SEEDS_LOG=path          where the per-run lines go (default: a temporary file, printed)
#   BUILD=dir                  the build with the gradtape tool (default build)
#
# Takes about 8 minutes a seed on 2 cores (Keras' CNN is most of it).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
tool=$build/gradtape
py=${GT_KERAS_PYTHON:-${GT_BENCH_VENV:-/work/venv/tf}/bin/python}
if [ ! -x "$tool" ]; then
    echo "accuracy-seeds: no gradtape tool at '$tool'; run make build first" >&2
    exit 2
fi
if [ ! -x "$py" ]; then
    echo "accuracy-seeds: no Python at '$py' (set GT_KERAS_PYTHON to one with tensorflow-cpu and keras)" >&2
    exit 2
fi
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(42 1 2 3 4 5 6 7 8 9 10 11)
models=(mlp cnn)
[ -n "${GT_TRAIN_ONLY:-}" ] && models=("$GT_TRAIN_ONLY")
log=${GT_SEEDS_LOG:-$(mktemp /tmp/gt_seeds_XXXXXX)}
: >"$log"

for s in "${seeds[@]}"; do
    for m in "${models[@]}"; do
        if [ "$m" = mlp ]; then args=(--model mlp:256,128 --epochs 10); else args=(--model cnn --epochs 5); fi
        line=$("$tool" train "${args[@]}" --batch-size 128 --optimizer adam --learning-rate 0.001 \
                   --seed "$s" --verbose 0 | tail -n 1)
        echo "gradtape $m seed $s: $line" | tee -a "$log"
        # shellcheck disable=SC2086  # GT_KERAS_ARGS is a list of words
        "$py" "$root/tests/ref/keras_train.py" "$m" --seed "$s" ${GT_KERAS_ARGS:-} 2>/dev/null |
            grep "seed $s:" | tee -a "$log"
    done
done

python3 - "$log" <<'EOF'
import re, statistics as st, sys
acc = {}
for ln in open(sys.argv[1]):
    m = re.match(r'(gradtape|keras) (mlp|cnn) seed (\d+): .*test_accuracy=([0-9.]+)', ln)
    if m:
        acc.setdefault((m[1], m[2]), {})[int(m[3])] = float(m[4])
for model, bar in (('mlp', 0.880), ('cnn', 0.905)):
    for lib in ('gradtape', 'keras'):
        xs = list(acc.get((lib, model), {}).values())
        if len(xs) < 2:
            continue
        print(f"{lib:8s} {model}: {len(xs)} seeds, mean {st.mean(xs):.4f}, sd {st.stdev(xs):.4f}, "
              f"range {min(xs):.4f}-{max(xs):.4f}, {sum(x >= bar for x in xs)} reach {bar:.3f}")
    g, k = acc.get(('gradtape', model), {}), acc.get(('keras', model), {})
    both = sorted(set(g) & set(k))
    if len(both) >= 2:
        d = [g[s] - k[s] for s in both]
        print(f"  gradtape - keras over {len(both)} seeds: mean {st.mean(d):+.4f}, sd {st.stdev(d):.4f}")
EOF
