/*
 * conn.c: one WebSocket endpoint in the worker: reading and parsing frames,
 * the close handshake, queued output and flow control.  What a message
 * means for its session is session.c's business.
 *
 * Reading.  A connection with no partial frame reads into the worker's
 * shared scratch buffer and parses in place (unmasking in place too); only
 * a partial frame left at the end is copied into the connection's own c_in.
 * So an idle connection holds no buffer.
 *
 * Writing.  A frame for a connection whose queue is empty goes straight to
 * the socket (header and payload in one sendmsg); what the socket does not
 * take is queued in c_out and written when the socket is writable.  The
 * session pauses the sender while the receiver's c_out is above the high
 * watermark and resumes it below the low one; the messages of one read
 * are relayed together, so c_out stays within the high watermark plus one
 * read (CONN_SCRATCH) or one reassembled message.
 *
 * Freeing.  A connection that ends is closed at once but freed only by the
 * reaper (an ev_prepare watcher), so a pointer held further up the call
 * stack stays valid until the callback returns.  A write that fails deep
 * inside a call chain (relaying, sending a CLOSE) does not even close the
 * connection there: it is marked doomed and the reaper destroys it, so no
 * caller sees its session change under it.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "addrcount.h"
#include "buf.h"
#include "httpresp.h"
#include "mlog.h"
#include "route.h"
#include "utf8.h"
#include "worker.h"
#include "wsframe.h"

#define	CONN_READ_CHUNK		65536
#define	CONN_READS_PER_EVENT	4
#define	CONN_BATCH_FRAMES	32
#define	CONN_SCRATCH		(256u * 1024)	/* one read, at most */
_Static_assert(2 * CONN_BATCH_FRAMES <= IOV_MAX,
    "a relay batch goes in one sendmsg()");

/*
 * A connection's life, one state at a time.  Every move goes through
 * conn_move(), which asserts that it is one of these:
 *
 *	OPEN ----------> CLOSING ------------> CLOSED ---> DOOMED ---> DEAD
 *	  |   we sent        |   they replied    all written: the FIN, then
 *	  |   our CLOSE      |                   closed by the reaper
 *	  |                  |
 *	  |-------------------------------------> CLOSED
 *	  |   they sent CLOSE first; we echoed it
 *	  |                  |
 *	  |------------------+-> FLUSHING ---> LINGER ---> DEAD
 *	  |   we failed it: our CLOSE, no     all written, SHUT_WR; their
 *	  |   waiting for theirs              EOF or the close time-out
 *	  |
 *	  `--> HTTP_ERROR -----> LINGER	(an error response before the upgrade)
 *
 * A write that fails inside a call chain moves any live state to DOOMED:
 * the reaper destroys the connection after the callback, so nothing up
 * the stack sees its session end under it.  Any state can end abruptly in
 * DEAD (a read error, an EOF before the close handshake, a time-out): the
 * socket is closed at once and the struct goes on the dead list, freed
 * before the loop next blocks.
 */
enum conn_state {
	CONN_OPEN = 1,		/* upgraded; frames flow */
	CONN_CLOSING,		/* we sent CLOSE; waiting for theirs */
	CONN_CLOSED,		/* both CLOSEs crossed; writing what is queued */
	CONN_FLUSHING,		/* we failed it; writing what is queued */
	CONN_LINGER,		/* SHUT_WR sent; discarding until their EOF */
	CONN_HTTP_ERROR,	/* writing an HTTP error response */
	CONN_DOOMED,		/* failed or finished; the reaper destroys it */
	CONN_DEAD		/* socket closed; waiting to be freed */
};

#define	CONN_TO(s)	(1u << (s))
static const unsigned conn_moves[] = {
	[CONN_OPEN] = CONN_TO(CONN_CLOSING) | CONN_TO(CONN_CLOSED) |
	    CONN_TO(CONN_FLUSHING) | CONN_TO(CONN_HTTP_ERROR) |
	    CONN_TO(CONN_DOOMED) | CONN_TO(CONN_DEAD),
	[CONN_CLOSING] = CONN_TO(CONN_CLOSED) | CONN_TO(CONN_FLUSHING) |
	    CONN_TO(CONN_DOOMED) | CONN_TO(CONN_DEAD),
	[CONN_CLOSED] = CONN_TO(CONN_DOOMED) | CONN_TO(CONN_DEAD),
	[CONN_FLUSHING] = CONN_TO(CONN_LINGER) | CONN_TO(CONN_DOOMED) |
	    CONN_TO(CONN_DEAD),
	[CONN_LINGER] = CONN_TO(CONN_DEAD),
	[CONN_HTTP_ERROR] = CONN_TO(CONN_LINGER) | CONN_TO(CONN_DOOMED) |
	    CONN_TO(CONN_DEAD),
	[CONN_DOOMED] = CONN_TO(CONN_DEAD),
	[CONN_DEAD] = 0
};

/*
 * One WebSocket endpoint: its socket and state, the bytes not yet parsed
 * (c_in), a message being reassembled (c_frag), the bytes not yet written
 * (c_out) and timestamps.  Only this file sees inside: the session and
 * the handoff go through the functions in worker.h.
 */
struct conn {
	int		c_fd;
	enum conn_state	c_state;
	ev_io		c_rio;
	ev_io		c_wio;
	ev_timer	c_timer;	/* close deadline, or ping cadence */
	struct session	*c_sess;	/* NULL once out of its session */
	int		c_role;		/* ROLE_MASTER or ROLE_SLAVE */
	bool		c_ping_ok;	/* peer said it answers PINGs */
	bool		c_resume;	/* peer said it can resume (wresume.c) */
	char		c_fp[80];	/* its key's fingerprint; "": none */
	bool		c_was_paused;	/* its peer's queue has been full */
	uint8_t		c_pause;	/* not reading: CONN_PAUSE_* bits */
	bool		c_corked;	/* queue output, send at conn_uncork */
	char		c_doom_why[64];	/* DOOMED: why ("" a finished close) */
	struct conn	*c_dnext;	/* the doomed list */
	struct buf	c_in;		/* received, not yet parsed */
	struct buf	c_frag;		/* fragmented message so far */
	uint8_t		c_frag_op;	/* its opcode, 0 if none */
	uint32_t	c_frag_utf8;	/* UTF-8 state across its fragments */
	struct buf	c_out;		/* queued for writing */
	ev_tstamp	c_last_rx;	/* last frame received */
	ev_tstamp	c_ping_sent;	/* 0, or when our PING went out */
	uint64_t	c_rx_msgs;
	uint64_t	c_tx_msgs;
	char		c_reqid[48];
	char		c_peer[64];
	char		c_host[ADDRCOUNT_HOST_MAX];	/* counted; "" if not */
	struct conn	*c_next;	/* all connections, or the dead list */
	struct conn	*c_prev;
};

