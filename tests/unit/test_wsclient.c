/*
 * test_wsclient.c: the client WebSocket (shared/client/wsclient.c) on a
 * libev loop, against a peer played by the test: a table of frames the
 * reflector may send (good ones and the protocol errors with the close
 * code we must answer), a table of answers to the upgrade (a 101, the
 * reflector's refusals with their JSON, a wrong accept key, garbage, a
 * close), liveness (a silent peer is lost within the bound, an answering
 * one is not) and the close handshake; wsc_process_init keeps the
 * buffers that come and go per message from faulting their pages in anew.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "httphead.h"
#include "suites.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wshandshake.h"

struct rec {
	int		msgs;
	uint8_t		op[8];
	char		data[8][300];
	size_t		len[8];
	bool		opened;
	bool		ended;
	enum wsc_end	kind;
	char		err[400];
};

static void
rec_open(struct wsc *c)
{
	((struct rec *)c->wc_arg)->opened = true;
}

static void
rec_msg(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	struct rec *r = c->wc_arg;

	if (r->msgs < 8) {
		r->op[r->msgs] = op;
		r->len[r->msgs] = n;
		memcpy(r->data[r->msgs], p, n < 300 ? n : 300);
		r->msgs++;
	}
}

static void
rec_end(struct wsc *c, const char *err)
{
	struct rec *r = c->wc_arg;

	r->ended = true;
	r->kind = c->wc_end;
	snprintf(r->err, sizeof (r->err), "%s", err != NULL ? err : "");
	ev_break(c->wc_loop, EVBREAK_ALL);
}

static void
guard_cb(EV_P_ ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	ev_break(EV_A_ EVBREAK_ALL);
}

/* Run the loop until the connection ends or `secs` pass. */
static void
run_for(struct ev_loop *loop, double secs)
{
	ev_timer guard;

	ev_timer_init(&guard, guard_cb, secs, 0);
	ev_timer_start(loop, &guard);
	ev_run(loop, 0);
	ev_timer_stop(loop, &guard);
}

static void
wsc_setup(struct wsc *c, struct rec *r)
{
	memset(c, 0, sizeof (*c));
	memset(r, 0, sizeof (*r));
	c->wc_arg = r;
	c->wc_on_open = rec_open;
	c->wc_on_message = rec_msg;
	c->wc_on_end = rec_end;
}

