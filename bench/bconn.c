/*
 * bconn.c: medusa-bench's connections.  Each session is two client
 * connections (master, slave) to the reflector; each speaks either
 *
 *   WebSocket: the HTTP/1.1 upgrade to <prefix>/attach/<id>/<role>, the 101
 *   checked as the original peers check it, then masked frames out and
 *   unmasked frames in; the reflector's medusa:{"type":"wait"} and
 *   medusa:{"type":"linkup"} text messages; test messages are binary.
 *
 *   raw (the bare relay, bare-relay.c): the line "<id> <role>\n", then one
 *   byte '+' from the relay when both sides are there (the linkup); then a
 *   plain byte stream carrying the same test messages back to back.
 *
 * Reading never copies what it checks: bytes are read into one scratch
 * buffer, frame headers and message headers are gathered in small arrays
 * in the connection, and message bodies are compared in place with the
 * pattern they must equal (bench.h).  Writing a stream (throughput) builds
 * an iovec of frame headers and slices of the pre-masked pattern, so the
 * client spends little besides the system calls; small messages and control
 * frames go through a queue (c_out) that is written only at a message
 * boundary of the stream.
 *
 * Any deviation (a wrong byte, a message out of order, an unexpected close,
 * an HTTP error, a bad frame) ends the run through bench_fail().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <jansson.h>

#include "bench.h"
#include "httphead.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define	IP_BIND_ADDRESS_NO_PORT	24
#endif

#define	READ_CHUNK	(256u * 1024)
#define	READS_PER_EVENT	4
#define	WRITE_BUDGET	(4u * 1024 * 1024)	/* per writable event */
#define	STREAM_IOV	64
#define	HEAD_MAX	8192

static uint8_t rbuf[READ_CHUNK];

static void conn_io_cb(EV_P_ ev_io *, int);
static void conn_done(struct conn *);

static const char *
role_name(const struct conn *c)
{
	return (c->c_role == ROLE_MASTER ? "master" : "slave");
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3]);
}

size_t
bench_pat_off(uint32_t sid, unsigned dir, uint32_t seq)
{
	uint32_t k;

	k = (sid | (uint32_t)dir << 31) * 0x9e3779b1u;
	k ^= seq * 0x85ebca77u;
	k ^= k >> 15;
	return ((size_t)(k % (PAT_LEN / 4)) * 4);
}

static void
msg_header(uint8_t *h, uint32_t len, uint32_t sid, unsigned dir,
    uint32_t seq)
{
	put32(h, BENCH_MAGIC);
	put32(h + 4, len);
	put32(h + 8, sid | (uint32_t)dir << 31);
	put32(h + 12, seq);
}

/* --- events --------------------------------------------------------- */

static void
conn_events(struct conn *c)
{
	int want;

	if (c->c_fd < 0)
		return;
	want = EV_READ | (c->c_want_write ? EV_WRITE : 0);
	if (c->c_state == CS_CONNECTING)
		want = EV_WRITE;
	if (ev_is_active(&c->c_io) && (c->c_io.events & (EV_READ |
	    EV_WRITE)) == want)
		return;
	ev_io_stop(B.b_loop, &c->c_io);
	ev_io_set(&c->c_io, c->c_fd, want);
	ev_io_start(B.b_loop, &c->c_io);
}

static void
conn_error(struct conn *c, const char *what, int err)
{
	if (c->c_s->s_closing) {
		conn_done(c);
		return;
	}
	bench_fail("%s of session %s: %s: %s", role_name(c), c->c_s->s_id,
	    what, strerror(err));
}

/* --- output ------------------------------------------------------------ */

/*
 * Write as much of the stream as the socket takes.  >0: bytes written, 0:
 * the socket is full, -2: nothing (left) to write, -1: the connection
 * ended.
 */
