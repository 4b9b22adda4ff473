// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/karena window: what mmap() accepts, what the VMA allows
 * afterwards (mprotect, mremap, madvise, munmap, mlock, fork), which
 * pages fault (SIGBUS for a page the client does not own, including one
 * it has just freed), and that nothing can pin window memory
 * (get_user_pages users: O_DIRECT, vmsplice, process_vm_readv,
 * /proc/pid/mem, io_uring fixed buffers).
 *
 * The window is VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP |
 * VM_DONTCOPY without VM_MAYEXEC; the expected errnos below are what
 * Linux 6.1 returns for such a VMA (mm/mmap.c, mm/mremap.c, mm/madvise.c,
 * mm/mprotect.c, mm/gup.c), each noted where it comes from the core.
 */
#include <linux/io_uring.h>
#include <linux/loop.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "karena_test_util.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* === Helpers === */

FIXTURE(win) {
	struct kt_client c;
};

FIXTURE_SETUP(win)
{
	KT_SETUP_CLIENT(&self->c, true);
}

FIXTURE_TEARDOWN(win)
{
	kt_close(&self->c);
}

/* Allocate a block of 2^@order pages and fill page i with 'A' + i. */
static __u64 block(struct __test_metadata *_metadata, struct kt_client *c,
		   unsigned int order)
{
	__u64 off = 0;
	unsigned int i;

	EXPECT_EQ(0, kt_pages_alloc(c->fd, order, &off));
	for (i = 0; i < 1U << order; i++)
		memset(c->win + off + i * c->page, 'A' + i, c->page);
	return off;
}

/* Page @i of a block made by block() still holds its pattern. */
static bool page_intact(const char *p, size_t page, unsigned int i)
{
	size_t k;

	for (k = 0; k < page; k++)
		if (p[k] != (char)('A' + i))
			return false;
	return true;
}

/* No core files from the signals these tests provoke on purpose. */
static void no_core(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
}

static int touch_in_child(void *p)
{
	no_core();
	return __atomic_load_n((char *)p, __ATOMIC_RELAXED) ? 1 : 2;
}

