# virtio-net: the split virtqueue (drivers/virtio-net/virtq.c) against a
# software device, honest and hostile
HOST_TESTS += $(BUILD)/host/virtq_test
$(BUILD)/host/virtq_test: tests/host/virtio_net/test_virtq.c drivers/virtio-net/virtq.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS)
FUZZERS += $(BUILD)/fuzz/virtq_fuzz
$(BUILD)/fuzz/virtq_fuzz: tests/host/virtio_net/fuzz_virtq.c drivers/virtio-net/virtq.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $^
