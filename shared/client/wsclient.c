/*
 * wsclient.c: client WebSocket endpoint; see wsclient.h.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "httphead.h"
#include "netutil.h"
#include "utf8.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wshandshake.h"

#define	WSC_READ	65536
#define	WSC_HEAD_MAX	16384
#define	WSC_SLOW	1.0	/* s: a dial step this long is said */

static void wsc_read_cb(EV_P_ ev_io *, int);
static void wsc_write_cb(EV_P_ ev_io *, int);
static void wsc_timer_cb(EV_P_ ev_timer *, int);
static void wsc_slow_cb(EV_P_ ev_timer *, int);
static void wsc_alive_cb(EV_P_ ev_timer *, int);
static void wsc_alive_start(struct wsc *);
static void wsc_parse(struct wsc *);

const char *
wsc_end_name(enum wsc_end e)
{
	switch (e) {
	case WSC_END_CLOSED:	return ("closed");
	case WSC_END_DIAL:	return ("dial");
	case WSC_END_REFUSED:	return ("refused");
	case WSC_END_LOST:	return ("lost");
	case WSC_END_PROTOCOL:	return ("protocol");
	default:		return ("none");
	}
}

static void
wsc_init(struct wsc *c, struct ev_loop *loop, const struct wsc_opts *o)
{
	/* Opened again: nothing of the last connection stays in the loop. */
	if (c->wc_loop != NULL) {
		ev_io_stop(c->wc_loop, &c->wc_rio);
		ev_io_stop(c->wc_loop, &c->wc_wio);
		ev_timer_stop(c->wc_loop, &c->wc_timer);
		ev_timer_stop(c->wc_loop, &c->wc_slow);
		ev_timer_stop(c->wc_loop, &c->wc_alive);
	}
	buf_free(&c->wc_in);
	buf_free(&c->wc_out);
	buf_free(&c->wc_frag);
	c->wc_loop = loop;
	c->wc_end = WSC_END_NONE;
	c->wc_frag_op = 0;
	c->wc_paused = false;
	c->wc_last_rx = ev_now(loop);
	c->wc_missed = 0;
	c->wc_http_status = 0;
	c->wc_peer_code = 0;
	c->wc_peer_reason[0] = '\0';
	c->wc_max_message = o->wo_max_message != 0 ? o->wo_max_message :
	    16u * 1024 * 1024;
	c->wc_low_water = o->wo_low_water;
	c->wc_close_timeout = o->wo_close_timeout > 0 ? o->wo_close_timeout : 5;
	c->wc_alive_interval = o->wo_alive_interval;
	c->wc_alive_count = o->wo_alive_count;
	c->wc_started = ev_now(loop);
	c->wc_opened = 0;
	c->wc_keys_left = 0;
	c->wc_rx_bytes = c->wc_tx_bytes = 0;
	ev_init(&c->wc_rio, wsc_read_cb);
	ev_init(&c->wc_wio, wsc_write_cb);
	ev_init(&c->wc_timer, wsc_timer_cb);
	ev_init(&c->wc_slow, wsc_slow_cb);
	ev_init(&c->wc_alive, wsc_alive_cb);
	c->wc_rio.data = c->wc_wio.data = c->wc_timer.data = c;
	c->wc_slow.data = c->wc_alive.data = c;
}

static void
wsc_set_fd(struct wsc *c)
{
	ev_io_stop(c->wc_loop, &c->wc_rio);
	ev_io_stop(c->wc_loop, &c->wc_wio);
	ev_io_set(&c->wc_rio, c->wc_x.x_fd, EV_READ);
	ev_io_set(&c->wc_wio, c->wc_x.x_fd, EV_WRITE);
}

static void
wsc_end(struct wsc *c, enum wsc_end kind, const char *err)
{
	if (c->wc_state == WSC_ENDED || c->wc_state == WSC_IDLE)
		return;
	c->wc_state = WSC_ENDED;
	c->wc_end = kind;
	ev_io_stop(c->wc_loop, &c->wc_rio);
	ev_io_stop(c->wc_loop, &c->wc_wio);
	ev_timer_stop(c->wc_loop, &c->wc_timer);
	ev_timer_stop(c->wc_loop, &c->wc_slow);
	ev_timer_stop(c->wc_loop, &c->wc_alive);
	xport_close(&c->wc_x);
	if (c->wc_on_end != NULL)
		c->wc_on_end(c, err);
}

