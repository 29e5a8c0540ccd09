# tests/host/foundation — the kernel's pure modules on the host
FOUNDATION_SRC := kernel/acpi/acpi.c kernel/pci/pci.c kernel/pci/pci_cfg.c \
	kernel/pci/msix.c kernel/cpu/ioapic.c \
	dma/grant.c \
	kernel/boot/cmdline.c kernel/lib/status.c
HOST_TESTS += $(BUILD)/host/foundation_test
$(BUILD)/host/foundation_test: tests/host/foundation/test_foundation.c \
		$(FOUNDATION_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_pci_cfg
$(BUILD)/fuzz/fuzz_pci_cfg: tests/host/foundation/fuzz_pci_cfg.c \
		kernel/pci/pci_cfg.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# the bus scan, BAR checks, decode and MSI-X writes over a hostile fabric
FUZZERS += $(BUILD)/fuzz/fuzz_pci_scan
$(BUILD)/fuzz/fuzz_pci_scan: tests/host/foundation/fuzz_pci_scan.c \
		kernel/pci/pci.c kernel/pci/pci_cfg.c kernel/pci/msix.c \
		$(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# acpi_init over hostile firmware tables, against an independent reading
FUZZERS += $(BUILD)/fuzz/fuzz_acpi
$(BUILD)/fuzz/fuzz_acpi: tests/host/foundation/fuzz_acpi.c kernel/acpi/acpi.c \
		$(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
