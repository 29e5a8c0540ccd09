/* tests/host/mm/efi_spec.h — UEFI 2.10 §7.2.3 (GetMemoryMap) as the page
 * allocator's tests and fuzzer name it: the attribute bits and the two
 * types after EfiPalCode that gnu-efi's headers do not define. Written
 * from the spec, not taken from kernel/mm, so a wrong constant there
 * shows as a disagreement. */
#ifndef CAPOS_TESTS_EFI_SPEC_H
#define CAPOS_TESTS_EFI_SPEC_H
#define A_UC	     0x1ull
#define A_WC	     0x2ull
#define A_WT	     0x4ull
#define A_WB	     0x8ull
#define A_UCE	     0x10ull
#define A_WP	     0x1000ull
#define A_RP	     0x2000ull
#define A_XP	     0x4000ull
#define A_NV	     0x8000ull
#define A_MR	     0x10000ull /* EFI_MEMORY_MORE_RELIABLE */
#define A_RO	     0x20000ull
#define A_SP	     0x40000ull /* EFI_MEMORY_SP, specific purpose */
#define A_CPU_CRYPTO 0x80000ull
#define A_ISA_VALID  0x4000000000000000ull
#define A_RUNTIME    0x8000000000000000ull
#define T_PERSISTENT 14 /* EfiPersistentMemory */
#define T_UNACCEPTED 15 /* EfiUnacceptedMemoryType */
#endif
