/* drivers/edu/edu_var.h — edu driver state (software only; registers are
 * edu_reg.h). kernel/proof/edu.c drives it through these. */
#ifndef CAPOS_EDU_VAR_H
#define CAPOS_EDU_VAR_H
#include <stdint.h>

#include "drivers/edu/edu_reg.h"
#include "kernel/authority/authority.h"

/* functions the driver binds (edu0 ...); one more gets a line */
#define EDU_MAX 4

struct edu_softc {
	char name[8]; /* edu0 ... */
	struct pci_dev *pci;
	uint16_t owner;
	struct dev_mmio regs;
	struct irq_cap irq;
	struct dma_pool pool;
	struct dma_buf out, in;
	volatile uint32_t irq_status; /* latched by the handler */
	uint32_t recoveries; /* capabilities taken anew after a revocation */
	bool failed;	   /* given up (edu_give_up): refused until a restart */
	bool detached;	   /* edu_detach kept the pool (running, parked) */
	int detach_result; /* its answer, given again: -1 or 1 */
};

/* the first bound edu function (edu0), NULL when none */
struct edu_softc *edu_first(void);
#define EDU_DMA_TIMEOUT_US 1000000u /* edu_dma's wait, at most */
#define EDU_DMA_POLL_US	   1u	    /* between its looks */
/* one DMA transfer (dir 0: RAM -> device buffer, or EDU_DMA_CMD_TO_RAM),
 * completion by interrupt, waited for at most EDU_DMA_TIMEOUT_US; -1 at
 * once while the driver's capabilities are revoked (see edu_recover), and
 * at the first look that finds the owner revoked or quarantined
 * (auth_owner_stopped) mid-transfer, with one line. A transfer that does
 * not end in time gives the device up (bus mastering off, one line, the
 * device manager told: devmgr_failed); -1 at once, silent, after that.
 * 0 or -1 */
int edu_dma(struct edu_softc *sc, uint64_t src, uint64_t dst, uint32_t len,
	    uint32_t dir);
/* after the owner was revoked (a DMA fault) and then reinstated
 * (auth_owner_reinstate): take the window, a new pool (sc->out, sc->in:
 * new buffers) and the interrupt anew once EDU_DMA_CMD reads idle (waited
 * for at most EDU_DMA_TIMEOUT_US), then give the seized pool back, bus
 * mastering on. 0 when the driver holds live capabilities afterwards (a
 * no-op if nothing was revoked); -1 while the owner stays revoked, once
 * the device was given up, or when a grant fails or the engine keeps
 * running (the seized pool kept parked, the device given up, one line) */
int edu_recover(struct edu_softc *sc);
#endif
