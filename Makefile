# ps: a parameter server inside PostgreSQL (PGXS build)
#
#   make && sudo make install     build and install the extension
#   make installcheck             regression, isolation and TAP tests against
#                                 the server at PGHOST/PGPORT (see test/run.sh)

EXTENSION = ps
MODULE_big = ps
OBJS = \
	src/ps.o \
	src/ps_clock.o \
	src/ps_config.o \
	src/ps_dir.o \
	src/ps_filter.o \
	src/ps_funcs.o \
	src/ps_keys.o \
	src/ps_page.o \
	src/ps_rule.o \
	src/ps_sched.o \
	src/ps_state.o \
	src/ps_store.o \
	src/ps_table.o \
	src/ps_tableam.o \
	src/ps_workers.o \
	src/ps_xlog.o

DATA = sql/ps--0.1.sql sql/ps--0.1--0.2.sql sql/ps--0.2.sql sql/ps--0.2--0.3.sql sql/ps--0.3.sql
EXTRA_CLEAN = ps.control

REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/ps--%,$(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=ps

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
ISOLATION = consistency_eventual consistency_sequential consistency_bounded lock_before_privilege
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=ps

PG_CONFIG ?= pg_config
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
PG_CPPFLAGS = -Isrc $(OPENBLAS_CFLAGS)
# -Wextra, less -Wunused-parameter: the access method's callbacks have fixed
# signatures, and PostgreSQL's own headers trip it too.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter
SHLIB_LINK = -lopenblas

# No LLVM bitcode: Debian's PGXS would need clang for it, and nothing here
# benefits from JIT inlining.
override with_llvm = no

# Rebuild objects when the headers they include change (gcc -MMD).
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The repository keeps the control file as ps_ext.control.
ps.control: ps_ext.control
	cp $< $@
