/* kernel/lib/random.h — the kernel's random numbers: a SipHash-keyed
 * generator (kernel/lib/siphash.h) whose key every entropy source the boot
 * finds is mixed into — the firmware's EFI_RNG_PROTOCOL before
 * ExitBootServices (kernel/init/efi.c), RDSEED or RDRAND when CPUID has them
 * (kernel/cpu/cpu.c), and TSC jitter against the reference clock
 * (kernel/time/tsc.c). For values an off-path attacker must not guess (TCP
 * initial sequence numbers, the challenge-ACK budget); not a CSPRNG with
 * forward secrecy. Pure: the host tests seed it as they like. */
#ifndef CAPOS_RANDOM_H
#define CAPOS_RANDOM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* mix len bytes from source into the key (data may be NULL when len is 0:
 * an empty input, one rekey); strong: a hardware or firmware
 * generator, not a timing guess */
void random_add(const char *source, const void *data, size_t len, bool strong);
uint64_t random_u64(void);
void random_bytes(void *out, size_t len);
/* the sources mixed in so far ("efi-rng,rdseed,tsc-jitter"), and whether
 * one of them was strong; random_report prints the boot line. The list
 * holds RANDOM_SOURCES_LEN bytes, its NUL included: a name that does not
 * fit whole is mixed in and not listed, never cut */
#define RANDOM_SOURCES_LEN 96
const char *random_sources(void);
bool random_strong(void);
void random_report(void);
#endif
