/* SPDX-License-Identifier: GPL-2.0 */
/*
 * karena: clients of /dev/karena, private interface (module/client*.c,
 * module/window.c, module/device.c).
 *
 * A client is one open file of /dev/karena.  It owns user caches and page
 * blocks, is charged for them against its own quota and its user's, and
 * reaches them through one window: a MAP_SHARED mapping of the file in
 * which every page the client owns sits at a window offset that only
 * means something to this client.
 *
 * Security invariants (DESIGN.md) that this layer carries:
 *  - a page is in at most one client's window; before it leaves the
 *    client it is erased from the window and unmapped from every mapping
 *    of the client's address_space (unmap_mapping_range), and only then
 *    returned to the buddy layer;
 *  - pages reach a client zeroed (KARENA_ALLOC_ZERO);
 *  - no metadata lives in window pages;
 *  - a client is used only from the mm that opened it.
 *
 * Lock order: internal.h; this layer's locks are its 1 to 3.  Nothing
 * may fault on user memory while holding either client lock: the fault
 * handler takes client->window_lock (a fault on the window under it
 * would deadlock), and a fault can last as long as
 * userspace wants (userfaultfd, a FUSE file), while client->lock would
 * hold up debugfs's clients file, which holds kdev_clients_lock, and
 * behind it every open of /dev/karena.
 *
 * A command that hands something out must still tell the caller under
 * client->lock, or another thread of the client could free (or destroy)
 * what it was given before it is told, and a rollback would then free it
 * twice: it writes its answer with page faults disabled
 * (kdev_reply_write()) after device.c has faulted the struct in, and
 * undoes everything, still under the lock, if that write fails.
 */
#ifndef KARENA_CLIENT_H
#define KARENA_CLIENT_H

#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

#include "../uapi/karena.h"

struct ka_arena;

/**
 * struct kdev_uid - what all clients of one user own together.
 * @node: link in kdev_uids (kdev_uids_lock).
 * @uid: the user, from the opener's file credentials.
 * @ref: clients of this user.
 * @bytes: bytes owned by all of them (kdev_uids_lock).
 */
struct kdev_uid {
	struct list_head node;
	kuid_t uid;
	refcount_t ref;
	unsigned long bytes;
};

/**
 * struct kdev_client - one open file of /dev/karena.
 * @lock: serialises the commands of this client; guards everything below
 *	that does not name another lock.
 * @window_lock: guards @window_pages against the fault handler.
 * @window_pages: window page offset -> struct page of every page the
 *	client owns (stores and erases under @window_lock; loads in the
 *	fault handler under @window_lock).
 * @window_map: bitmap of used window pages.
 * @window_nr: window size in pages.
 * @inode: the client's own inode; its address_space holds every mapping
 *	of the window, so unmap_mapping_range() reaches them all.
 * @mm: the opener's mm (mmgrab'd): the only mm that may use the client.
 * @user: the opener's user, for the per-user limit.
 * @node: link in kdev_clients (kdev_clients_lock).
 * @blocks: page blocks (struct kdev_block) by window page offset.
 * @caches: user caches by id.
 * @next_cache_id: id of the next user cache (ids are never reused).
 * @nr_caches: user caches alive.
 * @id: client number, for debugfs.
 * @pid: thread-group id of the opener.
 * @comm: command name of the opener.
 * @quota: most bytes this client may own.
 * @bytes: bytes owned (slabs and blocks).
 * @slab_bytes: of which in slabs of user caches.
 * @block_bytes: of which in page blocks.
 * @objects: objects allocated from user caches.
 * @alloc_calls: allocation commands served.
 * @free_calls: free commands served.
 * @objects_allocated: objects ever allocated.
 * @objects_freed: objects ever freed.
 * @bad_frees: frees rejected.
 * @quota_failures: allocations refused by a quota.
 */
struct kdev_client {
	struct mutex lock;		/* see @lock above */
	struct mutex window_lock;	/* see @window_lock above */
	struct xarray window_pages;
	unsigned long *window_map;
	unsigned long window_nr;
	struct inode *inode;
	struct mm_struct *mm;
	struct kdev_uid *user;
	struct list_head node;
	struct xarray blocks;
	struct xarray caches;
	u32 next_cache_id;
	u32 nr_caches;
	unsigned long id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	unsigned long quota;
	unsigned long bytes;
	unsigned long slab_bytes;
	unsigned long block_bytes;
	unsigned long objects;
	u64 alloc_calls;
	u64 free_calls;
	u64 objects_allocated;
	u64 objects_freed;
	u64 bad_frees;
	u64 quota_failures;
};

/* All clients, for debugfs; kdev_clients_lock guards the list. */
extern struct list_head kdev_clients;
extern struct mutex kdev_clients_lock;

/* Limits from the module parameters, in bytes (client.c). */
unsigned long kdev_client_quota(void);
unsigned long kdev_uid_quota(void);

struct kdev_client *kdev_client_create(struct file *file);
void kdev_client_destroy(struct kdev_client *client);
int kdev_client_charge(struct kdev_client *client, unsigned long bytes);
void kdev_client_uncharge(struct kdev_client *client, unsigned long bytes);

/**
 * struct kdev_reply - where a command's answer goes, written under
 * client->lock by a command that hands something out.
 * @uarg: the caller's struct.
 * @buf: the kernel's copy of it, which the command fills in.
 * @len: bytes of @buf that go back.
 * @lost: set when a write could not be made without a page fault; the
 *	command has then undone everything, and device.c faults the memory
 *	in and tries again.
 */
struct kdev_reply {
	void __user *uarg;
	const void *buf;
	size_t len;
	bool lost;
};

int kdev_reply_write(struct kdev_reply *reply, void __user *to,
		     const void *from, size_t len);

int kdev_client_block_alloc(struct kdev_client *client, unsigned int order,
			    u64 *offset, struct kdev_reply *reply);
int kdev_client_block_free(struct kdev_client *client, u64 offset,
			   unsigned int *order);

int kdev_window_init(struct kdev_client *client);
void kdev_window_exit(struct kdev_client *client);
int kdev_window_map(struct kdev_client *client, struct page *head,
		    unsigned int order, unsigned long *pgoff);
void kdev_window_unmap(struct kdev_client *client, unsigned long pgoff,
		       unsigned int order);
struct page *kdev_window_lookup(struct kdev_client *client,
				unsigned long pgoff);
int kdev_window_mmap(struct kdev_client *client, struct vm_area_struct *vma);

int kdev_fs_init(void);
void kdev_fs_exit(void);
struct inode *kdev_fs_inode(void);

int kdev_client_stats(struct kdev_client *client, struct karena_stats *st);

/* User caches (user_cache.c). */
#define KDEV_UCACHE_MAX_OBJECT	(4 * PAGE_SIZE)
#define KDEV_MAX_UCACHES	64
int kdev_ucache_create(struct kdev_client *client,
		       struct karena_cache_create *cc,
		       struct kdev_reply *reply);
int kdev_ucache_destroy(struct kdev_client *client,
			struct karena_cache_destroy *cd);
void kdev_ucaches_destroy(struct kdev_client *client);
int kdev_ucache_alloc_bulk(struct kdev_client *client,
			   struct karena_bulk *b, struct kdev_reply *reply);
int kdev_ucache_free_bulk(struct kdev_client *client,
			  struct karena_bulk *b);

void kdev_client_debugfs_init(void);

#endif /* KARENA_CLIENT_H */
