# gradtape: a thin wrapper over CMake. Every target first installs missing Debian packages
# (scripts/install-deps.sh prints one line when nothing is missing).
#
#   make / make build   Release build with -Werror into $(BUILD)
#   make check          build + ctest
#   make demo           build + run the seed examples and a short training
#   make asan           ASan+UBSan build in $(ASAN_BUILD) + ctest
#   make valgrind       every example under valgrind (leaks are failures)
#   make bench          build + scripts/bench.sh
#   make train-check    build + scripts/train-check.sh
#   make install        install into $(PREFIX) (DESTDIR honoured)
#   make format         clang-format -i on our sources
#   make fuzz           libFuzzer targets in fuzz/ (clang), FUZZ_SECONDS each (0: replay corpus)
#   make clean          remove the build folders

MAKEFLAGS  += --no-print-directory
ROOT       := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
CMAKE      ?= cmake
CTEST      ?= ctest
# Extra -D options for the configure step, e.g. CMAKE_ARGS='-DGT_USE_BLAS=OFF'.
CMAKE_ARGS ?=
DEPS       := bash $(ROOT)/scripts/install-deps.sh
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

SEED_EXAMPLES := square simple_model apply_gradients

# Sanitizer runtime settings: fail on the first report, show stacks, check leaks.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

define configure_and_build
	$(CMAKE) -S $(ROOT) -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DGT_WERROR=ON \
	    -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS)
	$(CMAKE) --build $(BUILD) -j$(JOBS)
endef

.PHONY: all build deps check demo asan valgrind bench train-check install clean format fuzz help

all: build

deps:
	@$(DEPS)

build:
	@$(DEPS) build
	$(configure_and_build)

check:
	@$(DEPS) build check demo
	$(configure_and_build)
	$(CTEST) --test-dir $(BUILD) --output-on-failure --no-tests=error -j$(CTEST_JOBS)

demo:
	@$(DEPS) build demo
	$(configure_and_build)
	@cd $(ROOT) && for ex in $(SEED_EXAMPLES); do \
	    echo; \
	    if [ -x "$(BUILD)/examples/$$ex" ]; then \
	        echo "==> examples/$$ex"; \
	        "$(BUILD)/examples/$$ex" || exit 1; \
	    else \
	        echo "==> examples/$$ex: not built (no examples/$$ex.c yet), skipped"; \
	    fi; \
	done; \
	echo; \
	if [ -x "$(BUILD)/gradtape" ]; then \
	    echo "==> gradtape train --epochs 2"; \
	    "$(BUILD)/gradtape" train --epochs 2 || exit 1; \
	else \
	    echo "==> gradtape train --epochs 2: no gradtape tool built (no tools/*.c yet), skipped"; \
	fi

asan:
	@$(DEPS) build check demo
	$(CMAKE) -S $(ROOT) -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
	    -DGT_SANITIZE=ON -DGT_WERROR=ON -DGT_BUILD_BENCH=OFF $(CMAKE_ARGS)
	$(CMAKE) --build $(ASAN_BUILD) -j$(JOBS)
	$(SAN_ENV) $(CTEST) --test-dir $(ASAN_BUILD) --output-on-failure --no-tests=error -j$(CTEST_JOBS)

valgrind:
	@$(DEPS) build check
	$(configure_and_build)
	@bash $(ROOT)/scripts/valgrind.sh $(BUILD)

bench:
	@$(DEPS) build
	$(configure_and_build)
	BUILD=$(BUILD) bash $(ROOT)/scripts/bench.sh

train-check:
	@$(DEPS) build demo
	$(configure_and_build)
	BUILD=$(BUILD) bash $(ROOT)/scripts/train-check.sh

install:
	@$(DEPS) build
	$(configure_and_build)
	DESTDIR=$(DESTDIR) $(CMAKE) --install $(BUILD) --prefix $(PREFIX)

format:
	@$(DEPS) format
	@cd $(ROOT) && find include src tests examples tools bench -type f \( -name '*.c' -o -name '*.h' \) \
	    -not -path 'tests/data/*' 2>/dev/null | xargs -r clang-format -i
	@echo "clang-format: done"

fuzz:
	@$(DEPS) build fuzz
	bash $(ROOT)/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(ROOT)/build-fuzz

help:
	@sed -n '1,15p' $(ROOT)/Makefile | sed 's/^# \{0,1\}//'
