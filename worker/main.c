/*
 * medusa-worker: one shard of the Medusa reflector.
 *
 * BIG THEORY STATEMENT
 *
 * The reflector pairs two WebSockets that share a session id: the client's
 * ("master", mlogin) and the agent's ("slave", inside the remote job), and
 * relays messages between them.  The supervisor (supervisor/main.c) owns the
 * listening sockets; it reads each request head, picks the shard that owns
 * the session id (shard.h) and passes the socket to that shard's worker:
 * this process.  Because every connection of a session lands on the same
 * worker, pairing needs no coordination between processes, and a worker
 * that dies takes only its own shard's sessions with it.
 *
 * Control channel.  Descriptor 3 is a UNIX stream socket to the supervisor
 * carrying the messages of proto.h.  The supervisor speaks first (CONFIG);
 * the worker answers READY and from then on receives ATTACH messages, each
 * with one socket (or an ATTACH_BATCH of several, each handled as an
 * ATTACH in turn), and STATUS_REQ / SHUTDOWN; it sends a REPORT every
 * second and a last one as it exits cleanly (its running totals since it
 * started: session counts, bytes, the directory's counters, and
 * wmetrics.c's event counters and histograms; the supervisor carries them
 * over the worker's replacement, metrics.c there), and answers each
 * STATUS_REQ in chunks paced to the room in its bounded queue
 * (status.c), so that none is lost.  Reading is ctlchan_pump(), as for
 * every control channel.  Every message is decoded in full before it is
 * acted on, and one dispatch table (worker_dispatch[]) maps type to
 * handler; anything unexpected from the supervisor is fatal, since the
 * channel can no longer be trusted, and the supervisor starts a new
 * worker.  If the channel closes, the supervisor is gone: the worker
 * closes its sessions (1001) and exits.
 *
 * Attaching.  An ATTACH carries the request head the supervisor read, and
 * any bytes after it.  The worker checks the upgrade (wshandshake.c) and
 * whether the session can take this role (a second master or slave is
 * refused with 409) and answers with an HTTP error and a JSON body, or with
 * 101 and the connection joins its session (session.c).  Either side may
 * come first; the first waits, up to the pairing time-out, and a waiting
 * master gets a "wait" pulse every two seconds.  When both are there the
 * slave, then the master, gets "linkup" and the session forwards.
 *
 * Relaying (conn.c).  Frames are parsed and unmasked in place as they are
 * read; a whole message (fragments are reassembled, up to the maximum
 * message size) goes to the other side as one unmasked frame of the same
 * type, written directly when that side's queue is empty.  The receiver's
 * queue is bounded by watermarks: above the high one the sender is no
 * longer read, so TCP pushes back on it; below the low one it is read
 * again.  Pings are answered on each hop and never forwarded.  A CLOSE is
 * passed on to the other side with its code and reason; a side that
 * vanishes without one costs its peer a CLOSE 1001.
 *
 * Bad input (a bad frame, bad UTF-8, a message too big) fails only the
 * connection that sent it, with the matching close code and one log line;
 * its peer gets a 1001, and every other session goes on untouched.
 *
 * Ownership.  Each socket belongs to exactly one struct conn from the
 * moment it is received until conn_destroy() closes it.  Structs are freed
 * only by the reaper, an ev_prepare watcher, after the callback that ended
 * them has returned.  Sessions and connections are plain data (worker.h),
 * so that a handoff can move them into another process.  A socket is
 * closed through worker_close_sock(), which first takes it out of libev's
 * epoll set: the supervisor may still hold its copy of a socket it just
 * passed, and a stray event of it would make libev rebuild its whole set,
 * a cost that grows with every connection held (issue 16).  Nothing else
 * here costs in proportion to the sessions held: the table grows by
 * doubling, each session has one timer (a heap), and REPORT carries
 * counters kept as they change.
 *
 * Handoff (handoff.c).  In a rolling restart this worker either hands its
 * live sessions to a successor (HANDOFF) or takes them over from a
 * predecessor (HANDIN), over a socketpair the supervisor gives them.  A
 * session moves as plain data (session_freeze: its queued output, unparsed
 * input, partial message, timers, counters) plus its sockets, and resumes
 * where it stopped (session_thaw).  The sender keeps everything until the
 * successor acknowledges the session, and the successor acknowledges before
 * it touches the sockets, so a successor that dies half-way costs only the
 * sessions it had already taken; the rest go back into service here.
 *
 * Session directory (directory.c, session.c; issue 16).  With config
 * "directory" set, the first CONFIG starts a hiredis client on this loop
 * (never a blocking call).  An attach for a session this worker does not
 * hold first claims it for this host ("<advertise> <fence>", SET NX PX
 * claim_ttl; worker_lookup) and waits for the answer (at most 200 ms);
 * the other side arriving meanwhile waits behind that claim and follows
 * its answer (one claim per session at a time).  Won, or Redis down or
 * slow: the session is made here (the outage counted and logged,
 * rate-limited); held by another host: the socket is spliced to that
 * host (forward.c), and while the splice lives it counts here as a
 * session (max_sessions_per_worker) and as a connection of its client's
 * address (max_connections_per_address): past either, the attach gets the
 * limit's 503 here instead.  A claim is refreshed every claim_ttl/3 while its
 * session lives (a round spread over that interval with a cursor, the
 * backlog bounded: session_refresh_cb) and removed at its end, by compare
 * scripts that act only on the session's own fence (releases past the
 * backlog wait for room rather than lapse; a worker on its way out waits
 * up to WORKER_DIR_WAIT for its requests to Redis to be answered; a claim
 * granted after its time-out is released at once); a stale claim of
 * this host is taken over.  An attach another host forwarded
 * here carries X-Medusa-Hop (whop.c): believed (mac with the deployment's
 * secret, time window, fresh nonce), it needs no credential; otherwise it
 * is refused with 403.  Counters go to the supervisor in REPORT (enum
 * proto_dirc).
 *
 * Shutdown.  SHUTDOWN mode 1 (or SIGTERM, SIGINT, or the supervisor going
 * away) closes every session with 1001 "server shutting down" and exits
 * once every connection is closed, or when the shutdown time-out passes.
 * Mode 2 (drain) refuses new sessions (the other side of a waiting one may
 * still join it) and exits when the last one ends, or closes what is left
 * with 1001 when its time-out passes.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "addrcount.h"
#include "ctlchan.h"
#include "directory.h"
#include "faults.h"	/* the test build's */
#include "httphead.h"
#include "mlog.h"
#include "netutil.h"
#include "proto.h"
#include "route.h"
#include "version.h"
#include "worker.h"
#include "wshandshake.h"

