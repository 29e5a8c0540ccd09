# tests/host/console — COM1 and the log ring (kernel/console/serial.c) over
# a 16550 the test plays; /api/log through the status provider
HOST_TESTS += $(BUILD)/host/serial_test
$(BUILD)/host/serial_test: tests/host/console/test_serial.c \
		kernel/console/serial.c kernel/lib/printf.c kernel/lib/parse.c \
		kernel/lib/json.c kernel/lib/status.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
