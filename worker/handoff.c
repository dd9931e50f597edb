/*
 * handoff.c: moving live sessions into a successor worker (a rolling
 * restart).  See "Handoff" in the big theory statement in worker/main.c and
 * the messages in proto.h.
 *
 * The leaving worker (HANDOFF) takes a movable session out of service
 * (session_hold: no reading, no writing, no timers), sends it as a SESSION
 * message (its state as plain data and duplicates of its sockets) and
 * keeps its own copy of everything until the successor acknowledges it
 * (HANDOFF_ACK).  The successor sends that acknowledgement, and makes sure
 * it has left, before it touches the sockets.  So:
 *
 *	acknowledged	the successor has it: the leaving worker closes its
 *			copies ("moved")
 *	not yet		if the successor goes away, the session goes back
 *			into service here exactly as it was, since nobody
 *			has read or written its sockets meanwhile ("stayed")
 *
 * The successor may also answer "not taken" (its copies of the sockets
 * were lost on the way, or it has no room): the session goes back into
 * service here at once.  A session that cannot be sent (its state with
 * its queued bytes exceeds a frame) stays too.  Either way it is marked so
 * that the handoff goes on with the others instead of trying it again, and
 * counted as failed.  Sessions that cannot move (a side is closing) stay
 * and end here.  Up to HANDOFF_WINDOW sessions are in flight at once.  When
 * every movable session has been answered, HANDOFF_END goes to the
 * successor and HANDOFF_DONE, with the counts, to the supervisor.  A
 * successor that dies after acknowledging takes those sessions with it,
 * like any crash; they are logged by name here as handed off, and its
 * death is logged by the supervisor.
 *
 * Before anything that was sent goes back into service (an abort, a
 * shutdown), the acknowledgements already in the channel are read: a
 * session the successor has taken must never be served by both.  If this
 * worker is told to shut down mid-way, the handoff ends so: what is here
 * is closed with 1001 like everything else, and a successor that is
 * taking sessions in stops and keeps what it has.
 */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlchan.h"
#include "faults.h"	/* the test build's */
#include "mlog.h"
#include "netutil.h"
#include "proto.h"
#include "route.h"
#include "worker.h"

#define	HANDOFF_QMAX	(64u * 1024 * 1024)
#define	HANDOFF_WINDOW	32	/* sessions sent, not yet acknowledged */
_Static_assert(HANDOFF_QMAX >= PROTO_FRAME_MAX,
    "a SESSION of any size fits the empty queue");

struct handoff {
	bool		h_active;
	struct ctlchan	h_ch;
	ev_io		h_rio;
	ev_io		h_wio;
	uint32_t	h_peer;		/* the other worker's pid */
	/* leaving side */
	unsigned	h_inflight;	/* sent, not acknowledged */
	bool		h_end_sent;
	uint64_t	h_moved;
	uint64_t	h_failed;	/* should have moved, could not */
	const char	*h_bad;		/* the type of an unexpected message */
	/* arriving side: a session whose ACK could not leave yet */
	uint8_t		*h_deferred;
	size_t		h_deferred_len;
	int		h_deferred_fds[PROTO_SESSION_CONNS];
	uint64_t	h_resumed;
};

/* This file's state: the two sides, and what it was given at start. */
static struct handoff ho;	/* this worker leaving */
static struct handoff hi;	/* this worker arriving */
static struct ev_loop *handoff_loop;
static const struct wconf *handoff_conf;	/* main.c's, from CONFIG */
#ifdef MEDUSA_FAULTS
static long handoff_fault_after = -1;	/* faults.h: HANDIN_CRASH */
static long handoff_stop_after = -1;	/* faults.h: HANDIN_STOP */
#endif

static void handoff_pump(void);
static void handin_stop(void);

void
handoff_init(struct ev_loop *loop, const struct wconf *conf)
{
	handoff_loop = loop;
	handoff_conf = conf;
#ifdef MEDUSA_FAULTS
	handoff_fault_after = fault_knob("MEDUSA_FAULT_HANDIN_CRASH");
	handoff_stop_after = fault_knob("MEDUSA_FAULT_HANDIN_STOP");
#endif
}

bool
handoff_busy(void)
{
	return (ho.h_active || hi.h_active);
}

/* --- the leaving side ---------------------------------------------------- */

