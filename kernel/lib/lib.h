/* kernel/lib/lib.h — the freestanding C library every kernel module uses.
 *
 * Pure modules (dma/, protocol parsers, driver cores) include this header and
 * build both into the kernel and into host tests: on the host the same names
 * come from libc plus tests/host/shim (kprintf, panic). */
#ifndef CAPOS_LIB_H
#define CAPOS_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define PAGE_SIZE	 4096u

/* one field from one SHIFT/MASK pair: setter and getter cannot drift */
#define FIELD_GET(name, v) (((v) >> name##_SHIFT) & name##_MASK)
#define FIELD_SET(name, v) (((uint64_t)(v)&name##_MASK) << name##_SHIFT)

/* barriers, defined once. x86 is TSO: only compiler ordering is needed between
 * ordinary loads/stores and device-visible memory; mfence for store->load. */
#define barrier() __asm__ __volatile__("" ::: "memory")
#define dma_wmb() barrier() /* descriptor writes before the doorbell */
#define dma_rmb() barrier() /* device-written flag before the body */
#define mb()	  __asm__ __volatile__("mfence" ::: "memory")

static inline uint16_t bswap16(uint16_t v)
{
	return __builtin_bswap16(v);
}
static inline uint32_t bswap32(uint32_t v)
{
	return __builtin_bswap32(v);
}
static inline uint64_t bswap64(uint64_t v)
{
	return __builtin_bswap64(v);
}
/* x86 is little-endian */
#define cpu_to_be16(v) bswap16(v)
#define cpu_to_be32(v) bswap32(v)
#define cpu_to_be64(v) bswap64(v)
#define be16_to_cpu(v) bswap16(v)
#define be32_to_cpu(v) bswap32(v)
#define be64_to_cpu(v) bswap64(v)

#ifndef CAPOS_HOST
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *s, const char *sub);
#else
#include <string.h>
#endif
size_t strlcpy(char *dst, const char *src, size_t n);
int kvsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* console output (serial; on the host: stdout) */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* prints, dumps state, exits QEMU with the failing status */
__attribute__((noreturn)) void panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* whether the n-th occurrence (n counted from 1, this one included) of an
 * event a peer, device or driver can repeat at will gets its console line:
 * the 1st, 2nd, 4th, 8th, ..., so n events print floor(log2(n)) + 1 lines,
 * each of which should give n */
static inline bool line_due(uint64_t n)
{
	return n && !(n & (n - 1));
}
/* parse helpers: return false on malformed or overflowing input */
bool parse_u64(const char *s, size_t len, uint64_t *out);

#endif
