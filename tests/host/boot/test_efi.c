/* tests/host/boot/test_efi.c — the UEFI entry (kernel/init/efi.c) against a
 * firmware played by the test: the memory map and ExitBootServices, the
 * load options, the configuration tables and the boot volume, each as a
 * hostile or merely unusual firmware may hand them over. efi.c is
 * included whole so its static steps can be called one at a time. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kernel/init/efi.c"
#include "shim.h"

/* what efi.c links against in the kernel */
char __image_base[1];
static uint64_t relocated_at; /* what efi_main asked boot_relocate */
static int relocate_fails;
int boot_relocate(uint64_t base)
{
	relocated_at = base;
	return relocate_fails ? -1 : 0;
}
void kmain(void)
{
	abort();
}
static unsigned consoles; /* console_init calls */
void console_init(void)
{
	consoles++;
}
CMDLINE_KEY(t_devmgr_dma, "devmgr.dma", "test");
CMDLINE_KEY(t_proofs, "proofs", "test");

/* ---- the firmware ---------------------------------------------------- */
#define DSIZE 48 /* OVMF's descriptor size: larger than the struct */
static struct {
	unsigned map_n;		/* descriptors in the map now */
	UINTN key;		/* its key: changes whenever the map does */
	unsigned ebs_calls;	/* ExitBootServices calls so far */
	unsigned ebs_fail;	/* the first this many fail (the map moved) */
	unsigned ebs_grow;	/* descriptors each failed call adds */
	unsigned after_ebs;	/* boot services other than GetMemoryMap and
				   ExitBootServices called after the first
				   ExitBootServices (UEFI 2.8 §7.4: none) */
	bool alloc_fails;	/* AllocatePages and AllocatePool refuse */
	unsigned pools;		/* AllocatePool not yet freed */
	void *pages[16];	/* AllocatePages' blocks not yet freed (teardown
				   frees the rest) */
	UINTN npg[16];		/* and each one's page count */
	unsigned npages;	/* AllocatePages calls that succeeded */
	unsigned live;		/* blocks not yet given back with FreePages */
	unsigned allocs;	/* AllocatePages calls so far */
	unsigned alloc_fail_at; /* this AllocatePages call (1-based) fails */
	unsigned alloc_grow;	/* descriptors the next AllocatePages adds
				   past the one it splits (an event it sets off) */
	unsigned gmm_calls;	/* GetMemoryMap calls so far */
	unsigned gmm_fail_at;	/* this GetMemoryMap call (1-based) fails */
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
	if (++fw.gmm_calls == fw.gmm_fail_at)
		return EFI_DEVICE_ERROR;
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
	if (fw.alloc_fails || fw.npages == 16 ||
	    ++fw.allocs == fw.alloc_fail_at)
		return EFI_OUT_OF_RESOURCES;
	void *p = aligned_alloc(4096, pages * 4096);
	assert_non_null(p);
	fw.npg[fw.npages] = pages;
	fw.pages[fw.npages++] = p;
	fw.live++;
	*a = (EFI_PHYSICAL_ADDRESS)(uintptr_t)p;
	fw.map_n += 1 + fw.alloc_grow; /* the block splits a free one */
	fw.alloc_grow = 0;
	fw.key++;
	return EFI_SUCCESS;
}

