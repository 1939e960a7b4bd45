#!/usr/bin/env bash
# Run every example binary under valgrind; any memory error or leak (definite, indirect or
# possible) fails the run.
#
#   scripts/valgrind.sh [BUILD_DIR]            default BUILD_DIR: build
#   GT_VALGRIND_SKIP="mnist cifar" ...          example stems not to run (too slow under valgrind)
#   GT_VALGRIND_TIMEOUT=1200 ...                seconds allowed per example
#   GT_VALGRIND_THREADS=1 ...                   GT_NUM_THREADS, OMP_NUM_THREADS, OPENBLAS_NUM_THREADS
#
# Threads default to 1: the kernel pool's workers (and OpenBLAS's) live until the process
# exits, and valgrind counts their TLS as "possibly lost"; one thread means no pool.
# scripts/valgrind.supp covers only that TLS block, for runs with more threads.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
skip=" ${GT_VALGRIND_SKIP:-} "
limit="${GT_VALGRIND_TIMEOUT:-1200}"
threads="${GT_VALGRIND_THREADS:-1}"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (scripts/install-deps.sh check)" >&2
    exit 1
fi

vg=(valgrind --quiet --error-exitcode=1 --leak-check=full
    --errors-for-leak-kinds=definite,indirect,possible
    --show-leak-kinds=definite,indirect,possible
    --track-origins=yes --num-callers=30)
[ -f "$root/scripts/valgrind.supp" ] && vg+=(--suppressions="$root/scripts/valgrind.supp")

shopt -s nullglob
# The list comes from the sources, so a stale binary whose .c is gone is not run.
bins=()
for src in "$root"/examples/*.c; do
    bins+=("$build/examples/$(basename "$src" .c)")
done
if [ ${#bins[@]} -eq 0 ]; then
    echo "valgrind: no examples/*.c to run" >&2
    exit 1
fi

passed=0
failed=0
skipped=0
failures=()
cd "$root"
for bin in "${bins[@]}"; do
    name="$(basename "$bin")"
    if [[ "$skip" == *" $name "* ]]; then
        echo "==> valgrind examples/$name: skipped (GT_VALGRIND_SKIP)"
        skipped=$((skipped + 1))
        continue
    fi
    echo "==> valgrind examples/$name"
    if [ ! -x "$bin" ]; then
        echo "    $bin was not built"
        failed=$((failed + 1))
        failures+=("$name")
        continue
    fi
    log="$(mktemp)"
    if GT_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" timeout "$limit" "${vg[@]}" "$bin" >"$log" 2>&1; then
        passed=$((passed + 1))
        tail -n 3 "$log" | sed 's/^/    /'
    else
        rc=$?
        failed=$((failed + 1))
        failures+=("$name")
        [ $rc -eq 124 ] && echo "    timed out after ${limit}s"
        sed 's/^/    /' "$log"
    fi
    rm -f "$log"
done

echo
[ ${#failures[@]} -gt 0 ] && echo "valgrind failures: ${failures[*]}"
if [ $skipped -gt 0 ]; then
    echo "valgrind: $passed passed, $failed failed, $skipped skipped"
else
    echo "valgrind: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