/* Why a connection is not being read. */
#define	CONN_PAUSE_PEER	0x1	/* the other side's queue is full */
#define	CONN_PAUSE_SELF	0x2	/* our own queue is full (answers to pings) */
#define	CONN_PAUSE_ALL	0x3

/*
 * Relaying in batches.  While conn_parse() works through one read, the
 * messages it relays to the peer are gathered here (a header each, and a
 * pointer to the payload where it lies, unmasked in place) and leave in
 * one sendmsg() when the read is parsed: one system call per read instead
 * of one per message.  Only conn_relay_frame() adds to the batch, for a
 * payload that stays put until then; anything else written to the peer
 * sends the batch first, so the order on the wire is kept.
 */
struct conn_batch {
	struct conn	*rb_to;		/* NULL: not batching */
	int		rb_niov;
	struct iovec	rb_iov[2 * CONN_BATCH_FRAMES];
	uint8_t		rb_hdr[CONN_BATCH_FRAMES][WSFRAME_MAX_HEADER];
};

/*
 * This file's state: every connection of the worker, on one of three
 * lists, the per-address counts, the read buffer they share and the relay
 * batch.
 */
static struct conns {
	struct ev_loop	*cn_loop;
	const struct wconf *cn_conf;	/* main.c's, from CONFIG */
	struct conn	*cn_live;	/* live connections */
	struct conn	*cn_doomed;	/* failed, to destroy (the reaper) */
	struct conn	*cn_dead;	/* closed, to free (the reaper) */
	size_t		cn_count;	/* live and doomed */
	struct addrcount *cn_peers;	/* connections per client address */
	uint8_t		*cn_scratch;	/* read buffer shared by all */
	size_t		cn_scratch_len;
	struct conn_batch cn_rb;
} cn;

static void
conn_move(struct conn *c, enum conn_state to)
{
	assert(conn_moves[c->c_state] & CONN_TO(to));
	c->c_state = to;
}

/* Not doomed or dead: it may still be written to, read, timed. */
static bool
conn_live(const struct conn *c)
{
	return (c->c_state != CONN_DOOMED && c->c_state != CONN_DEAD);
}

static void conn_read_cb(EV_P_ ev_io *, int);
static void conn_write_cb(EV_P_ ev_io *, int);
static void conn_timer_cb(EV_P_ ev_timer *, int);
static void conn_destroy(struct conn *, const char *why);
static void conn_fail(struct conn *, uint16_t code, const char *why);
static void conn_finish(struct conn *, enum conn_state);
static void conn_linger(struct conn *);
static void conn_pause(struct conn *, uint8_t why);
static void conn_resume(struct conn *, uint8_t why);
static void conn_drained(struct conn *);

/* 0, or -1 (out of memory). */
int
conn_init(struct ev_loop *loop, const struct wconf *conf)
{
	cn.cn_loop = loop;
	cn.cn_conf = conf;
	cn.cn_scratch_len = CONN_SCRATCH;
	if ((cn.cn_scratch = malloc(cn.cn_scratch_len)) == NULL ||
	    (cn.cn_peers = addrcount_new()) == NULL)
		return (-1);
	return (0);
}

const char *
conn_host(const struct conn *c)
{
	return (c->c_host);
}

bool
conn_host_hold(const char *host)
{
	return (host[0] != '\0' && addrcount_add(cn.cn_peers, host) != 0);
}

void
conn_host_release(const char *host)
{
	if (host[0] != '\0')
		addrcount_del(cn.cn_peers, host);
}

/* Connections the worker holds (its own limits, REPORT). */
size_t
conn_count(void)
{
	return (cn.cn_count);
}

static const char *
conn_role_name(const struct conn *c)
{
	return (route_role_name(c->c_role));
}

static const char *
conn_sid(const struct conn *c)
{
	return (c->c_sess != NULL ? session_id(c->c_sess) : NULL);
}

struct conn *
conn_new(int fd, int role, const char *reqid, size_t reqidlen,
    const char *peer, size_t peerlen)
{
	struct conn *c;

	if ((c = calloc(1, sizeof (*c))) == NULL)
		return (NULL);
	c->c_fd = fd;
	c->c_state = CONN_OPEN;
	c->c_role = role;
	snprintf(c->c_reqid, sizeof (c->c_reqid), "%.*s", (int)reqidlen,
	    reqid);
	snprintf(c->c_peer, sizeof (c->c_peer), "%.*s", (int)peerlen, peer);
	/* Counted per address (the limit is checked by the caller). */
	addrcount_host(c->c_peer, c->c_host, sizeof (c->c_host));
	if (addrcount_add(cn.cn_peers, c->c_host) == 0)
		c->c_host[0] = '\0';		/* out of memory: not counted */
	ev_io_init(&c->c_rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->c_wio, conn_write_cb, fd, EV_WRITE);
	ev_init(&c->c_timer, conn_timer_cb);
	c->c_rio.data = c->c_wio.data = c->c_timer.data = c;
	c->c_last_rx = ev_now(cn.cn_loop);
	c->c_next = cn.cn_live;
	if (cn.cn_live != NULL)
		cn.cn_live->c_prev = c;
	cn.cn_live = c;
	cn.cn_count++;
	return (c);
}

bool
conn_is_open(const struct conn *c)
{
	return (c->c_state == CONN_OPEN);
}

/* --- what others may know of a connection ------------------------------- */

int
conn_role(const struct conn *c)
{
	return (c->c_role);
}

const char *
conn_reqid(const struct conn *c)
{
	return (c->c_reqid);
}

const char *
conn_peer(const struct conn *c)
{
	return (c->c_peer);
}

struct session *
conn_session(const struct conn *c)
{
	return (c->c_sess);
}

/* c is one side of s now (its role is the one it came with). */
bool
conn_resumes(const struct conn *c)
{
	return (c->c_resume);
}

