# tests/host/nvme: the NVMe driver core against the real gate and validator
# and the controller model of tests/host/validator
NVME_DRV_SRC := drivers/nvme/nvme.c drivers/nvme/nvme_q.c \
	tests/host/nvme/fake_broker.c tests/host/validator/fake_nvme.c \
	kernel/devmgr/blockdev.c \
	dma/nvme_validate.c dma/nvme_gate.c dma/nvme_ident.c $(AUTH_SRC)

HOST_TESTS += $(BUILD)/host/nvme_driver_test
$(BUILD)/host/nvme_driver_test: tests/host/nvme/test_nvme_driver.c $(NVME_DRV_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -Itests/host/nvme -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_nvme_cqe
$(BUILD)/fuzz/fuzz_nvme_cqe: tests/host/nvme/fuzz_nvme_cqe.c $(NVME_DRV_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -Itests/host/nvme -o $@ $(filter %.c,$^)

# the PCI attachment (drivers/nvme/nvme_pci.c) over the same fake broker
HOST_TESTS += $(BUILD)/host/nvme_pci_test
$(BUILD)/host/nvme_pci_test: tests/host/nvme/test_nvme_pci.c drivers/nvme/nvme_pci.c \
		kernel/lib/status.c $(NVME_DRV_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -Itests/host/nvme -o $@ $(filter %.c,$^) $(HOST_LIBS)

# the nvme-background proof's poller (kernel/proof/nvme_background.c, which
# the test includes) over the real block device registry
HOST_TESTS += $(BUILD)/host/nvme_background_test
$(BUILD)/host/nvme_background_test: tests/host/nvme/test_nvme_background.c \
		kernel/proof/nvme_background.c kernel/devmgr/blockdev.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -DCAPOS_PROOFS -o $@ tests/host/nvme/test_nvme_background.c kernel/devmgr/blockdev.c $(filter %.c,$(SHIM_SRC)) $(HOST_LIBS)

# the broker itself (kernel/authority/nvme_broker.c) over the real authority
# layer and a register-only controller (BAR0 as memory), built as the proof
# image builds it: its register-read hook is where the model answers
HOST_TESTS += $(BUILD)/host/nvme_broker_test
$(BUILD)/host/nvme_broker_test: tests/host/nvme/test_nvme_broker.c \
		kernel/authority/nvme_broker.c dma/nvme_gate.c \
		dma/nvme_validate.c dma/nvme_ident.c $(AUTH_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -DCAPOS_PROOFS -o $@ $(filter %.c,$^) $(HOST_LIBS)