static ssize_t
stream_write(struct conn *c)
{
	struct iovec iov[STREAM_IOV];
	uint8_t pfx[STREAM_IOV / 2][WSFRAME_MAX_HEADER + MSG_HDR];
	uint32_t seq = c->c_st_seq, off = c->c_st_off, size = c->c_st_size;
	uint32_t sid = c->c_s->s_idx;
	unsigned dir = c->c_role == ROLE_MASTER ? 0 : 1;
	size_t plen, wire, total = 0, h;
	int niov = 0, k = 0;
	uint64_t adv;
	ssize_t n;

	if (B.b_mode == MODE_WS)
		plen = wsframe_header(pfx[0], true, WS_OP_BINARY, size,
		    B.b_mask) + MSG_HDR;
	else
		plen = MSG_HDR;
	wire = plen + size - MSG_HDR;
	while (niov + 2 <= STREAM_IOV && total < WRITE_BUDGET / 4) {
		const uint8_t *body;

		/* Stopping: finish only the message already begun. */
		if (c->c_st_stop && (k > 0 || off == 0))
			break;
		h = 0;
		if (B.b_mode == MODE_WS)
			h = wsframe_header(pfx[k], true, WS_OP_BINARY, size,
			    B.b_mask);
		msg_header(pfx[k] + h, size, sid, dir, seq);
		if (B.b_mode == MODE_WS) {
			wsframe_mask(pfx[k] + h, MSG_HDR, B.b_mask, 0);
			body = B.b_mpat;
		} else {
			body = B.b_pat;
		}
		body += bench_pat_off(sid, dir, seq);
		if (off < plen) {
			iov[niov].iov_base = pfx[k] + off;
			iov[niov++].iov_len = plen - off;
			iov[niov].iov_base = (void *)body;
			iov[niov++].iov_len = size - MSG_HDR;
		} else {
			iov[niov].iov_base = (void *)(body + (off - plen));
			iov[niov++].iov_len = wire - off;
		}
		total += wire - off;
		off = 0;
		seq++;
		k++;
	}
	if (niov == 0)
		return (-2);
	n = writev(c->c_fd, iov, niov);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return (0);
		conn_error(c, "write", errno);
		return (-1);
	}
	adv = (uint64_t)c->c_st_off + (uint64_t)n;
	c->c_st_seq += (uint32_t)(adv / wire);
	c->c_st_off = (uint32_t)(adv % wire);
	return (n);
}

void
conn_flush(struct conn *c)
{
	size_t written = 0;
	ssize_t n, r;

	if (c->c_fd < 0 || c->c_state == CS_CONNECTING)
		return;
	c->c_want_write = false;
	while (written < WRITE_BUDGET) {
		if (c->c_out.b_len > 0 &&
		    !(c->c_streaming && c->c_st_off > 0)) {
			n = send(c->c_fd, buf_head(&c->c_out),
			    c->c_out.b_len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK) {
					c->c_want_write = true;
					break;
				}
				conn_error(c, "write", errno);
				return;
			}
			buf_consume(&c->c_out, (size_t)n);
			written += (size_t)n;
			continue;
		}
		if (!c->c_streaming)
			break;
		r = stream_write(c);
		if (r == -1)
			return;
		if (r == 0) {
			c->c_want_write = true;
			break;
		}
		if (r == -2) {
			c->c_streaming = false;
			sc_stream_done(c);
			if (c->c_fd < 0)
				return;
			continue;
		}
		written += (size_t)r;
	}
	if (written >= WRITE_BUDGET)
		c->c_want_write = true;
	conn_events(c);
}

static void
out_append(struct conn *c, const void *p, size_t n)
{
	if (buf_append(&c->c_out, p, n) != 0)
		bench_fail("out of memory");
}

/* A control frame (close, pong) with its payload masked. */
static void
send_control(struct conn *c, uint8_t op, const uint8_t *p, size_t n)
{
	uint8_t f[WSFRAME_MAX_HEADER + WSFRAME_MAX_CONTROL];
	size_t h;

	h = wsframe_header(f, true, op, n, B.b_mask);
	memcpy(f + h, p, n);
	wsframe_mask(f + h, n, B.b_mask, 0);
	out_append(c, f, h + n);
}

