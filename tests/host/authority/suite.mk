# tests/host/authority: the owner table, DMAPool and DeviceMmio
# (kernel/authority) as the kernel builds them, over the page shim
HOST_TESTS += $(BUILD)/host/authority_test
$(BUILD)/host/authority_test: tests/host/authority/test_authority.c \
		kernel/devmgr/shape.c kernel/authority/mmio.c $(AUTH_SRC) \
		$(SHIM_SRC) tests/host/shim/owner_shim.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
