# cacheform — build, test, lint, install, demo.
# Every library comes through pkg-config; `make deps` installs what is missing.

PREFIX     ?= /usr/local
CC         ?= cc
PKG_CONFIG ?= pkg-config

LIB_PKGS  = yaml-0.1 libcurl json-c openssl libgit2 libpcre2-8
FAKE_PKGS = libmicrohttpd json-c openssl
TEST_PKGS = cmocka

# Debian packages behind the pkg-config names above (checked with dpkg), split in two:
# DEB_LIBS is all `make` and `make install` need (`make deps`); DEB_DEV_LIBS and DEB_TOOLS
# are for the tests, lint, fuzzing, demo and benchmarks (`make deps-dev`). The tools are
# checked with command -v, since some machines carry them from elsewhere (e.g. npm):
# COMMAND:PACKAGE.
DEB_LIBS = pkg-config libyaml-dev libcurl4-openssl-dev libjson-c-dev libssl-dev \
	libgit2-dev libmicrohttpd-dev libpcre2-dev
DEB_DEV_LIBS = libcmocka-dev libclang-rt-14-dev
DEB_TOOLS = bats:bats jq:jq git:git curl:curl openssl:openssl clang:clang cppcheck:cppcheck \
	clang-format:clang-format node:nodejs npm:npm wrk:wrk shellcheck:shellcheck \
	strace:strace groff:groff-base /usr/bin/time:time timeout:coreutils python3:python3 \
	dpkg-buildpackage:dpkg-dev dh:debhelper fakeroot:fakeroot xmllint:libxml2-utils \
	zsh:zsh fish:fish

WARN   = -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	 -Wmissing-prototypes -Wvla -Wwrite-strings -fno-common
CSTD   = -std=c17
OPT   ?= -O2 -g
SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# VARIANT=release (bin/) or VARIANT=san ($(BUILD)/san/bin, used by `make test`).
# BUILD lets several checkouts or people build side by side (BUILD=build/me).
BUILD   ?= build
VARIANT ?= release
ifeq ($(VARIANT),san)
  VFLAGS = $(SAN) -O1 -g
  BINDIR = $(BUILD)/san/bin
else
  VFLAGS = $(OPT)
  BINDIR = $(if $(filter build,$(BUILD)),bin,$(BUILD)/bin)
endif
OBJDIR = $(BUILD)/$(VARIANT)/obj

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(FAKE_PKGS) 2>/dev/null)
# libcurl, libgit2 and OpenSSL are compiled against but not linked: reconcile/http_lib.c,
# reconcile/repo_lib.c and reconcile/crypto_lib.c load them when used (dlopen), so the commands
# that never reach the network do not map libcurl, one that reads the working tree maps libgit2
# only for its check, and one that hashes nothing never maps libcrypto (README: Memory). The
# sonames they load are those of the libraries built against. fakecdn links OpenSSL itself
# (FAKE_PKGS).
LINK_PKGS  = $(filter-out libcurl libgit2 openssl,$(LIB_PKGS))
lib_soname = $(shell objdump -p "$$($(PKG_CONFIG) --variable=libdir $(1))/$(1).so" 2>/dev/null | \
	sed -n 's/^ *SONAME *//p')
LIBCURL_SONAME := $(call lib_soname,libcurl)
LIBGIT2_SONAME := $(call lib_soname,libgit2)
LIBCRYPTO_SONAME := $(call lib_soname,libcrypto)
SONAME_DEFS = $(if $(LIBCURL_SONAME),-DHTTP_LIBCURL_SONAME='"$(LIBCURL_SONAME)"') \
	$(if $(LIBGIT2_SONAME),-DREPO_LIBGIT2_SONAME='"$(LIBGIT2_SONAME)"') \
	$(if $(LIBCRYPTO_SONAME),-DCRYPTO_LIBCRYPTO_SONAME='"$(LIBCRYPTO_SONAME)"')