void
conn_set_resumes(struct conn *c, bool on)
{
	c->c_resume = on;
}

/* The fingerprint of the key its credential was checked with, or "". */
const char *
conn_fingerprint(const struct conn *c)
{
	return (c->c_fp);
}

void
conn_set_fingerprint(struct conn *c, const char *fp)
{
	(void) snprintf(c->c_fp, sizeof (c->c_fp), "%s", fp);
}

void
conn_join(struct conn *c, struct session *s)
{
	c->c_sess = s;
}

/* Its queue is at or above the high watermark: its peer must wait. */
bool
conn_full(const struct conn *c)
{
	return (c->c_out.b_len >= cn.cn_conf->wc_out_high);
}

/*
 * The per-address limit on established connections: the supervisor
 * limits those it is still reading, each worker those it holds.  true if
 * c was refused (503).
 */
bool
conn_too_many_from(struct conn *c)
{
	static struct mlog_limit lim;
	unsigned long skipped;
	unsigned n;

	if (cn.cn_conf->wc_max_per_addr == 0 || c->c_host[0] == '\0' ||
	    (n = addrcount_get(cn.cn_peers, c->c_host)) <=
	    cn.cn_conf->wc_max_per_addr)
		return (false);
	if (mlog_allow(&lim, &skipped))
		mlog(MLOG_WARN, "too many connections from one address",
		    "address=%s connections=%u max_connections_per_address=%zu "
		    "times_since_last_line=%lu", c->c_host, n,
		    cn.cn_conf->wc_max_per_addr, skipped);
	conn_http_refuse(c, 503, "TooManyConnections", "too many connections "
	    "from this address", "Retry-After: 1\r\n");
	return (true);
}

/* (Re)arm the connection's one timer to fire after `after` seconds. */
static void
conn_timer(struct conn *c, ev_tstamp after)
{
	ev_timer_stop(cn.cn_loop, &c->c_timer);
	ev_timer_set(&c->c_timer, after > 0 ? after : 0, 0);
	ev_timer_start(cn.cn_loop, &c->c_timer);
}

static size_t conn_parse(struct conn *, uint8_t *, size_t);

static bool
conn_reading(const struct conn *c)
{
	return (c->c_state == CONN_OPEN || c->c_state == CONN_CLOSING);
}

/*
 * Parse what waits in c_in.  A frame in it may finish the connection (a
 * CLOSE, a bad frame): then the rest is dropped, not consumed.
 */
static void
conn_parse_in(struct conn *c)
{
	size_t used;

	if (c->c_in.b_len == 0)
		return;
	used = conn_parse(c, buf_head(&c->c_in), c->c_in.b_len);
	if (c->c_state == CONN_DEAD)
		return;
	if (conn_reading(c))
		buf_consume(&c->c_in, used);
	else
		buf_free(&c->c_in);
}

void
conn_start(struct conn *c, bool ping_ok, const uint8_t *early, size_t n)
{
	if (c->c_state != CONN_OPEN)
		return;		/* it failed during pairing */
	c->c_ping_ok = ping_ok;
	if (c->c_ping_ok)
		conn_timer(c, cn.cn_conf->wc_ping);
	if (n > 0) {
		/* Bytes the client sent after its head, before our 101. */
		if (buf_append(&c->c_in, early, n) != 0) {
			conn_destroy(c, "out of memory");
			return;
		}
		conn_parse_in(c);
	}
	if (c->c_pause == 0 && conn_reading(c))
		ev_io_start(cn.cn_loop, &c->c_rio);
}

/*
 * A write failed somewhere inside a call chain: stop the connection now
 * and let the reaper destroy it, so that nothing up the stack sees its
 * session end under it.
 */
static void
conn_doom(struct conn *c, const char *why)
{
	if (!conn_live(c))
		return;
	conn_move(c, CONN_DOOMED);
	snprintf(c->c_doom_why, sizeof (c->c_doom_why), "%s", why);
	ev_io_stop(cn.cn_loop, &c->c_rio);
	ev_io_stop(cn.cn_loop, &c->c_wio);
	ev_timer_stop(cn.cn_loop, &c->c_timer);
	c->c_dnext = cn.cn_doomed;
	cn.cn_doomed = c;
}

/* --- output ----------------------------------------------------------- */

/*
 * Write iov to the socket if nothing is queued, and queue what it did not
 * take.  0, or -1 if the connection failed (and is now dead).
 */
static void conn_batch_flush(void);

static int
conn_writev(struct conn *c, struct iovec *iov, int iovcnt, bool more)
{
	size_t total = 0, sent = 0;
	ssize_t n = 0;

	if (c == cn.cn_rb.rb_to && cn.cn_rb.rb_niov > 0)
		conn_batch_flush();	/* what was relayed first goes first */
	if (!conn_live(c))
		return (-1);

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (c->c_out.b_len == 0 && !c->c_corked) {
		struct msghdr msg;

		memset(&msg, 0, sizeof (msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)iovcnt;
		do {
			n = sendmsg(c->c_fd, &msg, MSG_NOSIGNAL |
			    MSG_DONTWAIT | (more ? MSG_MORE : 0));
		} while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			char why[64];

			snprintf(why, sizeof (why), "write failed: %s",
			    strerror(errno));
			conn_doom(c, why);
			return (-1);
		}
		sent = n > 0 ? (size_t)n : 0;
		if (sent == total)
			return (0);
	}
	for (int i = 0; i < iovcnt; i++) {
		size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;

		sent -= skip;
		if (buf_append(&c->c_out, (uint8_t *)iov[i].iov_base + skip,
		    iov[i].iov_len - skip) != 0) {
			conn_doom(c, "out of memory queueing output");
			return (-1);
		}
	}
	if (!c->c_corked)
		ev_io_start(cn.cn_loop, &c->c_wio);
	return (0);
}

/*
 * Corked, a connection only queues what it is given; conn_uncork() sends
 * it all in one write.  (The 101 and the first message, for one.)
 */
void
conn_cork(struct conn *c)
{
	c->c_corked = true;
}

static void conn_flush(struct conn *, bool);

void
conn_uncork(struct conn *c)
{
	if (!c->c_corked)
		return;
	c->c_corked = false;
	if (conn_live(c) && c->c_out.b_len > 0)
		conn_flush(c, false);
}

