#!/usr/bin/env bash
# Builds and runs gradtape's libFuzzer targets (fuzz/fuzz_<target>.c) with clang:
# -fsanitize=fuzzer,address,undefined, every UBSan finding fatal, leaks checked.
#
#   fuzz/run.sh [seconds] [target...]     fuzz each target for `seconds` (default 60), one
#                                         after another; targets: idx csv safetensors json
#   fuzz/run.sh 0 [target...]             regression only: run every seed and corpus input once
#   fuzz/run.sh build                     build only
#
# The library is compiled straight from src/**/*.c (no CMake). Everything generated goes
# under $FUZZ_WORK (default <repo>/build-fuzz, ignored by git as every build-*/ folder is):
#   bin/fuzz_<t>        the targets        corpus/<t>/      what the fuzzer found (grows)
#   seeds/<t>/          generated seeds    artifacts/<t>/   crash-*, leak-*, timeout-* inputs
#   logs/<t>.log        libFuzzer's output
# Committed seeds and crash reproducers are in fuzz/corpus/<t>/ (never written by a run).
#
# Environment: FUZZ_CC (default clang-14, else clang), FUZZ_WORK, FUZZ_BLAS=0|1 (default: 1 when
# pkg-config finds openblas, as the CMake build does), FUZZ_ARGS (extra libFuzzer flags, e.g.
# "-jobs=2" or "-max_len=65536").
# Exits non-zero when a build fails or any target finds a crash, leak, timeout or UB.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${FUZZ_WORK:-$ROOT/build-fuzz}
ALL_TARGETS=(idx csv safetensors json)

secs=60
build_only=0
if [ $# -gt 0 ]; then
    case "$1" in
    build) build_only=1; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*) ;;  # not a number: a target name
    *) secs=$1; shift ;;
    esac
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    [ -f "$ROOT/fuzz/fuzz_$t.c" ] || { echo "fuzz/run.sh: no target '$t' (fuzz/fuzz_$t.c)" >&2; exit 2; }
done

# ---- compiler -------------------------------------------------------------------------------
CC=${FUZZ_CC:-}
if [ -z "$CC" ]; then
    for c in clang-14 clang; do command -v "$c" >/dev/null 2>&1 && { CC=$c; break; }; done
fi
if [ -z "$CC" ]; then
    echo "fuzz/run.sh: clang not found (apt-get install clang-14); libFuzzer needs clang" >&2
    exit 2
fi
mkdir -p "$WORK"/{obj,bin,seeds,corpus,artifacts,logs}
if ! echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n){(void)d;(void)n;return 0;}' |
    "$CC" -x c - -fsanitize=fuzzer,address,undefined -o "$WORK/bin/.probe" 2>"$WORK/logs/probe.log"; then
    echo "fuzz/run.sh: $CC cannot build libFuzzer targets (-fsanitize=fuzzer); see $WORK/logs/probe.log" >&2
    exit 2
fi

# shellcheck disable=SC2054  # the commas are inside one flag
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
# The library's own compile definitions (CMakeLists.txt: gt_build_flags, GT_HAVE_*).
CFLAGS=(-std=c11 -g -O1 -Wall -Wextra -Wno-unused-parameter -fno-math-errno
        -D_POSIX_C_SOURCE=200809L -DGT_HAVE_ZLIB=1
        -I"$ROOT/include" -I"$ROOT/src" -I"$ROOT/fuzz")
LIBS=(-lz -lpthread -lm)
use_blas=${FUZZ_BLAS:-auto}
if [ "$use_blas" = auto ]; then
    use_blas=0
    pkg-config --exists openblas 2>/dev/null && use_blas=1
fi
if [ "$use_blas" = 1 ]; then
    # shellcheck disable=SC2207
    CFLAGS+=(-DGT_HAVE_CBLAS=1 $(pkg-config --cflags openblas))
    # shellcheck disable=SC2207
    LIBS+=($(pkg-config --libs openblas))
fi
# OpenMP is left out: the parsers do not use it, and clang's libomp is not a build dependency.

# ---- the library, compiled once per change ----------------------------------------------------
flags_id=$(printf '%s ' "$CC" "${CFLAGS[@]}" "${SAN[@]}" | cksum | cut -d' ' -f1)
if [ "$(cat "$WORK/obj/.flags" 2>/dev/null)" != "$flags_id" ]; then
    rm -rf "$WORK/obj" && mkdir -p "$WORK/obj"
    echo "$flags_id" >"$WORK/obj/.flags"