/* The VmFlags line of the mapping that starts at @addr, from smaps. */
static int vmflags_of(void *addr, char *flags, size_t len)
{
	char line[512], start[32];
	bool in = false;
	FILE *f;

	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, start, strlen(start))) {
			in = true;
		} else if (in && !strncmp(line, "VmFlags:", 8)) {
			line[strcspn(line, "\n")] = '\0';
			if (strlen(line) + 2 > len)
				break;
			/* " rd wr ... dd ": every flag between spaces. */
			strcpy(flags, line + 8);
			strcat(flags, " ");
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static bool has_flag(const char *flags, const char *flag)
{
	char want[8];

	snprintf(want, sizeof(want), " %s ", flag);
	return strstr(flags, want);
}

/* === mmap() itself === */

TEST_F(win, map_private_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(win, map_private_read_only_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ, MAP_PRIVATE, self->c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/*
 * On a noexec mount of /dev, do_mmap() refuses PROT_EXEC with EPERM
 * before the driver sees it; else the driver must refuse it (EINVAL).
 */
TEST_F(win, map_prot_exec_is_refused)
{
	struct statvfs sv;
	int expect;
	void *p;

	ASSERT_EQ(0, statvfs(KT_DEV, &sv));
	expect = sv.f_flag & ST_NOEXEC ? EPERM : EINVAL;
	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ | PROT_EXEC, MAP_SHARED,
		 self->c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(expect, errno);
}

TEST_F(win, map_length_zero_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_SHARED, self->c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(win, map_at_window_end_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->c.fd, self->c.info.window_bytes);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(win, map_straddling_window_end_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, 2 * self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->c.fd, self->c.info.window_bytes - self->c.page);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(win, map_longer_than_window_is_einval)
{
	void *p;

	errno = 0;
	p = mmap(NULL, self->c.info.window_bytes + self->c.page,
		 PROT_READ | PROT_WRITE, MAP_SHARED, self->c.fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

/* The last page of the window maps (and, unowned, faults SIGBUS). */
TEST_F(win, map_last_window_page_works)
{
	void *fault;
	char *p;

	p = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->c.fd, self->c.info.window_bytes - self->c.page);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(SIGBUS, kt_probe(p, false, &fault));
	EXPECT_EQ(p, fault);
	munmap(p, self->c.page);
}

/*
 * pgoff near the top of the offset space: file_mmap_ok() gives EOVERFLOW
 * at or above 2^63 (char devices have no FMODE_UNSIGNED_OFFSET), the
 * driver EINVAL below it; either way nothing is mapped.
 */
TEST_F(win, map_huge_offsets_are_refused)
{
	static const unsigned long long offs[] = {
		0xfffffffffffff000ULL, 1ULL << 63, 1ULL << 62, 1ULL << 44,
	};
	unsigned int k;
	void *p;

	for (k = 0; k < ARRAY_SIZE(offs); k++) {
		errno = 0;
		p = mmap(NULL, 2 * self->c.page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->c.fd, (off_t)offs[k]);
		EXPECT_EQ(MAP_FAILED, p) TH_LOG("offset %#llx", offs[k]);
		EXPECT_TRUE(errno == EOVERFLOW || errno == EINVAL)
			TH_LOG("offset %#llx: %s", offs[k], strerror(errno));
		if (p != MAP_FAILED)
			munmap(p, 2 * self->c.page);
	}
}

/* An offset that a 32-bit truncation would turn into 0. */
TEST_F(win, map_offset_4gib_is_einval)
{
	void *p;

	if (self->c.info.window_bytes > 1ULL << 32)
		SKIP(return, "window is larger than 4 GiB");
	errno = 0;
	p = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->c.fd, (off_t)1 << 32);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, self->c.page);
}

/* === The VMA after mmap() === */

/* VM_MAYEXEC is cleared: do_mprotect_pkey() refuses with EACCES. */
TEST_F(win, mprotect_exec_is_eacces)
{
	block(_metadata, &self->c, 0);
	errno = 0;
	EXPECT_EQ(-1, mprotect(self->c.win, self->c.page,
			       PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, mprotect(self->c.win, self->c.page, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
}

TEST_F(win, mprotect_none_then_back_keeps_data)
{
	__u64 off = block(_metadata, &self->c, 0);
	char *p = self->c.win + off;

	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_NONE));
	EXPECT_EQ(SIGSEGV, kt_probe(p, false, NULL));
	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_READ));
	EXPECT_EQ(0, kt_probe(p, false, NULL));
	EXPECT_EQ(SIGSEGV, kt_probe(p, true, NULL));
	ASSERT_EQ(0, mprotect(p, self->c.page, PROT_READ | PROT_WRITE));
	EXPECT_TRUE(page_intact(p, self->c.page, 0));
}

/* VM_DONTEXPAND: vma_to_resize() refuses growth with EFAULT. */
TEST_F(win, mremap_grow_is_efault)
{
	size_t len = self->c.info.window_bytes;
	void *p;

	errno = 0;
	p = mremap(self->c.win, len, len + self->c.page, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(win, mremap_grow_in_place_is_efault)
{
	void *p;

	ASSERT_EQ(0, munmap(self->c.win + self->c.page,
			    self->c.info.window_bytes - self->c.page));
	errno = 0;
	p = mremap(self->c.win, self->c.page, 2 * self->c.page, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EFAULT, errno);
}

/* vma_to_resize() refuses MREMAP_DONTUNMAP for VM_DONTEXPAND|VM_PFNMAP. */
TEST_F(win, mremap_dontunmap_is_einval)
{
	__u64 off = block(_metadata, &self->c, 0);
	void *p;

	errno = 0;
	p = mremap(self->c.win + off, self->c.page, self->c.page,
		   MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
}

TEST_F(win, mremap_shrink_keeps_data)
{
	__u64 off = block(_metadata, &self->c, 1);
	size_t len = off + 2 * self->c.page;
	void *p;

	p = mremap(self->c.win, self->c.info.window_bytes, len, 0);
	ASSERT_EQ(self->c.win, p) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	EXPECT_TRUE(page_intact(self->c.win + off + self->c.page,
				self->c.page, 1));
}

/*
 * A moved piece keeps the data, and is still the client's window: a free
 * takes the page away from the new address too.
 */
TEST_F(win, mremap_move_keeps_data_and_ownership)
{
	__u64 off = block(_metadata, &self->c, 0);
	char *dst, *p;
	void *fault;

	dst = mmap(NULL, self->c.page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	p = mremap(self->c.win + off, self->c.page, self->c.page,
		   MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, p) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(page_intact(p, self->c.page, 0));
	EXPECT_EQ(SIGSEGV, kt_probe(self->c.win + off, false, NULL));
	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	EXPECT_EQ(SIGBUS, kt_probe(p, false, &fault));
	EXPECT_EQ(p, fault);
	munmap(p, self->c.page);
}

/* === madvise(): the VMA's special flags cannot be undone === */

FIXTURE(madv) {
	struct kt_client c;
	__u64 off;
};

/*
 * struct _fixture_variant_madv - one madvise() advice on the window.
 * @advice: the advice.
 * @error: the errno Linux 6.1 gives for it on a VM_IO|VM_PFNMAP|VM_SHARED
 *	mapping of a char device.
 */
FIXTURE_VARIANT(madv) {
	int advice;
	int error;
};

FIXTURE_SETUP(madv)
{
	KT_SETUP_CLIENT(&self->c, true);
	self->off = block(_metadata, &self->c, 0);
}

FIXTURE_TEARDOWN(madv)
{
	kt_close(&self->c);
}

/* madvise_dontneed_free_valid_vma(): VM_PFNMAP. */
FIXTURE_VARIANT_ADD(madv, dontneed) { .advice = MADV_DONTNEED,
				      .error = EINVAL };
FIXTURE_VARIANT_ADD(madv, dontneed_locked) { .advice = MADV_DONTNEED_LOCKED,
					     .error = EINVAL };
FIXTURE_VARIANT_ADD(madv, free) { .advice = MADV_FREE, .error = EINVAL };
/* madvise_behavior(): MADV_DOFORK needs !VM_IO. */
FIXTURE_VARIANT_ADD(madv, dofork) { .advice = MADV_DOFORK, .error = EINVAL };
/* MADV_WIPEONFORK only for private anonymous memory. */
FIXTURE_VARIANT_ADD(madv, wipeonfork) { .advice = MADV_WIPEONFORK,
					.error = EINVAL };
/* MADV_DODUMP refused on VM_SPECIAL: core dumps stay without the window. */
FIXTURE_VARIANT_ADD(madv, dodump) { .advice = MADV_DODUMP, .error = EINVAL };
/* can_madv_lru_vma(): VM_PFNMAP. */
FIXTURE_VARIANT_ADD(madv, cold) { .advice = MADV_COLD, .error = EINVAL };
FIXTURE_VARIANT_ADD(madv, pageout) { .advice = MADV_PAGEOUT,
				     .error = EINVAL };
/* madvise_populate(): check_vma_flags() refuses VM_IO|VM_PFNMAP. */
FIXTURE_VARIANT_ADD(madv, populate_read) { .advice = MADV_POPULATE_READ,
					   .error = EINVAL };
FIXTURE_VARIANT_ADD(madv, populate_write) { .advice = MADV_POPULATE_WRITE,
					    .error = EINVAL };

TEST_F(madv, is_refused_and_changes_nothing)
{
	char *p = self->c.win + self->off;
	char before[256], after[256];

	ASSERT_EQ(0, vmflags_of(self->c.win, before, sizeof(before)));
	errno = 0;
	EXPECT_EQ(-1, madvise(p, self->c.page, variant->advice));
	EXPECT_EQ(variant->error, errno);
	EXPECT_TRUE(page_intact(p, self->c.page, 0));
	ASSERT_EQ(0, vmflags_of(self->c.win, after, sizeof(after)));
	EXPECT_STREQ(before, after);
}

/* MADV_DONTFORK only sets what VM_DONTCOPY already says. */
TEST_F(win, madvise_dontfork_is_harmless)
{
	__u64 off = block(_metadata, &self->c, 0);

	EXPECT_EQ(0, madvise(self->c.win + off, self->c.page, MADV_DONTFORK));
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	EXPECT_EQ(SIGSEGV, kt_in_child(touch_in_child, self->c.win + off));
}

/* === munmap(), several mappings, close === */

/*
 * Unmap the middle page of a four-page block: both remaining pieces keep
 * working; after the free both pieces fault.
 */
TEST_F(win, partial_munmap_keeps_both_pieces)
{
	__u64 off = block(_metadata, &self->c, 2);
	char *p = self->c.win + off;

	ASSERT_EQ(0, munmap(p + self->c.page, self->c.page));
	EXPECT_TRUE(page_intact(p, self->c.page, 0));
	EXPECT_EQ(SIGSEGV, kt_probe(p + self->c.page, false, NULL));
	EXPECT_TRUE(page_intact(p + 2 * self->c.page, self->c.page, 2));
	EXPECT_TRUE(page_intact(p + 3 * self->c.page, self->c.page, 3));
	memset(p, 'z', self->c.page);
	memset(p + 3 * self->c.page, 'y', self->c.page);
	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	EXPECT_EQ(SIGBUS, kt_probe(p, false, NULL));
	EXPECT_EQ(SIGBUS, kt_probe(p + 2 * self->c.page, false, NULL));
	EXPECT_EQ(SIGBUS, kt_probe(p + 3 * self->c.page, false, NULL));
}

TEST_F(win, two_mappings_see_the_same_bytes)
{
	__u64 off = block(_metadata, &self->c, 0);
	char *second;

	second = mmap(NULL, self->c.info.window_bytes, PROT_READ | PROT_WRITE,
		      MAP_SHARED, self->c.fd, 0);
	ASSERT_NE(MAP_FAILED, second) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(page_intact(second + off, self->c.page, 0));
	second[off + 17] = 'q';
	EXPECT_EQ('q', self->c.win[off + 17]);
	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	EXPECT_EQ(SIGBUS, kt_probe(second + off, false, NULL));
	EXPECT_EQ(SIGBUS, kt_probe(self->c.win + off, false, NULL));
	munmap(second, self->c.info.window_bytes);
}

/* A mapping of just the block, at its window offset. */
TEST_F(win, mapping_at_block_offset_sees_the_block)
{
	__u64 off = block(_metadata, &self->c, 1);
	char *p;

	p = mmap(NULL, 2 * self->c.page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->c.fd, off);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(page_intact(p, self->c.page, 0));
	EXPECT_TRUE(page_intact(p + self->c.page, self->c.page, 1));
	munmap(p, 2 * self->c.page);
}

/* After close() the mapping still reaches the client's memory. */
TEST_F(win, close_with_mapping_alive_keeps_it_working)
{
	__u64 off = block(_metadata, &self->c, 2);
	char *p = self->c.win + off;

	ASSERT_EQ(0, close(self->c.fd));
	self->c.fd = -1;
	EXPECT_TRUE(page_intact(p + 3 * self->c.page, self->c.page, 3));
	memset(p, 'w', self->c.page);
	EXPECT_EQ('w', p[self->c.page - 1]);
	EXPECT_EQ(0, munmap(self->c.win, self->c.info.window_bytes));
	self->c.win = NULL;
}

/*
 * The mapping holds the client: its pages stay owned after close() and
 * go back to the arena at munmap().
 */
TEST_F(win, close_then_munmap_gives_the_pages_back)
{
	long before = kt_user_pages();

	if (before < 0)
		SKIP(return, "needs " KT_DEBUGFS "/arena (root, debugfs)");
	block(_metadata, &self->c, 2);
	ASSERT_EQ(0, close(self->c.fd));
	self->c.fd = -1;
	EXPECT_EQ(before + 4, kt_user_pages());
	ASSERT_EQ(0, munmap(self->c.win, self->c.info.window_bytes));
	self->c.win = NULL;
	EXPECT_EQ(before, kt_user_pages_settled(before));
}

/* mlock_fixup() skips VM_SPECIAL VMAs: mlock succeeds, locks nothing. */
TEST_F(win, mlock_succeeds_without_locking)
{
	__u64 off = block(_metadata, &self->c, 0);
	char flags[256];

	EXPECT_EQ(0, mlock(self->c.win + off, self->c.page))
		TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	ASSERT_EQ(0, vmflags_of(self->c.win, flags, sizeof(flags)));
	EXPECT_FALSE(has_flag(flags, "lo")) TH_LOG("VmFlags:%s", flags);
	EXPECT_EQ(0, munlock(self->c.win + off, self->c.page));
}

/*
 * MAP_POPULATE and MAP_LOCKED: __mm_populate() skips VM_IO|VM_PFNMAP and
 * mmap_region() drops VM_LOCKED on VM_SPECIAL; both map fine.
 */
TEST_F(win, map_populate_and_locked_work)
{
	__u64 off = block(_metadata, &self->c, 0);
	char flags[256];
	char *p;

	p = mmap(NULL, self->c.info.window_bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, self->c.fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_POPULATE: %s", strerror(errno));
	EXPECT_TRUE(page_intact(p + off, self->c.page, 0));
	EXPECT_EQ(SIGBUS, kt_probe(p + off + self->c.page, false, NULL));
	munmap(p, self->c.info.window_bytes);
	p = mmap(NULL, self->c.info.window_bytes, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_LOCKED, self->c.fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_LOCKED: %s", strerror(errno));
	EXPECT_TRUE(page_intact(p + off, self->c.page, 0));
	ASSERT_EQ(0, vmflags_of(p, flags, sizeof(flags)));
	EXPECT_FALSE(has_flag(flags, "lo")) TH_LOG("VmFlags:%s", flags);
	munmap(p, self->c.info.window_bytes);
}

/* B17: the flags that carry the security model, and none that break it. */
TEST_F(win, smaps_vmflags_match_the_design)
{
	static const char * const want[] = {
		"rd", "wr", "sh", "mr", "mw", "ms", "io", "pf", "dc", "de",
		"dd",
	};
	static const char * const never[] = { "ex", "me", "lo", "mg", "hg" };
	char flags[256];
	unsigned int k;

	ASSERT_EQ(0, vmflags_of(self->c.win, flags, sizeof(flags)));
	for (k = 0; k < ARRAY_SIZE(want); k++) {
		EXPECT_TRUE(has_flag(flags, want[k]))
			TH_LOG("no %s in VmFlags:%s", want[k], flags);
	}
	for (k = 0; k < ARRAY_SIZE(never); k++) {
		EXPECT_FALSE(has_flag(flags, never[k]))
			TH_LOG("%s in VmFlags:%s", never[k], flags);
	}
}

/* === fork === */

/* VM_DONTCOPY: nothing at the parent's address in the child. */
TEST_F(win, fork_child_has_no_window)
{
	__u64 off = block(_metadata, &self->c, 0);

	EXPECT_EQ(SIGSEGV, kt_in_child(touch_in_child, self->c.win + off));
	EXPECT_EQ(SIGSEGV, kt_in_child(touch_in_child, self->c.win));
	/* The parent is unaffected. */
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	self->c.win[off] = 'x';
	EXPECT_EQ(0, kt_pages_free(self->c.fd, off));
}

static int map_in_child(void *arg)
{
	struct kt_client *c = arg;
	void *p;

	errno = 0;
	p = mmap(NULL, c->page, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (p != MAP_FAILED)
		return 1;
	return errno == EPERM ? 0 : 2;
}

TEST_F(win, fork_child_cannot_map_the_inherited_fd)
{
	block(_metadata, &self->c, 0);
	EXPECT_EQ(1000, kt_in_child(map_in_child, &self->c));
}

/* === Nothing can pin window pages (get_user_pages refuses VM_IO) === */

/*
 * O_DIRECT needs a filesystem or block device that does direct I/O: tmpfs
 * refuses O_DIRECT and 9p does not pin, so read a loop device backed by a
 * memfd, raw (no filesystem needed).  Returns the loop fd opened
 * O_DIRECT, or a negative errno.
 */
static int loop_direct_open(int *ctl_fd, int *loop_fd, char *path, size_t len)
{
	int memfd, ctl, n, lfd, dfd;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0 && system("modprobe loop >/dev/null 2>&1") == 0)
		ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	memfd = memfd_create("karena-loop", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 1 << 20))
		return -errno;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (n < 0)
		return -errno;
	snprintf(path, len, "/dev/loop%d", n);
	lfd = open(path, O_RDWR | O_CLOEXEC);
	if (lfd < 0)
		return -errno;
	if (ioctl(lfd, LOOP_SET_FD, memfd))
		return -errno;
	close(memfd);
	dfd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0) {
		ioctl(lfd, LOOP_CLR_FD, 0);
		return -errno;
	}
	*ctl_fd = ctl;
	*loop_fd = lfd;
	return dfd;
}

TEST_F(win, o_direct_read_into_window_is_efault)
{
	int ctl = -1, lfd = -1, dfd;
	char path[32], *anon;
	__u64 off;

	if (geteuid() != 0)
		SKIP(return, "needs root for a loop device");
	dfd = loop_direct_open(&ctl, &lfd, path, sizeof(path));
	if (dfd < 0)
		SKIP(return, "no loop device with O_DIRECT: %s",
		     strerror(-dfd));
	off = block(_metadata, &self->c, 0);
	anon = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	/* O_DIRECT works into ordinary memory... */
	EXPECT_EQ((ssize_t)self->c.page, pread(dfd, anon, self->c.page, 0))
		TH_LOG("%s", strerror(errno));
	/* ...but cannot pin the window. */
	errno = 0;
	EXPECT_EQ(-1, pread(dfd, self->c.win + off, self->c.page, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	close(dfd);
	ioctl(lfd, LOOP_CLR_FD, 0);
	close(lfd);
	close(ctl);
}

TEST_F(win, vmsplice_of_window_is_efault)
{
	__u64 off = block(_metadata, &self->c, 0);
	struct iovec iov = { .iov_len = self->c.page };
	char anon[64] = "ordinary";
	int p[2];

	ASSERT_EQ(0, pipe(p));
	iov.iov_base = anon;
	iov.iov_len = sizeof(anon);
	EXPECT_EQ((ssize_t)sizeof(anon), vmsplice(p[1], &iov, 1, 0));
	iov.iov_base = self->c.win + off;
	iov.iov_len = self->c.page;
	errno = 0;
	EXPECT_EQ(-1, vmsplice(p[1], &iov, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	close(p[0]);
	close(p[1]);
}

TEST_F(win, process_vm_readv_of_window_is_efault)
{
	__u64 off = block(_metadata, &self->c, 0);
	char *buf = malloc(self->c.page);
	struct iovec local = { .iov_base = buf, .iov_len = self->c.page };
	struct iovec remote = { .iov_base = self->c.win + off,
				.iov_len = self->c.page };

	ASSERT_NE(NULL, buf);
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	free(buf);
}

TEST_F(win, process_vm_writev_into_window_is_efault)
{
	__u64 off = block(_metadata, &self->c, 0);
	char buf[64] = "scribble";
	struct iovec local = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct iovec remote = { .iov_base = self->c.win + off,
				.iov_len = sizeof(buf) };

	errno = 0;
	EXPECT_EQ(-1, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
}

/* __access_remote_vm() cannot get the page and there is no ->access. */
TEST_F(win, proc_self_mem_read_is_eio)
{
	__u64 off = block(_metadata, &self->c, 0);
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	char buf[64];

	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, sizeof(buf),
			    (off_t)(unsigned long)(self->c.win + off)));
	EXPECT_EQ(EIO, errno);
	close(fd);
}

TEST_F(win, proc_self_mem_write_is_eio)
{
	__u64 off = block(_metadata, &self->c, 0);
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	char buf[64] = "scribble";

	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf),
			     (off_t)(unsigned long)(self->c.win + off)));
	EXPECT_EQ(EIO, errno);
	EXPECT_TRUE(page_intact(self->c.win + off, self->c.page, 0));
	close(fd);
}

/* io_uring fixed buffers are long-term pins: refused on the window. */
TEST_F(win, io_uring_register_window_buffer_is_efault)
{
	__u64 off = block(_metadata, &self->c, 0);
	struct io_uring_params params;
	struct iovec iov;
	char *anon;
	int ring;

	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 4, &params);
	if (ring < 0)
		SKIP(return, "io_uring_setup: %s", strerror(errno));
	anon = mmap(NULL, self->c.page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	iov.iov_base = anon;
	iov.iov_len = self->c.page;
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("ordinary buffer: %s", strerror(errno));
	ASSERT_EQ(0, syscall(__NR_io_uring_register, ring,
			     IORING_UNREGISTER_BUFFERS, NULL, 0));
	iov.iov_base = self->c.win + off;
	errno = 0;
	EXPECT_EQ(-1, syscall(__NR_io_uring_register, ring,
			      IORING_REGISTER_BUFFERS, &iov, 1));
	EXPECT_EQ(EFAULT, errno);
	close(ring);
}

/* === Which pages fault === */

/* A new client owns nothing: every page of its window is SIGBUS. */
TEST_F(win, unowned_pages_are_sigbus)
{
	size_t pages = self->c.info.window_bytes / self->c.page;
	size_t at[] = { 0, 1, pages / 2, pages - 1 };
	unsigned int k;
	void *fault;
	char *p;

	for (k = 0; k < ARRAY_SIZE(at); k++) {
		p = self->c.win + at[k] * self->c.page;
		EXPECT_EQ(SIGBUS, kt_probe(p, false, &fault));
		EXPECT_EQ(p, fault);
		EXPECT_EQ(SIGBUS, kt_probe(p + 100, true, &fault));
		EXPECT_EQ(p + 100, fault);
	}
}

/* Only the block is reachable: the pages right before and after fault. */
TEST_F(win, pages_next_to_a_block_are_sigbus)
{
	__u64 off = block(_metadata, &self->c, 1);
	char *p = self->c.win + off;
	int before, after;

	EXPECT_EQ(0, kt_probe(p, true, NULL));
	EXPECT_EQ(0, kt_probe(p + 2 * self->c.page - 1, true, NULL));
	/* A block at either end of the window has only one neighbour. */
	before = off ? kt_probe(p - 1, false, NULL) : SIGBUS;
	after = off + 3 * self->c.page <= self->c.info.window_bytes ?
		kt_probe(p + 2 * self->c.page, false, NULL) : SIGBUS;
	EXPECT_EQ(SIGBUS, before);
	EXPECT_EQ(SIGBUS, after);
}

TEST_F(win, access_after_pages_free_is_sigbus)
{
	__u64 off = block(_metadata, &self->c, 0);
	__u64 keep = block(_metadata, &self->c, 0);
	void *fault;

	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	EXPECT_EQ(SIGBUS, kt_probe(self->c.win + off, false, &fault));
	EXPECT_EQ(self->c.win + off, fault);
	EXPECT_EQ(SIGBUS, kt_probe(self->c.win + off + 5, true, NULL));
	/* The other block is untouched. */
	EXPECT_TRUE(page_intact(self->c.win + keep, self->c.page, 0));
}

/* The harness's own signal check, for the same rule. */
TEST_F_SIGNAL(win, write_after_pages_free_kills_with_sigbus, SIGBUS)
{
	__u64 off = block(_metadata, &self->c, 0);

	ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	no_core();
	self->c.win[off] = 1;
}

/* Destroying an empty cache gives its slabs back: old objects fault. */
TEST_F(win, access_after_cache_destroy_is_sigbus)
{
	struct karena_cache_create cc;
	__u64 obj[4];
	__u32 done, i;

	ASSERT_EQ(0, kt_cache_create(self->c.fd, "gone", 256, 0, 0, &cc));
	ASSERT_EQ(0, kt_alloc(self->c.fd, cc.cache_id, 4, obj, &done));
	for (i = 0; i < done; i++)
		memset(self->c.win + obj[i], 0x5a, 256);
	ASSERT_EQ(0, kt_free(self->c.fd, cc.cache_id, done, obj, NULL));
	ASSERT_EQ(0, kt_cache_destroy(self->c.fd, cc.cache_id));
	for (i = 0; i < done; i++) {
		EXPECT_EQ(SIGBUS, kt_probe(self->c.win + obj[i], false, NULL))
			TH_LOG("object %u", i);
	}
}

/* A second client's window does not show this client's pages. */
TEST_F(win, other_clients_window_does_not_show_this_block)
{
	__u64 off = block(_metadata, &self->c, 0);
	struct kt_client other;

	ASSERT_EQ(0, kt_open(&other));
	ASSERT_EQ(0, kt_map(&other));
	EXPECT_EQ(SIGBUS, kt_probe(other.win + off, false, NULL));
	kt_close(&other);
}

/* A block freed and allocated again comes back zeroed. */
TEST_F(win, reallocated_block_is_zeroed)
{
	__u64 off;
	int round;

	for (round = 0; round < 64; round++) {
		ASSERT_EQ(0, kt_pages_alloc(self->c.fd, round % 3, &off));
		ASSERT_EQ(-1, kt_first_nonzero(self->c.win + off,
					       self->c.page << (round % 3)))
			TH_LOG("round %d", round);
		memset(self->c.win + off, 0xff, self->c.page << (round % 3));
		ASSERT_EQ(0, kt_pages_free(self->c.fd, off));
	}
}

TEST_HARNESS_MAIN
