/* kernel/proof/nvme_proof.h — helpers shared by the NVMe proofs
 * (nvme_proof.c: bring-up, integrity, TOCTOU, recovery, benchmark;
 * nvme_hostile.c: the hostile vectors). */
#ifndef CAPOS_NVME_PROOF_H
#define CAPOS_NVME_PROOF_H
#include <stdbool.h>
#include <stdint.h>

#include "drivers/nvme/nvme_var.h"

/* Phase fences: a Get Features (Arbitration) whose CDW11 is
 * NVME_FENCE_BASE | code. QEMU's pci_nvme_getfeat trace event prints CDW11,
 * so the host can cut the device's trace into the proofs' phases. */
#define NVME_FENCE_BASE		 0xcaf00000u
#define NVME_FENCE_BRINGUP_DONE	 1
#define NVME_FENCE_INTEGRITY	 2
#define NVME_FENCE_HOSTILE_BEGIN 3
#define NVME_FENCE_HOSTILE_END	 4
#define NVME_FENCE_TOCTOU	 5
#define NVME_FENCE_RECOVER	 6
#define NVME_FENCE_BENCH	 7
#define NVME_FENCE_ZERO		 8
/* nvme-rebind: the old owner's calls on the rebound controller, between */
#define NVME_FENCE_REBIND_OLD	  9
#define NVME_FENCE_REBIND_OLD_END 10
/* nvme-recover: a driver's reset straight through the broker, reads out */
#define NVME_FENCE_HOSTILE_RESET 11
int nvme_proof_fence(struct nvme_softc *sc, unsigned code);

/* the data pattern the host checks in the image (tests/qemu/test_nvme.py
 * computes the same function): one 32-bit word per 4 bytes of each block */
uint32_t nvme_proof_pat(uint64_t lba, uint32_t word, uint32_t seed);
void nvme_proof_fill(void *buf, uint64_t lba, uint32_t nblk, uint32_t bs,
		     uint32_t seed);

/* canary pages: kernel memory that is not granted to the driver, filled
 * with a position-dependent pattern */
#define NVME_CANARY_PAGES 4
uint64_t nvme_canary_get(void); /* physical = virtual address, or 0 */
void nvme_canary_fill(void);
/* bytes that differ from the pattern (0: untouched) */
uint64_t nvme_canary_check(void);
#endif
