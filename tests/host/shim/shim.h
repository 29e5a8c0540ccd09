/* tests/host/shim/shim.h — knobs of the host shim */
#ifndef CAPOS_SHIM_H
#define CAPOS_SHIM_H
#include <stdint.h>
extern uint64_t shim_clock_ns; /* the virtual clock */
extern int shim_quiet;         /* nonzero: kprintf prints nothing (fuzzers) */
#endif
