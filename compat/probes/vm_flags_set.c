// SPDX-License-Identifier: GPL-2.0
/*
 * vm_flags_set() and vm_flags_clear(), the only way to change
 * vma->vm_flags once it became read-only: Linux 6.3, commit bc292ab00f6c
 * ("mm: introduce vma->vm_flags wrapper functions").
 */
#include <linux/mm.h>

void karena_probe(struct vm_area_struct *vma);
void karena_probe(struct vm_area_struct *vma)
{
	vm_flags_set(vma, VM_IO);
	vm_flags_clear(vma, VM_MAYEXEC);
}
