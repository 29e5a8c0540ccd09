/* tests/host/iommu/test_scope.c — which VT-d unit translates a function and
 * under which source id (kernel/iommu/scope.c), over a fake topology like
 * QEMU's q35 inventory boot: a PCIe root port, a conventional pci-bridge
 * with a second one nested below it, a PCIe-to-PCI bridge, and endpoints
 * on every bus. Source ids follow QEMU's pci_device_iommu_address_space
 * and Linux: conventional buses alias to the bridge above them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dmar_build.h"
#include "kernel/iommu/dmar.h"
#include "kernel/iommu/scope.h"
#include "kernel/pci/pci.h"
#include "kernel/pci/pci_reg.h"
#include "shim.h"

#define NFN 10
struct pci_dev pci_devs[NFN];
unsigned pci_ndevs;
static uint8_t cfg[NFN][4096];

#define PCIE_CAP 0x40
enum {
	EP,
	ROOT_PORT = 4,
	UPSTREAM = 5,
	DOWNSTREAM = 6,
	PCIE_TO_PCI = 7,
	PCI_TO_PCIE = 8,
	PCI_BRIDGE = 0x100
};

static struct pci_dev *fn(unsigned bus, unsigned dev, unsigned f, int kind,
			  unsigned sec, unsigned sub)
{
	struct pci_dev *d = &pci_devs[pci_ndevs];
	uint8_t *c = cfg[pci_ndevs++];
	memset(d, 0, sizeof(*d));
	memset(c, 0, 4096);
	d->bus = bus, d->dev = dev, d->fn = f, d->cfg = c;
	d->header_type = kind == EP ? 0 : 1;
	c[PCI_HEADER_TYPE] = d->header_type;
	c[PCI_SECONDARY_BUS] = sec;
	c[PCI_SUBORDINATE_BUS] = sub;
	if (kind != EP && kind != PCI_BRIDGE) {
		d->cap_pcie = PCIE_CAP;
		c[PCIE_CAP] = PCI_CAP_ID_EXP;
		c[PCIE_CAP + 2] = (uint8_t)(kind << 4 | 2);
	}
	return d;
}

static struct pci_dev *rp, *pb, *p2p, *ep0, *ep1, *edu, *pb2, *ep3, *ep4;

static int topology(void **st)
{
	shim_quiet = 1;
	pci_ndevs = 0;
	fn(0, 0, 0, EP, 0, 0); /* host bridge */
	rp = fn(0, 1, 0, ROOT_PORT, 1, 1);
	pb = fn(0, 2, 0, PCI_BRIDGE, 2, 3);
	p2p = fn(0, 3, 0, PCIE_TO_PCI, 4, 4);
	ep0 = fn(0, 4, 0, EP, 0, 0);
	ep1 = fn(1, 0, 0, EP, 0, 0);
	edu = fn(2, 3, 0, EP, 0, 0);
	pb2 = fn(2, 5, 0, PCI_BRIDGE, 3, 3);
	ep3 = fn(3, 1, 2, EP, 0, 0);
	ep4 = fn(4, 7, 1, EP, 0, 0);
	return 0;
}

#define SID(b, d, f) ((b) << 8 | (d) << 3 | (f))

static void test_source_ids(void **st)
{
	/* root bus and below a root port: their own requester id */
	assert_int_equal(pci_source_id(ep0), SID(0, 4, 0));
	assert_int_equal(pci_source_id(ep1), SID(1, 0, 0));
	/* below a conventional pci-bridge: the bridge's id, also through a
	 * second conventional bridge */
	assert_int_equal(pci_source_id(edu), SID(0, 2, 0));
	assert_int_equal(pci_source_id(pb2), SID(0, 2, 0));
	assert_int_equal(pci_source_id(ep3), SID(0, 2, 0));
	/* below a PCIe-to-PCI bridge: its secondary bus, devfn 0 */
	assert_int_equal(pci_source_id(ep4), SID(4, 0, 0));
}