/* a block AllocatePages handed out, whole, once */
static EFI_STATUS EFIAPI fw_free_pages(EFI_PHYSICAL_ADDRESS a, UINTN pages)
{
	other_service();
	for (unsigned i = 0; i < fw.npages; i++)
		if (fw.pages[i] == (void *)(uintptr_t)a) {
			assert_int_equal(pages, fw.npg[i]);
			free(fw.pages[i]);
			fw.pages[i] = NULL;
			fw.live--;
			fw.key++;
			return EFI_SUCCESS;
		}
	fail_msg("FreePages of 0x%lx: not a block handed out",
		 (unsigned long)a);
	return EFI_NOT_FOUND;
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

/* ---- the boot volume: \capos.cfg and the \capos\ directory ------------- */
struct fw_file {
	const CHAR16 *name; /* as Open is given it, or as a directory entry */
	const char *data;
	bool in_dir; /* an entry of \capos\, else a file of the root */
	bool info_fails, read_fails, is_dir, open_fails;
};
static struct fw_file fw_files[8];
static unsigned fw_nfiles;
static EFI_STATUS fw_open_status; /* what Open says of a name not there */
static bool fw_volume_fails;
static unsigned fw_dir_pos, fw_dir_served; /* entries of \\capos read */
static bool fw_no_capos_dir;		   /* Open of \\capos: EFI_NOT_FOUND */
static unsigned fw_dir_fails_at; /* a read of \capos fails at this entry
				  * (1-based; 0: never) */
static struct fw_handle {
	EFI_FILE_PROTOCOL p; /* first: the handle is its address */
	struct fw_file *f;   /* NULL: a directory (the root or \capos) */
	bool in_dir;	     /* \capos or a file in it */
	bool open;	     /* handed out and not yet closed */
} fw_handles[64];
static unsigned fw_nhandles;

/* every handle the volume handed out (the root OpenVolume gives, \capos,
 * each file) closed, once: one left open is the firmware's to keep until
 * ExitBootServices (UEFI 2.10 §13.5.3 Close) */
static void assert_handles_closed(void)
{
	for (unsigned i = 0; i < fw_nhandles; i++)
		if (fw_handles[i].open)
			fail_msg("handle %u (%s) left open", i,
				 fw_handles[i].f	? "a file"
				 : fw_handles[i].in_dir ? "\\capos"
							: "the root");
}

static size_t wlen(const CHAR16 *w)
{
	size_t n = 0;
	while (w[n])
		n++;
	return n;
}
static bool wmatch(const CHAR16 *a, const CHAR16 *b)
{
	size_t n = wlen(a);
	return n == wlen(b) && memcmp(a, b, 2 * n) == 0;
}

static EFI_FILE_PROTOCOL *fw_handle(struct fw_file *f, bool in_dir);

static EFI_STATUS EFIAPI fw_open(EFI_FILE_PROTOCOL *self,
				 EFI_FILE_PROTOCOL **out, CHAR16 *name,
				 UINT64 mode, UINT64 attr)
{
	other_service();
	if (wmatch(name, L"\\capos")) {
		if (fw_no_capos_dir)
			return EFI_NOT_FOUND;
		*out = fw_handle(NULL, true);
		fw_dir_pos = fw_dir_served = 0;
		return EFI_SUCCESS;
	}
	bool in_dir = ((struct fw_handle *)self)->in_dir;
	for (unsigned i = 0; i < fw_nfiles; i++)
		if (fw_files[i].in_dir == in_dir &&
		    wmatch(name, fw_files[i].name)) {
			if (fw_files[i].open_fails)
				return EFI_DEVICE_ERROR;
			*out = fw_handle(&fw_files[i], in_dir);
			return EFI_SUCCESS;
		}
	return fw_open_status;
}

static EFI_STATUS EFIAPI fw_close(EFI_FILE_PROTOCOL *self)
{
	struct fw_handle *h = (struct fw_handle *)self;
	other_service();
	assert_true(h >= fw_handles && h < fw_handles + fw_nhandles);
	assert_true(h->open); /* closed twice, or never handed out */
	h->open = false;
	return EFI_SUCCESS;
}

static void fw_info(struct fw_file *f, EFI_FILE_INFO *fi)
{
	memset(fi, 0, SIZE_OF_EFI_FILE_INFO);
	fi->Size = SIZE_OF_EFI_FILE_INFO + 2 * (wlen(f->name) + 1);
	fi->FileSize = f->data ? strlen(f->data) : 0;
	fi->Attribute = f->is_dir ? EFI_FILE_DIRECTORY : 0;
	memcpy(fi->FileName, f->name, 2 * (wlen(f->name) + 1));
}

static EFI_STATUS EFIAPI fw_get_info(EFI_FILE_PROTOCOL *self, EFI_GUID *g,
				     UINTN *size, void *buf)
{
	struct fw_file *f = ((struct fw_handle *)self)->f;
	UINTN need = SIZE_OF_EFI_FILE_INFO + 2 * (wlen(f->name) + 1);
	other_service();
	if (f->info_fails)
		return EFI_DEVICE_ERROR;
	if (*size < need) {
		*size = need;
		return EFI_BUFFER_TOO_SMALL;
	}
	fw_info(f, buf);
	*size = need;
	return EFI_SUCCESS;
}

/* a file: its bytes; a directory: its next entry (UEFI 2.10 §13.5.6) */
static EFI_STATUS EFIAPI fw_read(EFI_FILE_PROTOCOL *self, UINTN *size,
				 void *buf)
{
	struct fw_file *f = ((struct fw_handle *)self)->f;
	other_service();
	if (f) {
		size_t n = strlen(f->data);
		if (f->read_fails)
			return EFI_DEVICE_ERROR;
		*size = MIN(*size, n);
		memcpy(buf, f->data, *size);
		return EFI_SUCCESS;
	}
	assert_true(((struct fw_handle *)self)->open);
	while (fw_dir_pos < fw_nfiles && !fw_files[fw_dir_pos].in_dir)
		fw_dir_pos++;
	if (fw_dir_fails_at && fw_dir_served + 1 >= fw_dir_fails_at)
		return EFI_DEVICE_ERROR;
	if (fw_dir_pos == fw_nfiles) {
		*size = 0;
		return EFI_SUCCESS;
	}
	f = &fw_files[fw_dir_pos];
	UINTN need = SIZE_OF_EFI_FILE_INFO + 2 * (wlen(f->name) + 1);
	if (*size < need) { /* the entry stays: read it again, larger */
		*size = need;
		return EFI_BUFFER_TOO_SMALL;
	}
	fw_info(f, buf);
	*size = need;
	fw_dir_pos++;
	fw_dir_served++;
	return EFI_SUCCESS;
}

static EFI_FILE_PROTOCOL *fw_handle(struct fw_file *f, bool in_dir)
{
	assert_true(fw_nhandles < 64);
	struct fw_handle *h = &fw_handles[fw_nhandles++];
	memset(h, 0, sizeof(*h));
	h->open = true;
	h->p.Open = fw_open;
	h->p.Close = fw_close;
	h->p.Read = fw_read;
	h->p.GetInfo = fw_get_info;
	h->f = f;
	h->in_dir = in_dir;
	return &h->p;
}

static EFI_STATUS EFIAPI fw_open_volume(EFI_FILE_IO_INTERFACE *fs,
					EFI_FILE_PROTOCOL **root)
{
	other_service();
	if (fw_volume_fails)
		return EFI_DEVICE_ERROR;
	*root = fw_handle(NULL, false);
	return EFI_SUCCESS;
}
static EFI_FILE_IO_INTERFACE fw_sfs = {.OpenVolume = fw_open_volume};

static EFI_LOADED_IMAGE *fw_li; /* the image's, for efi_main; NULL: none */
static EFI_STATUS EFIAPI fw_handle_protocol(EFI_HANDLE h, EFI_GUID *g,
					    void **out)
{
	EFI_GUID sfs = SIMPLE_FILE_SYSTEM_PROTOCOL, lig = LOADED_IMAGE_PROTOCOL;
	other_service();
	if (fw_li && memcmp(g, &lig, sizeof(lig)) == 0) {
		*out = fw_li;
		return EFI_SUCCESS;
	}
	if (memcmp(g, &sfs, sizeof(sfs)) != 0)
		return EFI_UNSUPPORTED;
	*out = &fw_sfs;
	return EFI_SUCCESS;
}

/* the firmware's generator (UEFI 2.10 §37.5): none, one that refuses
 * (EFI_NOT_READY), or one that answers */
static enum {
	FW_RNG_NONE,
	FW_RNG_REFUSES,
	FW_RNG_WORKS,
	FW_RNG_NULL /* LocateProtocol says yes and hands back NULL */
} fw_rng_state;
static unsigned fw_rng_calls;
static EFI_STATUS EFIAPI fw_get_rng(EFI_RNG_PROTOCOL *self,
				    EFI_RNG_ALGORITHM *alg, UINTN len,
				    UINT8 *out)
{
	other_service();
	fw_rng_calls++;
	if (fw_rng_state == FW_RNG_REFUSES)
		return EFI_NOT_READY;
	for (UINTN i = 0; i < len; i++)
		out[i] = (UINT8)(0xa5 ^ i);
	return EFI_SUCCESS;
}
static EFI_RNG_PROTOCOL fw_rng = {.GetRNG = fw_get_rng};
static EFI_STATUS EFIAPI fw_locate_protocol(EFI_GUID *g, void *reg, void **out)
{
	EFI_GUID rng = EFI_RNG_PROTOCOL_GUID;
	other_service();
	if (fw_rng_state == FW_RNG_NONE || memcmp(g, &rng, sizeof(rng)) != 0)
		return EFI_NOT_FOUND;
	*out = fw_rng_state == FW_RNG_NULL ? NULL : &fw_rng;
	return EFI_SUCCESS;
}
static int fw_watchdog = -1; /* the last timeout set; -1: never set */
static EFI_STATUS EFIAPI fw_set_watchdog(UINTN timeout, UINT64 code, UINTN n,
					 CHAR16 *data)
{
	other_service();
	fw_watchdog = (int)timeout;
	return EFI_SUCCESS;
}

static EFI_BOOT_SERVICES fw_bs;
static EFI_SYSTEM_TABLE fw_st;

static int setup(void **state)
{
	memset(&fw, 0, sizeof(fw));
	fw_rng_calls = 0;
	fw_watchdog = -1;
	fw.key = 100;
	memset(&fw_bs, 0, sizeof(fw_bs));
	fw_bs.GetMemoryMap = fw_get_memory_map;
	fw_bs.AllocatePages = fw_allocate_pages;
	fw_bs.FreePages = fw_free_pages;
	fw_bs.AllocatePool = fw_allocate_pool;
	fw_bs.FreePool = fw_free_pool;
	fw_bs.ExitBootServices = fw_exit_boot_services;
	fw_bs.HandleProtocol = fw_handle_protocol;
	fw_bs.LocateProtocol = fw_locate_protocol;
	fw_bs.SetWatchdogTimer = fw_set_watchdog;
	fw_rng_state = FW_RNG_NONE;
	fw_li = NULL;
	memset(fw_files, 0, sizeof(fw_files));
	fw_nfiles = fw_dir_pos = fw_nhandles = fw_dir_fails_at = 0;
	fw_open_status = EFI_NOT_FOUND;
	fw_volume_fails = fw_no_capos_dir = false;
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
	assert_handles_closed();
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

/* pages for the map that the map then outgrew (the first allocation adds
 * 200 descriptors: its block is too small by the time it is read), or
 * that were not used because GetMemoryMap failed or the next allocation
 * did, go back to the firmware before ExitBootServices; before, each was
 * kept as loader data, which the page allocator never reclaims (loader
 * data is not free memory: docs/mm.md) */
static void test_ebs_outgrown_map_given_back(void **st)
{
	fw.map_n = 3000;
	fw.alloc_grow = 200;
	assert_int_equal(efi_exit_boot_services(NULL), 0);
	assert_int_equal(fw.npages, 2);
	assert_int_equal(fw.live, 1); /* the map's own, boot_mmap.desc */
	assert_ptr_equal(boot_mmap.desc, fw.pages[1]);
	assert_int_equal(fw.after_ebs, 0);

	teardown(st); /* the second allocation refused */
	setup(st);
	fw.map_n = 3000;
	fw.alloc_grow = 200;
	fw.alloc_fail_at = 2;
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_int_equal(fw.live, 0);
	assert_int_equal(fw.ebs_calls, 0);

	teardown(st); /* the map read into the pages fails */
	setup(st);
	fw.map_n = 3000;
	fw.gmm_fail_at = 2;
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_int_equal(fw.npages, 1);
	assert_int_equal(fw.live, 0);
	assert_int_equal(fw.ebs_calls, 0);
}

/* ---- load options ------------------------------------------------------ */

static EFI_LOADED_IMAGE li_with(const void *opt, uint32_t bytes)
{
	EFI_LOADED_IMAGE li;
	memset(&li, 0, sizeof(li));
	li.LoadOptions = (void *)opt;
	li.LoadOptionsSize = bytes;
	return li;
}

/* load options longer than boot_cmdline holds are the command line, cut
 * and said so (cmdline_cut: devmgr.dma past the cut takes strict); before,
 * a line of 512 characters or more was dropped without a word and
 * \capos.cfg, or nothing, read in its place */
static void test_load_options_long_cut_not_dropped(void **st)
{
	static CHAR16 w[700];
	size_t n = 0;
	for (const CHAR16 *p = L"BOOTX64.EFI proofs=a t="; *p; p++)
		w[n++] = *p;
	while (n < 680) /* a word the cut falls in, lost whole */
		w[n++] = 'y';
	w[n++] = ' ';
	for (const CHAR16 *p = L"devmgr.dma=strict"; *p && n < 699; p++)
		w[n++] = *p;
	EFI_LOADED_IMAGE li = li_with(w, 2 * (n + 1));
	assert_true(efi_load_options(&li));
	assert_string_equal(cmdline_get("proofs"), "a");
	assert_null(cmdline_get("devmgr.dma"));
	assert_true(cmdline_cut());
	assert_int_equal(cmdline_check(), 1);
}

/* a binary blob (a Boot#### entry's optional data, a GUID; a lone surrogate; a
 * control character) is not a command line, and one line says so; an odd
 * size leaves its last half character unread and a NUL ends the line
 * (Linux's efi_convert_cmdline: LoadOptionsSize / 2 characters, up to
 * NUL) */
static void test_load_options_binary_said(void **st)
{
	static const uint8_t guid[16] = {0x9e, 0x15, 0x3e, 0x5c, 0x1a, 0x2b,
					 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81,
					 0x92, 0xa3, 0xb4, 0xc5};
	EFI_LOADED_IMAGE li = li_with(guid, sizeof(guid));
	uint64_t calls = shim_kprintf_calls;
	assert_false(efi_load_options(&li));
	assert_int_equal(shim_kprintf_calls, calls + 1);
	assert_non_null(strstr(shim_last_line, "load options (16 bytes) "
					       "are not text (0x159e at "
					       "character 0)"));
	static const CHAR16 sur[] = {'a', '=', 0xd800, 'b', 0};
	li = li_with(sur, sizeof(sur));
	assert_false(efi_load_options(&li));
	assert_non_null(strstr(shim_last_line, "(0xd800 at character 2)"));
	static const CHAR16 tab[] = {'a', '\t', 'b', 0};
	li = li_with(tab, sizeof(tab));
	assert_false(efi_load_options(&li));
	assert_non_null(strstr(shim_last_line, "(0x9 at character 1)"));

	static const CHAR16 odd[] = L"proofs=xy";
	li = li_with(odd, 2 * 8 + 1); /* "proofs=x" and half of 'y' */
	assert_true(efi_load_options(&li));
	assert_string_equal(cmdline_get("proofs"), "x");
	static const CHAR16 nul[] = {'a', '=', '1', 0, 'b', '=', '2', 0};
	li = li_with(nul, sizeof(nul));
	assert_true(efi_load_options(&li));
	assert_string_equal(cmdline_get("a"), "1");
	assert_null(cmdline_get("b"));
	/* only the image's name: \capos.cfg says the rest */
	li = li_with(L"\\EFI\\BOOT\\BOOTX64.EFI ", 2 * 23);
	assert_false(efi_load_options(&li));
}

/* no load options (none given, or a size of 0), or only blanks after the
 * image's name or none at all, are no command line: \capos.cfg is read
 * (UEFI 2.10 §9.1: LoadOptions is optional); blanks before the first
 * option are skipped, however many */
static void test_load_options_empty_or_blank_read_cfg(void **st)
{
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	assert_false(efi_load_options(&li));
	li = li_with(L"proofs=a", 0);
	assert_false(efi_load_options(&li));
	li = li_with(NULL, 16); /* a size, and no options */
	assert_false(efi_load_options(&li));
	li = li_with(L"   ", 2 * 4);
	assert_false(efi_load_options(&li));
	assert_int_equal(fw.pools, 0);
	li = li_with(L"BOOTX64.EFI    proofs=b", 2 * 24);
	assert_true(efi_load_options(&li));
	assert_string_equal(cmdline_get("proofs"), "b");
	/* printable ASCII ends at '~' (0x7e), which is text; options need
	 * no NUL: exactly LoadOptionsSize bytes are read, none past them */
	CHAR16 *w = malloc(2 * 8);
	assert_non_null(w);
	memcpy(w, L"proofs=~", 2 * 8);
	li = li_with(w, 2 * 8);
	assert_true(efi_load_options(&li));
	assert_string_equal(cmdline_get("proofs"), "~");
	free(w);
}

/* ---- configuration tables ---------------------------------------------- */

/* a table whose pointer is 0 is no table: it never hides another (an ACPI
 * 2.0 entry of 0 after a good ACPI 1.0 one; an SMBIOS 3 entry of 0 before
 * a good SMBIOS 2 one). Duplicates: the last wins, as Linux's
 * efi_config_parse_tables */
static void test_config_table_zero_ignored(void **st)
{
	EFI_CONFIGURATION_TABLE t[5] = {
	    {ACPI_TABLE_GUID, (void *)0x1000},
	    {ACPI_20_TABLE_GUID, NULL},
	    {SMBIOS3_TABLE_GUID, NULL},
	    {SMBIOS_TABLE_GUID, (void *)0x2000},
	    {SMBIOS_TABLE_GUID, (void *)0x3000},
	};
	fw_st.ConfigurationTable = t;
	fw_st.NumberOfTableEntries = 5;
	efi_find_tables();
	assert_int_equal(boot_rsdp, 0x1000);
	assert_int_equal(boot_smbios, 0x3000);
	assert_false(boot_smbios3);
	t[1].VendorTable = (void *)0x4000;
	t[2].VendorTable = (void *)0x5000;
	efi_find_tables();
	assert_int_equal(boot_rsdp, 0x4000);
	assert_int_equal(boot_smbios, 0x5000);
	assert_true(boot_smbios3);
}

/* only the ACPI GUIDs name the RSDP (UEFI 2.10 §4.6): another table
 * (SMBIOS, or one capOS does not know) never stands in for it */
static void test_config_table_only_acpi_is_rsdp(void **st)
{
	EFI_GUID other = {0x12345678, 1, 2, {3, 4, 5, 6, 7, 8, 9, 10}};
	EFI_CONFIGURATION_TABLE t[2] = {
	    {SMBIOS_TABLE_GUID, (void *)0x2000},
	    {{0}, (void *)0x3000},
	};
	t[1].VendorGuid = other;
	fw_st.ConfigurationTable = t;
	fw_st.NumberOfTableEntries = 2;
	efi_find_tables();
	assert_int_equal(boot_rsdp, 0);
	assert_int_equal(boot_smbios, 0x2000);
}

/* ---- the boot volume ----------------------------------------------------- */

/* \capos.cfg that is there but does not read, does not open, or a volume
 * that does not open: the command line is lost, said, and cut (devmgr.dma
 * takes strict); before, each was silent and the defaults (auto) ran */
static void test_cfg_unreadable_is_lost(void **st)
{
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	fw_files[fw_nfiles++] = (struct fw_file){.name = L"\\capos.cfg",
						 .data = "devmgr.dma=strict\n"};
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_string_equal(cmdline_get("devmgr.dma"), "strict");
	assert_false(cmdline_cut());

	fw_files[0].read_fails = true;
	cmdline_parse("", 0);
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_null(cmdline_get("devmgr.dma"));
	assert_true(cmdline_cut());
	assert_int_equal(cmdline_check(), 1);
	assert_non_null(strstr(shim_last_line, "capos.cfg unreadable"));

	fw_files[0].read_fails = false;
	fw_files[0].info_fails = true;
	cmdline_parse("", 0);
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_true(cmdline_cut());

	fw_nfiles = 0;
	fw_open_status = EFI_DEVICE_ERROR;
	cmdline_parse("", 0);
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_true(cmdline_cut());
	fw_open_status = EFI_NOT_FOUND; /* absent: the defaults, not cut */
	cmdline_parse("", 0);
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_false(cmdline_cut());

	fw_volume_fails = true;
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	assert_true(cmdline_cut());
	/* with load options, the volume holds only test files */
	cmdline_parse("proofs=a", 8);
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();
	assert_false(cmdline_cut());
}

/* a directory entry larger than the entry buffer (a 300-character name)
 * is read again into a buffer of the size the firmware asked for, and only
 * that file is lost; before, the read failed and every later file was
 * lost with it */
static void test_dir_long_name_loses_only_it(void **st)
{
	static CHAR16 longname[301];
	for (unsigned i = 0; i < 300; i++)
		longname[i] = 'x';
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"a.vec", .data = "AAAA", .in_dir = true};
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = longname, .data = "XXXX", .in_dir = true};
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"b.vec", .data = "BB", .in_dir = true};
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	unsigned lost = bootfs_lost(), kept = 0;
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();
	assert_int_equal(bootfs_lost(), lost + 1);
	char said[256];
	strlcpy(said, shim_last_line, sizeof(said));
	const char *name;
	const void *data;
	size_t len;
	bool a = false, b = false;
	for (unsigned i = 0; bootfs_at(i, &name, &data, &len); i++) {
		if (strcmp(name, "a.vec") == 0)
			a = len == 4 && memcmp(data, "AAAA", 4) == 0;
		if (strcmp(name, "b.vec") == 0)
			b = len == 2 && memcmp(data, "BB", 2) == 0;
		kept++;
	}
	assert_true(a);
	assert_true(b);
	assert_non_null(strstr(said, "name longer than 63"));
	fw.pools -= kept; /* the records bootfs keeps */
}

