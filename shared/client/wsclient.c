/*
 * wsclient.c: client WebSocket endpoint; see wsclient.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "httphead.h"
#include "utf8.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wshandshake.h"

#define	WSC_READ	65536
#define	WSC_HEAD_MAX	16384

static void wsc_read_cb(EV_P_ ev_io *, int);
static void wsc_write_cb(EV_P_ ev_io *, int);
static void wsc_timer_cb(EV_P_ ev_timer *, int);

static double
wsc_now(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Blocking write of the whole request, bounded by the deadline. */
static int
wsc_write_all(struct xport *x, const char *p, size_t n, double deadline)
{
	while (n > 0) {
		ssize_t w = xport_write(x, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			if (!xport_wait(x, !x->x_write_wants_read,
			    deadline - wsc_now()))
				return (-1);
			continue;
		}
		return (-1);
	}
	return (0);
}

int
wsc_open(struct wsc *c, struct ev_loop *loop, const struct wsurl *u,
    const struct wsc_opts *o, char *err, size_t errlen)
{
	char key[WSH_KEY_LEN + 1], req[8192], rerr[256];
	struct httphead h;
	double deadline = wsc_now() + o->wo_xport.xo_timeout;
	size_t n;
	int r;

	memset(&c->wc_x, 0, sizeof (c->wc_x));
	c->wc_loop = loop;
	c->wc_max_message = o->wo_max_message != 0 ? o->wo_max_message :
	    16u * 1024 * 1024;
	c->wc_low_water = o->wo_low_water;
	c->wc_close_timeout = o->wo_close_timeout > 0 ? o->wo_close_timeout : 5;
	if (xport_connect(&c->wc_x, u, &o->wo_xport, err, errlen) != 0)
		return (-1);
	if (wshandshake_key(key) != 0 ||
	    (n = wshandshake_request(req, sizeof (req), u->u_hostport,
	    u->u_path, key, WSH_PING_HEADER ": 1\r\n")) == 0) {
		snprintf(err, errlen, "cannot build the upgrade request");
		goto fail;
	}
	if (wsc_write_all(&c->wc_x, req, n, deadline) != 0) {
		snprintf(err, errlen, "sending the upgrade request to %s: %s",
		    u->u_hostport, c->wc_x.x_err[0] != '\0' ? c->wc_x.x_err :
		    strerror(errno));
		goto fail;
	}
	/* Read the response head; bytes after it are already frames. */
	for (;;) {
		ssize_t got;

		if (buf_reserve(&c->wc_in, 4096) != 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		got = xport_read(&c->wc_x, buf_tail(&c->wc_in),
		    buf_avail(&c->wc_in));
		if (got < 0 && errno == EAGAIN) {
			if (!xport_wait(&c->wc_x, c->wc_x.x_read_wants_write,
			    deadline - wsc_now())) {
				snprintf(err, errlen, "%s did not answer the "
				    "upgrade in time", u->u_hostport);
				goto fail;
			}
			continue;
		}
		if (got <= 0) {
			snprintf(err, errlen, "%s closed the connection during "
			    "the upgrade%s%s", u->u_hostport,
			    got < 0 ? ": " : "", got < 0 ?
			    (c->wc_x.x_err[0] != '\0' ? c->wc_x.x_err :
			    strerror(errno)) : "");
			goto fail;
		}
		buf_commit(&c->wc_in, (size_t)got);
		r = httphead_parse_response((const char *)buf_head(&c->wc_in),
		    c->wc_in.b_len, &h);
		if (r == HTTPHEAD_OK)
			break;
		if (r != HTTPHEAD_INCOMPLETE || c->wc_in.b_len > WSC_HEAD_MAX) {
			snprintf(err, errlen, "%s sent a malformed response to "
			    "the upgrade", u->u_hostport);
			goto fail;
		}
	}
	if (wshandshake_check_response(&h, key, rerr, sizeof (rerr)) != 0) {
		const char *body = (const char *)buf_head(&c->wc_in) + h.hh_len;
		size_t bl = c->wc_in.b_len - h.hh_len;

		/* Show the server's JSON message if there is one. */
		while (bl > 0 && (body[bl - 1] == '\n' || body[bl - 1] == '\r'))
			bl--;
		snprintf(err, errlen, "%s refused the session: %s%s%.*s",
		    u->u_hostport, rerr, bl > 0 ? ": " : "",
		    (int)(bl > 300 ? 300 : bl), body);
		goto fail;
	}
	buf_consume(&c->wc_in, h.hh_len);

	ev_io_init(&c->wc_rio, wsc_read_cb, c->wc_x.x_fd, EV_READ);
	ev_io_init(&c->wc_wio, wsc_write_cb, c->wc_x.x_fd, EV_WRITE);
	ev_init(&c->wc_timer, wsc_timer_cb);
	c->wc_rio.data = c->wc_wio.data = c->wc_timer.data = c;
	ev_io_start(loop, &c->wc_rio);
	/* Frames that came with the 101 are parsed on the first read. */
	if (c->wc_in.b_len > 0)
		ev_feed_event(loop, &c->wc_rio, EV_READ);
	return (0);
fail:
	xport_close(&c->wc_x);
	buf_free(&c->wc_in);
	return (-1);
}

static void
wsc_end(struct wsc *c, const char *err)
{
	if (c->wc_ended)
		return;
	c->wc_ended = true;
	ev_io_stop(c->wc_loop, &c->wc_rio);
	ev_io_stop(c->wc_loop, &c->wc_wio);
	ev_timer_stop(c->wc_loop, &c->wc_timer);
	xport_close(&c->wc_x);
	if (c->wc_on_end != NULL)
		c->wc_on_end(c, err);
}

static void
wsc_want(struct wsc *c)
{
	if (c->wc_ended)
		return;
	if (c->wc_out.b_len > 0 || c->wc_x.x_read_wants_write)
		ev_io_start(c->wc_loop, &c->wc_wio);
	else
		ev_io_stop(c->wc_loop, &c->wc_wio);
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
		{
			char why[300];

			snprintf(why, sizeof (why), "write to the reflector "
			    "failed: %s", c->wc_x.x_err[0] != '\0' ?
			    c->wc_x.x_err : strerror(errno));
			wsc_end(c, why);
		}
		return (-1);
	}
	wsc_want(c);
	return (0);
}

