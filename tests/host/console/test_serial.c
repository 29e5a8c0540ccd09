/* tests/host/console/test_serial.c — COM1 and the log ring
 * (kernel/console/serial.c) with the 16550's ports played by the test:
 * every byte said goes to the UART (LF as CR LF) and into the ring, and
 * /api/log serves what the ring holds from its first whole line. The ring
 * only grows, so the cases run in order and keep their own copy of every
 * byte written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/console/console.h"
#include "kernel/cpu/cpu.h"
#include "kernel/lib/json.h"
#include "kernel/lib/lib.h"
#include "kernel/lib/status.h"
#include "kernel/mm/mm.h"

#define LOG_SIZE 65536 /* serial.c's ring */
#define COM1	 0x3f8

/* ---- the UART: 16550 registers at COM1 + 0..7 ---------------------------- */
static struct {
	bool never_ready;   /* LSR's THRE never set: a UART that is stuck */
	uint64_t lsr_reads; /* reads of LSR (COM1 + 5) */
	char tx[1 << 20];   /* bytes written to THR */
	size_t ntx;	    /* and how many */
	uint16_t wport[16]; /* the first writes to other registers */
	uint8_t wval[16];
	unsigned nw;
	bool dlab;
	unsigned thr_irqs_on; /* THR writes made with interrupts on */
} uart;

uint8_t serial_host_inb(uint16_t port)
{
	assert_int_equal(port, COM1 + 5);
	uart.lsr_reads++;
	return uart.never_ready ? 0 : 0x20;
}

void serial_host_outb(uint16_t port, uint8_t v)
{
	assert_true(port >= COM1 && port < COM1 + 8);
	if (port == COM1 + 3)
		uart.dlab = v & 0x80;
	if (port == COM1 && !uart.dlab) {
		assert_true(uart.ntx < sizeof(uart.tx));
		uart.thr_irqs_on += !cpu_host_irqs_off;
		uart.tx[uart.ntx++] = (char)v;
		return;
	}
	if (uart.nw < 16) {
		uart.wport[uart.nw] = port;
		uart.wval[uart.nw++] = v;
	}
}

/* ---- what serial.c calls outside kernel/console ------------------------ */
static bool pages_refused;
uint64_t page_alloc(size_t n, uint64_t limit)
{
	(void)limit;
	assert_int_equal(n, LOG_SIZE / PAGE_SIZE);
	if (pages_refused)
		return 0;
	return (uint64_t)(uintptr_t)aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);
}

static uint64_t bt_rbp, bt_rip;
static unsigned backtraces;
void cpu_backtrace(uint64_t rbp, uint64_t rip)
{
	backtraces++;
	bt_rbp = rbp;
	bt_rip = rip;
}

static jmp_buf exited;
static int exit_status;
void cpu_exit(bool pass)
{
	exit_status = pass ? 1 : 2;
	longjmp(exited, 1);
}

/* ---- what the ring must hold -------------------------------------------- */
static char *written; /* every byte console_write was given */
static size_t nwritten;

static void say(const char *s, size_t n)
{
	written = realloc(written, nwritten + n);
	memcpy(written + nwritten, s, n);
	nwritten += n;
	console_write(s, n);
}

static void say_n(char c, size_t n)
{
	char *b = malloc(n);
	memset(b, c, n);
	say(b, n);
	free(b);
}

/* /api/log's document, and the one the rule gives: the last LOG_SIZE
 * bytes written; once more than that was written, from the byte after
 * the first newline among the first 256 of them, if there is one */
static char doc[6 * LOG_SIZE], want[6 * LOG_SIZE];

static void log_doc(void)
{
	const struct status_provider *p = status_find("log");
	assert_non_null(p);
	struct json j;
	json_init(&j, doc, sizeof(doc));
	p->fn(&j);
	assert_true(json_end(&j) > 0);
}

