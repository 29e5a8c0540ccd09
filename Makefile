# capOS driver suite. `make run` boots it, `make test` proves it.
# Every QEMU command line lives here or in tests/qemu/.

.DEFAULT_GOAL := all
# a target whose recipe fails (a check after the link) is not left behind
.DELETE_ON_ERROR:
BUILD   := build
ESP     := $(BUILD)/esp
EFI     := $(ESP)/EFI/BOOT/BOOTX64.EFI
PY      := /usr/bin/python3
OVMF_CODE := /usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS := /usr/share/OVMF/OVMF_VARS_4M.fd
ACCEL   ?= tcg
MEM     ?= 128M
# extra kernel command line for `make run` (written to capos.cfg)
CMDLINE ?=

# ---- toolchain and the Debian packages it comes from ---------------------
DEB_PKGS := gcc make binutils qemu-system-x86 ovmf gnu-efi mtools gdisk \
	python3-pytest python3-pytest-xdist python3-pytest-timeout \
	libcmocka-dev clang clang-format qemu-utils libclang-rt-14-dev tshark curl chromium wrk \
	dnsmasq-base python3-scapy
define need_pkgs
missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "installing:$$missing"; \
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >$(BUILD)/apt.log 2>&1 \
      || { echo "apt-get failed, see $(BUILD)/apt.log"; exit 1; }; \
  else \
    echo "missing Debian packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
  fi; \
fi
endef

deps:
	@mkdir -p $(BUILD)
	@$(call need_pkgs,$(DEB_PKGS))

# ---- the kernel -----------------------------------------------------------
CC      := gcc
KCFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -fpie \
	-fno-plt -mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer -fshort-wchar -fno-strict-aliasing \
	-fno-builtin-printf -Wall -Wextra -Werror -Wno-unused-parameter \
	-I. -I/usr/include/efi -I/usr/include/efi/x86_64 -DCAPOS_KERNEL -DGNU_EFI_USE_MS_ABI \
	-MMD -MP $(KEXTRA)
KLDFLAGS := -nostdlib -pie --no-dynamic-linker -z text -z max-page-size=4096 \
	-T linker.ld --build-id=none

