/* kernel/init/efi.c — the UEFI entry. Collect what only firmware knows (the
 * memory map, ACPI RSDP, SMBIOS, the command line and the test files on the
 * boot volume), call ExitBootServices (UEFI 2.10 §7.4) and never call
 * firmware again. */
#include <efi.h>

#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/console/console.h"
#include "kernel/init/init.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/random.h"
#include "kernel/time/time.h"

extern char __image_base[] __attribute__((visibility("hidden")));

static uint8_t mmap_buf[32768];

static EFI_SYSTEM_TABLE *ST;
static EFI_BOOT_SERVICES *BS;

static bool guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void efi_find_tables(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	EFI_GUID smbios3 = SMBIOS3_TABLE_GUID, smbios = SMBIOS_TABLE_GUID;
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		uint64_t p = (uint64_t)t->VendorTable;
		if (!p) /* no table: never hides another's */
			continue;
		if (guid_eq(&t->VendorGuid, &acpi20))
			boot_rsdp = p;
		else if (guid_eq(&t->VendorGuid, &acpi10) && !boot_rsdp)
			boot_rsdp = p;
		else if (guid_eq(&t->VendorGuid, &smbios3)) {
			boot_smbios = p;
			boot_smbios3 = true;
		} else if (guid_eq(&t->VendorGuid, &smbios) && !boot_smbios3)
			boot_smbios = p;
	}
}

/* UCS-2 load options are a command line only if they are printable ASCII
 * up to their first NUL: boot managers pass binary data there (a Boot####
 * entry's optional data), which is said in one line and not read. An
 * odd size ends in half a character, which is not read either (Linux's
 * efi_convert_cmdline counts LoadOptionsSize / 2 characters too). The
 * line is copied whole, however long: cmdline_parse keeps what
 * boot_cmdline holds and says what it cut (cmdline_cut). The shell passes
 * the image name first: a first word ending in .efi is skipped. */
static bool efi_load_options(EFI_LOADED_IMAGE *li)
{
	const CHAR16 *w = li->LoadOptions;
	size_t n = li->LoadOptionsSize / 2, len = 0;
	char *a;
	if (!w || n == 0)
		return false;
	for (; len < n && w[len]; len++)
		if (w[len] < 0x20 || w[len] > 0x7e) {
			kprintf("boot: load options (%u bytes) are not text "
				"(0x%x at character %lu); not a command line\n",
				li->LoadOptionsSize, w[len],
				(unsigned long)len);
			return false;
		}
	if (BS->AllocatePool(EfiLoaderData, len + 1, (void **)&a) !=
	    EFI_SUCCESS) {
		cmdline_lost("no memory to copy the load options");
		return true;
	}
	for (size_t i = 0; i < len; i++)
		a[i] = (char)w[i];
	a[len] = 0;
	const char *s = a;
	const char *sp = strchr(s, ' ');
	size_t first = sp ? (size_t)(sp - s) : len;
	if (first >= 4 && (strncmp(s + first - 4, ".efi", 4) == 0 ||
			   strncmp(s + first - 4, ".EFI", 4) == 0))
		s += sp ? first + 1 : first;
	while (*s == ' ')
		s++;
	bool given = *s != 0; /* else only the image name: \capos.cfg */
	if (given)
		cmdline_parse(s, strlen(s));
	BS->FreePool(a);
	return given;
}

/* a file's bytes in pages of their own (*pages of them, for
 * efi_free_file), or NULL: every failure after AllocatePages gives the
 * pages back, so an unreadable file costs firmware nothing */
static void *efi_read_file(EFI_FILE_HANDLE f, UINTN *size, UINTN *pages)
{
	EFI_GUID info_guid = EFI_FILE_INFO_ID;
	union {
		EFI_FILE_INFO fi;
		uint8_t raw[512];
	} info;
	UINTN isz = sizeof(info);
	EFI_PHYSICAL_ADDRESS a;
	if (f->GetInfo(f, &info_guid, &isz, &info) != EFI_SUCCESS)
		return NULL;
	*size = info.fi.FileSize;
	if (*size > 16u << 20) /* a test file, not a disk image */
		return NULL;
	*pages = ALIGN_UP(*size, 4096) / 4096 + 1;
	if (BS->AllocatePages(AllocateAnyPages, EfiLoaderData, *pages, &a) !=
	    EFI_SUCCESS)
		return NULL;
	if (f->Read(f, size, (void *)a) != EFI_SUCCESS) {
		BS->FreePages(a, *pages);
		return NULL;
	}
	return (void *)a;
}

static void ucs2_to_ascii(const CHAR16 *w, char *out, size_t cap)
{
	size_t i = 0;
	for (; w[i] && i + 1 < cap; i++)
		out[i] = w[i] < 0x80 ? (char)w[i] : '?';
	out[i] = 0;
}

/* one file of \capos\ by its directory entry: kept (bootfs_add) or lost
 * with a line */
