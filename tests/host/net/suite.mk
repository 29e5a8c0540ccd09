# tests/host/net — the IP stack, HTTP server and Web UI on the host
NET_SRC := kernel/net/wire.c kernel/net/eth.c kernel/net/arp.c kernel/net/ip.c \
	kernel/net/ipfrag.c kernel/net/dhcp.c kernel/net/if.c \
	kernel/net/tcp.c kernel/net/http.c kernel/net/httpd.c \
	kernel/net/webui.c kernel/net/net_status.c kernel/net/nic.c \
	kernel/lib/status.c kernel/devmgr/devices.c tests/host/net/netfake.c \
	tests/host/net/netframe.c tests/host/net/tcplink.c
NET_HDR := $(wildcard kernel/net/*.h) tests/host/net/netfake.h \
	tests/host/net/netframe.h tests/host/net/tcplink.h

# net_test alone links kernel/net/netboot.c (the kernel's start of the stack
# from the command line): it gives cmdline_get and poller_add
HOST_TESTS += $(BUILD)/host/net_test
$(BUILD)/host/net_test: tests/host/net/test_net.c kernel/net/netboot.c $(NET_SRC) $(SHIM_SRC) $(NET_HDR)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

HOST_TESTS += $(BUILD)/host/net_tcp_loss_test
$(BUILD)/host/net_tcp_loss_test: tests/host/net/test_tcp_loss.c $(NET_SRC) $(SHIM_SRC) $(NET_HDR)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) -o $@ $(filter %.c,$^) $(HOST_LIBS)

NET_FUZZERS := fuzz_eth fuzz_ipv4 fuzz_ipfrag fuzz_tcp fuzz_tcp_seq fuzz_http \
	fuzz_dhcp
FUZZERS += $(addprefix $(BUILD)/fuzz/,$(NET_FUZZERS))
$(addprefix $(BUILD)/fuzz/,$(NET_FUZZERS)): $(BUILD)/fuzz/%: tests/host/net/%.c $(NET_SRC) $(SHIM_SRC) $(NET_HDR)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^)