#define	WORKER_CTL_QMAX		(64u * 1024 * 1024)
#define	WORKER_CTL_RESERVE	64	/* 1/64 of it kept for small messages */
_Static_assert(WORKER_CTL_QMAX >= PROTO_FRAME_MAX,
    "any message fits the empty queue");
#define	WORKER_CTL_READS	32	/* control reads per wake-up, at most */
#define	WORKER_EXIT_VERSION	3
#define	WORKER_FD_RESERVE	32

/*
 * This file's state: the control channel to the supervisor and the
 * settings it sent (the other files read them through the pointer their
 * init was given), the shutdown, the process's timers and signals, and
 * the ATTACH_BATCH being handled.  Connections are conn.c's, sessions
 * session.c's, a handoff handoff.c's.
 */
static struct worker {
	struct ev_loop	*w_loop;
	struct wconf	w_conf;
	bool		w_configured;
	int		w_shutdown;	/* 0, or PROTO_SHUTDOWN_* */
	struct ctlchan	w_ctl;
	ev_io		w_ctl_rio;
	ev_io		w_ctl_wio;
	ev_timer	w_report;
	int		w_epfd;		/* libev's epoll set, or -1 */
	ev_timer	w_shutdown_timer;
	ev_timer	w_drain_timer;
	ev_timer	w_dir_timer;	/* the wait for the directory at exit */
	bool		w_dir_waited;	/* ... is over */
	ev_prepare	w_reaper;
	ev_signal	w_sigterm;
	ev_signal	w_sigint;
	size_t		w_fd_sessions;	/* sessions the fd limit allows */
	unsigned long long w_fd_limit;	/* RLIMIT_NOFILE as we found it */
	/* The connections of the ATTACH_BATCH being handled, still corked. */
	bool		w_corking;
	struct conn	*w_corked[PROTO_BATCH_MAX];
	unsigned	w_ncorked;
	struct proto_attach_batch w_batch;	/* 16 x 6 spans: not on the stack */
} wk;

static void worker_shutdown(int mode, const char *why);

/* The control channel's queue bound (a test build may set another). */
static size_t
worker_ctl_qmax(void)
{
#ifdef MEDUSA_FAULTS
	if (fault_knob("MEDUSA_FAULT_CTL_QMAX") > 0)
		return ((size_t)fault_knob("MEDUSA_FAULT_CTL_QMAX"));
#endif
	return (WORKER_CTL_QMAX);
}

/*
 * Queue a message for the supervisor.  0; or -1 if it cannot be queued
 * (errno: EPIPE the channel is closed, ENOBUFS its queue is full, ENOMEM),
 * and the caller says what that costs: nothing is dropped in silence.
 * What can be large (status replies) waits for room instead (status.c,
 * worker_ctl_room()), so the small messages always find some.
 */
int
worker_ctl_send(msgpack_sbuffer *sb)
{
	if (wk.w_ctl.cc_fd < 0) {
		errno = EPIPE;
		return (-1);
	}
	if (ctlchan_send(&wk.w_ctl, sb->data, sb->size, NULL, 0, NULL) != 0)
		return (-1);
	ev_io_start(wk.w_loop, &wk.w_ctl_wio);
	return (0);
}

/*
 * May a status chunk of n bytes be queued now?  Only with room left for
 * the small messages (WORKER_CTL_RESERVE of the queue); and always into an
 * empty queue, so that a reply makes progress whatever its size.
 */
bool
worker_ctl_room(size_t n)
{
	size_t q = ctlchan_queued(&wk.w_ctl);

	return (wk.w_ctl.cc_fd >= 0 && (q == 0 || q + n +
	    wk.w_ctl.cc_qmax / WORKER_CTL_RESERVE <= wk.w_ctl.cc_qmax));
}

/*
 * Close a socket the loop watches or watched.  Its file may outlive our
 * close() (the supervisor closes its copy after the sendmsg() that passed
 * it, a race a loaded machine loses now and then), and a stray event of
 * it would make libev rebuild its epoll set, one epoll_ctl() for every
 * connection held: so it leaves the set first (netutil_epoll_forget()).
 * libev does not say which descriptor its set is: looked for at the
 * start, and again if it moved (libev recreates its set after a stray).
 */
void
worker_close_sock(int fd)
{
	if (wk.w_epfd >= 0 && netutil_epoll_forget(wk.w_epfd, fd) != 0) {
		wk.w_epfd = netutil_epoll_find();
		(void) netutil_epoll_forget(wk.w_epfd, fd);
	}
	(void) close(fd);
}

static void
worker_protocol_error(const char *what, const char *detail)
{
	mlog(MLOG_FATAL, "control protocol error; exiting", "error=%s "
	    "detail=%s", what, detail);
	exit(1);
}

