# virtio-net: the split virtqueue (dma/virtq.c) against a
# software device, honest and hostile
HOST_TESTS += $(BUILD)/host/virtq_test
$(BUILD)/host/virtq_test: tests/host/virtio_net/test_virtq.c dma/virtq.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
FUZZERS += $(BUILD)/fuzz/virtq_fuzz
$(BUILD)/fuzz/virtq_fuzz: tests/host/virtio_net/fuzz_virtq.c dma/virtq.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# the whole driver (transport, bring-up, struct nic) against a software
# virtio-net PCI function
VNET_SRC := dma/virtq.c kernel/authority/virtio_broker.c \
	drivers/virtio-net/virtio_pci.c \
	drivers/virtio-net/virtio_net.c kernel/net/nic.c \
	tests/host/virtio_net/vnet_model.c $(AUTH_SRC)
VNET_HDRS := $(wildcard drivers/virtio-net/*.h tests/host/virtio_net/*.h) \
	tests/host/shim/owner_shim.h
HOST_TESTS += $(BUILD)/host/vnet_test
$(BUILD)/host/vnet_test: tests/host/virtio_net/test_vnet.c $(VNET_SRC) \
		kernel/lib/status.c $(SHIM_SRC) $(VNET_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
FUZZERS += $(BUILD)/fuzz/vnet_fuzz
$(BUILD)/fuzz/vnet_fuzz: tests/host/virtio_net/fuzz_vnet.c $(VNET_SRC) $(SHIM_SRC) $(VNET_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# the virtio broker (kernel/authority/virtio_broker.c) alone, with a hostile
# driver, over the same model and the real owner table, pools and grants
VQB_SRC := dma/virtq.c kernel/authority/virtio_broker.c \
	tests/host/virtio_net/vnet_model.c $(AUTH_SRC)
HOST_TESTS += $(BUILD)/host/vqbroker_test
$(BUILD)/host/vqbroker_test: tests/host/virtio_net/test_vqbroker.c $(VQB_SRC) \
		$(SHIM_SRC) $(VNET_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
FUZZERS += $(BUILD)/fuzz/vqbroker_fuzz
$(BUILD)/fuzz/vqbroker_fuzz: tests/host/virtio_net/fuzz_vqbroker.c $(VQB_SRC) \
		$(SHIM_SRC) $(VNET_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