static struct dmar_info parse(struct dmar_buf *d)
{
	struct dmar_info o;
	const char *why = NULL;
	uint32_t len = (uint32_t)d->n;
	memcpy(d->b + 4, &len, 4);
	assert_int_equal(dmar_parse(d->b, d->n, &o, &why), 0);
	return o;
}

/* QEMU's layout: bridge scopes for the bridges on the root bus, endpoint
 * scopes for the root bus's endpoints; then a catch-all unit */
static void test_bridge_and_endpoint_scopes(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 1);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t p_rp[] = {1, 0}, p_pb[] = {2, 0}, p_ep[] = {4, 0};
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_rp, 1);
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_pb, 1);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, p_ep, 1);
	db_len16(&d, at);
	at = db_drhd(&d, DMAR_DRHD_INCLUDE_PCI_ALL, 0, 0xfed91000);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, ep0), 0);
	assert_int_equal(dmar_unit_for(&o, rp), 0);
	assert_int_equal(dmar_unit_for(&o, ep1), 0);
	assert_int_equal(dmar_unit_for(&o, edu), 0);
	assert_int_equal(dmar_unit_for(&o, ep3), 0); /* bus 3 under 2..3 */
	/* the PCIe-to-PCI bridge is in no scope: the catch-all unit */
	assert_int_equal(dmar_unit_for(&o, p2p), 1);
	assert_int_equal(dmar_unit_for(&o, ep4), 1);
}

/* an endpoint scope through a bridge: the path follows the bridge's
 * secondary bus; a path through a non-bridge resolves to nothing */
static void test_multi_hop_paths(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t to_edu[] = {2, 0, 3, 0}, through_ep[] = {4, 0, 3, 0};
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, to_edu, 2);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, through_ep, 2);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, edu), 0);
	assert_int_equal(dmar_unit_for(&o, pb2), -1); /* sibling: not named */
	assert_int_equal(dmar_unit_for(&o, ep3), -1); /* endpoint, not bridge */
	assert_int_equal(dmar_unit_for(&o, ep0), -1);
	assert_int_equal(dmar_unit_for(&o, ep1), -1);
}

/* a bridge scope naming a function that is not a bridge covers only that
 * function; scopes of another segment cover nothing here */
static void test_scope_edges(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 1, 0xfed90000); /* segment 1 */
	const uint8_t p_pb[] = {2, 0};
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_pb, 1);
	db_len16(&d, at);
	at = db_drhd(&d, 0, 0, 0xfed91000);
	const uint8_t p_ep[] = {4, 0};
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_ep, 1);
	db_scope(&d, DMAR_SCOPE_IOAPIC, 0, 0xff, p_pb, 1);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, edu), -1); /* segment 0 */
	assert_int_equal(dmar_unit_for(&o, pb), -1);
	assert_int_equal(dmar_unit_for(&o, ep0), 1);
	assert_int_equal(dmar_unit_for(&o, ep1), -1);
}

/* VT-d 3.4 §8.3.2: every path entry before the last names a PCI-PCI
 * bridge, whose secondary bus the next entry is on. A path through an
 * endpoint (whose byte 0x19, part of its BAR2, reads 2 here) or through a
 * function that is not there resolves to nothing: edu, on bus 2 at
 * device 3, is not covered by (0:4.0, 3.0) nor by (0:9.0, 3.0) */
static void test_scope_path_through_bridges_only(void **st)
{
	static struct dmar_buf d;
	ep0->cfg[PCI_SECONDARY_BUS] = 2;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t through_ep[] = {4, 0, 3, 0},
		      through_none[] = {9, 0, 3, 0};
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, through_ep, 2);
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, through_none, 2);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, edu), -1);
	assert_int_equal(dmar_unit_for(&o, ep0), -1);
}

/* VT-d 3.4 §8.3.1: only endpoint and bridge scopes name PCI functions;
 * an I/O APIC or HPET scope whose start bus and path happen to be a PCI
 * function's address covers nothing: ep0 (0:4.0) goes to the catch-all
 * unit, not to the unit with those scopes */
