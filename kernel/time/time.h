/* kernel/time/time.h — the calibrated monotonic clock (TSC, calibrated
 * against the ACPI PM timer or HPET at boot). On the host, tests/host/shim. */
#ifndef CAPOS_TIME_H
#define CAPOS_TIME_H
#include <stdint.h>

uint64_t time_now_us(void);
uint64_t time_now_ns(void);
/* busy-wait us microseconds; the end saturates (UINT64_MAX: for ever) */
void time_delay_us(uint64_t us);
/* kernel only: calibrate the TSC once ACPI is parsed. 0 or -1 */
int time_calibrate(void);
/* raw TSC and its calibrated frequency, for the boot timeline */
uint64_t time_tsc(void);
uint64_t time_tsc_hz(void);
#endif
