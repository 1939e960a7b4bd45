#!/usr/bin/env bash
# Install the Debian packages gradtape needs, and only those that are missing.
#
#   scripts/install-deps.sh                  all groups: build check demo
#   scripts/install-deps.sh build check      only the named groups
#   scripts/install-deps.sh --dry-run ...    say what would be installed, install nothing
#
# Groups:
#   build   compiler, cmake, OpenBLAS, zlib         (make, make build)
#   check   valgrind, tmux, python3                 (make check, make valgrind, CI)
#   demo    Fashion-MNIST data set                  (make demo, gradtape train)
#   format  clang-format                            (make format; never in the default set)
#   fuzz    clang (libFuzzer)                       (make fuzz; never in the default set)
#
# When everything is present it prints exactly one line. Off Debian (no apt-get) it prints
# what is needed and carries on if cmake and a C compiler exist.
set -euo pipefail

dry_run=0
groups=()
for arg in "$@"; do
    case "$arg" in
    --dry-run | -n) dry_run=1 ;;
    -h | --help)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    build | check | demo | format | fuzz) groups+=("$arg") ;;
    *)
        echo "install-deps: unknown group '$arg' (groups: build check demo format fuzz)" >&2
        exit 2
        ;;
    esac
done
[ ${#groups[@]} -eq 0 ] && groups=(build check demo)

# package|why
pkgs_build=(
    "gcc|the C11 compiler"
    "libc6-dev|C standard library headers (not pulled in by gcc without recommends)"
    "make|runs the top-level Makefile"
    "cmake|configures and drives the build (CMakeLists.txt needs >= 3.20)"
    "pkg-config|finds OpenBLAS for the build"
    "libopenblas-dev|fast BLAS for matmul and convolution (GT_HAVE_CBLAS)"
    "zlib1g-dev|reads gzip-compressed data sets such as Fashion-MNIST (GT_HAVE_ZLIB)"
)
pkgs_check=(
    "valgrind|leak and memory-error check of the examples (make valgrind, CI)"
    "tmux|runs the gradtape tool in a real terminal (progress-bar tests)"
    "python3|reads a saved checkpoint back independently (tests/ref/check_checkpoint.py)"
)
pkgs_demo=(
    "dataset-fashion-mnist|the Fashion-MNIST data set for 'gradtape train' and the demo"
)
pkgs_format=(
    "clang-format|formats the sources (make format)"
)
pkgs_fuzz=(
    "clang|libFuzzer and the sanitizers for the fuzz targets (make fuzz)"
)

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

missing=()
reasons=()
total=0
for g in "${groups[@]}"; do
    declare -n list="pkgs_$g"
    for entry in "${list[@]}"; do
        IFS="|" read -r pkg why <<<"$entry"
        total=$((total + 1))
        if command -v dpkg-query >/dev/null 2>&1; then
            is_installed "$pkg" && continue
        fi
        missing+=("$pkg")
        reasons+=("$pkg: $why ($g)")
    done
    unset -n list
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all $total Debian packages for '${groups[*]}' are present"
    exit 0
fi

# Not Debian: say what is needed, carry on if the essentials exist.
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps: apt-get/dpkg not found (not Debian?); gradtape needs the equivalents of:"
    printf '  %s\n' "${reasons[@]}"
    cc_ok=0
    for c in "${CC:-}" cc gcc clang; do
        [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && cc_ok=1 && break
    done
    if command -v cmake >/dev/null 2>&1 && [ $cc_ok -eq 1 ]; then
        echo "install-deps: cmake and a C compiler exist; continuing (optional features may be off)"
        exit 0
    fi
    echo "install-deps: error: cmake and a C compiler are required; install them and retry" >&2
    exit 1
fi

echo "install-deps: ${#missing[@]} Debian package(s) missing, to be installed with apt-get:"
printf '  %s\n' "${reasons[@]}"
if [ $dry_run -eq 1 ]; then
    echo "install-deps: --dry-run: nothing installed"
    exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "install-deps: error: not root and sudo is not available; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get update -q </dev/null; then
    echo "install-deps: error: 'apt-get update' failed; cannot install: ${missing[*]}" >&2
    exit 1
fi
if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
    echo "install-deps: error: 'apt-get install ${missing[*]}' failed" >&2
    exit 1
fi
for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        echo "install-deps: error: $pkg is still not installed after apt-get" >&2
        exit 1
    fi
done
echo "install-deps: installed ${missing[*]}"
