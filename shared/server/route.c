/*
 * route.c: request-target classification; see route.h.
 */
#include <string.h>

#include "route.h"

static int
route_unreserved(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~');
}

/* Split path into at most 6 segments; returns the count or -1 if more. */
static int
route_split(const char *p, size_t n, const char **seg, size_t *segn)
{
	int ns = 0;
	size_t i = 1, s;

	if (n == 0 || p[0] != '/')
		return (-1);
	for (;;) {
		s = i;
		while (i < n && p[i] != '/')
			i++;
		if (ns == 6)
			return (-1);
		seg[ns] = p + s;
		segn[ns] = i - s;
		ns++;
		if (i >= n)
			break;
		i++;
	}
	return (ns);
}

static int
route_seg_is(const char *seg, size_t n, const char *s)
{
	return (strlen(s) == n && memcmp(seg, s, n) == 0);
}

int
route_account_ok(const char *s, size_t n)
{
	if (n == 0 || n > ROUTE_ACCOUNT_MAX || s[0] == '.')
		return (0);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(route_unreserved(c) && c != '~') && c != '@')
			return (0);
	}
	return (1);
}

int
route_parse(const char *target, size_t n, size_t max_id, struct route *out)
{
	const char *seg[6], *id, *role, *q, *acct = NULL;
	size_t segn[6], idlen, rolelen, acctlen = 0;
	int ns;

	memset(out, 0, sizeof (*out));
	out->r_kind = ROUTE_E_NOT_FOUND;
	if (max_id > ROUTE_ID_MAX)
		max_id = ROUTE_ID_MAX;

	/* Absolute form: skip "scheme://authority". */
	if (n > 0 && target[0] != '/') {
		const char *ss = memchr(target, ':', n);
		const char *slash;

		if (ss == NULL || (size_t)(target + n - ss) < 3 ||
		    ss[1] != '/' || ss[2] != '/')
			return (out->r_kind);
		slash = memchr(ss + 3, '/', (size_t)(target + n - (ss + 3)));
		if (slash == NULL)
			return (out->r_kind);
		n -= (size_t)(slash - target);
		target = slash;
	}
	if ((q = memchr(target, '?', n)) != NULL)
		n = (size_t)(q - target);
	if ((ns = route_split(target, n, seg, segn)) < 0)
		return (out->r_kind);

	if (ns == 1 && route_seg_is(seg[0], segn[0], "status")) {
		out->r_kind = ROUTE_STATUS;
		return (out->r_kind);
	}
	if (ns == 1 && route_seg_is(seg[0], segn[0], "metrics")) {
		out->r_kind = ROUTE_METRICS;
		return (out->r_kind);
	}
	if (ns == 3 && route_seg_is(seg[0], segn[0], "attach")) {
		id = seg[1]; idlen = segn[1];
		role = seg[2]; rolelen = segn[2];
	} else if (ns == 5 && segn[0] > 0 &&
	    route_seg_is(seg[1], segn[1], "medusa") &&
	    route_seg_is(seg[2], segn[2], "attach")) {
		id = seg[3]; idlen = segn[3];
		role = seg[4]; rolelen = segn[4];
		acct = seg[0]; acctlen = segn[0];
	} else {
		return (out->r_kind);
	}
	if (route_seg_is(role, rolelen, "master"))
		out->r_role = ROLE_MASTER;
	else if (route_seg_is(role, rolelen, "slave"))
		out->r_role = ROLE_SLAVE;
	else
		return (out->r_kind);

	if (acct != NULL) {
		out->r_kind = ROUTE_E_BAD_ACCOUNT;
		if (!route_account_ok(acct, acctlen))
			return (out->r_kind);
		memcpy(out->r_acct, acct, acctlen);
		out->r_acct[acctlen] = '\0';
		out->r_acctlen = acctlen;
	}
	out->r_kind = ROUTE_E_BAD_ID;
	if (idlen == 0 || idlen > max_id)
		return (out->r_kind);
	if (route_seg_is(id, idlen, ".") || route_seg_is(id, idlen, ".."))
		return (out->r_kind);
	for (size_t i = 0; i < idlen; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!route_unreserved(c))
			return (out->r_kind);
		out->r_id[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out->r_id[idlen] = '\0';
	out->r_idlen = idlen;
	out->r_kind = ROUTE_ATTACH;
	return (out->r_kind);
}

const char *
route_role_name(int role)
{
	switch (role) {
	case ROLE_MASTER:
		return ("master");
	case ROLE_SLAVE:
		return ("slave");
	default:
		return ("none");
	}
}
