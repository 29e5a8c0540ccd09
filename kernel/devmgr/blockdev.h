/* kernel/devmgr/blockdev.h — the device-neutral block interface (NVMe). */
#ifndef CAPOS_BLOCKDEV_H
#define CAPOS_BLOCKDEV_H
#include <stdbool.h>
#include <stdint.h>

/* how a request waits for its completion */
enum blockdev_wait {
	BLOCKDEV_WAIT_IRQ = 0, /* the default: reap when the interrupt says */
	BLOCKDEV_WAIT_POLL,    /* spin on the completion queue */
	BLOCKDEV_WAIT_HYBRID,  /* spin briefly, then wait for the interrupt */
};
enum blockdev_op {
	BLOCKDEV_READ,
	BLOCKDEV_WRITE,
	BLOCKDEV_FLUSH,
	/* count blocks from lba read as zeros afterwards; no buf */
	BLOCKDEV_WRITE_ZEROES,
	/* the device may forget count blocks from lba (NVMe: Deallocate); no
	 * buf. What they read afterwards: zeros when the block device's
	 * discard_zeroes says so, else unspecified (old data, ones, zeros) */
	BLOCKDEV_DISCARD,
};

/* an operation the device does not have (NVMe: one its controller's ONCS
 * does not name, or one it answered Invalid Opcode): refused before any
 * command is built, never a silent success. Linux's -EOPNOTSUPP. Every
 * other failure is -1. */
#define BLOCKDEV_EOPNOTSUPP (-95)

struct blockdev_req {
	uint8_t op;   /* enum blockdev_op */
	uint8_t wait; /* enum blockdev_wait */
	uint64_t lba;
	uint32_t count; /* blocks */
	void *buf; /* kernel memory (BLOCKDEV_WRITE: read only; WRITE_ZEROES,
		    * DISCARD, FLUSH: unused) */
};

struct blockdev {
	/* room for the longest name a driver makes: NVMe's "nvme" + a
	 * controller index + "n" + a 32-bit namespace id */
	char name[24];
	uint32_t block_size;
	uint64_t block_count;
	/* a discarded block reads as zeros (NVMe: the namespace's DLFEAT
	 * says so); false: it reads as anything */
	bool discard_zeroes;
	/* buffers are ordinary kernel memory; 0 on success, negative on error
	 * (BLOCKDEV_EOPNOTSUPP: the device has no such operation). read,
	 * write, flush, write_zeroes and discard wait as BLOCKDEV_WAIT_IRQ. */
	int (*read)(struct blockdev *b, uint64_t lba, uint32_t count,
		    void *buf);
	int (*write)(struct blockdev *b, uint64_t lba, uint32_t count,
		     const void *buf);
	int (*flush)(struct blockdev *b);
	int (*write_zeroes)(struct blockdev *b, uint64_t lba, uint32_t count);
	int (*discard)(struct blockdev *b, uint64_t lba, uint32_t count);
	/* one request, waiting as r->wait says */
	int (*submit)(struct blockdev *b, const struct blockdev_req *r);
	void *priv;
};

/* block devices registered: every namespace of every controller (dozens
 * of EBS volumes, sparse namespace sets) */
#define BLOCKDEV_MAX 256
/* b's name is cut at its last byte; a b registered already is refused
 * (one line) */
void blockdev_register(struct blockdev *b);
/* before the memory behind b goes (a driver detaching); no-op when b was
 * never registered */
void blockdev_unregister(struct blockdev *b);
extern struct blockdev *blockdevs[BLOCKDEV_MAX];
extern unsigned nblockdevs;
#endif