KSRC := $(wildcard kernel/*/*.c kernel/*/*/*.c kernel/*/*.S dma/*.c \
	drivers/*/*.c drivers/*/*.S)
# KSKIP: source paths (make patterns) left out, e.g. while a driver is being
# written: make KSKIP='drivers/nvme/%'
KSRC := $(filter-out $(KSKIP),$(KSRC))

# Two images from one tree. The user image ($(BUILD)/, what `make`, `make
# run` and `make image` boot) carries no proof or fault-injection code: every
# PROOF_REGISTER and every fault hook lives under kernel/proof/, which is
# linked only into the proof image ($(BUILD)/proof/, compiled with
# -DCAPOS_PROOFS), the one tests/qemu and `make bench` boot. PROOFS=1 makes
# run, gdb and image use the proof image.
PROOF_BUILD := $(BUILD)/proof
PROOF_EFI   := $(PROOF_BUILD)/esp/EFI/BOOT/BOOTX64.EFI
KOBJ  := $(patsubst %,$(BUILD)/k/%.o,$(filter-out kernel/proof/%,$(KSRC)))
PKOBJ := $(patsubst %,$(PROOF_BUILD)/k/%.o,$(KSRC))

all: $(EFI) compile_commands.json
proof: $(PROOF_EFI)

# V=1 shows the full commands
Q := $(if $(V),,@)
$(BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
$(BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  AS      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@
$(PROOF_BUILD)/k/%.c.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $< (proof)")
	$(Q)$(CC) $(KCFLAGS) -DCAPOS_PROOFS -c $< -o $@
$(PROOF_BUILD)/k/%.S.o: %.S
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  AS      $< (proof)")
	$(Q)$(CC) $(KCFLAGS) -DCAPOS_PROOFS -c $< -o $@

# $(call kernel_image,dir,objects): dir/capos.elf and dir/esp/.../BOOTX64.EFI
define kernel_image
$(1)/capos.elf: $(2) linker.ld
	@$$(if $$(V),,echo "  LD      $$@")
	$$(Q)ld $$(KLDFLAGS) -o $$@ $(2)
	@# the image is relocated by its own code (kernel/init/reloc.c): only
	@# R_X86_64_RELATIVE may remain
	@if readelf -rW $$@ | awk 'NR>3 && $$$$3 ~ /R_X86/ && $$$$3 != "R_X86_64_RELATIVE"' | grep -q .; then \
		echo "$$@: relocations other than R_X86_64_RELATIVE"; exit 1; fi
	@# and all of them between __rela_start and __rela_end (linker.ld), where
	@# kernel/init/reloc.c finds them: no relocation section of their own
	@if readelf -SW $$@ | grep -q ' \.rela'; then \
		echo "$$@: relocations outside __rela_start..__rela_end (linker.ld)"; exit 1; fi

$(1)/esp/EFI/BOOT/BOOTX64.EFI: $(1)/capos.elf
	@mkdir -p $$(dir $$@)
	$$(Q)objcopy -j .text -j .reloc -j .rodata -j .data -j .dynamic -j .rela.dyn \
		--target efi-app-x86_64 --subsystem=10 $$< $$@
	@echo "$$@: $$$$(stat -c %s $$@) bytes"
endef
$(eval $(call kernel_image,$(BUILD),$(KOBJ)))
$(eval $(call kernel_image,$(PROOF_BUILD),$(PKOBJ)))

# for editors: every kernel source, as the proof image compiles it
compile_commands.json: Makefile
	@$(PY) -c 'import json,os,sys; d=os.getcwd(); f=sys.argv[1]; s=sys.argv[2:]; \
json.dump([{"directory":d,"file":x,"arguments":["gcc"]+f.split()+["-c",x]} for x in s],open("compile_commands.json","w"),indent=1)' \
		"$(filter-out -MMD -MP,$(KCFLAGS)) -DCAPOS_PROOFS" $(KSRC)

$(KOBJ) $(PKOBJ): Makefile
-include $(KOBJ:.o=.d) $(PKOBJ:.o=.d)

# the image `run`, `gdb` and `image` use
RUN_BUILD := $(if $(filter 1,$(PROOFS)),$(PROOF_BUILD),$(BUILD))
RUN_EFI   := $(RUN_BUILD)/esp/EFI/BOOT/BOOTX64.EFI

# ---- running --------------------------------------------------------------
RUN_DIR := $(BUILD)/run
run: deps all $(RUN_EFI)
	@rm -rf $(RUN_DIR) && mkdir -p $(RUN_DIR)/esp && cp -r $(RUN_BUILD)/esp/. $(RUN_DIR)/esp/
	@cp $(OVMF_VARS) $(RUN_DIR)/vars.fd
	@printf '%s\n' "$(CMDLINE)" > $(RUN_DIR)/esp/capos.cfg
	@echo "capOS: Web UI at http://127.0.0.1:8080/ (serial below; quit: Ctrl-A X)"
	qemu-system-x86_64 -machine q35 -accel $(ACCEL) -m $(MEM) -nodefaults \
		-display none -vga none -serial mon:stdio \
		-drive if=pflash,format=raw,unit=0,readonly=on,file=$(OVMF_CODE) \
		-drive if=pflash,format=raw,unit=1,file=$(RUN_DIR)/vars.fd \
		-drive file=fat:rw:$(RUN_DIR)/esp,format=raw,if=none,id=esp \
		-device ide-hd,drive=esp,bus=ide.0,bootindex=0 \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-drive file=$(DISK),format=raw,if=none,id=nvm \
		-device nvme,serial=capos0,drive=nvm \
		-netdev user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80 \
		-device virtio-net-pci,netdev=n0,disable-legacy=on \
		-device virtio-rng-pci \
		$(QEMU_EXTRA) || [ $$? -eq 33 ]

# the NVMe disk of `make run` persists across runs, like a real disk
DISK := $(BUILD)/disk.img
$(DISK):
	@mkdir -p $(dir $@) && truncate -s 64M $@
run: | $(DISK)

# image: a GPT disk whose one partition is an EFI system partition (FAT32)
# holding \EFI\BOOT\BOOTX64.EFI (and \capos.cfg when CMDLINE is set).
# Debian tools only, no loop mounts: sgdisk writes the GPT, mtools builds the
# FAT file system in a separate file, dd places it at the partition's start.
# Boots as a plain disk: -drive file=build/capos.img,format=raw,if=none,id=d
# -device nvme,drive=d,serial=boot (or virtio-blk-pci,drive=d).
IMAGE      ?= $(RUN_BUILD)/capos.img
IMAGE_MB   := 72
ESP_MB     := 64
ESP_START  := 2048

# $(call gpt_disk,out,efi,size in MiB,capos.cfg text or empty)
define gpt_disk
	@rm -f $(1) $(1).esp
	@truncate -s $(3)M $(1)
	@sgdisk --clear --new=1:$(ESP_START):+$(ESP_MB)M --typecode=1:ef00 \
		--change-name=1:"capOS ESP" $(1) >/dev/null
	@truncate -s $(ESP_MB)M $(1).esp
	@mformat -i $(1).esp -F -v CAPOS ::
	@mmd -i $(1).esp ::/EFI ::/EFI/BOOT
	@mcopy -i $(1).esp $(2) ::/EFI/BOOT/BOOTX64.EFI
	@if [ -n "$(strip $(4))" ]; then printf '%s\n' "$(strip $(4))" > $(1).cfg && \
		mcopy -i $(1).esp $(1).cfg ::/capos.cfg && rm -f $(1).cfg; fi
	@dd if=$(1).esp of=$(1) bs=512 seek=$(ESP_START) conv=notrunc,sparse status=none
	@rm -f $(1).esp
	@sgdisk --verify $(1) | grep -q "No problems found" || { sgdisk --verify $(1); exit 1; }
endef

# Cloud images: `make image CLOUD=gce|aws|azure` wraps the proof image in
# the format that cloud imports for UEFI boot, with a \capos.cfg that runs
# the first-boot proofs (kernel/proof/firstboot.c) on every boot and stays
# up (no `exit`). The disk is CLOUD_MB MiB (1 GiB, sparse), so the GPT's
# backup header sits at the end of a volume the cloud creates at that size.
#   gce    $(CLOUD_DIR)/gce/capos-gce.tar.gz: disk.raw in an oldgnu tar,
#          gzip (Compute Engine's manual import); guest OS features
#          UEFI_COMPATIBLE,GVNIC at `gcloud compute images create`
#   aws    $(CLOUD_DIR)/aws/capos-aws.raw: raw, for `ec2 import-snapshot`
#          then `register-image --boot-mode uefi`
#   azure  $(CLOUD_DIR)/azure/capos-azure.vhd: fixed VHD, virtual size a
#          whole number of MiB (force_size), for a Generation 2 VM
# Import and boot commands, and what each verdict line means: the cloud
# pages in docs/devices/ (gce-gvnic.md, gcp-persistent-disk.md,
# aws-nitro-ebs.md, azure-managed-disk.md); checks: tests/qemu/test_cloud_image.py.
CLOUDS      := gce aws azure
CLOUD       ?=
CLOUD_DIR   := $(BUILD)/cloud
CLOUD_MB    := 1024
CLOUD_EXT_gce   := tar.gz
CLOUD_EXT_aws   := raw
CLOUD_EXT_azure := vhd
CLOUD_IMAGE ?= $(CLOUD_DIR)/$(CLOUD)/capos-$(CLOUD).$(CLOUD_EXT_$(CLOUD))
FIRSTBOOT_DISK   := firstboot-cloud,firstboot-nvme,firstboot-disk
# capOS drives gVNIC only: AWS (ENA) and Azure (MANA, netvsc) get no NIC proofs
FIRSTBOOT_gce    := $(FIRSTBOOT_DISK),firstboot-gvnic,firstboot-dhcp
FIRSTBOOT_aws    := $(FIRSTBOOT_DISK)
FIRSTBOOT_azure  := $(FIRSTBOOT_DISK)
CLOUD_CFG   = proofs=$(FIRSTBOOT_$(CLOUD)) firstboot.cloud=$(CLOUD) $(CMDLINE)
ifneq ($(CLOUD),)
ifeq ($(filter $(CLOUD),$(CLOUDS)),)
$(error CLOUD=$(CLOUD): one of $(CLOUDS))
endif
endif
# how each cloud's file is packed from the raw disk $(1) into $(2)
define cloud_pack_gce
	@d=$$(mktemp -d $(dir $(2))pack.XXXXXX) && mv $(1) $$d/disk.raw && \
		tar --format=oldgnu -S --owner=0 --group=0 --numeric-owner \
		-c -z -f $(2) -C $$d disk.raw && rm -rf $$d
endef
define cloud_pack_aws
	@mv $(1) $(2)
endef
define cloud_pack_azure
	@qemu-img convert -f raw -O vpc -o subformat=fixed,force_size $(1) $(2) && rm -f $(1)
endef

image: deps $(if $(CLOUD),$(CLOUD_IMAGE),$(IMAGE))
$(IMAGE): $(RUN_EFI) Makefile
	$(call gpt_disk,$@,$(RUN_EFI),$(IMAGE_MB),$(CMDLINE))
	@echo "capos.img: GPT, ESP at sector $(ESP_START), $(ESP_MB) MiB FAT32"

ifneq ($(CLOUD),)
$(CLOUD_IMAGE): $(PROOF_EFI) Makefile FORCE
	@mkdir -p $(dir $@)
	$(call gpt_disk,$@.disk,$(PROOF_EFI),$(CLOUD_MB),$(CLOUD_CFG))
	$(call cloud_pack_$(CLOUD),$@.disk,$@)
	@echo "$@: $(CLOUD) image, $(CLOUD_MB) MiB GPT disk, proof image, capos.cfg \"$(strip $(CLOUD_CFG))\""
	@echo "  import and boot: docs/devices/$(CLOUD_DOC_$(CLOUD))"
endif
CLOUD_DOC_gce   := gce-gvnic.md (gcloud compute images create ... --guest-os-features=UEFI_COMPATIBLE,GVNIC)
CLOUD_DOC_aws   := aws-nitro-ebs.md (aws ec2 import-snapshot, register-image --boot-mode uefi)
CLOUD_DOC_azure := azure-managed-disk.md (az disk create --hyper-v-generation V2 --for-upload ...)
FORCE:

# gdb: QEMU's gdbstub; symbols are loaded at the image base the kernel prints
gdb: QEMU_EXTRA += -s -S
gdb: run

# ---- host tests and fuzzers -----------------------------------------------
# A suite drops tests/host/<suite>/suite.mk that appends its binaries to
# HOST_TESTS (cmocka, ASan+UBSan) and FUZZERS (libFuzzer); nothing here
# changes when a suite is added.
HOSTCC     := gcc
HOST_CFLAGS := -std=gnu11 -g -O1 -DCAPOS_HOST -I. -Itests/host/shim \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Wall -Wextra -Werror -Wno-unused-parameter
HOST_LIBS  := -lcmocka
FUZZCC     := clang
FUZZ_CFLAGS := -g -O1 -DCAPOS_HOST -DCAPOS_FUZZ -I. -Itests/host/shim \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
SHIM_SRC   := $(wildcard tests/host/shim/*.c) kernel/lib/printf.c kernel/lib/parse.c \
	kernel/lib/json.c kernel/lib/siphash.c kernel/lib/random.c
# the real authority layer (DMAPool, owner table, refusal counters) over
# the shim's page allocator; a suite links it and binds its owners
AUTH_SRC   := kernel/authority/auth.c kernel/authority/owner.c \
	kernel/authority/dmapool.c dma/owner.c dma/grant.c
HOST_TESTS :=
FUZZERS    :=
include $(wildcard tests/host/*/suite.mk)
# the suites compile and link in one step, with no dependency files: a
# header change rebuilds every host test and fuzzer (their rules pass only
# the .c prerequisites to the compiler)
HOST_HEADERS := $(wildcard kernel/*/*.h kernel/*/*/*.h drivers/*/*.h dma/*.h \
	tests/host/*/*.h)
