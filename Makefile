# apisec: build the nginx dynamic module and apisecctl, run the tests and
# the demo.  `make` builds; `make test` and `make demo` are the README's
# two set-up commands and install what they need on Debian bookworm.

NGINX_SRC   ?= /usr/share/nginx/src
NGINX       ?= /usr/sbin/nginx
BUILD       := build
SRC         := ngx_http_apisec_module
CC          ?= cc
CFLAGS      ?= -O2 -g
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=
WARN        := -Wall -Wextra -Wpointer-arith -Wno-unused-parameter -Werror
LIBS        := -llmdb -lcrypto

LIB_SRCS    := $(SRC)/apisec_parse.c $(SRC)/apisec_crypto.c \
               $(SRC)/apisec_store.c $(SRC)/apisec_scheme.c \
               $(SRC)/apisec_decimal.c $(SRC)/apisec_fields.c \
               $(SRC)/apisec_window.c
LIB_HDRS    := $(SRC)/apisec_parse.h $(SRC)/apisec_crypto.h \
               $(SRC)/apisec_store.h $(SRC)/apisec_scheme.h \
               $(SRC)/apisec_decimal.h $(SRC)/apisec_fields.h \
               $(SRC)/apisec_window.h
CTL_SRCS    := $(SRC)/apisecctl.c $(SRC)/apisec_json.c
CTL_HDRS    := $(SRC)/apisec_json.h
# the nginx glue: every ngx_http_apisec_* file (the list is config's)
MOD_SRCS    := $(wildcard $(SRC)/ngx_http_apisec_*.c $(SRC)/ngx_http_apisec_*.h)

UNIT_SRCS   := $(wildcard t/unit/test_*.c)
# test_crypto twice: the HMAC over SHA-256's own calls, and over EVP only
# (-DAPISEC_HMAC_EVP: the build for a library without deprecated calls,
# or a FIPS provider; ngx_http_apisec_module/apisec_crypto.c)
UNIT_EVP    := test_crypto-evp
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS)) \
               $(BUILD)/unit/$(UNIT_EVP)

.PHONY: all module ctl deps test unit demo demo-stop clean \
        asan asan-build valgrind fuzz fuzz-build fuzz-ci bench

all: $(BUILD)/.deps-build module ctl

module: $(BUILD)/ngx_http_apisec_module.so
ctl: $(BUILD)/apisecctl

$(BUILD)/.deps-%: scripts/deps.sh
	@mkdir -p $(BUILD)
	scripts/deps.sh $*
	@touch $@

$(BUILD)/nginx/Makefile: config scripts/configure-nginx.sh | $(BUILD)/.deps-build
	scripts/configure-nginx.sh $(NGINX_SRC) $(BUILD)/nginx $(CURDIR) \
	    "$(EXTRA_CFLAGS)"

$(BUILD)/ngx_http_apisec_module.so: $(BUILD)/nginx/Makefile $(LIB_SRCS) \
        $(LIB_HDRS) $(MOD_SRCS)
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/ngx_http_apisec_module.so $@.tmp
	mv -f $@.tmp $@

$(BUILD)/apisecctl: $(CTL_SRCS) $(CTL_HDRS) $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-build
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(WARN) -I$(SRC) -o $@ \
	    $(CTL_SRCS) $(LIB_SRCS) $(EXTRA_LDFLAGS) $(LIBS)

$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-build
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(WARN) -I$(SRC) -It/unit -o $@ \
	    $< $(LIB_SRCS) $(EXTRA_LDFLAGS) $(LIBS)

