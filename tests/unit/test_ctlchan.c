/*
 * test_ctlchan.c: ctlchan.h and fdpass.h, over a real socketpair: framing,
 * the bounded queue, and who owns each descriptor when.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "ctlchan.h"
#include "fdpass.h"
#include "fdtest.h"
#include "proto.h"
#include "suites.h"

struct pair {
	int		s[2];
	struct ctlchan	tx, rx;
};

/* One descriptor, or -1 if none is waiting. */
static int
take1(struct ctlchan *c)
{
	int fd;

	return (ctlchan_take_fds(c, &fd, 1) == 0 ? fd : -1);
}

static void
pair_open(struct pair *p, size_t qmax)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->s), 0);
	ctlchan_init(&p->tx, p->s[0], qmax);
	ctlchan_init(&p->rx, p->s[1], qmax);
}

static void
pair_close(struct pair *p)
{
	ctlchan_close(&p->tx, NULL, NULL);
	ctlchan_close(&p->rx, NULL, NULL);
}

/* A frame of body[0..n) into out; returns its length. */
static size_t
mkframe(uint8_t *out, const void *body, size_t n)
{
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	memcpy(out + 4, body, n);
	return (4 + n);
}

/* Flush and fill until the receiver has a whole frame; returns rounds. */
static int
pump(struct pair *p, const uint8_t **body, size_t *len)
{
	for (int round = 1; round < 100000; round++) {
		int r = ctlchan_next(&p->rx, body, len);
		ssize_t n;

		ck_assert_int_ne(r, -1);
		if (r == 1)
			return (round);
		ck_assert_int_ge(ctlchan_flush(&p->tx), 0);
		n = ctlchan_fill(&p->rx);
		if (n < 0)
			ck_assert_int_eq(errno, EAGAIN);
		else
			ck_assert_int_gt(n, 0);
	}
	ck_abort_msg("no frame came through");
	return (0);
}

/* --- one message with 0, 1, 3 or FDPASS_MAX descriptors --------------- */

START_TEST(test_send_fds)
{
	static const int counts[] = { 0, 1, 3, FDPASS_MAX };
	int nfds = counts[_i];
	struct pair p;
	struct pipes pp;
	uint8_t frame[64];
	const uint8_t *body;
	size_t n, len;

	pair_open(&p, 1 << 20);
	pipes_open(&pp, nfds);
	n = mkframe(frame, "hello", 5);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, pp.wr, nfds, "t"), 0);
	ck_assert(ctlchan_pending(&p.tx));
	ck_assert_uint_eq(p.tx.cc_qbytes, n);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);
	ck_assert(!ctlchan_pending(&p.tx));
	ck_assert_uint_eq(p.tx.cc_qbytes, 0);
	/* Sent: the sender's copies are closed. */
	for (int i = 0; i < nfds; i++)
		ck_assert_msg(fd_is_closed(pp.wr[i]), "fd %d still open", i);

	ck_assert_int_eq(ctlchan_next(&p.rx, &body, &len), 0);
	ck_assert_int_eq(ctlchan_fill(&p.rx), (ssize_t)n);
	ck_assert_int_eq(ctlchan_next(&p.rx, &body, &len), 1);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(body, "hello", 5);
	{
		int got[FDPASS_MAX];

		ck_assert_int_eq(ctlchan_take_fds(&p.rx, got, nfds), 0);
		for (int i = 0; i < nfds; i++)
			check_received(&pp, i, got[i]);
	}
	/* Taken: the frame has none left. */
	ck_assert_int_eq(take1(&p.rx), -1);
	ctlchan_done(&p.rx);
	ck_assert_int_eq(ctlchan_next(&p.rx, &body, &len), 0);
	/* Nothing more to read. */
	ck_assert_int_eq(ctlchan_fill(&p.rx), -1);
	ck_assert_int_eq(errno, EAGAIN);
	pipes_close(&pp);
	pair_close(&p);
}
END_TEST

