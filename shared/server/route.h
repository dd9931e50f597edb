/*
 * route.h: what a request target names.  Pure.
 *
 *	/status					ROUTE_STATUS
 *	/metrics				ROUTE_METRICS
 *	/attach/<id>/master|slave		ROUTE_ATTACH (r_acctlen 0)
 *	/<account>/medusa/attach/<id>/master|slave	ROUTE_ATTACH
 *
 * A query string is ignored (the original agent's pre-signed URL carries
 * one); an absolute-form target (http://host/path) is reduced to its path.
 * The session id is lowercased (the original compares ids ignoring case);
 * it may hold only letters, digits and "-", "_", ".", "~" (RFC 3986's
 * unreserved characters), may not be "." or "..", and is at most max_id
 * bytes long.  Anything else, %-escapes included, is a bad id.  An account
 * name (kept as given: Manta's logins are case-sensitive) is 1 to
 * ROUTE_ACCOUNT_MAX letters, digits, "-", "_", "." or "@", not starting
 * with "."; anything else is a bad account.
 */
#ifndef MEDUSA_ROUTE_H
#define MEDUSA_ROUTE_H

#include <stddef.h>

#define	ROUTE_ID_MAX	1024	/* hard ceiling on the configurable limit */
#define	ROUTE_ACCOUNT_MAX 64

enum route_role {
	ROLE_NONE = 0,
	ROLE_MASTER = 1,
	ROLE_SLAVE = 2
};

enum route_kind {
	ROUTE_STATUS = 1,
	ROUTE_ATTACH = 2,
	ROUTE_METRICS = 3,
	ROUTE_E_NOT_FOUND = -1,	/* 404 */
	ROUTE_E_BAD_ID = -2,	/* 400 */
	ROUTE_E_BAD_ACCOUNT = -3 /* 400 */
};

struct route {
	int	r_kind;
	int	r_role;
	size_t	r_idlen;
	char	r_id[ROUTE_ID_MAX + 1];	/* lowercased, NUL-terminated */
	size_t	r_acctlen;		/* 0: a bare /attach path */
	char	r_acct[ROUTE_ACCOUNT_MAX + 1];	/* NUL-terminated */
};

/* Whether s[0..n) is a valid account name (see above).  Pure. */
int route_account_ok(const char *s, size_t n);

/* Classify target[0..n).  Returns r_kind (also stored in out). */
int route_parse(const char *target, size_t n, size_t max_id,
    struct route *out);

const char *route_role_name(int role);

#endif
