/* tests/host/boot/test_efi.c — the UEFI entry (kernel/init/efi.c) against a
 * firmware played by the test: the memory map and ExitBootServices, the
 * load options, the configuration tables and the boot volume, each as a
 * hostile or merely unusual firmware may hand them over. efi.c is
 * included whole so its static steps can be called one at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kernel/init/efi.c"
#include "shim.h"

/* what efi.c links against in the kernel */
char __image_base[1];
int boot_relocate(uint64_t base)
{
	return 0;
}
void kmain(void)
{
	abort();
}
void console_init(void) {}
CMDLINE_KEY(t_devmgr_dma, "devmgr.dma", "test");
CMDLINE_KEY(t_proofs, "proofs", "test");

/* ---- the firmware ---------------------------------------------------- */
#define DSIZE 48 /* OVMF's descriptor size: larger than the struct */
static struct {
	unsigned map_n;	    /* descriptors in the map now */
	UINTN key;	    /* its key: changes whenever the map does */
	unsigned ebs_calls; /* ExitBootServices calls so far */
	unsigned ebs_fail;  /* the first this many fail (the map moved) */
	unsigned ebs_grow;  /* descriptors each failed call adds */
	unsigned after_ebs; /* boot services other than GetMemoryMap and
			       ExitBootServices called after the first
			       ExitBootServices (UEFI 2.8 §7.4: none) */
	bool alloc_fails;   /* AllocatePages and AllocatePool refuse */
	unsigned pools;	    /* AllocatePool not yet freed */
	void *pages[16];    /* AllocatePages' blocks, freed by teardown */
	unsigned npages;
} fw;

static void other_service(void)
{
	if (fw.ebs_calls)
		fw.after_ebs++;
}

static EFI_STATUS EFIAPI fw_get_memory_map(UINTN *size,
					   EFI_MEMORY_DESCRIPTOR *map,
					   UINTN *key, UINTN *dsize,
					   UINT32 *dver)
{
	UINTN need = (UINTN)fw.map_n * DSIZE;
	*dsize = DSIZE;
	*dver = 1;
	if (*size < need) {
		*size = need;
		return EFI_BUFFER_TOO_SMALL;
	}
	for (unsigned i = 0; i < fw.map_n; i++) {
		EFI_MEMORY_DESCRIPTOR *d =
		    (EFI_MEMORY_DESCRIPTOR *)((uint8_t *)map + i * DSIZE);
		memset(d, 0, DSIZE);
		d->Type = EfiConventionalMemory;
		d->PhysicalStart = (uint64_t)i << 20;
		d->NumberOfPages = 1;
	}
	*size = need;
	*key = fw.key;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI fw_allocate_pages(EFI_ALLOCATE_TYPE type,
					   EFI_MEMORY_TYPE mt, UINTN pages,
					   EFI_PHYSICAL_ADDRESS *a)
{
	other_service();
	if (fw.alloc_fails || fw.npages == 16)
		return EFI_OUT_OF_RESOURCES;
	void *p = aligned_alloc(4096, pages * 4096);
	assert_non_null(p);
	fw.pages[fw.npages++] = p;
	*a = (EFI_PHYSICAL_ADDRESS)(uintptr_t)p;
	fw.map_n++; /* the block splits a free descriptor */
	fw.key++;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI fw_allocate_pool(EFI_MEMORY_TYPE mt, UINTN n, void **p)
{
	other_service();
	if (fw.alloc_fails)
		return EFI_OUT_OF_RESOURCES;
	*p = malloc(n);
	assert_non_null(*p);
	fw.pools++;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI fw_free_pool(void *p)
{
	other_service();
	free(p);
	fw.pools--;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI fw_exit_boot_services(EFI_HANDLE image, UINTN key)
{
	fw.ebs_calls++;
	if (fw.ebs_fail) {
		fw.ebs_fail--;
		fw.map_n += fw.ebs_grow; /* an event allocated */
		fw.key++;
	}
	return key == fw.key ? EFI_SUCCESS : EFI_INVALID_PARAMETER;
}

static EFI_BOOT_SERVICES fw_bs;
static EFI_SYSTEM_TABLE fw_st;

static int setup(void **state)
{
	memset(&fw, 0, sizeof(fw));
	fw.key = 100;
	memset(&fw_bs, 0, sizeof(fw_bs));
	fw_bs.GetMemoryMap = fw_get_memory_map;
	fw_bs.AllocatePages = fw_allocate_pages;
	fw_bs.AllocatePool = fw_allocate_pool;
	fw_bs.FreePool = fw_free_pool;
	fw_bs.ExitBootServices = fw_exit_boot_services;
	memset(&fw_st, 0, sizeof(fw_st));
	fw_st.BootServices = &fw_bs;
	ST = &fw_st;
	BS = &fw_bs;
	boot_rsdp = boot_smbios = 0;
	boot_smbios3 = false;
	memset(&boot_mmap, 0, sizeof(boot_mmap));
	cmdline_parse("", 0);
	return 0;
}

static int teardown(void **state)
{
	for (unsigned i = 0; i < fw.npages; i++)
		free(fw.pages[i]);
	assert_int_equal(fw.pools, 0);
	return 0;
}

/* ---- GetMemoryMap and ExitBootServices --------------------------------- */

/* The map fills the static buffer to its last descriptor, and the first
 * ExitBootServices fails because an event allocated (two descriptors
 * more). After that failed call only GetMemoryMap and ExitBootServices may
 * be called (UEFI 2.8 §7.4.6; Linux's efi_exit_boot_services reuses its
 * buffer, sized with EFI_MMAP_NR_SLACK_SLOTS): the buffer must have had
 * room for the map to grow before the first call, not be allocated
 * after it. */
static void test_ebs_retry_calls_no_other_service(void **st)
{
	fw.map_n = sizeof(mmap_buf) / DSIZE; /* 682: 32 bytes to spare */
	fw.ebs_fail = 1;
	fw.ebs_grow = 2;
	assert_int_equal(efi_exit_boot_services(NULL), 0);
	assert_int_equal(fw.ebs_calls, 2);
	assert_int_equal(fw.after_ebs, 0);
	assert_int_equal(boot_mmap.size, (uint64_t)fw.map_n * DSIZE);
	assert_int_equal(boot_mmap.desc_size, DSIZE);
}

/* a map larger than the static buffer, which every allocation grows (the
 * map moves between the size query and the read), and an
 * ExitBootServices that fails once: the map kept is the one the last
 * call accepted */
static void test_ebs_large_map_grows(void **st)
{
	fw.map_n = 3000;
	fw.ebs_fail = 1;
	fw.ebs_grow = 3;
	assert_int_equal(efi_exit_boot_services(NULL), 0);
	assert_int_equal(fw.after_ebs, 0);
	assert_int_equal(boot_mmap.size, (uint64_t)fw.map_n * DSIZE);
	assert_ptr_not_equal(boot_mmap.desc, mmap_buf);
}

/* no memory for a map the static buffer cannot hold, and a firmware whose
 * ExitBootServices never accepts: a failure, said, after a bounded number
 * of calls, never an endless loop */
static void test_ebs_failures_bounded(void **st)
{
	fw.map_n = 3000;
	fw.alloc_fails = true;
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_int_equal(fw.ebs_calls, 0);
	fw.alloc_fails = false;
	fw.map_n = 10;
	fw.ebs_fail = 1000;
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_in_range(fw.ebs_calls, 2, 4);
	assert_int_equal(fw.after_ebs, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_ebs_retry_calls_no_other_service, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ebs_large_map_grows, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ebs_failures_bounded, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
