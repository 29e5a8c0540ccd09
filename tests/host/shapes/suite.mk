# shapes: the cloud-shape classifier, the SMBIOS parser and the DMA-backend
# decision (kernel/devmgr/shape.c, smbios.c) with every cloud's identities;
# shapes_test also links the policy (policy.c) over fake page tables
SHAPES_SRC := kernel/devmgr/shape.c kernel/devmgr/smbios.c
HOST_TESTS += $(BUILD)/host/shapes_test
$(BUILD)/host/shapes_test: tests/host/shapes/test_shapes.c $(SHAPES_SRC) \
		kernel/devmgr/policy.c $(SHIM_SRC) tests/host/shapes/smbios_build.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
FUZZERS += $(BUILD)/fuzz/smbios_fuzz
$(BUILD)/fuzz/smbios_fuzz: tests/host/shapes/fuzz_smbios.c $(SHAPES_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