/* --- dialling and the upgrade ----------------------------------------- */

static const char *
wsc_phase(const struct wsc *c, char *buf, size_t len)
{
	if (c->wc_state == WSC_UPGRADING) {
		snprintf(buf, len, "waiting for %s to answer the WebSocket "
		    "upgrade", c->wc_hostport);
		return (buf);
	}
	return (xport_phase(&c->wc_x, buf, len));
}

/* A new step of the dial: say it, and time it afresh. */
static void
wsc_progress(struct wsc *c)
{
	char what[400];

	ev_timer_stop(c->wc_loop, &c->wc_slow);
	ev_timer_set(&c->wc_slow, WSC_SLOW, 0);
	ev_timer_start(c->wc_loop, &c->wc_slow);
	if (c->wc_on_progress != NULL)
		c->wc_on_progress(c, wsc_phase(c, what, sizeof (what)), false);
}

static void
wsc_slow_cb(EV_P_ ev_timer *w, int revents)
{
	struct wsc *c = w->data;
	char what[400];

	(void) EV_A;
	(void) revents;
	if (c->wc_on_progress != NULL && (c->wc_state == WSC_DIALLING ||
	    c->wc_state == WSC_UPGRADING))
		c->wc_on_progress(c, wsc_phase(c, what, sizeof (what)), true);
}

static void
wsc_dial_wait(struct wsc *c)
{
	wsc_set_fd(c);
	ev_io_start(c->wc_loop, c->wc_x.x_want_write ? &c->wc_wio :
	    &c->wc_rio);
}

static int wsc_flush(struct wsc *);

static void
wsc_dial_step(struct wsc *c)
{
	enum xport_state before = c->wc_x.x_state;
	int before_fd = c->wc_x.x_fd;
	char err[512];
	int r = xport_step(&c->wc_x, err, sizeof (err));

	if (r < 0) {
		wsc_end(c, WSC_END_DIAL, err);
		return;
	}
	if (r == 0) {
		wsc_dial_wait(c);
		if (c->wc_x.x_state != before || c->wc_x.x_fd != before_fd)
			wsc_progress(c);
		return;
	}
	/* Open: send the upgrade request (queued by wsc_open). */
	c->wc_state = WSC_UPGRADING;
	wsc_set_fd(c);
	ev_io_start(c->wc_loop, &c->wc_rio);
	wsc_progress(c);
	(void) wsc_flush(c);
}

int
wsc_open(struct wsc *c, struct ev_loop *loop, const struct wsurl *u,
    const struct wsc_opts *o, char *err, size_t errlen)
{
	char req[8192], extra[4096];
	size_t n;

	wsc_init(c, loop, o);
	c->wc_state = WSC_IDLE;
	snprintf(c->wc_hostport, sizeof (c->wc_hostport), "%s", u->u_hostport);
	if (wshandshake_key(c->wc_key) != 0 ||
	    snprintf(extra, sizeof (extra), "%s: 1\r\n%s", WSH_PING_HEADER,
	    o->wo_extra != NULL ? o->wo_extra : "") >= (int)sizeof (extra) ||
	    (n = wshandshake_request(req, sizeof (req), u->u_hostport,
	    u->u_path, c->wc_key, extra)) == 0) {
		snprintf(err, errlen, "cannot build the upgrade request");
		return (-1);
	}
	if (buf_append(&c->wc_out, req, n) != 0) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (xport_start(&c->wc_x, u, &o->wo_xport, err, errlen) != 0) {
		buf_free(&c->wc_out);
		return (-1);
	}
	c->wc_state = WSC_DIALLING;
	ev_timer_set(&c->wc_timer, o->wo_connect_timeout > 0 ?
	    o->wo_connect_timeout : 30, 0);
	ev_timer_start(loop, &c->wc_timer);
	wsc_dial_wait(c);
	wsc_progress(c);
	return (0);
}

