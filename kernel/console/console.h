/* kernel/console/console.h — COM1 serial and the boot log ring. */
#ifndef CAPOS_CONSOLE_H
#define CAPOS_CONSOLE_H
#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t n);
/* copy the tail of everything printed so far (the boot log) into buf;
 * returns the number of bytes copied */
size_t console_log_copy(char *buf, size_t cap);
#endif