/* a file's pages go back to the firmware when its Read fails (\\capos.cfg,
 * a file of \\capos), and \\capos.cfg's once the command line is copied
 * out of them (boot_cmdline): only kept files hold pages. Before, each
 * unreadable file kept up to 16 MiB of loader data, which the page
 * allocator never reclaims, and \\capos.cfg its pages for good */
static void test_file_pages_given_back(void **st)
{
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	unsigned kept = 0;
	const char *name;
	const void *data;
	size_t len;
	while (bootfs_at(kept, &name, &data, &len)) /* earlier cases' */
		kept++;
	fw_files[fw_nfiles++] = (struct fw_file){.name = L"\\capos.cfg",
						 .data = "devmgr.dma=strict\n"};
	fw_no_capos_dir = true;
	efi_read_volume(NULL, &li, false);
	assert_string_equal(cmdline_get("devmgr.dma"), "strict");
	assert_int_equal(fw.npages, 1);
	assert_int_equal(fw.live, 0);
	fw_files[0].read_fails = true;
	efi_read_volume(NULL, &li, false);
	assert_true(cmdline_cut());
	assert_int_equal(fw.npages, 2);
	assert_int_equal(fw.live, 0);

	fw_no_capos_dir = false;
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"k.vec", .data = "KK", .in_dir = true};
	fw_files[fw_nfiles++] = (struct fw_file){
	    .name = L"r.vec", .data = "R", .in_dir = true, .read_fails = true};
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();
	assert_int_equal(fw.npages, 4);
	assert_int_equal(fw.live, 1); /* k.vec's, which bootfs keeps */
	assert_true(bootfs_at(kept, &name, &data, &len));
	assert_string_equal(name, "k.vec");
	assert_ptr_equal(data, fw.pages[2]);
	assert_false(bootfs_at(kept + 1, &name, &data, &len));
	fw.pools--; /* k.vec's record, which bootfs keeps */
}

