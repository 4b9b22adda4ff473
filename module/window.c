// SPDX-License-Identifier: GPL-2.0
/*
 * karena: the window, through which a client reaches its memory.
 *
 * A client's window is a range of window page offsets, twice its quota
 * (so that blocks of mixed orders still find aligned room).  Every block
 * the client owns (page block or user slab) occupies a naturally aligned
 * run of offsets, recorded page by page in client->window_pages.  A
 * mapping of the device file at offset o shows, at each page, the page
 * recorded at o; an offset with no page gives SIGBUS.
 *
 * Mappings are populated on fault with vmf_insert_pfn() into a
 * VM_IO | VM_PFNMAP mapping, so get_user_pages() refuses them (no O_DIRECT
 * or vmsplice pin can outlive a free), fork does not copy them
 * (VM_DONTCOPY, which VM_IO makes permanent), and they never grow
 * (VM_DONTEXPAND) or become executable (no VM_MAYEXEC).
 *
 * Every file of a client shares the client's own address_space (an inode
 * of a private pseudo filesystem, as dma-buf and drm do), so that
 * unmap_mapping_range() removes a block from every mapping at once,
 * however the mappings were split, moved or duplicated.
 *
 * Ordering against faults: the fault handler looks up and inserts under
 * client->window_lock; unmapping erases the pages under window_lock first
 * and zaps after, so a fault either inserted before the erase (and the
 * zap removes it) or finds nothing (SIGBUS).  Only after the zap may a
 * page go back to the arena.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/slab.h>

#include "buddy.h"
#include "client.h"
#include "internal.h"

#define KDEV_FS_MAGIC 0x6b61726e	/* "karn" */

static struct vfsmount *kdev_mnt;

static int kdev_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, KDEV_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: the mount lives as long as the module, and a module
 * reference from it would make the module impossible to remove.
 */
