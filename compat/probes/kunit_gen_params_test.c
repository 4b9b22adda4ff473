// SPDX-License-Identifier: GPL-2.0
/*
 * A KUnit parameter generator gets the test as its first argument:
 * "kunit: Pass parameterized test context to generate_params()" (2025;
 * not in 6.12, in 7.x).  The old two-argument generator does not compile
 * there.
 */
#include <kunit/test.h>

static const void *karena_probe_gen(struct kunit *test, const void *prev,
				    char *desc)
{
	return NULL;
}

struct kunit_case karena_probe_case = {
	.generate_params = karena_probe_gen,
};
