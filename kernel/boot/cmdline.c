/* kernel/boot/cmdline.c — the command line ("key=value flag ...") and the
 * files read from \capos\ on the boot volume. Unknown keys are reported once
 * by cmdline_check(); values are copied so nothing points into firmware
 * memory. */
#include "kernel/boot/boot.h"
#include "kernel/boot/boot_internal.h"
#include "kernel/lib/lib.h"

#define MAX_ARGS 32
char boot_cmdline[512];
static struct {
	char *key, *val;
} args[MAX_ARGS];
static unsigned nargs;

void cmdline_parse(const char *s, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n && len + 1 < sizeof(boot_cmdline); i++)
		/* the config file may span lines */
		boot_cmdline[len++] =
		    (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') ? ' ' : s[i];
	boot_cmdline[len] = 0;
	nargs = 0;
	char *p = boot_cmdline;
	while (*p) {
		while (*p == ' ')
			*p++ = 0;
		if (!*p)
			break;
		if (*p == '#') /* comment to end of file */
			break;
		if (nargs == MAX_ARGS) {
			kprintf(
			    "cmdline: more than %d arguments; rest ignored\n",
			    MAX_ARGS);
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

const char *cmdline_get(const char *key)
{
	for (unsigned i = 0; i < nargs; i++)
		if (strcmp(args[i].key, key) == 0)
			return args[i].val;
	return NULL;
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

/* every option the kernel understands; anything else gets one line */
static const char *const known_keys[] = {
    "proofs",	      "exit",  "fault",	  "ip",	   "gw",  "mask",
    "nvme.validator", "bench", "timeout", "quiet", "net", "log",
};

void cmdline_check(void)
{
	kprintf("cmdline: \"");
	for (unsigned i = 0; i < nargs; i++)
		kprintf("%s%s%s%s", i ? " " : "", args[i].key,
			*args[i].val ? "=" : "", args[i].val);
	kprintf("\"\n");
	for (unsigned i = 0; i < nargs; i++) {
		bool known = false;
		for (unsigned k = 0; k < ARRAY_SIZE(known_keys); k++)
			known |= strcmp(args[i].key, known_keys[k]) == 0;
		/* subsystem options are namespaced, e.g. nvme.xxx, net.xxx */
		known |= strchr(args[i].key, '.') != NULL;
		if (!known)
			kprintf("cmdline: unknown option '%s' ignored\n",
				args[i].key);
	}
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

bool bootfs_at(unsigned i, const char **name, const void **data, size_t *len)
{
	const struct bootfs_file *f = files;
	for (; f && i; i--)
		f = f->next;
	if (!f)
		return false;
	*name = f->name;
	*data = f->data;
	*len = f->len;
	return true;
}
