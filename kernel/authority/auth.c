/* kernel/authority/auth.c — the authority table behind DeviceMmio and
 * Interrupt capabilities, and the refusal counters. A slot holds one
 * capability; its generation moves on when it is revoked, so copies of the
 * old capability stop working. */
#include "auth_internal.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"

struct auth_slot auth_slots[AUTH_SLOTS];
uint64_t auth_refusals[AUTH_NREASONS];
uint64_t auth_slots_full;

static const char *const reason_names[AUTH_NREASONS] = {
    [AUTH_OUT_OF_WINDOW] = "out-of-window",
    [AUTH_STALE_GEN] = "stale-generation",
    [AUTH_MISALIGNED] = "misaligned",
    [AUTH_READ_ONLY] = "read-only",
    [AUTH_BAD_SLOT] = "bad-slot",
    [AUTH_NOT_GRANTED] = "not-granted",
    [AUTH_NO_MEMORY] = "no-memory",
    [AUTH_BUSY] = "busy-in-flight",
    [AUTH_OVER_QUOTA] = "over-quota",
    [AUTH_REVOKED] = "owner-revoked",
};
_Static_assert(ARRAY_SIZE(reason_names) == AUTH_NREASONS, "a name per reason");

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

const char *mmio_window_refusal(const struct pci_dev *d, unsigned bar,
				uint64_t off, uint64_t len)
{
	/* off and len are 64 bits and compared so, never summed: nothing
	 * wraps or is cut */
	if (bar >= 6 || d->bar[bar].io || !d->bar[bar].size || len == 0 ||
	    off > d->bar[bar].size || len > d->bar[bar].size - off)
		return "is not a memory window of the device";
	if (len > MMIO_WINDOW_MAX)
		return "is longer than a window may be (MMIO_WINDOW_MAX)";
	if (d->cap_msix) {
		uint64_t tlen = (uint64_t)d->msix_size * PCI_MSIX_ENTRY_SIZE;
		uint64_t plen = ALIGN_UP(d->msix_size, 64u) / 8;
		if ((bar == d->msix_table_bar &&
		     overlaps(off, len, d->msix_table_off, tlen)) ||
		    (bar == d->msix_pba_bar &&
		     overlaps(off, len, d->msix_pba_off, plen)))
			return "overlaps the MSI-X table or PBA";
	}
	return NULL;
}

const char *auth_reason_name(enum auth_reason r)
{
	return r < AUTH_NREASONS ? reason_names[r] : "?";
}

/* auth_refused's lines of capability uses and owner ids not bound: one row
 * between them */
static uint8_t said_unowned[AUTH_NREASONS];

#ifdef CAPOS_HOST
void auth_refusals_host_reset(void)
{
	memset(auth_refusals, 0, sizeof(auth_refusals));
	memset(said_unowned, 0, sizeof(said_unowned));
}
#endif

bool auth_refused(uint16_t owner, enum auth_reason r)
{
	uint8_t *row = auth_owner_said(owner);
	uint8_t *said = &(row ? row : said_unowned)[r];
	auth_refusals[r]++;
	if (*said > AUTH_REFUSAL_LINES)
		return false;
	if (++*said <= AUTH_REFUSAL_LINES)
		return true;
	if (row)
		kprintf("authority: owner %u: further %s refusals are counted, "
			"not printed (/api/authority)\n",
			owner, reason_names[r]);
	else
		kprintf("authority: further %s refusals of capability uses and "
			"unbound owners are counted, not printed "
			"(/api/authority)\n",
			reason_names[r]);
	return false;
}

bool auth_broker_caller(uint16_t owner, uint16_t caller, const char *who,
			const char *what)
{
	if (caller == owner)
		return true;
	if (auth_refused(caller, AUTH_NOT_GRANTED))
		kprintf("%s: %s refused: owner %u named owner %u's broker\n",
			who, what, caller, owner);
	return false;
}

bool auth_in_interrupt(uint16_t owner, const char *what)
{
	if (!cpu_isr_depth)
		return false;
	if (auth_refused(owner, AUTH_BUSY))
		kprintf("authority: owner %u: %s from an interrupt handler "
			"refused\n",
			owner, what);
	return true;
}

void auth_refuse(enum auth_reason r, uint16_t slot, const char *what)
{
	if (auth_refused(0, r))
		kprintf("authority: refused %s on slot %u (%s)\n", what, slot,
			auth_reason_name(r));
}

