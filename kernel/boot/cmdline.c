/* kernel/boot/cmdline.c — the command line ("key=value flag ...") and the
 * files read from \capos\ on the boot volume. Words no CMDLINE_KEY declares
 * are reported by cmdline_check(); values are copied so nothing points into
 * firmware memory. */
#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"

#define MAX_ARGS 32
char boot_cmdline[512];
static struct {
	char *key, *val;
} args[MAX_ARGS];
static unsigned nargs;
static bool too_long, too_many; /* what cmdline_check reports */
static const char *lost;	/* why no line was read (cmdline_lost) */
static bool nul_cut;		/* a NUL byte with words after it */
static size_t nul_at;

void cmdline_parse(const char *s, size_t n)
{
	size_t len = 0;
	char prev = ' '; /* the last character read, kept or not */
	too_long = nul_cut = false;
	lost = NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!c) { /* the end; text after it (a file's) is lost */
			for (size_t j = i + 1; j < n && !nul_cut; j++)
				nul_cut = s[j] != 0 && s[j] != ' ' &&
					  s[j] != '\n' && s[j] != '\r' &&
					  s[j] != '\t';
			nul_at = i;
			break;
		}
		/* the config file may span lines; a '#' starting a word
		 * comments out the rest of its line */
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e) /* char is signed: >0x7f too */
			c = '?'; /* the word stays, malformed, and is said */
		if (c == '#' && prev == ' ') {
			/* to the line's end: LF, CRLF or a lone CR (a file
			 * saved with old Mac endings) */
			while (i + 1 < n && s[i + 1] && s[i + 1] != '\n' &&
			       s[i + 1] != '\r')
				i++;
			continue;
		}
		bool in_word = prev != ' ';
		prev = c;
		if (too_long)
			continue;
		if (c == ' ') {
			/* one space between words: a file's indentation,
			 * blank and comment lines take no room */
			if (len && boot_cmdline[len - 1] != ' ' &&
			    len + 1 < sizeof(boot_cmdline))
				boot_cmdline[len++] = ' ';
			continue;
		}
		if (len + 1 < sizeof(boot_cmdline)) {
			boot_cmdline[len++] = c;
			continue;
		}
		/* past the end: the word the cut falls in is lost whole, not
		 * kept cut short (nvme.ns=1,20 would read as nvme.ns=1,2) */
		if (in_word)
			while (len && boot_cmdline[len - 1] != ' ')
				len--;
		too_long = true;
	}
	boot_cmdline[len] = 0;
	too_many = false;
	nargs = 0;
	char *p = boot_cmdline;
	while (*p) {
		while (*p == ' ')
			*p++ = 0;
		if (!*p)
			break;
		if (nargs == MAX_ARGS) {
			too_many = true;
			break;
		}
		args[nargs].key = p;
		args[nargs].val = "";
		while (*p && *p != ' ' && *p != '=')
			p++;
		if (*p == '=') {
			*p++ = 0;
			args[nargs].val = p;
			while (*p && *p != ' ')
				p++;
		}
		nargs++;
	}
}

/* the last of a key's words wins, as in Linux: what is appended to a
 * command line (a boot entry's extra options) overrides what came before */
static int arg_last(const char *key)
{
	for (unsigned i = nargs; i-- > 0;)
		if (strcmp(args[i].key, key) == 0)
			return (int)i;
	return -1;
}

const char *cmdline_get(const char *key)
{
	int i = arg_last(key);
	return i < 0 ? NULL : args[i].val;
}

void cmdline_lost(const char *why)
{
	cmdline_parse("", 0);
	lost = why;
}

bool cmdline_cut(void)
{
	return too_long || too_many || lost || nul_cut;
}

uint64_t cmdline_u64(const char *key, uint64_t def)
{
	const char *v = cmdline_get(key);
	uint64_t x;
	if (!v)
		return def;
	if (!parse_u64(v, strlen(v), &x)) {
		kprintf("cmdline: %s=%s is not a number; using %lu\n", key, v,
			def);
		return def;
	}
	return x;
}

extern const struct cmdline_key __start_capos_cmdline[] __attribute__((weak));
extern const struct cmdline_key __stop_capos_cmdline[] __attribute__((weak));

