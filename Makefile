# odtrace build. `make` builds ./odtrace; `make test` and `make demo` install
# their Debian dependencies first (scripts/deps.sh), so both work on a fresh box.

OUTPUT  ?= .output
ARCH    ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG   ?= clang
BPFTOOL ?= bpftool
LLVM_STRIP ?= llvm-strip
CC      ?= cc
PREFIX  ?= /usr/local

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VMLINUX   := vmlinux/$(ARCH)/vmlinux.h
# One object per bpf/*.bpf.c: a new family needs no line here.
FAMILIES  := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
# user/ by layer (docs/ARCHITECTURE.md): cmd/ holds the commands and main;
# every other folder is the library the commands, unit tests, fuzz targets
# and benchmarks link, each taking only the objects it needs.
USER_SRCS := $(sort $(wildcard user/*/*.c))
LIB_SRCS  := $(filter-out user/cmd/%,$(USER_SRCS))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(LIB_SRCS))
BPF_OBJS  := $(patsubst %,$(OUTPUT)/bpf/%.bpf.o,$(FAMILIES))
# The export schemas, compiled by protoc-c into C next to the other generated code.
PROTOS    := $(shell find proto -name '*.proto' | sort)
PB_HDRS   := $(patsubst proto/%.proto,$(OUTPUT)/proto/%.pb-c.h,$(PROTOS))
PB_OBJS   := $(patsubst proto/%.proto,$(OUTPUT)/proto/%.pb-c.o,$(PROTOS))
SKELS     := $(patsubst %,$(OUTPUT)/%.skel.h,$(FAMILIES))

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
# One include root per side: "metrics/series.h" (user/), "contract/pg_abi.h"
# (bpf/, the headers both sides read).
INCLUDES := -Iuser -Ibpf -I$(OUTPUT) -I$(OUTPUT)/proto
# What pkg-config and the compiler say is asked when a recipe first needs it,
# once, and not while make reads this file: `make test` and `make demo` read
# it before their `deps` has installed them on a fresh machine. Each is a
# recursive variable that replaces itself with its value on first use.
PKGS       := libbpf libpq libprotobuf-c libcurl
PKG_CFLAGS  = $(eval PKG_CFLAGS := $$(call pkg_config,--cflags))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $$(call pkg_config,--libs))$(PKG_LIBS)
MULTIARCH   = $(eval MULTIARCH := $$(shell $$(CC) -dumpmachine))$(MULTIARCH)
pkg_config  = $(shell pkg-config $(1) $(PKGS) 2>/dev/null)$(if $(filter 0,$(.SHELLSTATUS)),,\
	$(error pkg-config finds no $(pkg_missing): run 'sudo make deps' first))
pkg_missing = $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done)
CFLAGS   += $(WARN) -std=gnu11 -D_GNU_SOURCE -MMD -MP $(INCLUDES) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lsnappy -lelf -lz \
	    -lmicrohttpd -lgnutls -lyaml -lcap -lm -lpthread
# -mcpu=v3: atomic fetch-and-add (serials) needs it; kernels >= 5.12.
# BPF_USDT/BPF_KPROBE wrappers always declare ctx: -Wno-unused-parameter.
# -target bpf does not see the multiarch include dir that <asm/errno.h> (via
# usdt.bpf.h) lives in on Debian.
BPF_CFLAGS  = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(WARN) \
	      -Wno-unused-function -Wno-unused-parameter -Ibpf -Ivmlinux/$(ARCH) -MMD -MP \
	      -idirafter /usr/include/$(MULTIARCH)

.PHONY: all clean install vmlinux deps test unit integration demo bench fuzz fuzz-replay FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: odtrace

odtrace: $(USER_OBJS) $(PB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/user/%.o: user/%.c $(SKELS) $(OUTPUT)/syscall_list.h $(PB_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The library: every layer below cmd/.
$(OUTPUT)/libodtrace.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/proto/%.pb-c.c $(OUTPUT)/proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(OUTPUT)/proto
	$(Q)protoc-c --c_out=$(OUTPUT)/proto -Iproto $<

$(OUTPUT)/proto/%.pb-c.o: $(OUTPUT)/proto/%.pb-c.c $(PB_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The version (README "Version"): VERSION, and what git says of this
# checkout, which user/util/version.c makes one string of. Asked at every
# make, written only when it changes, so that version.o alone is rebuilt,
# and only when HEAD moves or the tree turns dirty or clean. Not a checkout
# (a tarball, the image build; or one unpacked inside another repository's
# tree): VERSION alone. A git that fails where it had answered (root in a
# user's repository, as in `sudo make install`: git refuses it) keeps what
# it had said. A tag may hold a quote: only [A-Za-z0-9._+/-] of it are kept.
VERSION := 0.1.0
$(OUTPUT)/version_git.h: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)if [ -z "$$(git rev-parse --show-cdup 2>/dev/null || echo none)" ] && \
		rev=$$(git rev-parse --verify -q HEAD 2>/dev/null) && \
		describe=$$(git describe --tags --always --dirty 2>/dev/null); then \
		describe=$$(printf %s "$$describe" | tr -cd 'A-Za-z0-9._+/-'); \
	elif [ -f $@ ]; then exit 0; \
	else rev= describe=; fi; \
	printf '#define VERSION_BASE "%s"\n#define VERSION_DESCRIBE "%s"\n#define VERSION_REVISION "%s"\n' \
		'$(VERSION)' "$$describe" "$$rev" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@ && printf '  %-8s %s\n' GEN $@; fi
$(OUTPUT)/user/util/version.o $(OUTPUT)/asan/util/version.o $(OUTPUT)/fuzz/obj/util/version.o: \
	$(OUTPUT)/version_git.h

# Syscall names for labels: every __NR_ the libc headers define on this arch.
$(OUTPUT)/syscall_list.h: | $(OUTPUT)/user
	$(call msg,GEN,$@)
	$(Q)echo '#include <asm/unistd.h>' | $(CC) -dM -E - | \
		sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/SYSCALL(\1)/p' | sort -u > $@

# The skeleton embeds the object: drop DWARF (BTF stays) to keep the binary small.
$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(LLVM_STRIP) -g $< -o $(<:.o=.stripped.o)
	$(Q)$(BPFTOOL) gen skeleton $(<:.o=.stripped.o) name $*_bpf > $@

$(OUTPUT)/user $(OUTPUT)/bpf $(OUTPUT)/tests $(OUTPUT)/asan $(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

# vmlinux.h is committed (CO-RE): regenerate only when moving to a new arch
# or when a probe needs a type the committed header lacks.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

install: odtrace
	install -D -m 0755 odtrace $(DESTDIR)$(PREFIX)/bin/odtrace

# DEPS=--build: only what `make` needs (deploy/Dockerfile).
deps:
	$(Q)scripts/deps.sh $(DEPS)

# Unit tests link the ASan/UBSan build of the library (the integration
# tests' objects): each test pulls in just the modules it calls.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
SANITIZE   := -fsanitize=address,undefined -fno-sanitize-recover=all
$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/check.h $(OUTPUT)/asan/libodtrace.a $(PB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SANITIZE) $< $(OUTPUT)/asan/libodtrace.a $(PB_OBJS) $(LDLIBS) -o $@

# test_contract reads the BTF of the BPF objects: built before it runs.
$(OUTPUT)/tests/test_contract: $(BPF_OBJS)

unit: $(UNIT_TESTS)
	$(Q)tests/unit/run.sh $(UNIT_TESTS)

# libFuzzer targets (tests/fuzz/README.md): each links the instrumented
# library, like the unit tests theirs. `make fuzz` runs each for FUZZ_SECONDS
# from the committed corpus; fuzz-replay (part of `make test`) runs that
# corpus once through each.
FUZZ_BINS    := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS   = -g -O1 $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) $(PKG_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# The library again, instrumented for libFuzzer's coverage.
FUZZ_OBJS    := $(patsubst user/%.c,$(OUTPUT)/fuzz/obj/%.o,$(LIB_SRCS))
$(OUTPUT)/fuzz/obj/%.o: user/%.c $(SKELS) $(OUTPUT)/syscall_list.h $(PB_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(OUTPUT)/fuzz/libodtrace.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(OUTPUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(OUTPUT)/fuzz/libodtrace.a $(PB_OBJS) | $(OUTPUT)/fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP $< $(OUTPUT)/fuzz/libodtrace.a $(PB_OBJS) $(LDLIBS) -o $@

fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-replay: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh 0 $(FUZZ_BINS)

# The integration tests drive an ASan/UBSan build of the same sources: a
# memory error or undefined behaviour in the agent fails them.
ASAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(USER_SRCS))
$(OUTPUT)/asan/%.o: user/%.c $(SKELS) $(OUTPUT)/syscall_list.h $(PB_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SANITIZE) -fno-omit-frame-pointer -c $< -o $@
$(OUTPUT)/asan/libodtrace.a: $(filter-out $(OUTPUT)/asan/cmd/%,$(ASAN_OBJS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(OUTPUT)/asan/odtrace: $(ASAN_OBJS) $(PB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(SANITIZE) $^ $(LDLIBS) -o $@

integration: odtrace $(OUTPUT)/asan/odtrace
	$(Q)ODTRACE=$(abspath $(OUTPUT)/asan/odtrace) tests/integration/run.sh

test: deps all
	$(Q)$(MAKE) --no-print-directory fuzz-replay
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

demo: deps all
	$(Q)scripts/demo.py

# bench/export's encoder and sender: the agent's own export code, no probes.
$(OUTPUT)/bench/export_encode: bench/export_encode.c $(OUTPUT)/libodtrace.a $(PB_OBJS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

bench: deps all
	$(Q)bench/pg_overhead

clean:
	$(Q)rm -rf $(OUTPUT) odtrace

-include $(USER_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) $(BPF_OBJS:.o=.d) \
	 $(UNIT_TESTS:=.d) $(FUZZ_BINS:=.d)
