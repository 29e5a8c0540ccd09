# tests/host/validator: the NVMe on-notify validator and doorbell gate
VAL_SRC := dma/nvme_validate.c dma/nvme_gate.c dma/grant.c dma/owner.c dma/nvme_ident.c

HOST_TESTS += $(BUILD)/host/validator_test
$(BUILD)/host/validator_test: tests/host/validator/test_validator.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

# the Identify parser alone, against hostile Identify pages
HOST_TESTS += $(BUILD)/host/ident_test
$(BUILD)/host/ident_test: tests/host/validator/test_ident.c dma/nvme_ident.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

HOST_TESTS += $(BUILD)/host/gate_test
$(BUILD)/host/gate_test: tests/host/validator/test_gate.c tests/host/validator/fake_nvme.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

# the gate's own queue checks with the validator compiled out (as in the
# benchmark build): every queue command reaches the gate accepted
HOST_TESTS += $(BUILD)/host/gate_alone_test
$(BUILD)/host/gate_alone_test: tests/host/validator/test_gate_alone.c tests/host/validator/fake_nvme.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -DCAPOS_NVME_VALIDATOR_OFF -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_validator
$(BUILD)/fuzz/fuzz_validator: tests/host/validator/fuzz_validator.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

FUZZERS += $(BUILD)/fuzz/fuzz_gate
$(BUILD)/fuzz/fuzz_gate: tests/host/validator/fuzz_gate.c tests/host/validator/fake_nvme.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

FUZZERS += $(BUILD)/fuzz/fuzz_gate_seq
$(BUILD)/fuzz/fuzz_gate_seq: tests/host/validator/fuzz_gate_seq.c tests/host/validator/fake_nvme.c $(VAL_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# the Namespace Identification Descriptor list (Identify CNS 03h) of a
# hostile controller against the fuzzer's own reading of it
FUZZERS += $(BUILD)/fuzz/fuzz_ident
$(BUILD)/fuzz/fuzz_ident: tests/host/validator/fuzz_ident.c dma/nvme_ident.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