static void want_doc(void)
{
	size_t n = nwritten < LOG_SIZE ? nwritten : LOG_SIZE;
	const char *t = written + nwritten - n;
	if (nwritten > LOG_SIZE)
		for (size_t i = 0; i < 256 && i < n; i++)
			if (t[i] == '\n') {
				t += i + 1;
				n -= i + 1;
				break;
			}
	size_t k = 0;
	k += sprintf(want, "{\"log\":\"");
	for (size_t i = 0; i < n; i++) {
		assert_true(t[i] >= 0x20 ||
			    t[i] == '\n'); /* the test's bytes */
		if (t[i] == '\n') {
			want[k++] = '\\';
			want[k++] = 'n';
		} else {
			want[k++] = t[i];
		}
	}
	sprintf(want + k, "\"}");
}

static void assert_log(void)
{
	log_doc();
	want_doc();
	assert_string_equal(doc, want);
}

/* ---- the cases, in order ------------------------------------------------ */

/* console_init programs the 16550 (PC16550D datasheet): interrupts off,
 * the divisor latch (DLAB) to 1 (115200 baud), 8 data bits, no parity, 1
 * stop bit, FIFOs on and cleared, DTR and RTS */
static void test_console_init_16550_8N1_115200(void **st)
{
	(void)st;
	console_init();
	static const uint16_t port[] = {COM1 + 1, COM1 + 3, COM1 + 0, COM1 + 1,
					COM1 + 3, COM1 + 2, COM1 + 4};
	static const uint8_t val[] = {0, 0x80, 1, 0, 0x03, 0xc7, 0x03};
	assert_int_equal(uart.nw, 7);
	for (unsigned i = 0; i < 7; i++) {
		assert_int_equal(uart.wport[i], port[i]);
		assert_int_equal(uart.wval[i], val[i]);
	}
	assert_int_equal(uart.ntx, 0);
	assert_false(uart.dlab);
}

/* with no pages for the copy it is served from, /api/log says null (and
 * asks again next time) */
static void test_log_null_without_pages(void **st)
{
	(void)st;
	say("boot\n", 5);
	pages_refused = true;
	log_doc();
	assert_string_equal(doc, "{\"log\":null}");
	pages_refused = false;
	assert_log();
}

/* every byte goes to THR once the UART says it has room, LF as CR LF;
 * the ring keeps LF alone */
static void test_write_crlf_to_the_uart(void **st)
{
	(void)st;
	uart.ntx = 0;
	say("a\nbc\n", 5);
	assert_int_equal(uart.ntx, 7);
	assert_memory_equal(uart.tx, "a\r\nbc\r\n", 7);
	assert_log();
}

