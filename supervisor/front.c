/*
 * front.c: the supervisor's front end: accepting, reading request heads
 * without ever blocking on a slow client, routing, and answering what is
 * not an attach (status, errors).  See supervisor/main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "httphead.h"
#include "httpresp.h"
#include "mlog.h"
#include "netutil.h"
#include "route.h"
#include "shard.h"
#include "supervisor.h"

#define	FRONT_ACCEPTS_PER_EVENT	64
#define	FRONT_HEADS_PER_EVENT	64
#define	FRONT_MAX_LISTEN	(CONFIG_MAX_BINDS * 4)

/*
 * This file's state: the listeners, every connection whose head is read
 * here (and its per-address count), and what accepting needs when it runs
 * out of descriptors.
 */
static struct front {
	struct ev_loop	*f_loop;
	const struct medusa_config *f_conf;	/* main.c's */
	int		f_lfd[FRONT_MAX_LISTEN];
	ev_io		f_lio[FRONT_MAX_LISTEN];	/* data: the kind */
	int		f_nlisten;
	int		f_port;		/* the port bound (port 0 resolved) */
	int		f_status_port;	/* the status listener's, or -1 */
	bool		f_accepting;
	int		f_spare_fd;	/* released to shed a connection on EMFILE */
	ev_timer	f_accept_timer;	/* accepting again after EMFILE */
	int		f_headep;	/* epoll set: heads still arriving */
	ev_io		f_headio;	/* ... which the loop watches */
	LIST_HEAD(, sconn) f_conns;
	size_t		f_nconns;
	struct addrcount *f_peers;	/* connections held, per address */
	uint64_t	f_reqseq;
	char		f_reqprefix[16];
	/*
	 * The first read of every connection lands here: one that has
	 * sent nothing yet holds no buffer of its own.
	 */
	char		*f_first;
	size_t		f_firstcap;
} fr;

static void front_accept_cb(EV_P_ ev_io *, int);
static void front_read_cb(EV_P_ ev_io *, int);
static void front_write_cb(EV_P_ ev_io *, int);
static void front_timer_cb(EV_P_ ev_timer *, int);

/*
 * Waiting for the rest of a head.  Such connections are watched in an
 * epoll set of our own (f_headep, itself watched by the loop), not by
 * libev, because most of them go on to a worker: close() does not take a
 * socket out of an epoll set while another process still holds it, and
 * libev never deletes from its set (it rebuilds the whole set when a
 * stray's events wake it), so every passed socket would wake the
 * supervisor once and cost a rebuild of every watcher it has.  Here each
 * connection is taken out (front_head_unwait) before it is passed,
 * answered or closed.
 */
static void front_refuse(struct sconn *, int, const char *, const char *,
    const char *);

/*
 * Wait for more of sc's head.  If the kernel cannot watch one more socket
 * (ENOMEM, or fs.epoll.max_user_watches), the client gets a 503 and the
 * operator a line (at most one a second).
 */
static void
front_head_wait(struct sconn *sc)
{
	struct epoll_event ev;

	if (sc->sc_waiting)
		return;
	memset(&ev, 0, sizeof (ev));
	ev.events = EPOLLIN;
	ev.data.ptr = sc;
	if (epoll_ctl(fr.f_headep, EPOLL_CTL_ADD, sc->sc_fd, &ev) != 0) {
		static struct mlog_limit lim;
		unsigned long skipped;

		if (mlog_allow(&lim, &skipped))
			mlog(MLOG_ERROR, "cannot watch a connection for its "
			    "head", "req_id=%s peer=%s error=%s "
			    "times_since_last_line=%lu", sc->sc_reqid,
			    sc->sc_peer, strerror(errno), skipped);
		front_refuse(sc, 503, "ServiceUnavailable",
		    "the server cannot take more connections now",
		    "Retry-After: 1\r\n");
		return;
	}
	sc->sc_waiting = true;
}

static void
front_head_unwait(struct sconn *sc)
{
	struct epoll_event ev;

	if (!sc->sc_waiting)
		return;
	memset(&ev, 0, sizeof (ev));
	(void) epoll_ctl(fr.f_headep, EPOLL_CTL_DEL, sc->sc_fd, &ev);
	sc->sc_waiting = false;
}

/*
 * Heads with bytes to read.  One connection per epoll_wait(): reading one
 * may end others (and free them), which would leave their pointers stale
 * in a longer list; a connection that has ended is out of the set.
 */
