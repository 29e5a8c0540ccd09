# tests/host/gvnic: the gVNIC driver core against a software device model
GVNIC_CORE := drivers/gvnic/gve.c drivers/gvnic/gve_adminq.c \
	drivers/gvnic/gve_gqi.c drivers/gvnic/gve_dqo.c
GVNIC_MODEL := tests/host/gvnic/gvnic_model.c tests/host/gvnic/host_auth.c \
	$(AUTH_SRC)
GVNIC_HDRS := $(wildcard drivers/gvnic/*.h tests/host/gvnic/*.h) \
	tests/host/shim/owner_shim.h

HOST_TESTS += $(BUILD)/host/gvnic_test
$(BUILD)/host/gvnic_test: tests/host/gvnic/test_gvnic.c $(GVNIC_CORE) \
		drivers/gvnic/gve_pci.c tests/host/gvnic/host_pci.c \
		kernel/lib/status.c \
		$(GVNIC_MODEL) $(SHIM_SRC) $(GVNIC_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

FUZZERS += $(BUILD)/fuzz/fuzz_gvnic
$(BUILD)/fuzz/fuzz_gvnic: tests/host/gvnic/fuzz_gvnic.c $(GVNIC_CORE) \
		$(GVNIC_MODEL) $(SHIM_SRC) $(GVNIC_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)

# the IP stack and Web UI (kernel/net) over the driver over the model
GVNIC_NET := $(filter-out kernel/net/netboot.c,$(wildcard kernel/net/*.c)) \
	kernel/lib/status.c kernel/devmgr/devices.c tests/host/net/netframe.c
HOST_TESTS += $(BUILD)/host/gvnic_http_test
$(BUILD)/host/gvnic_http_test: tests/host/gvnic/test_gvnic_http.c \
		$(GVNIC_CORE) $(GVNIC_MODEL) $(GVNIC_NET) $(SHIM_SRC) \
		$(GVNIC_HDRS) $(wildcard kernel/net/*.h) tests/host/net/netframe.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)