/* Several messages: each one's descriptors come in order, with it. */
START_TEST(test_ordering)
{
	static const int per[] = { 1, 0, 2, 0, 3 };
	struct pair p;
	struct pipes pp;
	const uint8_t *body;
	size_t len;
	int k = 0;

	pair_open(&p, 1 << 20);
	pipes_open(&pp, 6);
	for (size_t m = 0; m < NELEM(per); m++) {
		uint8_t frame[16];
		char b[2] = { 'm', (char)('0' + m) };
		size_t n = mkframe(frame, b, 2);

		ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, pp.wr + k,
		    per[m], NULL), 0);
		k += per[m];
	}
	k = 0;
	for (size_t m = 0; m < NELEM(per); m++) {
		pump(&p, &body, &len);
		ck_assert_uint_eq(len, 2);
		ck_assert_int_eq(body[1], '0' + (int)m);
		{
			int got[FDPASS_MAX];

			ck_assert_int_eq(ctlchan_take_fds(&p.rx, got, per[m]),
			    0);
			for (int i = 0; i < per[m]; i++, k++)
				check_received(&pp, k, got[i]);
		}
		ctlchan_done(&p.rx);
	}
	ck_assert_int_eq(take1(&p.rx), -1);
	ck_assert(!ctlchan_pending(&p.tx));
	pipes_close(&pp);
	pair_close(&p);
}
END_TEST

/* --- a 3 MiB frame needs many rounds; its descriptor still comes ------- */

START_TEST(test_large_frame)
{
	size_t blen = 3u << 20, n;
	uint8_t *body = malloc(blen), *frame = malloc(4 + blen);
	uint8_t small[16];
	const uint8_t *got;
	size_t len;
	struct pair p;
	struct pipes pp;
	int rounds;

	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_nonnull(frame);
	for (size_t i = 0; i < blen; i++)
		body[i] = (uint8_t)(i * 131 + (i >> 16));
	pair_open(&p, 8u << 20);
	pipes_open(&pp, 2);
	n = mkframe(frame, body, blen);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, &pp.wr[0], 1, "big"), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, small, mkframe(small, "after", 5),
	    &pp.wr[1], 1, "small"), 0);
	free(frame);

	/* The socket takes part of it: the big one's descriptor went. */
	ck_assert_int_eq(ctlchan_flush(&p.tx), 0);
	ck_assert(ctlchan_pending(&p.tx));
	ck_assert_uint_gt(p.tx.cc_qbytes, 9);
	ck_assert_uint_lt(p.tx.cc_qbytes, n + 9);
	ck_assert(fd_is_closed(pp.wr[0]));
	ck_assert(fd_is_open(pp.wr[1]));

	rounds = pump(&p, &got, &len);
	ck_assert_int_gt(rounds, 3);
	ck_assert_uint_eq(len, blen);
	ck_assert(memcmp(got, body, blen) == 0);
	check_received(&pp, 0, take1(&p.rx));
	ctlchan_done(&p.rx);

	pump(&p, &got, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(got, "after", 5);
	check_received(&pp, 1, take1(&p.rx));
	ctlchan_done(&p.rx);
	ck_assert(!ctlchan_pending(&p.tx));
	ck_assert_uint_eq(p.tx.cc_qbytes, 0);
	free(body);
	pipes_close(&pp);
	pair_close(&p);
}
END_TEST

/* --- refusals leave the descriptors with the caller -------------------- */

START_TEST(test_queue_full)
{
	uint8_t frame[128], body[96];
	struct pair p;
	struct pipes pp;
	size_t n;
	int many[FDPASS_MAX + 1];

	memset(body, 'b', sizeof (body));
	pair_open(&p, 100);
	pipes_open(&pp, 1);
	n = mkframe(frame, body, 56);		/* 60 bytes */
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, NULL, 0, NULL), 0);
	n = mkframe(frame, body, 37);		/* 41: one too many */
	errno = 0;
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, pp.wr, 1, "x"), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert(fd_is_open(pp.wr[0]));
	ck_assert_uint_eq(p.tx.cc_qbytes, 60);
	n = mkframe(frame, body, 36);		/* 40: fits exactly */
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, NULL, 0, NULL), 0);
	ck_assert_uint_eq(p.tx.cc_qbytes, 100);
	/* Once sent, there is room again. */
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);
	n = mkframe(frame, body, 90);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, pp.wr, 1, "x"), 0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);
	ck_assert(fd_is_closed(pp.wr[0]));

	/* Bad arguments: EINVAL, nothing taken. */
	for (int i = 0; i <= FDPASS_MAX; i++)
		many[i] = 0;
	errno = 0;
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, 8, many, FDPASS_MAX + 1,
	    NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, 8, many, -1, NULL), -1);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, 0, NULL, 0, NULL), -1);
	ck_assert(fd_is_open(0));
	ck_assert(!ctlchan_pending(&p.tx));
	pipes_close(&pp);
	pair_close(&p);
}
END_TEST

