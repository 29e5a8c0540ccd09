# tests/host/mm — the physical page allocator (kernel/mm/pmm.c) over
# memory maps as firmware might hand them over, well-formed or not
HOST_TESTS += $(BUILD)/host/pmm_test
$(BUILD)/host/pmm_test: tests/host/mm/test_pmm.c kernel/mm/pmm.c \
		kernel/boot/cmdline.c tests/host/shim/shim.c kernel/lib/printf.c kernel/lib/parse.c \
		tests/host/mm/efi_spec.h tests/host/mm/mm_window.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -I/usr/include/efi -I/usr/include/efi/x86_64 \
		-o $@ $(filter %.c,$^) $(HOST_LIBS)

# pmm_init's sweep of the sorted map against a model of what is free
# (pmm_model.h; pmm.c is included by the test itself)
HOST_TESTS += $(BUILD)/host/pmm_sweep_test
$(BUILD)/host/pmm_sweep_test: tests/host/mm/test_pmm_sweep.c \
		kernel/boot/cmdline.c \
		tests/host/shim/shim.c kernel/lib/printf.c kernel/lib/parse.c \
		kernel/mm/pmm.c tests/host/mm/efi_spec.h tests/host/mm/pmm_model.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -I/usr/include/efi -I/usr/include/efi/x86_64 \
		-o $@ $(filter-out kernel/mm/pmm.c,$(filter %.c,$^)) $(HOST_LIBS)

# stateful: a hostile UEFI memory map, then page_alloc / page_free against
# a model (pmm.c is compiled into the fuzzer, fresh for every input)
FUZZERS += $(BUILD)/fuzz/fuzz_pmm_seq
$(BUILD)/fuzz/fuzz_pmm_seq: tests/host/mm/fuzz_pmm_seq.c kernel/mm/pmm.c \
		kernel/mm/mm.h kernel/mm/mm_internal.h tests/host/mm/efi_spec.h \
		tests/host/mm/pmm_model.h
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -I/usr/include/efi -I/usr/include/efi/x86_64 \
		-o $@ $<

# the page tables (kernel/mm/paging.c) pmm.c's pages hold: memory types by
# EFI attribute, device windows, the PAT; the privileged instructions are
# played by the test
HOST_TESTS += $(BUILD)/host/paging_test
$(BUILD)/host/paging_test: tests/host/mm/test_paging.c kernel/mm/paging.c \
		kernel/mm/pmm.c kernel/boot/cmdline.c tests/host/shim/shim.c \
		kernel/lib/printf.c kernel/lib/parse.c tests/host/mm/efi_spec.h tests/host/mm/mm_window.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -I/usr/include/efi -I/usr/include/efi/x86_64 \
		-o $@ $(filter %.c,$^) $(HOST_LIBS)
