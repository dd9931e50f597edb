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
 * second.  Every message is decoded in full before it is acted on, and one
 * dispatch table (worker_dispatch[]) maps type to handler; anything
 * unexpected from the supervisor is fatal, since the channel can no longer
 * be trusted, and the supervisor starts a new worker.  If the channel
 * closes, the supervisor is gone: the worker closes its sessions (1001)
 * and exits.
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
 * them has returned.  Sessions are plain data (worker.h) so that they can
 * later be moved into another process.
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
 * Shutdown.  SHUTDOWN mode 1 (or SIGTERM, SIGINT, or the supervisor going
 * away) closes every session with 1001 "server shutting down" and exits
 * once every connection is closed, or when the shutdown time-out passes.
 * Mode 2 (drain) refuses new sessions (the other side of a waiting one may
 * still join it) and exits when the last one ends, or closes what is left
 * with 1001 when its time-out passes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "httphead.h"
#include "mlog.h"
#include "netutil.h"
#include "proto.h"
#include "route.h"
#include "version.h"
#include "worker.h"
#include "wshandshake.h"

#define	WORKER_CTL_QMAX		(64u * 1024 * 1024)
#define	WORKER_SCRATCH		(256u * 1024)
#define	WORKER_CTL_READS	32	/* control reads per wake-up, at most */
#define	WORKER_EXIT_VERSION	3
#define	WORKER_FD_RESERVE	32

struct worker wk;

static void worker_shutdown(int mode, const char *why);
static bool worker_too_many_from(struct conn *);

void
worker_ctl_send(msgpack_sbuffer *sb)
{
	if (ctlchan_send(&wk.w_ctl, sb->data, sb->size, NULL, 0, NULL) != 0) {
		mlog(MLOG_ERROR, "control channel queue full; message dropped",
		    "error=%s", strerror(errno));
		return;
	}
	ev_io_start(wk.w_loop, &wk.w_ctl_wio);
}

static void
worker_protocol_error(const char *what, const char *detail)
{
	mlog(MLOG_FATAL, "control protocol error; exiting", "error=%s "
	    "detail=%s", what, detail);
	exit(1);
}

/* --- handlers of supervisor messages ------------------------------------ */

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
		worker_ctl_send(&sb);
		msgpack_sbuffer_destroy(&sb);
		mlog(MLOG_INFO, "worker ready", "version=%s nshards=%u",
		    MEDUSA_VERSION, m.pc_nshards);
	} else {
		mlog(MLOG_INFO, "configuration updated", "");
	}
}

static void worker_attach(const struct proto_attach *, int fd);