static const struct cmdline_key *key_find(const char *name)
{
	/* weak: an image that declares no option has no section at all */
	if (!__start_capos_cmdline)
		return NULL;
	for (const struct cmdline_key *k = __start_capos_cmdline;
	     k < __stop_capos_cmdline; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

unsigned cmdline_check(void)
{
	unsigned bad = 0;
	kprintf("cmdline: \"");
	for (unsigned i = 0; i < nargs; i++)
		kprintf("%s%s%s%s", i ? " " : "", args[i].key,
			*args[i].val ? "=" : "", args[i].val);
	kprintf("\"\n");
	if (too_long) {
		kprintf("cmdline: longer than %u bytes; the rest ignored\n",
			(unsigned)sizeof(boot_cmdline) - 1);
		bad++;
	}
	if (nul_cut) {
		kprintf("cmdline: a NUL byte at offset %lu; the rest ignored\n",
			(unsigned long)nul_at);
		bad++;
	}
	if (lost) {
		kprintf("cmdline: %s; every option lost\n", lost);
		bad++;
	}
	if (too_many) {
		kprintf("cmdline: more than %u options; the rest ignored\n",
			MAX_ARGS);
		bad++;
	}
	bool listed = false;
	for (unsigned i = 0; i < nargs; i++) {
		int last = arg_last(args[i].key);
		if (last != (int)i) {
			/* once per key, at its first word */
			bool first = true;
			for (unsigned j = 0; j < i && first; j++)
				first = strcmp(args[j].key, args[i].key) != 0;
			if (first) {
				kprintf("cmdline: %s given more than once; the "
					"last, %s%s%s, is used\n",
					args[i].key, args[i].key,
					*args[last].val ? "=" : "",
					args[last].val);
				bad++;
			}
		}
		if (key_find(args[i].key))
			continue;
		kprintf("cmdline: unknown option '%s' ignored\n", args[i].key);
		bad++;
		if (listed || !__start_capos_cmdline)
			continue;
		listed = true; /* once: what this image does read */
		for (const struct cmdline_key *k = __start_capos_cmdline;
		     k < __stop_capos_cmdline; k++)
			kprintf("cmdline:   %-20s %s\n", k->name, k->help);
	}
	return bad;
}

static struct bootfs_file *files, **files_tail = &files;
static unsigned nlost;

void bootfs_add(struct bootfs_file *f)
{
	f->next = 0;
	*files_tail = f;
	files_tail = &f->next;
}

void bootfs_lose(const char *name, const char *why)
{
	nlost++;
	kprintf("bootfs: unable to keep \\capos\\%s (%s); %u file(s) lost\n",
		name, why, nlost);
}

unsigned bootfs_lost(void)
{
	return nlost;
}

#ifdef CAPOS_HOST
/* tests/host count the links followed (iteration is linear) */
unsigned long bootfs_host_steps;
#define BOOTFS_STEP() (bootfs_host_steps++)
#else
#define BOOTFS_STEP() ((void)0)
#endif

/* the i-th kept file, or NULL past the last. The list is walked from where
 * the last lookup stopped when that is not past i, so a walk i = 0, 1, 2,
 * ... (bootfs_at's callers, and mm_inuse_at's over bootfs_range, which the
 * page allocator's sweep repeats per run of pages) follows each link once
 * rather than from the head each time. Files are only ever appended, so a
 * remembered (index, file) stays right. No lock: every caller runs on the
 * one CPU capOS starts (no AP is woken) in the main loop's context — pmm_init
 * and mm_init, range_holds for mm_map_mmio/mm_map_firmware/mm_holds_ram
 * (driver attach, ACPI, PCI, SMBIOS reads) and the nvme-hostile proof —
 * and no interrupt handler reaches it (they only count and set flags;
 * the HTTP server is a main-loop poller), so no walk is interrupted by
 * another. */
static const struct bootfs_file *cursor;
static unsigned cursor_i;

static const struct bootfs_file *bootfs_file_at(unsigned i)
{
	const struct bootfs_file *f = files;
	unsigned at = 0;
	if (cursor && cursor_i <= i) {
		f = cursor;
		at = cursor_i;
	}
	for (; f && at < i; at++) {
		BOOTFS_STEP();
		f = f->next;
	}
	if (f) {
		cursor = f;
		cursor_i = at;
	}
	return f;
}

bool bootfs_at(unsigned i, const char **name, const void **data, size_t *len)
{
	const struct bootfs_file *f = bootfs_file_at(i);
	if (!f)
		return false;
	*name = f->name;
	*data = f->data;
	*len = f->len;
	return true;
}

bool bootfs_range(unsigned i, uint64_t *start, uint64_t *end)
{
	const struct bootfs_file *f = bootfs_file_at(i / 2);
	if (!f)
		return false;
	*start = i % 2 ? (uint64_t)f->data : (uint64_t)f;
	*end = *start + (i % 2 ? f->len : sizeof(*f));
	return true;
}