/* --- ctlchan_close() hands unsent descriptors back --------------------- */

struct unsent_log {
	int	calls;
	char	tags[8][CTLCHAN_TAG_MAX];
	int	fds[8][FDPASS_MAX];
	int	nfds[8];
	int	all_open;
};

static void
on_unsent(const char *tag, const uint8_t *frame, size_t len, int *fds,
    int nfds, void *arg)
{
	struct unsent_log *l = arg;

	ck_assert_int_lt(l->calls, 8);
	/* The whole frame comes back, length prefix included. */
	ck_assert_uint_ge(len, 4);
	ck_assert_uint_eq(((size_t)frame[0] << 24 | (size_t)frame[1] << 16 |
	    (size_t)frame[2] << 8 | frame[3]) + 4, len);
	strcpy(l->tags[l->calls], tag);
	memcpy(l->fds[l->calls], fds, sizeof (int) * (size_t)nfds);
	l->nfds[l->calls] = nfds;
	for (int i = 0; i < nfds; i++)
		l->all_open &= fd_is_open(fds[i]);
	l->calls++;
}

START_TEST(test_close_unsent)
{
	static const char longtag[] = "a-very-long-request-id-that-does-not-fit-"
	    "in-the-tag-field-of-a-message";
	struct unsent_log log = { .all_open = 1 };
	uint8_t frame[16];
	struct pair p;
	struct pipes pp;
	size_t n;
	int before;

	before = count_fds();
	pair_open(&p, 1 << 20);
	pipes_open(&pp, 4);
	n = mkframe(frame, "m", 1);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, &pp.wr[0], 1, "req-1"),
	    0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, NULL, 0, NULL), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, &pp.wr[1], 2, NULL), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, n, &pp.wr[3], 1, longtag),
	    0);
	ctlchan_close(&p.tx, on_unsent, &log);

	ck_assert_int_eq(log.calls, 3);
	ck_assert(log.all_open);
	ck_assert_str_eq(log.tags[0], "req-1");
	ck_assert_int_eq(log.nfds[0], 1);
	ck_assert_int_eq(log.fds[0][0], pp.wr[0]);
	ck_assert_str_eq(log.tags[1], "");
	ck_assert_int_eq(log.nfds[1], 2);
	ck_assert_int_eq(log.fds[1][0], pp.wr[1]);
	ck_assert_int_eq(log.fds[1][1], pp.wr[2]);
	ck_assert_uint_eq(strlen(log.tags[2]), CTLCHAN_TAG_MAX - 1);
	ck_assert(strncmp(log.tags[2], longtag, CTLCHAN_TAG_MAX - 1) == 0);
	ck_assert_int_eq(log.fds[2][0], pp.wr[3]);
	/* The socket is closed; the handed-back descriptors are not. */
	ck_assert(fd_is_closed(p.s[0]));
	ck_assert_int_eq(p.tx.cc_fd, -1);
	ck_assert(!ctlchan_pending(&p.tx));
	for (int i = 0; i < 4; i++) {
		ck_assert(fd_is_open(pp.wr[i]));
		close(pp.wr[i]);
	}
	pipes_close(&pp);
	ctlchan_close(&p.rx, NULL, NULL);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Without a callback, ctlchan_close() closes them itself. */
START_TEST(test_close_no_callback)
{
	uint8_t frame[16];
	struct pair p;
	struct pipes pp;
	int before = count_fds();

	pair_open(&p, 1 << 20);
	pipes_open(&pp, 2);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "m", 1),
	    pp.wr, 2, "t"), 0);
	ctlchan_close(&p.tx, NULL, NULL);
	ck_assert(fd_is_closed(pp.wr[0]));
	ck_assert(fd_is_closed(pp.wr[1]));
	pipes_close(&pp);
	ctlchan_close(&p.rx, NULL, NULL);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/*
 * A partly sent message's descriptors went with its first bytes: closing
 * hands back only those of the messages behind it.
 */