/* The connections of the ATTACH_BATCH being handled, still corked. */
static bool batch_corking;
static struct conn *batch_corked[PROTO_BATCH_MAX];
static unsigned batch_ncorked;

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
	static struct proto_attach_batch m;	/* 16 x 6 spans: not on the stack */
	int fds[PROTO_BATCH_MAX];
	char err[128];

	if (proto_dec_attach_batch(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad ATTACH_BATCH", err);
	switch (ctlchan_take_fds(&wk.w_ctl, fds, (int)m.pab_n)) {
	case 0:
		mlog(MLOG_DEBUG, "attaches received together",
		    "connections=%u", (unsigned)m.pab_n);
		/*
		 * Each stays corked until the whole batch is handled: a slave
		 * and its master that came together get their 101 and their
		 * linkup in one write each.  (session_link() uncorks the
		 * slave itself, so its linkup still leaves first.)
		 */
		batch_ncorked = 0;
		batch_corking = true;
		for (uint32_t i = 0; i < m.pab_n; i++)
			worker_attach(&m.pab_a[i], fds[i]);
		batch_corking = false;
		for (unsigned i = 0; i < batch_ncorked; i++)
			conn_uncork(batch_corked[i]);
		return;
	case 1:
		/* One read lost (EMFILE): every socket of the batch with it. */
		mlog(MLOG_ERROR, "connections were lost: out of file "
		    "descriptors", "connections=%u first_req_id=%.*s",
		    (unsigned)m.pab_n, (int)m.pab_a[0].pa_req_id.ps_n,
		    m.pab_a[0].pa_req_id.ps_p);
		return;
	default:
		worker_protocol_error("ATTACH_BATCH without its descriptors",
		    "");
	}
}

/* One attach and its socket: the handshake, then its session. */
static void
worker_attach(const struct proto_attach *mp, int fd)
{
	const struct proto_attach m = *mp;
	struct httphead head;
	struct wsh_error we;
	struct conn *c;
	char accept[WSH_ACCEPT_LEN + 1], resp[256];
	const char *code, *message;
	int ping_ok, status;
	size_t rn;

	/* Non-blocking already: the supervisor accepts with SOCK_NONBLOCK. */
	if ((c = conn_new(fd, m.pa_req_id.ps_p, m.pa_req_id.ps_n,
	    m.pa_peer.ps_p, m.pa_peer.ps_n)) == NULL) {
		mlog(MLOG_ERROR, "out of memory for a connection", "");
		(void) close(fd);
		return;
	}
	c->c_role = (int)m.pa_role;
	if (worker_too_many_from(c))
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
	if (m.pa_session.ps_n > wk.w_conf.wc_max_id) {
		conn_http_error(c, 400, "InvalidSessionId",
		    "session id too long", NULL);
		return;
	}
	status = session_admit(m.pa_session.ps_p, m.pa_session.ps_n,
	    (int)m.pa_role, &code, &message);
	if (status == 503) {
		/* A limit: one line a second at most, however many. */
		static struct mlog_limit lim;
		unsigned long skipped;

		if (mlog_allow(&lim, &skipped))
			mlog(MLOG_WARN, "session limit reached", "code=%s "
			    "max_sessions_per_worker=%zu times_since_last_line="
			    "%lu", code, wk.w_conf.wc_max_sessions, skipped);
		conn_http_refuse(c, status, code, message,
		    "Retry-After: 1\r\n");
		return;
	}
	if (status != 0) {
		conn_http_error(c, status, code, message, status == 503 ?
		    "Retry-After: 1\r\n" : NULL);
		return;
	}
	c->c_ping_ok = ping_ok != 0;
	rn = wshandshake_response(resp, sizeof (resp), accept);
	/* The 101 and what joining sends (linkup or wait) in one write. */
	conn_cork(c);
	if (conn_write_raw(c, resp, rn) != 0)
		return;
	if (session_attach(c, m.pa_session.ps_p, m.pa_session.ps_n,
	    (int)m.pa_role) != 0) {
		conn_send_close(c, 1011, "out of memory", 13);
		conn_uncork(c);
		return;
	}
	if (batch_corking)
		batch_corked[batch_ncorked++] = c;
	else
		conn_uncork(c);
	if (c->c_state == CONN_DEAD)
		return;
	conn_start(c, (const uint8_t *)m.pa_head.ps_p + head.hh_len,
	    m.pa_head.ps_n - head.hh_len);
}

/*
 * The per-address limit on established connections: the supervisor
 * limits those it is still reading, each worker those it holds.  true if
 * c was refused (503).
 */
static bool
worker_too_many_from(struct conn *c)
{
	static struct mlog_limit lim;
	unsigned long skipped;
	unsigned n;

	if (wk.w_conf.wc_max_per_addr == 0 || c->c_host[0] == '\0' ||
	    (n = addrcount_get(wk.w_peers, c->c_host)) <=
	    wk.w_conf.wc_max_per_addr)
		return (false);
	if (mlog_allow(&lim, &skipped))
		mlog(MLOG_WARN, "too many connections from one address",
		    "address=%s connections=%u max_connections_per_address=%zu "
		    "times_since_last_line=%lu", c->c_host, n,
		    wk.w_conf.wc_max_per_addr, skipped);
	conn_http_refuse(c, 503, "TooManyConnections", "too many connections "
	    "from this address", "Retry-After: 1\r\n");
	return (true);
}

static void
worker_msg_status_req(const uint8_t *b, size_t n)
{
	struct proto_status_req m;
	struct proto_status_reply r;
	struct proto_session_info info[PROTO_STATUS_CHUNK];
	struct session *s;
	msgpack_sbuffer sb;
	char err[128];

	if (proto_dec_status_req(b, n, &m, err, sizeof (err)) != 0)
		worker_protocol_error("bad STATUS_REQ", err);
	memset(&r, 0, sizeof (r));
	r.psr_qid = m.psq_qid;
	r.psr_sessions = info;
	msgpack_sbuffer_init(&sb);
	s = wk.w_sessions;
	do {
		r.psr_nsessions = 0;
		for (; s != NULL && r.psr_nsessions < PROTO_STATUS_CHUNK;
		    s = s->s_next) {
			struct proto_session_info *i =
			    &info[r.psr_nsessions++];

			i->psi_id.ps_p = s->s_id;
			i->psi_id.ps_n = s->s_idlen;
			i->psi_state = (uint32_t)s->s_state;
			i->psi_has_master = s->s_master != NULL;
			i->psi_has_slave = s->s_slave != NULL;
			i->psi_create_ms = s->s_create_ms;
		}
		r.psr_more = s != NULL;
		sb.size = 0;
		(void) proto_enc_status_reply(&sb, &r);
		worker_ctl_send(&sb);
	} while (s != NULL);
	msgpack_sbuffer_destroy(&sb);
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

static void
worker_dispatch_supervisor(const uint8_t *b, size_t n)
{
	int type = proto_type(b, n);

	if (type == PROTO_INVALID || worker_dispatch[type] == NULL)
		worker_protocol_error("unexpected message type",
		    proto_type_name(type));
	if (!wk.w_configured && type != PROTO_CONFIG)
		worker_protocol_error("message before CONFIG",
		    proto_type_name(type));
	worker_dispatch[type](b, n);
}

/* --- control channel I/O --------------------------------------------- */

static void
worker_ctl_read_cb(EV_P_ ev_io *w, int revents)
{
	const uint8_t *body;
	size_t len;
	ssize_t n;
	int r;

	(void) revents;
	/*
	 * Each message with descriptors is a read of its own (the kernel
	 * ends a read at another sender's descriptors): take what waits, up
	 * to a bound, in one wake-up rather than one wake-up per attach.
	 */
	for (int i = 0; i < WORKER_CTL_READS && ev_is_active(w); i++) {
		n = ctlchan_fill(&wk.w_ctl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			mlog(MLOG_ERROR, "control channel read failed",
			    "error=%s", strerror(errno));
		}
		if (n <= 0) {
			if (n == 0)
				mlog(MLOG_WARN, "supervisor went away", "");
			ev_io_stop(EV_A_ &wk.w_ctl_rio);
			ev_io_stop(EV_A_ &wk.w_ctl_wio);
			ctlchan_close(&wk.w_ctl, NULL, NULL);
			worker_shutdown(PROTO_SHUTDOWN_CLOSE,
			    "supervisor went away");
			return;
		}
		while ((r = ctlchan_next(&wk.w_ctl, &body, &len)) == 1) {
			worker_dispatch_supervisor(body, len);
			ctlchan_done(&wk.w_ctl);
		}
		if (r < 0) {
			worker_protocol_error("oversized frame", "");
			return;
		}
	}
}

static void
worker_ctl_write_cb(EV_P_ ev_io *w, int revents)
{
	int r;

	(void) revents;
	r = ctlchan_flush(&wk.w_ctl);
	if (r == 1) {
		ev_io_stop(EV_A_ w);
	} else if (r < 0) {
		mlog(MLOG_ERROR, "control channel write failed", "error=%s",
		    strerror(errno));
		ev_io_stop(EV_A_ w);
		ev_io_stop(EV_A_ &wk.w_ctl_rio);
		ctlchan_close(&wk.w_ctl, NULL, NULL);
		worker_shutdown(PROTO_SHUTDOWN_CLOSE, "supervisor went away");
	}
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
	for (int i = 0; i < 4; i++)
		r.prp_sessions[i] = wk.w_nstate[i];
	r.prp_conns = wk.w_nconns;
	r.prp_bytes = wk.w_bytes;
	r.prp_messages = wk.w_msgs;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_report(&sb, &r);
	worker_ctl_send(&sb);
	msgpack_sbuffer_destroy(&sb);
}

/* --- lifecycle --------------------------------------------------------- */

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
	if (wk.w_shutdown == PROTO_SHUTDOWN_CLOSE && wk.w_nconns == 0)
		ev_break(EV_A_ EVBREAK_ALL);
	if (wk.w_shutdown == PROTO_SHUTDOWN_DRAIN && wk.w_nconns == 0 &&
	    wk.w_sessions == NULL)
		ev_break(EV_A_ EVBREAK_ALL);
}

static void
worker_shutdown_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	mlog(MLOG_WARN, "shutdown time-out: closing what is left",
	    "connections=%zu", wk.w_nconns);
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
	    session_count(), wk.w_nconns);
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
	if ((wk.w_scratch = malloc(WORKER_SCRATCH)) == NULL) {
		mlog(MLOG_FATAL, "out of memory", "");
		return (1);
	}
	wk.w_scratch_len = WORKER_SCRATCH;
	session_table_init();
	if ((wk.w_peers = addrcount_new()) == NULL) {
		mlog(MLOG_FATAL, "out of memory", "");
		return (1);
	}
	(void) netutil_nonblock(cfd);
	ctlchan_init(&wk.w_ctl, cfd, WORKER_CTL_QMAX);
	ev_io_init(&wk.w_ctl_rio, worker_ctl_read_cb, cfd, EV_READ);
	ev_io_init(&wk.w_ctl_wio, worker_ctl_write_cb, cfd, EV_WRITE);
	ev_io_start(wk.w_loop, &wk.w_ctl_rio);
	ev_timer_init(&wk.w_report, worker_report_cb, 1.0, 1.0);
	ev_timer_start(wk.w_loop, &wk.w_report);
	ev_init(&wk.w_shutdown_timer, worker_shutdown_timer_cb);
	ev_init(&wk.w_drain_timer, worker_drain_timer_cb);
	handoff_init();
	ev_prepare_init(&wk.w_reaper, worker_reaper_cb);
	ev_prepare_start(wk.w_loop, &wk.w_reaper);
	ev_signal_init(&wk.w_sigterm, worker_signal_cb, SIGTERM);
	ev_signal_init(&wk.w_sigint, worker_signal_cb, SIGINT);
	ev_signal_start(wk.w_loop, &wk.w_sigterm);
	ev_signal_start(wk.w_loop, &wk.w_sigint);

	ev_run(wk.w_loop, 0);

	mlog(MLOG_INFO, "worker exiting", "connections=%zu", wk.w_nconns);
	return (0);
}
