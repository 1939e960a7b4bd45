#!/usr/bin/env bash
# make train-check: the real trainings of issue 4, on the full Fashion-MNIST set.
#   MLP 784-256-128-10 ReLU, Adam 1e-3, batch 128, 10 epochs  -> test accuracy >= 88.0%
#   CNN Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dense 128 relu,
#       Dense 10; Adam 1e-3, batch 128, 5 epochs             -> test accuracy >= 90.5%
# Prints both results (and the time per epoch) and exits 1 when one is below its bar.
#
#   scripts/train-check.sh [path/to/gradtape]     (default: $BUILD/gradtape, BUILD=build)
#   GT_TRAIN_THREADS=N   kernel threads (default: all cores)
#   GT_TRAIN_ONLY=mlp|cnn   run one of the two
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
tool=${1:-$build/gradtape}
if [ ! -x "$tool" ]; then
    echo "train-check: no gradtape tool at '$tool'; run make build first" >&2
    exit 2
fi
threads=()
[ -n "${GT_TRAIN_THREADS:-}" ] && threads=(--threads "$GT_TRAIN_THREADS")
only=${GT_TRAIN_ONLY:-}

status=0
summary=()
run() { # name, minimum accuracy, args...
    local name=$1 min=$2
    shift 2
    echo "==> gradtape train $* ${threads[*]}"
    local log
    log=$(mktemp /tmp/gt_train_check_XXXXXX)
    local t0 t1
    t0=$(date +%s.%N)
    "$tool" train "$@" "${threads[@]}" --verbose 2 | tee "$log"
    local rc=${PIPESTATUS[0]}
    t1=$(date +%s.%N)
    local line acc per
    line=$(tail -n 1 "$log")
    per=$(grep -Eo 'trained [0-9]+ epochs? in [0-9.]+s \([0-9.]+s per epoch\)' "$log" | head -1)
    rm -f "$log"
    acc=$(sed -n 's/^test_loss=[^ ]* test_accuracy=\([0-9.]*\)$/\1/p' <<<"$line")
    if [ "$rc" != 0 ] || [ -z "$acc" ]; then
        summary+=("$name: FAILED (exit $rc)")
        status=1
        return
    fi
    local verdict
    if awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }'; then
        verdict="ok (>= $min)"
    else
        verdict="BELOW $min"
        status=1
    fi
    summary+=("$(printf '%s: test accuracy %.4f %s; %s; wall %.0fs' "$name" "$acc" "$verdict" "$per" "$(echo "$t1 - $t0" | bc)")")
}

if [ -z "$only" ] || [ "$only" = mlp ]; then
    run "MLP 784-256-128-10, Adam, batch 128, 10 epochs" 0.880 \
        --model mlp:256,128 --epochs 10 --batch-size 128 --optimizer adam --learning-rate 0.001
fi
if [ -z "$only" ] || [ "$only" = cnn ]; then
    run "CNN 32c3-p2-64c3-p2-128, Adam, batch 128, 5 epochs" 0.905 \
        --model cnn --epochs 5 --batch-size 128 --optimizer adam --learning-rate 0.001
fi
echo
echo "train-check results:"
for s in "${summary[@]}"; do echo "  $s"; done
exit $status