void
conn_send_msg(struct conn *c, unsigned dir, uint32_t seq, uint32_t len)
{
	uint8_t h[WSFRAME_MAX_HEADER + MSG_HDR];
	size_t hl = 0, off;

	off = bench_pat_off(c->c_s->s_idx, dir, seq);
	if (B.b_mode == MODE_WS)
		hl = wsframe_header(h, true, WS_OP_BINARY, len, B.b_mask);
	msg_header(h + hl, len, c->c_s->s_idx, dir, seq);
	if (B.b_mode == MODE_WS) {
		wsframe_mask(h + hl, MSG_HDR, B.b_mask, 0);
		out_append(c, h, hl + MSG_HDR);
		out_append(c, B.b_mpat + off, len - MSG_HDR);
	} else {
		out_append(c, h, MSG_HDR);
		out_append(c, B.b_pat + off, len - MSG_HDR);
	}
	conn_flush(c);
}

void
conn_start_stream(struct conn *c, uint32_t size)
{
	c->c_streaming = true;
	c->c_st_stop = false;
	c->c_st_size = size;
	conn_flush(c);
}

void
conn_stop_stream(struct conn *c)
{
	if (!c->c_streaming)
		return;
	c->c_st_stop = true;
	conn_flush(c);
}

/* --- closing ----------------------------------------------------------- */

void
conn_abort(struct conn *c)
{
	if (c->c_fd >= 0) {
		ev_io_stop(B.b_loop, &c->c_io);
		(void) close(c->c_fd);
		c->c_fd = -1;
	}
	buf_free(&c->c_out);
	buf_free(&c->c_hin);
	c->c_state = CS_DONE;
}

static void
conn_done(struct conn *c)
{
	if (c->c_state == CS_DONE)
		return;
	conn_abort(c);
	c->c_s->s_ndone++;
	sc_conn_done(c);
}

/*
 * We end the session from this side: a CLOSE 1000 (WebSocket) or a FIN
 * (raw).  The other side expects the reflector to pass it on.
 */
void
conn_begin_close(struct conn *c)
{
	static const uint8_t cl[] = { 0x03, 0xe8, 'b', 'e', 'n', 'c', 'h' };

	c->c_s->s_closing = true;
	c->c_state = CS_CLOSING;
	if (B.b_mode == MODE_WS) {
		send_control(c, WS_OP_CLOSE, cl, sizeof (cl));
		conn_flush(c);
	} else {
		if (shutdown(c->c_fd, SHUT_WR) != 0)
			conn_error(c, "shutdown", errno);
	}
}

/* The reflector (or the peer through it) ended the connection. */
static void
conn_eof(struct conn *c)
{
	if (c->c_state == CS_CLOSING || c->c_s->s_closing) {
		conn_done(c);
		return;
	}
	bench_fail("%s of session %s: the reflector closed the connection "
	    "(state %d)", role_name(c), c->c_s->s_id, c->c_state);
}

static void
ws_close_frame(struct conn *c)
{
	uint16_t code = 0;
	const uint8_t *reason = NULL;
	size_t rlen = 0;
	ssize_t n;

	if (c->c_cflen > 0 && wsframe_close_parse(c->c_cf, c->c_cflen,
	    &code, &reason, &rlen) != 0)
		bench_fail("%s of session %s: malformed CLOSE payload",
		    role_name(c), c->c_s->s_id);
	if (c->c_state == CS_CLOSING) {
		conn_done(c);		/* the answer to ours */
		return;
	}
	if (!c->c_s->s_closing)
		bench_fail("%s of session %s: the reflector closed the "
		    "session: code %u \"%.*s\"", role_name(c), c->c_s->s_id,
		    code, (int)rlen, reason != NULL ? (const char *)reason : "");
	/*
	 * The peer ended the session: answer, then close.  The answer goes
	 * with MSG_MORE, so the FIN of the close() right after rides in its
	 * segment (the raw protocol's slave sends one FIN; watershed, the
	 * original's agent, writes the answer and ends the socket at once,
	 * two segments).
	 */
	send_control(c, WS_OP_CLOSE, c->c_cf, c->c_cflen >= 2 ? 2 : 0);
	do {
		n = send(c->c_fd, buf_head(&c->c_out), c->c_out.b_len,
		    MSG_NOSIGNAL | MSG_MORE);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)c->c_out.b_len) {
		/* (A fresh socket takes 8 bytes whole; anything else is odd.) */
		conn_error(c, "write of the CLOSE answer", n < 0 ? errno : EIO);
		return;
	}
	conn_done(c);
}

