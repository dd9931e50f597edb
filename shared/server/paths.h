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
 *	MEDUSA_ADMIN_SOCKET	RUNSTATEDIR/medusa/medusa.sock
 *				(/run/medusa/medusa.sock: the unit's
 *				RuntimeDirectory, owned by medusa, 0755)
 *
 * The in-tree build (bin/) has the relative defaults below, taken from the
 * directory of the running program, so that a checkout runs as it is:
 * bin/../etc/medusa.json and bin/medusa-worker.  The macros are expanded
 * in the caller's file, so only the callers are compiled twice.
 *
 * The admin socket (the "admin_socket" key's default) in-tree is never in
 * a shared, world-writable directory such as /tmp, where another user
 * could claim the name first or two checkouts collide:
 *
 *	$XDG_RUNTIME_DIR/medusa.sock	when XDG_RUNTIME_DIR is set and
 *					absolute (the login's own 0700
 *					directory), else
 *	bin/../run/medusa.sock		the checkout's run directory, which
 *					medusa makes with mode 0700
 *
 * medusa and medusactl both take their default from paths_config_defaults
 * (one rule), so with no "admin_socket" and no -S they find each other.
 */
#ifndef MEDUSA_PATHS_H
#define MEDUSA_PATHS_H

#include <stddef.h>

#ifndef MEDUSA_CONFIG_PATH
#define	MEDUSA_CONFIG_PATH	"../etc/medusa.json"
#endif
#ifndef MEDUSA_ADMIN_SOCKET
#define	MEDUSA_ADMIN_SOCKET	""	/* the in-tree rule above */
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

/*
 * The default admin socket: fixed if it is not empty (an installed
 * build), else xdg/medusa.sock if xdg (XDG_RUNTIME_DIR's value, or NULL)
 * is absolute, else ../run/medusa.sock beside this program.  0, or -1 if
 * out (cap bytes) is too small, with out empty.
 */
int paths_admin_socket(const char *fixed, const char *xdg, char *out,
    size_t cap);

/*
 * config_defaults (config.h) with this build's admin socket: what medusa
 * and medusactl use before reading a configuration.
 */
#define	paths_config_defaults(c)	do {				\
	config_defaults(c);						\
	(void) paths_admin_socket(MEDUSA_ADMIN_SOCKET,			\
	    getenv("XDG_RUNTIME_DIR"), (c)->mc_admin_socket,		\
	    sizeof ((c)->mc_admin_socket));				\
} while (0)

#endif
