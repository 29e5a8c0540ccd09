/* kernel/boot/reloc.S — the PE relocation block (PE/COFF spec §6.6): one
 * block of page RVA 0 holding a single IMAGE_REL_BASED_ABSOLUTE (padding)
 * entry. Firmware then treats the image as relocatable and applies nothing;
 * kernel/boot/reloc.c does the real work. */
	.section .reloc, "a"
	.long 0		/* page RVA */
	.long 10	/* block size: 8-byte header + one 2-byte entry */
	.word 0		/* type 0 (absolute): padding */
	.section .note.GNU-stack, "", @progbits