static void
front_heads_cb(EV_P_ ev_io *w, int revents)
{
	struct epoll_event ev;

	(void) w;
	(void) revents;
	for (int i = 0; i < FRONT_HEADS_PER_EVENT; i++) {
		struct sconn *sc;

		if (epoll_wait(fr.f_headep, &ev, 1, 0) != 1)
			return;
		sc = ev.data.ptr;
		front_read_cb(EV_A_ &sc->sc_rio, EV_READ);
	}
}

static void
front_accept_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	if (!sup_stopping())
		front_accepting(true);
}

/* 0, or -1 with a message on stderr. */
int
front_init(struct ev_loop *loop, const struct medusa_config *conf)
{
	unsigned char rnd[4];

	fr.f_loop = loop;
	fr.f_conf = conf;
	fr.f_port = conf->mc_port;
	/* Request ids: a random prefix for this run, then a count. */
	if (RAND_bytes(rnd, sizeof (rnd)) != 1)
		memset(rnd, 0, sizeof (rnd));
	snprintf(fr.f_reqprefix, sizeof (fr.f_reqprefix), "%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3]);
	fr.f_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ev_init(&fr.f_accept_timer, front_accept_timer_cb);
	if ((fr.f_peers = addrcount_new()) == NULL) {
		fprintf(stderr, "medusa: out of memory\n");
		return (-1);
	}
	if ((fr.f_headep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		fprintf(stderr, "medusa: epoll_create1: %s\n", strerror(errno));
		return (-1);
	}
	ev_io_init(&fr.f_headio, front_heads_cb, fr.f_headep, EV_READ);
	ev_io_start(fr.f_loop, &fr.f_headio);
	return (0);
}

/*
 * TCP_DEFER_ACCEPT: a connection is not accepted until its first bytes
 * arrive (or, from a client that sends none, once the kernel has retried
 * its SYN-ACK for about that many seconds; the head time-out runs from
 * then).  Every client of ours speaks first, so the supervisor wakes once
 * per connection, with the head there to read, instead of once for the
 * handshake and again for the head.
 */
static void
front_defer_one(int fd, int secs)
{
	if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
	    sizeof (secs)) != 0)
		mlog(MLOG_WARN, "cannot set TCP_DEFER_ACCEPT", "error=%s",
		    strerror(errno));
}

static const char *
front_kind_name(enum front_kind k)
{
	return (k == FRONT_PUBLIC ? "public" : k == FRONT_TRUSTED ?
	    "trusted" : "status");
}

static int
front_listen_one(const struct addrinfo *ai, const char *name,
    enum front_kind kind, int *portp)
{
	int fd, one = 1;
	char addr[96];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof (ss);

