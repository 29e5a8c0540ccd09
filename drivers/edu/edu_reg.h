/* drivers/edu/edu_reg.h — QEMU's educational device (1234:11e8), as its
 * specification docs/specs/edu.rst in the QEMU tree describes it. BAR0 is
 * 1 MiB of MMIO. Hardware only. */
#ifndef CAPOS_EDU_REG_H
#define CAPOS_EDU_REG_H

#define EDU_VENDOR	   0x1234
#define EDU_DEVICE	   0x11e8
#define EDU_ID		   0x00 /* 0xRRrr00ed: major, minor, 0x00, 0xed */
#define EDU_ID_MAGIC_MASK  0xffff
#define EDU_ID_MAGIC	   0x00ed
#define EDU_LIVENESS	   0x04 /* reads back the bitwise inverse */
#define EDU_STATUS	   0x20
#define EDU_IRQ_STATUS	   0x24
#define EDU_IRQ_RAISE	   0x60
#define EDU_IRQ_ACK	   0x64
#define EDU_DMA_SRC	   0x80 /* 64-bit */
#define EDU_DMA_DST	   0x88
#define EDU_DMA_COUNT	   0x90
#define EDU_DMA_CMD	   0x98
#define EDU_DMA_CMD_START  0x1
#define EDU_DMA_CMD_TO_RAM 0x2 /* 0: RAM -> device buffer */
#define EDU_DMA_CMD_IRQ	   0x4 /* raise IRQ_STATUS bit 0x100 when done */
#define EDU_DMA_IRQ	   0x100
#define EDU_BUF_ADDR	   0x40000 /* the device's 4 KiB buffer, device side */
#define EDU_BUF_SIZE	   4096
/* QEMU 7.2 refuses a transfer that ends exactly at the buffer's end (an
 * off-by-one in its range check), so capOS moves half a buffer */
#define EDU_XFER      2048
#define EDU_DMA_LIMIT (1ull << 28) /* default dma_mask: 28 address bits */
#define EDU_REGS_LEN  0x100	   /* the registers capOS grants */
#endif