/* every handle the boot volume hands out is closed, on success and on each
 * way reading it fails: the root (no \\capos, \\capos.cfg read or not), the
 * \\capos directory (read to its end, or failing part way), each file of it
 * (kept, unreadable, its information unreadable, or not opening); before,
 * the root was never closed, and deleting the directory's Close passed */
static void test_volume_handles_closed(void **st)
{
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	unsigned lost = bootfs_lost(), kept = 0;
	const char *name;
	const void *data;
	size_t len;
	while (bootfs_at(kept, &name, &data, &len)) /* earlier cases' */
		kept++;
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"\\capos.cfg", .data = "exit\n"};
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"k.vec", .data = "KK", .in_dir = true};
	fw_files[fw_nfiles++] = (struct fw_file){
	    .name = L"r.vec", .data = "R", .in_dir = true, .read_fails = true};
	fw_files[fw_nfiles++] = (struct fw_file){
	    .name = L"i.vec", .data = "I", .in_dir = true, .info_fails = true};
	fw_files[fw_nfiles++] = (struct fw_file){
	    .name = L"o.vec", .data = "O", .in_dir = true, .open_fails = true};
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"d", .in_dir = true, .is_dir = true};
	efi_read_volume(NULL, &li, false); /* the whole directory */
	assert_int_equal(fw_nhandles, 6);  /* root, cfg, \\capos, k, r, i */
	assert_handles_closed();
	assert_int_equal(bootfs_lost(), lost + 3);

	fw_dir_fails_at = 2; /* after k.vec */
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();
	assert_non_null(strstr(shim_last_line, "directory read failed"));
	fw_dir_fails_at = 1; /* at once */
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();

	fw_dir_fails_at = 0;
	fw_no_capos_dir = true; /* the root alone, with capos.cfg and not */
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	efi_read_volume(NULL, &li, true);
	assert_handles_closed();
	fw_files[0].read_fails = true;
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();
	fw_files[0].open_fails = true;
	efi_read_volume(NULL, &li, false);
	assert_handles_closed();

	unsigned now = 0;
	while (bootfs_at(now, &name, &data, &len))
		now++;
	assert_int_equal(now, kept + 2); /* k.vec, twice */
	fw.pools -= now - kept;		 /* the records bootfs keeps */
}

