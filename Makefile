# pinshm: the one entry point. See README.md.
#   make            library, tools and module (installs missing Debian packages as root)
#   make check      everything CI runs; check-unit / check-tools / check-cli / check-demo /
#                   check-kernel / check-static: the parts
#                   (check-kernel-newer: the module on Debian's 6.12 and 6.12 PREEMPT_RT from
#                   bookworm-backports too; NEWER_KERNELS=0 leaves it out, for offline machines)
#   make demo       the main job: a trading system of processes over pinshm, then over
#                   UNIX sockets, compared (check-demo: short runs of it, asserted)
#   make install    library, headers, pkg-config file, tools, man pages (DESTDIR, PREFIX, LIBDIR)
#   make deb        Debian packages in build/deb/ (DEB_VERSION=X.Y.Z: another version, for
#                   upgrade tests); check-deb (in make check, after the kernel tests) installs,
#                   upgrades and purges them in a qemu guest
# V=1 shows full commands. Kbuild sees only Kbuild and kmod/Kbuild.

ifneq ($(KERNELRELEASE),)
# Invoked by kbuild through Kbuild: nothing to do here.
else

.DELETE_ON_ERROR:
.SUFFIXES:

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
# The one place the version is written: debian/changelog's newest entry and dkms.conf must agree
# (make deb checks it), a package of DEB_VERSION gets it everywhere (scripts/build-deb.sh).
VERSION := 0.2.0
# The ABI: the soname's number and libshm/libshm.map's version node.
SONAME := libpinshm.so.1
B := build