START_TEST(test_close_partly_sent)
{
	size_t blen = 2u << 20;
	uint8_t *frame = calloc(1, 4 + blen), small[16];
	struct unsent_log log = { .all_open = 1 };
	struct pair p;
	struct pipes pp;
	int before = count_fds();

	ck_assert_ptr_nonnull(frame);
	pair_open(&p, 8u << 20);
	pipes_open(&pp, 2);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, frame + 4,
	    blen), &pp.wr[0], 1, "first"), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, small, mkframe(small, "s", 1),
	    &pp.wr[1], 1, "second"), 0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 0);
	ck_assert(fd_is_closed(pp.wr[0]));
	ctlchan_close(&p.tx, on_unsent, &log);
	ck_assert_int_eq(log.calls, 1);
	ck_assert_str_eq(log.tags[0], "second");
	ck_assert_int_eq(log.fds[0][0], pp.wr[1]);
	ck_assert(log.all_open);
	close(pp.wr[1]);
	pipes_close(&pp);
	ctlchan_close(&p.rx, NULL, NULL);	/* closes the fd it received */
	ck_assert_int_eq(count_fds(), before);
	free(frame);
}
END_TEST

/* A peer that went away: flush fails and the descriptor comes back. */
START_TEST(test_peer_gone)
{
	struct unsent_log log = { .all_open = 1 };
	uint8_t frame[16];
	struct pair p;
	struct pipes pp;

	pair_open(&p, 1 << 20);
	pipes_open(&pp, 1);
	ctlchan_close(&p.rx, NULL, NULL);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "m", 1),
	    pp.wr, 1, "gone"), 0);
	errno = 0;
	ck_assert_int_eq(ctlchan_flush(&p.tx), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert(fd_is_open(pp.wr[0]));
	ctlchan_close(&p.tx, on_unsent, &log);
	ck_assert_int_eq(log.calls, 1);
	ck_assert_str_eq(log.tags[0], "gone");
	close(pp.wr[0]);
	pipes_close(&pp);
}
END_TEST

/* Received descriptors no message took are closed with the channel. */
START_TEST(test_close_untaken)
{
	uint8_t frame[16];
	struct pair p;
	struct pipes pp;
	int got[2];

	pair_open(&p, 1 << 20);
	pipes_open(&pp, 2);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "m", 1),
	    pp.wr, 2, NULL), 0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);
	ck_assert_int_gt(ctlchan_fill(&p.rx), 0);
	ck_assert_int_eq(p.rx.cc_nrfds, 2);
	ck_assert_int_eq(p.rx.cc_nrg, 1);
	got[0] = p.rx.cc_rg[p.rx.cc_rghead].rg_fds[0];
	got[1] = p.rx.cc_rg[p.rx.cc_rghead].rg_fds[1];
	ck_assert(fd_is_open(got[0]) && fd_is_open(got[1]));
	ctlchan_close(&p.rx, NULL, NULL);
	ck_assert(fd_is_closed(got[0]));
	ck_assert(fd_is_closed(got[1]));
	ck_assert_int_eq(take1(&p.rx), -1);
	pipes_close(&pp);
	ctlchan_close(&p.tx, NULL, NULL);
}
END_TEST

/* --- framing on the receiving side ------------------------------------- */

START_TEST(test_frame_limits)
{
	static const struct {
		const char	*hdr;
		int		want;
	} rows[] = {
		{ "\x01\x00\x00\x01", -1 },	/* PROTO_FRAME_MAX + 1 */
		{ "\xff\xff\xff\xff", -1 },
		{ "\x00\x00\x00\x00", -1 },	/* an empty frame */
		{ "\x01\x00\x00\x00", 0 },	/* PROTO_FRAME_MAX: wait */
		{ "\x00\x00\x00\x05", 0 },
	};
	const uint8_t *body;
	size_t len;

	for (size_t i = 0; i < NELEM(rows); i++) {
		struct pair p;

		pair_open(&p, 1 << 20);
		ck_assert_int_eq(write(p.s[0], rows[i].hdr, 4), 4);
		ck_assert_int_eq(ctlchan_fill(&p.rx), 4);
		ck_assert_msg(ctlchan_next(&p.rx, &body, &len) == rows[i].want,
		    "row %zu", i);
		pair_close(&p);
	}
	ck_assert_uint_eq(PROTO_FRAME_MAX, 0x01000000u);
}
END_TEST