/* --- input ------------------------------------------------------------- */

static void
conn_linked(struct conn *c)
{
	struct session *s = c->c_s;

	if (c->c_state != CS_LINKWAIT && c->c_state != CS_HANDSHAKE)
		bench_fail("%s of session %s: a second linkup", role_name(c),
		    s->s_id);
	c->c_state = CS_LINKED;
	if (++s->s_nlinked == 2) {
		s->s_t_link = now_ns();
		sc_linked(s);
	}
}

/* A text message from the reflector: medusa:{"type":...}. */
static void
ws_text(struct conn *c)
{
	json_t *j, *t;
	const char *type;

	if (c->c_ctllen < 7 || memcmp(c->c_ctl, "medusa:", 7) != 0)
		bench_fail("%s of session %s: unexpected text message \"%.*s\"",
		    role_name(c), c->c_s->s_id, (int)(c->c_ctllen > 80 ? 80 :
		    c->c_ctllen), c->c_ctl);
	if ((j = json_loadb((const char *)c->c_ctl + 7, c->c_ctllen - 7, 0,
	    NULL)) == NULL || (t = json_object_get(j, "type")) == NULL ||
	    (type = json_string_value(t)) == NULL)
		bench_fail("%s of session %s: bad control message \"%.*s\"",
		    role_name(c), c->c_s->s_id, (int)c->c_ctllen, c->c_ctl);
	if (strcmp(type, "wait") == 0) {
		if (c->c_role != ROLE_MASTER || c->c_state != CS_LINKWAIT)
			bench_fail("%s of session %s: wait pulse out of place",
			    role_name(c), c->c_s->s_id);
		c->c_waits++;
	} else if (strcmp(type, "linkup") == 0) {
		conn_linked(c);
	} else {
		bench_fail("%s of session %s: unknown control message %s",
		    role_name(c), c->c_s->s_id, type);
	}
	json_decref(j);
}

static void
msg_check_header(struct conn *c)
{
	const uint8_t *h = c->c_mh;
	uint32_t len = get32(h + 4), sidf = get32(h + 8), seq = get32(h + 12);
	uint32_t want = c->c_s->s_idx | (uint32_t)c->c_rx_dir << 31;

	if (get32(h) != BENCH_MAGIC)
		bench_fail("%s of session %s: message %u: bad magic %08x",
		    role_name(c), c->c_s->s_id, c->c_rx_seq, get32(h));
	if (sidf != want)
		bench_fail("%s of session %s: message %u: for session %u "
		    "direction %u (expected %u direction %u)", role_name(c),
		    c->c_s->s_id, c->c_rx_seq, sidf & 0x7fffffffu, sidf >> 31,
		    c->c_s->s_idx, c->c_rx_dir);
	if (seq != c->c_rx_seq)
		bench_fail("%s of session %s: message %u arrived where %u was "
		    "expected (lost, duplicated or reordered)", role_name(c),
		    c->c_s->s_id, seq, c->c_rx_seq);
	if (len < MSG_HDR || len > MSG_MAX)
		bench_fail("%s of session %s: message %u: bad length %u",
		    role_name(c), c->c_s->s_id, seq, len);
	c->c_mlen = len;
	c->c_mpos = MSG_HDR;
	c->c_mbody = B.b_pat + bench_pat_off(c->c_s->s_idx, c->c_rx_dir, seq);
}

static void
msg_complete(struct conn *c)
{
	uint32_t seq = c->c_rx_seq++, len = c->c_mlen;

	c->c_mhlen = 0;
	c->c_mlen = c->c_mpos = 0;
	sc_message(c, seq, len);
}

/*
 * Check n bytes of the message stream.  In WebSocket mode the caller feeds
 * one message's frames; *msgs counts the messages completed.
 */