/* a file of \\capos of exactly 16 MiB is kept; one byte more is lost
 * with a line, and no pages are taken for it */
static void test_file_of_16_MiB_kept_larger_lost(void **st)
{
	size_t big = 16u << 20;
	char *a = malloc(big + 2), *b = malloc(big + 2);
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 'a', big);
	a[big] = 0;
	memset(b, 'b', big + 1);
	b[big + 1] = 0;
	unsigned lost = bootfs_lost(), kept = 0;
	const char *name;
	const void *data;
	size_t len;
	while (bootfs_at(kept, &name, &data, &len)) /* earlier cases' */
		kept++;
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"a16.vec", .data = a, .in_dir = true};
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"b16.vec", .data = b, .in_dir = true};
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	efi_read_volume(NULL, &li, true);
	assert_int_equal(bootfs_lost(), lost + 1);
	assert_non_null(strstr(shim_last_line, "b16.vec"));
	assert_true(bootfs_at(kept, &name, &data, &len));
	assert_string_equal(name, "a16.vec");
	assert_int_equal(len, big);
	assert_false(bootfs_at(kept + 1, &name, &data, &len));
	assert_int_equal(fw.npages, 1); /* a16.vec's only */
	fw.pools--; /* a16.vec's record, which bootfs keeps */
	free(a);
	free(b);
}

