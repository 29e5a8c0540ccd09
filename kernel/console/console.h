/* kernel/console/console.h — COM1 serial and the boot log ring. */
#ifndef CAPOS_CONSOLE_H
#define CAPOS_CONSOLE_H
#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t n);
#endif