# The Debian 6.1 kernel the module is built for and tested in.
KVER ?= $(shell ls /boot/vmlinuz-6.1.*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
KVER_HDRS := $(if $(KVER),/usr/src/linux-headers-$(KVER))
KDIR ?= $(if $(wildcard /lib/modules/$(shell uname -r)/build/Makefile),/lib/modules/$(shell uname -r)/build,$(KVER_HDRS))
# check-kernel-newer: Debian's newer kernel flavours, from bookworm-backports (scripts/deps.sh newer).
NEWER_KERNELS ?= 1
NEWER_FLAVOURS := cloud-amd64 rt-amd64

CC ?= gcc
CLANG ?= clang
WARN := -Wall -Wextra -Wmissing-prototypes -Wstrict-prototypes
ifneq ($(CI),)
WERROR := -Werror
endif
WERROR ?= -Werror
CPPFLAGS := -D_GNU_SOURCE -Ilibshm/include -Ikmod/include/uapi
CFLAGS ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(WERROR)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden
TEST_CFLAGS := -std=gnu11 $(CFLAGS) -Wall -Wextra $(WERROR)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TSAN := -fsanitize=thread

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

LIB_SRCS := $(wildcard libshm/src/*.c)
LIB_HDRS := $(wildcard libshm/include/*.h libshm/include/pinshm/*.h libshm/src/*.h) kmod/include/uapi/linux/pinshm.h
LIB_OBJS := $(LIB_SRCS:libshm/src/%.c=$(B)/obj/libshm/%.o)
CTL_SRCS := $(wildcard tools/pinshm/*.c)
# The benchmarks' instrument (clock, histogram, CPUs, raw baselines, harness).
BENCH_LIB_SRCS := $(addprefix tools/bench/,clock.c hist.c cpu.c raw.c harness.c plot.c)
# pinshm bench, linked into pinshm (cmd_bench).
BENCH_SRCS := $(BENCH_LIB_SRCS) $(addprefix tools/bench/,bench.c systems.c sys_pinshm.c \
	sys_kernel.c report.c)
# Its peers (--vs ck, rte), built in when libck-dev / libdpdk-dev are installed: found by
# scripts/bench-peers.sh after the dependency step (line 1: flags of sys_peers.c, line 2: libraries).
# BENCH_PEERS=no leaves them out whatever is installed (the Debian packages do).
BENCH_PEERS ?= auto
PEERS_FLAGS := $(B)/bench-peers.flags
PEERS_OBJ := $(B)/obj/bench/sys_peers.o
BENCH_HDRS := $(wildcard tools/bench/*.h)
TOOLS_TEST_SRCS := $(wildcard tests/tools/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)
# Headers the tests share across suites (tests/unit, tests/tsan).
TEST_HDRS := $(wildcard tests/*.h tests/unit/*.h)
TSAN_SRCS := $(wildcard tests/tsan/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/*.c)
FUZZ_SECONDS ?= 20
KTEST_SRCS := $(wildcard tests/kernel/*.c)
# The guest's ioctl/mmap fuzzer (20_fuzz) runs KFUZZ_SECONDS per kernel and
# 21_reload_cycles KFUZZ_RELOADS insmod/rmmod cycles; longer by hand, e.g.
#   make check-kernel KFUZZ_SECONDS=600 KFUZZ_RELOADS=5000 [KFUZZ_SEED=0x...]
KFUZZ_SECONDS ?= 60
KFUZZ_RELOADS ?= 1000
KTEST_BINS := $(KTEST_SRCS:tests/kernel/%.c=$(B)/tests/kernel/%)

TOOLS := $(B)/pinshm $(B)/pinshm-demo
# pinshm metrics: the BPF object of tools/bpf/ and its skeleton, built with clang and bpftool.
BPFTOOL ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_SKEL := $(B)/bpf/pinshm_metrics.skel.h
.SECONDARY: $(B)/bpf/pinshm_metrics.bpf.o

.PHONY: FORCE all lib tools kmod deps deps-check check check-unit check-tools check-demo-xp check-readme check-usdt check-cli check-sanitize check-fuzz \
	check-tsan check-static check-kernel check-kernel-newer check-bench check-demo check-deb deb demo install clean

all: lib tools kmod

deps: $(B)/.deps-build
deps-check: $(B)/.deps-check
# NODEPS=1: neither check nor install Debian packages (a package build: debian/control's
# Build-Depends are checked by dpkg-buildpackage).
$(B)/.deps-%: scripts/deps.sh
	@mkdir -p $(B)
	$(Q)$(if $(filter 1,$(NODEPS)),:,scripts/deps.sh $*)
	@touch $@

lib: $(B)/libpinshm.a $(B)/libpinshm.so $(B)/pinshm.pc
tools: $(TOOLS)

$(B)/obj/libshm/%.o: libshm/src/%.c $(LIB_HDRS) | $(B)/.deps-build
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) $(LIB_CFLAGS) -c -o $@ $<

$(B)/libpinshm.a: $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && ar rcs $@ $^

$(B)/libpinshm.so: $(LIB_OBJS) libshm/libshm.map
	$(call say,LD,$@)$(CC) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=libshm/libshm.map -o $@.$(VERSION) $(LIB_OBJS) && \
		ln -sf libpinshm.so.$(VERSION) $(B)/$(SONAME) && \
		ln -sf libpinshm.so.$(VERSION) $@

$(B)/pinshm.pc: libshm/pinshm.pc.in
	@mkdir -p $(dir $@)
	$(call say,GEN,$@)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@

$(PEERS_FLAGS): scripts/bench-peers.sh FORCE | $(B)/.deps-build
	$(Q)CC="$(CC)" BENCH_PEERS=$(BENCH_PEERS) scripts/bench-peers.sh $@

$(PEERS_OBJ): tools/bench/sys_peers.c $(BENCH_HDRS) $(LIB_HDRS) $(PEERS_FLAGS)
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CPPFLAGS) -Itools/pinshm -Itools/bench $(BASE_CFLAGS) \
		$$(sed -n 1p $(PEERS_FLAGS)) -c -o $@ $<

$(B)/pinshm: $(CTL_SRCS) $(BENCH_SRCS) tools/pinshm/cmd.h $(BENCH_HDRS) $(LIB_HDRS) $(B)/libpinshm.a \
		$(BPF_SKEL) tools/bpf/pinshm_metrics.h $(PEERS_OBJ)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/pinshm -Itools/bench -Itools/bpf -I$(B)/bpf \
		$(BASE_CFLAGS) $(LDFLAGS) -o $@ $(CTL_SRCS) $(BENCH_SRCS) $(PEERS_OBJ) $(B)/libpinshm.a -ljson-c \
		$$(pkg-config --libs libbpf) -lelf $$(sed -n 2p $(PEERS_FLAGS))

# ---- BPF (tools/bpf/): vmlinux.h from the build host's BTF, the object, its skeleton

$(B)/bpf/vmlinux.h: | $(B)/.deps-build
	@mkdir -p $(dir $@)
	@test -r $(VMLINUX_BTF) || { echo "pinshm: $(VMLINUX_BTF) missing: the build needs a" \
		"kernel with BTF (CONFIG_DEBUG_INFO_BTF=y), or VMLINUX_BTF=FILE" >&2; exit 1; }
	$(call say,GEN,$@)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(B)/bpf/%.bpf.o: tools/bpf/%.bpf.c tools/bpf/%.h $(B)/bpf/vmlinux.h
	$(call say,BPF,$@)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall $(WERROR) \
		-I$(B)/bpf -Itools/bpf -idirafter /usr/include/$(shell $(CC) -dumpmachine) -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(call say,GENSKEL,$@)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# The trading demo: every file of tools/demo/ (runner, stages, transports, logger).
DEMO_SRCS := $(wildcard tools/demo/*.c)
DEMO_HDRS := $(wildcard tools/demo/*.h)
$(B)/pinshm-demo: $(DEMO_SRCS) $(DEMO_HDRS) $(BENCH_LIB_SRCS) $(BENCH_HDRS) $(LIB_HDRS) $(B)/libpinshm.a
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/demo -Itools/bench $(BASE_CFLAGS) $(LDFLAGS) -o $@ $(DEMO_SRCS) \
		$(BENCH_LIB_SRCS) $(B)/libpinshm.a -lm -lpthread

# The same under ASan/UBSan (check-demo runs a short pinshm and unix run with it).
$(B)/asan/pinshm-demo: $(DEMO_SRCS) $(DEMO_HDRS) $(BENCH_LIB_SRCS) $(BENCH_HDRS) $(LIB_SRCS) $(LIB_HDRS) \
		| $(B)/.deps-build
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/demo -Itools/bench $(TEST_CFLAGS) $(SAN) -o $@ \
		$(DEMO_SRCS) $(BENCH_LIB_SRCS) $(LIB_SRCS) -lm -lpthread

# ---- the module ------------------------------------------------------------
kmod: | $(B)/.deps-build
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || { \
		echo "pinshm: no kernel build tree; apt-get install linux-headers-cloud-amd64" >&2; exit 1; }
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(filter 1,$(V)),V=1) modules
	$(Q)scripts/module-btf.sh kmod/pinshm.ko $(KDIR) $(CURDIR)/$(B)/btf

# ---- tests -----------------------------------------------------------------
# The unit suite, built three ways: plain, ASan+UBSan, and the TSan programs.
$(B)/tests/unit/pinshm-unit: $(UNIT_SRCS) $(TEST_HDRS) $(LIB_SRCS) $(LIB_HDRS) | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(TEST_CFLAGS) -o $@ $(UNIT_SRCS) $(LIB_SRCS) -lcriterion -lpthread

# The benchmarks' instrument, tested against the tools' own sources.
$(B)/tests/tools/pinshm-tools-test: $(TOOLS_TEST_SRCS) $(BENCH_LIB_SRCS) $(BENCH_HDRS) $(LIB_HDRS) \
		$(B)/libpinshm.a | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/bench $(TEST_CFLAGS) -o $@ $(TOOLS_TEST_SRCS) \
		$(BENCH_LIB_SRCS) $(B)/libpinshm.a -lcriterion -lpthread

# The demo's transports and logger, with real processes.
DEMO_XP_SRCS := $(addprefix tools/demo/,xp.c xp_sock.c xp_pinshm.c logger.c)
DEMO_TEST_SRCS := $(wildcard tests/demo/*.c)
$(B)/tests/demo/pinshm-demo-test: $(DEMO_TEST_SRCS) $(wildcard tests/demo/*.h) $(DEMO_XP_SRCS) \
		$(wildcard tools/demo/*.h) $(BENCH_HDRS) $(LIB_HDRS) $(B)/libpinshm.a | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/demo -Itools/bench $(TEST_CFLAGS) -o $@ \
		$(DEMO_TEST_SRCS) $(DEMO_XP_SRCS) $(addprefix tools/bench/,clock.c hist.c cpu.c) \
		$(B)/libpinshm.a -lcriterion -lpthread -lm

$(B)/asan/pinshm-unit: $(UNIT_SRCS) $(TEST_HDRS) $(LIB_SRCS) $(LIB_HDRS) | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $(SAN) -o $@ $(UNIT_SRCS) $(LIB_SRCS) -lcriterion -lpthread

$(B)/asan/pinshm-tools-test: $(TOOLS_TEST_SRCS) $(BENCH_LIB_SRCS) $(BENCH_HDRS) $(LIB_HDRS) | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) -Itools/bench $(TEST_CFLAGS) $(SAN) -o $@ $(TOOLS_TEST_SRCS) \
		$(BENCH_LIB_SRCS) $(LIB_SRCS) -lcriterion -lpthread

# clang: gcc refuses atomic_thread_fence() under -fsanitize=thread.
$(B)/tsan/%: tests/tsan/%.c $(wildcard tests/tsan/*.h tests/*.h) $(LIB_SRCS) $(LIB_HDRS) | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,TSANCC,$@)$(CLANG) $(CPPFLAGS) -std=gnu11 -O1 -g -Wall -Wextra $(WERROR) $(TSAN) -o $@ $< $(LIB_SRCS) -lpthread

$(B)/tests/kernel/%: tests/kernel/%.c $(wildcard tests/kernel/*.h) $(LIB_HDRS) $(B)/libpinshm.a | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) -std=gnu11 -O2 -Wall -Wextra $(WERROR) -D_GNU_SOURCE -static \
		$(CPPFLAGS) -Itests/kernel -o $@ $< $(B)/libpinshm.a

check: $(B)/.deps-check
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory check-unit check-tools check-readme check-usdt check-cli check-sanitize check-tsan check-fuzz check-bench \
		check-demo-xp check-demo
	$(Q)$(MAKE) --no-print-directory check-static check-kernel
ifeq ($(NEWER_KERNELS),1)
	$(Q)$(MAKE) --no-print-directory check-kernel-newer
else
	@echo "== kernel tests on 6.12: left out (NEWER_KERNELS=$(NEWER_KERNELS))"
endif
	$(Q)$(MAKE) --no-print-directory check-deb
	@echo "pinshm: make check passed"

check-unit: $(B)/tests/unit/pinshm-unit
	@echo "== unit tests (Criterion, shm backend)"
	$(Q)PINSHM_BACKEND=shm $< --jobs 2

check-demo-xp: $(B)/tests/demo/pinshm-demo-test
	@echo "== the demo's transports and logger (Criterion, shm backend)"
	$(Q)d=$$(mktemp -d /dev/shm/pinshm-demo-test-XXXXXX) && chmod 1777 $$d && \
		PINSHM_SHM_DIR=$$d PINSHM_BACKEND=shm $< --jobs 2; r=$$?; rm -rf $$d; exit $$r

check-tools: $(B)/tests/tools/pinshm-tools-test
	@echo "== tools' tests (Criterion)"
	$(Q)$< --jobs 2

check-sanitize: $(B)/asan/pinshm-unit $(B)/asan/pinshm-tools-test
	@echo "== unit and tools' tests under ASan/UBSan"
	$(Q)set -e; for t in $^; do PINSHM_BACKEND=shm ASAN_OPTIONS=detect_leaks=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 $$t --jobs 2; done

check-tsan: $(TSAN_SRCS:tests/tsan/%.c=$(B)/tsan/%)
	@echo "== ThreadSanitizer"
	$(Q)set -e; for t in $^; do echo "  TSAN    $$t"; \
		PINSHM_BACKEND=shm TSAN_OPTIONS=halt_on_error=1 setarch -R $$t; done

# libFuzzer targets: each treats a whole ring's memory as hostile input.
# Bounded in make check (FUZZ_SECONDS each); run longer by hand, e.g.
#   make check-fuzz FUZZ_SECONDS=3600
$(B)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(LIB_SRCS) $(LIB_HDRS) | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$@)$(CLANG) $(CPPFLAGS) -std=gnu11 -O1 -g -Wall -Wextra $(WERROR) \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $@ $< $(LIB_SRCS)

check-fuzz: $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
	@echo "== libFuzzer, $(FUZZ_SECONDS) s per target"
	$(Q)set -e; for f in $^; do n=$$(basename $$f); mkdir -p $(B)/fuzz/corpus-$$n; \
		echo "  FUZZ    $$n"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(B)/fuzz/$$n- \
			$(B)/fuzz/corpus-$$n $$(ls -d tests/fuzz/seeds/$$n 2>/dev/null) 2>$(B)/fuzz/$$n.log || \
			{ tail -40 $(B)/fuzz/$$n.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' $(B)/fuzz/$$n.log; done

# The trading demo, short runs: each transport, then --chaos on pinshm, then
# pinshm and unix built with ASan/UBSan. Each must exit 0: every stage exited
# 0 (or was killed by the chaos and replaced), every log line is there once,
# the accounting reconciles. No timing asserted.
DEMO_CHECK_SECONDS ?= 3
check-demo: tools $(B)/asan/pinshm-demo
	@echo "== the trading demo: pinshm, unix, tcp, --chaos, then ASan/UBSan ($(DEMO_CHECK_SECONDS) s runs)"
	$(Q)set -e; run() { n=$$1; shift; echo "  DEMO    $$n"; \
		if ! PINSHM_BACKEND=shm "$$@" --seconds $(DEMO_CHECK_SECONDS) --rate 5000 --quiet \
			>$(B)/demo-$$n.log 2>&1; then cat $(B)/demo-$$n.log; exit 1; fi; \
		grep -E '^  (pinshm|unix|tcp) .*tick-to-order' $(B)/demo-$$n.log | sed 's/^/  /'; }; \
	for t in pinshm unix tcp; do run $$t $(B)/pinshm-demo --transport $$t; done; \
	run chaos $(B)/pinshm-demo --chaos --seed 7; \
	run asan-pinshm env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		$(B)/asan/pinshm-demo --transport pinshm,unix; \
	run asan-chaos env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		$(B)/asan/pinshm-demo --chaos --seed 8

check-cli: tools $(B)/tests/usdt/provoke
	@echo "== command-line tests"
	$(Q)PINSHM=$(CURDIR)/$(B)/pinshm PINSHM_BACKEND=shm BENCH_PEERS=$(BENCH_PEERS) tests/cli/run.sh

# The README's API example must compile and run.
$(B)/readme-example: README.md $(B)/libpinshm.a
	$(call say,CCLD,$@)awk '/^```c$$/{f=1;next} /^```$$/{f=0} f' README.md > $@.c && \
		$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -o $@ $@.c $(B)/libpinshm.a

check-readme: $(B)/readme-example $(B)/libpinshm.so
	@echo "== README example, the ABI of libpinshm.so, the manual pages"
	$(Q)PINSHM_BACKEND=shm $<
	$(Q)scripts/check-abi.sh $(B)/libpinshm.so $(SONAME)
	$(Q)scripts/check-man.sh
	$(Q)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -o $<-shared $<.c -L$(B) -lpinshm && \
		PINSHM_BACKEND=shm LD_LIBRARY_PATH=$(B) $<-shared >/dev/null

# The library's USDT probes: every probe of libpinshm.3's table is in the
# shared library and the archive, with its semaphore (scripts/check-usdt.sh);
# provoke makes exact numbers of slow-path events for a tracer to count
# (provoke: linked to libpinshm.so; provoke-static: to the archive).
USDT_BINS := $(B)/tests/usdt/provoke $(B)/tests/usdt/provoke-static
$(B)/tests/usdt/provoke: tests/usdt/provoke.c $(LIB_HDRS) $(B)/libpinshm.so
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -o $@ $< -L$(B) -lpinshm \
		-Wl,-rpath,'$$ORIGIN/../..' -lpthread
$(B)/tests/usdt/provoke-static: tests/usdt/provoke.c $(LIB_HDRS) $(B)/libpinshm.a
	@mkdir -p $(dir $@)
	$(call say,CCLD,$@)$(CC) $(CPPFLAGS) $(BASE_CFLAGS) -o $@ $< $(B)/libpinshm.a -lpthread

check-usdt: $(B)/libpinshm.so $(B)/libpinshm.a $(USDT_BINS)
	@echo "== USDT probes of libpinshm, and the events provoke makes"
	$(Q)scripts/check-usdt.sh $(B)/libpinshm.so $(B)/libpinshm.a $(B)/tests/usdt/provoke-static
	$(Q)set -e; for t in $(USDT_BINS); do \
		PINSHM_BACKEND=shm $$t --backpressure 5 --laps 3 --recoveries 2 \
			--takeovers 2 --wakes 3 | sed 's/^/  /'; done

check-bench: tools
	@echo "== benchmark smoke run (no timing asserted)"
	$(Q)PINSHM_BACKEND=shm $(B)/pinshm bench --count 1000 --reps 1 --vs all --json >$(B)/bench-smoke.json
	$(Q)python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("  %d results" % len(r))' $(B)/bench-smoke.json
	$(Q)PINSHM_BACKEND=shm $(B)/pinshm bench oneway --count 5000 --reps 2 --size 64 --capacity 64K \
		>/dev/null

CHECKPATCH ?= $(B)/checkpatch/checkpatch.pl
$(CHECKPATCH): | $(B)/.deps-check
	@mkdir -p $(dir $@)
	$(call say,GET,$@)tar -xJf /usr/src/linux-source-6.1.tar.xz -C $(dir $@) --strip-components=2 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	@touch $@

check-static: $(CHECKPATCH)
	@echo "== sparse (C=1) and checkpatch on kmod/"
	$(Q)$(MAKE) -C $(KVER_HDRS) M=$(CURDIR) C=2 modules 2>&1 | tee $(B)/sparse.log
	$(Q)! grep -E 'warning:|error:' $(B)/sparse.log
	$(Q)perl $(CHECKPATCH) --no-tree --quiet --show-types --ignore SPDX_LICENSE_TAG -f \
		kmod/pinshm_*.c kmod/pinshm_*.h kmod/include/uapi/linux/pinshm.h
	$(Q)sh scripts/check-udev.sh udev/60-pinshm.rules

check-kernel: $(KTEST_BINS) tools | $(B)/.deps-check
	@echo "== kernel tests: Debian $(KVER) in qemu (TCG)"
	$(Q)$(MAKE) --no-print-directory kmod KDIR=$(KVER_HDRS)
	$(Q)KVER=$(KVER) KMOD=$(CURDIR)/kmod/pinshm.ko TESTBIN=$(CURDIR)/$(B)/tests/kernel \
		KFUZZ_SECONDS=$(KFUZZ_SECONDS) KFUZZ_RELOADS=$(KFUZZ_RELOADS) \
		OUT=$(CURDIR)/$(B)/kernel EXTRA_BINS="$(CURDIR)/$(B)/pinshm $(CURDIR)/$(B)/pinshm-demo" tests/kernel/vm.sh

# The same guest tests on the newest 6.12 of each flavour (generic cloud and PREEMPT_RT): the
# module is built from a copy of its sources in $(B)/kmod-KVER, so kmod/ keeps the 6.1 build.
check-kernel-newer: $(KTEST_BINS) tools | $(B)/.deps-check
	$(Q)scripts/deps.sh newer
	$(Q)set -e; for f in $(NEWER_FLAVOURS); do \
		k=$$(ls /boot/vmlinuz-6.12.*-$$f 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1); \
		test -n "$$k" || { echo "pinshm: no 6.12 $$f kernel in /boot" >&2; exit 1; }; \
		echo "== kernel tests: Debian $$k in qemu (TCG)"; \
		d=$(CURDIR)/$(B)/kmod-$$k; rm -rf $$d; mkdir -p $$d/kmod; \
		cp Kbuild $$d/; cp -r kmod/Kbuild kmod/*.c kmod/*.h kmod/include $$d/kmod/; \
		$(MAKE) -C /usr/src/linux-headers-$$k M=$$d modules >$$d/build.log 2>&1 || \
			{ cat $$d/build.log >&2; exit 1; }; \
		! grep -E 'warning:|error:' $$d/build.log; \
		scripts/module-btf.sh $$d/kmod/pinshm.ko /usr/src/linux-headers-$$k $(CURDIR)/$(B)/btf; \
		KVER=$$k KMOD=$$d/kmod/pinshm.ko TESTBIN=$(CURDIR)/$(B)/tests/kernel \
			KFUZZ_SECONDS=$(KFUZZ_SECONDS) KFUZZ_RELOADS=$(KFUZZ_RELOADS) \
			OUT=$(CURDIR)/$(B)/kernel-$$k EXTRA_BINS="$(CURDIR)/$(B)/pinshm $(CURDIR)/$(B)/pinshm-demo" tests/kernel/vm.sh; \
	done

# ---- Debian packages ---------------------------------------------------------
# make deb: pinshm-dkms, libpinshm1, libpinshm-dev and pinshm-tools in $(B)/deb/, built by
# dpkg-buildpackage in a copy of the tree, then lintian (scripts/build-deb.sh).
# DEB_VERSION=X.Y.Z builds another version (at least VERSION), as check-deb's upgrade does.
DEB_VERSION ?= $(VERSION)
DEB_OUT := $(B)/deb
deb: | $(B)/.deps-check
	$(Q)scripts/build-deb.sh $(VERSION) $(DEB_VERSION) $(DEB_OUT)

# check-deb: the packages of VERSION and of VERSION with its last number + 1, installed,
# used, upgraded (a region open, the module loaded) and purged in a qemu guest of Debian's
# 6.1 on a debootstrapped root file system (cached in $(B)/deb-guest/cache; tests/deb/vm.sh).
# Transcript: $(B)/deb-guest.log.
DEB_UPGRADE_VERSION := $(shell echo $(VERSION) | awk -F. -v OFS=. '{ $$NF = $$NF + 1; print }')
DEB_PKGS = $(DEB_OUT)/pinshm-dkms_$(1)_all.deb $(DEB_OUT)/libpinshm1_$(1)_amd64.deb \
	$(DEB_OUT)/libpinshm-dev_$(1)_amd64.deb $(DEB_OUT)/pinshm-tools_$(1)_amd64.deb
DEB_TIMEOUT ?= 900
check-deb: | $(B)/.deps-check
	@echo "== Debian packages: make deb ($(VERSION) and $(DEB_UPGRADE_VERSION)), lintian"
	$(Q)rm -f $(DEB_OUT)/*.deb
	$(Q)$(MAKE) --no-print-directory deb
	$(Q)$(MAKE) --no-print-directory deb DEB_VERSION=$(DEB_UPGRADE_VERSION)
	@echo "== Debian packages: install, upgrade, purge in a guest of Debian $(KVER) (qemu TCG)"
	$(Q)KVER=$(KVER) OUT=$(CURDIR)/$(B)/deb-guest LOG=$(CURDIR)/$(B)/deb-guest.log \
		OLD_DEBS="$(call DEB_PKGS,$(VERSION))" NEW_DEBS="$(call DEB_PKGS,$(DEB_UPGRADE_VERSION))" \
		QEMU_TIMEOUT=$$(($(DEB_TIMEOUT) - 240)) timeout -k 10 $(DEB_TIMEOUT) tests/deb/vm.sh

demo: lib $(B)/pinshm-demo
	$(Q)$(B)/pinshm-demo

install: lib $(B)/pinshm $(B)/pinshm-demo
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/include/pinshm \
		$(DESTDIR)$(PREFIX)/include/linux $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/man/man3
	install -m 644 $(B)/libpinshm.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(B)/libpinshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpinshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libpinshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpinshm.so
	install -m 644 libshm/include/pinshm.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 libshm/include/pinshm/*.h $(DESTDIR)$(PREFIX)/include/pinshm/
	install -m 644 kmod/include/uapi/linux/pinshm.h $(DESTDIR)$(PREFIX)/include/linux/
	install -m 644 $(B)/pinshm.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(B)/pinshm $(B)/pinshm-demo $(DESTDIR)$(PREFIX)/bin/
	install -m 644 tools/pinshm.1 tools/pinshm-demo.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 libshm/libpinshm.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	install -m 644 libshm/man/*.3 $(DESTDIR)$(PREFIX)/share/man/man3/
	$(Q)sh scripts/install-udev.sh udev/60-pinshm.rules "$(DESTDIR)"

clean:
	rm -rf $(B)
	@if [ -n "$(KDIR)" ] && [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null; fi

endif
