# tests/host/cpu — the local APIC (kernel/cpu/lapic.c) in the mode firmware
# left it, over modelled MSRs and a modelled xAPIC page
HOST_TESTS += $(BUILD)/host/lapic_test
$(BUILD)/host/lapic_test: tests/host/cpu/test_lapic.c kernel/cpu/lapic.c \
		kernel/lib/printf.c kernel/lib/parse.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
# interrupt dispatch (kernel/cpu/cpu.c + isr_dispatch) over hand-built frames
HOST_TESTS += $(BUILD)/host/cpu_test
$(BUILD)/host/cpu_test: tests/host/cpu/test_cpu.c kernel/cpu/cpu.c \
		kernel/lib/printf.c kernel/lib/parse.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
