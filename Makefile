# SPDX-License-Identifier: GPL-2.0
#
# karena: thin wrapper around Kbuild, the userspace build and the test VM.
#
#   make                 karena.ko (and karena_test.ko if KDIR has KUnit)
#   make userspace       libkarena, tools and the selftest programs
#   make demo            boot the stock kernel in a VM and show karena working
#   make check           every test on the debug and stock 6.1 kernels, and
#                        the W=1 build and lifecycle on Debian 13's and
#                        unstable's kernels (the CI command)
#   make check-full      make check with the selftests, the interposer and
#                        a dkms build on Debian 13's and unstable's kernels
#   make kunit           only the KUnit suites, on the debug kernel
#   make selftests       only the kselftest programs, on KERNEL (debug)
#   make soak            the reliability tests at full size (long)
#   make lint            W=1 C=2, checkpatch --strict, kernel-doc
#   make bench           karena against SLUB, alloc_pages, glibc and the
#                        peers (mimalloc, jemalloc, tcmalloc), on the
#                        stock kernel (not part of check)
#   make bench-host      libkarena over the fake device against glibc and
#                        the peers, natively (no VM)
#   make vm-shell        an interactive shell in the VM
#                        (KERNEL=debug|stock|trixie|sid)
#   make clean
#
# Knobs (all overridable): KDIR, KERNEL, VM_MEM, VM_CPUS, VM_TIMEOUT,
# KARENA_CACHE (where the debug kernel is built).

KERNEL ?= debug
KARENA_BUILD ?= $(CURDIR)/build
KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	  $(shell bash tests/vm/kdir.sh stock 2>/dev/null))
VM_MEM ?= 1024
VM_CPUS ?= 2
VM_TIMEOUT ?= 1500
export VM_MEM VM_CPUS VM_TIMEOUT KARENA_CACHE KARENA_BUILD

V ?= 0

.PHONY: all modules userspace demo check check-full kunit selftests soak \
	lint vm-shell kernel bench bench-host clean

all: modules

# The compile probes first: their header decides module/compat.h.
modules:
	bash compat/probe.sh $(KDIR) $(CURDIR) >/dev/null
	$(MAKE) -C $(KDIR) M=$(CURDIR) V=$(V) modules

userspace:
	$(MAKE) -C userspace O=$(KARENA_BUILD)/userspace
	$(MAKE) -C tests/selftests O=$(KARENA_BUILD)/selftests

# The debug kernel, built once per machine into the cache.
kernel:
	bash tests/vm/build-kernel.sh >/dev/null

demo:
	bash tests/vm/demo.sh

check:
	bash tests/vm/check.sh

check-full:
	SUITE_PHASES="lifecycle kunit selftests interposer" \
	DKMS_KERNELS=all bash tests/vm/check.sh

kunit:
	bash tests/vm/check.sh --only kunit --kernels debug

selftests:
	bash tests/vm/check.sh --only selftests --kernels $(KERNEL)

soak:
	bash tests/vm/soak.sh

lint:
	bash tests/lint.sh

bench:
	bash bench/run.sh

bench-host:
	bash bench/host.sh

vm-shell:
	bash tests/vm/build-modules.sh $(KERNEL) >/dev/null
	bash tests/vm/run.sh --kernel $(KERNEL) --shell

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf compat/generated
	-$(MAKE) -C userspace clean
	-$(MAKE) -C tests/selftests clean
	rm -rf $(KARENA_BUILD)
