/* tests/host/shim/mmio_model.h — the parts of a host device model of the
 * authority interface (kernel/authority/authority.h) that every model
 * writes alike. The file that includes it (one per binary: the gVNIC and
 * virtio-net models) defines the checked single accesses
 *   static uint32_t rd(const struct dev_mmio *m, uint64_t off, unsigned w);
 *   static bool wr(const struct dev_mmio *m, uint64_t off, unsigned w,
 *                  uint32_t v);
 * and gets DeviceMmio's sized accessors over them: 64-bit registers as two
 * 32-bit halves, low then high, as authority.h promises. */
#ifndef CAPOS_MMIO_MODEL_H
#define CAPOS_MMIO_MODEL_H
#include <stdbool.h>
#include <stdint.h>

#include "kernel/authority/authority.h"

static uint32_t rd(const struct dev_mmio *m, uint64_t off, unsigned w);
static bool wr(const struct dev_mmio *m, uint64_t off, unsigned w, uint32_t v);

/* the capability irq_bind hands out for MSI-X entry idx: slot and entry
 * are the index, the vector 0x40 + idx */
static inline struct irq_cap model_irq_cap(unsigned idx, uint32_t gen)
{
	return (struct irq_cap){.slot = (uint16_t)idx,
				.gen = gen,
				.msix_index = (uint16_t)idx,
				.vector = (uint8_t)(0x40 + idx)};
}

uint8_t mmio_read8(const struct dev_mmio *m, uint64_t off)
{
	return (uint8_t)rd(m, off, 1);
}
uint16_t mmio_read16(const struct dev_mmio *m, uint64_t off)
{
	return (uint16_t)rd(m, off, 2);
}
uint32_t mmio_read32(const struct dev_mmio *m, uint64_t off)
{
	return rd(m, off, 4);
}
uint64_t mmio_read64(const struct dev_mmio *m, uint64_t off)
{
	uint64_t lo = rd(m, off, 4);
	if (off > UINT64_MAX - 4) /* no high half at a wrapped offset */
		return lo | 0xffffffff00000000ull;
	return lo | (uint64_t)rd(m, off + 4, 4) << 32;
}
bool mmio_write8(const struct dev_mmio *m, uint64_t off, uint8_t v)
{
	return wr(m, off, 1, v);
}
bool mmio_write16(const struct dev_mmio *m, uint64_t off, uint16_t v)
{
	return wr(m, off, 2, v);
}
bool mmio_write32(const struct dev_mmio *m, uint64_t off, uint32_t v)
{
	return wr(m, off, 4, v);
}
bool mmio_write64(const struct dev_mmio *m, uint64_t off, uint64_t v)
{
	return wr(m, off, 4, (uint32_t)v) && off <= UINT64_MAX - 4 &&
	       wr(m, off + 4, 4, (uint32_t)(v >> 32));
}
#endif