/* the firmware's generator seeds the kernel's before ExitBootServices
 * (UEFI 2.10 §37.5 EFI_RNG_PROTOCOL.GetRNG, 32 bytes); one that refuses
 * is said in one line and adds nothing; none is no line */
static void test_efi_rng_seeds_random(void **st)
{
	uint64_t calls = shim_kprintf_calls;
	efi_seed_random(); /* none */
	fw_rng_state = FW_RNG_NULL;
	efi_seed_random(); /* "found", and NULL: none either */
	assert_int_equal(shim_kprintf_calls, calls);
	assert_int_equal(fw_rng_calls, 0);
	fw_rng_state = FW_RNG_REFUSES;
	efi_seed_random();
	assert_int_equal(shim_kprintf_calls, calls + 1);
	assert_non_null(
	    strstr(shim_last_line, "EFI RNG present but refused to answer"));
	assert_null(strstr(random_sources(), "efi-rng"));
	fw_rng_state = FW_RNG_WORKS;
	efi_seed_random();
	assert_int_equal(fw_rng_calls, 2);
	assert_int_equal(shim_kprintf_calls, calls + 1);
	assert_non_null(strstr(random_sources(), "efi-rng"));
	assert_true(random_strong());
}

/* efi_main takes what it needs from firmware before ExitBootServices —
 * the configuration tables, the load options, the RNG — and a firmware
 * whose ExitBootServices never accepts is a failed boot returned to it
 * (EFI_ABORTED), not a hang (UEFI 2.10 §7.4.6) */