/* The client frames the peer has received, unmasked: their opcodes. */
static int
peer_frames(int fd, uint8_t *ops, uint16_t *close_code, int max)
{
	static uint8_t buf[65536];
	size_t len = 0, off = 0;
	ssize_t n;
	int k = 0;

	while ((n = recv(fd, buf + len, sizeof (buf) - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	while (off < len && k < max) {
		struct wsframe_hdr h;

		if (wsframe_parse(buf + off, len - off, WSFRAME_F_MASKED, &h) <=
		    0 || h.fh_hdrlen + h.fh_len > len - off)
			break;
		ck_assert(h.fh_masked);
		wsframe_mask(buf + off + h.fh_hdrlen, (size_t)h.fh_len,
		    h.fh_mask, 0);
		ops[k++] = h.fh_opcode;
		if (h.fh_opcode == WS_OP_CLOSE && close_code != NULL &&
		    h.fh_len >= 2)
			*close_code = (uint16_t)(buf[off + h.fh_hdrlen] << 8 |
			    buf[off + h.fh_hdrlen + 1]);
		off += h.fh_hdrlen + (size_t)h.fh_len;
	}
	return (k);
}

/* --- frames from the reflector ---------------------------------------- */

static const struct {
	const char	*name;
	const char	*bytes;		/* raw, what the peer writes */
	size_t		n;
	int		msgs;		/* messages delivered */
	const char	*first;		/* the first one's payload */
	enum wsc_end	end;		/* NONE: still open */
	uint16_t	code;		/* our CLOSE's code, if we sent one */
} frames[] = {
	{ "text", "\x81\x05hello", 7, 1, "hello", WSC_END_NONE, 0 },
	{ "binary", "\x82\x03\x00\x01\x02", 5, 1, "\x00\x01\x02",
	    WSC_END_NONE, 0 },
	{ "empty text", "\x81\x00", 2, 1, "", WSC_END_NONE, 0 },
	{ "fragments", "\x01\x03hel\x00\x02lo\x80\x01!", 12, 1, "hello!",
	    WSC_END_NONE, 0 },
	{ "ping inside fragments", "\x01\x01" "a\x89\x00\x80\x01" "b", 9, 1,
	    "ab", WSC_END_NONE, 0 },
	{ "two in one read", "\x81\x01" "a\x82\x01" "b", 6, 2, "a",
	    WSC_END_NONE, 0 },
	{ "masked from the server", "\x81\x81\x01\x02\x03\x04\x60", 7, 0,
	    NULL, WSC_END_PROTOCOL, 1002 },
	{ "reserved bit", "\xc1\x01" "a", 3, 0, NULL, WSC_END_PROTOCOL, 1002 },
	{ "reserved opcode", "\x83\x00", 2, 0, NULL, WSC_END_PROTOCOL, 1002 },
	{ "invalid UTF-8", "\x81\x02\xc3\x28", 4, 0, NULL, WSC_END_PROTOCOL,
	    1007 },
	{ "invalid UTF-8 across fragments", "\x01\x01\xc3\x80\x01\x28", 6, 0,
	    NULL, WSC_END_PROTOCOL, 1007 },
	{ "continuation first", "\x80\x01" "a", 3, 0, NULL, WSC_END_PROTOCOL,
	    1002 },
	{ "message inside a message", "\x01\x01" "a\x81\x01" "b", 6, 0, NULL,
	    WSC_END_PROTOCOL, 1002 },
	{ "long control frame", "\x89\x7e\x00\x7e", 4, 0, NULL,
	    WSC_END_PROTOCOL, 1002 },
	{ "too big", "\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x00", 10, 0, NULL,
	    WSC_END_PROTOCOL, 1009 },
	{ "bad close payload", "\x88\x01\x03", 3, 0, NULL, WSC_END_PROTOCOL,
	    1002 },
	{ "close", "\x88\x06\x03\xe9" "bye!", 8, 0, NULL, WSC_END_CLOSED,
	    1001 },
	{ "EOF without a close", "", 0, 0, NULL, WSC_END_LOST, 0 },
};

START_TEST(test_frames)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	int sv[2];
	uint8_t ops[8];
	uint16_t code = 0;
	int k;

	memset(&o, 0, sizeof (o));
	o.wo_max_message = 1024;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	if (frames[_i].n > 0)
		ck_assert_int_eq(write(sv[1], frames[_i].bytes, frames[_i].n),
		    (ssize_t)frames[_i].n);
	else
		(void) shutdown(sv[1], SHUT_WR);
	run_for(loop, frames[_i].end == WSC_END_NONE ? 0.2 : 5);
	ck_assert_msg(r.msgs == frames[_i].msgs, "%s: %d messages",
	    frames[_i].name, r.msgs);
	if (frames[_i].first != NULL)
		ck_assert(r.len[0] == strlen(frames[_i].first) || r.op[0] ==
		    WS_OP_BINARY);
	if (frames[_i].first != NULL && r.msgs > 0)
		ck_assert(memcmp(r.data[0], frames[_i].first, r.len[0]) == 0);
	ck_assert_msg(r.kind == frames[_i].end, "%s: ended %s (%s)",
	    frames[_i].name, wsc_end_name(r.kind), r.err);
	k = peer_frames(sv[1], ops, &code, 8);
	if (frames[_i].code != 0) {
		ck_assert_int_ge(k, 1);
		ck_assert_int_eq(ops[k - 1], WS_OP_CLOSE);
		ck_assert_msg(code == frames[_i].code, "%s: close %u",
		    frames[_i].name, code);
	}
	if (strstr(frames[_i].name, "ping") != NULL)
		ck_assert(k == 1 && ops[0] == WS_OP_PONG);
	if (frames[_i].end == WSC_END_NONE) {
		ck_assert(wsc_is_open(&c));
		ck_assert_int_eq(wsc_send_text(&c, "x"), 0);
	} else {
		ck_assert(!wsc_is_open(&c));
		ck_assert_int_eq(wsc_send_text(&c, "x"), -1);
	}
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/* --- the upgrade -------------------------------------------------------- */

static const struct {
	const char	*name;
	int		kind;		/* 0 good 101, 1 canned, 2 close */
	const char	*answer;
	enum wsc_end	end;		/* NONE: open */
	int		status;
	const char	*err;
} upgrades[] = {
	{ "101", 0, NULL, WSC_END_NONE, 0, NULL },
	{ "101 and a message in one write", 0, "\x81\x02hi", WSC_END_NONE, 0,
	    NULL },
	{ "409", 1, "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n"
	    "Connection: close\r\n\r\n{\"code\":\"SessionHasSlave\",\"message\":"
	    "\"session already has a slave\"}\r\n", WSC_END_REFUSED, 409,
	    "refused the session: server answered 409" },
	{ "101 with a wrong accept key", 1, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", WSC_END_REFUSED, 101,
	    "refused the session" },
	{ "garbage", 1, "SSH-2.0-OpenSSH_9.2\r\n\r\n", WSC_END_REFUSED, 0,
	    "sent a malformed response to the upgrade" },
	{ "closed", 2, NULL, WSC_END_DIAL, 0,
	    "closed the connection during the upgrade" },
};

struct upsrv {
	int		lfd;
	int		fd;
	int		i;
	ev_io		w;
	char		req[4096];
	size_t		rl;
};

static void
upsrv_cb(EV_P_ ev_io *w, int revents)
{
	struct upsrv *s = w->data;
	struct httphead h;
	char accept_key[WSH_ACCEPT_LEN + 1], resp[1024];
	ssize_t n;

	(void) revents;
	if (s->fd < 0) {
		s->fd = accept(s->lfd, NULL, NULL);
		ck_assert_int_ge(s->fd, 0);
		ev_io_stop(EV_A_ w);
		ev_io_set(w, s->fd, EV_READ);
		ev_io_start(EV_A_ w);
		return;
	}
	n = read(s->fd, s->req + s->rl, sizeof (s->req) - s->rl);
	ck_assert_int_gt(n, 0);
	s->rl += (size_t)n;
	if (httphead_parse_request(s->req, s->rl, &h) != HTTPHEAD_OK)
		return;
	ev_io_stop(EV_A_ w);
	ck_assert(strstr(s->req, "X-Medusa-Ping: 1\r\n") != NULL);
	switch (upgrades[s->i].kind) {
	case 0: {
		const char *k = strstr(s->req, "Sec-WebSocket-Key: ") + 19;
		size_t rlen;

		wshandshake_accept(k, strcspn(k, "\r"), accept_key);
		rlen = wshandshake_response(resp, sizeof (resp), accept_key);
		if (upgrades[s->i].answer != NULL) {
			memcpy(resp + rlen, upgrades[s->i].answer,
			    strlen(upgrades[s->i].answer));
			rlen += strlen(upgrades[s->i].answer);
		}
		ck_assert_int_eq(write(s->fd, resp, rlen), (ssize_t)rlen);
		break;
	}
	case 1:
		ck_assert_int_gt(write(s->fd, upgrades[s->i].answer,
		    strlen(upgrades[s->i].answer)), 0);
		(void) shutdown(s->fd, SHUT_WR);
		break;
	default:
		(void) close(s->fd);
		s->fd = -2;
		break;
	}
}

START_TEST(test_upgrade)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sockaddr_in sa;
	socklen_t sl = sizeof (sa);
	struct upsrv s;
	struct wsc_opts o;
	struct wsurl u;
	struct wsc c;
	struct rec r;
	char url[100], err[300];

	memset(&s, 0, sizeof (s));
	s.i = _i;
	s.fd = -1;
	s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof (sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s.lfd, (struct sockaddr *)&sa, sizeof (sa)), 0);
	ck_assert_int_eq(listen(s.lfd, 4), 0);
	ck_assert_int_eq(getsockname(s.lfd, (struct sockaddr *)&sa, &sl), 0);
	ev_io_init(&s.w, upsrv_cb, s.lfd, EV_READ);
	s.w.data = &s;
	ev_io_start(loop, &s.w);

	snprintf(url, sizeof (url), "ws://127.0.0.1:%d/attach/x/master",
	    ntohs(sa.sin_port));
	ck_assert_int_eq(wsurl_parse(url, &u, err, sizeof (err)), 0);
	memset(&o, 0, sizeof (o));
	o.wo_connect_timeout = 5;
	wsc_setup(&c, &r);
	ck_assert_int_eq(wsc_open(&c, loop, &u, &o, err, sizeof (err)), 0);
	ck_assert_int_eq(c.wc_state, WSC_DIALLING);
	run_for(loop, upgrades[_i].end == WSC_END_NONE ? 0.3 : 5);
	ck_assert_msg(r.kind == upgrades[_i].end, "%s: %s (%s)",
	    upgrades[_i].name, wsc_end_name(r.kind), r.err);
	if (upgrades[_i].end == WSC_END_NONE) {
		ck_assert(r.opened);
		ck_assert(wsc_is_open(&c));
		if (upgrades[_i].answer != NULL) {
			ck_assert_int_eq(r.msgs, 1);
			ck_assert(memcmp(r.data[0], "hi", 2) == 0);
		}
	} else {
		ck_assert(!r.opened);
		ck_assert_msg(strstr(r.err, upgrades[_i].err) != NULL, "%s: %s",
		    upgrades[_i].name, r.err);
		ck_assert_int_eq(c.wc_http_status, upgrades[_i].status);
		if (upgrades[_i].status == 409)
			ck_assert(strstr(r.err, "session already has a slave") !=
			    NULL);
	}
	wsc_free(&c);
	ev_io_stop(loop, &s.w);
	if (s.fd >= 0)
		(void) close(s.fd);
	(void) close(s.lfd);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_connect_timeout)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct sockaddr_in sa;
	socklen_t sl = sizeof (sa);
	struct wsc_opts o;
	struct wsurl u;
	struct wsc c;
	struct rec r;
	char url[100], err[300];
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	/* A listener that never accepts: the upgrade is never answered. */
	memset(&sa, 0, sizeof (sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof (sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof (url), "ws://127.0.0.1:%d/attach/x/master",
	    ntohs(sa.sin_port));
	ck_assert_int_eq(wsurl_parse(url, &u, err, sizeof (err)), 0);
	memset(&o, 0, sizeof (o));
	o.wo_connect_timeout = 0.3;
	wsc_setup(&c, &r);
	ck_assert_int_eq(wsc_open(&c, loop, &u, &o, err, sizeof (err)), 0);
	run_for(loop, 5);
	ck_assert_int_eq(r.kind, WSC_END_DIAL);
	ck_assert_msg(strstr(r.err, "timed out after 0.3 s waiting for "
	    "127.0.0.1:") != NULL, "%s", r.err);
	wsc_free(&c);
	(void) close(lfd);
	ev_loop_destroy(loop);
}
END_TEST

/* --- liveness and the close handshake ---------------------------------- */

START_TEST(test_silent_peer_is_lost)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	uint8_t ops[8];
	int sv[2], k;
	ev_tstamp t0;

	memset(&o, 0, sizeof (o));
	o.wo_alive_interval = 0.05;
	o.wo_alive_count = 2;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	ev_now_update(loop);
	t0 = ev_now(loop);
	wsc_adopt(&c, loop, sv[0], &o);
	run_for(loop, 5);
	ck_assert_int_eq(r.kind, WSC_END_LOST);
	ck_assert_msg(strstr(r.err, "no answer from the reflector for 0 s (2 "
	    "pings unanswered)") != NULL, "%s", r.err);
	/* (count + 1) x interval, give or take the loop. */
	ck_assert(ev_now(loop) - t0 >= 0.14 && ev_now(loop) - t0 < 1.0);
	k = peer_frames(sv[1], ops, NULL, 8);
	ck_assert_int_eq(k, 2);
	ck_assert(ops[0] == WS_OP_PING && ops[1] == WS_OP_PING);
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/*
 * The ping finds the peer gone (the write fails): the connection ends
 * (lost, with the write's error) and its liveness timer stays stopped.
 * A timer started again after the end was left in the loop, and the
 * next wsc_open's ev_init orphaned it in libev's heap: the agent
 * aborted with "(libev) cannot allocate -32 bytes" (issue 14).
 */
START_TEST(test_ping_to_a_gone_peer_ends_and_stops)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	int sv[2];

	(void) signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof (o));
	o.wo_alive_interval = 0.05;
	o.wo_alive_count = 2;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	wsc_pause(&c);		/* the peer's end is not read: a write finds it */
	(void) close(sv[1]);
	run_for(loop, 5);
	ck_assert(r.ended);
	ck_assert_int_eq(r.kind, WSC_END_LOST);
	ck_assert_msg(strstr(r.err, "write to the reflector failed") != NULL,
	    "%s", r.err);
	ck_assert_msg(!ev_is_active(&c.wc_alive),
	    "the liveness timer runs on after the end");
	ck_assert(!ev_is_active(&c.wc_rio) && !ev_is_active(&c.wc_wio) &&
	    !ev_is_active(&c.wc_timer) && !ev_is_active(&c.wc_slow));
	wsc_free(&c);
	ev_loop_destroy(loop);
}
END_TEST

