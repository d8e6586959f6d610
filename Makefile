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

DATA = sql/ps--0.1.sql sql/ps--0.1--0.2.sql sql/ps--0.2.sql sql/ps--0.2--0.3.sql sql/ps--0.3--0.4.sql sql/ps--0.4--0.5.sql sql/ps--0.5.sql sql/ps--0.5--0.6.sql sql/ps--0.6.sql sql/ps--0.6--0.7.sql sql/ps--0.7.sql
EXTRA_CLEAN = ps.control src/tools/ps_train $(TRAIN_OBJS)

REGRESS = $(patsubst sql/%.sql,%,$(filter-out sql/ps--%,$(sort $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=ps

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl
ISOLATION = consistency_eventual consistency_sequential consistency_bounded lock_before_privilege
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=ps

PG_CONFIG ?= pg_config
OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
PG_CPPFLAGS = -Isrc/server -Isrc/common $(OPENBLAS_CFLAGS) -I$(shell $(PG_CONFIG) --includedir)
# -Wextra, less -Wunused-parameter: the access method's callbacks have fixed
# signatures, and PostgreSQL's own headers trip it too.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter
SHLIB_LINK = -lopenblas -lzstd -lpq

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

# The client library (src/client): libps-client.so with its header and a
# pkg-config file, linked from its own object and src/common's, against
# libpq; not part of ps.so.
CLIENT_VERSION = 0.7
CLIENT_OBJS = src/client/ps_client_api.o src/client/ps_client_route.o src/client/ps_client_worker.o src/client/ps_client_ring.o \
	src/client/ps_client.o src/client/ps_client_conn.o src/client/ps_client_outcome.o src/client/ps_client_send.o src/client/ps_client_task.o src/client/ps_keymirror.o \
	src/client/ps_keyorder.o src/client/ps_client_filter.o src/client/ps_client_kkt.o \
	src/common/ps_wire.o src/common/ps_keys.o src/common/ps_ring.o
CLIENT_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -fPIC -Wall -Wextra \
	-Isrc/client -Isrc/common -I$(includedir)

all: src/client/libps-client.so src/client/ps-client.pc

CLIENT_HEADERS = src/client/ps_client.h src/client/ps_client_int.h src/client/ps_client_alloc.h src/client/ps_client_conn.h \
	src/client/ps_keymirror.h src/client/ps_keyorder.h src/client/ps_client_filter.h src/client/ps_client_kkt.h \
	src/common/ps_wire.h \
	src/common/ps_keys.h src/common/ps_ring.h

CLIENT_ROUTE_OBJS = src/client/ps_client_api.o src/client/ps_client_route.o src/client/ps_client_worker.o \
	src/client/ps_client_ring.o
$(CLIENT_ROUTE_OBJS): %.o: %.c $(CLIENT_HEADERS) src/client/ps_client_ring.h src/client/ps_client_route.h \
		src/client/ps_client_worker.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client.o: src/client/ps_client.c $(CLIENT_HEADERS)
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_task.o: src/client/ps_client_task.c $(CLIENT_HEADERS)
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_outcome.o: src/client/ps_client_outcome.c $(CLIENT_HEADERS)
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_send.o: src/client/ps_client_send.c $(CLIENT_HEADERS)
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_conn.o: src/client/ps_client_conn.c src/client/ps_client_conn.h \
		src/client/ps_client_alloc.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_keymirror.o: src/client/ps_keymirror.c src/client/ps_keymirror.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_keyorder.o: src/client/ps_keyorder.c src/client/ps_keyorder.h \
		src/client/ps_client_alloc.h src/common/ps_keys.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_filter.o: src/client/ps_client_filter.c src/client/ps_client_filter.h \
		src/client/ps_client_alloc.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/ps_client_kkt.o: src/client/ps_client_kkt.c src/client/ps_client_kkt.h \
		src/client/ps_client_alloc.h
	$(CC) $(CLIENT_CFLAGS) -c -o $@ $<

src/client/libps-client.so: $(CLIENT_OBJS) src/client/libps-client.map
	$(CC) -shared -Wl,-soname,libps-client.so.1 -Wl,--version-script=src/client/libps-client.map \
		-o $@ $(CLIENT_OBJS) -L$(libdir) -lpq -lzstd -lm

# The tools (src/tools): ps_train, built against the client library of
# this tree and installed beside PostgreSQL's programs, with a link in
# TOOLS_LINK_DIR (on PATH).
TOOLS_LINK_DIR ?= /usr/local/bin
TRAIN_OBJS = src/tools/ps_train.o src/tools/ps_train_worker.o src/tools/ps_train_batch.o \
	src/tools/ps_train_l1.o src/tools/ps_train_solver.o src/tools/ps_train_sync.o \
	src/tools/ps_train_data.o src/tools/ps_train_tables.o
TRAIN_HEADERS = src/tools/ps_train_data.h src/tools/ps_train_worker.h src/client/ps_client.h \
	src/tools/ps_train_batch.h src/tools/ps_train_l1.h src/tools/ps_train_solver.h \
	src/tools/ps_train_sync.h src/tools/ps_train_tables.h \
	src/common/ps_libsvm.h src/common/ps_logistic.h

all: src/tools/ps_train

src/tools/%.o: src/tools/%.c $(TRAIN_HEADERS)
	$(CC) $(CLIENT_CFLAGS) -Isrc/tools -c -o $@ $<

src/tools/ps_train: $(TRAIN_OBJS) src/common/ps_libsvm.o src/client/libps-client.so
	$(CC) -o $@ $(TRAIN_OBJS) src/common/ps_libsvm.o -Lsrc/client -lps-client \
		-L$(libdir) -lpq -lm

install: install-tools
install-tools: src/tools/ps_train
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) src/tools/ps_train '$(DESTDIR)$(bindir)/ps_train'
	$(MKDIR_P) '$(DESTDIR)$(TOOLS_LINK_DIR)'
	ln -sf '$(bindir)/ps_train' '$(DESTDIR)$(TOOLS_LINK_DIR)/ps_train'

uninstall: uninstall-tools
uninstall-tools:
	rm -f '$(DESTDIR)$(bindir)/ps_train' '$(DESTDIR)$(TOOLS_LINK_DIR)/ps_train'

src/client/ps-client.pc: src/client/ps-client.pc.in
	sed -e 's|@libdir@|$(libdir)|g' -e 's|@includedir@|$(includedir)|g' \
		-e 's|@version@|$(CLIENT_VERSION)|g' $< > $@

install: install-client
install-client: src/client/libps-client.so src/client/ps-client.pc
	$(MKDIR_P) '$(DESTDIR)$(libdir)/pkgconfig' '$(DESTDIR)$(includedir)'
	$(INSTALL_SHLIB) src/client/libps-client.so '$(DESTDIR)$(libdir)/libps-client.so.1'
	ln -sf libps-client.so.1 '$(DESTDIR)$(libdir)/libps-client.so'
	$(INSTALL_DATA) src/client/ps_client.h '$(DESTDIR)$(includedir)/ps_client.h'
	$(INSTALL_DATA) src/client/ps-client.pc '$(DESTDIR)$(libdir)/pkgconfig/ps-client.pc'

uninstall: uninstall-client
uninstall-client:
	rm -f '$(DESTDIR)$(libdir)/libps-client.so.1' '$(DESTDIR)$(libdir)/libps-client.so' \
		'$(DESTDIR)$(includedir)/ps_client.h' '$(DESTDIR)$(libdir)/pkgconfig/ps-client.pc'

EXTRA_CLEAN += $(CLIENT_ROUTE_OBJS) src/client/ps_client.o src/client/ps_client_conn.o src/client/ps_client_outcome.o src/client/ps_client_send.o src/client/ps_client_task.o src/client/ps_keymirror.o src/client/ps_keyorder.o src/client/ps_client_filter.o src/client/ps_client_kkt.o src/client/libps-client.so src/client/ps-client.pc

.PHONY: install-client uninstall-client