static void test_efi_main_takes_tables_before_exit(void **st)
{
	EFI_CONFIGURATION_TABLE t[2] = {
	    {ACPI_20_TABLE_GUID, (void *)0x7000},
	    {SMBIOS3_TABLE_GUID, (void *)0x8000},
	};
	fw_st.ConfigurationTable = t;
	fw_st.NumberOfTableEntries = 2;
	EFI_LOADED_IMAGE li = li_with(L"proofs=m", 2 * 9);
	fw_li = &li;
	fw_rng_state = FW_RNG_WORKS;
	fw_no_capos_dir = true;
	fw.map_n = 10;
	fw.ebs_fail = 1000;
	ST = NULL, BS = NULL; /* efi_main's to set */
	unsigned c = consoles;
	assert_int_equal(efi_main(NULL, &fw_st), EFI_ABORTED);
	assert_int_equal(relocated_at, (uint64_t)__image_base);
	assert_int_equal(consoles, c + 1);
	assert_int_not_equal(boot_marks[MARK_EFI_MAIN], 0);
	assert_int_equal(fw_watchdog, 0); /* §7.5.1: its 5 minutes off */
	assert_int_equal(boot_rsdp, 0x7000);
	assert_int_equal(boot_smbios, 0x8000);
	assert_true(boot_smbios3);
	assert_string_equal(cmdline_get("proofs"), "m");
	assert_int_equal(fw_rng_calls, 1);
	assert_int_equal(fw.after_ebs, 0);
	assert_non_null(strstr(shim_last_line, "unable to exit boot services"));

	/* no load options: \\capos.cfg is the command line */
	li = li_with(NULL, 0);
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = L"\\capos.cfg", .data = "proofs=n\n"};
	assert_int_equal(efi_main(NULL, &fw_st), EFI_ABORTED);
	assert_string_equal(cmdline_get("proofs"), "n");

	/* an image boot_relocate cannot fix up: nothing else is done */
	relocate_fails = 1;
	unsigned calls = fw.gmm_calls;
	assert_int_equal(efi_main(NULL, &fw_st), EFI_LOAD_ERROR);
	relocate_fails = 0;
	assert_int_equal(fw.gmm_calls, calls);
}