static void
msg_feed(struct conn *c, const uint8_t *p, size_t n, unsigned *msgs)
{
	size_t used = 0, take;

	while (used < n && c->c_state != CS_DONE) {
		if (c->c_mhlen < MSG_HDR) {
			if (msgs != NULL && *msgs > 0)
				bench_fail("%s of session %s: a frame holds "
				    "more than one message", role_name(c),
				    c->c_s->s_id);
			take = MSG_HDR - c->c_mhlen;
			if (take > n - used)
				take = n - used;
			memcpy(c->c_mh + c->c_mhlen, p + used, take);
			c->c_mhlen += (uint8_t)take;
			used += take;
			c->c_rx_bytes += take;
			if (c->c_mhlen < MSG_HDR)
				break;
			msg_check_header(c);
		} else {
			take = c->c_mlen - c->c_mpos;
			if (take > n - used)
				take = n - used;
			if (memcmp(p + used, c->c_mbody + (c->c_mpos - MSG_HDR),
			    take) != 0) {
				size_t i = 0;

				while (p[used + i] ==
				    c->c_mbody[c->c_mpos - MSG_HDR + i])
					i++;
				bench_fail("%s of session %s: message %u "
				    "differs at byte %zu of %u", role_name(c),
				    c->c_s->s_id, c->c_rx_seq,
				    (size_t)c->c_mpos + i, c->c_mlen);
			}
			c->c_mpos += (uint32_t)take;
			used += take;
			c->c_rx_bytes += take;
		}
		if (c->c_mpos == c->c_mlen && c->c_mhlen == MSG_HDR) {
			if (msgs != NULL)
				(*msgs)++;
			msg_complete(c);
		}
	}
}

static size_t
fh_need(const struct conn *c)
{
	uint8_t len7;

	if (c->c_fhlen < 2)
		return (2);
	len7 = c->c_fh[1] & 0x7f;
	return (2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
	    ((c->c_fh[1] & 0x80) ? 4 : 0));
}

static void
frame_end(struct conn *c)
{
	c->c_rstate = RS_FHDR;
	switch (c->c_op) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (!c->c_fin)
			return;
		if (c->c_msgop == WS_OP_TEXT) {
			c->c_msgop = 0;
			ws_text(c);
			return;
		}
		c->c_msgop = 0;
		if (c->c_fmsgs != 1 || c->c_mhlen != 0)
			bench_fail("%s of session %s: a binary message that is "
			    "not exactly one test message (%u, %u bytes over)",
			    role_name(c), c->c_s->s_id, c->c_fmsgs,
			    (unsigned)c->c_mhlen);
		c->c_fmsgs = 0;
		return;
	case WS_OP_CLOSE:
		ws_close_frame(c);
		return;
	case WS_OP_PING:
		send_control(c, WS_OP_PONG, c->c_cf, c->c_cflen);
		conn_flush(c);
		return;
	default:
		return;		/* PONG */
	}
}

static void
frame_begin(struct conn *c, const struct wsframe_hdr *h)
{
	c->c_op = h->fh_opcode;
	c->c_fin = h->fh_fin;
	c->c_plen = h->fh_len;
	c->c_ppos = 0;
	if (c->c_op == WS_OP_CONT) {
		if (c->c_msgop == 0)
			bench_fail("%s of session %s: continuation frame "
			    "outside a message", role_name(c), c->c_s->s_id);
	} else if (c->c_op == WS_OP_TEXT || c->c_op == WS_OP_BINARY) {
		if (c->c_msgop != 0)
			bench_fail("%s of session %s: new message inside a "
			    "fragmented one", role_name(c), c->c_s->s_id);
		c->c_msgop = c->c_op;
		c->c_ctllen = 0;
		c->c_fmsgs = 0;
		if (c->c_op == WS_OP_BINARY && c->c_state != CS_LINKED &&
		    c->c_state != CS_CLOSING)
			bench_fail("%s of session %s: binary message before "
			    "linkup", role_name(c), c->c_s->s_id);
	} else {
		c->c_cflen = 0;
	}
	c->c_rstate = RS_PAYLOAD;
	if (c->c_plen == 0)
		frame_end(c);
}

