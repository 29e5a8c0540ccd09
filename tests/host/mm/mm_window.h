/* tests/host/mm/mm_window.h — what the mm host tests share: a window of
 * host memory at the physical addresses their memory maps name (mapped
 * only in a child process, so a test that corrupts it or dies takes
 * nothing else down), and the map itself. A test file defines
 * MM_TEST_MAP_MAX (descriptors) before including it. */
#ifndef CAPOS_TESTS_MM_WINDOW_H
#define CAPOS_TESTS_MM_WINDOW_H
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <efi.h>

#include "kernel/boot/boot_internal.h"

#define WIN_BASE  0x20000000ull /* 512 MiB */
#define WIN_PAGES 1024ull	/* 4 MiB */
#define PG	  4096ull

static EFI_MEMORY_DESCRIPTOR map[MM_TEST_MAP_MAX];
static unsigned nmap;

/* boot_mmap is the n descriptors at d */
static void map_use(EFI_MEMORY_DESCRIPTOR *d, unsigned n)
{
	boot_mmap.desc = (uint8_t *)d;
	boot_mmap.size = n * sizeof(*d);
	boot_mmap.desc_size = sizeof(*d);
}

/* one more descriptor in boot_mmap */
static void desc_attr(uint32_t type, uint64_t start, uint64_t pages,
		      uint64_t attr)
{
	if (nmap == MM_TEST_MAP_MAX)
		abort();
	map[nmap++] = (EFI_MEMORY_DESCRIPTOR){.Type = type,
					      .PhysicalStart = start,
					      .NumberOfPages = pages,
					      .Attribute = attr};
	map_use(map, nmap);
}

/* run fn in a child with the window mapped, filled with `fill`, and the
 * map empty: 0 when fn returned, else its exit code or 128 + signal */
static int in_child_window(void (*fn)(void), int fill)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		/* cmocka's handlers would carry on with the next test here */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		void *p = mmap(
		    (void *)WIN_BASE, WIN_PAGES * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)WIN_BASE)
			abort();
		memset(p, fill, WIN_PAGES * PG);
		nmap = 0;
		fn();
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
#endif
