# tests/host/edu — the edu driver (drivers/edu/edu.c) over the real
# authority layer (owner table, DMAPool, DeviceMmio), kernel/pci's
# configuration-space access and pci_enable, and a register file
HOST_TESTS += $(BUILD)/host/edu_test
$(BUILD)/host/edu_test: tests/host/edu/test_edu.c drivers/edu/edu.c \
		kernel/authority/mmio.c kernel/pci/pci_cfg.c $(AUTH_SRC) \
		$(SHIM_SRC) \
		drivers/edu/edu_var.h drivers/edu/edu_reg.h \
		tests/host/shim/owner_shim.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
