/*
 * xport.c: TCP and TLS client transport; see xport.h.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "netutil.h"
#include "xport.h"

static double
xport_now(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

int
xport_wait(struct xport *x, bool write, double timeout)
{
	struct pollfd pfd;
	int ms = timeout <= 0 ? 0 : (int)(timeout * 1000) + 1, r;

	pfd.fd = x->x_fd;
	pfd.events = write ? POLLOUT : POLLIN;
	do {
		r = poll(&pfd, 1, ms);
	} while (r < 0 && errno == EINTR);
	return (r > 0);
}

/* Connect to one address, bounded by the deadline.  fd or -1. */
static int
xport_tcp(const struct addrinfo *ai, double deadline, char *err,
    size_t errlen)
{
	struct xport tmp;
	int fd, soerr = 0, one = 1;
	socklen_t sl = sizeof (soerr);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "%s", strerror(errno));
		(void) close(fd);
		return (-1);
	}
	tmp.x_fd = fd;
	if (!xport_wait(&tmp, true, deadline - xport_now())) {
		snprintf(err, errlen, "timed out");
		(void) close(fd);
		return (-1);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
	    soerr != 0) {
		snprintf(err, errlen, "%s", strerror(soerr != 0 ? soerr : errno));
		(void) close(fd);
		return (-1);
	}
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
	(void) setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof (one));
	return (fd);
}

static void
xport_ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e == 0) {
		snprintf(err, errlen, "%s", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof (buf));
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

static int
xport_tls(struct xport *x, const struct wsurl *u, const struct xport_opts *o,
    double deadline, char *err, size_t errlen)
{
	unsigned char addr[16];
	bool is_ip;
	int r;

	is_ip = inet_pton(AF_INET, u->u_host, addr) == 1 ||
	    inet_pton(AF_INET6, u->u_host, addr) == 1;
	if ((x->x_ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		xport_ssl_error(err, errlen, "SSL_CTX_new");
		return (-1);
	}
	(void) SSL_CTX_set_min_proto_version(x->x_ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(x->x_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(x->x_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	if (!o->xo_insecure) {
		SSL_CTX_set_verify(x->x_ctx, SSL_VERIFY_PEER, NULL);
		if (o->xo_cacert != NULL) {
			if (SSL_CTX_load_verify_locations(x->x_ctx, o->xo_cacert,
			    NULL) != 1) {
				char what[300];

				snprintf(what, sizeof (what), "cannot load CA "
				    "certificates from %s", o->xo_cacert);
				xport_ssl_error(err, errlen, what);
				return (-1);
			}
		} else if (SSL_CTX_set_default_verify_paths(x->x_ctx) != 1) {
			xport_ssl_error(err, errlen, "cannot load the system's "
			    "CA certificates");
			return (-1);
		}
	} else {
		SSL_CTX_set_verify(x->x_ctx, SSL_VERIFY_NONE, NULL);
	}
	if ((x->x_ssl = SSL_new(x->x_ctx)) == NULL) {
		xport_ssl_error(err, errlen, "SSL_new");
		return (-1);
	}
	if (!is_ip)
		(void) SSL_set_tlsext_host_name(x->x_ssl, u->u_host);
	if (!o->xo_insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(x->x_ssl);

		if (is_ip)
			(void) X509_VERIFY_PARAM_set1_ip_asc(vp, u->u_host);
		else
			(void) SSL_set1_host(x->x_ssl, u->u_host);
	}
	(void) SSL_set_fd(x->x_ssl, x->x_fd);
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(x->x_ssl);
		if (r == 1)
			return (0);
		switch (SSL_get_error(x->x_ssl, r)) {
		case SSL_ERROR_WANT_READ:
			if (!xport_wait(x, false, deadline - xport_now()))
				goto timeout;
			continue;
		case SSL_ERROR_WANT_WRITE:
			if (!xport_wait(x, true, deadline - xport_now()))
				goto timeout;
			continue;
		default:
			break;
		}
		if (SSL_get_verify_result(x->x_ssl) != X509_V_OK) {
			snprintf(err, errlen, "TLS: the server's certificate was "
			    "refused: %s", X509_verify_cert_error_string(
			    SSL_get_verify_result(x->x_ssl)));
			ERR_clear_error();
		} else {
			xport_ssl_error(err, errlen, "TLS handshake failed");
		}
		return (-1);
	}
timeout:
	snprintf(err, errlen, "TLS handshake timed out");
	return (-1);
}

int
xport_connect(struct xport *x, const struct wsurl *u,
    const struct xport_opts *o, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	double deadline = xport_now() + o->xo_timeout;
	char why[256] = "no address";
	int rv;

	memset(x, 0, sizeof (*x));
	x->x_fd = -1;
	memset(&hints, 0, sizeof (hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rv = getaddrinfo(u->u_host, u->u_port, &hints, &res);
	if (rv != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->u_host,
		    gai_strerror(rv));
		return (-1);
	}
	for (ai = res; ai != NULL && x->x_fd < 0; ai = ai->ai_next)
		x->x_fd = xport_tcp(ai, deadline, why, sizeof (why));
	freeaddrinfo(res);
	if (x->x_fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s",
		    u->u_host, u->u_port, why);
		return (-1);
	}
	if (u->u_tls && xport_tls(x, u, o, deadline, why, sizeof (why)) != 0) {
		snprintf(err, errlen, "%s port %s: %s", u->u_host, u->u_port,
		    why);
		xport_close(x);
		return (-1);
	}
	return (0);
}

ssize_t
xport_read(struct xport *x, void *buf, size_t n)
{
	ssize_t r;
	int e;

	if (x->x_ssl == NULL) {
		do {
			r = recv(x->x_fd, buf, n, 0);
		} while (r < 0 && errno == EINTR);
		return (r);
	}
	x->x_read_wants_write = false;
	ERR_clear_error();
	r = SSL_read(x->x_ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return (r);
	switch ((e = SSL_get_error(x->x_ssl, (int)r))) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_WANT_WRITE:
		x->x_read_wants_write = true;
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_ZERO_RETURN:
		return (0);
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0)
				return (0);
			return (-1);
		}
		/* FALLTHROUGH */
	default:
		xport_ssl_error(x->x_err, sizeof (x->x_err), "TLS read failed");
		errno = EIO;
		return (-1);
	}
}

ssize_t
xport_write(struct xport *x, const void *buf, size_t n)
{
	ssize_t r;

	if (x->x_ssl == NULL) {
		do {
			r = send(x->x_fd, buf, n, MSG_NOSIGNAL);
		} while (r < 0 && errno == EINTR);
		return (r);
	}
	x->x_write_wants_read = false;
	ERR_clear_error();
	r = SSL_write(x->x_ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return (r);
	switch (SSL_get_error(x->x_ssl, (int)r)) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_WANT_READ:
		x->x_write_wants_read = true;
		errno = EAGAIN;
		return (-1);
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno != 0)
			return (-1);
		/* FALLTHROUGH */
	default:
		xport_ssl_error(x->x_err, sizeof (x->x_err), "TLS write failed");
		errno = EIO;
		return (-1);
	}
}

void
xport_close(struct xport *x)
{
	if (x->x_ssl != NULL) {
		(void) SSL_shutdown(x->x_ssl);
		SSL_free(x->x_ssl);
		x->x_ssl = NULL;
	}
	if (x->x_ctx != NULL) {
		SSL_CTX_free(x->x_ctx);
		x->x_ctx = NULL;
	}
	if (x->x_fd >= 0)
		(void) close(x->x_fd);
	x->x_fd = -1;
}
