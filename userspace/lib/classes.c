// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the malloc size classes.
 *
 *   16 32 48 64, then four classes per power of two up to 16384:
 *   80 96 112 128 | 160 192 224 256 | 320 ... 1024 | ... | 10240 12288
 *   14336 16384
 *
 * 36 classes, every one a multiple of 16 (malloc's alignment), at most
 * 25% of a class above 64 bytes unused.  Beyond the largest class the
 * kernel's max_object_size is reached, and page blocks take over.
 */
#include "internal.h"

/**
 * _ka_class_index() - the smallest class that holds @size bytes.
 * @size: 1 to KA_MAX_CLASS.
 *
 * Return: the class index.
 */
unsigned int _ka_class_index(size_t size)
{
	unsigned int k;
	size_t step;

	if (size <= 64)
		return size ? (size + 15) / 16 - 1 : 0;
	k = 63 - __builtin_clzl(size - 1);	/* size in (2^k, 2^(k+1)] */
	step = 1UL << (k - 2);
	return 4 + (k - 6) * 4 + (size - (1UL << k) + step - 1) / step - 1;
}

/**
 * _ka_class_size() - the bytes of a class.
 * @index: the class.
 *
 * Return: its size.
 */
size_t _ka_class_size(unsigned int index)
{
	unsigned int k, j;

	if (index < 4)
		return 16 * (index + 1);
	k = 6 + (index - 4) / 4;
	j = (index - 4) % 4 + 1;
	return (1UL << k) + j * (1UL << (k - 2));
}

/**
 * _ka_order_for() - the smallest block order that holds @bytes.
 * @bytes: at least 1.
 * @page_shift: log2 of the page size.
 *
 * Return: ceil(log2(pages)).
 */
unsigned int _ka_order_for(size_t bytes, unsigned int page_shift)
{
	size_t pages = (bytes + (1UL << page_shift) - 1) >> page_shift;

	return pages <= 1 ? 0 : 64 - __builtin_clzl(pages - 1);
}

/* === Tables for the fast paths === */

__u8 _ka_class_small[KA_SMALL_MAX / 16 + 1];
__u8 _ka_class_large[KA_MAX_CLASS / 256 + 1];

/*
 * Filled when the library is loaded, from _ka_class_index() itself, so
 * that the tables and the function cannot disagree.
 */
static void __attribute__((constructor(101))) ka_classes_load(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(_ka_class_small); i++)
		_ka_class_small[i] = _ka_class_index(i * 16);
	for (i = KA_SMALL_MAX / 256 + 1; i < ARRAY_SIZE(_ka_class_large); i++)
		_ka_class_large[i] = _ka_class_index(i * 256);
}
