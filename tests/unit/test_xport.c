/*
 * test_xport.c: the client transport (shared/client/xport.c): dialling
 * plain TCP (the next address after a refused one, TCP_USER_TIMEOUT, a
 * refused port) and TLS against a server in this process with a
 * certificate made here, a table of trust set-ups: --cacert, SSL_CERT_FILE
 * and SSL_CERT_DIR (a CA reachable only through them: issue 15), the
 * system store (refused), a wrong name, --insecure, unreadable files.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "suites.h"
#include "xport.h"

static int
listen_tcp(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof (sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
	memset(&sa, 0, sizeof (sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof (sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return (fd);
}

/* Dial url to the end, waiting on the socket as the dial asks.  1 or -1. */
static int
dial(struct xport *x, const char *url, const struct xport_opts *o, char *err,
    size_t errlen)
{
	struct wsurl u;
	int r;

	ck_assert_int_eq(wsurl_parse(url, &u, err, errlen), 0);
	if (xport_start(x, &u, o, err, errlen) != 0)
		return (-1);
	for (int i = 0; i < 1000; i++) {
		struct pollfd pfd = { x->x_fd, x->x_want_write ? POLLOUT :
		    POLLIN, 0 };

		ck_assert_int_ge(poll(&pfd, 1, 5000), 1);
		if ((r = xport_step(x, err, errlen)) != 0)
			return (r);
	}
	ck_abort_msg("the dial did not end");
	return (-1);
}

START_TEST(test_plain_open)
{
	struct xport_opts o = { NULL, false, 4321 };
	struct xport x;
	char url[100], err[300], phase[200];
	unsigned ut = 0;
	socklen_t sl = sizeof (ut);
	int port, lfd = listen_tcp(&port), afd;
	char got[8];

	/* "localhost" may resolve to ::1 first, refused: then 127.0.0.1. */
	snprintf(url, sizeof (url), "ws://localhost:%d/attach/a/master", port);
	ck_assert_msg(dial(&x, url, &o, err, sizeof (err)) == 1, "%s", err);
	ck_assert_int_eq(x.x_state, XPORT_OPEN);
	ck_assert_int_eq(getsockopt(x.x_fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut,
	    &sl), 0);
	ck_assert_uint_eq(ut, 4321);
	xport_phase(&x, phase, sizeof (phase));
	ck_assert_msg(strstr(phase, "connected to localhost port") == phase,
	    "%s", phase);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	ck_assert_int_eq(xport_write(&x, "hello", 5), 5);
	ck_assert_int_eq(read(afd, got, sizeof (got)), 5);
	ck_assert_int_eq(write(afd, "back", 4), 4);
	for (;;) {
		ssize_t n = xport_read(&x, got, sizeof (got));

		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { x.x_fd, POLLIN, 0 };
			(void) poll(&pfd, 1, 5000);
			continue;
		}
		ck_assert_int_eq(n, 4);
		break;
	}
	(void) close(afd);
	xport_close(&x);
	ck_assert_int_eq(x.x_fd, -1);
	(void) close(lfd);
}
END_TEST

START_TEST(test_plain_refused)
{
	struct xport_opts o = { NULL, false, 0 };
	struct xport x;
	char url[100], err[300] = "", want[100];
	int port, lfd = listen_tcp(&port), r;

	(void) close(lfd);		/* nobody listens there now */
	snprintf(url, sizeof (url), "ws://127.0.0.1:%d/attach/a/master", port);
	r = dial(&x, url, &o, err, sizeof (err));
	ck_assert_int_eq(r, -1);
	snprintf(want, sizeof (want), "cannot connect to 127.0.0.1 port %d: "
	    "Connection refused", port);
	ck_assert_str_eq(err, want);
	xport_close(&x);
	ck_assert_int_eq(x.x_fd, -1);
}
END_TEST

START_TEST(test_ca_paths_listed)
{
	static const char *const want[] = {
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/ca-bundle.pem",
		"/etc/ssl/cert.pem",
	};

	for (size_t i = 0; i < NELEM(want); i++) {
		bool found = false;

		for (size_t j = 0; xport_ca_files[j] != NULL; j++)
			found = found || strcmp(xport_ca_files[j], want[i]) == 0;
		ck_assert_msg(found, "%s is not tried", want[i]);
	}
}
END_TEST

/* --- TLS ----------------------------------------------------------------- */

static char tls_dir[] = "/tmp/medusa-xport-XXXXXX";
static char tls_cert[300], tls_hashdir[300];
static SSL_CTX *tls_sctx;

static void
tls_setup(void)
{
	EVP_PKEY *k;
	X509 *c;
	X509_NAME *n;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char link[400];
	FILE *f;

	/* As the programs do: a TLS close may write to a closed socket. */
	(void) signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(mkdtemp(tls_dir));
	k = EVP_EC_gen("P-256");
	ck_assert_ptr_nonnull(k);
	c = X509_new();
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -60);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600);
	X509_set_pubkey(c, k);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"medusa unit test", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
	    "DNS:localhost");
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(c, ext, -1);
	X509_EXTENSION_free(ext);
	ck_assert_int_gt(X509_sign(c, k, EVP_sha256()), 0);

	snprintf(tls_cert, sizeof (tls_cert), "%s/ca.pem", tls_dir);
	ck_assert_ptr_nonnull(f = fopen(tls_cert, "w"));
	PEM_write_X509(f, c);
	fclose(f);
	/* A hashed directory, as c_rehash makes them. */
	snprintf(tls_hashdir, sizeof (tls_hashdir), "%s/certs", tls_dir);
	ck_assert_int_eq(mkdir(tls_hashdir, 0700), 0);
	snprintf(link, sizeof (link), "%s/%08lx.0", tls_hashdir,
	    X509_subject_name_hash(c));
	ck_assert_ptr_nonnull(f = fopen(link, "w"));
	PEM_write_X509(f, c);
	fclose(f);

	tls_sctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(tls_sctx, c), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(tls_sctx, k), 1);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void