static void
answer_cb(EV_P_ ev_io *w, int revents)
{
	uint8_t ops[8];
	int k = peer_frames(w->fd, ops, NULL, 8);

	(void) EV_A;
	(void) revents;
	for (int i = 0; i < k; i++) {
		if (ops[i] == WS_OP_PING)
			ck_assert_int_eq(write(w->fd, "\x8a\x00", 2), 2);
	}
}

START_TEST(test_answering_peer_stays)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	ev_io peer;
	int sv[2];

	memset(&o, 0, sizeof (o));
	o.wo_alive_interval = 0.05;
	o.wo_alive_count = 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	ev_io_init(&peer, answer_cb, sv[1], EV_READ);
	ev_io_start(loop, &peer);
	run_for(loop, 0.6);		/* 12 intervals */
	ck_assert_msg(!r.ended, "%s", r.err);
	ck_assert(wsc_is_open(&c));
	ev_io_stop(loop, &peer);
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

START_TEST(test_close_handshake)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	uint8_t ops[8];
	uint16_t code = 0;
	int sv[2];

	memset(&o, 0, sizeof (o));
	o.wo_close_timeout = 5;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	wsc_close(&c, 1000, "done");
	ck_assert_int_eq(c.wc_state, WSC_CLOSING);
	ck_assert_int_eq(wsc_send_text(&c, "late"), -1);
	ck_assert_int_eq(peer_frames(sv[1], ops, &code, 8), 1);
	ck_assert_int_eq(ops[0], WS_OP_CLOSE);
	ck_assert_uint_eq(code, 1000);
	ck_assert_int_eq(write(sv[1], "\x88\x02\x03\xe8", 4), 4);
	run_for(loop, 5);
	ck_assert_int_eq(r.kind, WSC_END_CLOSED);
	ck_assert_str_eq(r.err, "");
	ck_assert_uint_eq(c.wc_peer_code, 1000);
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/*
 * A message sent "later" (the ends' acks) goes out in the same write as
 * the next message, or on the loop's next turn when none comes; never
 * once the connection is closing.
 */