void
wsc_adopt(struct wsc *c, struct ev_loop *loop, int fd,
    const struct wsc_opts *o)
{
	wsc_init(c, loop, o);
	memset(&c->wc_x, 0, sizeof (c->wc_x));
	(void) netutil_nonblock(fd);
	c->wc_x.x_fd = fd;
	c->wc_x.x_state = XPORT_OPEN;
	snprintf(c->wc_hostport, sizeof (c->wc_hostport), "adopted");
	c->wc_state = WSC_OPEN;
	c->wc_opened = ev_now(loop);
	wsc_set_fd(c);
	ev_io_start(loop, &c->wc_rio);
	wsc_alive_start(c);
}

/* The 101 (or a refusal) in wc_in.  -1 if the connection has ended. */
static int
wsc_upgrade_response(struct wsc *c)
{
	struct httphead h;
	char rerr[256], msg[700];
	int r = httphead_parse_response((const char *)buf_head(&c->wc_in),
	    c->wc_in.b_len, &h);

	if (r == HTTPHEAD_INCOMPLETE && c->wc_in.b_len <= WSC_HEAD_MAX)
		return (0);
	if (r != HTTPHEAD_OK) {
		snprintf(msg, sizeof (msg), "%s sent a malformed response to "
		    "the upgrade", c->wc_hostport);
		wsc_end(c, WSC_END_REFUSED, msg);
		return (-1);
	}
	if (wshandshake_check_response(&h, c->wc_key, rerr, sizeof (rerr)) !=
	    0) {
		const char *body = (const char *)buf_head(&c->wc_in) + h.hh_len;
		size_t bl = c->wc_in.b_len - h.hh_len;

		/* Show the server's JSON message if there is one. */
		while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
			bl--;
		c->wc_http_status = h.hh_status;
		snprintf(msg, sizeof (msg), "%s refused the session: %s%s%.*s",
		    c->wc_hostport, rerr, bl > 0 ? ": " : "",
		    (int)(bl > 300 ? 300 : bl), body);
		wsc_end(c, WSC_END_REFUSED, msg);
		return (-1);
	}
	buf_consume(&c->wc_in, h.hh_len);
	c->wc_state = WSC_OPEN;
	c->wc_opened = ev_now(c->wc_loop);
	ev_timer_stop(c->wc_loop, &c->wc_timer);
	ev_timer_stop(c->wc_loop, &c->wc_slow);
	wsc_alive_start(c);
	if (c->wc_on_open != NULL)
		c->wc_on_open(c);
	return (c->wc_state == WSC_ENDED ? -1 : 0);
}

/* --- writing ---------------------------------------------------------- */

static void
wsc_want(struct wsc *c)
{
	if (c->wc_state == WSC_ENDED || c->wc_state == WSC_DIALLING)
		return;
	if (c->wc_out.b_len > 0 || c->wc_x.x_read_wants_write)
		ev_io_start(c->wc_loop, &c->wc_wio);
	else
		ev_io_stop(c->wc_loop, &c->wc_wio);
}

static void
wsc_lost(struct wsc *c, const char *what)
{
	char why[400];

	snprintf(why, sizeof (why), "%s: %s", what, c->wc_x.x_err[0] != '\0' ?
	    c->wc_x.x_err : strerror(errno));
	wsc_end(c, c->wc_state == WSC_UPGRADING ? WSC_END_DIAL : WSC_END_LOST,
	    why);
}