int auth_slot_alloc(enum auth_kind kind, uint16_t owner)
{
	const char *what = kind == AUTH_IRQ ? "Interrupt" : "DeviceMmio";
	unsigned held = 0;
	for (int i = 1; i < AUTH_SLOTS; i++)
		held += auth_slots[i].kind != AUTH_FREE &&
			auth_slots[i].owner == owner;
	if (held >= AUTH_OWNER_SLOTS) {
		if (auth_refused(owner, AUTH_OVER_QUOTA))
			kprintf("authority: owner %u: no %s capability: it "
				"holds AUTH_OWNER_SLOTS (%u) already\n",
				owner, what, AUTH_OWNER_SLOTS);
		return -1;
	}
	/* slot 0 is never issued, nor a slot whose generation has run out:
	 * issuing it again would wrap and repeat a generation that a revoked
	 * capability still names (the free adds one more) */
	for (int i = 1; i < AUTH_SLOTS; i++)
		if (auth_slots[i].kind == AUTH_FREE &&
		    auth_slots[i].gen < UINT32_MAX - 1) {
			auth_slots[i].kind = kind;
			auth_slots[i].owner = owner;
			auth_slots[i].gen++;
			return i;
		}
	/* the table full: no half-made capability (the callers take
	 * nothing before the slot) */
	auth_slots_full++;
	if (auth_refused(owner, AUTH_NO_MEMORY))
		kprintf("authority: owner %u: no %s capability: every slot of "
			"the authority table (AUTH_SLOTS %u) is in use or "
			"retired (%lu refused so far)\n",
			owner, what, AUTH_SLOTS, auth_slots_full);
	return -1;
}

struct auth_slot *auth_slot_check(uint16_t slot, uint32_t gen,
				  enum auth_kind kind, const char *what)
{
	if (slot == 0 || slot >= AUTH_SLOTS) {
		auth_refuse(AUTH_BAD_SLOT, slot, what);
		return NULL;
	}
	struct auth_slot *s = &auth_slots[slot];
	if (s->gen != gen) {
		auth_refuse(auth_stale_reason(slot, gen), slot, what);
		return NULL;
	}
	if (s->kind != kind) {
		auth_refuse(AUTH_BAD_SLOT, slot, what);
		return NULL;
	}
	return s;
}

void auth_slot_free(uint16_t slot)
{
	auth_slots[slot].kind = AUTH_FREE;
	auth_slots[slot].gen++;
}

enum auth_reason auth_stale_reason(uint16_t slot, uint32_t gen)
{
	return slot && slot < AUTH_SLOTS && auth_slots[slot].seized_gen == gen
		   ? AUTH_REVOKED
		   : AUTH_STALE_GEN;
}

unsigned auth_slots_seize(uint16_t owner)
{
	unsigned n = 0;
	for (uint16_t i = 1; i < AUTH_SLOTS; i++) {
		struct auth_slot *s = &auth_slots[i];
		if (s->kind == AUTH_FREE || s->owner != owner)
			continue;
		s->seized_gen = s->gen;
		if (s->kind == AUTH_IRQ)
			irq_seize(i); /* frees the slot */
		else
			auth_slot_free(i);
		n++;
	}
	return n;
}

void auth_dump(void)
{
	static const char *const kinds[] = {"free", "mmio", "irq"};
	kprintf("authority: refusals");
	for (int r = 0; r < AUTH_NREASONS; r++)
		kprintf(" %s=%lu", reason_names[r], auth_refusals[r]);
	kprintf("\n");
	for (int i = 1; i < AUTH_SLOTS; i++) {
		const struct auth_slot *s = &auth_slots[i];
		if (s->kind != AUTH_FREE)
			kprintf("authority: slot %d %s owner %u gen %u\n", i,
				kinds[s->kind], s->owner, s->gen);
	}
}

static void auth_status_json(struct json *j)
{
	json_obj(j);
	json_kobj(j, "refusals");
	for (int r = 0; r < AUTH_NREASONS; r++)
		json_ku64(j, reason_names[r], auth_refusals[r]);
	json_obj_end(j);
	json_ku64(j, "slots_full", auth_slots_full);
	json_karr(j, "capabilities");
	for (int i = 1; i < AUTH_SLOTS; i++) {
		const struct auth_slot *s = &auth_slots[i];
		if (s->kind == AUTH_FREE)
			continue;
		json_obj(j);
		json_ku64(j, "slot", (unsigned)i);
		json_kstr(j, "kind", s->kind == AUTH_MMIO ? "mmio" : "irq");
		json_ku64(j, "owner", s->owner);
		json_ku64(j, "gen", s->gen);
		json_obj_end(j);
	}
	json_arr_end(j);
	auth_owners_json(j);
	json_obj_end(j);
}
STATUS_REGISTER("authority", auth_status_json);
