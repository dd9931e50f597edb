/*
 * wsurl.h: ws:// and wss:// URLs.  Pure.
 *
 *	ws://host[:port]/path[?query]		port 80 by default
 *	wss://host[:port]/path[?query]		port 443 by default
 *	host may be a name, an IPv4 address or [an IPv6 address]
 *
 * http:// and https:// are accepted as synonyms (the original agent's
 * configuration holds an https:// pre-signed URL).
 */
#ifndef MEDUSA_WSURL_H
#define MEDUSA_WSURL_H

#include <stdbool.h>
#include <stddef.h>

struct wsurl {
	bool	u_tls;
	char	u_host[256];		/* without brackets */
	char	u_port[8];
	char	u_hostport[300];	/* for the Host header */
	char	u_path[4096];		/* path and query; "/" if none */
};

/* 0, or -1 with a reason in err. */
int wsurl_parse(const char *url, struct wsurl *out, char *err, size_t errlen);

/*
 * The role an attach path names: .../attach/<id>/master or .../slave (the
 * query string aside); NONE for any other path.
 */
enum wsurl_role {
	WSURL_ROLE_NONE = 0,
	WSURL_ROLE_MASTER,
	WSURL_ROLE_SLAVE
};
enum wsurl_role wsurl_role(const char *path);
/*
 * How much of a path to show: up to its query string, which in a
 * presigned URL is a credential and never goes into a log line.
 */
size_t wsurl_loggable(const char *path);

#endif