/* --- handlers of supervisor messages ------------------------------------ */

/*
 * The session directory, from the first CONFIG; a later change of URL or
 * address is logged and takes effect when the worker is replaced.
 */
static void
worker_directory(const struct proto_config *m)
{
	static char url[CONFIG_URL_MAX], adv[CONFIG_HOSTPORT_MAX];
	static bool done;

	if (m->pc_directory.ps_n >= sizeof (url) ||
	    m->pc_advertise.ps_n >= sizeof (adv))
		worker_protocol_error("bad CONFIG", "directory too long");
	if (done) {
		if (m->pc_directory.ps_n != strlen(url) ||
		    memcmp(url, m->pc_directory.ps_p, strlen(url)) != 0)
			mlog(MLOG_WARN, "a new directory takes effect when "
			    "the worker is replaced", "");
		return;
	}
	done = true;
	memcpy(url, m->pc_directory.ps_p, m->pc_directory.ps_n);
	url[m->pc_directory.ps_n] = '\0';
	memcpy(adv, m->pc_advertise.ps_p, m->pc_advertise.ps_n);
	adv[m->pc_advertise.ps_n] = '\0';
	if (url[0] == '\0')
		return;
	if (dir_init(wk.w_loop, url, adv,
	    (double)m->pc_claim_ttl_ms / 1000.0) != 0)
		mlog(MLOG_ERROR, "bad directory URL: serving without one",
		    "");
	else
		mlog(MLOG_INFO, "session directory", "advertise=%s", adv);
}

