# tests/host/devmgr — binding (kernel/devmgr/devmgr.c) with the real policy
# and owner table: drivers that fail identify or attach half-way (after a
# pool, after a block device), strings handed back without a terminator,
# a block device registered twice, the function left decoding nothing;
# the supervisor's restarts (budget, backoff, refill, a failed bring-up, a
# revoked owner) and /api/devices
HOST_TESTS += $(BUILD)/host/devmgr_test
$(BUILD)/host/devmgr_test: tests/host/devmgr/test_devmgr.c tests/host/devmgr/devmgr_env.c \
		kernel/devmgr/devmgr.c kernel/devmgr/devices.c kernel/devmgr/blockdev.c kernel/devmgr/policy.c kernel/devmgr/shape.c \
		kernel/devmgr/smbios.c \
		kernel/lib/status.c $(AUTH_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
# devmgr_policy_test: the DMA-backend policy (kernel/devmgr/policy.c) under
# each devmgr.dma mode, past SHAPE_RECORDS functions and with firmware's
# SMBIOS entry point, binding through devmgr.c; one child process a case
HOST_TESTS += $(BUILD)/host/devmgr_policy_test
$(BUILD)/host/devmgr_policy_test: tests/host/devmgr/test_policy.c \
		kernel/devmgr/devmgr.c kernel/devmgr/blockdev.c kernel/devmgr/policy.c kernel/devmgr/shape.c \
		kernel/devmgr/smbios.c \
		kernel/lib/status.c $(AUTH_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
# fuzz_devmgr_seq: the supervisor under hostile sequences of failures (from
# interrupt handlers too), operator unbinds, rebinds and revocations,
# devmgr_shutdown and clock jumps, in-process; oracles: one live owner per
# function, the restart budget, no restart behind an operator nor after
# the shutdown, a handler's report only held
# (docs/authority-gate-design.md)
FUZZERS += $(BUILD)/fuzz/fuzz_devmgr_seq
$(BUILD)/fuzz/fuzz_devmgr_seq: tests/host/devmgr/fuzz_devmgr_seq.c tests/host/devmgr/devmgr_env.c \
		kernel/devmgr/devmgr.c kernel/devmgr/blockdev.c kernel/devmgr/policy.c kernel/devmgr/shape.c \
		kernel/devmgr/smbios.c \
		kernel/lib/status.c $(AUTH_SRC) $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