int
conn_write_raw(struct conn *c, const void *p, size_t n)
{
	struct iovec iov = { (void *)(uintptr_t)p, n };

	if (!conn_live(c))
		return (-1);
	return (conn_writev(c, &iov, 1, false));
}

/* One frame; more: the last we send, with MSG_MORE (the FIN follows). */
static int
conn_frame_out(struct conn *c, uint8_t opcode, const void *p, size_t n,
    bool more)
{
	uint8_t hdr[WSFRAME_MAX_HEADER];
	struct iovec iov[2];

	/* After our CLOSE nothing more may be sent. */
	if (c->c_state != CONN_OPEN)
		return (-1);
	iov[0].iov_base = hdr;
	iov[0].iov_len = wsframe_header(hdr, true, opcode, n, NULL);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	if (conn_writev(c, iov, n > 0 ? 2 : 1, more) != 0)
		return (-1);
	if (!wsframe_is_control(opcode))
		c->c_tx_msgs++;
	return (0);
}

int
conn_send_frame(struct conn *c, uint8_t opcode, const void *p, size_t n)
{
	return (conn_frame_out(c, opcode, p, n, false));
}

/*
 * Relay a message: as conn_send_frame(), but while a read is parsed it
 * joins the batch (p must stay valid until conn_parse() returns).
 */
int
conn_relay_frame(struct conn *c, uint8_t opcode, const void *p, size_t n)
{
	struct iovec *iov;

	if (c != cn.cn_rb.rb_to || c->c_out.b_len > 0 || c->c_corked)
		return (conn_send_frame(c, opcode, p, n));
	if (c->c_state != CONN_OPEN)
		return (-1);
	if (cn.cn_rb.rb_niov == 2 * CONN_BATCH_FRAMES) {
		conn_batch_flush();
		if (!conn_live(c))
			return (-1);
		if (c->c_out.b_len > 0)
			return (conn_send_frame(c, opcode, p, n));
	}
	iov = &cn.cn_rb.rb_iov[cn.cn_rb.rb_niov];
	iov[0].iov_base = cn.cn_rb.rb_hdr[cn.cn_rb.rb_niov / 2];
	iov[0].iov_len = wsframe_header(iov[0].iov_base, true, opcode, n,
	    NULL);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = n;
	cn.cn_rb.rb_niov += 2;
	if (!wsframe_is_control(opcode))
		c->c_tx_msgs++;
	return (0);
}

/* Send the batch (the target stays; what the socket does not take waits). */
static void
conn_batch_flush(void)
{
	struct conn *to = cn.cn_rb.rb_to;
	int n = cn.cn_rb.rb_niov;

	cn.cn_rb.rb_niov = 0;
	if (n == 0 || !conn_live(to))
		return;
	(void) conn_writev(to, cn.cn_rb.rb_iov, n, false);
}

int
conn_send_text(struct conn *c, const char *s)
{
	return (conn_send_frame(c, WS_OP_TEXT, s, strlen(s)));
}

/*
 * Our CLOSE frame: code 0 or 1005 sends an empty payload.  more: it is our
 * reply to theirs, the last we send, and the socket is closed right after
 * it (conn_linger()): with MSG_MORE the kernel holds it for that moment
 * and the FIN rides in the same segment.  0, or -1 (not sent).
 */
static int
conn_close_frame(struct conn *c, uint16_t code, const char *reason,
    size_t reasonlen, bool more)
{
	uint8_t pl[WSFRAME_MAX_CONTROL];
	size_t n = 0;

	if (code != 0 && code != WS_CLOSE_NO_STATUS)
		n = wsframe_close_payload(pl, code, reason, reasonlen);
	return (conn_frame_out(c, WS_OP_CLOSE, pl, n, more));
}

/*
 * Begin the close handshake: send our CLOSE and wait for theirs (bounded
 * by the close time-out).
 */
void
conn_send_close(struct conn *c, uint16_t code, const char *reason,
    size_t reasonlen)
{
	if (c->c_state != CONN_OPEN ||
	    conn_close_frame(c, code, reason, reasonlen, false) != 0)
		return;
	conn_move(c, CONN_CLOSING);
	conn_timer(c, cn.cn_conf->wc_close);
	/* Their reply must be read even if we had paused them. */
	conn_resume(c, CONN_PAUSE_ALL);
}

void
conn_http_error(struct conn *c, int status, const char *code,
    const char *message, const char *extra)
{
	mlog(MLOG_INFO, "request refused", "req_id=%s peer=%s status=%d "
	    "code=%s error=%s", c->c_reqid, c->c_peer, status, code, message);
	conn_http_refuse(c, status, code, message, extra);
}

/* The same without a log line: the caller logs (a limit, rate-limited). */
void
conn_http_refuse(struct conn *c, int status, const char *code,
    const char *message, const char *extra)
{
	char resp[1024];
	size_t n;

	wmetrics_attach(c->c_role, status);
	n = httpresp_error(resp, sizeof (resp), status, code, message, extra);
	conn_move(c, CONN_HTTP_ERROR);
	conn_timer(c, cn.cn_conf->wc_close);
	if (conn_write_raw(c, resp, n) != 0)
		return;
	if (c->c_out.b_len == 0)
		conn_linger(c);
}

/*
 * The close handshake is over (to CLOSED) or given up (to FLUSHING):
 * write what is queued, then linger.
 */
static void
conn_finish(struct conn *c, enum conn_state to)
{
	if (!conn_live(c))
		return;
	if (c->c_state == CONN_OPEN)
		conn_timer(c, cn.cn_conf->wc_close);
	conn_move(c, to);
	ev_io_stop(cn.cn_loop, &c->c_rio);
	c->c_pause = 0;
	if (c->c_out.b_len == 0)
		conn_linger(c);
}

/*
 * Everything is written: half-close and discard what still arrives until
 * the peer closes too, so that our last bytes are not lost to a reset.
 */