static void
worker_msg_config(const uint8_t *b, size_t n)
{
	struct proto_config m;
	struct proto_ready r;
	msgpack_sbuffer sb;
	char err[128];

	if (proto_dec_config(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad CONFIG", err);
	if (m.pc_version != PROTO_VERSION) {
		mlog(MLOG_FATAL, "supervisor speaks another protocol version",
		    "theirs=%u ours=%d", m.pc_version, PROTO_VERSION);
		exit(WORKER_EXIT_VERSION);
	}
	wk.w_conf.wc_shard = m.pc_shard;
	wk.w_conf.wc_nshards = m.pc_nshards;
	wk.w_conf.wc_pairing = (ev_tstamp)m.pc_pairing_ms / 1000.0;
	wk.w_conf.wc_idle = (ev_tstamp)m.pc_idle_ms / 1000.0;
	wk.w_conf.wc_close = (ev_tstamp)m.pc_close_ms / 1000.0;
	wk.w_conf.wc_ping = (ev_tstamp)m.pc_ping_ms / 1000.0;
	wk.w_conf.wc_wait = (ev_tstamp)m.pc_wait_ms / 1000.0;
	wk.w_conf.wc_shutdown = (ev_tstamp)m.pc_shutdown_ms / 1000.0;
	wk.w_conf.wc_max_message = (size_t)m.pc_max_message;
	wk.w_conf.wc_out_high = (size_t)m.pc_out_high;
	wk.w_conf.wc_out_low = (size_t)m.pc_out_low;
	wk.w_conf.wc_max_id = (size_t)m.pc_max_id;
	wk.w_conf.wc_max_sessions = (size_t)m.pc_max_sessions;
	wk.w_conf.wc_max_per_addr = (size_t)m.pc_max_per_addr;
	wk.w_conf.wc_claim_ttl = (ev_tstamp)m.pc_claim_ttl_ms / 1000.0;
	if (wk.w_conf.wc_claim_ttl <= 0)
		wk.w_conf.wc_claim_ttl = 30;
	worker_directory(&m);
	/*
	 * A session holds two sockets.  Never take more sessions than the
	 * descriptor limit allows: past it the kernel would drop passed
	 * sockets; below it the client gets a clean 503.
	 */
	if (wk.w_conf.wc_max_sessions > wk.w_fd_sessions) {
		if (!wk.w_configured)
			mlog(MLOG_WARN, "sessions limited by the descriptor "
			    "limit", "max_sessions=%zu configured=%zu "
			    "fd_limit=%llu", wk.w_fd_sessions,
			    wk.w_conf.wc_max_sessions, wk.w_fd_limit);
		wk.w_conf.wc_max_sessions = wk.w_fd_sessions;
	}
	mlog_set_level((int)m.pc_log_level);
	mlog_set_shard((int)m.pc_shard);
	wauth_configure(&m);
	wresume_configure(&m);
	whop_configure(&m);
	if (!wk.w_configured) {
		wk.w_configured = true;
		memset(&r, 0, sizeof (r));
		r.pr_version = PROTO_VERSION;
		r.pr_pid = (uint32_t)getpid();
		r.pr_shard = m.pc_shard;
		r.pr_software.ps_p = MEDUSA_VERSION;
		r.pr_software.ps_n = strlen(MEDUSA_VERSION);
		msgpack_sbuffer_init(&sb);
		(void) proto_enc_ready(&sb, &r);
		if (worker_ctl_send(&sb) != 0) {
			mlog(MLOG_FATAL, "cannot queue READY", "error=%s",
			    strerror(errno));
			exit(1);
		}
		msgpack_sbuffer_destroy(&sb);
		mlog(MLOG_INFO, "worker ready", "version=%s nshards=%u",
		    MEDUSA_VERSION, m.pc_nshards);
	} else {
		mlog(MLOG_INFO, "configuration updated", "");
	}
}

static void worker_attach(const struct proto_attach *, int fd);

static void
worker_msg_attach(const uint8_t *b, size_t n)
{
	struct proto_attach m;
	char err[128];
	int fd;

	if (proto_dec_attach(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad ATTACH", err);
	switch (ctlchan_take_fds(&wk.w_ctl, &fd, 1)) {
	case 0:
		worker_attach(&m, fd);
		return;
	case 1:
		/* The kernel could not give us the socket: EMFILE. */
		mlog(MLOG_ERROR, "a connection was lost: out of file "
		    "descriptors", "req_id=%.*s session=%.*s",
		    (int)m.pa_req_id.ps_n, m.pa_req_id.ps_p,
		    (int)m.pa_session.ps_n, m.pa_session.ps_p);
		return;
	default:
		worker_protocol_error("ATTACH without a descriptor", "");
	}
}

/* Several attaches in one message, their sockets in order. */
static void
worker_msg_attach_batch(const uint8_t *b, size_t n)
{
	struct proto_attach_batch *m = &wk.w_batch;
	int fds[PROTO_BATCH_MAX];
	char err[128];

	if (proto_dec_attach_batch(b, n, m, err, sizeof (err)) != 0)
		worker_protocol_error("bad ATTACH_BATCH", err);
	switch (ctlchan_take_fds(&wk.w_ctl, fds, (int)m->pab_n)) {
	case 0:
		mlog(MLOG_DEBUG, "attaches received together",
		    "connections=%u", (unsigned)m->pab_n);
		/*
		 * Each stays corked until the whole batch is handled: a slave
		 * and its master that came together get their 101 and their
		 * linkup in one write each.  (session_link() uncorks the
		 * slave itself, so its linkup still leaves first.)
		 */
		wk.w_ncorked = 0;
		wk.w_corking = true;
		for (uint32_t i = 0; i < m->pab_n; i++)
			worker_attach(&m->pab_a[i], fds[i]);
		wk.w_corking = false;
		for (unsigned i = 0; i < wk.w_ncorked; i++)
			conn_uncork(wk.w_corked[i]);
		return;
	case 1:
		/* One read lost (EMFILE): every socket of the batch with it. */
		mlog(MLOG_ERROR, "connections were lost: out of file "
		    "descriptors", "connections=%u first_req_id=%.*s",
		    (unsigned)m->pab_n, (int)m->pab_a[0].pa_req_id.ps_n,
		    m->pab_a[0].pa_req_id.ps_p);
		return;
	default:
		worker_protocol_error("ATTACH_BATCH without its descriptors",
		    "");
	}
}

/* A session limit (503): one line a second at most, however many. */
static void
worker_refuse_limit(struct conn *c, const char *code, const char *message)
{
	static struct mlog_limit lim;
	unsigned long skipped;

	if (mlog_allow(&lim, &skipped))
		mlog(MLOG_WARN, "session limit reached", "code=%s "
		    "max_sessions_per_worker=%zu times_since_last_line=%lu",
		    code, wk.w_conf.wc_max_sessions, skipped);
	conn_http_refuse(c, 503, code, message, "Retry-After: 1\r\n");
}

/* One attach and its socket: the handshake, then its session. */
/*
 * The attach joins its session here: resume, admission, the 101 and the
 * session.  bytes[0..n) is the request head and what followed it.
 */
static void
worker_attach_local(struct conn *c, const char *key, size_t keylen,
    int role, const char *bytes, size_t n, const struct httphead *hp,
    const char *accept, int ping_ok)
{
	struct httphead head = *hp;
	const char *code, *message;
	char resp[256];
	bool replace;
	int status;
	size_t rn;

	/* A side that can resume, or comes back with its token. */
	if (wresume_attach(c, &head, key, keylen,
	    role, &replace) != 0)
		return;
	status = session_admit(key, keylen,
	    role, replace, &code, &message);
	if (status == 503) {
		worker_refuse_limit(c, code, message);
		return;
	}
	if (status != 0) {
		conn_http_error(c, status, code, message, status == 503 ?
		    "Retry-After: 1\r\n" : NULL);
		return;
	}
	wmetrics_attach(role, 101);
	rn = wshandshake_response(resp, sizeof (resp), accept);
	/* The 101 and what joining sends (linkup or wait) in one write. */
	conn_cork(c);
	if (conn_write_raw(c, resp, rn) != 0)
		return;
	if (session_attach(c, key, keylen,
	    role) != 0) {
		conn_send_close(c, 1011, "out of memory", 13);
		conn_uncork(c);
		return;
	}
	if (wk.w_corking)
		wk.w_corked[wk.w_ncorked++] = c;
	else
		conn_uncork(c);
	conn_start(c, ping_ok != 0, (const uint8_t *)bytes + head.hh_len,
	    n - head.hh_len);
}

/*
 * An attach waiting for the directory's answer: copies of its fields.
 * One claim per session at a time: a side of a session whose claim is
 * already under way here waits behind it (wl_behind) and follows its
 * answer, rather than claiming too (its claim would find the first's,
 * take it over under another fence, then let it go: the session would
 * hold no claim).
 */
struct wlookup {
	struct wlookup	*wl_next;	/* claims under way (wk_lookups) */
	struct wlookup	*wl_behind;	/* sides waiting for this answer */
	struct conn	*wl_conn;
	int		wl_role;
	size_t		wl_keylen;
	size_t		wl_n;
	char		wl_fence[DIR_FENCE_LEN + 1];
	char		*wl_key;
	char		wl_bytes[];	/* the head and what followed */
};

static struct wlookup *wk_lookups;	/* claims under way, few */

/* l's answer is result: forward it, or serve it here (claimed: first). */
static void
worker_lookup_done(struct wlookup *l, int result, const char *addr,
    bool first)
{
	struct httphead head;
	struct wsh_error we;
	char accept[WSH_ACCEPT_LEN + 1], reqid[48], peer[64];
	char host[ADDRCOUNT_HOST_MAX], unused[DIR_FENCE_LEN + 1];
	const char *code, *message;
	const uint8_t *secret;
	size_t sn;
	int ping_ok, fd;

	/* Parsed before: both succeed again on the same bytes. */
	if (httphead_parse_request(l->wl_bytes, l->wl_n, &head) !=
	    HTTPHEAD_OK || wshandshake_check_request(&head, accept, &ping_ok,
	    &we) != 0) {
		conn_abort(l->wl_conn, "internal error");
		return;
	}
	if (result == DIR_OTHER &&
	    session_find(l->wl_key, l->wl_keylen) == NULL) {
		/* The splice counts here as a session would. */
		if (session_admit(l->wl_key, l->wl_keylen, l->wl_role, false,
		    &code, &message) == 503) {
			worker_refuse_limit(l->wl_conn, code, message);
			return;
		}
		(void) snprintf(reqid, sizeof (reqid), "%s",
		    conn_reqid(l->wl_conn));
		(void) snprintf(peer, sizeof (peer), "%s",
		    conn_peer(l->wl_conn));
		(void) snprintf(host, sizeof (host), "%s",
		    conn_host(l->wl_conn));
		secret = wresume_secret(&sn);
		if ((fd = conn_take_fd(l->wl_conn)) >= 0)
			forward_attach(fd, reqid, peer, host, addr, secret, sn,
			    &head,
			    l->wl_bytes, head.hh_len, l->wl_bytes + head.hh_len,
			    l->wl_n - head.hh_len);
		return;
	}
	/*
	 * Claimed for this host (the session made now holds the claim),
	 * nobody's, or no answer: served here.
	 */
	if (result == DIR_OWNER && first)
		session_claim_next(l->wl_fence, NULL);
	worker_attach_local(l->wl_conn, l->wl_key, l->wl_keylen, l->wl_role,
	    l->wl_bytes, l->wl_n, &head, accept, ping_ok);
	session_claim_next(NULL, unused);
	if (unused[0] != '\0') {
		/* Refused after all (a limit, a bad resume): let it go. */
		char key[ROUTE_ID_MAX + 64];

		session_dir_key(key, sizeof (key), l->wl_key, l->wl_keylen);
		dir_release(key, unused, NULL, NULL);
	}
}

static void
worker_lookup_cb(void *arg, int result, const char *addr)
{
	struct wlookup *l = arg, **pp, *b;

	for (pp = &wk_lookups; *pp != NULL && *pp != l; pp = &(*pp)->wl_next)
		;
	if (*pp == l)
		*pp = l->wl_next;
	worker_lookup_done(l, result, addr, true);
	while ((b = l->wl_behind) != NULL) {
		l->wl_behind = b->wl_behind;
		worker_lookup_done(b, result, addr, false);
		free(b);
	}
	free(l);
}

static void
worker_lookup(struct conn *c, const struct proto_attach *m)
{
	struct wlookup *l;
	char key[ROUTE_ID_MAX + 64];

	l = malloc(sizeof (*l) + m->pa_head.ps_n + m->pa_session.ps_n + 1);
	if (l == NULL) {
		conn_http_error(c, 503, "ServiceUnavailable", "out of memory",
		    "Retry-After: 1\r\n");
		return;
	}
	l->wl_conn = c;
	l->wl_role = (int)m->pa_role;
	l->wl_n = m->pa_head.ps_n;
	memcpy(l->wl_bytes, m->pa_head.ps_p, l->wl_n);
	l->wl_key = l->wl_bytes + l->wl_n;
	l->wl_keylen = m->pa_session.ps_n;
	memcpy(l->wl_key, m->pa_session.ps_p, l->wl_keylen);
	l->wl_key[l->wl_keylen] = '\0';
	l->wl_behind = NULL;
	for (struct wlookup *p = wk_lookups; p != NULL; p = p->wl_next) {
		if (p->wl_keylen == l->wl_keylen &&
		    memcmp(p->wl_key, l->wl_key, l->wl_keylen) == 0) {
			/* Its claim is under way: follow its answer. */
			l->wl_behind = p->wl_behind;
			p->wl_behind = l;
			return;
		}
	}
	l->wl_next = wk_lookups;
	wk_lookups = l;
	session_dir_key(key, sizeof (key), l->wl_key, l->wl_keylen);
	/* Claim (SET NX): of two first sides on two hosts, one wins. */
	dir_fence(l->wl_fence);
	dir_claim(key, l->wl_fence, worker_lookup_cb, l);
}

static void
worker_attach(const struct proto_attach *mp, int fd)
{
	const struct proto_attach m = *mp;
	struct httphead head;
	struct wsh_error we;
	struct conn *c;
	char accept[WSH_ACCEPT_LEN + 1];
	const char *slash;
	int ping_ok, hop;
	size_t idlen;

	/* Non-blocking already: the supervisor accepts with SOCK_NONBLOCK. */
	if ((c = conn_new(fd, (int)m.pa_role, m.pa_req_id.ps_p,
	    m.pa_req_id.ps_n, m.pa_peer.ps_p, m.pa_peer.ps_n)) == NULL) {
		mlog(MLOG_ERROR, "out of memory for a connection", "");
		(void) close(fd);
		return;
	}
	if (conn_too_many_from(c))
		return;

	if (httphead_parse_request(m.pa_head.ps_p, m.pa_head.ps_n,
	    &head) != HTTPHEAD_OK) {
		conn_http_error(c, 400, "BadRequest", "malformed request",
		    NULL);
		return;
	}
	if (wshandshake_check_request(&head, accept, &ping_ok, &we) != 0) {
		conn_http_error(c, we.we_status, we.we_code, we.we_message,
		    we.we_status == 426 ? "Sec-WebSocket-Version: 13\r\n" :
		    NULL);
		return;
	}
	/*
	 * A credential of the session's account, before anything that could
	 * tell a stranger whether the session exists; none for an attach
	 * another host of the deployment checked and forwarded (whop.c).
	 */
	if ((hop = whop_check(c, &head)) < 0)
		return;
	if ((m.pa_flags & PROTO_ATTACH_AUTH) && hop == 0 && wauth_check(c,
	    &head, m.pa_session.ps_p, m.pa_session.ps_n) != 0)
		return;
	/*
	 * Shutting down: nothing new.  Draining: no new sessions, but the
	 * other side of one that waits here may still join it.
	 */
	if (wk.w_shutdown == PROTO_SHUTDOWN_CLOSE ||
	    (wk.w_shutdown == PROTO_SHUTDOWN_DRAIN &&
	    session_find(m.pa_session.ps_p, m.pa_session.ps_n) == NULL)) {
		conn_http_error(c, 503, "ShuttingDown",
		    "the server is shutting down", "Retry-After: 1\r\n");
		return;
	}
	idlen = m.pa_session.ps_n;
	if ((slash = memchr(m.pa_session.ps_p, '/', idlen)) != NULL)
		idlen -= (size_t)(slash + 1 - m.pa_session.ps_p);
	if (idlen > wk.w_conf.wc_max_id) {
		conn_http_error(c, 400, "InvalidSessionId",
		    "session id too long", NULL);
		return;
	}
	/*
	 * With a directory, a session this worker does not hold is claimed
	 * for this host before it is made here, or found to be another
	 * host's and forwarded there (bounded: DIR_TIMEOUT).
	 */
	if (hop == 0 && dir_enabled() && session_find(m.pa_session.ps_p,
	    m.pa_session.ps_n) == NULL) {
		worker_lookup(c, &m);
		return;
	}
	worker_attach_local(c, m.pa_session.ps_p, m.pa_session.ps_n,
	    (int)m.pa_role, m.pa_head.ps_p, m.pa_head.ps_n, &head, accept,
	    ping_ok);
}

static void
worker_msg_status_req(const uint8_t *b, size_t n)
{
	struct proto_status_req m;
	char err[128];

	if (proto_dec_status_req(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad STATUS_REQ", err);
	status_request(m.psq_qid);
}

static void
worker_msg_shutdown(const uint8_t *b, size_t n)
{
	struct proto_shutdown m;
	char err[128];

	if (proto_dec_shutdown(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad SHUTDOWN", err);
	worker_shutdown((int)m.psd_mode, "supervisor asked");
	if (m.psd_mode == PROTO_SHUTDOWN_DRAIN && m.psd_timeout_ms > 0) {
		/* What has not ended by then is closed with 1001. */
		ev_timer_stop(wk.w_loop, &wk.w_drain_timer);
		ev_timer_set(&wk.w_drain_timer,
		    (ev_tstamp)m.psd_timeout_ms / 1000.0, 0);
		ev_timer_start(wk.w_loop, &wk.w_drain_timer);
	}
}

/* HANDOFF and HANDIN: a channel end to another worker. */
static void
worker_msg_handoff(const uint8_t *b, size_t n, int type)
{
	struct proto_handoff m;
	char err[128];
	int fd;

	if (proto_dec_handoff(b, n, type, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad HANDOFF/HANDIN", err);
	switch (ctlchan_take_fds(&wk.w_ctl, &fd, 1)) {
	case 0:
		break;
	case 1:
		mlog(MLOG_ERROR, "the handoff channel was lost: out of file "
		    "descriptors", "other_pid=%u", m.pho_pid);
		if (type == PROTO_HANDOFF)
			handoff_lost(m.pho_pid);
		return;
	default:
		worker_protocol_error("HANDOFF/HANDIN without a descriptor", "");
	}
	if (type == PROTO_HANDOFF)
		handoff_start(fd, m.pho_pid);
	else
		handin_start(fd, m.pho_pid);
}

static void
worker_msg_handoff_out(const uint8_t *b, size_t n)
{
	worker_msg_handoff(b, n, PROTO_HANDOFF);
}

static void
worker_msg_handoff_in(const uint8_t *b, size_t n)
{
	worker_msg_handoff(b, n, PROTO_HANDIN);
}

/* The one dispatch table: message type -> handler. */
static void (*const worker_dispatch[PROTO_MAX])(const uint8_t *, size_t) = {
	[PROTO_CONFIG] = worker_msg_config,
	[PROTO_ATTACH] = worker_msg_attach,
	[PROTO_ATTACH_BATCH] = worker_msg_attach_batch,
	[PROTO_STATUS_REQ] = worker_msg_status_req,
	[PROTO_SHUTDOWN] = worker_msg_shutdown,
	[PROTO_HANDOFF] = worker_msg_handoff_out,
	[PROTO_HANDIN] = worker_msg_handoff_in,
};

static int
worker_dispatch_supervisor(void *arg, const uint8_t *b, size_t n)
{
	int type = proto_type(b, n);

	(void) arg;
	if (type == PROTO_INVALID || worker_dispatch[type] == NULL)
		worker_protocol_error("unexpected message type",
		    proto_type_name(type));
	if (!wk.w_configured && type != PROTO_CONFIG)
		worker_protocol_error("message before CONFIG",
		    proto_type_name(type));
	worker_dispatch[type](b, n);
	return (CTLCHAN_NEXT);
}

/* --- control channel I/O --------------------------------------------- */

/* The supervisor is gone (or the channel broke): close everything. */
static void
worker_ctl_lost(void)
{
	ev_io_stop(wk.w_loop, &wk.w_ctl_rio);
	ev_io_stop(wk.w_loop, &wk.w_ctl_wio);
	ctlchan_close(&wk.w_ctl, NULL, NULL);
	worker_shutdown(PROTO_SHUTDOWN_CLOSE, "supervisor went away");
}

static void
worker_ctl_read_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	/*
	 * Each message with descriptors is a read of its own (the kernel
	 * ends a read at another sender's descriptors): take what waits, up
	 * to a bound, in one wake-up rather than one wake-up per attach.
	 */
	switch (ctlchan_pump(&wk.w_ctl, worker_dispatch_supervisor, NULL,
	    WORKER_CTL_READS)) {
	case CTLCHAN_AGAIN:
	case CTLCHAN_CLOSED:
		return;
	case CTLCHAN_BAD:
		worker_protocol_error("oversized frame", "");
		return;
	case CTLCHAN_ERROR:
		mlog(MLOG_ERROR, "control channel read failed", "error=%s",
		    strerror(errno));
		break;
	case CTLCHAN_END:
		mlog(MLOG_WARN, "supervisor went away", "");
		break;
	}
	worker_ctl_lost();
}

static void
worker_ctl_write_cb(EV_P_ ev_io *w, int revents)
{
	int r;

	(void) revents;
	r = ctlchan_flush(&wk.w_ctl);
	if (r < 0) {
		mlog(MLOG_ERROR, "control channel write failed", "error=%s",
		    strerror(errno));
		worker_ctl_lost();
		return;
	}
	if (r == 1)
		ev_io_stop(EV_A_ w);
	status_pump();		/* room again for a status reply waiting */
}

static void
worker_report_cb(EV_P_ ev_timer *w, int revents)
{
	struct proto_report r;
	msgpack_sbuffer sb;

	(void) EV_A;
	(void) w;
	(void) revents;
	if (!wk.w_configured || wk.w_ctl.cc_fd < 0)
		return;
	(void) EV_A;
	memset(&r, 0, sizeof (r));
	session_counts(&r);
	wmetrics_report(&r);
	r.prp_conns = conn_count();
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_report(&sb, &r);
	if (worker_ctl_send(&sb) != 0) {
		/* Its counts are totals: the next one carries them. */
		static struct mlog_limit lim;
		unsigned long skipped;

		if (mlog_allow(&lim, &skipped))
			mlog(MLOG_WARN, "REPORT skipped: the control channel "
			    "is full", "error=%s times_since_last_line=%lu",
			    strerror(errno), skipped);
	}
	msgpack_sbuffer_destroy(&sb);
	status_pump();		/* a chunk that met no memory: again */
}

/* --- lifecycle --------------------------------------------------------- */

/*
 * On a clean exit (a stop, a drain, a retirement after a handoff), one
 * last REPORT, so that the supervisor's totals lose nothing of the time
 * since the previous one (a crash loses at most that second).  What is
 * queued is flushed for up to WORKER_FINAL_FLUSH_MS: the supervisor may
 * be gone, and the exit must not wait on it.
 */
#define	WORKER_FINAL_FLUSH_MS	1000

static void
worker_final_report(void)
{
	uint64_t until = netutil_now_ms() + WORKER_FINAL_FLUSH_MS;

	worker_report_cb(wk.w_loop, &wk.w_report, 0);
	while (wk.w_ctl.cc_fd >= 0) {
		struct pollfd pfd = { .fd = wk.w_ctl.cc_fd, .events = POLLOUT };
		uint64_t now = netutil_now_ms();
		int r = ctlchan_flush(&wk.w_ctl);

		if (r != 0 || now >= until)
			break;
		if (poll(&pfd, 1, (int)(until - now)) < 0 && errno != EINTR)
			break;
	}
}

/*
 * A worker with nothing left to serve waits, up to WORKER_DIR_WAIT s, for
 * the directory's requests on their way (the releases of its sessions'
 * claims, a claim whose grant must be released), so that a stopping host
 * deletes its claims rather than leave them to lapse; a Redis that does
 * not answer in that time cannot hold the exit.
 */
#define	WORKER_DIR_WAIT	2.0

static void
worker_dir_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	mlog(MLOG_WARN, "the session directory did not answer in time; "
	    "exiting (claims not released lapse in claim_ttl_s)",
	    "waited_s=%.1f", WORKER_DIR_WAIT);
	wk.w_dir_waited = true;
}

static bool
worker_dir_wait(void)
{
	if (wk.w_dir_waited || !dir_busy())
		return (false);
	if (!ev_is_active(&wk.w_dir_timer)) {
		ev_timer_set(&wk.w_dir_timer, WORKER_DIR_WAIT, 0);
		ev_timer_start(wk.w_loop, &wk.w_dir_timer);
	}
	return (true);
}

static void
worker_reaper_cb(EV_P_ ev_prepare *w, int revents)
{
	(void) w;
	(void) revents;
	conn_reap();
	session_reap();
	mlog_flush();
	if (handoff_busy())
		return;
	if (((wk.w_shutdown == PROTO_SHUTDOWN_CLOSE && conn_count() == 0) ||
	    (wk.w_shutdown == PROTO_SHUTDOWN_DRAIN && conn_count() == 0 &&
	    !session_any())) && !worker_dir_wait())
		ev_break(EV_A_ EVBREAK_ALL);
}

static void
worker_shutdown_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	mlog(MLOG_WARN, "shutdown time-out: closing what is left",
	    "connections=%zu", conn_count());
	ev_break(EV_A_ EVBREAK_ALL);
}

static void
worker_drain_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	mlog(MLOG_WARN, "drain time-out: closing the sessions left",
	    "sessions=%zu", session_count());
	worker_shutdown(PROTO_SHUTDOWN_CLOSE, "drain time-out");
}

static void
worker_shutdown(int mode, const char *why)
{
	if (wk.w_shutdown == PROTO_SHUTDOWN_CLOSE ||
	    wk.w_shutdown == mode)
		return;
	mlog(MLOG_INFO, mode == PROTO_SHUTDOWN_CLOSE ? "shutting down" :
	    "draining", "reason=%s sessions=%zu connections=%zu", why,
	    session_count(), conn_count());
	wk.w_shutdown = mode;
	if (mode == PROTO_SHUTDOWN_CLOSE) {
		handoff_shutdown();
		session_close_all(1001, "server shutting down");
		ev_timer_stop(wk.w_loop, &wk.w_shutdown_timer);
		ev_timer_set(&wk.w_shutdown_timer, wk.w_configured ?
		    wk.w_conf.wc_shutdown : 1.0, 0);
		ev_timer_start(wk.w_loop, &wk.w_shutdown_timer);
	}
}

static void
worker_signal_cb(EV_P_ ev_signal *w, int revents)
{
	(void) EV_A;
	(void) revents;
	worker_shutdown(PROTO_SHUTDOWN_CLOSE, strsignal(w->signum));
}

static void
worker_usage(FILE *f)
{
	fprintf(f,
	    "usage: medusa-worker [--control-fd FD]\n"
	    "\n"
	    "One shard of the Medusa reflector.  It is started by medusa(8),\n"
	    "which passes it client sockets over the control channel on FD\n"
	    "(default 3); it is not meant to be run by hand.\n"
	    "\n"
	    "  --control-fd FD   the control channel's descriptor\n"
	    "  -h, --help        this text\n"
	    "  -V, --version     print the version and exit\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "control-fd", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, cfd = 3, type;
	socklen_t tl = sizeof (type);
	char *end;

	while ((ch = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			errno = 0;
			cfd = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || cfd < 0) {
				fprintf(stderr, "medusa-worker: bad "
				    "--control-fd: %s\n", optarg);
				return (2);
			}
			break;
		case 'h':
			worker_usage(stdout);
			return (0);
		case 'V':
			printf("medusa-worker %s (control protocol %d)\n",
			    MEDUSA_VERSION, PROTO_VERSION);
			return (0);
		default:
			worker_usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		worker_usage(stderr);
		return (2);
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_STREAM) {
		fprintf(stderr, "medusa-worker: descriptor %d is not a "
		    "control channel; this program is started by medusa(8)\n",
		    cfd);
		return (2);
	}

	mlog_init("medusa", "worker", -1);
	/* Lines go out once per loop iteration (the reaper), not one by one. */
	mlog_buffer(true);
	(void) atexit(mlog_flush);
	(void) signal(SIGPIPE, SIG_IGN);
	memset(&wk, 0, sizeof (wk));
	{
		struct rlimit rl;

		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			(void) setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
		    rl.rlim_cur == RLIM_INFINITY)
			rl.rlim_cur = 1u << 20;
		wk.w_fd_limit = (unsigned long long)rl.rlim_cur;
		/* Keep some for the channel, the loop and lingering closes. */
		wk.w_fd_sessions = rl.rlim_cur > 2 * WORKER_FD_RESERVE ?
		    (size_t)(rl.rlim_cur - WORKER_FD_RESERVE) / 2 :
		    (size_t)rl.rlim_cur / 4;
	}
	wk.w_loop = EV_DEFAULT;
	/* Looked for now, while the process holds few descriptors. */
	wk.w_epfd = ev_backend(wk.w_loop) == EVBACKEND_EPOLL ?
	    netutil_epoll_find() : -1;
	if (conn_init(wk.w_loop, &wk.w_conf) != 0) {
		mlog(MLOG_FATAL, "out of memory", "");
		return (1);
	}
	session_init(wk.w_loop, &wk.w_conf);
	forward_init(wk.w_loop);
	(void) netutil_nonblock(cfd);
	ctlchan_init(&wk.w_ctl, cfd, worker_ctl_qmax());
	ev_io_init(&wk.w_ctl_rio, worker_ctl_read_cb, cfd, EV_READ);
	ev_io_init(&wk.w_ctl_wio, worker_ctl_write_cb, cfd, EV_WRITE);
	ev_io_start(wk.w_loop, &wk.w_ctl_rio);
	ev_timer_init(&wk.w_report, worker_report_cb, 1.0, 1.0);
	ev_timer_start(wk.w_loop, &wk.w_report);
	ev_init(&wk.w_shutdown_timer, worker_shutdown_timer_cb);
	ev_init(&wk.w_drain_timer, worker_drain_timer_cb);
	ev_init(&wk.w_dir_timer, worker_dir_timer_cb);
	handoff_init(wk.w_loop, &wk.w_conf);
	ev_prepare_init(&wk.w_reaper, worker_reaper_cb);
	ev_prepare_start(wk.w_loop, &wk.w_reaper);
	ev_signal_init(&wk.w_sigterm, worker_signal_cb, SIGTERM);
	ev_signal_init(&wk.w_sigint, worker_signal_cb, SIGINT);
	ev_signal_start(wk.w_loop, &wk.w_sigterm);
	ev_signal_start(wk.w_loop, &wk.w_sigint);

	ev_run(wk.w_loop, 0);

	worker_final_report();
	wauth_fini();
	mlog(MLOG_INFO, "worker exiting", "connections=%zu", conn_count());
	return (0);
}
