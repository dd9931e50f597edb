/*
 * xport.h: a client's byte stream to the reflector, plain TCP or TLS
 * (OpenSSL).  Connecting is blocking, bounded by a time-out (a client has
 * nothing else to do meanwhile); afterwards the socket is non-blocking and
 * xport_read()/xport_write() return -1 with errno EAGAIN when they would
 * block.  A TLS read may need the socket to be writable and a TLS write may
 * need it readable: x_read_wants_write / x_write_wants_read say so, and the
 * caller's event loop waits for that too.
 *
 * TLS: the server's certificate is checked against the system's CA store,
 * or the file given, and its name against the host (SNI is sent for
 * names); `insecure` skips both checks.
 */
#ifndef MEDUSA_XPORT_H
#define MEDUSA_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "wsurl.h"

struct xport_opts {
	const char	*xo_cacert;	/* PEM file of trusted CAs, or NULL */
	bool		xo_insecure;	/* no certificate or name check */
	double		xo_timeout;	/* s, for connect and TLS handshake */
};

struct xport {
	int		x_fd;
	SSL_CTX		*x_ctx;
	SSL		*x_ssl;
	bool		x_read_wants_write;
	bool		x_write_wants_read;
	char		x_err[256];	/* the last error, for messages */
};

/* 0, or -1 with a message in err. */
int xport_connect(struct xport *, const struct wsurl *,
    const struct xport_opts *, char *err, size_t errlen);
/* > 0 bytes, 0 end of stream, -1 error (errno; EAGAIN: would block). */
ssize_t xport_read(struct xport *, void *, size_t);
ssize_t xport_write(struct xport *, const void *, size_t);
/* Wait (poll) until readable/writable or the deadline; 1 ready, 0 not. */
int xport_wait(struct xport *, bool write, double timeout);
void xport_close(struct xport *);

#endif