static void
conn_linger(struct conn *c)
{
	if (!conn_live(c))
		return;
	if (c->c_state == CONN_CLOSED) {
		/*
		 * Both CLOSEs have crossed, so they send nothing more: close
		 * now (the FIN follows our last bytes) instead of half-closing
		 * and waiting for theirs.  Through the reaper, because a
		 * caller up the stack may still hold the session.  The FIN
		 * leaves now, with our reply that MSG_MORE held: a close()
		 * that meets unread bytes of theirs sends a reset instead and
		 * drops whatever is still unsent.
		 */
		(void) shutdown(c->c_fd, SHUT_WR);
		conn_doom(c, "");
		return;
	}
	(void) shutdown(c->c_fd, SHUT_WR);
	conn_move(c, CONN_LINGER);
	/*
	 * c_in and c_frag may still be in a caller's hands (conn_parse_in):
	 * they are freed there, or by the reaper.
	 */
	ev_io_start(cn.cn_loop, &c->c_rio);
}

static void
conn_write_cb(EV_P_ ev_io *w, int revents)
{
	(void) revents;
	(void) EV_A;
	conn_flush(w->data, true);
}

/*
 * Write what is queued.  From the write watcher (incb) a failed write
 * destroys the connection at once; from elsewhere it dooms it.
 */
static void
conn_flush(struct conn *c, bool incb)
{
	ssize_t n;

	if (c->c_out.b_len == 0) {
		ev_io_stop(cn.cn_loop, &c->c_wio);
		return;
	}
	do {
		n = send(c->c_fd, buf_head(&c->c_out), c->c_out.b_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		char why[64];

		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ev_io_start(cn.cn_loop, &c->c_wio);
			return;
		}
		snprintf(why, sizeof (why), "write failed: %s",
		    strerror(errno));
		if (incb)
			conn_destroy(c, why);
		else
			conn_doom(c, why);
		return;
	}
	buf_consume(&c->c_out, (size_t)n);
	if (c->c_out.b_len == 0)
		ev_io_stop(cn.cn_loop, &c->c_wio);
	else
		ev_io_start(cn.cn_loop, &c->c_wio);
	/*
	 * While closing, the time-out counts from the last progress: a slow
	 * reader still gets all of its output, and then the CLOSE.
	 */
	if (c->c_state != CONN_OPEN && n > 0)
		conn_timer(c, cn.cn_conf->wc_close);
	if (c->c_out.b_len <= cn.cn_conf->wc_out_low) {
		if (c->c_pause & CONN_PAUSE_SELF)
			conn_resume(c, CONN_PAUSE_SELF);
		if (c->c_state != CONN_DEAD)
			conn_drained(c);
	}
	if (c->c_out.b_len == 0 && (c->c_state == CONN_CLOSED ||
	    c->c_state == CONN_FLUSHING || c->c_state == CONN_HTTP_ERROR))
		conn_linger(c);
}

/* --- input ------------------------------------------------------------ */

static void
conn_pause(struct conn *c, uint8_t why)
{
	if (c->c_state == CONN_DEAD)
		return;
	c->c_pause |= why;
	ev_io_stop(cn.cn_loop, &c->c_rio);
}

static void
conn_resume(struct conn *c, uint8_t why)
{
	if ((c->c_pause & why) == 0 || !conn_live(c))
		return;
	c->c_pause &= (uint8_t)~why;
	if (c->c_pause != 0)
		return;		/* still held for the other reason */
	/* We were not listening: silence meanwhile proves nothing. */
	c->c_last_rx = ev_now(cn.cn_loop);
	c->c_ping_sent = 0;
	/* Frames that arrived before the pause come first. */
	conn_parse_in(c);
	if (c->c_pause == 0 && conn_reading(c))
		ev_io_start(cn.cn_loop, &c->c_rio);
}

/*
 * Backpressure (the session decides when it applies: while it relays).
 * Pause from while to, its peer, has its queue full; resume other when
 * c, its peer, has drained below the low watermark.
 */
void
conn_throttle(struct conn *from, const struct conn *to)
{
	if (from->c_state != CONN_OPEN || !conn_full(to) ||
	    (from->c_pause & CONN_PAUSE_PEER))
		return;
	/* The first time in a connection's life is worth a line. */
	mlog(from->c_was_paused ? MLOG_DEBUG : MLOG_INFO,
	    "peer not reading; pausing", "session=%s paused=%s queued=%zu",
	    conn_sid(from), conn_role_name(from), to->c_out.b_len);
	from->c_was_paused = true;
	conn_pause(from, CONN_PAUSE_PEER);
}

static void
conn_drained(struct conn *c)
{
	struct conn *other = session_peer(c);

	if (other == NULL || !(other->c_pause & CONN_PAUSE_PEER))
		return;
	mlog(MLOG_DEBUG, "peer reading again; resuming", "session=%s "
	    "resumed=%s queued=%zu", conn_sid(c), conn_role_name(other),
	    c->c_out.b_len);
	conn_resume(other, CONN_PAUSE_PEER);
}

/* Fail the connection: our CLOSE with code, then close (RFC 6455 7.1.7). */
static void
conn_fail(struct conn *c, uint16_t code, const char *why)
{
	char reason[96];

	mlog(MLOG_WARN, "closing connection: bad input", "req_id=%s "
	    "session=%s role=%s peer=%s close_code=%u error=%s", c->c_reqid,
	    conn_sid(c), conn_role_name(c), c->c_peer, (unsigned)code, why);
	if (c->c_sess != NULL) {
		snprintf(reason, sizeof (reason), "%s: %s", conn_role_name(c),
		    why);
		session_peer_closed(c, WS_CLOSE_GOING_AWAY, (const uint8_t *)
		    reason, strlen(reason), true);
	}
	/* Ours, if not sent already; theirs is not waited for. */
	if (c->c_state == CONN_OPEN)
		(void) conn_close_frame(c, code, why, strlen(why), false);
	conn_finish(c, CONN_FLUSHING);
}

static void
conn_on_close(struct conn *c, const uint8_t *p, size_t n)
{
	const uint8_t *reason;
	size_t rlen;
	uint16_t code;

	if (wsframe_close_parse(p, n, &code, &reason, &rlen) != 0) {
		conn_fail(c, WS_CLOSE_PROTOCOL, "invalid close frame");
		return;
	}
	if (c->c_state == CONN_CLOSING) {
		/* Their reply to ours. */
		conn_finish(c, CONN_CLOSED);
		return;
	}
	mlog(MLOG_DEBUG, "close received", "req_id=%s session=%s role=%s "
	    "close_code=%u", c->c_reqid, conn_sid(c), conn_role_name(c),
	    (unsigned)code);
	if (c->c_sess != NULL)
		session_peer_closed(c, code, reason, rlen, false);
	/* Echo their code (RFC 6455 5.5.1), the last we send, then finish. */
	(void) conn_close_frame(c, code, NULL, 0, true);
	conn_finish(c, CONN_CLOSED);
}