tls_teardown(void)
{
	char cmd[400];

	SSL_CTX_free(tls_sctx);
	snprintf(cmd, sizeof (cmd), "rm -rf '%s'", tls_dir);
	(void) !system(cmd);
}

/* One TLS connection served: handshake, then wait for the client's end. */
static void *
tls_serve(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	SSL *s;
	char b[64];

	if (fd < 0)
		return (NULL);
	s = SSL_new(tls_sctx);
	SSL_set_fd(s, fd);
	if (SSL_accept(s) == 1) {
		while (SSL_read(s, b, sizeof (b)) > 0)
			;
	}
	SSL_free(s);
	(void) close(fd);
	ERR_clear_error();
	return (NULL);
}

static const struct {
	const char	*name;
	const char	*host;
	int		cacert;		/* 1 the CA, 2 a missing file */
	int		envfile;	/* SSL_CERT_FILE: 1 the CA, 2 missing */
	int		envdir;		/* SSL_CERT_DIR: the hashed dir */
	bool		insecure;
	const char	*err;		/* NULL: open */
} tls_cases[] = {
	{ "--cacert", "localhost", 1, 0, 0, false, NULL },
	{ "SSL_CERT_FILE", "localhost", 0, 1, 0, false, NULL },
	{ "SSL_CERT_DIR", "localhost", 0, 0, 1, false, NULL },
	{ "--cacert over SSL_CERT_FILE", "localhost", 1, 2, 0, false, NULL },
	{ "system store", "localhost", 0, 0, 0, false,
	    "certificate was refused: self-signed certificate" },
	{ "wrong name", "127.0.0.1", 1, 0, 0, false,
	    "certificate was refused: IP address mismatch" },
	{ "insecure", "127.0.0.1", 0, 0, 0, true, NULL },
	{ "missing --cacert", "localhost", 2, 0, 0, false,
	    "cannot load CA certificates from /nonexistent/ca.pem" },
	{ "missing SSL_CERT_FILE", "localhost", 0, 2, 0, false,
	    "cannot load CA certificates from SSL_CERT_FILE=/nonexistent/ca.pem" },
};

START_TEST(test_tls)
{
	struct xport_opts o = { NULL, tls_cases[_i].insecure, 0 };
	struct xport x;
	pthread_t th;
	char url[200], err[800] = "", info[600];
	int port, lfd = listen_tcp(&port), r;

	(void) unsetenv("SSL_CERT_FILE");
	(void) unsetenv("SSL_CERT_DIR");
	if (tls_cases[_i].cacert > 0)
		o.xo_cacert = tls_cases[_i].cacert == 1 ? tls_cert :
		    "/nonexistent/ca.pem";
	if (tls_cases[_i].envfile > 0)
		(void) setenv("SSL_CERT_FILE", tls_cases[_i].envfile == 1 ?
		    tls_cert : "/nonexistent/ca.pem", 1);
	if (tls_cases[_i].envdir > 0)
		(void) setenv("SSL_CERT_DIR", tls_hashdir, 1);
	ck_assert_int_eq(pthread_create(&th, NULL, tls_serve, &lfd), 0);
	snprintf(url, sizeof (url), "wss://%s:%d/attach/a/slave",
	    tls_cases[_i].host, port);
	r = dial(&x, url, &o, err, sizeof (err));
	if (tls_cases[_i].err == NULL) {
		ck_assert_msg(r == 1, "%s: %s", tls_cases[_i].name, err);
		xport_tls_info(&x, info, sizeof (info));
		ck_assert_msg(strstr(info, "CN = medusa unit test") != NULL ||
		    strstr(info, "CN=medusa unit test") != NULL, "%s", info);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_msg(strstr(err, tls_cases[_i].err) != NULL, "%s: %s",
		    tls_cases[_i].name, err);
	}
	xport_close(&x);
	if (r != 1 && x.x_fd < 0 && tls_cases[_i].err != NULL &&
	    strstr(tls_cases[_i].err, "cannot load") != NULL) {
		/* Refused before connecting: end the server's accept. */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET,
		    .sin_port = htons((uint16_t)port),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		(void) connect(fd, (struct sockaddr *)&sa, sizeof (sa));
		(void) close(fd);
	}
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	(void) close(lfd);
	(void) unsetenv("SSL_CERT_FILE");
	(void) unsetenv("SSL_CERT_DIR");
}
END_TEST

Suite *
xport_suite(void)
{
	Suite *s = suite_create("xport");
	TCase *tc = tcase_create("plain");
	TCase *tt = tcase_create("tls");

	tcase_add_test(tc, test_plain_open);
	tcase_add_test(tc, test_plain_refused);
	tcase_add_test(tc, test_ca_paths_listed);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(tt, tls_setup, tls_teardown);
	tcase_add_loop_test(tt, test_tls, 0, NELEM(tls_cases));
	tcase_set_timeout(tt, 30);
	suite_add_tcase(s, tt);
	return (s);
}
