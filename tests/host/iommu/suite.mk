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