/* A continuation frame: the message being reassembled grows, or ends. */
static void
conn_continued(struct conn *c, const struct wsframe_hdr *h, uint8_t *p)
{
	size_t n = (size_t)h->fh_len;
	uint8_t op;

	if (c->c_frag_op == 0) {
		conn_fail(c, WS_CLOSE_PROTOCOL,
		    "continuation frame outside a message");
		return;
	}
	if (n > cn.cn_conf->wc_max_message - c->c_frag.b_len) {
		conn_fail(c, WS_CLOSE_TOO_BIG, "message too big");
		return;
	}
	if (c->c_frag_op == WS_OP_TEXT) {
		c->c_frag_utf8 = utf8_feed(c->c_frag_utf8, p, n);
		if (c->c_frag_utf8 == UTF8_REJECT ||
		    (h->fh_fin && c->c_frag_utf8 != UTF8_ACCEPT)) {
			conn_fail(c, WS_CLOSE_BAD_DATA,
			    "text message is not UTF-8");
			return;
		}
	}
	if (buf_append(&c->c_frag, p, n) != 0) {
		conn_fail(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	if (!h->fh_fin)
		return;
	op = c->c_frag_op;
	c->c_frag_op = 0;
	c->c_rx_msgs++;
	if (c->c_sess != NULL)
		session_message(c, op, buf_head(&c->c_frag), c->c_frag.b_len);
	if (cn.cn_rb.rb_to != NULL)
		conn_batch_flush();	/* before c_frag goes */
	buf_free(&c->c_frag);
}

/* A text or binary frame: a whole message, or the first of its pieces. */
static void
conn_data(struct conn *c, const struct wsframe_hdr *h, uint8_t *p)
{
	size_t n = (size_t)h->fh_len;
	uint8_t op = h->fh_opcode;

	if (c->c_frag_op != 0) {
		conn_fail(c, WS_CLOSE_PROTOCOL,
		    "new message inside a fragmented one");
		return;
	}
	if (!h->fh_fin) {
		c->c_frag_op = op;
		c->c_frag_utf8 = UTF8_ACCEPT;
		if (op == WS_OP_TEXT) {
			c->c_frag_utf8 = utf8_feed(UTF8_ACCEPT, p, n);
			if (c->c_frag_utf8 == UTF8_REJECT) {
				conn_fail(c, WS_CLOSE_BAD_DATA,
				    "text message is not UTF-8");
				return;
			}
		}
		if (buf_append(&c->c_frag, p, n) != 0)
			conn_fail(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	if (op == WS_OP_TEXT && !utf8_valid(p, n)) {
		conn_fail(c, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
		return;
	}
	c->c_rx_msgs++;
	if (c->c_sess != NULL)
		session_message(c, op, p, n);
}

/* A whole frame has arrived, payload unmasked. */
static void
conn_frame(struct conn *c, const struct wsframe_hdr *h, uint8_t *p)
{
	size_t n = (size_t)h->fh_len;
	uint8_t op = h->fh_opcode;

	c->c_last_rx = ev_now(cn.cn_loop);
	c->c_ping_sent = 0;
	if (c->c_sess != NULL)
		session_activity(c->c_sess);

	switch (op) {
	case WS_OP_PING:
		(void) conn_send_frame(c, WS_OP_PONG, p, n);
		/* A peer that pings and never reads gets no more pongs queued. */
		if (conn_full(c) && !(c->c_pause & CONN_PAUSE_SELF)) {
			static struct mlog_limit lim;
			unsigned long skipped;

			if (mlog_allow(&lim, &skipped))
				mlog(MLOG_WARN, "peer not reading its pongs; "
				    "pausing", "req_id=%s session=%s role=%s "
				    "queued=%zu times_since_last_line=%lu",
				    c->c_reqid, conn_sid(c), conn_role_name(c),
				    c->c_out.b_len, skipped);
			conn_pause(c, CONN_PAUSE_SELF);
		}
		return;
	case WS_OP_PONG:
		return;
	case WS_OP_CLOSE:
		conn_on_close(c, p, n);
		return;
	default:
		break;
	}
	if (c->c_state != CONN_OPEN)
		return;		/* after our CLOSE, data is discarded */
	if (op == WS_OP_CONT)
		conn_continued(c, h, p);
	else
		conn_data(c, h, p);
}

/*
 * Parse and act on the whole frames in data[0..len); returns the bytes
 * used.  Stops early when the connection is paused or ends.
 */
static size_t conn_parse_frames(struct conn *, uint8_t *, size_t);

static size_t
conn_parse(struct conn *c, uint8_t *data, size_t len)
{
	struct conn *outer = cn.cn_rb.rb_to;
	size_t used;

	/*
	 * A parse inside another's (a CLOSE that resumes a paused peer)
	 * first sends the outer batch: the inner one may move the buffers
	 * that batch points into.
	 */
	if (outer != NULL)
		conn_batch_flush();
	cn.cn_rb.rb_to = session_peer(c);
	used = conn_parse_frames(c, data, len);
	if (cn.cn_rb.rb_to != NULL)
		conn_batch_flush();
	cn.cn_rb.rb_to = outer;
	if (conn_live(c))
		session_backpressure(c);
	return (used);
}

static size_t
conn_parse_frames(struct conn *c, uint8_t *data, size_t len)
{
	struct wsframe_hdr h;
	size_t off = 0;

	while (off < len) {
		uint8_t *p;
		int r;

		if (c->c_pause != 0 || !conn_reading(c))
			break;
		r = wsframe_parse(data + off, len - off, WSFRAME_F_MASKED, &h);
		if (r == 0)
			break;
		if (r < 0) {
			conn_fail(c, wsframe_err_code(r), wsframe_strerror(r));
			return (len);
		}
		if (!wsframe_is_control(h.fh_opcode) &&
		    h.fh_len > cn.cn_conf->wc_max_message) {
			conn_fail(c, WS_CLOSE_TOO_BIG, "message too big");
			return (len);
		}
		if (h.fh_len > len - off - h.fh_hdrlen)
			break;
		p = data + off + h.fh_hdrlen;
		wsframe_mask(p, (size_t)h.fh_len, h.fh_mask, 0);
		off += h.fh_hdrlen + (size_t)h.fh_len;
		conn_frame(c, &h, p);
	}
	if (c->c_state != CONN_OPEN && c->c_state != CONN_CLOSING)
		return (len);	/* finished: the rest is discarded */
	return (off);
}

static void
conn_eof(struct conn *c)
{
	if (c->c_state != CONN_OPEN) {
		conn_destroy(c, NULL);	/* a close under way: it is over */
		return;
	}
	mlog(MLOG_INFO, "connection closed without a close frame",
	    "req_id=%s session=%s role=%s peer=%s", c->c_reqid, conn_sid(c),
	    conn_role_name(c), c->c_peer);
	conn_destroy(c, "disconnected");
}

static void
conn_read_cb(EV_P_ ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void) revents;
	for (int i = 0; i < CONN_READS_PER_EVENT; i++) {
		uint8_t *dst;
		size_t cap, used;
		bool scratch;
		ssize_t n;

		if (!conn_live(c) || c->c_pause != 0)
			return;
		if (c->c_in.b_len > 0) {
			if (buf_reserve(&c->c_in, CONN_READ_CHUNK) != 0) {
				conn_destroy(c, "out of memory");
				return;
			}
			dst = buf_tail(&c->c_in);
			cap = buf_avail(&c->c_in);
			/*
			 * No more in one read than into the scratch buffer,
			 * however big a long message has grown c_in: the
			 * messages of a read are relayed together, so a read
			 * bounds what one batch can leave queued.
			 */
			if (cap > cn.cn_scratch_len)
				cap = cn.cn_scratch_len;
			scratch = false;
		} else {
			dst = cn.cn_scratch;
			cap = cn.cn_scratch_len;
			scratch = true;
		}
		do {
			n = recv(c->c_fd, dst, cap, MSG_DONTWAIT);
		} while (n < 0 && errno == EINTR);
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (n < 0) {
			char why[96];

			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			snprintf(why, sizeof (why), "read failed: %s",
			    strerror(errno));
			conn_destroy(c, why);
			return;
		}
		if (c->c_state == CONN_LINGER || c->c_state == CONN_HTTP_ERROR)
			continue;	/* discarded */
		if (scratch) {
			used = conn_parse(c, dst, (size_t)n);
			if (c->c_state != CONN_DEAD && used < (size_t)n &&
			    buf_append(&c->c_in, dst + used,
			    (size_t)n - used) != 0) {
				conn_destroy(c, "out of memory");
				return;
			}
		} else {
			buf_commit(&c->c_in, (size_t)n);
			conn_parse_in(c);
		}
		if ((size_t)n < cap)
			return;		/* the socket is very likely empty */
	}
}

/* --- timers and ends -------------------------------------------------- */

static void
conn_timer_cb(EV_P_ ev_timer *w, int revents)
{
	struct conn *c = w->data;
	ev_tstamp now = ev_now(EV_A);

	(void) revents;
	if (c->c_state != CONN_OPEN) {
		mlog(MLOG_INFO, "close handshake timed out", "req_id=%s "
		    "session=%s role=%s peer=%s", c->c_reqid, conn_sid(c),
		    conn_role_name(c), c->c_peer);
		conn_destroy(c, "close timed out");
		return;
	}
	if (!c->c_ping_ok)
		return;
	if (c->c_pause != 0) {
		/* Not reading it: its answers could not be seen. */
		conn_timer(c, cn.cn_conf->wc_ping);
		return;
	}
	if (c->c_ping_sent > 0) {
		/* Nothing at all came back for a whole interval. */
		mlog(MLOG_INFO, "peer stopped answering pings", "req_id=%s "
		    "session=%s role=%s peer=%s", c->c_reqid, conn_sid(c),
		    conn_role_name(c), c->c_peer);
		conn_destroy(c, "ping timed out");
		return;
	}
	if (now - c->c_last_rx >= cn.cn_conf->wc_ping) {
		if (conn_send_frame(c, WS_OP_PING, "medusa", 6) != 0)
			return;
		c->c_ping_sent = now;
		conn_timer(c, cn.cn_conf->wc_ping);
		return;
	}
	conn_timer(c, c->c_last_rx + cn.cn_conf->wc_ping - now);
}

/* Close the socket, uncount it, and move it to the list the reaper frees. */
static void
conn_bury(struct conn *c)
{
	worker_close_sock(c->c_fd);
	c->c_fd = -1;
	conn_move(c, CONN_DEAD);
	if (c->c_prev != NULL)
		c->c_prev->c_next = c->c_next;
	else
		cn.cn_live = c->c_next;
	if (c->c_next != NULL)
		c->c_next->c_prev = c->c_prev;
	c->c_prev = NULL;
	c->c_next = cn.cn_dead;
	cn.cn_dead = c;
	cn.cn_count--;
	if (c->c_host[0] != '\0')
		addrcount_del(cn.cn_peers, c->c_host);
	c->c_host[0] = '\0';
}

/*
 * The end of a connection, orderly or not: close the socket now, leave the
 * session (which tells the peer, if the session was still live), and queue
 * the struct for the reaper.  why is NULL after a completed close.
 */
static void
conn_destroy(struct conn *c, const char *why)
{
	if (c->c_state == CONN_DEAD)
		return;
	ev_io_stop(cn.cn_loop, &c->c_rio);
	ev_io_stop(cn.cn_loop, &c->c_wio);
	ev_timer_stop(cn.cn_loop, &c->c_timer);
	conn_bury(c);
	if (c->c_sess != NULL) {
		struct session *s = c->c_sess;
		char reason[96];

		snprintf(reason, sizeof (reason), "%s %s", conn_role_name(c),
		    why != NULL ? why : "closed");
		c->c_sess = NULL;
		session_conn_gone(s, c, reason);
	}
}

void
conn_abort(struct conn *c, const char *why)
{
	conn_destroy(c, why);
}

/* Stop all activity on a connection that is being moved; nothing else. */
void
conn_hold(struct conn *c)
{
	ev_io_stop(cn.cn_loop, &c->c_rio);
	ev_io_stop(cn.cn_loop, &c->c_wio);
	ev_timer_stop(cn.cn_loop, &c->c_timer);
}

/*
 * The connection lives on in another process, which has its own copy of
 * the socket: close ours quietly (no CLOSE frame, no session news).  Its
 * session has let it go.
 */
void
conn_forget(struct conn *c)
{
	assert(c->c_state == CONN_OPEN);
	c->c_sess = NULL;
	conn_hold(c);
	conn_bury(c);
}

/*
 * The socket leaves its connection (forward.c splices it to another host):
 * a descriptor of the same socket, or -1; the struct goes to the reaper.
 */
int
conn_take_fd(struct conn *c)
{
	int fd = dup(c->c_fd);

	conn_hold(c);
	conn_bury(c);
	return (fd);
}

/* Can this connection move to another process as it is? */
bool
conn_movable(const struct conn *c)
{
	return (c->c_state == CONN_OPEN);
}

/*
 * A connection as plain data, for a successor (proto.h SESSION): the
 * spans point into its own buffers, valid while it is held.  Returns its
 * socket.
 */
int
conn_freeze(const struct conn *c, ev_tstamp now, struct proto_conn_state *pc)
{
	memset(pc, 0, sizeof (*pc));
	pc->pcs_role = (uint32_t)c->c_role;
	pc->pcs_reqid.ps_p = c->c_reqid;
	pc->pcs_reqid.ps_n = strlen(c->c_reqid);
	pc->pcs_peer.ps_p = c->c_peer;
	pc->pcs_peer.ps_n = strlen(c->c_peer);
	pc->pcs_ping_ok = c->c_ping_ok;
	pc->pcs_resume = c->c_resume;
	pc->pcs_out.ps_p = (const char *)buf_head(&c->c_out);
	pc->pcs_out.ps_n = c->c_out.b_len;
	pc->pcs_in.ps_p = (const char *)buf_head(&c->c_in);
	pc->pcs_in.ps_n = c->c_in.b_len;
	pc->pcs_frag.ps_p = (const char *)buf_head(&c->c_frag);
	pc->pcs_frag.ps_n = c->c_frag.b_len;
	pc->pcs_frag_op = c->c_frag_op;
	pc->pcs_frag_utf8 = c->c_frag_utf8;
	pc->pcs_rx_age_ms = worker_ms(now - c->c_last_rx);
	/* 0 is "no PING out", so a PING sent this very moment is 1. */
	pc->pcs_ping_age_ms = c->c_ping_sent > 0 ?
	    worker_ms(now - c->c_ping_sent) + 1 : 0;
	pc->pcs_rx_msgs = c->c_rx_msgs;
	pc->pcs_tx_msgs = c->c_tx_msgs;
	return (c->c_fd);
}

/*
 * The connection conn_freeze() described, rebuilt here on its socket fd,
 * which it owns from now on: on failure (out of memory: NULL) fd is
 * closed too.  It is in no session and does nothing until conn_thawed().
 */
struct conn *
conn_thaw(const struct proto_conn_state *pc, int fd, ev_tstamp now)
{
	struct conn *c;

	c = conn_new(fd, (int)pc->pcs_role, pc->pcs_reqid.ps_p,
	    pc->pcs_reqid.ps_n, pc->pcs_peer.ps_p, pc->pcs_peer.ps_n);
	if (c == NULL) {
		(void) close(fd);
		return (NULL);
	}
	if (buf_append(&c->c_out, pc->pcs_out.ps_p, pc->pcs_out.ps_n) != 0 ||
	    buf_append(&c->c_in, pc->pcs_in.ps_p, pc->pcs_in.ps_n) != 0 ||
	    buf_append(&c->c_frag, pc->pcs_frag.ps_p, pc->pcs_frag.ps_n) != 0) {
		conn_destroy(c, "out of memory");
		return (NULL);
	}
	c->c_ping_ok = pc->pcs_ping_ok;
	c->c_resume = pc->pcs_resume;
	c->c_frag_op = (uint8_t)pc->pcs_frag_op;
	c->c_frag_utf8 = pc->pcs_frag_utf8;
	c->c_last_rx = now - (ev_tstamp)pc->pcs_rx_age_ms / 1000.0;
	c->c_ping_sent = pc->pcs_ping_age_ms > 0 ? now -
	    (ev_tstamp)(pc->pcs_ping_age_ms - 1) / 1000.0 : 0;
	c->c_rx_msgs = pc->pcs_rx_msgs;
	c->c_tx_msgs = pc->pcs_tx_msgs;
	return (c);
}

/*
 * Start a connection that arrived from another process (or came back from
 * a move that failed), with its queued output, unparsed input and a
 * partial message already in place.  Output first (it was due before
 * anything new), then what was received, then reading; the session has
 * paired it already.  It starts paused if its peer's queue is full
 * (peer_full) or its own is, as it was; its ping deadline runs on from
 * where it was, and a close under way keeps its own timer.  One that has
 * ended meanwhile is left to the reaper.
 */
void
conn_thawed(struct conn *c, bool peer_full)
{
	uint8_t pause = 0;

	if (!conn_live(c))
		return;
	if (c->c_out.b_len > 0)
		ev_io_start(cn.cn_loop, &c->c_wio);
	if (c->c_ping_ok && c->c_state == CONN_OPEN)
		conn_timer(c, c->c_ping_sent > 0 ? cn.cn_conf->wc_ping :
		    c->c_last_rx + cn.cn_conf->wc_ping - ev_now(cn.cn_loop));
	if (peer_full)
		pause |= CONN_PAUSE_PEER;
	if (conn_full(c))
		pause |= CONN_PAUSE_SELF;
	c->c_pause = pause;
	if (pause != 0)
		return;
	conn_parse_in(c);
	if (c->c_pause == 0 && conn_reading(c))
		ev_io_start(cn.cn_loop, &c->c_rio);
}

void
conn_reap(void)
{
	struct conn *c;

	/* Destroying one may doom another (its peer's CLOSE fails too). */
	while ((c = cn.cn_doomed) != NULL) {
		cn.cn_doomed = c->c_dnext;
		/* An empty reason: a completed close, not a failure. */
		conn_destroy(c, c->c_doom_why[0] != '\0' ? c->c_doom_why :
		    NULL);
	}
	while ((c = cn.cn_dead) != NULL) {
		cn.cn_dead = c->c_next;
		buf_free(&c->c_in);
		buf_free(&c->c_out);
		buf_free(&c->c_frag);
		free(c);
	}
}