static void
handoff_report(bool aborted)
{
	struct proto_handoff_done d;
	msgpack_sbuffer sb;

	memset(&d, 0, sizeof (d));
	d.phd_moved = ho.h_moved;
	d.phd_failed = ho.h_failed;
	d.phd_aborted = aborted;
	d.phd_stayed = session_count_all();
	mlog(aborted || d.phd_failed > 0 ? MLOG_ERROR : MLOG_INFO, aborted ?
	    "handoff aborted" : "handoff done", "successor_pid=%u moved=%llu "
	    "stayed=%llu failed=%llu", ho.h_peer,
	    (unsigned long long)d.phd_moved, (unsigned long long)d.phd_stayed,
	    (unsigned long long)d.phd_failed);
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_handoff_done(&sb, &d);
	if (worker_ctl_send(&sb) != 0)
		mlog(MLOG_ERROR, "HANDOFF_DONE cannot be queued; the "
		    "supervisor will give up on the restart step", "error=%s",
		    strerror(errno));
	msgpack_sbuffer_destroy(&sb);
}

/* An unsent SESSION holds duplicates of the sockets: just close them. */
static void
handoff_unsent(const char *tag, const uint8_t *frame, size_t len, int *fds,
    int nfds, void *arg)
{
	(void) tag;
	(void) frame;
	(void) len;
	(void) arg;
	for (int i = 0; i < nfds; i++)
		(void) close(fds[i]);
}

static void handoff_ack(const uint8_t *, size_t);

/* The successor's acknowledgements; anything else is refused. */
static int
handoff_on_ack(void *arg, const uint8_t *b, size_t n)
{
	(void) arg;
	if (proto_type(b, n) != PROTO_HANDOFF_ACK) {
		ho.h_bad = proto_type_name(proto_type(b, n));
		return (CTLCHAN_REFUSE);
	}
	handoff_ack(b, n);
	return (CTLCHAN_NEXT);
}

/* Act on every acknowledgement that has arrived, without waiting. */
static void
handoff_read_acks(void)
{
	(void) ctlchan_pump(&ho.h_ch, handoff_on_ack, NULL, 0);
}

static void
handoff_finish(bool aborted)
{
	struct session *s;

	if (aborted && ho.h_inflight > 0)
		handoff_read_acks();
	ev_io_stop(handoff_loop, &ho.h_rio);
	ev_io_stop(handoff_loop, &ho.h_wio);
	ctlchan_close(&ho.h_ch, handoff_unsent, NULL);
	/* Whatever was not acknowledged goes back into service, untouched. */
	while ((s = session_first_held()) != NULL) {
		mlog(MLOG_INFO, "session stays: the successor never took it",
		    "session=%s successor_pid=%u", session_id(s), ho.h_peer);
		session_unhold(s);
	}
	ho.h_active = false;
	handoff_report(aborted);
	if (aborted && ho.h_moved > 0)
		mlog(MLOG_ERROR, "sessions the successor had taken ended with "
		    "it", "sessions=%llu successor_pid=%u",
		    (unsigned long long)ho.h_moved, ho.h_peer);
}

/*
 * Hold s and send it, with duplicates of its sockets: 0; 1 if the channel
 * has no room for it now (try again once it has drained); -1 if it cannot
 * be sent at all (errno: EMSGSIZE too big for a frame, EMFILE, ENOMEM).
 */
static int
handoff_send(struct session *s)
{
	struct proto_session m;
	msgpack_sbuffer sb;
	int fds[PROTO_SESSION_CONNS], dups[PROTO_SESSION_CONNS], rv = -1;
	uint32_t i = 0;

	session_freeze(s, &m, fds);
	msgpack_sbuffer_init(&sb);
	if (proto_enc_session(&sb, &m) != 0)
		goto out;
	if (ctlchan_queued(&ho.h_ch) + sb.size > HANDOFF_QMAX) {
		rv = 1;
		goto out;
	}
	for (i = 0; i < m.ps_nconns; i++) {
		if ((dups[i] = dup(fds[i])) < 0)
			goto out;
	}
	if (ctlchan_send(&ho.h_ch, sb.data, sb.size, dups, (int)m.ps_nconns,
	    session_id(s)) != 0)
		goto out;
	i = 0;
	session_hold(s);
	ho.h_inflight++;
	rv = 0;
out:
	while (i-- > 0)
		(void) close(dups[i]);
	msgpack_sbuffer_destroy(&sb);
	return (rv);
}

static void
handoff_send_end(void)
{
	struct proto_handoff_end e = { ho.h_moved };
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	(void) proto_enc_handoff_end(&sb, &e);
	(void) ctlchan_send(&ho.h_ch, sb.data, sb.size, NULL, 0, NULL);
	msgpack_sbuffer_destroy(&sb);
	ho.h_end_sent = true;
}