static struct file_system_type kdev_fs_type = {
	.name = "karena",
	.init_fs_context = kdev_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/**
 * kdev_fs_init() - mount the pseudo filesystem that gives each client
 * its own address_space.
 *
 * Context: Process context, module load.
 * Return: 0 or a negative errno.
 */
int kdev_fs_init(void)
{
	kdev_mnt = kern_mount(&kdev_fs_type);
	return PTR_ERR_OR_ZERO(kdev_mnt);
}

/**
 * kdev_fs_exit() - unmount the pseudo filesystem.
 *
 * Context: Process context, module unload; no client exists.
 */
void kdev_fs_exit(void)
{
	kern_unmount(kdev_mnt);
}

/**
 * kdev_window_init() - set up an empty window for a new client.
 * @client: the client, not yet visible to anyone.
 *
 * Context: Process context.
 * Return: 0 or -ENOMEM.
 */
int kdev_window_init(struct kdev_client *client)
{
	struct inode *inode;

	client->window_nr = 2 * (client->quota >> PAGE_SHIFT);
	client->window_map = bitmap_zalloc(client->window_nr, GFP_KERNEL);
	if (!client->window_map)
		return -ENOMEM;
	inode = alloc_anon_inode(kdev_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		bitmap_free(client->window_map);
		return PTR_ERR(inode);
	}
	client->inode = inode;
	return 0;
}

/**
 * kdev_window_exit() - tear down a client's window.
 * @client: the client; every block has been unmapped already.
 *
 * Context: Process context; caller holds client->lock.
 */
void kdev_window_exit(struct kdev_client *client)
{
	lockdep_assert_held(&client->lock);
	WARN_ON_ONCE(!xa_empty(&client->window_pages));
	unmap_mapping_range(client->inode->i_mapping, 0, 0, 1);
	xa_destroy(&client->window_pages);
	iput(client->inode);
	bitmap_free(client->window_map);
}

/**
 * kdev_window_map() - give a block a place in the client's window.
 * @client: the client.
 * @head: first page of the block, already owned by the client.
 * @order: the block is 2^@order pages.
 * @pgoff: set to the window page offset of @head.
 *
 * Pages become visible at the next fault on their offset.
 *
 * Context: Process context; caller holds client->lock.
 * Return: 0, or -ENOMEM if the window has no aligned room left.
 */
int kdev_window_map(struct kdev_client *client, struct page *head,
		    unsigned int order, unsigned long *pgoff)
{
	unsigned long nr = 1UL << order, start, i;
	int ret;

	lockdep_assert_held(&client->lock);
	start = bitmap_find_next_zero_area(client->window_map,
					   client->window_nr, 0, nr, nr - 1);
	if (start >= client->window_nr)
		return -ENOMEM;

	mutex_lock(&client->window_lock);
	for (i = 0; i < nr; i++) {
		ret = xa_err(xa_store(&client->window_pages, start + i,
				      nth_page(head, i), GFP_KERNEL));
		if (ret) {
			while (i--)
				xa_erase(&client->window_pages, start + i);
			mutex_unlock(&client->window_lock);
			return ret;
		}
	}
	mutex_unlock(&client->window_lock);
	bitmap_set(client->window_map, start, nr);
	*pgoff = start;
	return 0;
}

/**
 * kdev_window_unmap() - take a block out of the client's window.
 * @client: the client.
 * @pgoff: window page offset of the block's first page.
 * @order: the block is 2^@order pages.
 *
 * On return no mapping of the client shows any page of the block, and no
 * fault can bring one back: the pages may change owner.
 *
 * Context: Process context; caller holds client->lock.
 */
void kdev_window_unmap(struct kdev_client *client, unsigned long pgoff,
		       unsigned int order)
{
	unsigned long nr = 1UL << order, i;

	lockdep_assert_held(&client->lock);
	mutex_lock(&client->window_lock);
	for (i = 0; i < nr; i++)
		xa_erase(&client->window_pages, pgoff + i);
	mutex_unlock(&client->window_lock);
	unmap_mapping_range(client->inode->i_mapping,
			    (loff_t)pgoff << PAGE_SHIFT,
			    (loff_t)nr << PAGE_SHIFT, 1);
	bitmap_clear(client->window_map, pgoff, nr);
}

/**
 * kdev_window_lookup() - the page at a window page offset.
 * @client: the client.
 * @pgoff: window page offset.
 *
 * Context: Process context; caller holds client->lock, which keeps the
 * answer valid.
 * Return: the page, or NULL if none is there.
 */
struct page *kdev_window_lookup(struct kdev_client *client, unsigned long pgoff)
{
	lockdep_assert_held(&client->lock);
	return xa_load(&client->window_pages, pgoff);
}

static vm_fault_t kdev_vm_fault(struct vm_fault *vmf)
{
	struct kdev_client *client = vmf->vma->vm_private_data;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct page *page;

	mutex_lock(&client->window_lock);
	page = xa_load(&client->window_pages, vmf->pgoff);
	if (page)
		ret = vmf_insert_pfn(vmf->vma, vmf->address,
				     page_to_pfn(page));
	mutex_unlock(&client->window_lock);
	return ret;
}

static const struct vm_operations_struct kdev_vm_ops = {
	.fault = kdev_vm_fault,
};

/**
 * kdev_window_mmap() - set up a new mapping of the client's window.
 * @client: the client of the mapped file.
 * @vma: the new mapping.
 *
 * Only shared, non-executable mappings inside the window, from the
 * client's own process, are allowed.
 *
 * Context: Process context, mmap_lock held for writing.
 * Return: 0; -EINVAL for a private or executable mapping or one that
 * reaches past the window; -EPERM from another process.
 */
int kdev_window_mmap(struct kdev_client *client, struct vm_area_struct *vma)
{
	unsigned long pages = vma_pages(vma);

	if (vma->vm_mm != client->mm)
		return -EPERM;
	if (!(vma->vm_flags & VM_SHARED) || vma->vm_flags & VM_EXEC)
		return -EINVAL;
	if (vma->vm_pgoff >= client->window_nr ||
	    pages > client->window_nr - vma->vm_pgoff)
		return -EINVAL;

	vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
		     VM_DONTCOPY);
	vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_ops = &kdev_vm_ops;
	vma->vm_private_data = client;
	return 0;
}