static size_t
ws_feed_header(struct conn *c, const uint8_t *p, size_t n)
{
	struct wsframe_hdr h;
	size_t used = 0, need, take;
	int r;

	for (;;) {
		need = fh_need(c);
		if (c->c_fhlen >= need)
			break;
		if (used == n)
			return (used);
		take = need - c->c_fhlen;
		if (take > n - used)
			take = n - used;
		memcpy(c->c_fh + c->c_fhlen, p + used, take);
		c->c_fhlen += (uint8_t)take;
		used += take;
	}
	r = wsframe_parse(c->c_fh, c->c_fhlen, WSFRAME_F_UNMASKED, &h);
	if (r <= 0)
		bench_fail("%s of session %s: bad frame from the reflector: %s",
		    role_name(c), c->c_s->s_id, r < 0 ? wsframe_strerror(r) :
		    "short header");
	c->c_fhlen = 0;
	frame_begin(c, &h);
	return (used);
}

static size_t
ws_feed_payload(struct conn *c, const uint8_t *p, size_t n)
{
	size_t take = c->c_plen - c->c_ppos;
	uint8_t op = c->c_op == WS_OP_CONT ? c->c_msgop : c->c_op;

	if (take > n)
		take = n;
	if (op == WS_OP_BINARY) {
		/* A message is one test message: see c_fmsgs. */
		msg_feed(c, p, take, &c->c_fmsgs);
	} else if (wsframe_is_control(op)) {
		memcpy(c->c_cf + c->c_cflen, p, take);	/* at most 125 */
		c->c_cflen += take;
	} else {
		if (c->c_ctllen + take > sizeof (c->c_ctl))
			bench_fail("%s of session %s: text or control message "
			    "too long", role_name(c), c->c_s->s_id);
		memcpy(c->c_ctl + c->c_ctllen, p, take);
		c->c_ctllen += take;
	}
	c->c_ppos += take;
	if (c->c_ppos == c->c_plen && c->c_state != CS_DONE)
		frame_end(c);
	return (take);
}

static size_t
http_feed(struct conn *c, const uint8_t *p, size_t n)
{
	struct httphead res;
	char err[200];
	size_t before = c->c_hin.b_len, end;
	int r;

	if (before + n > HEAD_MAX)
		n = HEAD_MAX - before;
	if (n == 0)
		bench_fail("%s of session %s: response head too long",
		    role_name(c), c->c_s->s_id);
	if (buf_append(&c->c_hin, p, n) != 0)
		bench_fail("out of memory");
	end = httphead_end((const char *)buf_head(&c->c_hin), c->c_hin.b_len,
	    before > 3 ? before - 3 : 0);
	if (end == 0)
		return (n);
	r = httphead_parse_response((const char *)buf_head(&c->c_hin), end,
	    &res);
	if (r != HTTPHEAD_OK)
		bench_fail("%s of session %s: malformed response head",
		    role_name(c), c->c_s->s_id);
	if (res.hh_status != 101)
		bench_fail("%s of session %s: HTTP %d: %.*s", role_name(c),
		    c->c_s->s_id, res.hh_status,
		    (int)(c->c_hin.b_len - end > 200 ? 200 :
		    c->c_hin.b_len - end), (const char *)buf_head(&c->c_hin) +
		    end);
	if (wshandshake_check_response(&res, c->c_key, err, sizeof (err)) != 0)
		bench_fail("%s of session %s: %s", role_name(c), c->c_s->s_id,
		    err);
	buf_free(&c->c_hin);
	c->c_state = CS_LINKWAIT;
	c->c_rstate = RS_FHDR;
	return (end - before);
}

static void
conn_feed(struct conn *c, const uint8_t *p, size_t n)
{
	size_t used;

	while (n > 0 && c->c_state != CS_DONE) {
		switch (c->c_rstate) {
		case RS_HTTP:
			used = http_feed(c, p, n);
			break;
		case RS_RAWLINK:
			if (p[0] != '+')
				bench_fail("%s of session %s: expected the "
				    "linkup byte, got 0x%02x", role_name(c),
				    c->c_s->s_id, p[0]);
			c->c_rstate = RS_RAW;
			used = 1;
			conn_linked(c);
			break;
		case RS_FHDR:
			used = ws_feed_header(c, p, n);
			break;
		case RS_PAYLOAD:
			used = ws_feed_payload(c, p, n);
			break;
		default:
			msg_feed(c, p, n, NULL);
			used = n;
			break;
		}
		p += used;
		n -= used;
	}
}

