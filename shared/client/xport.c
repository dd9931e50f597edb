/*
 * xport.c: TCP and TLS client transport, dialled without blocking; see
 * xport.h.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "netutil.h"
#include "xport.h"

/*
 * Where the distributions keep their CA bundles.  OpenSSL's own default
 * (its compiled-in OPENSSLDIR, /usr/lib/ssl on Debian) comes first; these
 * serve a binary built elsewhere, above all the static agent.
 */
const char *const xport_ca_files[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Ubuntu, Arch */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* RHEL, Fedora, CentOS */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
	"/etc/ssl/ca-bundle.pem",		/* SUSE */
	"/etc/ssl/cert.pem",			/* Alpine */
	"/etc/pki/tls/cacert.pem",		/* OpenELEC */
	"/usr/local/share/certs/ca-root-nss.crt", /* FreeBSD */
	NULL
};

const char *const xport_ca_dirs[] = {
	"/etc/ssl/certs",			/* hashed links: Debian, SUSE */
	"/etc/pki/tls/certs",
	NULL
};

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

static const char *
xport_first(const char *const *paths)
{
	for (; *paths != NULL; paths++) {
		if (access(*paths, R_OK) == 0)
			return (*paths);
	}
	return (NULL);
}

/* Load the trusted CAs (see xport.h for the order).  0 or -1. */
static int
xport_load_cas(struct xport *x, const char *cacert, char *err, size_t errlen)
{
	const char *ef = getenv(X509_get_default_cert_file_env());
	const char *ed = getenv(X509_get_default_cert_dir_env());
	const char *f, *d;
	char what[400];

	if (ef != NULL && ef[0] == '\0')
		ef = NULL;
	if (ed != NULL && ed[0] == '\0')
		ed = NULL;
	if (cacert != NULL) {
		f = cacert;
		d = NULL;
		snprintf(x->x_ca, sizeof (x->x_ca), "%s", cacert);
	} else if (ef != NULL || ed != NULL) {
		f = ef;
		d = ed;
		snprintf(x->x_ca, sizeof (x->x_ca), "%s%s%s%s%s",
		    ef != NULL ? "SSL_CERT_FILE=" : "", ef != NULL ? ef : "",
		    ef != NULL && ed != NULL ? " " : "",
		    ed != NULL ? "SSL_CERT_DIR=" : "", ed != NULL ? ed : "");
	} else {
		if (SSL_CTX_set_default_verify_paths(x->x_ctx) != 1) {
			xport_ssl_error(err, errlen, "cannot load the system's "
			    "CA certificates");
			return (-1);
		}
		ERR_clear_error();
		f = xport_first(xport_ca_files);
		d = xport_first(xport_ca_dirs);
		snprintf(x->x_ca, sizeof (x->x_ca), "the system's store%s%s%s%s",
		    f != NULL ? " and " : "", f != NULL ? f : "",
		    d != NULL ? " and " : "", d != NULL ? d : "");
	}
	if ((f != NULL || d != NULL) &&
	    SSL_CTX_load_verify_locations(x->x_ctx, f, d) != 1) {
		snprintf(what, sizeof (what), "cannot load CA certificates from "
		    "%s", x->x_ca);
		xport_ssl_error(err, errlen, what);
		return (-1);
	}
	return (0);
}

static int
xport_tls_prepare(struct xport *x, const struct xport_opts *o, char *err,
    size_t errlen)
{
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
	if (o->xo_insecure) {
		SSL_CTX_set_verify(x->x_ctx, SSL_VERIFY_NONE, NULL);
		snprintf(x->x_ca, sizeof (x->x_ca), "none (insecure)");
		return (0);
	}
	SSL_CTX_set_verify(x->x_ctx, SSL_VERIFY_PEER, NULL);
	return (xport_load_cas(x, o->xo_cacert, err, errlen));
}

static void
xport_tune(struct xport *x)
{
	int one = 1;

	(void) setsockopt(x->x_fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof (one));
	(void) setsockopt(x->x_fd, SOL_SOCKET, SO_KEEPALIVE, &one,
	    sizeof (one));
	if (x->x_user_timeout_ms > 0)
		(void) setsockopt(x->x_fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
		    &x->x_user_timeout_ms, sizeof (x->x_user_timeout_ms));
}

static void
xport_drop_fd(struct xport *x)
{
	if (x->x_fd >= 0)
		(void) close(x->x_fd);
	x->x_fd = -1;
}