static void test_ioapic_hpet_scopes_cover_no_function(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t p_ep[] = {4, 0};
	db_scope(&d, DMAR_SCOPE_IOAPIC, 0, 0, p_ep, 1);
	db_scope(&d, DMAR_SCOPE_HPET, 0, 0, p_ep, 1);
	db_len16(&d, at);
	at = db_drhd(&d, DMAR_DRHD_INCLUDE_PCI_ALL, 0, 0xfed91000);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, ep0), 1);
}

/* VT-d 3.4 §8.3: a DRHD's device scopes are those inside it, resolved in
 * its own segment. Unit 0's one scope (the root port) does not reach on
 * into unit 1's (ep0); a bridge scope of segment 0 does not cover a
 * function of segment 1 whose bus lies in the bridge's range */
static void test_scopes_of_their_own_unit_and_segment(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t p_rp[] = {1, 0}, p_pb[] = {2, 0}, p_ep[] = {4, 0};
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_rp, 1);
	db_len16(&d, at);
	at = db_drhd(&d, 0, 0, 0xfed91000);
	db_scope(&d, DMAR_SCOPE_ENDPOINT, 0, 0, p_ep, 1);
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_pb, 1);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(dmar_unit_for(&o, ep0), 1);
	assert_int_equal(dmar_unit_for(&o, rp), 0);
	assert_int_equal(dmar_unit_for(&o, edu), 1);
	struct pci_dev other = *edu; /* bus 2, under pb's 2..3 */
	other.seg = 1;
	assert_int_equal(dmar_unit_for(&o, &other), -1);
}

/* only the nunits units dmar_parse kept count: a slot past them (here
 * filled by hand, an INCLUDE_PCI_ALL unit with a scope naming ep0) is
 * not a unit, whatever it holds */
static void test_units_past_the_count_ignored(void **st)
{
	static struct dmar_buf d;
	db_header(&d, 38, 0);
	size_t at = db_drhd(&d, 0, 0, 0xfed90000);
	const uint8_t p_rp[] = {1, 0}, p_ep[] = {4, 0};
	db_scope(&d, DMAR_SCOPE_BRIDGE, 0, 0, p_rp, 1);
	db_len16(&d, at);
	struct dmar_info o = parse(&d);
	assert_int_equal(o.nunits, 1);
	o.scopes[1] = (struct dmar_scope){
	    .type = DMAR_SCOPE_ENDPOINT, .npath = 1, .path = {{p_ep[0], 0}}};
	o.units[1] = (struct dmar_unit){.base = 0xfed91000,
					.flags = DMAR_DRHD_INCLUDE_PCI_ALL,
					.scope0 = 1,
					.nscopes = 1};
	assert_int_equal(dmar_unit_for(&o, ep0), -1);
	assert_int_equal(dmar_unit_for(&o, ep1), 0);
}

/* PCI-to-PCI Bridge Architecture 1.2 §3.2.5.3-4: a bridge's secondary
 * bus is after its own. A bridge on bus 0 that reads secondary bus 0 is
 * not the parent of bus 0's functions: ep0's source id stays its own, not
 * the bridge's (the scan never follows such a bridge either) */
static void test_source_id_bridge_to_own_bus_not_a_parent(void **st)
{
	pci_ndevs = 0;
	fn(0, 1, 0, PCI_BRIDGE, 0, 0);
	struct pci_dev *e = fn(0, 4, 0, EP, 0, 0);
	assert_int_equal(pci_source_id(e), SID(0, 4, 0));
}

/* PCIe-to-PCI/PCI-X Bridge 1.0 §2.3 (Linux's pci_for_each_dma_alias,
 * PCI_EXP_TYPE_PCI_BRIDGE): requests from below a PCIe-to-PCI bridge
 * carry its secondary bus, devfn 0, whatever lies between: 03:00.0 behind
 * a PCI Express downstream port on bus 2, that port behind a PCIe-to-PCI
 * bridge (bus 1, secondary 2), aliases to 02:00.0, not 03:00.0 */
