# Makefile — builds the collab extension with PGXS, and the checks around it.
#
#   make                      the extension (collab.so): core/*.c + extension/*.c
#   make install              into the server PG_CONFIG names (PGXS)
#   make installcheck         pg_regress: sql/*.sql against expected/*.out,
#                             then pg_isolation_regress: specs/*.spec
#   make unit                 tests/unit/test_*.c under ASan + UBSan
#   make notifier             build/notifier/collab-notifier (libwebsockets,
#                             libpq, jansson); SANITIZE=1 adds ASan + UBSan
#   make format               clang-format -i on every C file
#   make format-check         fails when a C file is not formatted
#   make lint                 clang-tidy on core/
#   make compile_commands.json   for editors (bear)
#
# The core stays independent of PostgreSQL: core/*.c is compiled here with
# the server's flags, but never includes postgres.h; the unit tests compile it
# alone.

EXTENSION = collab
MODULE_big = collab

CORE_SRCS = $(sort $(wildcard core/*.c))
EXT_SRCS = $(sort $(wildcard extension/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(EXT_SRCS:.c=.o)

DATA = $(sort $(wildcard extension/collab--*.sql))

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
$(OBJS): $(HEADERS)

# --- unit tests -------------------------------------------------------------
# Each tests/unit/test_*.c becomes build/unit/test_* linked with the core
# (and any other tests/unit/*.c helper), all under ASan and UBSan; the first
# sanitizer report aborts the test.

UNIT_CC ?= $(CC)
UNIT_CFLAGS = -std=c11 -g -O1 -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all \
	-Wall -Wextra -Werror -Icore
UNIT_DIR = build/unit
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPER_SRCS = $(filter-out $(UNIT_SRCS),$(sort $(wildcard tests/unit/*.c)))
UNIT_BINS = $(patsubst tests/unit/%.c,$(UNIT_DIR)/%,$(UNIT_SRCS))
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

$(UNIT_BINS): $(UNIT_DIR)/%: tests/unit/%.c $(UNIT_OBJS) $(UNIT_HEADERS)
	@mkdir -p $(@D)
	$(UNIT_CC) $(UNIT_CFLAGS) -Itests/unit -o $@ $< $(UNIT_OBJS) -lm

unit: $(UNIT_BINS)
	@if [ -z "$(UNIT_BINS)" ]; then echo "make unit: no tests/unit/test_*.c"; exit 0; fi; \
	failed=0; \
	for t in $(UNIT_BINS); do \
		echo "--- $$t"; \
		if $(UNIT_ENV) ./$$t; then :; else \
			echo "FAILED: $$t (exit $$?)"; failed=$$((failed + 1)); \
		fi; \
	done; \
	if [ $$failed -ne 0 ]; then echo "make unit: $$failed failed"; exit 1; fi; \
	echo "make unit: all $(words $(UNIT_BINS)) passed"

# --- the notifier ----------------------------------------------------------
# A daemon, not part of the extension: built with the system's libpq,
# libwebsockets and jansson, into build/notifier/.

# the core files the message contract needs (core/wire.h)
NOTIFIER_CORE_SRCS = core/wire.c core/json.c core/arena.c core/status.c
NOTIFIER_SRCS = $(sort $(wildcard notifier/*.c)) $(NOTIFIER_CORE_SRCS)
NOTIFIER_HEADERS = $(wildcard notifier/*.h) $(wildcard core/*.h)
NOTIFIER_BIN = build/notifier/collab-notifier
NOTIFIER_CFLAGS = -std=gnu11 -g -O2 -Wall -Wextra -Werror -Icore \
	-I$(shell $(PG_CONFIG) --includedir)
ifeq ($(SANITIZE),1)
NOTIFIER_CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
endif
NOTIFIER_LIBS = -lwebsockets -ljansson -L$(shell $(PG_CONFIG) --libdir) -lpq

$(NOTIFIER_BIN): $(NOTIFIER_SRCS) $(NOTIFIER_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(NOTIFIER_CFLAGS) -o $@ $(NOTIFIER_SRCS) $(NOTIFIER_LIBS)

notifier: $(NOTIFIER_BIN)

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

lint:
	$(CLANG_TIDY) --quiet $(CORE_SRCS) -- -std=c11 -Icore

# -B rebuilds every object so bear sees every compile.  PGXS would also
# record the clang -emit-llvm commands for JIT bitcode; leave them out so
# each file has one entry.
compile_commands.json: $(CORE_SRCS) $(EXT_SRCS) $(HEADERS) Makefile
	$(BEAR) --output $@ -- $(MAKE) -B with_llvm=no all

.PHONY: unit notifier format format-check lint