/* Write what is queued; -1 if the connection failed (and has ended). */
static int
wsc_flush(struct wsc *c)
{
	while (c->wc_out.b_len > 0) {
		ssize_t n = xport_write(&c->wc_x, buf_head(&c->wc_out),
		    c->wc_out.b_len);

		if (n > 0) {
			buf_consume(&c->wc_out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (c->wc_x.x_write_wants_read)
				ev_io_start(c->wc_loop, &c->wc_rio);
			break;
		}
		wsc_lost(c, "write to the reflector failed");
		return (-1);
	}
	wsc_want(c);
	return (0);
}

/*
 * A frame's masking key (RFC 6455 5.3: unpredictable, from a strong
 * source): from OpenSSL's generator, 64 keys a call, since each call
 * makes a getpid() (its fork check): a system call per message.
 */
static void
wsc_mask_key(struct wsc *c, uint8_t mask[4])
{
	if (c->wc_keys_left < 4) {
		if (RAND_bytes(c->wc_keys, sizeof (c->wc_keys)) != 1) {
			memset(mask, 0x5a, 4);
			return;
		}
		c->wc_keys_left = sizeof (c->wc_keys);
	}
	c->wc_keys_left -= 4;
	memcpy(mask, c->wc_keys + c->wc_keys_left, 4);
}

/* Queue one frame; written at once (flush) or with the next. */
static int
wsc_frame_queue(struct wsc *c, uint8_t opcode, const void *p, size_t n,
    bool flush)
{
	uint8_t hdr[WSFRAME_MAX_HEADER], mask[4];
	size_t hl, start;

	if (c->wc_state != WSC_OPEN && c->wc_state != WSC_CLOSING)
		return (-1);
	wsc_mask_key(c, mask);
	hl = wsframe_header(hdr, true, opcode, n, mask);
	if (buf_append(&c->wc_out, hdr, hl) != 0)
		return (-1);
	start = c->wc_out.b_len;
	if (buf_append(&c->wc_out, p, n) != 0)
		return (-1);
	wsframe_mask(buf_head(&c->wc_out) + start, n, mask, 0);
	if (!wsframe_is_control(opcode))
		c->wc_tx_bytes += n;
	if (!flush) {
		wsc_want(c);	/* the writer's turn, if nothing comes first */
		return (0);
	}
	return (wsc_flush(c));
}

static int
wsc_frame(struct wsc *c, uint8_t opcode, const void *p, size_t n)
{
	return (wsc_frame_queue(c, opcode, p, n, true));
}

int
wsc_send(struct wsc *c, uint8_t opcode, const void *p, size_t n)
{
	if (c->wc_state != WSC_OPEN)
		return (-1);
	return (wsc_frame(c, opcode, p, n));
}

int
wsc_send_text(struct wsc *c, const char *s)
{
	return (wsc_send(c, WS_OP_TEXT, s, strlen(s)));
}

int
wsc_send_text_later(struct wsc *c, const char *s)
{
	if (c->wc_state != WSC_OPEN)
		return (-1);
	return (wsc_frame_queue(c, WS_OP_TEXT, s, strlen(s), false));
}

/* Our CLOSE, once; then CLOSING. */
static void
wsc_send_close(struct wsc *c, uint16_t code, const char *reason)
{
	uint8_t pl[WSFRAME_MAX_CONTROL];
	size_t n = 0;

	if (c->wc_state != WSC_OPEN)
		return;
	if (code != 0 && code != WS_CLOSE_NO_STATUS)
		n = wsframe_close_payload(pl, code, reason,
		    reason != NULL ? strlen(reason) : 0);
	c->wc_state = WSC_CLOSING;
	ev_timer_stop(c->wc_loop, &c->wc_alive);
	(void) wsc_frame(c, WS_OP_CLOSE, pl, n);
}

void
wsc_close(struct wsc *c, uint16_t code, const char *reason)
{
	if (c->wc_state == WSC_DIALLING || c->wc_state == WSC_UPGRADING) {
		wsc_end(c, WSC_END_CLOSED, NULL);	/* abandon the dial */
		return;
	}
	if (c->wc_state != WSC_OPEN)
		return;
	wsc_send_close(c, code, reason);
	if (c->wc_state != WSC_CLOSING)
		return;
	wsc_resume(c);	/* their reply must be read */
	ev_timer_stop(c->wc_loop, &c->wc_timer);
	ev_timer_set(&c->wc_timer, c->wc_close_timeout, 0);
	ev_timer_start(c->wc_loop, &c->wc_timer);
}

void
wsc_pause(struct wsc *c)
{
	c->wc_paused = true;
	if ((c->wc_state == WSC_OPEN || c->wc_state == WSC_CLOSING) &&
	    !c->wc_x.x_write_wants_read)
		ev_io_stop(c->wc_loop, &c->wc_rio);
}

void
wsc_resume(struct wsc *c)
{
	if (!c->wc_paused)
		return;
	c->wc_paused = false;
	if (c->wc_state != WSC_OPEN && c->wc_state != WSC_CLOSING)
		return;
	ev_io_start(c->wc_loop, &c->wc_rio);
	/* Frames may be waiting in the buffer already. */
	if (c->wc_in.b_len > 0)
		ev_feed_event(c->wc_loop, &c->wc_rio, EV_READ);
}

/* --- reading ---------------------------------------------------------- */

/* A protocol violation by the server: close with code and end. */
static void
wsc_fail(struct wsc *c, uint16_t code, const char *why)
{
	char msg[200];

	wsc_send_close(c, code, why);
	snprintf(msg, sizeof (msg), "protocol error from the reflector: %s",
	    why);
	wsc_end(c, WSC_END_PROTOCOL, msg);
}

static void
wsc_on_close(struct wsc *c, const uint8_t *p, size_t n)
{
	const uint8_t *reason;
	size_t rl;
	uint16_t code;

	if (wsframe_close_parse(p, n, &code, &reason, &rl) != 0) {
		wsc_fail(c, WS_CLOSE_PROTOCOL, "invalid close frame");
		return;
	}
	c->wc_peer_code = code;
	if (rl >= sizeof (c->wc_peer_reason))
		rl = sizeof (c->wc_peer_reason) - 1;
	memcpy(c->wc_peer_reason, reason, rl);
	c->wc_peer_reason[rl] = '\0';
	if (c->wc_state == WSC_OPEN)
		wsc_send_close(c, code, NULL);	/* echo */
	if (c->wc_state == WSC_CLOSING) {
		/* Best effort to get our reply out before closing. */
		(void) wsc_flush(c);
		wsc_end(c, WSC_END_CLOSED, NULL);
	}
}

/* Handle one whole frame; payload already unmasked (server frames are not). */
static void
wsc_frame_in(struct wsc *c, const struct wsframe_hdr *h, uint8_t *p)
{
	size_t n = (size_t)h->fh_len;
	uint8_t op = h->fh_opcode;

	if (!wsframe_is_control(op))
		c->wc_rx_bytes += n;
	switch (op) {
	case WS_OP_PING:
		if (c->wc_state == WSC_OPEN)
			(void) wsc_frame(c, WS_OP_PONG, p, n);
		return;
	case WS_OP_PONG:
		return;
	case WS_OP_CLOSE:
		wsc_on_close(c, p, n);
		return;
	default:
		break;
	}
	if (op == WS_OP_CONT) {
		if (c->wc_frag_op == 0) {
			wsc_fail(c, WS_CLOSE_PROTOCOL, "unexpected continuation");
			return;
		}
		if (n > c->wc_max_message - c->wc_frag.b_len) {
			wsc_fail(c, WS_CLOSE_TOO_BIG, "message too big");
			return;
		}
		if (c->wc_frag_op == WS_OP_TEXT) {
			c->wc_frag_utf8 = utf8_feed(c->wc_frag_utf8, p, n);
			if (c->wc_frag_utf8 == UTF8_REJECT || (h->fh_fin &&
			    c->wc_frag_utf8 != UTF8_ACCEPT)) {
				wsc_fail(c, WS_CLOSE_BAD_DATA, "invalid UTF-8");
				return;
			}
		}
		if (buf_append(&c->wc_frag, p, n) != 0) {
			wsc_fail(c, WS_CLOSE_INTERNAL, "out of memory");
			return;
		}
		if (!h->fh_fin)
			return;
		op = c->wc_frag_op;
		c->wc_frag_op = 0;
		if (c->wc_on_message != NULL && c->wc_state == WSC_OPEN)
			c->wc_on_message(c, op, buf_head(&c->wc_frag),
			    c->wc_frag.b_len);
		buf_free(&c->wc_frag);
		return;
	}
	if (c->wc_frag_op != 0) {
		wsc_fail(c, WS_CLOSE_PROTOCOL, "message inside a message");
		return;
	}
	if (!h->fh_fin) {
		c->wc_frag_op = op;
		c->wc_frag_utf8 = op == WS_OP_TEXT ?
		    utf8_feed(UTF8_ACCEPT, p, n) : UTF8_ACCEPT;
		if (c->wc_frag_utf8 == UTF8_REJECT) {
			wsc_fail(c, WS_CLOSE_BAD_DATA, "invalid UTF-8");
			return;
		}
		if (buf_append(&c->wc_frag, p, n) != 0)
			wsc_fail(c, WS_CLOSE_INTERNAL, "out of memory");
		return;
	}
	if (op == WS_OP_TEXT && !utf8_valid(p, n)) {
		wsc_fail(c, WS_CLOSE_BAD_DATA, "invalid UTF-8");
		return;
	}
	if (c->wc_on_message != NULL && c->wc_state == WSC_OPEN)
		c->wc_on_message(c, op, p, n);
}

/* Parse whole frames from wc_in while not paused. */
static void
wsc_parse(struct wsc *c)
{
	struct wsframe_hdr h;

	while (c->wc_state >= WSC_OPEN && c->wc_state != WSC_ENDED && !c->wc_paused && c->wc_in.b_len > 0) {
		uint8_t *d = buf_head(&c->wc_in);
		size_t len = c->wc_in.b_len, total;
		int r = wsframe_parse(d, len, WSFRAME_F_UNMASKED, &h);

		if (r == 0)
			return;
		if (r < 0) {
			wsc_fail(c, wsframe_err_code(r), wsframe_strerror(r));
			return;
		}
		if (!wsframe_is_control(h.fh_opcode) &&
		    h.fh_len > c->wc_max_message) {
			wsc_fail(c, WS_CLOSE_TOO_BIG, "message too big");
			return;
		}
		if (h.fh_len > len - h.fh_hdrlen)
			return;
		total = h.fh_hdrlen + (size_t)h.fh_len;
		wsc_frame_in(c, &h, d + h.fh_hdrlen);
		if (c->wc_state == WSC_ENDED)
			return;
		buf_consume(&c->wc_in, total);
	}
}

static void
wsc_read_cb(EV_P_ ev_io *w, int revents)
{
	struct wsc *c = w->data;

	(void) EV_A;
	(void) revents;
	if (c->wc_state == WSC_DIALLING) {
		wsc_dial_step(c);
		return;
	}
	if (c->wc_x.x_write_wants_read && c->wc_out.b_len > 0 &&
	    wsc_flush(c) != 0)
		return;
	for (int i = 0; i < 8 && c->wc_state != WSC_ENDED && !c->wc_paused;
	    i++) {
		ssize_t n;

		if (buf_reserve(&c->wc_in, WSC_READ) != 0) {
			wsc_end(c, WSC_END_LOST, "out of memory");
			return;
		}
		n = xport_read(&c->wc_x, buf_tail(&c->wc_in),
		    buf_avail(&c->wc_in));
		if (n < 0 && errno == EAGAIN) {
			wsc_want(c);
			break;
		}
		if (n == 0) {
			/* After our CLOSE, an EOF is the expected end. */
			if (c->wc_state == WSC_CLOSING)
				wsc_end(c, WSC_END_CLOSED, NULL);
			else if (c->wc_state == WSC_UPGRADING)
				wsc_end(c, WSC_END_DIAL, "the reflector closed "
				    "the connection during the upgrade");
			else
				wsc_end(c, WSC_END_LOST, "the reflector closed "
				    "the connection without a close frame");
			return;
		}
		if (n < 0) {
			wsc_lost(c, "read from the reflector failed");
			return;
		}
		c->wc_last_rx = ev_now(c->wc_loop);
		c->wc_missed = 0;
		buf_commit(&c->wc_in, (size_t)n);
		if (c->wc_state == WSC_UPGRADING &&
		    (wsc_upgrade_response(c) != 0 ||
		    c->wc_state == WSC_UPGRADING))
			return;
		wsc_parse(c);
	}
	if (c->wc_state == WSC_OPEN || c->wc_state == WSC_CLOSING)
		wsc_parse(c);	/* frames left by an earlier pause */
	if (c->wc_state != WSC_ENDED && c->wc_in.b_len == 0)
		buf_free(&c->wc_in);
}

static void
wsc_write_cb(EV_P_ ev_io *w, int revents)
{
	struct wsc *c = w->data;
	size_t before = c->wc_out.b_len;

	(void) EV_A;
	(void) revents;
	if (c->wc_state == WSC_DIALLING) {
		wsc_dial_step(c);
		return;
	}
	if (c->wc_x.x_read_wants_write) {
		c->wc_x.x_read_wants_write = false;
		ev_feed_event(c->wc_loop, &c->wc_rio, EV_READ);
	}
	if (wsc_flush(c) != 0)
		return;
	if (c->wc_state == WSC_OPEN && before > c->wc_low_water &&
	    c->wc_out.b_len <= c->wc_low_water && c->wc_on_drain != NULL)
		c->wc_on_drain(c);
}

static void
wsc_timer_cb(EV_P_ ev_timer *w, int revents)
{
	struct wsc *c = w->data;
	char what[400], msg[600];

	(void) EV_A;
	(void) revents;
	if (c->wc_state == WSC_CLOSING) {
		wsc_end(c, WSC_END_LOST, "the reflector did not answer our "
		    "close in time");
		return;
	}
	snprintf(msg, sizeof (msg), "timed out after %.1f s %s",
	    ev_now(c->wc_loop) - c->wc_started, wsc_phase(c, what,
	    sizeof (what)));
	wsc_end(c, WSC_END_DIAL, msg);
}

/*
 * Liveness: the timer fires an interval after the last byte from the
 * reflector (or the last PING into the silence after it).  Then, if
 * something arrived meanwhile, it is set again from that; else a PING
 * goes out, or, with wc_alive_count of them unanswered, the connection is
 * lost: (count + 1) x interval after the last byte.
 */
static void
wsc_alive_start(struct wsc *c)
{
	if (c->wc_alive_interval <= 0)
		return;
	c->wc_last_rx = ev_now(c->wc_loop);
	c->wc_missed = 0;
	ev_timer_set(&c->wc_alive, c->wc_alive_interval, 0);
	ev_timer_start(c->wc_loop, &c->wc_alive);
}

static void
wsc_alive_cb(EV_P_ ev_timer *w, int revents)
{
	struct wsc *c = w->data;
	double quiet = ev_now(EV_A) - c->wc_last_rx;
	char msg[200];

	(void) revents;
	if (c->wc_state != WSC_OPEN)
		return;
	if (c->wc_missed == 0 && quiet < c->wc_alive_interval) {
		/* Heard from since: an interval from then. */
		ev_timer_set(w, c->wc_alive_interval - quiet, 0);
		ev_timer_start(EV_A_ w);
		return;
	}
	if (c->wc_missed >= c->wc_alive_count) {
		snprintf(msg, sizeof (msg), "no answer from the reflector for "
		    "%.0f s (%u pings unanswered)", quiet, c->wc_missed);
		wsc_end(c, WSC_END_LOST, msg);
		return;
	}
	c->wc_missed++;
	/*
	 * The ping's write may find the connection gone: then it has ended
	 * (on_end has run, and may have set a redial going), and its timer
	 * must stay stopped.  Started again here, it would be left in the
	 * loop, and the next wsc_open's ev_init would orphan it in libev's
	 * timer heap (whose reify then spins until it aborts).
	 */
	if (wsc_frame(c, WS_OP_PING, "medusa", 6) != 0 ||
	    c->wc_state != WSC_OPEN)
		return;
	ev_timer_set(w, c->wc_alive_interval, 0);
	ev_timer_start(EV_A_ w);
}

void
wsc_free(struct wsc *c)
{
	if (c->wc_state != WSC_ENDED && c->wc_state != WSC_IDLE) {
		c->wc_on_end = NULL;
		wsc_end(c, WSC_END_CLOSED, NULL);
	}
	c->wc_state = WSC_IDLE;
	buf_free(&c->wc_in);
	buf_free(&c->wc_out);
	buf_free(&c->wc_frag);
}

void
wsc_process_init(void)
{
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	(void) mallopt(M_MMAP_THRESHOLD, (int)WSC_MMAP_BELOW);
	(void) mallopt(M_TRIM_THRESHOLD, (int)WSC_TRIM_ABOVE);
#endif
}
