// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libkarena: the environment variables, read once at initialisation.
 * Documentation/library.rst lists them; getenv() does not allocate, so
 * this is safe inside the interposer's first malloc.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Objects per refill or flush unless KARENA_BATCH says otherwise. */
#define KA_DEFAULT_BATCH	64

struct ka_options _ka_opt = {
	.abort_on_misuse = true,
	.batch = KA_DEFAULT_BATCH,
	.spill = true,
};

static bool ka_env_bool(const char *name, bool dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return !(!strcmp(v, "0") || !strcasecmp(v, "no") ||
		 !strcasecmp(v, "false") || !strcasecmp(v, "off"));
}

static void ka_env_str(const char *name, char *buf, size_t len)
{
	const char *v = getenv(name);

	buf[0] = '\0';
	if (v && strlen(v) < len)
		strcpy(buf, v);
}

/* "poison,redzone", "all" or a number: KA_CACHE_* flags. */
static unsigned int ka_env_flags(const char *name)
{
	static const struct {
		const char *word;
		unsigned int flags;
	} words[] = {
		{ "poison", KA_CACHE_POISON },
		{ "redzone", KA_CACHE_RED_ZONE },
		{ "track", KA_CACHE_STORE_USER },
		{ "consistency", KA_CACHE_CONSISTENCY_CHECKS },
		{ "all", KA_CACHE_DEBUG },
	};
	const char *v = getenv(name), *p;
	unsigned int flags = 0, i;
	char *end;
	size_t n;

	if (!v || !*v)
		return 0;
	flags = strtoul(v, &end, 0);
	if (!*end)
		return flags & KA_CACHE_DEBUG;
	flags = 0;
	for (p = v; *p; p += n + (p[n] == ',')) {
		n = strcspn(p, ",");
		for (i = 0; i < ARRAY_SIZE(words); i++)
			if (strlen(words[i].word) == n &&
			    !strncasecmp(p, words[i].word, n))
				flags |= words[i].flags;
	}
	return flags;
}

/**
 * _ka_options_read() - fill _ka_opt from the environment.
 *
 * Context: once, from _ka_init(); again in a fork child that re-opens.
 */
void _ka_options_read(void)
{
	const char *v;
	long batch;

	_ka_opt.abort_on_misuse = ka_env_bool("KARENA_ABORT", true);
	_ka_opt.leakcheck = ka_env_bool("KARENA_LEAKCHECK", false);
	_ka_opt.require = ka_env_bool("KARENA_REQUIRE", false);
	_ka_opt.spill = ka_env_bool("KARENA_SPILL", true);
	_ka_opt.quiet = ka_env_bool("KARENA_QUIET", false);
	_ka_opt.debug_flags = ka_env_flags("KARENA_DEBUG");
	_ka_opt.batch = KA_DEFAULT_BATCH;
	v = getenv("KARENA_BATCH");
	if (v && *v) {
		batch = strtol(v, NULL, 0);
		if (batch >= 0 && batch <= KARENA_MAX_BATCH)
			_ka_opt.batch = batch;
	}
	ka_env_str("KARENA_DEVICE", _ka_opt.device, sizeof(_ka_opt.device));
	if (!_ka_opt.device[0])
		strcpy(_ka_opt.device, KA_DEFAULT_DEVICE);
	ka_env_str("KARENA_TRACE", _ka_opt.trace, sizeof(_ka_opt.trace));
	ka_env_str("KARENA_EXIT_INFO", _ka_opt.exit_info,
		   sizeof(_ka_opt.exit_info));
	ka_env_str("KARENA_DEBUGFS", _ka_opt.debugfs, sizeof(_ka_opt.debugfs));
	if (!_ka_opt.debugfs[0])
		strcpy(_ka_opt.debugfs, KA_DEFAULT_DEBUGFS);
}
