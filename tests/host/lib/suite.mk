# tests/host/lib — the kernel's shared library (kernel/lib) on the host
HOST_TESTS += $(BUILD)/host/json_test
$(BUILD)/host/json_test: tests/host/lib/test_json.c tests/host/lib/json_check.h \
		$(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_json
$(BUILD)/fuzz/fuzz_json: tests/host/lib/fuzz_json.c tests/host/lib/json_check.h \
		$(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

HOST_TESTS += $(BUILD)/host/random_test
$(BUILD)/host/random_test: tests/host/lib/test_random.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

HOST_TESTS += $(BUILD)/host/printf_test
$(BUILD)/host/printf_test: tests/host/lib/test_printf.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

# string_test: kernel/lib/string.c (kernel only: the host's libc has these
# names) compiled into the test under k-prefixed names, against C11 7.24
HOST_TESTS += $(BUILD)/host/string_test
$(BUILD)/host/string_test: tests/host/lib/test_string.c kernel/lib/string.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ tests/host/lib/test_string.c $(HOST_LIBS)

# status_test: the status provider lookup (kernel/lib/status.c) over
# providers of its own
HOST_TESTS += $(BUILD)/host/status_test
$(BUILD)/host/status_test: tests/host/lib/test_status.c kernel/lib/status.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
