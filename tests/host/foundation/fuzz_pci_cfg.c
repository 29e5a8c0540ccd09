/* tests/host/foundation/fuzz_pci_cfg.c — arbitrary configuration space:
 * the capability walk must terminate inside config space and BAR decode
 * must not read or write outside it. */
#include <stdint.h>
#include <string.h>

#include "kernel/pci/pci.h"
#include "shim.h"

int pci_bar_decode(struct pci_dev *d, int i);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t cfg[4096];
	struct pci_dev d = {.cfg = cfg};
	shim_quiet = 1;
	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg, data, size < sizeof(cfg) ? size : sizeof(cfg));
	for (unsigned id = 0; id < 0x20; id++) {
		uint8_t at = 0;
		for (int n = 0; n < 64; n++) {
			at = pci_find_cap(&d, id, at);
			if (!at)
				break;
			if (at < 0x40 || (at & 3))
				__builtin_trap(); /* the walk returned a bad
						     pointer */
		}
	}
	for (int i = 0; i < 6;)
		i += pci_bar_decode(&d, i);
	return 0;
}
