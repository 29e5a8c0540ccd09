# tests/host/iommu — the DMAR parser (kernel/iommu/dmar.c) on the host
HOST_TESTS += $(BUILD)/host/iommu_test
$(BUILD)/host/iommu_test: tests/host/iommu/test_dmar.c kernel/iommu/dmar.c \
		kernel/iommu/dmar.h $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_dmar
$(BUILD)/fuzz/fuzz_dmar: tests/host/iommu/fuzz_dmar.c kernel/iommu/dmar.c \
		kernel/iommu/dmar.h $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# DMAR scopes against PCI topologies, and the bridge alias of source ids
HOST_TESTS += $(BUILD)/host/iommu_scope_test
$(BUILD)/host/iommu_scope_test: tests/host/iommu/test_scope.c \
		kernel/iommu/scope.c kernel/iommu/dmar.c kernel/pci/pci_cfg.c \
		$(wildcard kernel/iommu/*.h) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

# the VT-d code over a register page in memory and over the fake unit of
# vtd_fake.h (which acts when the kernel reads the clock: the wraps; fault
# records it clears at the write, vtd_host_wrote; a page_alloc it fails,
# fake.alloc_fail); the
# shim's IOMMU model (tests/host/shim/iommu.c) is left out: this links the
# real one
HOST_TESTS += $(BUILD)/host/iommu_vtd_test
VTD_FAKE_SRC := kernel/iommu/vtd.c kernel/iommu/flush.c kernel/iommu/domain.c \
		kernel/iommu/ir.c \
		kernel/iommu/dmar.c kernel/iommu/scope.c kernel/pci/pci_cfg.c \
		tests/host/iommu/vtd_fake.h tests/host/iommu/dmar_build.h \
		$(wildcard kernel/iommu/*.h) \
		$(filter-out tests/host/shim/iommu.c,$(SHIM_SRC))
$(BUILD)/host/iommu_vtd_test: tests/host/iommu/test_vtd.c $(VTD_FAKE_SRC) \
		kernel/lib/status.c tests/host/lib/json_check.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -Wl,--wrap=time_now_us,--wrap=vtd_flush,--wrap=page_alloc \
		-o $@ $(filter %.c,$^) $(HOST_LIBS)

# the stateful sequence fuzzer: owners' domains, mappings, quarantine,
# faults and interrupt remapping over a fake unit (vtd_fake.h), checked
# against a model and the unit's possible caches after every step
FUZZERS += $(BUILD)/fuzz/fuzz_vtd_seq
$(BUILD)/fuzz/fuzz_vtd_seq: tests/host/iommu/fuzz_vtd_seq.c $(VTD_FAKE_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -Wl,--wrap=time_now_us,--wrap=vtd_flush,--wrap=page_alloc \
		-o $@ $(filter %.c,$^)