/* Bytes arriving one at a time, then EOF. */
START_TEST(test_bytewise_then_eof)
{
	static const uint8_t bytes[] = "\x00\x00\x00\x03" "abc" "\x00\x00\x00\x01" "z";
	const uint8_t *body;
	size_t len;
	struct pair p;
	int frames = 0;

	pair_open(&p, 1 << 20);
	for (size_t i = 0; i < sizeof (bytes) - 1; i++) {
		int r;

		ck_assert_int_eq(write(p.s[0], bytes + i, 1), 1);
		ck_assert_int_eq(ctlchan_fill(&p.rx), 1);
		r = ctlchan_next(&p.rx, &body, &len);
		if (i == 6 || i == 11) {
			ck_assert_int_eq(r, 1);
			ck_assert_mem_eq(body, i == 6 ? "abc" : "z", len);
			ctlchan_done(&p.rx);
			frames++;
		} else {
			ck_assert_msg(r == 0, "byte %zu", i);
		}
	}
	ck_assert_int_eq(frames, 2);
	ctlchan_close(&p.tx, NULL, NULL);
	ck_assert_int_eq(ctlchan_fill(&p.rx), 0);
	ctlchan_close(&p.rx, NULL, NULL);
}
END_TEST

/* --- too many descriptors --------------------------------------------- */

/*
 * A message whose descriptors the kernel dropped (MSG_CTRUNC: more than
 * FDPASS_MAX came) is known to have lost them, once; its bytes arrive and
 * nothing leaks.  (fdpass_recv() itself: test_fdpass.c.)
 */
START_TEST(test_ctrunc)
{
	const uint8_t *body;
	size_t len;
	struct pair p;
	int fds[1], before;

	pair_open(&p, 1 << 20);
	before = count_fds();
	raw_send_fds(p.s[0], 40, "\0\0\0\1x", 5);
	ck_assert_int_eq(ctlchan_fill(&p.rx), 5);
	ck_assert_int_eq(p.rx.cc_nrfds, 0);
	ck_assert_int_eq(p.rx.cc_nrg, 1);
	ck_assert_int_eq(ctlchan_next(&p.rx, &body, &len), 1);
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 1), 1);
	ck_assert_int_eq(fds[0], -1);
	/* Only once: asked again, the frame has none. */
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 1), -1);
	ctlchan_done(&p.rx);
	ck_assert_int_eq(p.rx.cc_nrg, 0);
	ck_assert_int_eq(count_fds(), before);
	pair_close(&p);
}
END_TEST

/*
 * More received descriptors than CTLCHAN_RFDS_MAX, or more reads with
 * descriptors than CTLCHAN_RGROUPS_MAX, waiting for their frames: EPROTO.
 */
