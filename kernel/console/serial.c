/* kernel/console/serial.c — COM1 (16550 UART at 0x3f8) and the log ring.
 * Everything printed is also kept in a ring, served at /api/log. */
#include "kernel/console/console.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/io.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"

#ifdef CAPOS_HOST
/* the host test (tests/host/console) plays the UART's ports */
uint8_t serial_host_inb(uint16_t port);
void serial_host_outb(uint16_t port, uint8_t v);
#define inb(p)	   serial_host_inb(p)
#define outb(p, v) serial_host_outb(p, v)
#endif

#define COM1 0x3f8
/* 16550 registers (offsets from the base) */
#define UART_THR      0
#define UART_IER      1
#define UART_FCR      2
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define UART_LCR_DLAB 0x80

#define LOG_SIZE 65536
static char log_ring[LOG_SIZE];
static uint64_t log_pos; /* total bytes ever written */

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + 0, 1); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);
	outb(COM1 + UART_MCR, 0x03);
}

/* reads of LSR one byte may wait for THRE; a UART that never has room
 * (stuck, or no 16550 behind the port) costs this once, and after that
 * one read a byte until it shows room again (uart_stuck) */
#define UART_WAIT_READS 100000
static bool uart_stuck;

static void serial_putc(char c)
{
	int i = 0;
	int reads = uart_stuck ? 1 : UART_WAIT_READS;
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE) && ++i < reads)
		cpu_relax();
	uart_stuck = i == reads;
	outb(COM1 + UART_THR, (uint8_t)c);
}

/* with interrupts off: a line printed by an interrupt handler cannot land
 * inside another line's bytes, on the UART or in the ring (one CPU) */
void console_write(const char *s, size_t n)
{
	uint64_t flags = cpu_irq_save();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
		log_ring[log_pos++ % LOG_SIZE] = s[i];
	}
	cpu_irq_restore(flags);
}

/* /api/log: what the ring holds, from its first whole line */
static void log_status(struct json *j)
{
	static char *tail;
	if (!tail) /* pages: bss would add 64 KiB of zeros to the PE file */
		tail = (char *)(uintptr_t)page_alloc(LOG_SIZE / PAGE_SIZE, 0);
	if (!tail) {
		json_obj(j);
		json_key(j, "log");
		json_null(j);
		json_obj_end(j);
		return;
	}
	uint64_t n = log_pos < LOG_SIZE ? log_pos : LOG_SIZE;
	uint64_t start = log_pos - n, skip = 0;
	for (uint64_t i = 0; i < n; i++)
		tail[i] = log_ring[(start + i) % LOG_SIZE];
	if (start) /* the ring wrapped: its first line is cut */
		for (uint64_t i = 0; i < n && i < 256; i++)
			if (tail[i] == '\n') {
				skip = i + 1;
				break;
			}
	json_obj(j);
	json_kstrn(j, "log", tail + skip, n - skip);
	json_obj_end(j);
}
STATUS_REGISTER("log", log_status);

void kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	console_write(buf, n);
}

void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
#ifndef CAPOS_HOST /* user mode may not */
	__asm__ volatile("cli");
#endif
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("panic: %s\n", buf);
	uint64_t rbp;
	__asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
	cpu_backtrace(rbp, (uint64_t)__builtin_return_address(0));
	cpu_exit(false);
}