/*
 * Begin connecting to x_ai or, if it fails at once, the addresses after
 * it.  0 in progress (or connected: x_want_write is set either way, and
 * the step finds out), -1 when no address is left.
 */
static int
xport_try(struct xport *x)
{
	for (; x->x_ai != NULL; x->x_ai = x->x_ai->ai_next) {
		struct addrinfo *ai = x->x_ai;

		netutil_addr_str(ai->ai_addr, x->x_addr, sizeof (x->x_addr));
		x->x_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (x->x_fd < 0) {
			snprintf(x->x_why, sizeof (x->x_why), "socket: %s",
			    strerror(errno));
			continue;
		}
		xport_tune(x);
		if (connect(x->x_fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			x->x_state = XPORT_CONNECTING;
			x->x_want_write = true;
			return (0);
		}
		snprintf(x->x_why, sizeof (x->x_why), "%s", strerror(errno));
		xport_drop_fd(x);
	}
	return (-1);
}

static int
xport_fail(struct xport *x, char *err, size_t errlen)
{
	x->x_state = XPORT_FAILED;
	snprintf(err, errlen, "cannot connect to %s port %s: %s", x->x_host,
	    x->x_port, x->x_why);
	return (-1);
}

int
xport_start(struct xport *x, const struct wsurl *u, const struct xport_opts *o,
    char *err, size_t errlen)
{
	struct addrinfo hints;
	int rv;

	memset(x, 0, sizeof (*x));
	x->x_fd = -1;
	x->x_tls = u->u_tls;
	x->x_insecure = o->xo_insecure;
	x->x_user_timeout_ms = o->xo_user_timeout_ms;
	snprintf(x->x_host, sizeof (x->x_host), "%s", u->u_host);
	snprintf(x->x_port, sizeof (x->x_port), "%s", u->u_port);
	snprintf(x->x_why, sizeof (x->x_why), "no address");
	if (u->u_tls && xport_tls_prepare(x, o, err, errlen) != 0) {
		xport_close(x);
		return (-1);
	}
	memset(&hints, 0, sizeof (hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rv = getaddrinfo(u->u_host, u->u_port, &hints, &x->x_ais);
	if (rv != 0) {
		x->x_ais = NULL;
		snprintf(err, errlen, "cannot resolve %s: %s", u->u_host,
		    gai_strerror(rv));
		xport_close(x);
		return (-1);
	}
	x->x_ai = x->x_ais;
	if (xport_try(x) != 0) {
		(void) xport_fail(x, err, errlen);
		xport_close(x);
		return (-1);
	}
	return (0);
}

static int
xport_tls_begin(struct xport *x, char *err, size_t errlen)
{
	unsigned char addr[16];
	bool is_ip = inet_pton(AF_INET, x->x_host, addr) == 1 ||
	    inet_pton(AF_INET6, x->x_host, addr) == 1;

	if ((x->x_ssl = SSL_new(x->x_ctx)) == NULL) {
		xport_ssl_error(err, errlen, "SSL_new");
		return (-1);
	}
	if (!is_ip)
		(void) SSL_set_tlsext_host_name(x->x_ssl, x->x_host);
	if (!x->x_insecure) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(x->x_ssl);

		if (is_ip)
			(void) X509_VERIFY_PARAM_set1_ip_asc(vp, x->x_host);
		else
			(void) SSL_set1_host(x->x_ssl, x->x_host);
	}
	(void) SSL_set_fd(x->x_ssl, x->x_fd);
	x->x_state = XPORT_TLS;
	return (0);
}

static int
xport_tls_step(struct xport *x, char *err, size_t errlen)
{
	char why[700];
	long vr;
	int r;

	ERR_clear_error();
	r = SSL_connect(x->x_ssl);
	if (r == 1) {
		x->x_state = XPORT_OPEN;
		return (1);
	}
	switch (SSL_get_error(x->x_ssl, r)) {
	case SSL_ERROR_WANT_READ:
		x->x_want_write = false;
		return (0);
	case SSL_ERROR_WANT_WRITE:
		x->x_want_write = true;
		return (0);
	default:
		break;
	}
	x->x_state = XPORT_FAILED;
	if ((vr = SSL_get_verify_result(x->x_ssl)) != X509_V_OK) {
		snprintf(why, sizeof (why), "TLS: the server's certificate was "
		    "refused: %s (trusted CAs: %s)",
		    X509_verify_cert_error_string(vr), x->x_ca);
		ERR_clear_error();
	} else {
		xport_ssl_error(why, sizeof (why), "TLS handshake failed");
	}
	snprintf(err, errlen, "%s port %s: %s", x->x_host, x->x_port, why);
	return (-1);
}

int
xport_step(struct xport *x, char *err, size_t errlen)
{
	int soerr = 0;
	socklen_t sl = sizeof (soerr);

	switch (x->x_state) {
	case XPORT_CONNECTING:
		if (getsockopt(x->x_fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == EINPROGRESS || soerr == EALREADY)
			return (0);
		if (soerr == 0) {
			/* A spurious wake-up leaves the connect unfinished. */
			struct sockaddr_storage ss;
			socklen_t ssl = sizeof (ss);

			if (getpeername(x->x_fd, (struct sockaddr *)&ss,
			    &ssl) != 0 && errno == ENOTCONN)
				return (0);
		}
		if (soerr != 0) {
			snprintf(x->x_why, sizeof (x->x_why), "%s",
			    strerror(soerr));
			xport_drop_fd(x);
			x->x_ai = x->x_ai->ai_next;
			if (xport_try(x) != 0)
				return (xport_fail(x, err, errlen));
			return (0);
		}
		freeaddrinfo(x->x_ais);
		x->x_ais = x->x_ai = NULL;
		if (!x->x_tls) {
			x->x_state = XPORT_OPEN;
			return (1);
		}
		if (xport_tls_begin(x, err, errlen) != 0) {
			x->x_state = XPORT_FAILED;
			return (-1);
		}
		return (xport_tls_step(x, err, errlen));
	case XPORT_TLS:
		return (xport_tls_step(x, err, errlen));
	case XPORT_OPEN:
		return (1);
	default:
		snprintf(err, errlen, "the connection has failed");
		return (-1);
	}
}

const char *
xport_phase(const struct xport *x, char *buf, size_t len)
{
	switch (x->x_state) {
	case XPORT_CONNECTING:
		snprintf(buf, len, "connecting to %s port %s (%s)", x->x_host,
		    x->x_port, x->x_addr);
		break;
	case XPORT_TLS:
		snprintf(buf, len, "TLS handshake with %s port %s", x->x_host,
		    x->x_port);
		break;
	case XPORT_OPEN:
		snprintf(buf, len, "connected to %s port %s (%s)", x->x_host,
		    x->x_port, x->x_addr);
		break;
	default:
		snprintf(buf, len, "not connected");
		break;
	}
	return (buf);
}

const char *
xport_tls_info(const struct xport *x, char *buf, size_t len)
{
	X509 *cert;
	char subj[200] = "", issuer[200] = "";

	if (x->x_ssl == NULL) {
		snprintf(buf, len, "no TLS");
		return (buf);
	}
	if ((cert = SSL_get1_peer_certificate(x->x_ssl)) != NULL) {
		(void) X509_NAME_oneline(X509_get_subject_name(cert), subj,
		    sizeof (subj));
		(void) X509_NAME_oneline(X509_get_issuer_name(cert), issuer,
		    sizeof (issuer));
		X509_free(cert);
	}
	snprintf(buf, len, "%s %s, certificate %s issued by %s, %s",
	    SSL_get_version(x->x_ssl), SSL_get_cipher_name(x->x_ssl),
	    subj[0] != '\0' ? subj : "(none)", issuer[0] != '\0' ? issuer :
	    "(none)", x->x_insecure ? "not checked (insecure)" :
	    "checked against ");
	if (!x->x_insecure) {
		size_t n = strlen(buf);

		snprintf(buf + n, len - n, "%s", x->x_ca);
	}
	return (buf);
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
		if (r < 0 && errno == EWOULDBLOCK)
			errno = EAGAIN;
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
		if (r < 0 && errno == EWOULDBLOCK)
			errno = EAGAIN;
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
		if (x->x_state == XPORT_OPEN)
			(void) SSL_shutdown(x->x_ssl);
		SSL_free(x->x_ssl);
		x->x_ssl = NULL;
	}
	if (x->x_ctx != NULL) {
		SSL_CTX_free(x->x_ctx);
		x->x_ctx = NULL;
	}
	if (x->x_ais != NULL) {
		freeaddrinfo(x->x_ais);
		x->x_ais = x->x_ai = NULL;
	}
	xport_drop_fd(x);
	if (x->x_state != XPORT_FAILED)
		x->x_state = XPORT_IDLE;
}
