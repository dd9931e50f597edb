/*
 * paths.h: where medusa and medusactl look for their files by default.
 *
 * An installed build (`make install`, the Debian package; see
 * packaging/packaging.mk) compiles the programs that use these with
 * absolute paths from the Makefile's PREFIX, SYSCONFDIR and LIBEXECDIR:
 *
 *	MEDUSA_CONFIG_PATH	SYSCONFDIR/medusa/medusa.json
 *				(/etc/medusa/medusa.json in the package)
 *	MEDUSA_WORKER_PATH	LIBEXECDIR/medusa/medusa-worker
 *				(/usr/libexec/medusa/medusa-worker)
 *
 * The in-tree build (bin/) has the relative defaults below, taken from the
 * directory of the running program, so that a checkout runs as it is:
 * bin/../etc/medusa.json and bin/medusa-worker.  The macros are expanded
 * in the caller's file, so only the callers are compiled twice.
 */
#ifndef MEDUSA_PATHS_H
#define MEDUSA_PATHS_H

#include <stddef.h>

#ifndef MEDUSA_CONFIG_PATH
#define	MEDUSA_CONFIG_PATH	"../etc/medusa.json"
#endif
#ifndef MEDUSA_WORKER_PATH
#define	MEDUSA_WORKER_PATH	"medusa-worker"
#endif

/*
 * p as it is if it is absolute, else p in the directory of this program
 * (/proc/self/exe; the current directory if that cannot be read).  0, or
 * -1 if out (cap bytes) is too small, with out empty.
 */
int paths_resolve(const char *p, char *out, size_t cap);

#endif
