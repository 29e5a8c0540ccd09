/* kernel/init/init.h — the entry (efi_main, kernel/init/efi.c) and the
 * steady state it hands over to (kmain, kernel/init/main.c). The top of the
 * kernel: it calls every layer, and nothing includes it but itself. */
#ifndef CAPOS_INIT_H
#define CAPOS_INIT_H
#include <stdint.h>

/* apply R_X86_64_RELATIVE relocations for the image loaded at base */
int boot_relocate(uint64_t base);
__attribute__((noreturn)) void kmain(void);
#endif
