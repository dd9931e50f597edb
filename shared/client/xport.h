/*
 * xport.h: a client's byte stream to the reflector, plain TCP or TLS
 * (OpenSSL), dialled without blocking.
 *
 * Dialling is a small state machine the caller drives from its event loop:
 * xport_start() resolves the host (getaddrinfo, the one blocking step),
 * prepares TLS and begins a non-blocking connect to the first address;
 * then, each time the socket is ready as x_want_write says, xport_step()
 * moves on: the connect's outcome (a refused address gives way to the
 * next one, so x_fd may change between steps), then the TLS handshake.
 * The caller bounds the whole dial with its own timer (ConnectTimeout)
 * and may show xport_phase() to a user who waits.  Nothing here logs:
 * errors are messages in the caller's buffer.
 *
 * Once open, the socket is non-blocking and xport_read()/xport_write()
 * return -1 with errno EAGAIN when they would block.  A TLS read may need
 * the socket to be writable and a TLS write may need it readable:
 * x_read_wants_write / x_write_wants_read say so, and the caller's event
 * loop waits for that too.
 *
 * The socket has TCP_NODELAY, keep-alive and, if asked, TCP_USER_TIMEOUT
 * (data left unacknowledged that long kills the connection, so a dead
 * network is noticed even while we have something to send).
 *
 * TLS: the server's certificate is checked against the CA certificates of
 * xo_cacert if given; else those named by SSL_CERT_FILE / SSL_CERT_DIR if
 * either is set; else the system's default store (OpenSSL's compiled-in
 * paths) and the first of the common bundle files and directories of the
 * other distributions that exists (xport_ca_files, xport_ca_dirs: a
 * statically linked agent carries the build machine's paths, which need
 * not exist where it runs).  The name (or IP address) is checked against
 * the host, and SNI is sent for names; xo_insecure skips both checks.
 */
#ifndef MEDUSA_XPORT_H
#define MEDUSA_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "wsurl.h"

struct addrinfo;

struct xport_opts {
	const char	*xo_cacert;	/* PEM file of trusted CAs, or NULL */
	bool		xo_insecure;	/* no certificate or name check */
	unsigned	xo_user_timeout_ms; /* TCP_USER_TIMEOUT; 0: the kernel's */
};

enum xport_state {
	XPORT_IDLE = 0,
	XPORT_CONNECTING,	/* TCP connect in progress to x_ai */
	XPORT_TLS,		/* TLS handshake in progress */
	XPORT_OPEN,
	XPORT_FAILED
};

struct xport {
	enum xport_state x_state;
	int		x_fd;
	bool		x_want_write;	/* dialling: wait for writable, else readable */
	bool		x_tls;
	bool		x_insecure;
	unsigned	x_user_timeout_ms;
	struct addrinfo	*x_ais;		/* every address of the host */
	struct addrinfo	*x_ai;		/* the one tried now */
	SSL_CTX		*x_ctx;
	SSL		*x_ssl;
	bool		x_read_wants_write;
	bool		x_write_wants_read;
	char		x_host[256];
	char		x_port[8];
	char		x_addr[64];	/* the address tried now, for messages */
	char		x_why[256];	/* why the last address failed */
	char		x_ca[300];	/* where the trusted CAs came from */
	char		x_err[256];	/* the last error, for messages */
};

/* The other distributions' CA bundle files and directories, in order. */
extern const char *const xport_ca_files[];
extern const char *const xport_ca_dirs[];

/*
 * Resolve, prepare TLS, begin connecting.  0 (then step on readiness),
 * or -1 with a message in err and nothing to close.
 */
int xport_start(struct xport *, const struct wsurl *,
    const struct xport_opts *, char *err, size_t errlen);
/*
 * Advance the dial when x_fd is ready as x_want_write says.  1 open,
 * 0 not yet (wait again, on x_fd, which may have changed), -1 failed with a
 * message in err (xport_close() still to be called).
 */
int xport_step(struct xport *, char *err, size_t errlen);
/* What the dial is waiting for, in a user's words ("connecting to ..."). */
const char *xport_phase(const struct xport *, char *buf, size_t len);
/* The TLS version, cipher and certificate of an open TLS stream. */
const char *xport_tls_info(const struct xport *, char *buf, size_t len);

/* > 0 bytes, 0 end of stream, -1 error (errno; EAGAIN: would block). */
ssize_t xport_read(struct xport *, void *, size_t);
ssize_t xport_write(struct xport *, const void *, size_t);
void xport_close(struct xport *);

#endif
