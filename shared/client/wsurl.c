/*
 * wsurl.c: WebSocket URL parsing; see wsurl.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wsurl.h"

static int
wsurl_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return (-1);
}

int
wsurl_parse(const char *url, struct wsurl *u, char *err, size_t errlen)
{
	const char *p, *hs, *he, *ps = NULL, *path;
	size_t n;
	int defport;

	memset(u, 0, sizeof (*u));
	if (strncasecmp(url, "ws://", 5) == 0 ||
	    strncasecmp(url, "http://", 7) == 0) {
		u->u_tls = false;
		defport = 80;
	} else if (strncasecmp(url, "wss://", 6) == 0 ||
	    strncasecmp(url, "https://", 8) == 0) {
		u->u_tls = true;
		defport = 443;
	} else {
		return (wsurl_fail(err, errlen, "the URL must start with "
		    "ws:// or wss://"));
	}
	p = strstr(url, "://") + 3;
	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p)) != NULL)
		return (wsurl_fail(err, errlen, "user information in the URL "
		    "is not supported"));
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(path - hs));
		if (he == NULL)
			return (wsurl_fail(err, errlen, "unterminated [ in the "
			    "URL's host"));
		if (he[1] == ':')
			ps = he + 2;
		else if (he + 1 != path)
			return (wsurl_fail(err, errlen, "junk after ] in the "
			    "URL's host"));
	} else {
		hs = p;
		he = memchr(p, ':', (size_t)(path - p));
		if (he != NULL)
			ps = he + 1;
		else
			he = path;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof (u->u_host))
		return (wsurl_fail(err, errlen, "the URL has no host, or one "
		    "too long"));
	memcpy(u->u_host, hs, n);
	if (strcspn(u->u_host, " \t\r\n/\\") != n)
		return (wsurl_fail(err, errlen, "bad character in the URL's "
		    "host"));
	if (ps != NULL) {
		char *end;
		long v;

		if (ps == path)
			return (wsurl_fail(err, errlen, "empty port in the URL"));
		v = strtol(ps, &end, 10);
		if (end != path || v < 1 || v > 65535)
			return (wsurl_fail(err, errlen, "bad port in the URL"));
		snprintf(u->u_port, sizeof (u->u_port), "%ld", v);
	} else {
		snprintf(u->u_port, sizeof (u->u_port), "%d", defport);
	}
	if (*path == '#')
		path = "";
	if (strlen(path) + 2 > sizeof (u->u_path))
		return (wsurl_fail(err, errlen, "the URL's path is too long"));
	snprintf(u->u_path, sizeof (u->u_path), "%s%.*s",
	    *path == '/' ? "" : "/", (int)strcspn(path, "#"), path);
	for (const char *c = u->u_path; *c != '\0'; c++) {
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return (wsurl_fail(err, errlen, "bad character in the "
			    "URL's path"));
	}
	if (ps != NULL && atoi(u->u_port) != defport) {
		snprintf(u->u_hostport, sizeof (u->u_hostport),
		    strchr(u->u_host, ':') != NULL ? "[%s]:%s" : "%s:%s",
		    u->u_host, u->u_port);
	} else {
		snprintf(u->u_hostport, sizeof (u->u_hostport),
		    strchr(u->u_host, ':') != NULL ? "[%s]" : "%s", u->u_host);
	}
	return (0);
}

enum wsurl_role
wsurl_role(const char *path)
{
	size_t n = wsurl_loggable(path);
	const char *seg[3] = { NULL, NULL, NULL };
	size_t segn[3] = { 0, 0, 0 };
	const char *e = path + n;

	/* The last three segments, from the end. */
	for (int i = 2; i >= 0; i--) {
		const char *s = e;

		while (s > path && s[-1] != '/')
			s--;
		if (s == path)
			return (WSURL_ROLE_NONE);	/* no '/' before it */
		seg[i] = s;
		segn[i] = (size_t)(e - s);
		e = s - 1;
	}
	if (segn[0] != 6 || memcmp(seg[0], "attach", 6) != 0 || segn[1] == 0)
		return (WSURL_ROLE_NONE);
	if (segn[2] == 6 && memcmp(seg[2], "master", 6) == 0)
		return (WSURL_ROLE_MASTER);
	if (segn[2] == 5 && memcmp(seg[2], "slave", 5) == 0)
		return (WSURL_ROLE_SLAVE);
	return (WSURL_ROLE_NONE);
}

size_t
wsurl_loggable(const char *path)
{
	return (strcspn(path, "?#"));
}
