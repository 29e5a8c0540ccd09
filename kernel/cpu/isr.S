/* kernel/cpu/isr.S — interrupt entry stubs. Each pushes a zero where the CPU
 * pushes no error code, then its vector, and joins isr_common, which saves
 * the general registers as struct cpu_frame (kernel/cpu/cpu_internal.h). */
	.text
	.macro STUB n, err
	.globl isr_stub_\n
isr_stub_\n:
	.if \err == 0
	pushq $0
	.endif
	pushq $\n
	jmp isr_common
	.endm

	/* vectors that push an error code (Intel SDM vol. 3A §6.13) */
	.irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	STUB \n, 0
	.endr
	.irp n, 8,10,11,12,13,14,17,21,29,30
	STUB \n, 1
	.endr
	.altmacro
	.set i, 32
	.rept 224
	STUB %i, 0
	.set i, i+1
	.endr
	.noaltmacro

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	/* the address of every stub, for the IDT */
	.section .data.isr_table, "aw"
	.globl isr_stub_table
	.balign 8
isr_stub_table:
	.macro ENTRY n
	.quad isr_stub_\n
	.endm
	.altmacro
	.set i, 0
	.rept 256
	ENTRY %i
	.set i, i+1
	.endr
	.noaltmacro
	.section .note.GNU-stack, "", @progbits
