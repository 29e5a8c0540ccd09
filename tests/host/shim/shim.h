/* tests/host/shim/shim.h — knobs of the host shim */
#ifndef CAPOS_SHIM_H
#define CAPOS_SHIM_H
#include <stddef.h>
#include <stdint.h>
extern uint64_t shim_clock_ns; /* the virtual clock */
extern int shim_quiet;	       /* nonzero: kprintf prints nothing (fuzzers) */
extern uint64_t shim_kprintf_calls; /* every kprintf, printed or quiet */
/* the last kprintf's text (cut at 255 bytes), printed or quiet */
extern char shim_last_line[256];
/* called with each kprintf's text (as shim_last_line), printed or quiet:
 * a fuzzer counting the lines of a kind */
typedef void (*shim_line_hook_fn)(const char *line);
extern shim_line_hook_fn shim_line_hook;
/* shim_line_hook set to count, in shim_counted (from 0), the lines that
 * contain pat (kept, not copied) until the hook is set again or cleared */
extern unsigned shim_counted;
void shim_count_lines(const char *pat);
/* a case run in a child process from the state the cases before it left
 * (state that cannot be reset, such as a table filled once per process):
 * true when fn returned, else one stderr line saying how the child ended.
 * Inside it, SHIM_CHECK, not cmocka's asserts (they would jump back into
 * the child's copy of the runner): a failure names the check and ends
 * the child with status 1 */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
bool shim_in_child(void (*fn)(void));
#define SHIM_CHECK(c)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "FAILED %s:%d: %s\n", __FILE__,        \
				__LINE__, #c);                                 \
			_exit(1);                                              \
		}                                                              \
	} while (0)

/* called from time_delay_us after the clock moved: a device model that
 * answers while the code under test waits for it */
typedef void (*shim_delay_hook_fn)(void);
extern shim_delay_hook_fn shim_delay_hook;

/* devmgr_stub.c: devmgr_failed calls (a driver giving its device up),
 * the last one's owner and reason; a suite linking kernel/devmgr has the
 * real supervisor instead */
extern unsigned shim_devmgr_failed;
extern const char *shim_devmgr_failed_why;
extern uint16_t shim_devmgr_failed_owner;

/* pages.c: told of [pa, pa + len) just before page_free gives it back —
 * a revoked DMA pool, freed kernel memory. A device model registers here
 * to check that the device no longer holds a queue there. */
typedef void (*shim_page_hook_fn)(uint64_t pa, size_t len);
extern shim_page_hook_fn shim_page_hook;
/* pages.c: pages page_alloc handed out and page_free has not taken back */
extern uint64_t shim_pages_in_use;
/* pages.c: is every page of [pa, pa + len) allocated now (len > 0)? A
 * device model reading kernel DMA pages (a broker's rings) asks this */
#include <stdbool.h>
bool shim_page_allocated(uint64_t pa, size_t len);

/* iommu.c: the owner whose DMA an IOMMU translates (0: none), what is
 * mapped now, misuse counted, and an IOMMU that stops confirming unmaps */
#include <stdbool.h>
extern uint16_t shim_iommu_owner;
extern unsigned shim_iommu_violations;
extern bool shim_iommu_fail_unmap;
/* iommu_unmap says -1 (no domain: a plain error, nothing left mapped) */
extern bool shim_iommu_refuse_unmap;
/* iommu_map fails after mapping the first page of a range of two or more
 * and undoes it: -1, or IOMMU_UNCONFIRMED with shim_iommu_fail_unmap set;
 * shim_iommu_failed_pa is the pa of the last map that failed so */
extern bool shim_iommu_fail_map;
extern uint64_t shim_iommu_failed_pa;
extern bool shim_iommu_quarantined; /* the translated owner faulted */
extern unsigned
    shim_iommu_destroyed; /* iommu_domain_destroy calls that tore one down */
extern uint64_t shim_iommu_table_pages; /* iommu_domain_table_pages' answer */
/* the unit stopped answering (vtd_unit_broken): every function it
 * translates is IOMMU_UNIT_FAILED */
extern bool shim_iommu_unit_failed;
void shim_iommu_fault(void); /* what the fault interrupt does */
/* a fault the interrupt left in the records (VTD_FAULT_PASSES): the next
 * iommu_fault_retake takes it (shim_iommu_fault) */
extern bool shim_iommu_fault_left;
unsigned shim_iommu_mapped(void);
/* the permissions iova's page is mapped with (IOMMU_READ | IOMMU_WRITE),
 * 0 when it is not mapped */
unsigned shim_iommu_perm(uint64_t iova);
#endif
