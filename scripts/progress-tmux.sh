#!/usr/bin/env bash
# Drives `gradtape train` in a real terminal (a detached tmux session) and checks what the pane
# shows: the "Epoch N/M" lines, the Keras 3 progress bar redrawn in place while an epoch runs
# (step count, 20-cell bar, time left, time per step, metrics), and each epoch's final line
# with validation metrics, then the result line.
#
#   scripts/progress-tmux.sh [path/to/gradtape]      (default: build/gradtape)
#
# Exit 0 when the pane looks right, 1 when not (the captures are printed), 2 when tmux or the
# tool is missing (install tmux: scripts/install-deps.sh check).
set -euo pipefail

tool=${1:-build/gradtape}
if ! command -v tmux >/dev/null 2>&1; then
    echo "progress-tmux: tmux is not installed; install it (sudo scripts/install-deps.sh check," \
         "or apt-get install tmux) to test the progress bar in a real terminal" >&2
    exit 2
fi
if [ ! -x "$tool" ]; then
    echo "progress-tmux: no gradtape tool at '$tool'; build it (make build) or pass its path" >&2
    exit 2
fi
tool=$(cd "$(dirname "$tool")" && pwd)/$(basename "$tool")

session="gt_progress_$$"
work=$(mktemp -d /tmp/gt_progress_XXXXXX)
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    rm -f "$work"/done "$work"/mid.txt "$work"/final.txt
    rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT

# Enough steps that the bar is caught mid-epoch: 24,000 images in batches of 32 is 750 steps.
tmux new-session -d -s "$session" -x 200 -y 50 \
    "'$tool' train --epochs 2 --limit 24000 --test-limit 2000 --batch-size 32 --threads 1 \
       --model mlp:64 --validation-split 0.1; echo \$? > '$work/done'; sleep 60"

# Watch the pane until an in-progress bar shows up (a line with N/750 where N < 750).
mid=""
for _ in $(seq 1 300); do
    pane=$(tmux capture-pane -p -t "$session" 2>/dev/null || true)
    if grep -Eq '^ *[0-9]+/675 ━{20} [0-9:]+s? [0-9]+(ms|us|s)/step - accuracy: [0-9.e+-]+ - loss: [0-9.e+-]+ *$' <<<"$pane" &&
        ! grep -Eq '^675/675' <<<"$pane"; then
        mid=$pane
        break
    fi
    [ -f "$work/done" ] && break
    sleep 0.1
done
for _ in $(seq 1 600); do
    [ -f "$work/done" ] && break
    sleep 0.2
done
final=$(tmux capture-pane -p -t "$session" -S -60 2>/dev/null || true)

fail=0
check() { # description, extended regex, text
    if grep -Eq -- "$2" <<<"$3"; then
        echo "ok   $1"
    else
        echo "FAIL $1  (pattern: $2)"
        fail=1
    fi
}
if [ -z "$mid" ]; then
    echo "FAIL no in-progress bar was seen while the epoch ran"
    fail=1
else
    echo "ok   an in-progress bar: $(grep -E '^ *[0-9]+/675 ' <<<"$mid" | head -1)"
fi
check "Epoch 1/2 header" '^Epoch 1/2 *$' "$final"
check "Epoch 2/2 header" '^Epoch 2/2 *$' "$final"
check "epoch line, Keras 3 format" \
    '^675/675 ━{20} [0-9]+s [0-9]+(ms|us|s)/step - accuracy: 0\.[0-9]{4} - loss: [0-9]\.[0-9]{4} - val_accuracy: 0\.[0-9]{4} - val_loss: [0-9]\.[0-9]{4} *$' \
    "$final"
check "the bar was redrawn in place (two finished epoch lines, no partial ones left)" \
    '^675/675' "$final"
partial=$(grep -Ec '^ *[0-9]+/675 ' <<<"$final" || true)
finished=$(grep -Ec '^675/675 ' <<<"$final" || true)
if [ "$partial" != "$finished" ] || [ "$finished" != 2 ]; then
    echo "FAIL expected exactly 2 finished epoch lines and no leftover partial lines ($finished finished, $partial bar lines)"
    fail=1
fi
check "evaluation bar" '^63/63 ━{20} [0-9]+s [0-9]+(ms|us|s)/step - accuracy: 0\.[0-9]{4} - loss: [0-9]\.[0-9]{4} *$' "$final"
check "result line" '^test_loss=[0-9.]+ test_accuracy=[0-9.]+ *$' "$final"
status=$(cat "$work/done" 2>/dev/null || echo "none")
if [ "$status" != 0 ]; then
    echo "FAIL gradtape exited with status $status"
    fail=1
fi
if [ $fail -ne 0 ]; then
    echo "---- pane while running ----"
    echo "$mid"
    echo "---- pane at the end ----"
    echo "$final"
    exit 1
fi
echo "progress-tmux: the progress bar looks right in a real terminal"