static void
conn_read(struct conn *c)
{
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_EVENT && c->c_fd >= 0; i++) {
		n = recv(c->c_fd, rbuf, sizeof (rbuf), 0);
		if (n > 0) {
			conn_feed(c, rbuf, (size_t)n);
			if ((size_t)n < sizeof (rbuf))
				return;
			continue;
		}
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (errno == ECONNRESET && (c->c_state == CS_CLOSING ||
		    c->c_s->s_closing)) {
			conn_done(c);
			return;
		}
		conn_error(c, "read", errno);
		return;
	}
}

/* --- connecting -------------------------------------------------------- */

static void
conn_connected(struct conn *c)
{
	struct session *s = c->c_s;
	char req[3072], path[512];
	size_t n;
	int err = 0;
	socklen_t len = sizeof (err);

	if (getsockopt(c->c_fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		bench_fail("%s of session %s: connect: %s", role_name(c),
		    s->s_id, strerror(err));
	c->c_state = CS_HANDSHAKE;
	if (B.b_mode == MODE_WS) {
		if (wshandshake_key(c->c_key) != 0)
			bench_fail("no random numbers for a key");
		snprintf(path, sizeof (path), "%s/attach/%s/%s", B.b_prefix,
		    s->s_id, role_name(c));
		n = wshandshake_request(req, sizeof (req), B.b_host, path,
		    c->c_key, bench_auth_headers());
		if (n == 0)
			bench_fail("request too long");
		c->c_rstate = RS_HTTP;
	} else {
		n = (size_t)snprintf(req, sizeof (req), "%s %s\n", s->s_id,
		    role_name(c));
		c->c_rstate = RS_RAWLINK;
	}
	out_append(c, req, n);
	conn_flush(c);
}

static void
conn_io_cb(EV_P_ ev_io *w, int revents)
{
	struct conn *c = w->data;

	(void) loop;
	if (c->c_state == CS_CONNECTING) {
		if (revents & EV_WRITE)
			conn_connected(c);
		return;
	}
	if ((revents & EV_WRITE) && c->c_fd >= 0)
		conn_flush(c);
	if ((revents & EV_READ) && c->c_fd >= 0)
		conn_read(c);
}

static void
conn_open(struct conn *c, unsigned srcidx)
{
	int fd, one = 1;

	fd = socket(B.b_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		bench_fail("socket: %s (raise the descriptor limit?)",
		    strerror(errno));
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
	if (B.b_nsrc > 1 && B.b_addr.ss_family == AF_INET) {
		struct sockaddr_in src;

		memset(&src, 0, sizeof (src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000001u + srcidx %
		    (unsigned)B.b_nsrc);
		(void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
		    &one, sizeof (one));
		if (bind(fd, (struct sockaddr *)&src, sizeof (src)) != 0)
			bench_fail("bind to a loopback source address: %s",
			    strerror(errno));
	}
	c->c_fd = fd;
	ev_init(&c->c_io, conn_io_cb);
	c->c_io.data = c;
	/* Done at once or not, the socket turns writable: see conn_io_cb. */
	if (connect(fd, (struct sockaddr *)&B.b_addr, B.b_addrlen) != 0 &&
	    errno != EINPROGRESS)
		bench_fail("connect: %s", strerror(errno));
	c->c_state = CS_CONNECTING;
	conn_events(c);
}

void
conn_start_session(struct session *s)
{
	int i;

	s->s_started = true;
	s->s_t_start = now_ns();
	for (i = 0; i < 2; i++) {
		struct conn *c = &s->s_c[i];

		memset(c, 0, sizeof (*c));
		c->c_s = s;
		c->c_fd = -1;
		c->c_role = (uint8_t)i;
	}
	/* Alternate which side dials first; either may arrive first. */
	for (i = 0; i < 2; i++)
		conn_open(&s->s_c[(s->s_idx + (unsigned)i) & 1], s->s_idx);
}