static void
handoff_pump(void)
{
	struct session *s;
	int r;

	while (!ho.h_end_sent && ho.h_inflight < HANDOFF_WINDOW &&
	    (s = session_next_movable()) != NULL) {
		if ((r = handoff_send(s)) > 0)
			break;		/* the channel drains first */
		if (r < 0) {
			mlog(MLOG_ERROR, "a session cannot be sent to the "
			    "successor; it stays here", "session=%s error=%s",
			    session_id(s), strerror(errno));
			session_nomove(s);
			ho.h_failed++;
		}
	}
	if (!ho.h_end_sent && ho.h_inflight == 0)
		handoff_send_end();
	r = ctlchan_flush(&ho.h_ch);
	if (r < 0) {
		mlog(MLOG_ERROR, "handoff channel write failed", "error=%s",
		    strerror(errno));
		handoff_finish(true);
		return;
	}
	if (r == 0) {
		ev_io_start(handoff_loop, &ho.h_wio);
		return;
	}
	ev_io_stop(handoff_loop, &ho.h_wio);
	if (ho.h_end_sent)
		handoff_finish(false);
}

static void
handoff_out_write_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	handoff_pump();
}

static void
handoff_ack(const uint8_t *b, size_t n)
{
	struct proto_handoff_ack a;
	struct session *s;
	char err[128];

	if (proto_dec_handoff_ack(b, n, &a, err, sizeof (err)) != 0 ||
	    (s = session_held(a.pha_id.ps_p, a.pha_id.ps_n)) == NULL) {
		mlog(MLOG_ERROR, "bad HANDOFF_ACK from the successor",
		    "error=%s", err);
		return;
	}
	ho.h_inflight--;
	if (!a.pha_taken) {
		mlog(MLOG_ERROR, "the successor could not take a session; it "
		    "stays here", "session=%s successor_pid=%u", session_id(s),
		    ho.h_peer);
		session_nomove(s);
		ho.h_failed++;
		session_unhold(s);
		return;
	}
	mlog(MLOG_INFO, "session handed off", "session=%s successor_pid=%u",
	    session_id(s), ho.h_peer);
	session_release(s);
	ho.h_moved++;
}

/* Acknowledgements come back; anything else, or the end, is an abort. */
static void
handoff_out_read_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	switch (ctlchan_pump(&ho.h_ch, handoff_on_ack, NULL, 1)) {
	case CTLCHAN_AGAIN:
		handoff_pump();		/* the window has room again */
		return;
	case CTLCHAN_CLOSED:
		return;
	case CTLCHAN_BAD:
		mlog(MLOG_ERROR, "unexpected message from the successor",
		    "type=%s", ho.h_bad != NULL ? ho.h_bad : "oversized frame");
		break;
	case CTLCHAN_END:
	case CTLCHAN_ERROR:
		mlog(MLOG_ERROR, "the successor closed the handoff channel",
		    "successor_pid=%u", ho.h_peer);
		break;
	}
	handoff_finish(true);
}

/* Set up one side's channel; -1 (and the descriptor closed) if busy. */
static int
handoff_open(struct handoff *h, int fd, uint32_t peer,
    void (*rcb)(EV_P_ ev_io *, int), void (*wcb)(EV_P_ ev_io *, int))
{
	if (h->h_active) {
		mlog(MLOG_ERROR, "a handoff is already under way; refusing "
		    "another", "other_pid=%u", peer);
		(void) close(fd);
		return (-1);
	}
	memset(h, 0, sizeof (*h));
	h->h_active = true;
	h->h_peer = peer;
	(void) netutil_nonblock(fd);
	ctlchan_init(&h->h_ch, fd, HANDOFF_QMAX);
	ev_io_init(&h->h_rio, rcb, fd, EV_READ);
	ev_io_init(&h->h_wio, wcb, fd, EV_WRITE);
	ev_io_start(handoff_loop, &h->h_rio);
	return (0);
}

void
handoff_start(int fd, uint32_t peer)
{
	if (handoff_open(&ho, fd, peer, handoff_out_read_cb,
	    handoff_out_write_cb) != 0)
		return;
	session_allow_moves();		/* a new successor: try them all */
	mlog(MLOG_INFO, "handing sessions off", "successor_pid=%u "
	    "sessions=%zu", peer, session_count());
	handoff_pump();
}

/* The HANDOFF's channel never arrived (out of descriptors): all stay. */
void
handoff_lost(uint32_t peer)
{
	memset(&ho, 0, sizeof (ho));
	ho.h_peer = peer;
	handoff_report(true);
}