$(HOST_TESTS) $(FUZZERS): $(HOST_HEADERS)

host: $(HOST_TESTS) $(FUZZERS)

# test tools that run on the host beside QEMU (not sanitized: they are part
# of the wire being measured)
TOOLS := $(BUILD)/tools/tap_relay
tools: $(TOOLS)
$(BUILD)/tools/tap_relay: tests/qemu/tap_relay.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -o $@ $<
# tests/host/test_host.py asks for the lists
print-host:
	@echo $(HOST_TESTS)
print-fuzz:
	@echo $(FUZZERS)
FUZZ_SECONDS ?= 300
fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do echo "== $$f ($(FUZZ_SECONDS)s)"; \
		mkdir -p $(BUILD)/corpus/$$(basename $$f); \
		$$f -max_total_time=$(FUZZ_SECONDS) $(BUILD)/corpus/$$(basename $$f) \
		  $$(ls -d tests/host/*/corpus/$$(basename $$f) 2>/dev/null) || exit 1; done

# mutation testing of one file against the host tests and fuzzers that link
# it, in a scratch copy of the tree (tests/mutate/mutate.py says how):
# make mutate FILE=dma/owner.c [N=40] [SEED=1] [LINES=100-300] [IDS=3,17] [O=dir]
mutate:
	@$(PY) tests/mutate/mutate.py --file '$(FILE)' --n '$(N)' --seed '$(SEED)' \
		--lines '$(LINES)' --ids '$(IDS)' --out '$(O)'

# ---- proofs ---------------------------------------------------------------
# make test: host tests, docs checker, short fuzz runs, QEMU proofs; one
# closing line "N passed, N failed". A test file's tests stay on one worker
# (--dist loadfile): QEMU proofs share one boot per file through fixtures.
PYTEST_ARGS ?=
test: deps all proof host tools
	@$(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile tests $(PYTEST_ARGS)

docs-check:
	@$(PY) tests/docs_check.py

# the `make run-pci-nvme` proof: NVMe bring-up, integrity, hostile scan,
# TOCTOU, Write Zeroes and Discard, recovery; --proof-report (tests/conftest.py) prints each boot's
# PROOF lines and the hostile vectors by verdict after pytest's count
run-pci-nvme: deps proof
	@$(PY) -m pytest -q -p no:cacheprovider --proof-report tests/qemu/test_nvme.py $(PYTEST_ARGS)

# each tests/bench/*.py prints its own side-by-side rows
bench: deps proof host tools
	@for b in tests/bench/*.py; do $(PY) $$b || exit 1; done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) compile_commands.json

.PHONY: all proof deps run image FORCE gdb host tools print-host print-fuzz fuzz mutate test docs-check run-pci-nvme bench format clean
