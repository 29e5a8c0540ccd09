/* kernel/proof/proof.c — proof markers and the proof runner. The command
 * line names the proofs to run (proofs=a,b or proofs=all); `exit` makes the
 * kernel leave QEMU with the verdict once they have run. */
#include "kernel/proof/proof.h"
#include "kernel/authority/authority.h"
#include "kernel/boot/boot.h"
#include "kernel/console/console.h"
#include "kernel/cpu/cpu.h"
#include "kernel/devmgr/devmgr.h"
#include "kernel/lib/lib.h"

extern const struct proof_entry __proofs_start[], __proofs_end[];
static unsigned npass, nfail;

static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if ((l == n && !strncmp(p, name, n)) ||
		    (l == 3 && !strncmp(p, "all", 3)))
			return true;
		p += l + (e ? 1 : 0);
	}
	return false;
}

bool proof_wanted(const char *name)
{
	const char *l = cmdline_get("proofs");
	return l && list_has(l, name);
}

void proof_result(const char *name, bool pass, const char *fmt, ...)
{
	char buf[768];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* one line, longer than one kprintf holds; no interrupt handler's
	 * line may land inside it */
	uint64_t flags = cpu_irq_save();
	kprintf("PROOF %s %s ", name, pass ? "PASS" : "FAIL");
	console_write(buf, strlen(buf));
	console_write("\n", 1);
	cpu_irq_restore(flags);
	if (pass)
		npass++;
	else
		nfail++;
}

/* run the wanted proofs in their order; a name asked for that no proof
 * carries is a failure, not a silent skip */
void proofs_run(void)
{
	const char *list = cmdline_get("proofs");
	if (!list)
		return;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		bool known = l == 3 && !strncmp(p, "all", 3);
		for (const struct proof_entry *q = __proofs_start;
		     q < __proofs_end; q++)
			known |=
			    strlen(q->name) == l && !strncmp(q->name, p, l);
		if (!known && l) {
			char nm[48];
			strlcpy(nm, p, MIN(l + 1, sizeof(nm)));
			proof_result(nm, false, "reason=no-such-proof");
		}
		p += l + (e ? 1 : 0);
	}
	int lo = -1;
	for (;;) {
		/* next order above lo: proofs are few, a scan per step is fine
		 */
		int next = 0x7fffffff;
		for (const struct proof_entry *q = __proofs_start;
		     q < __proofs_end; q++)
			if (q->order > lo && q->order < next)
				next = q->order;
		if (next == 0x7fffffff)
			break;
		for (const struct proof_entry *q = __proofs_start;
		     q < __proofs_end; q++)
			if (q->order == next && proof_wanted(q->name)) {
				q->fn();
				/* a safe point between proofs: a DMA fault a
				 * proof caused revokes its owner here */
				auth_poll();
			}
		lo = next;
	}
}

/* the verdict; with `exit`, the drivers are detached first (an NVMe
 * controller is told to shut down and flushes its write cache) and QEMU
 * leaves. A fault's exit (kernel/cpu) detaches nothing. */
void proof_finish(void)
{
	kprintf("capOS: proofs pass=%u fail=%u\n", npass, nfail);
	if (!cmdline_get("exit"))
		return;
	devmgr_shutdown();
	cpu_exit(nfail == 0);
}
