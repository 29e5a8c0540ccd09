/* kernel/net/httpd.h — the HTTP/1.1 server on TCP. Above tcp.c. */
#ifndef CAPOS_NET_HTTPD_H
#define CAPOS_NET_HTTPD_H
#include <stdint.h>

void httpd_init(uint16_t port);
void httpd_tick(uint64_t now);
#endif