static void efi_keep_file(EFI_FILE_HANDLE dir, EFI_FILE_INFO *fi)
{
	EFI_FILE_HANDLE f;
	UINTN size;
	struct bootfs_file *bf;
	char name[BOOTFS_NAME_MAX + 1];
	ucs2_to_ascii(fi->FileName, name, sizeof(name));
	if (strlen(name) >= BOOTFS_NAME_MAX) {
		bootfs_lose(name, "name longer than 63 characters");
		return;
	}
	if (BS->AllocatePool(EfiLoaderData, sizeof(*bf), (void **)&bf) !=
	    EFI_SUCCESS) {
		bootfs_lose(name, "no memory");
		return;
	}
	void *p = 0;
	UINTN pages;
	if (dir->Open(dir, &f, fi->FileName, EFI_FILE_MODE_READ, 0) ==
	    EFI_SUCCESS) {
		p = efi_read_file(f, &size, &pages);
		f->Close(f);
	}
	if (!p) {
		BS->FreePool(bf);
		bootfs_lose(name, "unreadable or larger than 16 MiB");
		return;
	}
	strlcpy(bf->name, name, sizeof(bf->name));
	bf->data = p;
	bf->len = size;
	bootfs_add(bf);
}

/* \capos.cfg (when there was no command line) and every file in \capos\ */
static void efi_read_volume(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
			    bool have_cmdline)
{
	EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, f, dir;
	UINTN size, pages;
	(void)image;
	EFI_STATUS st;
	/* a loader from the network has no volume; one whose volume does not
	 * open, or whose capos.cfg is there but does not read, has lost its
	 * command line (cmdline_lost: a cut line, cmdline_cut) */
	if (BS->HandleProtocol(li->DeviceHandle, &fs_guid, (void **)&fs) !=
	    EFI_SUCCESS) {
		kprintf(
		    "boot: no boot volume; no capos.cfg, no \\capos files\n");
		return;
	}
	if (fs->OpenVolume(fs, &root) != EFI_SUCCESS) {
		kprintf("boot: the boot volume does not open; no capos.cfg, "
			"no \\capos files\n");
		if (!have_cmdline)
			cmdline_lost("the boot volume does not open");
		return;
	}
	if (!have_cmdline) {
		st =
		    root->Open(root, &f, L"\\capos.cfg", EFI_FILE_MODE_READ, 0);
		if (st == EFI_SUCCESS) {
			char *p = efi_read_file(f, &size, &pages);
			if (p) { /* copied into boot_cmdline: not kept */
				cmdline_parse(p, size);
				BS->FreePages((EFI_PHYSICAL_ADDRESS)p, pages);
			} else
				cmdline_lost("\\capos.cfg unreadable or "
					     "larger than 16 MiB");
			f->Close(f);
		} else if (st == EFI_NOT_FOUND) {
			kprintf("boot: no command line and no capos.cfg; "
				"using defaults\n");
		} else {
			cmdline_lost("\\capos.cfg does not open");
		}
	}
	/* every handle opened here is closed again, the root's too: an
	 * open one is the firmware's to keep (UEFI 2.10 §13.5.3) */
	if (root->Open(root, &dir, L"\\capos", EFI_FILE_MODE_READ, 0) !=
	    EFI_SUCCESS) {
		root->Close(root);
		return;
	}
	for (;;) {
		union {
			EFI_FILE_INFO fi;
			uint8_t raw[512];
		} ent;
		EFI_FILE_INFO *fi = &ent.fi, *big = NULL;
		UINTN esz = sizeof(ent);
		st = dir->Read(dir, &esz, fi);
		/* an entry larger than ent (a long name) stays unread: read
		 * it again into a buffer of the size asked for, so only that
		 * file is lost (UEFI 2.10 §13.5.6 EFI_BUFFER_TOO_SMALL) */
		if (st == EFI_BUFFER_TOO_SMALL && esz > sizeof(ent) &&
		    BS->AllocatePool(EfiLoaderData, esz, (void **)&big) ==
			EFI_SUCCESS) {
			fi = big;
			st = dir->Read(dir, &esz, fi);
		}
		if (st == EFI_SUCCESS && esz != 0 &&
		    !(fi->Attribute & EFI_FILE_DIRECTORY))
			efi_keep_file(dir, fi);
		if (big)
			BS->FreePool(big);
		if (st != EFI_SUCCESS) {
			/* every later file is lost too, so say so */
			bootfs_lose("*", "directory read failed; the rest of "
					 "the directory is lost");
			break;
		}
		if (esz == 0)
			break;
	}
	dir->Close(dir);
	root->Close(root);
}

/* room the map may grow by after it was read: the descriptors an event
 * adds while ExitBootServices fails (Linux's EFI_MMAP_NR_SLACK_SLOTS) */
#define MMAP_SLACK 8