static int
wsc_frame(struct wsc *c, uint8_t opcode, const void *p, size_t n)
{
	uint8_t hdr[WSFRAME_MAX_HEADER], mask[4];
	size_t hl, start;

	if (c->wc_ended)
		return (-1);
	if (RAND_bytes(mask, sizeof (mask)) != 1)
		memset(mask, 0x5a, sizeof (mask));
	hl = wsframe_header(hdr, true, opcode, n, mask);
	if (buf_append(&c->wc_out, hdr, hl) != 0)
		return (-1);
	start = c->wc_out.b_len;
	if (buf_append(&c->wc_out, p, n) != 0)
		return (-1);
	wsframe_mask(buf_head(&c->wc_out) + start, n, mask, 0);
	c->wc_tx_bytes += n;
	return (wsc_flush(c));
}

int
wsc_send(struct wsc *c, uint8_t opcode, const void *p, size_t n)
{
	if (c->wc_close_sent || c->wc_ended)
		return (-1);
	return (wsc_frame(c, opcode, p, n));
}

int
wsc_send_text(struct wsc *c, const char *s)
{
	return (wsc_send(c, WS_OP_TEXT, s, strlen(s)));
}

static void
wsc_send_close(struct wsc *c, uint16_t code, const char *reason)
{
	uint8_t pl[WSFRAME_MAX_CONTROL];
	size_t n = 0;

	if (c->wc_close_sent || c->wc_ended)
		return;
	if (code != 0 && code != WS_CLOSE_NO_STATUS)
		n = wsframe_close_payload(pl, code, reason,
		    reason != NULL ? strlen(reason) : 0);
	c->wc_close_sent = true;
	(void) wsc_frame(c, WS_OP_CLOSE, pl, n);
}

void
wsc_close(struct wsc *c, uint16_t code, const char *reason)
{
	if (c->wc_close_sent || c->wc_ended)
		return;
	wsc_send_close(c, code, reason);
	if (c->wc_ended)
		return;
	wsc_resume(c);	/* their reply must be read */
	ev_timer_set(&c->wc_timer, c->wc_close_timeout, 0);
	ev_timer_start(c->wc_loop, &c->wc_timer);
}

void
wsc_pause(struct wsc *c)
{
	c->wc_paused = true;
	if (!c->wc_ended && !c->wc_x.x_write_wants_read)
		ev_io_stop(c->wc_loop, &c->wc_rio);
}

void
wsc_resume(struct wsc *c)
{
	if (!c->wc_paused || c->wc_ended)
		return;
	c->wc_paused = false;
	ev_io_start(c->wc_loop, &c->wc_rio);
	/* Frames may be waiting in the buffer already. */
	if (c->wc_in.b_len > 0)
		ev_feed_event(c->wc_loop, &c->wc_rio, EV_READ);
}

