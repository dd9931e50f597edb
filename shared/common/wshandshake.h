/*
 * wshandshake.h: the RFC 6455 opening handshake, both sides.  Pure apart
 * from OpenSSL's SHA-1 and base64 (and RAND_bytes for a client's key).
 *
 * Server side, compatible with the original peers (docs/PROTOCOL.md
 * section 7): a request with no Sec-WebSocket-Version is taken as version
 * 13, and the 101 response carries exactly "Connection: Upgrade".
 */
#ifndef MEDUSA_WSHANDSHAKE_H
#define MEDUSA_WSHANDSHAKE_H

#include <stddef.h>

#include "httphead.h"

#define	WSH_ACCEPT_LEN	28	/* base64 of a SHA-1 digest */
#define	WSH_KEY_LEN	24	/* base64 of 16 bytes */

/* The request header by which our own programs say they answer pings. */
#define	WSH_PING_HEADER	"X-Medusa-Ping"

struct wsh_error {
	int		we_status;	/* HTTP status */
	const char	*we_code;	/* JSON "code" */
	const char	*we_message;	/* JSON "message" */
};

/* base64(SHA-1(key + RFC 6455 GUID)) into out[WSH_ACCEPT_LEN + 1]. */
void wshandshake_accept(const char *key, size_t keylen, char *out);

/*
 * Check an upgrade request.  Returns 0 and writes the accept value into
 * accept[WSH_ACCEPT_LEN + 1], or -1 and fills *err (400, or 426 for a
 * version other than 13).  *ping_ok says whether the request carried
 * WSH_PING_HEADER.
 */
int wshandshake_check_request(const struct httphead *req, char *accept,
    int *ping_ok, struct wsh_error *err);

/* The 101 response for an accept value.  Returns its length. */
size_t wshandshake_response(char *out, size_t cap, const char *accept);

/* Client side: a fresh random key into out[WSH_KEY_LEN + 1]. 0 or -1. */
int wshandshake_key(char *out);

/*
 * Client side: the upgrade request for host and path (with extra header
 * lines, each ending in CRLF, or NULL).  Returns its length, or 0 if cap is
 * too small.
 */
size_t wshandshake_request(char *out, size_t cap, const char *host,
    const char *path, const char *key, const char *extra);

/*
 * Client side: check a response head against the key sent.  0 if it is a
 * valid 101; else -1 with a message in err.
 */
int wshandshake_check_response(const struct httphead *res, const char *key,
    char *err, size_t errlen);

#endif
