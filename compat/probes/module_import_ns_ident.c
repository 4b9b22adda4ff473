// SPDX-License-Identifier: GPL-2.0
/*
 * MODULE_IMPORT_NS() takes the namespace as a bare identifier; it takes a
 * string literal since Linux 6.13, commit cdd30ebb1b9f ("module: Convert
 * symbol namespace to string literal").  A bare identifier does not
 * compile there.
 */
#include <linux/module.h>

MODULE_IMPORT_NS(KARENA_PROBE_NS);
