# ps: a parameter server inside PostgreSQL (PGXS build)
#
#   make && sudo make install     build and install the extension
#   make installcheck             regression, isolation and TAP tests against
#                                 the server at PGHOST/PGPORT (see test/run.sh)

EXTENSION = ps
MODULE_big = ps
# src/server: the extension (the only code with PostgreSQL server headers);
# src/common: plain C shared with client programs (see README, "How the
# code is organised").
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/common/*.c src/server/*.c)))

DATA = sql/ps--0.1.sql sql/ps--0.1--0.2.sql sql/ps--0.2.sql sql/ps--0.2--0.3.sql sql/ps--0.3--0.4.sql sql/ps--0.4--0.5.sql sql/ps--0.5.sql
EXTRA_CLEAN = ps.control

REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/ps--%,$(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=ps

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
ISOLATION = consistency_eventual consistency_sequential consistency_bounded lock_before_privilege
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=ps

PG_CONFIG ?= pg_config
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
PG_CPPFLAGS = -Isrc/server -Isrc/common $(OPENBLAS_CFLAGS)
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
