/* kernel/devmgr/blockdev.h — the device-neutral block interface (NVMe). */
#ifndef CAPOS_BLOCKDEV_H
#define CAPOS_BLOCKDEV_H
#include <stdint.h>

struct blockdev {
	char name[16];
	uint32_t block_size;
	uint64_t block_count;
	/* buffers are ordinary kernel memory; 0 on success, negative on error */
	int (*read)(struct blockdev *b, uint64_t lba, uint32_t count, void *buf);
	int (*write)(struct blockdev *b, uint64_t lba, uint32_t count,
		     const void *buf);
	int (*flush)(struct blockdev *b);
	void *priv;
};

/* block devices registered: every namespace of every controller (dozens
 * of EBS volumes, sparse namespace sets) */
#define BLOCKDEV_MAX 256
void blockdev_register(struct blockdev *b);
extern struct blockdev *blockdevs[BLOCKDEV_MAX];
extern unsigned nblockdevs;
#endif