LIB_LIBS   := $(shell $(PKG_CONFIG) --libs $(LINK_PKGS) 2>/dev/null)
FAKE_LIBS  := $(shell $(PKG_CONFIG) --libs $(FAKE_PKGS) 2>/dev/null)
TEST_LIBS  := $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

# The version header is generated per build directory (reconcile/base/gen_version.sh) and
# rewritten only when the version changes. CACHEFORM_URL is the home page the binary names
# (User-Agent, SARIF helpUri for schema/codes.md).
CACHEFORM_URL ?= https://github.com/cacheform/cacheform
GEN_DIR   = $(BUILD)/gen
VERSION_H = $(GEN_DIR)/reconcile/base/version_gen.h

ALL_CFLAGS = $(CSTD) $(WARN) $(VFLAGS) -I. -I$(GEN_DIR) $(PKG_CFLAGS) $(SONAME_DEFS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(VFLAGS) $(LDFLAGS)

LIB_SRCS  = $(sort $(wildcard reconcile/base/*.c reconcile/*.c schema/*.c))
CF_SRCS   = $(sort $(wildcard cmd/cacheform/*.c))
FAKE_SRCS = $(sort $(wildcard cmd/fakecdn/*.c))
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS = $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJS  = $(LIB_SRCS:%.c=$(OBJDIR)/%.o)
CF_OBJS   = $(CF_SRCS:%.c=$(OBJDIR)/%.o)
FAKE_OBJS = $(FAKE_SRCS:%.c=$(OBJDIR)/%.o)
LIBA      = $(OBJDIR)/libcacheform.a
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/$(VARIANT)/unit/%)
FUZZ_REPLAY_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/$(VARIANT)/fuzz/%)

.PHONY: all binaries deps deps-dev dist deb test unit-bins lint install demo bench bench-validate fuzz clean check-deps
# Recursive so that pkg-config flags are read again after `deps` installed a library.
all: check-deps
	@$(MAKE) --no-print-directory binaries

binaries: $(BINDIR)/cacheform $(BINDIR)/fakecdn

# Installs the Debian packages that are missing when run as root; otherwise prints the one
# line to run. `deps` is the runtime build (DEB_LIBS), `deps-dev` adds the test tools.
deps:
	@sh tests/deps.sh "$(DEB_LIBS)" ""

deps-dev:
	@sh tests/deps.sh "$(DEB_LIBS) $(DEB_DEV_LIBS)" "$(DEB_TOOLS)"

# Only the runtime libraries are checked on every build; test libraries by `make test`.
check-deps:
	@$(PKG_CONFIG) --exists $(LIB_PKGS) $(FAKE_PKGS) 2>/dev/null || $(MAKE) --no-print-directory deps

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(VERSION_H): FORCE
	@sh reconcile/base/gen_version.sh $@ '$(CACHEFORM_URL)'

$(OBJDIR)/reconcile/base/version.o: $(VERSION_H)

.PHONY: FORCE
FORCE:

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BINDIR)/cacheform: $(CF_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CF_OBJS) $(LIBA) $(LIB_LIBS)

$(BINDIR)/fakecdn: $(FAKE_OBJS) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(FAKE_OBJS) $(LIBA) $(FAKE_LIBS) $(LIB_LIBS)

# Unit tests may include cmd/fakecdn/*.c modules directly when they test emulator code.
$(BUILD)/$(VARIANT)/unit/%: tests/unit/%.c $(LIBA) $(filter-out $(OBJDIR)/cmd/fakecdn/main.o,$(FAKE_OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(filter-out $(OBJDIR)/cmd/fakecdn/main.o,$(FAKE_OBJS)) $(LIBA) $(LIB_LIBS) $(FAKE_LIBS) $(TEST_LIBS)

# Fuzz targets, built without clang as corpus replayers (tests/fuzz/replay.c supplies main).
$(BUILD)/$(VARIANT)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBA) $(LIB_LIBS)

unit-bins: $(UNIT_BINS) $(FUZZ_REPLAY_BINS)

# The one test command: sanitized build, unit tests, fuzz corpus replay, command-line tests.
test: deps-dev
	@$(MAKE) --no-print-directory -j2 VARIANT=san binaries unit-bins
	@BUILD=$(BUILD) VARIANT=san bash tests/run.sh

# cppcheck 2.10 reports a buffer that snprintf fills through a pointer as uninitialised
# across translation units (ctuuninitvar); that check is off, the rest are errors.
lint:
	@clang-format --dry-run --Werror $(LIB_SRCS) $(CF_SRCS) $(FAKE_SRCS) $(wildcard reconcile/*.h reconcile/base/*.h schema/*.h cmd/*/*.h)
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=ctuuninitvar -I. reconcile schema cmd
	@! grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' $(LIB_SRCS) $(CF_SRCS) $(FAKE_SRCS) || \
	  { echo "lint: banned function" >&2; exit 1; }
	@bash tests/lint_layers.sh
	@echo "lint: ok"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BINDIR)/cacheform $(BINDIR)/fakecdn $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/cacheform
	install -m 644 schema/cacheform.schema.json $(DESTDIR)$(PREFIX)/share/cacheform/
	if [ -f cmd/cacheform/cacheform.1 ]; then install -m 644 cmd/cacheform/cacheform.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	if [ -f cmd/cacheform/cacheform.bash ]; then install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions && \
	  install -m 644 cmd/cacheform/cacheform.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cacheform; fi
	install -d $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BINDIR)/cacheform completion zsh >$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_cacheform
	$(BINDIR)/cacheform completion fish >$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cacheform.fish
	chmod 644 $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_cacheform $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cacheform.fish