/* This worker is shutting down: end either side now (see the top). */
void
handoff_shutdown(void)
{
	if (ho.h_active) {
		mlog(MLOG_WARN, "shutting down during a handoff; the sessions "
		    "not yet moved close here", "successor_pid=%u moved=%llu",
		    ho.h_peer, (unsigned long long)ho.h_moved);
		handoff_finish(true);
	}
	if (hi.h_active) {
		mlog(MLOG_WARN, "shutting down during a hand-in",
		    "predecessor_pid=%u resumed=%llu", hi.h_peer,
		    (unsigned long long)hi.h_resumed);
		handin_stop();
	}
}

/* --- the arriving side ------------------------------------------------- */

static void handin_read_cb(EV_P_ ev_io *, int);
static void handin_write_cb(EV_P_ ev_io *, int);

static void
handin_stop(void)
{
	ev_io_stop(handoff_loop, &hi.h_rio);
	ev_io_stop(handoff_loop, &hi.h_wio);
	ctlchan_close(&hi.h_ch, NULL, NULL);
	if (hi.h_deferred != NULL) {
		for (int i = 0; i < PROTO_SESSION_CONNS; i++) {
			if (hi.h_deferred_fds[i] >= 0)
				(void) close(hi.h_deferred_fds[i]);
		}
		free(hi.h_deferred);
		hi.h_deferred = NULL;
	}
	hi.h_active = false;
}

/*
 * The test build's faults (faults.h): a successor that crashes, or stops
 * itself, when it has resumed so many sessions.  Nothing in other builds.
 */
static void
handin_fault(void)
{
#ifdef MEDUSA_FAULTS
	if (handoff_fault_after >= 0 &&
	    hi.h_resumed >= (uint64_t)handoff_fault_after) {
		mlog(MLOG_FATAL, "fault injection: crashing half-way through "
		    "a hand-in", "resumed=%llu",
		    (unsigned long long)hi.h_resumed);
		abort();
	}
	if (handoff_stop_after >= 0 &&
	    hi.h_resumed >= (uint64_t)handoff_stop_after) {
		mlog(MLOG_WARN, "fault injection: stopping half-way through "
		    "a hand-in", "resumed=%llu",
		    (unsigned long long)hi.h_resumed);
		handoff_stop_after = -1;
		(void) raise(SIGSTOP);
	}
#endif
}

/* Resume an acknowledged session (its ACK has left). */
static void
handin_resume(const uint8_t *b, size_t n, int *fds)
{
	struct proto_session m;
	char err[128];

	if (proto_dec_session(b, n, &m, err, sizeof (err)) != 0)
		return;		/* decoded once already: cannot fail */
	if (session_thaw(&m, fds) == 0) {
		hi.h_resumed++;
		mlog(MLOG_INFO, "session handed in", "session=%.*s "
		    "predecessor_pid=%u", (int)m.ps_id.ps_n, m.ps_id.ps_p,
		    hi.h_peer);
	}
}

/*
 * Answer the predecessor about session id: taken or not.  0 if the answer
 * has left; 1 if it waits for room in the channel (the write watcher is
 * on); -1 if the channel failed.
 */
static int
handin_answer(const struct proto_str *id, bool taken)
{
	struct proto_handoff_ack a;
	msgpack_sbuffer sb;
	int r;

	a.pha_id = *id;
	a.pha_taken = taken;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_handoff_ack(&sb, &a);
	r = ctlchan_send(&hi.h_ch, sb.data, sb.size, NULL, 0, NULL);
	msgpack_sbuffer_destroy(&sb);
	if (r != 0 || (r = ctlchan_flush(&hi.h_ch)) < 0)
		return (-1);
	if (r == 1)
		return (0);
	ev_io_start(handoff_loop, &hi.h_wio);
	return (1);
}

/* Say "not taken": the predecessor keeps serving it.  Closes fds. */
static void
handin_refuse(const struct proto_session *m, int *fds, const char *why)
{
	mlog(MLOG_ERROR, "cannot take a handed-in session; it stays with the "
	    "predecessor", "session=%.*s reason=%s", (int)m->ps_id.ps_n,
	    m->ps_id.ps_p, why);
	for (uint32_t i = 0; fds != NULL && i < m->ps_nconns; i++)
		(void) close(fds[i]);
	if (handin_answer(&m->ps_id, false) < 0)
		handin_stop();
}

