# tests/host/validator: the NVMe on-notify validator and doorbell gate
VAL_SRC := dma/nvme_validate.c dma/nvme_gate.c dma/grant.c

HOST_TESTS += $(BUILD)/host/validator_test
$(BUILD)/host/validator_test: tests/host/validator/test_validator.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS)
