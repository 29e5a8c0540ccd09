# tests/host/authority: the owner table, DMAPool, DeviceMmio and Interrupt
# (kernel/authority) as the kernel builds them, over the page shim
HOST_TESTS += $(BUILD)/host/authority_test
$(BUILD)/host/authority_test: tests/host/authority/test_authority.c \
		kernel/devmgr/shape.c kernel/authority/mmio.c \
		kernel/authority/irq.c kernel/pci/msix.c kernel/lib/status.c \
		$(AUTH_SRC) $(SHIM_SRC) tests/host/lib/json_check.h \
		tests/host/authority/auth_devs.h tests/host/shim/owner_shim.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

# the stateful sequence fuzzer: hostile drivers against the whole layer,
# Interrupt included, checked against a model after every step; the real
# configuration-space code and MSI-X writes over a device model
FUZZERS += $(BUILD)/fuzz/fuzz_authority_seq
$(BUILD)/fuzz/fuzz_authority_seq: tests/host/authority/fuzz_authority_seq.c \
		kernel/authority/mmio.c kernel/authority/irq.c kernel/pci/msix.c \
		kernel/pci/pci_cfg.c \
		$(AUTH_SRC) \
		$(SHIM_SRC) tests/host/authority/auth_devs.h \
		tests/host/shim/owner_shim.h
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
