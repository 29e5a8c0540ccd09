# tests/host/time — TSC calibration (kernel/time/tsc.c) against a model
# HPET in host memory: the reference clocks firmware names may not run
HOST_TESTS += $(BUILD)/host/tsc_test
$(BUILD)/host/tsc_test: tests/host/time/test_tsc.c kernel/time/tsc.c \
		kernel/lib/printf.c kernel/lib/parse.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
