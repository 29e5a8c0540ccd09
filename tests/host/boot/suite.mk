# tests/host/boot — the UEFI entry (kernel/init/efi.c) against a firmware
# the test plays: memory map and ExitBootServices, load options,
# configuration tables, the boot volume
HOST_TESTS += $(BUILD)/host/efi_test
$(BUILD)/host/efi_test: tests/host/boot/test_efi.c kernel/init/efi.c \
		kernel/boot/cmdline.c kernel/boot/facts.c $(SHIM_SRC)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -fshort-wchar -DGNU_EFI_USE_MS_ABI \
		-I/usr/include/efi -I/usr/include/efi/x86_64 -o $@ \
		$(filter-out kernel/init/efi.c,$(filter %.c,$^)) $(HOST_LIBS)