START_TEST(test_send_later)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	uint8_t ops[8];
	int sv[2];

	memset(&o, 0, sizeof (o));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	/* Queued: nothing written yet ... */
	ck_assert_int_eq(wsc_send_text_later(&c, "ack"), 0);
	ck_assert_uint_gt(wsc_queued(&c), 0);
	ck_assert_int_eq(peer_frames(sv[1], ops, NULL, 8), 0);
	/* ... until the next message: both, in order, in one write. */
	ck_assert_int_eq(wsc_send(&c, WS_OP_BINARY, "data", 4), 0);
	ck_assert_uint_eq(wsc_queued(&c), 0);
	ck_assert_int_eq(peer_frames(sv[1], ops, NULL, 8), 2);
	ck_assert_int_eq(ops[0], WS_OP_TEXT);
	ck_assert_int_eq(ops[1], WS_OP_BINARY);
	/* Nothing after it: the loop's next turn writes it. */
	ck_assert_int_eq(wsc_send_text_later(&c, "ack 2"), 0);
	ck_assert_int_eq(peer_frames(sv[1], ops, NULL, 8), 0);
	ev_run(loop, EVRUN_ONCE);
	ck_assert_uint_eq(wsc_queued(&c), 0);
	ck_assert_int_eq(peer_frames(sv[1], ops, NULL, 8), 1);
	ck_assert_int_eq(ops[0], WS_OP_TEXT);
	wsc_close(&c, 1000, "done");
	ck_assert_int_eq(wsc_send_text_later(&c, "late"), -1);
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