/* A protocol violation by the server: close with code and end. */
static void
wsc_fail(struct wsc *c, uint16_t code, const char *why)
{
	char msg[200];

	wsc_send_close(c, code, why);
	snprintf(msg, sizeof (msg), "protocol error from the reflector: %s",
	    why);
	wsc_end(c, msg);
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
	c->wc_close_rcvd = true;
	c->wc_peer_code = code;
	if (rl >= sizeof (c->wc_peer_reason))
		rl = sizeof (c->wc_peer_reason) - 1;
	memcpy(c->wc_peer_reason, reason, rl);
	c->wc_peer_reason[rl] = '\0';
	if (!c->wc_close_sent)
		wsc_send_close(c, code, NULL);	/* echo */
	if (!c->wc_ended) {
		/* Best effort to get our reply out before closing. */
		(void) wsc_flush(c);
		wsc_end(c, NULL);
	}
}

/* Handle one whole frame; payload already unmasked (server frames are not). */
static void
wsc_frame_in(struct wsc *c, const struct wsframe_hdr *h, uint8_t *p)
{
	size_t n = (size_t)h->fh_len;
	uint8_t op = h->fh_opcode;

	c->wc_rx_bytes += n;
	switch (op) {
	case WS_OP_PING:
		if (!c->wc_close_sent)
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
		if (c->wc_on_message != NULL && !c->wc_close_sent)
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
	if (c->wc_on_message != NULL && !c->wc_close_sent)
		c->wc_on_message(c, op, p, n);
}

/* Parse whole frames from wc_in while not paused. */
static void
wsc_parse(struct wsc *c)
{
	struct wsframe_hdr h;

	while (!c->wc_ended && !c->wc_paused && c->wc_in.b_len > 0) {
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
		if (c->wc_ended)
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
	if (c->wc_x.x_write_wants_read && c->wc_out.b_len > 0 &&
	    wsc_flush(c) != 0)
		return;
	for (int i = 0; i < 8 && !c->wc_ended && !c->wc_paused; i++) {
		ssize_t n;

		if (buf_reserve(&c->wc_in, WSC_READ) != 0) {
			wsc_end(c, "out of memory");
			return;
		}
		n = xport_read(&c->wc_x, buf_tail(&c->wc_in),
		    buf_avail(&c->wc_in));
		if (n < 0 && errno == EAGAIN) {
			wsc_want(c);
			break;
		}
		if (n <= 0) {
			char why[300];

			if (n == 0)
				snprintf(why, sizeof (why), "the reflector "
				    "closed the connection without a close "
				    "frame");
			else
				snprintf(why, sizeof (why), "read from the "
				    "reflector failed: %s",
				    c->wc_x.x_err[0] != '\0' ? c->wc_x.x_err :
				    strerror(errno));
			/* After our CLOSE, an EOF is the expected end. */
			wsc_end(c, c->wc_close_sent && n == 0 ? NULL : why);
			return;
		}
		buf_commit(&c->wc_in, (size_t)n);
		wsc_parse(c);
	}
	if (!c->wc_ended)
		wsc_parse(c);	/* frames left by an earlier pause */
	if (!c->wc_ended && c->wc_in.b_len == 0)
		buf_free(&c->wc_in);
}

static void
wsc_write_cb(EV_P_ ev_io *w, int revents)
{
	struct wsc *c = w->data;
	size_t before = c->wc_out.b_len;

	(void) EV_A;
	(void) revents;
	if (c->wc_x.x_read_wants_write) {
		c->wc_x.x_read_wants_write = false;
		ev_feed_event(c->wc_loop, &c->wc_rio, EV_READ);
	}
	if (wsc_flush(c) != 0)
		return;
	if (before > c->wc_low_water && c->wc_out.b_len <= c->wc_low_water &&
	    c->wc_on_drain != NULL)
		c->wc_on_drain(c);
}

static void
wsc_timer_cb(EV_P_ ev_timer *w, int revents)
{
	struct wsc *c = w->data;

	(void) EV_A;
	(void) revents;
	wsc_end(c, "the reflector did not answer our close in time");
}

void
wsc_free(struct wsc *c)
{
	if (!c->wc_ended) {
		c->wc_on_end = NULL;
		wsc_end(c, NULL);
	}
	buf_free(&c->wc_in);
	buf_free(&c->wc_out);
	buf_free(&c->wc_frag);
}
