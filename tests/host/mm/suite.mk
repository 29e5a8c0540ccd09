# tests/host/mm — the physical page allocator (kernel/mm/pmm.c) over
# memory maps as firmware might hand them over, well-formed or not
HOST_TESTS += $(BUILD)/host/pmm_test
$(BUILD)/host/pmm_test: tests/host/mm/test_pmm.c kernel/mm/pmm.c \
		tests/host/shim/shim.c kernel/lib/printf.c kernel/lib/parse.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -I/usr/include/efi -I/usr/include/efi/x86_64 \
		-o $@ $^ $(HOST_LIBS)