static void test_source_id_pcie_to_pci_alias_is_its_secondary_bus(void **st)
{
	pci_ndevs = 0;
	fn(0, 1, 0, ROOT_PORT, 1, 3);
	fn(1, 0, 0, PCIE_TO_PCI, 2, 3);
	struct pci_dev *dsp = fn(2, 0, 0, ROOT_PORT, 3, 3);
	dsp->cfg[PCIE_CAP + 2] = 6 << 4 | 2; /* a downstream port */
	struct pci_dev *e = fn(3, 0, 0, EP, 0, 0);
	assert_int_equal(pci_source_id(e), SID(2, 0, 0));
}

/* PCI Express to PCI/PCI-X Bridge 1.0, a reverse bridge (Device/Port Type
 * 8, PCI_EXP_TYPE_PCIE_BRIDGE): its primary side is conventional PCI or
 * PCI-X, where it masters the requests of every function on the PCI
 * Express side itself, so they arrive with its own id (bus of the bridge,
 * its devfn), as in Linux's pci_for_each_dma_alias. 0:5.0 is one on the
 * root bus, with an endpoint on its secondary bus 1 and a switch (upstream
 * port on bus 1, downstream port on bus 2) to bus 3: every function there
 * is 00:05.0, the endpoints of bus 1 and bus 3 share it (a second owner of
 * that source id is refused, iommu_domain_create). Before, each kept its
 * own id, which the unit never sees: its DMA faulted */
static void test_source_id_pci_to_pcie_bridge_is_its_own_id(void **st)
{
	pci_ndevs = 0;
	fn(0, 5, 0, PCI_TO_PCIE, 1, 3);
	struct pci_dev *e1 = fn(1, 0, 0, EP, 0, 0);
	struct pci_dev *up = fn(1, 1, 0, UPSTREAM, 2, 3);
	fn(2, 0, 0, DOWNSTREAM, 3, 3);
	struct pci_dev *e3 = fn(3, 0, 1, EP, 0, 0);
	assert_int_equal(pci_source_id(e1), SID(0, 5, 0));
	assert_int_equal(pci_source_id(up), SID(0, 5, 0));
	assert_int_equal(pci_source_id(e3), SID(0, 5, 0));
	/* behind a PCIe-to-PCI bridge (bus 0x10, secondary 0x11) the reverse
	 * bridge's id is aliased again, to 11:00.0 */
	pci_ndevs = 0;
	fn(0, 1, 0, ROOT_PORT, 0x10, 0x13);
	fn(0x10, 0, 0, PCIE_TO_PCI, 0x11, 0x13);
	fn(0x11, 4, 0, PCI_TO_PCIE, 0x12, 0x13);
	struct pci_dev *e = fn(0x12, 0, 0, EP, 0, 0);
	assert_int_equal(pci_source_id(e), SID(0x11, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_source_ids, topology),
	    cmocka_unit_test_setup(test_bridge_and_endpoint_scopes, topology),
	    cmocka_unit_test_setup(test_multi_hop_paths, topology),
	    cmocka_unit_test_setup(test_scope_edges, topology),
	    cmocka_unit_test_setup(test_scope_path_through_bridges_only,
				   topology),
	    cmocka_unit_test_setup(test_ioapic_hpet_scopes_cover_no_function,
				   topology),
	    cmocka_unit_test_setup(test_scopes_of_their_own_unit_and_segment,
				   topology),
	    cmocka_unit_test_setup(test_units_past_the_count_ignored, topology),
	    cmocka_unit_test_setup(
		test_source_id_bridge_to_own_bus_not_a_parent, topology),
	    cmocka_unit_test_setup(
		test_source_id_pcie_to_pci_alias_is_its_secondary_bus,
		topology),
	    cmocka_unit_test_setup(
		test_source_id_pci_to_pcie_bridge_is_its_own_id, topology),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