START_TEST(test_rfds_overflow)
{
	static const struct {
		int	per, sends, held_fds, held_groups;
	} rows[] = {
		{ FDPASS_MAX, CTLCHAN_RFDS_MAX / FDPASS_MAX + 1,
		    CTLCHAN_RFDS_MAX, CTLCHAN_RFDS_MAX / FDPASS_MAX },
		{ 1, CTLCHAN_RGROUPS_MAX + 1, CTLCHAN_RGROUPS_MAX,
		    CTLCHAN_RGROUPS_MAX },
	};
	struct pair p;
	int before = count_fds(), fds = 0, groups = 0;
	ssize_t r;

	pair_open(&p, 1 << 20);
	for (int i = 0; i < rows[_i].sends; i++)
		raw_send_fds(p.s[0], rows[_i].per, "\0\0\0\1x", 5);
	while ((r = ctlchan_fill(&p.rx)) > 0) {
		ck_assert_int_le(p.rx.cc_nrfds, CTLCHAN_RFDS_MAX);
		ck_assert_int_le(p.rx.cc_nrg, CTLCHAN_RGROUPS_MAX);
		fds = p.rx.cc_nrfds;
		groups = p.rx.cc_nrg;
	}
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(fds, rows[_i].held_fds);
	ck_assert_int_eq(groups, rows[_i].held_groups);
	pair_close(&p);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* Fill until a whole frame is in; the frame's first byte is its tag. */
static int
next_frame(struct pair *p, const uint8_t **body, size_t *len)
{
	int r;

	while ((r = ctlchan_next(&p->rx, body, len)) == 0)
		ck_assert_int_gt(ctlchan_fill(&p->rx), 0);
	ck_assert_int_eq(r, 1);
	return ((*body)[0]);
}

/*
 * The receiver is out of descriptors when the first of two large
 * messages arrives: the kernel drops that one's pair.  The read that
 * completes it brings the second message's pair, and those belong to the
 * second message, not to the first.  (Counting descriptors in a FIFO got
 * this wrong: the first message took the second's sockets.)
 */
START_TEST(test_lost_then_next)
{
	size_t blen = 100 * 1024;
	uint8_t *f1 = malloc(4 + blen), *f2 = malloc(4 + blen), *body;
	const uint8_t *got;
	struct rlimit rl, low;
	struct pair p;
	struct pipes pp;
	size_t len;
	int fds[2], big = 1 << 20, filler[256], nf = 0, t, before;

	ck_assert_ptr_nonnull(f1);
	ck_assert_ptr_nonnull(f2);
	ck_assert_ptr_nonnull(body = malloc(blen));
	before = count_fds();
	pair_open(&p, 8u << 20);
	ck_assert_int_eq(setsockopt(p.s[0], SOL_SOCKET, SO_SNDBUF, &big,
	    sizeof (big)), 0);
	pipes_open(&pp, 4);
	memset(body, '1', blen);
	mkframe(f1, body, blen);
	memset(body, '2', blen);
	mkframe(f2, body, blen);
	ck_assert_int_eq(ctlchan_send(&p.tx, f1, 4 + blen, &pp.wr[0], 2, "1"),
	    0);
	ck_assert_int_eq(ctlchan_send(&p.tx, f2, 4 + blen, &pp.wr[2], 2, "2"),
	    0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);

	/* One descriptor free: the first pair cannot be received. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = 128;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while ((t = open("/dev/null", O_RDONLY)) >= 0)
		filler[nf++] = t;
	(void) close(filler[--nf]);
	ck_assert_int_gt(ctlchan_fill(&p.rx), 0);
	ck_assert_int_eq(p.rx.cc_nrg, 1);
	ck_assert_int_eq(p.rx.cc_rg[p.rx.cc_rghead].rg_lost, 1);
	while (nf > 0)
		(void) close(filler[--nf]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	ck_assert_int_eq(next_frame(&p, &got, &len), '1');
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 2), 1);
	ck_assert_int_eq(fds[0], -1);
	ck_assert_int_eq(fds[1], -1);
	ctlchan_done(&p.rx);
	ck_assert_int_eq(next_frame(&p, &got, &len), '2');
	ck_assert_uint_eq(len, blen);
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 2), 0);
	check_received(&pp, 2, fds[0]);
	check_received(&pp, 3, fds[1]);
	ctlchan_done(&p.rx);
	ck_assert_int_eq(p.rx.cc_nrg, 0);
	pipes_close(&pp);
	pair_close(&p);
	ck_assert_int_eq(count_fds(), before);
	free(f1);
	free(f2);
	free(body);
}
END_TEST

/*
 * Descriptors that came with a frame that does not take them (a message
 * type that has none, or one the receiver skipped) are closed when the
 * frame is done, and the next frame's are its own.  A frame that asks for
 * a different number than came gets -1 and they are closed.
 */
START_TEST(test_untaken_and_short)
{
	uint8_t frame[16];
	const uint8_t *got;
	struct pair p;
	struct pipes pp;
	size_t len;
	int fds[3], before;

	before = count_fds();
	pair_open(&p, 1 << 20);
	pipes_open(&pp, 4);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "a", 1),
	    &pp.wr[0], 1, NULL), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "b", 1),
	    &pp.wr[1], 1, NULL), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "c", 1),
	    &pp.wr[2], 2, NULL), 0);
	ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame, "d", 1),
	    NULL, 0, NULL), 0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);

	ck_assert_int_eq(next_frame(&p, &got, &len), 'a');
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 0), 0);
	ctlchan_done(&p.rx);			/* 'a''s one is closed */
	ck_assert_int_eq(next_frame(&p, &got, &len), 'b');
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 1), 0);
	check_received(&pp, 1, fds[0]);
	ctlchan_done(&p.rx);
	ck_assert_int_eq(next_frame(&p, &got, &len), 'c');
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 3), -1);
	ck_assert_int_eq(p.rx.cc_nrfds, 0);	/* the two are closed */
	ctlchan_done(&p.rx);
	ck_assert_int_eq(next_frame(&p, &got, &len), 'd');
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 1), -1);
	ctlchan_done(&p.rx);
	/* And with no frame handed out, there is nothing to take. */
	ck_assert_int_eq(ctlchan_take_fds(&p.rx, fds, 1), -1);
	pipes_close(&pp);
	pair_close(&p);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/* --- the read pump ------------------------------------------------------ */

