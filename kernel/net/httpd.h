/* kernel/net/httpd.h — the HTTP/1.1 server on TCP. Above tcp.c. */
#ifndef CAPOS_NET_HTTPD_H
#define CAPOS_NET_HTTPD_H
#include <stdint.h>

#define HTTP_HEADER_TIMEOUT_US (10ull * 1000000) /* a request's header */
#define HTTP_IDLE_TIMEOUT_US   (30ull * 1000000) /* keep-alive between */
#define HTTP_STALL_TIMEOUT_US  (60ull * 1000000) /* no progress sending */
/* the least of a response a client must acknowledge in each
 * HTTP_STALL_TIMEOUT_US (or the rest, if less): 16 KiB a minute, 273 B/s */
#define HTTP_STALL_MIN_BYTES 16384u

void httpd_init(uint16_t port);
void httpd_tick(uint64_t now);
#if defined(CAPOS_PROOFS) || defined(CAPOS_HOST)
/* the stall reset's bound, 1 to 3600 s (the nearer end outside): the
 * proof image's httpd.stall_s, a host fuzzer's per input */
void httpd_stall_set_s(uint64_t s);
#endif
#endif