# A release tarball of the committed tree plus VERSION (line 1 version, line 2 commit), which
# gen_version.sh reads where there is no git: $(BUILD)/dist/cacheform-VERSION.tar.gz.
DIST_DIR = $(BUILD)/dist
dist: $(VERSION_H)
	@git diff --quiet HEAD 2>/dev/null || { echo "dist: uncommitted changes (or not a git checkout); commit first" >&2; exit 1; }
	@v=$$(sed -n 's/^#define CF_GEN_VERSION "\(.*\)"$$/\1/p' $(VERSION_H)); \
	c=$$(sed -n 's/^#define CF_GEN_COMMIT "\(.*\)"$$/\1/p' $(VERSION_H)); \
	d=$(DIST_DIR)/cacheform-$$v; rm -rf $$d && mkdir -p $$d && \
	git archive --format=tar HEAD | tar -x -C $$d && printf '%s\n%s\n' "$$v" "$$c" >$$d/VERSION && \
	tar -C $(DIST_DIR) --sort=name --owner=0 --group=0 --numeric-owner -czf $$d.tar.gz cacheform-$$v && \
	rm -rf $$d && echo "$$d.tar.gz"

# The Debian package, built from the release tarball with the standard tools
# (dpkg-buildpackage -us -uc -b): $(BUILD)/deb/cacheform_VERSION_ARCH.deb.
deb: dist
	@BUILD=$(BUILD) sh debian/build.sh \
	  "$(DIST_DIR)/cacheform-$$(sed -n 's/^#define CF_GEN_VERSION "\(.*\)"$$/\1/p' $(VERSION_H)).tar.gz"

demo: deps-dev
	@$(MAKE) --no-print-directory all
	@bash examples/demo.sh

bench: deps-dev
	@$(MAKE) --no-print-directory all
	@bash tests/bench/run.sh

bench-validate: deps-dev
	@$(MAKE) --no-print-directory all
	@bash tests/bench/run.sh validate

fuzz: deps-dev
	@BUILD=$(BUILD) bash tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf bin build

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
