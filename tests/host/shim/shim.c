/* tests/host/shim/shim.c — the kernel library on the host.
 *
 * Pure modules and driver cores build unchanged against these: console output
 * goes to stdout (kernel/lib/printf.c and parse.c are linked in as they are),
 * panic aborts (so a test fails loudly), and the clock is a virtual one that
 * time_delay_us advances, so polling loops with timeouts finish instantly and
 * deterministically. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kernel/lib/lib.h"
#include "kernel/time/time.h"
#include "shim.h"

uint64_t shim_clock_ns;
int shim_quiet;
uint64_t shim_kprintf_calls;
char shim_last_line[256];
shim_delay_hook_fn shim_delay_hook;
shim_line_hook_fn shim_line_hook;

void kprintf(const char *fmt, ...)
{
	shim_kprintf_calls++;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(shim_last_line, sizeof(shim_last_line), fmt, ap);
	va_end(ap);
	if (shim_line_hook)
		shim_line_hook(shim_last_line);
	if (shim_quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

unsigned shim_counted;
static const char *count_pat;
static void count_line(const char *line)
{
	if (strstr(line, count_pat))
		shim_counted++;
}

void shim_count_lines(const char *pat)
{
	count_pat = pat;
	shim_counted = 0;
	shim_line_hook = count_line;
}

bool shim_in_child(void (*fn)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t p = fork();
	if (p < 0) {
		perror("shim_in_child: fork");
		return false;
	}
	if (p == 0) {
		signal(SIGSEGV, SIG_DFL); /* a test runner's handler is the
					   * parent's */
		signal(SIGBUS, SIG_DFL);
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st;
	if (waitpid(p, &st, 0) != p) {
		perror("shim_in_child: waitpid");
		return false;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	fprintf(stderr, "shim_in_child: the child ended by %s %d\n",
		WIFEXITED(st) ? "exit" : "signal",
		WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return false;
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "panic: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	abort();
}

uint64_t time_now_ns(void)
{
	return shim_clock_ns += 100;
}
uint64_t time_now_us(void)
{
	return time_now_ns() / 1000;
}
void time_delay_us(uint64_t us)
{
	shim_clock_ns += us * 1000;
	if (shim_delay_hook)
		shim_delay_hook();
}
uint64_t time_tsc(void)
{
	return time_now_ns();
}
uint64_t time_tsc_hz(void)
{
	return 1000000000ull;
}