/* a kprintf longer than its 512-byte buffer is cut to 511 bytes */
static void test_kprintf_cut_at_511(void **st)
{
	(void)st;
	char line[700];
	memset(line, 'k', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	uart.ntx = 0;
	kprintf("%s", line);
	assert_int_equal(uart.ntx, 511);
	written = realloc(written, nwritten + 511);
	memset(written + nwritten, 'k', 511);
	nwritten += 511;
	assert_log();
}

/* a UART that never has room costs 100000 reads of LSR a byte, and the
 * byte is written all the same: the console cannot hang the kernel */
static void test_stuck_uart_bounded(void **st)
{
	(void)st;
	uart.never_ready = true;
	uart.lsr_reads = 0;
	uart.ntx = 0;
	say("z", 1);
	assert_int_equal(uart.lsr_reads, 100000);
	assert_int_equal(uart.ntx, 1);
	uart.never_ready = false;
	uart.lsr_reads = 0;
	say("y", 1);
	assert_int_equal(uart.lsr_reads, 1);
}

/* once a byte has waited UART_WAIT_READS reads in vain, the bytes after it
 * wait one read each until LSR shows room again: a stuck UART (or none
 * behind the port) costs a line one wait, not one per byte */
static void test_stuck_uart_waited_once(void **st)
{
	(void)st;
	uart.never_ready = true;
	uart.lsr_reads = 0;
	uart.ntx = 0;
	say("stuck\n", 6);
	assert_int_equal(uart.ntx, 7); /* every byte written all the same */
	assert_int_equal(uart.lsr_reads, 100000 + 6);
	uart.never_ready = false;
	uart.lsr_reads = 0;
	say("ok", 2);
	assert_int_equal(uart.lsr_reads, 2);
	uart.never_ready = true; /* stuck again: one full wait again */
	uart.lsr_reads = 0;
	say("w", 1);
	assert_int_equal(uart.lsr_reads, 100000);
	uart.never_ready = false;
	say("\n", 1);
	assert_log();
}

/* every byte goes out with interrupts off, and they come back as they
 * were: a line an interrupt handler prints cannot land inside another
 * line's bytes (one CPU), and a caller that had them off keeps them off */
static void test_write_with_interrupts_off(void **st)
{
	(void)st;
	uart.thr_irqs_on = 0;
	uart.ntx = 0;
	cpu_host_irqs_off = false;
	say("irq\n", 4);
	kprintf("k%d\n", 1);
	written = realloc(written, nwritten + 3);
	memcpy(written + nwritten, "k1\n", 3);
	nwritten += 3;
	assert_int_equal(uart.ntx, 5 + 4);
	assert_int_equal(uart.thr_irqs_on, 0);
	assert_false(cpu_host_irqs_off);
	cpu_host_irqs_off = true;
	say("x\n", 2);
	assert_true(cpu_host_irqs_off);
	cpu_host_irqs_off = false;
	assert_log();
}

/* past LOG_SIZE bytes the ring holds the last LOG_SIZE, from its first
 * whole line */
static void test_log_wrapped_from_first_whole_line(void **st)
{
	(void)st;
	char line[32];
	for (unsigned i = 0; nwritten < LOG_SIZE + 5000; i++) {
		int n = snprintf(line, sizeof(line), "line %u\n", i);
		say(line, (size_t)n);
	}
	assert_log();
	assert_true(strncmp(doc, "{\"log\":\"line ", 13) == 0);
}

/* the cut first line is dropped when its end is among the first 256 bytes
 * (a newline at 255), kept cut when it is not (at 256): a log of one long
 * line is still served */
static void test_log_first_newline_within_256(void **st)
{
	(void)st;
	say_n('x', 1000);
	say("\n", 1);
	say_n('y', LOG_SIZE - 256);
	assert_log();
	assert_true(strncmp(doc, "{\"log\":\"yyy", 11) == 0);
	say_n('x', 1000);
	say("\n", 1);
	say_n('y', LOG_SIZE - 257);
	assert_log();
	assert_true(strncmp(doc, "{\"log\":\"xxx", 11) == 0);
}

/* panic says "panic: <why>", walks the stack from its own frame, and
 * stops the kernel as a failure */
static void test_panic_said_backtraced_stopped(void **st)
{
	(void)st;
	uart.ntx = 0;
	backtraces = 0;
	if (!setjmp(exited))
		panic("out of %s", "luck");
	assert_int_equal(exit_status, 2);
	assert_int_equal(uart.ntx, 20);
	assert_memory_equal(uart.tx, "panic: out of luck\r\n", 20);
	assert_int_equal(backtraces, 1);
	assert_int_not_equal(bt_rbp, 0);
	assert_int_not_equal(bt_rip, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_console_init_16550_8N1_115200),
	    cmocka_unit_test(test_log_null_without_pages),
	    cmocka_unit_test(test_write_crlf_to_the_uart),
	    cmocka_unit_test(test_kprintf_cut_at_511),
	    cmocka_unit_test(test_stuck_uart_bounded),
	    cmocka_unit_test(test_stuck_uart_waited_once),
	    cmocka_unit_test(test_write_with_interrupts_off),
	    cmocka_unit_test(test_log_wrapped_from_first_whole_line),
	    cmocka_unit_test(test_log_first_newline_within_256),
	    cmocka_unit_test(test_panic_said_backtraced_stopped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
