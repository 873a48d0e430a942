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
               $(SRC)/apisec_store.c $(SRC)/apisec_scheme.c
LIB_HDRS    := $(SRC)/apisec_parse.h $(SRC)/apisec_crypto.h \
               $(SRC)/apisec_store.h $(SRC)/apisec_scheme.h
CTL_SRCS    := $(SRC)/apisecctl.c $(SRC)/apisec_json.c
CTL_HDRS    := $(SRC)/apisec_json.h
MOD_SRCS    := $(SRC)/ngx_http_apisec_module.c $(SRC)/ngx_http_apisec_module.h \
               $(SRC)/ngx_http_apisec_shm.c $(SRC)/ngx_http_apisec_rules.c

UNIT_SRCS   := $(wildcard t/unit/test_*.c)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

.PHONY: all module ctl deps test unit demo demo-stop clean

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
	cp $(BUILD)/nginx/objs/ngx_http_apisec_module.so $@

$(BUILD)/apisecctl: $(CTL_SRCS) $(CTL_HDRS) $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-build
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(WARN) -I$(SRC) -o $@ \
	    $(CTL_SRCS) $(LIB_SRCS) $(EXTRA_LDFLAGS) $(LIBS)

$(BUILD)/unit/%: t/unit/%.c t/unit/unit.h $(LIB_SRCS) $(LIB_HDRS) \
        | $(BUILD)/.deps-build
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS) $(EXTRA_CFLAGS) $(WARN) -I$(SRC) -It/unit -o $@ \
	    $< $(LIB_SRCS) $(EXTRA_LDFLAGS) $(LIBS)

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

clean:
	rm -rf $(BUILD) t/servroot*