/*
 * Masking keys come from a pool drawn from OpenSSL 64 at a time: every
 * frame still has its own (200 frames: no two alike, none the fallback
 * 0x5a5a5a5a), across refills of the pool.
 */
START_TEST(test_mask_keys_differ)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	static uint8_t buf[200 * 16];
	uint32_t keys[200];
	struct wsc_opts o;
	struct wsc c;
	struct rec r;
	size_t len = 0, off = 0;
	ssize_t n;
	int sv[2], k = 0;

	memset(&o, 0, sizeof (o));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	wsc_setup(&c, &r);
	wsc_adopt(&c, loop, sv[0], &o);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(wsc_send(&c, WS_OP_BINARY, "k", 1), 0);
	ck_assert_uint_eq(wsc_queued(&c), 0);
	while (len < sizeof (buf) && (n = recv(sv[1], buf + len,
	    sizeof (buf) - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	while (off < len && k < 200) {
		struct wsframe_hdr h;

		ck_assert_int_gt(wsframe_parse(buf + off, len - off,
		    WSFRAME_F_MASKED, &h), 0);
		ck_assert(h.fh_masked);
		memcpy(&keys[k++], h.fh_mask, 4);
		off += h.fh_hdrlen + (size_t)h.fh_len;
	}
	ck_assert_int_eq(k, 200);
	for (int i = 0; i < k; i++) {
		ck_assert_uint_ne(keys[i], 0x5a5a5a5au);
		for (int j = 0; j < i; j++)
			ck_assert_uint_ne(keys[i], keys[j]);
	}
	wsc_free(&c);
	(void) close(sv[1]);
	ev_loop_destroy(loop);
}
END_TEST

static long
minor_faults(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return (ru.ru_minflt);
}

/*
 * The buffers of a streaming agent, as they come and go (an empty buf is
 * freed): its command's input queue filled with up to 5 messages of 64K
 * and drained in the pipe's bites, the connection's read buffer holding
 * one message, its write queue one frame.  300 times over: with glibc's
 * own thresholds, about 10,000 page faults (every queue faulted in anew);
 * after wsc_process_init, about 200.  Then a queue of megabytes.
 */
START_TEST(test_process_init_keeps_pages)
{
	static uint8_t chunk[65536];
	struct buf q = { 0 }, in = { 0 }, out = { 0 };
	long f0;

	wsc_process_init();
	memset(chunk, 7, sizeof (chunk));
	f0 = minor_faults();
	for (int i = 0; i < 300; i++) {
		for (int k = 0; k < 1 + i % 5; k++)
			ck_assert_int_eq(buf_append(&q, chunk, sizeof (chunk)),
			    0);
		while (q.b_len > 0)
			buf_consume(&q, q.b_len > 50000 ? 50000 : q.b_len);
		ck_assert_int_eq(buf_append(&in, chunk, sizeof (chunk)), 0);
		ck_assert_int_eq(buf_append(&in, chunk, 100), 0);
		buf_consume(&in, in.b_len);
		ck_assert_int_eq(buf_append(&out, chunk, 16384 + 14), 0);
		buf_consume(&out, out.b_len);
	}
#ifndef __SANITIZE_ADDRESS__	/* ASan's allocator has its own ways */
	ck_assert_int_lt(minor_faults() - f0, 1500);
#endif
	/*
	 * The queue to a command that is slow while the agent's replay is
	 * full: 256 KiB and a window of 4 MiB, in a buffer of 8 MiB.  The
	 * first time faults it in; after it, 2,048 faults each time under a
	 * threshold of 2 MiB, none now.
	 */
	for (int i = 0; i < 6; i++) {
		if (i == 1)
			f0 = minor_faults();
		for (int k = 0; k < 68; k++)
			ck_assert_int_eq(buf_append(&q, chunk, sizeof (chunk)),
			    0);
		while (q.b_len > 0)
			buf_consume(&q, q.b_len > 65536 ? 65536 : q.b_len);
	}
#ifndef __SANITIZE_ADDRESS__
	ck_assert_int_lt(minor_faults() - f0, 500);
#else
	(void) f0;
#endif
}
END_TEST

Suite *
wsclient_suite(void)
{
	Suite *s = suite_create("wsclient");
	TCase *tc = tcase_create("wsclient");

	tcase_add_loop_test(tc, test_frames, 0, NELEM(frames));
	tcase_add_loop_test(tc, test_upgrade, 0, NELEM(upgrades));
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_silent_peer_is_lost);
	tcase_add_test(tc, test_ping_to_a_gone_peer_ends_and_stops);
	tcase_add_test(tc, test_answering_peer_stays);
	tcase_add_test(tc, test_close_handshake);
	tcase_add_test(tc, test_send_later);
	tcase_add_test(tc, test_mask_keys_differ);
	tcase_add_test(tc, test_process_init_keeps_pages);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return (s);
}