/* GetMemoryMap failing: pages allocated for the map go back before the
 * first ExitBootServices and never after it (UEFI 2.8 §7.4.6), and the
 * static buffer is never handed to FreePages */
static void test_ebs_map_failure_frees_only_allocated_before_exit(void **st)
{
	fw.map_n = 10;
	fw.gmm_fail_at = 1; /* the static buffer's only read */
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_int_equal(fw.npages, 0);
	fw.map_n = 3000; /* pages of its own; the read after a failed
			    ExitBootServices fails */
	fw.ebs_fail = 1;
	fw.gmm_calls = 0;
	fw.gmm_fail_at = 3;
	assert_int_equal(efi_exit_boot_services(NULL), -1);
	assert_int_equal(fw.ebs_calls, 1);
	assert_int_equal(fw.after_ebs, 0);
	assert_int_equal(fw.live, 1); /* kept: FreePages is not allowed now */
}

/* a \\capos file name is kept as ASCII: a character past 0x7f, U+0080
 * among them, reads as '?' */
static void test_file_name_non_ascii_as_question_mark(void **st)
{
	static const CHAR16 name[] = {'v', 0x80, 0xe9, '.', 'v', 'e', 'c', 0};
	unsigned kept = 0;
	const char *n;
	const void *data;
	size_t len;
	while (bootfs_at(kept, &n, &data, &len)) /* earlier cases' */
		kept++;
	fw_files[fw_nfiles++] =
	    (struct fw_file){.name = name, .data = "V", .in_dir = true};
	EFI_LOADED_IMAGE li = li_with(NULL, 0);
	efi_read_volume(NULL, &li, true);
	assert_true(bootfs_at(kept, &n, &data, &len));
	assert_string_equal(n, "v??.vec");
	fw.pools--; /* its record, which bootfs keeps */
}

/* ---- the boot facts (kernel/boot/facts.c) ------------------------------ */

/* boot_mark keeps the TSC where the step was reached (the timeline
 * kernel/init/main.c prints): between two reads around it */
static void test_boot_mark_keeps_the_tsc(void **st)
{
	(void)st;
	boot_marks[MARK_PCI_DONE] = 0;
	uint64_t before = __builtin_ia32_rdtsc();
	boot_mark(MARK_PCI_DONE);
	uint64_t after = __builtin_ia32_rdtsc();
	assert_true(boot_marks[MARK_PCI_DONE] >= before);
	assert_true(boot_marks[MARK_PCI_DONE] <= after);
}

/* every poller runs once a pass, in the order added, and the pass is busy
 * when any of them is; MAX_POLLERS (8) fit */
static unsigned poll_order[16], npolled;
static bool poll_busy[8];
#define POLLER(i)                                                              \
	static bool poller##i(void)                                            \
	{                                                                      \
		poll_order[npolled++ % 16] = i;                                \
		return poll_busy[i];                                           \
	}
POLLER(0)
POLLER(1)
POLLER(2)
POLLER(3)
POLLER(4)
POLLER(5)
POLLER(6)
POLLER(7)
static bool (*const poller_fns[8])(void) = {poller0, poller1, poller2, poller3,
					    poller4, poller5, poller6, poller7};

static void test_pollers_all_run_busy_if_any(void **st)
{
	(void)st;
	npolled = 0;
	assert_false(poller_run_all()); /* none yet: idle */
	assert_int_equal(npolled, 0);
	for (unsigned i = 0; i < 8; i++)
		poller_add(poller_fns[i]);
	assert_false(poller_run_all());
	assert_int_equal(npolled, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(poll_order[i], i);
	for (unsigned i = 0; i < 8; i++) {
		memset(poll_busy, 0, sizeof(poll_busy));
		poll_busy[i] = true;
		npolled = 0;
		assert_true(poller_run_all());
		assert_int_equal(npolled, 8); /* the rest still ran */
	}
	memset(poll_busy, 0, sizeof(poll_busy));
	/* a ninth is a panic (the kernel stops, naming the bound), not a
	 * write past the table: in a child, which must die by abort */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		poller_add(poller0);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
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
	    cmocka_unit_test_setup_teardown(test_ebs_outgrown_map_given_back,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_load_options_long_cut_not_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_options_binary_said,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_table_zero_ignored,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cfg_unreadable_is_lost, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dir_long_name_loses_only_it,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_volume_handles_closed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_file_pages_given_back, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_load_options_empty_or_blank_read_cfg, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_file_of_16_MiB_kept_larger_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_efi_rng_seeds_random, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_efi_main_takes_tables_before_exit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_table_only_acpi_is_rsdp,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_ebs_map_failure_frees_only_allocated_before_exit, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_file_name_non_ascii_as_question_mark, setup, teardown),
	    cmocka_unit_test(test_boot_mark_keeps_the_tsc),
	    cmocka_unit_test(test_pollers_all_run_busy_if_any),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
