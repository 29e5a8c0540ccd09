/* kernel/devmgr/blockdev.c — the block device registry: what drivers
 * register (every namespace of every controller) and what they take back
 * before the memory behind a registration goes. */
#include "kernel/devmgr/blockdev.h"

#include "kernel/lib/lib.h"

struct blockdev *blockdevs[BLOCKDEV_MAX];
unsigned nblockdevs;

void blockdev_register(struct blockdev *b)
{
	b->name[sizeof(b->name) - 1] = 0;
	for (unsigned i = 0; i < nblockdevs; i++)
		if (blockdevs[i] == b) {
			/* kept twice, one unregister would leave the other
			 * pointing at memory the driver gives back */
			kprintf("devmgr: block device %s registered already\n",
				b->name);
			return;
		}
	if (nblockdevs == BLOCKDEV_MAX) {
		kprintf(
		    "devmgr: more than %d block devices; %s not registered\n",
		    BLOCKDEV_MAX, b->name);
		return;
	}
	blockdevs[nblockdevs++] = b;
	kprintf("devmgr: block device %s: %lu blocks of %u bytes\n", b->name,
		b->block_count, b->block_size);
}

void blockdev_unregister(struct blockdev *b)
{
	for (unsigned i = 0; i < nblockdevs; i++)
		if (blockdevs[i] == b) {
			memmove(&blockdevs[i], &blockdevs[i + 1],
				(nblockdevs - i - 1) * sizeof(blockdevs[0]));
			blockdevs[--nblockdevs] = 0;
			kprintf("devmgr: block device %s gone\n", b->name);
			return;
		}
}