fi
newest_header=$(find "$ROOT/include" "$ROOT/src" -name '*.h' -newer "$WORK/obj/.flags" 2>/dev/null | head -1)
objs=()
stale=()
while IFS= read -r src; do
    rel=${src#"$ROOT/src/"}
    obj="$WORK/obj/${rel//\//__}.o"
    objs+=("$obj")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] ||
        { [ -n "$newest_header" ] && [ -n "$(find "$ROOT/include" "$ROOT/src" -name '*.h' -newer "$obj" | head -1)" ]; }; then
        stale+=("$src")
    fi
done < <(find "$ROOT/src" -name '*.c' | sort)
if [ ${#stale[@]} -gt 0 ]; then
    echo "fuzz: compiling ${#stale[@]} library sources with $CC"
    export CC ROOT WORK
    # shellcheck disable=SC2016  # expanded by the inner bash
    printf '%s\n' "${stale[@]}" | xargs -P "$(nproc 2>/dev/null || echo 2)" -I{} bash -c '
        src={}; rel=${src#"$ROOT/src/"}
        exec "$CC" "$@" -fsanitize=fuzzer-no-link -c "$src" -o "$WORK/obj/${rel//\//__}.o"
    ' _ "${CFLAGS[@]}" "${SAN[@]}"
fi
rm -f "$WORK/obj/libgradtape_fuzz.a"
ar rcs "$WORK/obj/libgradtape_fuzz.a" "${objs[@]}"
LIB="$WORK/obj/libgradtape_fuzz.a"

# ---- targets and the seed generator -----------------------------------------------------------
"$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link "$ROOT/fuzz/gen_seeds.c" "$LIB" \
    "${LIBS[@]}" -o "$WORK/bin/gen_seeds"
for t in "${targets[@]}"; do
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer "$ROOT/fuzz/fuzz_$t.c" "$LIB" "${LIBS[@]}" \
        -o "$WORK/bin/fuzz_$t"
done
export GT_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rm -rf "$WORK/seeds" && mkdir -p "$WORK/seeds"
(cd "$WORK" && "$WORK/bin/gen_seeds" "$WORK/seeds") >"$WORK/logs/gen_seeds.log" 2>&1 || {
    cat "$WORK/logs/gen_seeds.log" >&2
    echo "fuzz/run.sh: the seed generator failed" >&2
    exit 1
}
[ $build_only = 1 ] && { echo "fuzz: built $WORK/bin/fuzz_{$(IFS=,; echo "${targets[*]}")}"; exit 0; }

# ---- runs -------------------------------------------------------------------------------------
failed=()
summary=()
for t in "${targets[@]}"; do
    mkdir -p "$WORK/corpus/$t" "$WORK/artifacts/$t" "$WORK/seeds/$t"
    args=(-artifact_prefix="$WORK/artifacts/$t/" -print_final_stats=1 -timeout=30
          -rss_limit_mb=2560)
    [ -f "$ROOT/fuzz/$t.dict" ] && args+=(-dict="$ROOT/fuzz/$t.dict")
    if [ "$secs" = 0 ]; then
        args+=(-runs=0)
    else
        args+=(-max_total_time="$secs")
    fi
    # shellcheck disable=SC2206
    args+=(${FUZZ_ARGS:-})
    log="$WORK/logs/$t.log"
    echo "fuzz: $t for ${secs}s (log: $log)"
    dirs=("$WORK/corpus/$t" "$WORK/seeds/$t")
    [ -d "$ROOT/fuzz/corpus/$t" ] && dirs+=("$ROOT/fuzz/corpus/$t")
    # the checkpoint the tests read is a seed too
    [ "$t" = safetensors ] && [ -d "$ROOT/tests/data/io" ] && dirs+=("$ROOT/tests/data/io")
    rc=0
    "$WORK/bin/fuzz_$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    summary+=("$(printf '%-12s rc=%-3s execs=%-10s %s' "$t" "$rc" "${execs:-?}" "$(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)")")
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        echo "fuzz: $t FAILED (exit $rc); the report:" >&2
        grep -E -A40 '==[0-9]+==ERROR|runtime error:|INVARIANT|SUMMARY|deadly signal|Test unit written' "$log" | head -80 >&2 || tail -40 "$log" >&2
    fi
done
echo
echo "fuzz summary (work dir $WORK):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failing targets: ${failed[*]} (inputs in $WORK/artifacts/<target>/)" >&2
    exit 1
fi
