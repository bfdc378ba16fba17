# Makefile — the one build entry of collab: the extension (PGXS), the
# notifier, and every program the tests and benchmarks run.  Scripts under
# tests/ and bench/ call a target here, then run what it built.
#
#   make                      the extension (collab.so): core/*.c + extension/*.c,
#                             and extension/collab--$(EXTVERSION).sql from
#                             extension/collab.sql
#   make install              into the server PG_CONFIG names (PGXS), with
#                             collab_proxy (proxy/, docs/scale-out.md)
#   make install-proxy        collab_proxy alone (SQL only, needs plproxy)
#   make installcheck         pg_regress: sql/*.sql against expected/*.out,
#                             then pg_isolation_regress: specs/*.spec
#   make unit                 tests/unit/test_*.c under ASan + UBSan, run
#                             (test_jwt with notifier/jwt.c, OpenSSL, jansson)
#   make notifier             build/notifier/collab-notifier (libwebsockets,
#                             libpq, jansson)
#   make notifier-tests       build/tests-notifier/: a checked notifier and
#                             protocol_test, converge_test (tests/notifier/check),
#                             stallproxy (tests/notifier/faults)
#   make stress               build/stress/stress: tests/stress/*.c with
#                             tests/lib/*.c (tests/stress/run)
#   make demo                 build/demo/: the demo page and only what it
#                             loads, the folder --static serves (tools/run,
#                             tests/e2e/run); needs `npm ci --prefix client`
#   make fuzz                 build/fuzz/fuzz_*: libFuzzer targets, always with
#                             ASan + UBSan; FUZZ_CC (default clang) builds them
#                             (tests/fuzz/smoke)
#   make diff-cli             build/diff/delta_cli (tests/diff/run)
#   make bench-core           build/bench/core_bench (bench/run)
#   make bench-notifier       the notifier, build/bench/notifier_load
#                             (bench/notifier/run), notifier_idle and
#                             notifier_sendcost
#                             (bench/notifier/idle)
#   make bench-seal           build/bench/seal_bench: a sealed payload's
#                             check next to its JSON parse
#   make format               clang-format -i on every C file
#   make format-check         fails when a C file is not formatted
#   make lint                 clang-tidy on core/, extension/ and notifier/
#   make compile_commands.json   for editors (bear)
#
# Programs (everything above but the extension and the unit tests) share one
# set of flags, PROG_CFLAGS: -std=gnu11 -g -O2 -Wall -Wextra -Werror.
#   SANITIZE=1   adds ASan + UBSan (-O1, the first report aborts)
#   CHECKED=1    a checked build: the extension with Assert() on (see
#                PG_CPPFLAGS); programs get COLLAB_CHECKED, for invariant checks
#                too costly for production (walking rings, lists, reference
#                counts).  assert() itself is on in every build but the
#                benchmarks (-DNDEBUG, as a release would be); notifier-tests
#                is always checked, so the tests run every check.
# A program rebuilds when its flags change (build/*/.flags remembers them),
# so SANITIZE=1 and a plain build never mix objects.
#
# The version lives in collab.control only: EXTVERSION is read from it, names
# the install script and reaches the notifier as COLLAB_VERSION.
#
# The core stays independent of PostgreSQL: core/*.c is compiled here with
# the server's flags, but never includes postgres.h; the unit tests compile it
# alone.

EXTENSION = collab
MODULE_big = collab