static void
handin_session(const uint8_t *b, size_t n)
{
	struct proto_session m;
	int fds[PROTO_SESSION_CONNS], r;
	char err[128];

	if (proto_dec_session(b, n, &m, err, sizeof (err)) != 0) {
		mlog(MLOG_ERROR, "bad SESSION from the predecessor; closing "
		    "the handoff channel", "error=%s", err);
		handin_stop();
		return;
	}
	switch (ctlchan_take_fds(&hi.h_ch, fds, (int)m.ps_nconns)) {
	case 0:
		break;
	case 1:
		handin_refuse(&m, NULL, "its sockets were lost on the way (out "
		    "of file descriptors)");
		return;
	default:
		mlog(MLOG_ERROR, "SESSION without its sockets; closing the "
		    "handoff channel", "session=%.*s", (int)m.ps_id.ps_n,
		    m.ps_id.ps_p);
		handin_stop();
		return;
	}
	/* Room for its sockets within our limits, descriptors included. */
	if (conn_count() + m.ps_nconns > 2 * handoff_conf->wc_max_sessions) {
		handin_refuse(&m, fds, "no room: at the session limit");
		return;
	}
	handin_fault();
	/* The ACK must have left before the sockets are touched. */
	r = handin_answer(&m.ps_id, true);
	if (r == 0) {
		handin_resume(b, n, fds);
		return;
	}
	if (r < 0) {
		/* Not acknowledged: it stays with the predecessor. */
		for (uint32_t i = 0; i < m.ps_nconns; i++)
			(void) close(fds[i]);
		handin_stop();
		return;
	}
	/* The ACK waits for room: so does the session, and the channel. */
	if ((hi.h_deferred = malloc(n)) == NULL) {
		for (uint32_t i = 0; i < m.ps_nconns; i++)
			(void) close(fds[i]);
		handin_stop();
		return;
	}
	memcpy(hi.h_deferred, b, n);
	hi.h_deferred_len = n;
	for (int i = 0; i < PROTO_SESSION_CONNS; i++)
		hi.h_deferred_fds[i] = i < (int)m.ps_nconns ? fds[i] : -1;
	ev_io_stop(handoff_loop, &hi.h_rio);
}

static void
handin_write_cb(EV_P_ ev_io *w, int revents)
{
	int r;

	(void) revents;
	r = ctlchan_flush(&hi.h_ch);
	if (r == 0)
		return;
	ev_io_stop(EV_A_ w);
	if (r < 0) {
		handin_stop();
		return;
	}
	if (hi.h_deferred != NULL) {
		uint8_t *b = hi.h_deferred;

		hi.h_deferred = NULL;
		handin_resume(b, hi.h_deferred_len, hi.h_deferred_fds);
		free(b);
	}
	ev_io_start(EV_A_ &hi.h_rio);
	ev_feed_event(EV_A_ &hi.h_rio, EV_READ);
}

/* The predecessor's SESSIONs, then its HANDOFF_END. */
static int
handin_dispatch(void *arg, const uint8_t *b, size_t n)
{
	int type = proto_type(b, n);

	(void) arg;
	if (type == PROTO_SESSION) {
		handin_session(b, n);
		/* A session whose ACK waits for room: so does the channel. */
		return (hi.h_deferred != NULL ? CTLCHAN_STOP : CTLCHAN_NEXT);
	}
	if (type == PROTO_HANDOFF_END)
		mlog(MLOG_INFO, "hand-in complete", "predecessor_pid=%u "
		    "resumed=%llu", hi.h_peer,
		    (unsigned long long)hi.h_resumed);
	else
		mlog(MLOG_ERROR, "unexpected message on the handoff channel",
		    "type=%s", proto_type_name(type));
	handin_stop();
	return (CTLCHAN_STOP);
}

static void
handin_read_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	switch (ctlchan_pump(&hi.h_ch, handin_dispatch, NULL, 1)) {
	case CTLCHAN_AGAIN:
	case CTLCHAN_CLOSED:
		return;
	case CTLCHAN_BAD:
		mlog(MLOG_ERROR, "oversized frame on the handoff channel", "");
		break;
	case CTLCHAN_END:
	case CTLCHAN_ERROR:
		mlog(MLOG_WARN, "the predecessor closed the handoff channel "
		    "early", "predecessor_pid=%u resumed=%llu", hi.h_peer,
		    (unsigned long long)hi.h_resumed);
		break;
	}
	handin_stop();
}

void
handin_start(int fd, uint32_t peer)
{
	if (handoff_open(&hi, fd, peer, handin_read_cb, handin_write_cb) == 0)
		mlog(MLOG_INFO, "taking sessions over", "predecessor_pid=%u",
		    peer);
}
