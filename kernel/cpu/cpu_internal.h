/* kernel/cpu/cpu_internal.h — the saved register frame (kernel/cpu/isr.S) */
#ifndef CAPOS_CPU_INTERNAL_H
#define CAPOS_CPU_INTERNAL_H
#include <stdint.h>

struct cpu_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
void isr_dispatch(struct cpu_frame *f);
#endif
