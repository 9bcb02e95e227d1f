# SPDX-License-Identifier: GPL-2.0
#
# The developer's loop.  `make help` lists the targets.

# The kernel series to build and test against: 6.12 or 6.1 (scripts/kver)
KSERIES ?= 6.12
KVER ?= $(shell scripts/kver $(KSERIES) 2>/dev/null)
KDIR ?= /usr/src/linux-headers-$(KVER)
# Guest kernel for the tests: the release the module is built against;
# scripts/static-checks builds against KDIR.
export GUEST_KERNEL := $(KVER)
export KDIR
SRC := $(CURDIR)/build/linux-source
TESTDIR := $(CURDIR)/build/test
# What Kbuild builds the module from (compat/features.h is made there)
SOURCES := Kbuild compat/compat.h compat/probe.sh \
	   compat/include/uapi/linux/iommufd.h \
	   $(wildcard iommufd/*.[ch] vfio_compat/*.[ch] compat/probes/*.c)

ifeq ($(TEST),1)
all: test-module
else
all: module
endif

help:
	@echo "make               build iommufd.ko (production) against KDIR"
	@echo "make TEST=1        build the test variant into build/test/iommufd.ko"
	@echo "make setup         install what building and testing need (root)"
	@echo "KSERIES=6.1        any target for Debian 12's stock 6.1 kernel instead of 6.12"
	@echo "                   (make setup KSERIES=6.1, make check KSERIES=6.1)"
	@echo "make run           the demo: DPDK testpmd in a guest, on this module and on type1"
	@echo "make check         build everything and run every test in QEMU guests"
	@echo "                   (SUITES=\"a b\": only those of selftests/suites)"
	@echo "make debug-kernel  build the debug kernel (KASAN, lockdep, kmemleak...) into its cache"
	@echo "make check-debug   the guest suites on the debug kernel, built first if not cached"
	@echo "make bench         benchmarks against vfio_iommu_type1 in a guest: table and plot in build/bench/"
	@echo "make style         checkpatch.pl --strict on the module's sources"
	@echo "make sparse        build with sparse (C=2)"
	@echo "make dkms-install  install with DKMS for KVER, and the modprobe configuration (root)"
	@echo "make dkms-uninstall"
	@echo "make deb           the iommufd-dkms Debian package, into build/deb/"
	@echo "make clean"
	@echo "KDIR=$(KDIR)"

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

# The test variant is built from a copy of the sources in its own folder,
# so its objects never mix with the production ones.
test-module:
	mkdir -p $(TESTDIR)
	cp -au Kbuild iommufd vfio_compat compat $(TESTDIR)/
	$(MAKE) -C $(KDIR) M=$(TESTDIR) W=1 IOMMUFD_TEST=y modules

selftests:
	$(MAKE) -C selftests KDIR=$(KDIR) SRC=$(SRC)

setup:
	scripts/setup.sh $(KSERIES)

# vfio_emu.ko, an emulated VFIO device for the tests, built from a copy of
# its sources as the test variant is
EMUDIR := $(CURDIR)/build/selftests/kmod
selftests-kmod:
	mkdir -p $(EMUDIR)
	cp -u selftests/kmod/Kbuild selftests/kmod/vfio_emu.[ch] $(EMUDIR)/
	$(MAKE) -C $(KDIR) M=$(EMUDIR) W=1 modules

check: module test-module selftests selftests-kmod
	scripts/run-tests $(SUITES)

# The debug kernel (scripts/debug-kernel.config), cached outside the clone
# (DEBUG_KERNEL_CACHE), and the suites on it, the module built against it
# in build/debug/tree/ (scripts/check-debug).
debug-kernel:
	scripts/debug-kernel

check-debug:
	scripts/check-debug $(SUITES)

# DPDK's testpmd forwarding between two NICs through a container served by
# this module and by vfio_iommu_type1, alternately, in one guest.
run: module
	scripts/guest-run --nics --hugepages 256 --timeout 300 -- \
		legacy_apps/dpdk_testpmd.sh iommufd type1 iommufd type1

# Benchmarks: this module and vfio_iommu_type1 alternately in one guest
# (bench/run.sh); bench_floor.ko, the floor, is built from a copy of its
# sources as the test variant is.
BENCHDIR := $(CURDIR)/build/bench/kmod
bench: module test-module
	mkdir -p $(BENCHDIR)
	cp -u bench/Kbuild bench/bench_floor.c bench/bench_floor.h $(BENCHDIR)/
	$(MAKE) -C $(KDIR) M=$(BENCHDIR) W=1 modules
	$(MAKE) -C bench SRC=$(SRC)
	bench/run.sh

style:
	$(SRC)/scripts/checkpatch.pl --strict --no-tree --show-types \
		-f \
		$(filter-out compat/include/%,$(filter %.c %.h,$(SOURCES)))

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

# DKMS (Documentation/install.rst): the sources go to /usr/src, dkms
# builds and installs the module for KVER (and for each kernel installed
# later), the modprobe configuration goes to /etc/modprobe.d.  With
# DESTDIR, all of it, DKMS's own trees included, goes under DESTDIR
# instead, and depmod is left to whoever uses that tree.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
ROOT := $(abspath $(DESTDIR))
DKMS_SRC := $(ROOT)/usr/src/iommufd-$(DKMS_VERSION)
DKMS := dkms $(if $(ROOT),--sourcetree $(ROOT)/usr/src \
	--dkmstree $(ROOT)/var/lib/dkms --installtree $(ROOT)/lib/modules \
	--no-depmod) -m iommufd -v $(DKMS_VERSION)
MODPROBE_CONF := $(ROOT)/etc/modprobe.d/iommufd.conf

# The sources dkms builds, as the iommufd-dkms package ships them too
dkms-source:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp --parents dkms.conf $(SOURCES) $(DKMS_SRC)/

# An earlier install of this version is replaced.
dkms-install: dkms-uninstall
	$(MAKE) dkms-source
	$(DKMS) install $(if $(KVER),-k $(KVER))
	install -D -m 0644 Documentation/modprobe.d/iommufd.conf $(MODPROBE_CONF)

dkms-uninstall:
	rm -f $(MODPROBE_CONF)
	if [ -n "$$($(DKMS) status)" ]; then $(DKMS) remove --all; fi
	rm -rf $(DKMS_SRC)

# The iommufd-dkms package (debian/), built from a copy of what it needs
DEBDIR := $(CURDIR)/build/deb
deb:
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/iommufd/Documentation
	cp -r Makefile dkms.conf debian $(DEBDIR)/iommufd/
	cp --parents $(SOURCES) $(DEBDIR)/iommufd/
	cp -r Documentation/modprobe.d $(DEBDIR)/iommufd/Documentation/
	cd $(DEBDIR)/iommufd && dpkg-buildpackage -b -us -uc

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C selftests clean
	rm -rf $(TESTDIR) $(EMUDIR) build/debug

.PHONY: all help module test-module selftests selftests-kmod setup check \
	debug-kernel check-debug run bench style \
	sparse dkms-source dkms-install dkms-uninstall deb clean
