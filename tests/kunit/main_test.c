// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite karena_module: load-time behaviour of karena.ko.
 */
#include <kunit/test.h>
#include <linux/mm.h>

#include "internal.h"

struct param_case {
	const char *what;
	unsigned int arena_mb, max_order, min_order, dev_mode;
	int expect;
};

static const struct param_case param_cases[] = {
	{ "defaults", 64, 10, 3, 0600, 0 },
	{ "one chunk", 4, 10, 3, 0600, 0 },
	{ "small chunks", 1, 0, 0, 0666, 0 },
	{ "no smaller chunks", 64, 10, 10, 0600, 0 },
	{ "zero arena", 0, 10, 3, 0600, -EINVAL },
	{ "partial chunk", 6, 10, 3, 0600, -EINVAL },
	{ "order above the largest", 64, KARENA_MAX_PAGE_ORDER + 1, 3, 0600, -EINVAL },
	{ "huge order", 64, ~0U, 3, 0600, -EINVAL },
	{ "min_order above max_order", 64, 10, 11, 0600, -EINVAL },
	{ "huge min_order", 64, 10, ~0U, 0600, -EINVAL },
	{ "arena beyond RAM", ~0U >> 1, 10, 3, 0600, -EINVAL },
	{ "exec bit in mode", 64, 10, 3, 0700, -EINVAL },
	{ "setuid bit in mode", 64, 10, 3, 04600, -EINVAL },
};

static void param_case_desc(const struct param_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", c->what);
}

KUNIT_ARRAY_PARAM(param, param_cases, param_case_desc);

static void params_validated_at_load(struct kunit *test)
{
	const struct param_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, c->expect,
			ka_check_params(c->arena_mb, c->max_order, c->min_order,
					c->dev_mode));
}

static struct kunit_case kt_module_cases[] = {
	KUNIT_CASE_PARAM(params_validated_at_load, param_gen_params),
	{}
};

static struct kunit_suite kt_module_suite = {
	.name = "karena_module",
	.test_cases = kt_module_cases,
};

kunit_test_suites(&kt_module_suite);

MODULE_DESCRIPTION("KUnit tests for karena");
MODULE_LICENSE("GPL");
KARENA_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