/* What a pump handler does with each frame: by the frame's first byte. */
struct pumpseen {
	char		seen[16];	/* first bytes of the frames handed out */
	int		n;
	char		stop, refuse, close;	/* at this frame: stop, ... */
	struct ctlchan	*ch;
};

static int
pump_handler(void *arg, const uint8_t *body, size_t len)
{
	struct pumpseen *ps = arg;
	char c = (char)body[0];

	ck_assert_uint_gt(len, 0);
	ck_assert_int_lt(ps->n, (int)sizeof (ps->seen) - 1);
	ps->seen[ps->n++] = c;
	if (c == ps->close) {
		ctlchan_close(ps->ch, NULL, NULL);
		return (CTLCHAN_NEXT);
	}
	if (c == ps->refuse)
		return (CTLCHAN_REFUSE);
	return (c == ps->stop ? CTLCHAN_STOP : CTLCHAN_NEXT);
}

/*
 * What the peer wrote, and whether it then closed its end; what the
 * handler does; what the pump hands out and says.
 */
START_TEST(test_pump_results)
{
	static const struct {
		const char	*bytes;
		size_t		n;
		int		eof;
		char		stop, refuse, close;
		const char	*seen;
		int		want;
	} rows[] = {
		{ "", 0, 0, 0, 0, 0, "", CTLCHAN_AGAIN },
		{ "", 0, 1, 0, 0, 0, "", CTLCHAN_END },
		{ "\0\0\0\1a" "\0\0\0\2bb", 11, 0, 0, 0, 0, "ab", CTLCHAN_AGAIN },
		{ "\0\0\0\1a" "\0\0\0\2bb", 11, 1, 0, 0, 0, "ab", CTLCHAN_END },
		/* A frame cut short by the end: the whole ones before it. */
		{ "\0\0\0\1a" "\0\0\0\5bb", 11, 1, 0, 0, 0, "a", CTLCHAN_END },
		{ "\0\0\0\1a" "\0\0\0\5bb", 11, 0, 0, 0, 0, "a", CTLCHAN_AGAIN },
		/* Framing the peer broke: over PROTO_FRAME_MAX, or empty. */
		{ "\x01\0\0\1", 4, 0, 0, 0, 0, "", CTLCHAN_BAD },
		{ "\0\0\0\1a" "\0\0\0\0", 9, 1, 0, 0, 0, "a", CTLCHAN_BAD },
		/* The handler stops, refuses, closes. */
		{ "\0\0\0\1a" "\0\0\0\1b" "\0\0\0\1c", 15, 1, 'a', 0, 0, "a",
		    CTLCHAN_AGAIN },
		{ "\0\0\0\1a" "\0\0\0\1b" "\0\0\0\1c", 15, 1, 0, 'b', 0, "ab",
		    CTLCHAN_BAD },
		{ "\0\0\0\1a" "\0\0\0\1b" "\0\0\0\1c", 15, 1, 0, 0, 'b', "ab",
		    CTLCHAN_CLOSED },
	};
	struct pumpseen ps;
	struct pair p;
	int before = count_fds();

	pair_open(&p, 1 << 20);
	memset(&ps, 0, sizeof (ps));
	ps.stop = rows[_i].stop;
	ps.refuse = rows[_i].refuse;
	ps.close = rows[_i].close;
	ps.ch = &p.rx;
	if (rows[_i].n > 0)
		ck_assert_int_eq(write(p.s[0], rows[_i].bytes, rows[_i].n),
		    (ssize_t)rows[_i].n);
	if (rows[_i].eof)
		ck_assert_int_eq(shutdown(p.s[0], SHUT_WR), 0);
	ck_assert_int_eq(ctlchan_pump(&p.rx, pump_handler, &ps, 0),
	    rows[_i].want);
	ck_assert_str_eq(ps.seen, rows[_i].seen);
	pair_close(&p);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/*
 * Frames behind a stop wait for the next call, which hands them out
 * before it reads; a read that fails is an error, with errno.
 */
START_TEST(test_pump_resume_and_error)
{
	static const char bytes[] = "\0\0\0\1a" "\0\0\0\1b" "\0\0\0\1c";
	struct pumpseen ps;
	struct pair p;
	int pfd[2];

	pair_open(&p, 1 << 20);
	memset(&ps, 0, sizeof (ps));
	ps.stop = 'b';
	ck_assert_int_eq(write(p.s[0], bytes, sizeof (bytes) - 1), 15);
	ck_assert_int_eq(ctlchan_pump(&p.rx, pump_handler, &ps, 0),
	    CTLCHAN_AGAIN);
	ck_assert_str_eq(ps.seen, "ab");
	/* The last frame is handed out without a read: the socket is empty. */
	ck_assert_int_eq(ctlchan_pump(&p.rx, pump_handler, &ps, 0),
	    CTLCHAN_AGAIN);
	ck_assert_str_eq(ps.seen, "abc");
	pair_close(&p);

	/* Not a socket: recvmsg() fails. */
	ck_assert_int_eq(pipe(pfd), 0);
	ctlchan_init(&p.rx, pfd[0], 1 << 20);
	errno = 0;
	ck_assert_int_eq(ctlchan_pump(&p.rx, pump_handler, &ps, 0),
	    CTLCHAN_ERROR);
	ck_assert_int_eq(errno, ENOTSOCK);
	ctlchan_close(&p.rx, NULL, NULL);
	close(pfd[1]);
}
END_TEST

/*
 * maxreads bounds the reads of one call.  Each message with descriptors
 * is a read of its own (the kernel ends a read at another sendmsg()'s
 * descriptors), so three of them take three reads.
 */
START_TEST(test_pump_maxreads)
{
	static const struct {
		int	maxreads;
		int	frames;		/* handed out by this call */
	} calls[] = { { 1, 1 }, { 1, 1 }, { 0, 1 }, { 0, 0 } };
	uint8_t frame[8];
	struct pumpseen ps;
	struct pipes pp;
	struct pair p;
	int before = count_fds();

	pair_open(&p, 1 << 20);
	pipes_open(&pp, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ctlchan_send(&p.tx, frame, mkframe(frame,
		    i == 0 ? "a" : i == 1 ? "b" : "c", 1), &pp.wr[i], 1, NULL),
		    0);
	ck_assert_int_eq(ctlchan_flush(&p.tx), 1);
	memset(&ps, 0, sizeof (ps));
	for (size_t i = 0; i < NELEM(calls); i++) {
		int had = ps.n;

		ck_assert_int_eq(ctlchan_pump(&p.rx, pump_handler, &ps,
		    calls[i].maxreads), CTLCHAN_AGAIN);
		ck_assert_msg(ps.n - had == calls[i].frames, "call %zu", i);
	}
	ck_assert_str_eq(ps.seen, "abc");
	/* Each frame's descriptor was closed with it: nobody took them. */
	pipes_close(&pp);
	pair_close(&p);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

Suite *
ctlchan_suite(void)
{
	Suite *s = suite_create("ctlchan");
	TCase *tc = tcase_create("transfer");
	TCase *to = tcase_create("ownership");
	TCase *tf = tcase_create("framing");
	TCase *tp = tcase_create("pump");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_send_fds, 0, 4);
	tcase_add_test(tc, test_ordering);
	tcase_add_test(tc, test_large_frame);
	suite_add_tcase(s, tc);

	tcase_add_test(to, test_queue_full);
	tcase_add_test(to, test_close_unsent);
	tcase_add_test(to, test_close_no_callback);
	tcase_add_test(to, test_close_partly_sent);
	tcase_add_test(to, test_peer_gone);
	tcase_add_test(to, test_close_untaken);
	suite_add_tcase(s, to);

	tcase_add_test(tf, test_frame_limits);
	tcase_add_test(tf, test_bytewise_then_eof);
	tcase_add_test(tf, test_ctrunc);
	tcase_add_loop_test(tf, test_rfds_overflow, 0, 2);
	tcase_add_test(tf, test_lost_then_next);
	tcase_add_test(tf, test_untaken_and_short);
	suite_add_tcase(s, tf);

	tcase_add_loop_test(tp, test_pump_results, 0, 11);
	tcase_add_test(tp, test_pump_resume_and_error);
	tcase_add_test(tp, test_pump_maxreads);
	suite_add_tcase(s, tp);
	return (s);
}