$(BUILD)/unit/$(UNIT_EVP): t/unit/test_crypto.c t/unit/unit.h $(LIB_SRCS) \
        $(LIB_HDRS) | $(BUILD)/.deps-build
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -DAPISEC_HMAC_EVP $(WARN) -I$(SRC) \
	    -It/unit -o $@ $< $(LIB_SRCS) $(EXTRA_LDFLAGS) $(LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

deps: $(BUILD)/.deps-test

# the whole suite: unit tests of the plain C parts, then the Test::Nginx
# files (the CPAN Test::Nginx when installed, else the project's runner)
test: $(BUILD)/.deps-test all unit
	TEST_NGINX_BINARY=$(NGINX) APISEC_BUILD=$(CURDIR)/$(BUILD) \
	    scripts/prove.sh

demo: $(BUILD)/.deps-demo all
	scripts/demo.sh

demo-stop:
	scripts/demo.sh stop


# ---------------------------------------------------------------------
# Hardening (docs/security.md): the same code under sanitizers, valgrind
# and libFuzzer.  Everything goes under $(BUILD)/asan, $(BUILD)/fuzz and
# $(BUILD)/valgrind; the normal build is untouched.  CI runs all of them
# after `make test` (.ci/run).

# clang by default: its one runtime writes ASan and UBSan reports alike
# to log_path (gcc's libubsan writes to stderr, which scripts/prove.sh
# then finds in the error logs); SAN_CC=gcc works too
SAN_CC      ?= clang
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
SAN_SHARED  := $(if $(findstring clang,$(SAN_CC)),-shared-libasan)
# the module defines globals that nginx defines too (ngx_modules): with
# clang, register the module's own through private aliases, as gcc does,
# or the binary's ngx_modules gets the module's redzones (a false report
# at the first reload)
SAN_MODULE  := $(if $(findstring clang,$(SAN_CC)),\
               -fsanitize-address-use-odr-indicator)
# build/asan for clang, build/asan-gcc for gcc: a change of compiler
# never mixes objects
ASAN        := $(BUILD)/asan$(if $(findstring clang,$(SAN_CC)),,-$(notdir $(SAN_CC)))
ASAN_UNIT_BINS := $(patsubst t/unit/%.c,$(ASAN)/unit/%,$(UNIT_SRCS)) \
                  $(ASAN)/unit/$(UNIT_EVP)

# the unit tests under LeakSanitizer too; nginx without it (its own
# exit-time allocations), see scripts/prove.sh
ASAN_UNIT_OPTIONS := detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS_ALL := print_stacktrace=1:halt_on_error=1

# nginx's configure runs its feature tests with these flags: no leak
# reports there, they would turn features off
$(ASAN)/nginx/Makefile: config scripts/configure-nginx.sh \
        | $(BUILD)/.deps-asan
	CC=$(SAN_CC) ASAN_OPTIONS=detect_leaks=0 \
	    scripts/configure-nginx.sh $(NGINX_SRC) $(ASAN)/nginx $(CURDIR) \
	    "$(SAN_FLAGS) $(SAN_MODULE)"

# the module links the sanitizer runtimes, shared (LINK: nginx's
# objs/Makefile links modules with $(LINK) and the distribution's ld flags)
$(ASAN)/ngx_http_apisec_module.so: $(ASAN)/nginx/Makefile $(LIB_SRCS) \
        $(LIB_HDRS) $(MOD_SRCS)
	$(MAKE) -C $(ASAN)/nginx -f objs/Makefile modules \
	    LINK='$$(CC) $(SAN_FLAGS) $(SAN_SHARED)'
	cp $(ASAN)/nginx/objs/ngx_http_apisec_module.so $@.tmp
	mv -f $@.tmp $@

$(ASAN)/apisecctl: $(CTL_SRCS) $(CTL_HDRS) $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-asan
	@mkdir -p $(ASAN)
	$(SAN_CC) -O1 -g $(SAN_FLAGS) $(WARN) -I$(SRC) -o $@ \
	    $(CTL_SRCS) $(LIB_SRCS) $(LIBS)

$(ASAN)/unit/%: t/unit/%.c t/unit/unit.h $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-asan
	@mkdir -p $(ASAN)/unit
	$(SAN_CC) -O1 -g $(SAN_FLAGS) $(WARN) -I$(SRC) -It/unit -o $@ \
	    $< $(LIB_SRCS) $(LIBS)

$(ASAN)/unit/$(UNIT_EVP): t/unit/test_crypto.c t/unit/unit.h $(LIB_SRCS) \
        $(LIB_HDRS) | $(BUILD)/.deps-asan
	@mkdir -p $(ASAN)/unit
	$(SAN_CC) -O1 -g $(SAN_FLAGS) -DAPISEC_HMAC_EVP $(WARN) -I$(SRC) \
	    -It/unit -o $@ $< $(LIB_SRCS) $(LIBS)

asan-build: $(ASAN)/ngx_http_apisec_module.so $(ASAN)/apisecctl \
        $(ASAN_UNIT_BINS)

# the unit tests, then the whole Test::Nginx suite against the
# instrumented module and apisecctl (nginx gets the runtime preloaded);
# fails on any sanitizer report, wherever it was written
asan: $(BUILD)/.deps-test asan-build
	@set -e; for t in $(ASAN_UNIT_BINS); do echo "== $$t"; \
	    ASAN_OPTIONS=$(ASAN_UNIT_OPTIONS) \
	    UBSAN_OPTIONS=$(UBSAN_OPTIONS_ALL) $$t; done
	APISEC_CHECK=asan SAN_CC=$(SAN_CC) TEST_NGINX_BINARY=$(NGINX) \
	    APISEC_BUILD=$(CURDIR)/$(ASAN) scripts/prove.sh

# nginx under valgrind memcheck (TEST_NGINX_USE_VALGRIND, with
# valgrind.suppress) for every test file but VALGRIND_SKIP; fails on any
# error reported.  Skipped: the files that run nginx -t or apisecctl
# themselves, not through the runner (001-config, 080-rules-config,
# apisecctl), and the files whose requests must arrive within a few
# seconds of being signed or of a timer, which nginx under valgrind is
# too slow for (012-timestamp: the window's edges; 020-workers: 40
# requests in a 5 s window; 060-idle: flush ticks; 061-flush-thread: a
# key's last use within a second of its idle time); their code paths are
# run by the other files.  A new test file runs under valgrind unless it
# is added here, with its reason.
VALGRIND_SKIP  := t/001-config.t t/080-rules-config.t t/apisecctl.t \
                  t/012-timestamp.t t/020-workers.t t/060-idle.t \
                  t/061-flush-thread.t
VALGRIND_TESTS ?= $(filter-out $(VALGRIND_SKIP),$(wildcard t/*.t))

valgrind: $(BUILD)/.deps-valgrind all
	APISEC_CHECK=valgrind TEST_NGINX_BINARY=$(NGINX) \
	    APISEC_BUILD=$(CURDIR)/$(BUILD) \
	    APISEC_TESTS="$(VALGRIND_TESTS)" scripts/prove.sh

# libFuzzer targets (clang): fuzz/fuzz_*.c over the plain C sources,
# seeds in fuzz/corpus/<target>; what they find goes to $(FUZZ)
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ        := $(BUILD)/fuzz
FUZZ_SRCS   := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst fuzz/%.c,$(FUZZ)/%,$(FUZZ_SRCS))
FUZZ_LIB    := $(LIB_SRCS) $(SRC)/apisec_json.c
FUZZ_SECONDS ?= 60

$(FUZZ)/%: fuzz/%.c fuzz/fuzz.h $(FUZZ_LIB) $(LIB_HDRS) $(CTL_HDRS) \
        | $(BUILD)/.deps-fuzz
	@mkdir -p $(FUZZ)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN) -I$(SRC) -Ifuzz -o $@ $< \
	    $(FUZZ_LIB) $(LIBS)

fuzz-build: $(BUILD)/.deps-fuzz $(FUZZ_BINS)

# each target for FUZZ_SECONDS, from its seeds (every seed is run first,
# so the regression inputs in the corpus are replayed on every run)
fuzz: fuzz-build
	@set -e; for f in $(FUZZ_BINS); do \
	    fuzz/run.sh $$f $(FUZZ_SECONDS); done

fuzz-ci:
	$(MAKE) fuzz FUZZ_SECONDS=10

clean:
	rm -rf $(BUILD) t/servroot*


# ---------------------------------------------------------------------
# Benchmarks (docs/benchmarks.md): what apisec costs beside nginx itself,
# with 1k and 1M keys, against bare nginx and a Lua peer; instruction
# counts under callgrind; latency at a fixed rate.  Stores and results go
# under $(BUILD)/bench.  Not part of make test or CI: nothing is asserted
# on a timing.  Knobs (BENCH_SECONDS, BENCH_ROUNDS, ...): bench/run.sh.

bench: $(BUILD)/.deps-bench all
	bench/run.sh