	if (fr.f_nlisten >= FRONT_MAX_LISTEN) {
		fprintf(stderr, "medusa: too many listening addresses\n");
		return (-1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		fprintf(stderr, "medusa: socket(%s): %s\n", name,
		    strerror(errno));
		return (-1);
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
	/* Accepted sockets inherit these: set once here, not per client. */
	netutil_tune_tcp(fd);
	if (fr.f_conf->mc_defer_accept > 0)
		front_defer_one(fd, fr.f_conf->mc_defer_accept);
	if (ai->ai_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof (one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 1024) != 0) {
		netutil_addr_str(ai->ai_addr, addr, sizeof (addr));
		fprintf(stderr, "medusa: cannot listen on %s: %s\n", addr,
		    strerror(errno));
		(void) close(fd);
		return (-1);
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		netutil_addr_str((struct sockaddr *)&ss, addr, sizeof (addr));
		*portp = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	}
	ev_io_init(&fr.f_lio[fr.f_nlisten], front_accept_cb, fd, EV_READ);
	fr.f_lio[fr.f_nlisten].data = (void *)(intptr_t)kind;
	fr.f_lfd[fr.f_nlisten++] = fd;
	mlog(MLOG_INFO, "listening", "address=%s port=%d listener=%s", addr,
	    *portp, front_kind_name(kind));
	return (0);
}

/* Said at every start and reload while it holds. */
void
front_auth_warning(void)
{
	if (fr.f_conf->mc_auth == CONFIG_AUTH_NONE)
		mlog(MLOG_WARN, "\"auth\" is \"none\": anyone who reaches the "
		    "port gets a shell in any session; set \"auth\": "
		    "\"signature\" unless a front door authenticates", "");
}

/*
 * Listen on host:port (every address it resolves to; with port 0 they
 * share the port the first got).  0, or -1 with a message on stderr.
 */
static int
front_listen_on(const char *host, int *portp, enum front_kind kind)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int rv;

	memset(&hints, 0, sizeof (hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(port, sizeof (port), "%d", *portp);
	rv = getaddrinfo(host, port, &hints, &res);
	if (rv != 0) {
		fprintf(stderr, "medusa: bad %s listener address \"%s\": %s\n",
		    front_kind_name(kind), host, gai_strerror(rv));
		return (-1);
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (front_listen_one(ai, host, kind, portp) != 0) {
			freeaddrinfo(res);
			return (-1);
		}
		snprintf(port, sizeof (port), "%d", *portp);
	}
	freeaddrinfo(res);
	return (0);
}

/*
 * Listen on every configured address (before the privileges go).  0, or
 * -1 with a message on stderr.
 */
int
front_listen(void)
{
	const struct medusa_config *c = fr.f_conf;
	char host[CONFIG_ADDR_MAX];
	int port;

	for (int i = 0; i < c->mc_nbind; i++) {
		if (front_listen_on(c->mc_bind[i], &fr.f_port,
		    FRONT_PUBLIC) != 0)
			return (-1);
	}
	front_auth_warning();
	for (int i = 0; i < c->mc_ntrusted; i++) {
		if (config_hostport(c->mc_trusted[i], host, sizeof (host),
		    &port) != 0 || front_listen_on(host, &port,
		    FRONT_TRUSTED) != 0)
			return (-1);
	}
	fr.f_status_port = -1;
	if (c->mc_status_listen[0] != '\0') {
		if (config_hostport(c->mc_status_listen, host, sizeof (host),
		    &port) != 0 || front_listen_on(host, &port,
		    FRONT_STATUS) != 0)
			return (-1);
		fr.f_status_port = port;
	}
	return (0);
}

/* SIGHUP changed defer_accept_s: the listeners take the new value. */
void
front_defer_accept(int secs)
{
	for (int i = 0; i < fr.f_nlisten; i++)
		front_defer_one(fr.f_lfd[i], secs);
}

/* The port bound (port 0 resolved). */
int
front_port(void)
{
	return (fr.f_port);
}

/* The status listener's port, or -1 if there is none. */
int
front_status_port(void)
{
	return (fr.f_status_port);
}


static void
front_timer(struct sconn *sc, double after)
{
	ev_timer_stop(fr.f_loop, &sc->sc_timer);
	ev_timer_set(&sc->sc_timer, after, 0);
	ev_timer_start(fr.f_loop, &sc->sc_timer);
}

/* Take a held connection off its shard's list (if it is on it). */
void
front_unhold(struct sconn *sc)
{
	struct shard *sh = sc->sc_shard;

	if (sc->sc_state != SC_HOLD || sh == NULL)
		return;
	if (sc->sc_hnext != NULL)
		sc->sc_hnext->sc_hprevp = sc->sc_hprevp;
	else
		sh->sh_held_tail = sc->sc_hprevp;
	*sc->sc_hprevp = sc->sc_hnext;
	sc->sc_hnext = NULL;
	sc->sc_hprevp = NULL;
	sc->sc_state = SC_HEAD;
}

static void
front_unlink(struct sconn *sc)
{
	workers_batch_forget(sc);
	front_unhold(sc);
	front_head_unwait(sc);
	ev_io_stop(fr.f_loop, &sc->sc_rio);
	ev_io_stop(fr.f_loop, &sc->sc_wio);
	ev_timer_stop(fr.f_loop, &sc->sc_timer);
	if (sc->sc_query != NULL)
		status_conn_gone(sc);
	LIST_REMOVE(sc, sc_link);
	fr.f_nconns--;
	if (sc->sc_host[0] != '\0')
		addrcount_del(fr.f_peers, sc->sc_host);
	free(sc->sc_buf);
	free(sc->sc_sid);
	buf_free(&sc->sc_out);
	free(sc);
	/* Below the connection limit again: accept again. */
	if (!fr.f_accepting && !sup_stopping() &&
	    fr.f_nconns < (size_t)fr.f_conf->mc_max_conns &&
	    !ev_is_active(&fr.f_accept_timer))
		front_accepting(true);
}

/* Close and free; fd ownership ends here. */
static void
front_destroy(struct sconn *sc)
{
	front_head_unwait(sc);
	(void) close(sc->sc_fd);
	front_unlink(sc);
}

/* The socket went to a worker: forget the connection without closing. */
void
front_forget(struct sconn *sc)
{
	front_unlink(sc);
}

struct sconn *
front_conn(int fd, const char *peer, uint64_t accept_ms, const char *reqid)
{
	struct sconn *sc;

	if ((sc = calloc(1, sizeof (*sc))) == NULL) {
		mlog(MLOG_ERROR, "out of memory for a connection", "peer=%s",
		    peer);
		(void) close(fd);
		return (NULL);
	}
	sc->sc_fd = fd;
	sc->sc_state = SC_HEAD;
	sc->sc_accept_ms = accept_ms;
	snprintf(sc->sc_peer, sizeof (sc->sc_peer), "%s", peer);
	snprintf(sc->sc_reqid, sizeof (sc->sc_reqid), "%s", reqid);
	ev_io_init(&sc->sc_rio, front_read_cb, fd, EV_READ);
	ev_io_init(&sc->sc_wio, front_write_cb, fd, EV_WRITE);
	ev_init(&sc->sc_timer, front_timer_cb);
	sc->sc_rio.data = sc->sc_wio.data = sc->sc_timer.data = sc;
	LIST_INSERT_HEAD(&fr.f_conns, sc, sc_link);
	fr.f_nconns++;
	front_timer(sc, fr.f_conf->mc_head_timeout);
	return (sc);
}

/*
 * Hold an attach while its shard has no ready worker: it is passed on
 * when one is ready (workers_flush_held), or answered 503 after
 * hold_timeout_s.
 */
void
front_hold(struct sconn *sc, struct shard *sh)
{
	sc->sc_state = SC_HOLD;
	sc->sc_shard = sh;
	sc->sc_hnext = NULL;
	sc->sc_hprevp = sh->sh_held_tail;
	*sh->sh_held_tail = sc;
	sh->sh_held_tail = &sc->sc_hnext;
	ev_io_stop(fr.f_loop, &sc->sc_rio);
	front_timer(sc, fr.f_conf->mc_hold_timeout);
	mlog(MLOG_DEBUG, "holding an attach for its shard's worker",
	    "req_id=%s shard=%u", sc->sc_reqid, sh->sh_index);
}

/* --- answering -------------------------------------------------------- */

static void
front_linger(struct sconn *sc)
{
	(void) shutdown(sc->sc_fd, SHUT_WR);
	sc->sc_state = SC_LINGER;
	ev_io_start(fr.f_loop, &sc->sc_rio);
	front_timer(sc, fr.f_conf->mc_close_timeout);
}

/* Write a whole response, then close gracefully. */
void
front_respond(struct sconn *sc, const char *data, size_t len)
{
	ssize_t n;

	front_unhold(sc);
	front_head_unwait(sc);
	sc->sc_state = SC_RESPOND;
	ev_io_stop(fr.f_loop, &sc->sc_rio);
	front_timer(sc, fr.f_conf->mc_close_timeout);
	do {
		n = send(sc->sc_fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			front_destroy(sc);
			return;
		}
		n = 0;
	}
	if ((size_t)n == len) {
		front_linger(sc);
		return;
	}
	if (buf_append(&sc->sc_out, data + n, len - (size_t)n) != 0) {
		front_destroy(sc);
		return;
	}
	ev_io_start(fr.f_loop, &sc->sc_wio);
}

/* An error response without a log line (the caller logs, rate-limited). */
static void
front_refuse(struct sconn *sc, int status, const char *code,
    const char *message, const char *extra)
{
	char resp[1024];
	size_t n;

	n = httpresp_error(resp, sizeof (resp), status, code, message, extra);
	front_respond(sc, resp, n);
}

void
front_error(struct sconn *sc, int status, const char *code,
    const char *message, const char *extra)
{
	mlog(status >= 500 ? MLOG_WARN : MLOG_INFO, "request refused",
	    "req_id=%s peer=%s status=%d code=%s error=%s", sc->sc_reqid,
	    sc->sc_peer, status, code, message);
	metrics_refusal(status);
	front_refuse(sc, status, code, message, extra);
}

static void
front_write_cb(EV_P_ ev_io *w, int revents)
{
	struct sconn *sc = w->data;
	ssize_t n;

	(void) EV_A;
	(void) revents;
	do {
		n = send(sc->sc_fd, buf_head(&sc->sc_out), sc->sc_out.b_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			front_destroy(sc);
		return;
	}
	buf_consume(&sc->sc_out, (size_t)n);
	if (sc->sc_out.b_len == 0) {
		ev_io_stop(fr.f_loop, &sc->sc_wio);
		front_linger(sc);
	}
}

static void
front_timer_cb(EV_P_ ev_timer *w, int revents)
{
	struct sconn *sc = w->data;

	(void) EV_A;
	(void) revents;
	if (sc->sc_state == SC_HEAD) {
		if (sc->sc_len == 0) {
			/* Nothing at all: not worth an answer. */
			static struct mlog_limit lim;
			unsigned long skipped;

			if (mlog_allow(&lim, &skipped))
				mlog(MLOG_INFO, "connection idle before a "
				    "request", "req_id=%s peer=%s "
				    "times_since_last_line=%lu", sc->sc_reqid,
				    sc->sc_peer, skipped);
			front_destroy(sc);
			return;
		}
		front_error(sc, 408, "RequestTimeout",
		    "the request head did not arrive in time", NULL);
		return;
	}
	if (sc->sc_state == SC_HOLD) {
		front_error(sc, 503, "ServiceUnavailable", "the shard for this "
		    "session has no worker ready", "Retry-After: 1\r\n");
		return;
	}
	/* Writing or lingering took too long. */
	mlog(MLOG_INFO, "close handshake timed out", "req_id=%s peer=%s "
	    "unsent=%zu", sc->sc_reqid, sc->sc_peer, sc->sc_out.b_len);
	front_destroy(sc);
}

/* --- routing ---------------------------------------------------------- */

/*
 * Who may attach, and the worker's key for the session.  With "auth":
 * "signature" the public listeners serve only /<account>/medusa/attach/...
 * and the worker checks a credential of the account (PROTO_ATTACH_AUTH);
 * sessions are keyed "<account>/<id>", so two accounts never meet under
 * one id.  A trusted listener (behind a front door that authenticates)
 * takes either path without a credential, keyed the same way.  With
 * "auth": "none" anyone may attach, and the account (if any) is ignored,
 * as before accounts were told apart.  0, or -1 when sc was answered.
 */
static int
front_attach_key(struct sconn *sc, const struct route *r, char *key,
    size_t cap)
{
	bool accounts = fr.f_conf->mc_auth == CONFIG_AUTH_SIGNATURE;

	sc->sc_flags = 0;
	if (accounts && sc->sc_kind == FRONT_PUBLIC) {
		if (r->r_acctlen == 0) {
			front_error(sc, 404, "ResourceNotFound", "attach at "
			    "/<account>/medusa/attach/<id>/master|slave", NULL);
			return (-1);
		}
		sc->sc_flags = PROTO_ATTACH_AUTH;
	}
	if (accounts && r->r_acctlen > 0)
		snprintf(key, cap, "%s/%s", r->r_acct, r->r_id);
	else
		snprintf(key, cap, "%s", r->r_id);
	return (0);
}

static void
front_route(struct sconn *sc, size_t headlen)
{
	char key[ROUTE_ACCOUNT_MAX + 1 + ROUTE_ID_MAX + 1];
	struct httphead h;
	struct route r;
	unsigned shard;
	int rv;

	(void) headlen;
	rv = httphead_parse_request(sc->sc_buf, sc->sc_len, &h);
	switch (rv) {
	case HTTPHEAD_OK:
		break;
	case HTTPHEAD_E_TOO_MANY:
		front_error(sc, 431, "RequestHeaderFieldsTooLarge",
		    "too many header fields", NULL);
		return;
	case HTTPHEAD_E_VERSION:
		front_error(sc, 505, "HTTPVersionNotSupported",
		    "only HTTP/1.x is served", NULL);
		return;
	default:
		front_error(sc, 400, "BadRequest", "malformed request", NULL);
		return;
	}

	/* RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host. */
	if ((h.hh_minor >= 1 && httphead_count(&h, "Host") == 0) ||
	    httphead_count(&h, "Host") > 1) {
		front_error(sc, 400, "BadRequest", "a request needs one Host "
		    "header", NULL);
		return;
	}
	route_parse(h.hh_target.s_p, h.hh_target.s_n, fr.f_conf->mc_max_id,
	    &r);
	if (r.r_kind == ROUTE_E_NOT_FOUND ||
	    (r.r_kind == ROUTE_METRICS && sc->sc_kind != FRONT_STATUS) ||
	    (r.r_kind == ROUTE_ATTACH && sc->sc_kind == FRONT_STATUS)) {
		front_error(sc, 404, "ResourceNotFound", "no such resource",
		    NULL);
		return;
	}
	if (!httphead_span_ieq(&h.hh_method, "GET")) {
		front_error(sc, 405, "MethodNotAllowed", "only GET is allowed",
		    "Allow: GET\r\n");
		return;
	}
	if (r.r_kind == ROUTE_E_BAD_ID) {
		char why[128];

		snprintf(why, sizeof (why), "the session id must be 1 to %zu "
		    "letters, digits, '-', '_', '.' or '~'",
		    fr.f_conf->mc_max_id);
		front_error(sc, 400, "InvalidSessionId", why, NULL);
		return;
	}
	if (r.r_kind == ROUTE_E_BAD_ACCOUNT) {
		front_error(sc, 400, "InvalidAccount", "the account name must "
		    "be 1 to 64 letters, digits, '-', '_', '.' or '@', not "
		    "starting with '.'", NULL);
		return;
	}
	if (r.r_kind == ROUTE_STATUS) {
		if (sc->sc_kind == FRONT_STATUS)
			status_start(sc);
		else
			status_health(sc);
		return;
	}
	if (r.r_kind == ROUTE_METRICS) {
		metrics_serve(sc);
		return;
	}
	if (front_attach_key(sc, &r, key, sizeof (key)) != 0)
		return;

	shard = shard_of(key, strlen(key), workers_nshards());
	mlog(MLOG_DEBUG, "routing attach", "req_id=%s peer=%s session=%s "
	    "role=%s shard=%u", sc->sc_reqid, sc->sc_peer, key,
	    route_role_name(r.r_role), shard);
	if ((sc->sc_sid = strdup(key)) == NULL) {
		front_error(sc, 503, "ServiceUnavailable", "out of memory",
		    "Retry-After: 1\r\n");
		return;
	}
	sc->sc_role = r.r_role;
	metrics_routed(r.r_role);
	sc->sc_shard = workers_shard(shard);
	workers_route(sc);
}

static void
front_read_cb(EV_P_ ev_io *w, int revents)
{
	struct sconn *sc = w->data;
	size_t cap = fr.f_conf->mc_head_max, end;
	ssize_t n;

	(void) EV_A;
	(void) revents;
	if (sc->sc_state == SC_LINGER) {
		char junk[4096];

		do {
			n = recv(sc->sc_fd, junk, sizeof (junk), 0);
		} while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			front_destroy(sc);
		return;
	}
	if (sc->sc_buf == NULL) {
		/* The first read goes to the shared buffer (f_first). */
		if (fr.f_firstcap < cap) {
			free(fr.f_first);
			fr.f_firstcap = 0;
			if ((fr.f_first = malloc(cap)) == NULL) {
				front_destroy(sc);
				return;
			}
			fr.f_firstcap = cap;
		}
		do {
			n = recv(sc->sc_fd, fr.f_first, cap, MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
		if (n > 0) {
			if ((sc->sc_buf = malloc(cap)) == NULL) {
				front_destroy(sc);
				return;
			}
			sc->sc_cap = cap;
			memcpy(sc->sc_buf, fr.f_first, (size_t)n);
		}
	} else {
		/* Its own size: head_max may have changed since (SIGHUP). */
		cap = sc->sc_cap;
		do {
			n = recv(sc->sc_fd, sc->sc_buf + sc->sc_len,
			    cap - sc->sc_len, MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			front_destroy(sc);
		else
			front_head_wait(sc);
		return;
	}
	if (n == 0) {
		if (sc->sc_len > 0)
			mlog(MLOG_INFO, "client closed before its head ended",
			    "req_id=%s peer=%s bytes=%zu", sc->sc_reqid,
			    sc->sc_peer, sc->sc_len);
		front_destroy(sc);
		return;
	}
	sc->sc_len += (size_t)n;
	if (!httphead_plausible(sc->sc_buf, sc->sc_len)) {
		front_error(sc, 400, "BadRequest", "not an HTTP request", NULL);
		return;
	}
	end = httphead_end(sc->sc_buf, sc->sc_len, sc->sc_scan);
	if (end == 0) {
		sc->sc_scan = sc->sc_len;
		if (sc->sc_len == cap)
			front_error(sc, 431, "RequestHeaderFieldsTooLarge",
			    "the request head is too large", NULL);
		else
			front_head_wait(sc);
		return;
	}
	front_head_unwait(sc);
	front_route(sc, end);
}

/* --- accepting -------------------------------------------------------- */

/*
 * Count a new connection against its address; beyond the limit it gets a
 * 503 at once (and a log line, at most one a second).
 */
static bool
front_count_peer(struct sconn *sc)
{
	static struct mlog_limit lim;
	unsigned long skipped;
	unsigned n;

	addrcount_host(sc->sc_peer, sc->sc_host, sizeof (sc->sc_host));
	if ((n = addrcount_add(fr.f_peers, sc->sc_host)) == 0) {
		sc->sc_host[0] = '\0';		/* out of memory: not counted */
		return (true);
	}
	if (n <= (unsigned)fr.f_conf->mc_max_per_addr)
		return (true);
	if (mlog_allow(&lim, &skipped))
		mlog(MLOG_WARN, "too many connections from one address",
		    "address=%s connections=%u max_connections_per_address=%d "
		    "times_since_last_line=%lu", sc->sc_host, n,
		    fr.f_conf->mc_max_per_addr, skipped);
	front_refuse(sc, 503, "TooManyConnections", "too many connections "
	    "from this address", "Retry-After: 1\r\n");
	return (false);
}

void
front_accepting(bool on)
{
	fr.f_accepting = on;
	for (int i = 0; i < fr.f_nlisten; i++) {
		if (on)
			ev_io_start(fr.f_loop, &fr.f_lio[i]);
		else
			ev_io_stop(fr.f_loop, &fr.f_lio[i]);
	}
}

/*
 * Out of descriptors: use the spare to accept and close the newest
 * connection (so it is not left hanging), then stop accepting for a moment
 * instead of spinning on a listener that stays readable.
 */
static void
front_shed(int lfd)
{
	int fd;

	mlog(MLOG_WARN, "out of file descriptors; shedding a connection and "
	    "pausing accept", "connections=%zu", fr.f_nconns);
	if (fr.f_spare_fd >= 0) {
		(void) close(fr.f_spare_fd);
		fr.f_spare_fd = -1;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			(void) close(fd);
		fr.f_spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	front_accepting(false);
	ev_timer_set(&fr.f_accept_timer, 0.1, 0);
	ev_timer_start(fr.f_loop, &fr.f_accept_timer);
}

static void
front_accept_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) revents;
	for (int i = 0; i < FRONT_ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof (ss);
		char peer[64], reqid[32];
		struct sconn *sc;
		int fd;

		if (fr.f_nconns >= (size_t)fr.f_conf->mc_max_conns) {
			static struct mlog_limit lim;
			unsigned long skipped;

			if (mlog_allow(&lim, &skipped))
				mlog(MLOG_WARN, "connection limit reached; "
				    "pausing accept", "max_connections=%d "
				    "times_since_last_line=%lu",
				    fr.f_conf->mc_max_conns, skipped);
			front_accepting(false);
			return;
		}
		fd = accept4(w->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				front_shed(w->fd);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				mlog(MLOG_ERROR, "accept4 failed", "error=%s",
				    strerror(errno));
			return;
		}
		/* (TCP options come from the listening socket.) */
		netutil_addr_str((struct sockaddr *)&ss, peer, sizeof (peer));
		snprintf(reqid, sizeof (reqid), "%s-%llu", fr.f_reqprefix,
		    (unsigned long long)++fr.f_reqseq);
		if ((sc = front_conn(fd, peer, netutil_now_ms(), reqid)) == NULL)
			continue;
		sc->sc_kind = (enum front_kind)(intptr_t)w->data;
		/*
		 * The head has usually arrived by now: read it at once rather
		 * than after a trip through the event loop.
		 */
		if (front_count_peer(sc))
			front_read_cb(EV_A_ &sc->sc_rio, EV_READ);
	}
}

/* TERM: no more accepting, and every connection still here is closed. */
void
front_stop(void)
{
	front_accepting(false);
	ev_timer_stop(fr.f_loop, &fr.f_accept_timer);
	for (int i = 0; i < fr.f_nlisten; i++)
		(void) close(fr.f_lfd[i]);
	fr.f_nlisten = 0;
	while (!LIST_EMPTY(&fr.f_conns))
		front_destroy(LIST_FIRST(&fr.f_conns));
}
