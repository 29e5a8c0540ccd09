/* kernel/proof/proof.h — proof markers on serial.
 *
 *   PROOF <name> PASS|FAIL <key=value ...>
 *   capOS: proofs pass=N fail=M
 *
 * tests/qemu reads them; a proof that never prints is a failure there. */
#ifndef CAPOS_PROOF_H
#define CAPOS_PROOF_H
#include <stdbool.h>

/* is proof `name` requested on the command line (proofs=a,b,c or all)? */
bool proof_wanted(const char *name);
void proof_result(const char *name, bool pass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* fault=pagefault|guard on the command line: provoke that fault on purpose
 * (kernel/proof/foundation.c) so a test can check the exception report */
void proof_fault(const char *kind);
/* run the wanted proofs (kernel/boot calls this once drivers are bound) */
void proofs_run(void);
/* print "capOS: proofs pass=N fail=M"; with `exit` on the command line,
 * leave QEMU through isa-debug-exit with the verdict */
void proof_finish(void);

/* A proof registers itself with PROOF_REGISTER(name, fn, order): after all
 * drivers are bound the kernel runs, in `order`, each registered proof whose
 * name is wanted. fn reports through proof_result. No shared table to edit. */
struct proof_entry {
	const char *name;
	void (*fn)(void);
	int order;
};
#define PROOF_REGISTER(nm, f, ord)                                             \
	static const struct proof_entry __proof_##f                            \
	    __attribute__((used, section(".capos_proofs"), aligned(8))) = {    \
		.name = nm, .fn = f, .order = ord}
#endif