/* GetMemoryMap then ExitBootServices; a changed map key means the map moved
 * under us: fetch it again and retry (UEFI 2.10 §7.4.6). After the first
 * ExitBootServices call the firmware may have shut boot services down in
 * part, and up to UEFI 2.8 only GetMemoryMap and ExitBootServices may be
 * called then: the buffer is sized, with MMAP_SLACK descriptors to spare,
 * before that call, and the retries read into it allocating nothing (as
 * Linux's efi_exit_boot_services). */
static int efi_exit_boot_services(EFI_HANDLE image)
{
	/* the static buffer holds a typical map; a larger one (many-socket
	 * machines, fragmented firmware maps) gets pages of its own, sized
	 * by what GetMemoryMap asked for plus room for the descriptors the
	 * allocation itself adds and the slack. Pages outgrown, or not used
	 * because the map could not be read, go back to the firmware while
	 * it may still be called (before the first ExitBootServices; after
	 * it FreePages is not allowed, and the boot has failed anyway). */
	uint8_t *buf = mmap_buf;
	UINTN cap = sizeof(mmap_buf), size, key,
	      dsize = sizeof(EFI_MEMORY_DESCRIPTOR);
	UINT32 dver;
	EFI_STATUS st;
	for (int tries = 0;; tries++) {
		size = cap;
		st = BS->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)buf, &key,
				      &dsize, &dver);
		if (st != EFI_BUFFER_TOO_SMALL &&
		    (st != EFI_SUCCESS || cap - size >= MMAP_SLACK * dsize))
			break;
		if (buf != mmap_buf) /* outgrown: buf and cap are set anew
					below, or not used again */
			BS->FreePages((EFI_PHYSICAL_ADDRESS)buf, cap / 4096);
		EFI_PHYSICAL_ADDRESS a = 0;
		UINTN pages = (size + (MMAP_SLACK + 8) * dsize + 4095) / 4096;
		if (tries == 4 ||
		    BS->AllocatePages(AllocateAnyPages, EfiLoaderData, pages,
				      &a) != EFI_SUCCESS) {
			kprintf("boot: no memory for a %lu-byte memory map\n",
				(unsigned long)size);
			return -1;
		}
		buf = (uint8_t *)a;
		cap = pages * 4096;
	}
	for (int tries = 0; tries < 4; tries++) {
		if (st != EFI_SUCCESS) {
			kprintf("boot: GetMemoryMap failed (0x%lx)\n",
				(unsigned long)st);
			if (tries == 0 && buf != mmap_buf)
				BS->FreePages((EFI_PHYSICAL_ADDRESS)buf,
					      cap / 4096);
			return -1;
		}
		boot_mmap.desc = buf;
		boot_mmap.size = size;
		boot_mmap.desc_size = dsize;
		if (BS->ExitBootServices(image, key) == EFI_SUCCESS)
			return 0;
		size = cap;
		st = BS->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)buf, &key,
				      &dsize, &dver);
	}
	return -1;
}

/* the firmware's generator (UEFI 2.10 §37.5), while it is still there:
 * OVMF has one when the CPU offers RDRAND or a virtio-rng device is
 * present; many machines have none */
static void efi_seed_random(void)
{
	EFI_GUID rng_guid = EFI_RNG_PROTOCOL_GUID;
	EFI_RNG_PROTOCOL *rng = NULL;
	uint8_t seed[32];
	if (BS->LocateProtocol(&rng_guid, NULL, (void **)&rng) != EFI_SUCCESS ||
	    !rng)
		return;
	if (rng->GetRNG(rng, NULL, sizeof(seed), seed) != EFI_SUCCESS) {
		kprintf("random: EFI RNG present but refused to answer\n");
		return;
	}
	random_add("efi-rng", seed, sizeof(seed), true);
	memset(seed, 0, sizeof(seed));
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	uint64_t t0 = time_tsc();
	boot_image_base = (uint64_t)__image_base;
	if (boot_relocate(boot_image_base) != 0)
		return EFI_LOAD_ERROR;
	boot_marks[MARK_EFI_MAIN] = t0;
	ST = st;
	BS = st->BootServices;
	console_init();
	kprintf("\ncapOS: efi_main, image at 0x%lx\n", boot_image_base);

	EFI_GUID li_guid = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li = NULL;
	bool have_cmdline = false;
	efi_find_tables();
	if (BS->HandleProtocol(image, &li_guid, (void **)&li) == EFI_SUCCESS) {
		have_cmdline = efi_load_options(li);
		efi_read_volume(image, li, have_cmdline);
	}
	efi_seed_random();
	BS->SetWatchdogTimer(0, 0, 0, NULL);
	if (efi_exit_boot_services(image) != 0) {
		kprintf("boot: unable to exit boot services\n");
		return EFI_ABORTED;
	}
	__asm__ volatile("cli");
	boot_mark(MARK_EXIT_BOOT_SERVICES);
	kmain();
}