CORE_SRCS = $(sort $(wildcard core/*.c))
EXT_SRCS = $(sort $(wildcard extension/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(EXT_SRCS:.c=.o)

# The notifier links the core files the message contract needs (core/wire.h).
NOTIFIER_CORE_SRCS = core/wire.c core/json.c core/arena.c core/status.c
NOTIFIER_HEADERS = $(wildcard notifier/*.h)

# One source for the install script, as pgvector does: extension/collab.sql
# is the current version's full script, copied to collab--$(EXTVERSION).sql
# (git-ignored, removed by make clean).  Released full scripts (0.1.0, the
# oldest an upgrade starts from) and the upgrade scripts collab--A--B.sql are
# in the repository and never edited.
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" collab.control)
ifeq ($(EXTVERSION),)
$(error no default_version in collab.control)
endif
DATA_built = extension/collab--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(sort $(wildcard extension/collab--*.sql)))

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
# the tests hold non-ASCII text (emoji); the core speaks UTF-8
REGRESS_OPTS = --encoding=UTF8

# Isolation tests (pg_isolation_regress): specs/*.spec against
# expected/<name>.out, run by make installcheck after the pg_regress suite,
# in database isolation_regression; results and regression.diffs go to
# output_iso/.
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --encoding=UTF8

# The server's headers are not written for -Wextra (unused parameters in
# inline functions): -isystem makes them system headers, whose warnings the
# compiler does not report, while our own code gets every warning.
PG_CPPFLAGS = -I$(srcdir)/core -isystem $(includedir_server)
PG_CFLAGS = -Wall -Wextra -Werror
# CHECKED=1: the extension with PostgreSQL's Assert() on, as tools/test builds
# it (USE_ASSERT_CHECKING; c.h supports such an extension in a server built
# without assertions), so the invariants its headers state are checked by
# every test run.  build/extension/.flags rebuilds the objects when this
# changes (PGXS keeps objects it thinks are intermediate).
ifeq ($(CHECKED),1)
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif

EXTRA_CLEAN = build compile_commands.json

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
ifeq ($(PGXS),)
$(error $(PG_CONFIG) not found: install postgresql-server-dev-15 (tools/deps) or set PG_CONFIG)
endif
include $(PGXS)

# Every object depends on every header: the project is small, and a stale
# object after a header change costs more than a rebuild.
HEADERS = $(wildcard core/*.h extension/*.h)
$(OBJS): $(HEADERS) build/extension/.flags

build/extension/.flags: FORCE
	$(call remember_flags,CHECKED=$(CHECKED))

$(DATA_built): extension/collab.sql collab.control
	cp $< $@

# collab_proxy, the proxy database's extension of a partitioned deployment
# (docs/scale-out.md): SQL only, its own PGXS Makefile in proxy/, installed
# with collab (it declares collab's pure functions from collab's library).
install: install-proxy
install-proxy:
	$(MAKE) -C proxy install PG_CONFIG=$(PG_CONFIG)
.PHONY: install-proxy

# a failed recipe leaves no half-built target behind to pass for a good one
.DELETE_ON_ERROR:

# --- unit tests -------------------------------------------------------------
# Each tests/unit/test_*.c becomes build/unit/test_* linked with the core
# (and any other tests/unit/*.c helper), all under ASan and UBSan; the first
# sanitizer report aborts the test.

UNIT_CC ?= $(CC)
# the notifier's test_*.c that need a database (run by tests/notifier/check)
NT_DB_TESTS = tests/notifier/test_contract.c
UNIT_CFLAGS = -std=c11 -g -Wall -Wextra -Werror $(SAN_CFLAGS) -Icore
UNIT_DIR = build/unit
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPER_SRCS = $(filter-out $(UNIT_SRCS),$(sort $(wildcard tests/unit/*.c)))
UNIT_BINS = $(patsubst tests/unit/%.c,$(UNIT_DIR)/%,$(UNIT_SRCS))
# built with more than the core (below)
UNIT_JWT = $(UNIT_DIR)/test_jwt
UNIT_JWT_SRCS = notifier/jwt.c tests/lib/jwtsign.c
UNIT_CORE_OBJS = $(patsubst core/%.c,$(UNIT_DIR)/core/%.o,$(CORE_SRCS))
UNIT_HELPER_OBJS = $(patsubst tests/unit/%.c,$(UNIT_DIR)/%.o,$(UNIT_HELPER_SRCS))
UNIT_OBJS = $(UNIT_CORE_OBJS) $(UNIT_HELPER_OBJS)
UNIT_HEADERS = $(wildcard core/*.h tests/unit/*.h)
UNIT_ENV = ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1

# static pattern rules: explicit targets, so make never treats the objects
# as intermediate files (skipped when missing, deleted after the link)
$(UNIT_CORE_OBJS): $(UNIT_DIR)/core/%.o: core/%.c $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -c -o $@ $<

$(UNIT_HELPER_OBJS): $(UNIT_DIR)/%.o: tests/unit/%.c $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -Itests/unit -c -o $@ $<

$(filter-out $(UNIT_JWT),$(UNIT_BINS)): $(UNIT_DIR)/%: tests/unit/%.c \
		$(UNIT_OBJS) $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -Itests/unit -o $@ $< $(UNIT_OBJS) -lm

# test_jwt: the notifier's token verifier (notifier/jwt.c) with the test
# signer (tests/lib/jwtsign.c), jansson and OpenSSL.  --wrap=malloc sends
# jwt.c's own mallocs through the test, which fails each in turn.  GNU C,
# as the notifier is built (and the test writes its key files with POSIX).
$(UNIT_JWT): tests/unit/test_jwt.c $(UNIT_JWT_SRCS) notifier/jwt.h \
		tests/lib/jwtsign.h $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -std=gnu11 -Inotifier -Itests/lib -Itests/unit -o $@ $< \
		$(UNIT_JWT_SRCS) -Wl,--wrap=malloc -ljansson -lcrypto

# The notifier's parts that need no database and no socket (the document
# window): tests/notifier/test_*.c that are not in NT_DB_TESTS, checked
# (COLLAB_CHECKED) and sanitized like the core's.
NUNIT_SRCS = $(filter-out $(NT_DB_TESTS),$(sort $(wildcard tests/notifier/test_*.c)))
NUNIT_BINS = $(patsubst tests/notifier/%.c,$(UNIT_DIR)/notifier/%,$(NUNIT_SRCS))
NUNIT_LINK = notifier/window.c notifier/protocol.c notifier/log.c notifier/plproxy.c \
	$(NOTIFIER_CORE_SRCS)

$(NUNIT_BINS): $(UNIT_DIR)/notifier/%: tests/notifier/%.c $(NUNIT_LINK) \
		$(NOTIFIER_HEADERS) $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) -std=gnu11 -g -Wall -Wextra -Werror $(SAN_CFLAGS) \
		-DCOLLAB_CHECKED -DCOLLAB_VERSION=\"$(EXTVERSION)\" -Icore -Inotifier \
		-Itests/unit -I$(PG_INCLUDEDIR) -o $@ $< $(NUNIT_LINK) \
		-ljansson -lwebsockets

unit: $(UNIT_BINS) $(NUNIT_BINS)
	@if [ -z "$(UNIT_BINS)" ]; then echo "make unit: no tests/unit/test_*.c"; exit 0; fi; \
	failed=0; \
	for t in $(UNIT_BINS) $(NUNIT_BINS); do \
		echo "--- $$t"; \
		if $(UNIT_ENV) ./$$t; then :; else \
			echo "FAILED: $$t (exit $$?)"; failed=$$((failed + 1)); \
		fi; \
	done; \
	if [ $$failed -ne 0 ]; then echo "make unit: $$failed failed"; exit 1; fi; \
	echo "make unit: all $(words $(UNIT_BINS) $(NUNIT_BINS)) passed"

# --- programs: one set of flags -------------------------------------------
# Each program's sources are compiled in one command; core/*.c comes along
# where needed.  build/<dir>/.flags holds the compiler and flags its programs
# were built with: rewritten only when they change, it rebuilds them then.

PG_INCLUDEDIR := $(shell $(PG_CONFIG) --includedir)
PG_LIBDIR := $(shell $(PG_CONFIG) --libdir)

SAN_CFLAGS = -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
PROG_CFLAGS = -std=gnu11 -g -O2 -Wall -Wextra -Werror \
	-DCOLLAB_VERSION=\"$(EXTVERSION)\"
ifeq ($(SANITIZE),1)
PROG_CFLAGS += $(SAN_CFLAGS)
endif
ifeq ($(CHECKED),1)
PROG_CFLAGS += -DCOLLAB_CHECKED
endif
LIBPQ = -L$(PG_LIBDIR) -lpq

# $(call remember_flags,WORDS): the recipe of a .flags file
define remember_flags
	@mkdir -p $(@D)
	@echo '$(1)' | cmp -s - $@ || echo '$(1)' >$@
endef
.PHONY: FORCE
FORCE:

CORE_HEADERS = $(wildcard core/*.h)
# What the tests share (tests/lib/): the random generator and edits, and the
# C OT client, built into each program that uses them, against the core;
# tests/lib/wsc.c, the WebSocket client, goes into those that need it;
# tests/lib/jwtsign.c, the token signer, into test_jwt (make unit).
TESTLIB_SRCS = tests/lib/edits.c tests/lib/otclient.c
TESTLIB_HEADERS = tests/lib/edits.h tests/lib/otclient.h
NOTIFIER_SRCS = $(sort $(wildcard notifier/*.c)) $(NOTIFIER_CORE_SRCS)
NOTIFIER_CFLAGS = -I$(PG_INCLUDEDIR) -Icore
NOTIFIER_LIBS = -lwebsockets -lev -ljansson -lcrypto $(LIBPQ)

# The notifier: a daemon, not part of the extension, built with the system's
# libpq, libwebsockets and jansson.
NOTIFIER_BIN = build/notifier/collab-notifier

build/notifier/.flags: FORCE
	$(call remember_flags,$(CC) $(PROG_CFLAGS))

$(NOTIFIER_BIN): $(NOTIFIER_SRCS) $(NOTIFIER_HEADERS) $(CORE_HEADERS) \
		build/notifier/.flags
	$(CC) $(PROG_CFLAGS) $(NOTIFIER_CFLAGS) -o $@ $(NOTIFIER_SRCS) $(NOTIFIER_LIBS)

notifier: $(NOTIFIER_BIN)

# The notifier's tests (tests/notifier/check): a checked notifier of their
# own, so the production build is never a checked one by accident, and the
# WebSocket test programs; SANITIZE=1 builds all of them with ASan + UBSan.
NT_DIR = build/tests-notifier
NT_CFLAGS = $(PROG_CFLAGS) -DCOLLAB_CHECKED
NT_PROGS = $(patsubst tests/notifier/%.c,$(NT_DIR)/%,\
	$(wildcard tests/notifier/protocol_test.c tests/notifier/converge_test.c \
	$(NT_DB_TESTS)))
# tests/lib/: what the notifier's tests and benchmarks share (wsc, the
# WebSocket client)
NT_DEPS = tests/lib/wsc.c tests/lib/wsc.h $(NT_DIR)/.flags

$(NT_DIR)/.flags: FORCE
	$(call remember_flags,$(CC) $(NT_CFLAGS))

$(NT_DIR)/collab-notifier: $(NOTIFIER_SRCS) $(NOTIFIER_HEADERS) $(CORE_HEADERS) \
		$(NT_DIR)/.flags
	$(CC) $(NT_CFLAGS) $(NOTIFIER_CFLAGS) -o $@ $(NOTIFIER_SRCS) $(NOTIFIER_LIBS)

# protocol_test: main and the order of the topics (protocol_test.c), the
# harness and raw client they share, and the topics, proto_*.c
PT_SRCS = tests/notifier/protocol_test.c tests/notifier/harness.c \
	tests/notifier/raw.c $(sort $(wildcard tests/notifier/proto_*.c))
PT_HEADERS = tests/notifier/harness.h tests/notifier/raw.h

$(NT_DIR)/protocol_test: $(PT_SRCS) $(PT_HEADERS) $(NT_DEPS) \
		tests/lib/jwtsign.c tests/lib/jwtsign.h
	$(CC) $(NT_CFLAGS) $(NOTIFIER_CFLAGS) -Itests/lib -o $@ $(PT_SRCS) \
		tests/lib/wsc.c tests/lib/jwtsign.c $(NOTIFIER_LIBS) -lm

$(NT_DIR)/converge_test: tests/notifier/converge_test.c $(NT_DEPS) \
		$(CORE_SRCS) $(CORE_HEADERS) $(TESTLIB_SRCS) $(TESTLIB_HEADERS)
	$(CC) $(NT_CFLAGS) $(NOTIFIER_CFLAGS) -Itests/lib -o $@ $< \
		tests/lib/wsc.c $(TESTLIB_SRCS) $(CORE_SRCS) $(NOTIFIER_LIBS) -lm

# a TCP proxy whose forwarding stops on a signal (tests/notifier/faults)
$(NT_DIR)/stallproxy: tests/notifier/stallproxy.c $(NT_DIR)/.flags
	$(CC) $(NT_CFLAGS) -o $@ $<

# the database against the notifier's encoders (core/wire.h), no WebSocket
$(NT_DIR)/test_contract: tests/notifier/test_contract.c $(NT_DIR)/.flags \
		notifier/protocol.c $(NOTIFIER_CORE_SRCS) $(NOTIFIER_HEADERS) \
		$(CORE_HEADERS)
	$(CC) $(NT_CFLAGS) $(NOTIFIER_CFLAGS) -Inotifier -Itests/unit -o $@ $< \
		notifier/protocol.c $(NOTIFIER_CORE_SRCS) $(NOTIFIER_LIBS)

notifier-tests: $(NT_DIR)/collab-notifier $(NT_PROGS) $(NT_DIR)/stallproxy

# Concurrent OT clients against a real cluster (tests/stress/run): every
# tests/stress/*.c with the test library and the core.
STRESS_SRCS = $(sort $(wildcard tests/stress/*.c))

build/stress/.flags: FORCE
	$(call remember_flags,$(CC) $(PROG_CFLAGS))

build/stress/stress: $(STRESS_SRCS) $(wildcard tests/stress/*.h) \
		$(TESTLIB_SRCS) $(TESTLIB_HEADERS) $(CORE_SRCS) $(CORE_HEADERS) \
		build/stress/.flags
	$(CC) $(PROG_CFLAGS) -Icore -Itests/lib -I$(PG_INCLUDEDIR) -o $@ \
		$(STRESS_SRCS) $(TESTLIB_SRCS) $(CORE_SRCS) $(LIBPQ) -lm

stress: build/stress/stress

# The core as a command-line tool for the differential tests (tests/diff/run).
build/diff/.flags: FORCE
	$(call remember_flags,$(CC) $(PROG_CFLAGS))

build/diff/delta_cli: tests/diff/delta_cli.c $(CORE_SRCS) $(CORE_HEADERS) \
		build/diff/.flags
	$(CC) $(PROG_CFLAGS) -Icore -o $@ $< $(CORE_SRCS) -lm

diff-cli: build/diff/delta_cli

# libFuzzer targets (tests/fuzz/smoke): always under ASan + UBSan, with
# clang.  A target that needs more than the core names it in its header
# comment, on a line " * build: SOURCES AND FLAGS".
FUZZ_CC ?= clang
FUZZ_CFLAGS = $(PROG_CFLAGS) $(SAN_CFLAGS) -fsanitize=fuzzer -Icore -Itests/fuzz
FUZZ_BINS = $(patsubst tests/fuzz/%.c,build/fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))

build/fuzz/.flags: FORCE
	$(call remember_flags,$(FUZZ_CC) $(FUZZ_CFLAGS))

$(FUZZ_BINS): build/fuzz/%: tests/fuzz/%.c $(CORE_SRCS) $(CORE_HEADERS) \
		$(NOTIFIER_SRCS) $(NOTIFIER_HEADERS) $(wildcard tests/fuzz/*.h) \
		$(TESTLIB_SRCS) $(TESTLIB_HEADERS) build/fuzz/.flags
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(CORE_SRCS) $< \
		$$(sed -n 's/^ \* build: //p' $<)

fuzz: $(FUZZ_BINS)

# Benchmarks: optimised as a release would be, without assert().
BENCH_CFLAGS = $(PROG_CFLAGS) -DNDEBUG

build/bench/.flags: FORCE
	$(call remember_flags,$(CC) $(BENCH_CFLAGS))

build/bench/core_bench: bench/core_bench.c $(CORE_SRCS) $(CORE_HEADERS) \
		build/bench/.flags
	$(CC) $(BENCH_CFLAGS) -Icore -o $@ $< $(CORE_SRCS) -lm

bench-core: build/bench/core_bench

build/bench/notifier_load: bench/notifier/load.c tests/lib/wsc.c \
		tests/lib/wsc.h build/bench/.flags
	$(CC) $(BENCH_CFLAGS) -Itests/lib -o $@ $< tests/lib/wsc.c \
		-lwebsockets -lm

# many idle clients from one machine, on epoll (bench/notifier/idle)
build/bench/notifier_idle: bench/notifier/idle.c build/bench/.flags
	$(CC) $(BENCH_CFLAGS) -o $@ $<

# the floor under a fan-out delivery: one loopback send (bench/notifier/sendcost.c)
build/bench/notifier_sendcost: bench/notifier/sendcost.c build/bench/.flags
	$(CC) $(BENCH_CFLAGS) -o $@ $<

bench-notifier: $(NOTIFIER_BIN) build/bench/notifier_load \
		build/bench/notifier_idle build/bench/notifier_sendcost

build/bench/seal_bench: bench/seal_bench.c $(CORE_SRCS) $(CORE_HEADERS) \
		build/bench/.flags
	$(CC) $(BENCH_CFLAGS) -Icore -o $@ $< $(CORE_SRCS) -ljansson -lcrypto -lm

bench-seal: build/bench/seal_bench

# The demo as --static serves it: the page, its scripts and styles, and the
# build of Quill it loads (from client/node_modules, pinned by
# client/package-lock.json) under vendor/.  Nothing else: the
# notifier serves every file of the folder, so client/ itself (its
# node_modules/, package files, tests) is never served.  Made afresh each
# time in a folder of its own, then moved in place.
DEMO_DIR = build/demo
DEMO_FILES = $(addprefix client/,index.html demo.js demo.css favicon.svg \
	collab-client.js quill-binding.js cursors.js cursors.css)
DEMO_VENDOR = client/node_modules/quill/dist/quill.js \
	client/node_modules/quill/dist/quill.snow.css

demo:
	@for f in $(DEMO_VENDOR); do \
		[ -f $$f ] || { echo "make demo: no $$f: run npm ci --prefix client" >&2; \
			exit 1; }; \
	done
	@rm -rf $(DEMO_DIR).new
	@mkdir -p $(DEMO_DIR).new/vendor
	cp $(DEMO_FILES) $(DEMO_DIR).new/
	cp $(DEMO_VENDOR) $(DEMO_DIR).new/vendor/
	@rm -rf $(DEMO_DIR)
	@mv $(DEMO_DIR).new $(DEMO_DIR)

.PHONY: notifier notifier-tests stress diff-cli fuzz bench-core bench-notifier \
	bench-seal demo

# --- style and editors ------------------------------------------------------

CLANG_FORMAT ?= clang-format
CLANG_TIDY ?= clang-tidy
BEAR ?= bear

FORMAT_SRCS = $(sort $(wildcard core/*.[ch] extension/*.[ch] notifier/*.[ch] \
	tests/*/*.[ch] bench/*.[ch] bench/*/*.[ch]))

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

format-check:
	$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)

# Each part with the flags it is built with: the core as plain C11, the
# extension with the server's headers (as system headers: their warnings are
# not ours), the notifier with libpq's.
lint:
	$(CLANG_TIDY) --quiet $(CORE_SRCS) -- -std=c11 -Icore
	$(CLANG_TIDY) --quiet $(EXT_SRCS) -- -std=gnu11 -D_GNU_SOURCE -Icore \
		-isystem $(includedir_server)
	$(CLANG_TIDY) --quiet $(NOTIFIER_SRCS) -- -std=gnu11 \
		-DCOLLAB_VERSION=\"$(EXTVERSION)\" $(NOTIFIER_CFLAGS)

# -B rebuilds every object so bear sees every compile.  PGXS would also
# record the clang -emit-llvm commands for JIT bitcode; leave them out so
# each file has one entry.
compile_commands.json: $(CORE_SRCS) $(EXT_SRCS) $(HEADERS) Makefile
	$(BEAR) --output $@ -- $(MAKE) -B with_llvm=no all

.PHONY: unit format format-check lint
