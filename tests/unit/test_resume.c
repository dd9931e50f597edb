/*
 * test_resume.c: the sequencing layer (shared/client/resume.c): numbering,
 * acks, trimming, replay from N, bad N, a full buffer, tables of good and
 * bad.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "mlproto.h"
#include "resume.h"
#include "suites.h"

/* Send k messages "m1".."mk" of 10 bytes each on a sequenced stream. */
static void
send_n(struct resume *r, int k)
{
	char err[100], b[11];

	for (int i = 0; i < k; i++) {
		snprintf(b, sizeof (b), "m%-9llu",
		    (unsigned long long)r->sent + 1);
		ck_assert_int_eq(resume_sent(r, i % 2 == 0, (uint8_t *)b, 10,
		    err, sizeof (err)), 0);
	}
}

/* The sequence number of the oldest message kept; 0: none. */
static uint64_t
first_seq(const struct resume *r)
{
	size_t k = 0, n;
	uint64_t seq;
	bool text;

	return (resume_replay_next(r, &k, &text, &n, &seq) != NULL ? seq : 0);
}

START_TEST(test_off_until_linkup)
{
	struct resume r;
	char err[100];

	resume_init(&r, 0);
	ck_assert_uint_eq(r.window, RESUME_DEFAULT_WINDOW);
	ck_assert_int_eq(resume_sent(&r, true, BYTES("x"), err, sizeof (err)),
	    0);
	ck_assert_uint_eq(r.sent, 0);
	ck_assert(resume_received(&r, 5));
	ck_assert_uint_eq(r.recv, 0);
	ck_assert(!resume_ack_due(&r, 99999));
	/* A linkup without resume: an original peer, still off. */
	ck_assert_int_eq(resume_linkup(&r, false, NULL), 0);
	ck_assert_int_eq(r.phase, RESUME_OFF);
	ck_assert_int_eq(resume_linkup(&r, true, NULL), 0);
	ck_assert_int_eq(r.phase, RESUME_LIVE);
	send_n(&r, 3);
	ck_assert_uint_eq(r.sent, 3);
	ck_assert_uint_eq(r.bytes, 30);
	ck_assert_uint_eq(first_seq(&r), 1);
	resume_fini(&r);
}
END_TEST

/* Acks: sent, then ack N: what is left in the buffer. */
static const struct {
	int		sent;
	uint64_t	ack[3];		/* applied in order, 0 ends */
	int		ok;		/* of the last */
	uint64_t	first;		/* first left, 0: none */
	size_t		bytes;
} acks[] = {
	{ 5, { 2 }, 0, 3, 30 },
	{ 5, { 5 }, 0, 0, 0 },
	{ 5, { 3, 1 }, 0, 4, 20 },	/* a stale ack trims nothing */
	{ 5, { 3, 3 }, 0, 4, 20 },
	{ 5, { 6 }, -1, 1, 50 },		/* never sent */
	{ 0, { 1 }, -1, 0, 0 },
	{ 5, { 2, 4, 5 }, 0, 0, 0 },
};

START_TEST(test_ack)
{
	struct resume r;
	char err[100] = "";
	int rc = 0;

	resume_init(&r, 1000);
	resume_linkup(&r, true, NULL);
	send_n(&r, acks[_i].sent);
	for (int k = 0; k < 3 && acks[_i].ack[k] != 0; k++)
		rc = resume_on_ack(&r, acks[_i].ack[k], err, sizeof (err));
	ck_assert_int_eq(rc, acks[_i].ok);
	if (rc != 0)
		ck_assert(strstr(err, "only") != NULL);
	ck_assert_uint_eq(first_seq(&r), acks[_i].first);
	ck_assert_uint_eq(r.bytes, acks[_i].bytes);
	resume_fini(&r);
}
END_TEST

/* resume_on_ctl: each control applied, a bad one refused, 5 sent. */
static const struct {
	enum resume_ctl	ctl;
	uint64_t	n;
	int		ok;
	const char	*why;
	uint64_t	first;		/* first left to replay, 0: none */
	size_t		window;		/* the peer's, told */
	size_t		peer_window;	/* then noted */
} ctls[] = {
	{ RESUME_CTL_ACK, 2, 0, NULL, 3, 0, 0 },
	{ RESUME_CTL_ACK, 6, -1, "only 5 were sent", 1, 0, 0 },
	{ RESUME_CTL_RESUME, 3, 0, NULL, 4, 0, 0 },
	{ RESUME_CTL_RESUME, 5, 0, NULL, 0, 0, 0 },
	{ RESUME_CTL_RESUME, 7, -1, "only 5 were sent", 1, 0, 0 },
	{ RESUME_CTL_BAD, 1, -1, "malformed", 1, 0, 0 },
	{ RESUME_CTL_NONE, 1, -1, "malformed", 1, 0, 0 },
	{ RESUME_CTL_ACK, 0, 0, NULL, 1, 1u << 20, 1u << 20 },
	{ RESUME_CTL_RESUME, 2, 0, NULL, 3, 65536, 65536 },
	{ RESUME_CTL_BAD, 1, -1, "malformed", 1, 65536, 0 },
};

START_TEST(test_on_ctl)
{
	struct resume r;
	char err[200] = "";
	int rc;

	resume_init(&r, 1000);
	resume_linkup(&r, true, NULL);
	send_n(&r, 5);
	rc = resume_on_ctl(&r, ctls[_i].ctl, ctls[_i].n, ctls[_i].window,
	    NULL, err, sizeof (err));
	ck_assert_int_eq(rc, ctls[_i].ok);
	if (ctls[_i].why != NULL)
		ck_assert_msg(strstr(err, ctls[_i].why) != NULL, "%s", err);
	ck_assert_uint_eq(first_seq(&r), ctls[_i].first);
	ck_assert_uint_eq(r.peer_window, ctls[_i].peer_window);
	resume_fini(&r);
}
END_TEST

/* A second linkup, sent/acked, then the peer's resume from N. */
static const struct {
	int		sent;
	uint64_t	acked;
	uint64_t	n;
	int		ok;
	const char	*why;
	int		replay;		/* how many replayed */
} resumes[] = {
	{ 10, 0, 0, 0, NULL, 10 },
	{ 10, 0, 4, 0, NULL, 6 },
	{ 10, 4, 4, 0, NULL, 6 },
	{ 10, 4, 7, 0, NULL, 3 },
	{ 10, 4, 10, 0, NULL, 0 },
	{ 10, 4, 3, -1, "already acknowledged", 6 },	/* trimmed */
	{ 10, 0, 11, -1, "only 10 were sent", 10 },	/* never sent */
	{ 0, 0, 0, 0, NULL, 0 },
};

START_TEST(test_resume_from)
{
	struct resume r;
	char err[100] = "";
	int k = 0;
	const uint8_t *d;
	size_t dn;
	uint64_t seq;
	bool text;

	resume_init(&r, 1000);
	ck_assert_int_eq(resume_linkup(&r, true, NULL), 0);
	send_n(&r, resumes[_i].sent);
	if (resumes[_i].acked != 0)
		ck_assert_int_eq(resume_on_ack(&r, resumes[_i].acked, err,
		    sizeof (err)), 0);
	ck_assert_int_eq(resume_linkup(&r, true, NULL), 1);
	ck_assert(resume_holding(&r));
	ck_assert_int_eq(resume_on_resume(&r, resumes[_i].n, NULL, err,
	    sizeof (err)), resumes[_i].ok);
	if (resumes[_i].ok != 0) {
		ck_assert(strstr(err, "cannot resume") != NULL);
		ck_assert(strstr(err, resumes[_i].why) != NULL);
	} else {
		ck_assert(!resume_holding(&r));
	}
	for (size_t it = 0; (d = resume_replay_next(&r, &it, &text, &dn,
	    &seq)) != NULL; k++) {
		char b[11];

		snprintf(b, sizeof (b), "m%-9llu", (unsigned long long)seq);
		ck_assert_uint_eq(dn, 10);
		ck_assert(memcmp(d, b, 10) == 0);
		ck_assert_int_eq(text, (seq - 1) % 2 == 0);
		if (resumes[_i].ok == 0)
			ck_assert_uint_eq(seq, resumes[_i].n + 1 + k);
	}
	ck_assert_int_eq(k, resumes[_i].replay);
	resume_fini(&r);
}
END_TEST

/* While awaiting the peer's resume its messages are dropped, uncounted. */
START_TEST(test_await_drops)
{
	struct resume r;
	char err[100], *m;

	resume_init(&r, 1000);
	resume_linkup(&r, true, NULL);
	ck_assert(resume_received(&r, 10));
	ck_assert(resume_received(&r, 10));
	ck_assert_int_eq(resume_linkup(&r, true, NULL), 1);
	m = resume_resume_msg(&r, 0);
	ck_assert_str_eq(m, "mlogin:{\"type\":\"resume\",\"recv\":2,"
	    "\"window\":1000}");
	free(m);
	ck_assert(!resume_received(&r, 10));
	ck_assert_uint_eq(r.recv, 2);
	ck_assert_int_eq(resume_on_resume(&r, 0, NULL, err, sizeof (err)),
	    0);
	ck_assert(resume_received(&r, 10));
	ck_assert_uint_eq(r.recv, 3);
	resume_fini(&r);
}
END_TEST

/*
 * Links named: after the first linkup and 10 messages sent, a run of our
 * linkups ('L', of a link or of none) and the peer's resumes ('R', naming
 * a link or none, from n), each resume taken (0: the caller replays),
 * ignored (1) or refused (-1); then all that would have been replayed.
 * Rows 4 and 5 are the race of session 23: both sides broken within
 * milliseconds, the peer saw a linkup whose other side was already dead,
 * and both of its resumes reached us on the next link; row 3, two resumes
 * for one link.  A resume taken twice replayed twice: whole messages
 * repeated, then lost (the counts no longer matched).
 */
#define	LINK33	"0123456789abcdef0123456789abcdef0"
struct link_step {
	char		op;		/* 'L', 'R'; 0 ends */
	const char	*link;		/* NULL: none named */
	uint64_t	n;		/* R: the peer holds 1..n */
	int		rc;		/* R: resume_on_resume's */
};
static const struct {
	struct link_step steps[6];
	int		replayed;	/* over all the resumes taken */
	bool		holding;	/* still awaiting a resume, after */
	const char	*msg;		/* the end of our last resume */
} links[] = {
	{ { { 'L', "a" }, { 'R', "a", 4, 0 } }, 6, false,
	    "\"window\":1000,\"link\":\"a\"}" },
	{ { { 'L', "a" }, { 'R', "b", 4, 1 }, { 'R', "a", 4, 0 } }, 6, false,
	    NULL },
	{ { { 'L', "a" }, { 'R', "a", 4, 0 }, { 'R', "a", 4, 1 } }, 6, false,
	    NULL },
	{ { { 'L', "a" }, { 'L', "b" }, { 'R', "a", 2, 1 },
	    { 'R', "b", 4, 0 } }, 6, false, "\"link\":\"b\"}" },
	{ { { 'L', "a" }, { 'L', "b" }, { 'R', "b", 7, 0 },
	    { 'R', "a", 2, 1 }, { 'R', "b", 2, 1 } }, 3, false, NULL },
	{ { { 'L', "a" }, { 'R', "b", 4, 1 } }, 0, true, NULL },
	/* ignored: not even checked (never sent, or trimmed) */
	{ { { 'L', "a" }, { 'R', "b", 11, 1 }, { 'R', "a", 10, 0 } }, 0,
	    false, NULL },
	{ { { 'L', "a" }, { 'R', "a", 6, 0 }, { 'R', "b", 2, 1 } }, 4,
	    false, NULL },
	/* each linkup takes its own resume: a, then b (or a again) */
	{ { { 'L', "a" }, { 'R', "a", 4, 0 }, { 'L', "b" },
	    { 'R', "b", 4, 0 } }, 12, false, NULL },
	{ { { 'L', "a" }, { 'R', "a", 4, 0 }, { 'L', "a" },
	    { 'R', "a", 7, 0 }, { 'R', "a", 7, 1 } }, 9, false, NULL },
	/* a peer naming none (or ""): taken, each time, as before links */
	{ { { 'L', "a" }, { 'R', NULL, 4, 0 }, { 'R', NULL, 4, 0 } }, 12,
	    false, NULL },
	/* a reflector naming none (or "", or too long a name): the same */
	{ { { 'L', NULL }, { 'R', "a", 4, 0 }, { 'R', "b", 4, 0 } }, 12,
	    false, "\"window\":1000}" },
	{ { { 'L', "" }, { 'R', "a", 4, 0 } }, 6, false,
	    "\"window\":1000}" },
	{ { { 'L', LINK33 }, { 'R', "a", 4, 0 } }, 6, false,
	    "\"window\":1000}" },
	{ { { 'L', NULL }, { 'L', "a" }, { 'R', NULL, 4, 0 } }, 6, false,
	    "\"link\":\"a\"}" },
	/* a resume of an old link first, then a bad one of ours: refused */
	{ { { 'L', "a" }, { 'R', "c", 4, 1 }, { 'R', "a", 11, -1 } }, 0, true,
	    NULL },
};

START_TEST(test_links)
{
	struct resume r;
	char err[200], *m = NULL;
	int replayed = 0;

	resume_init(&r, 1000);
	ck_assert_int_eq(resume_linkup(&r, true, "first"), 0);
	send_n(&r, 10);
	for (const struct link_step *st = links[_i].steps; st->op != 0;
	    st++) {
		size_t it = 0, dn;
		bool text;

		if (st->op == 'L') {
			ck_assert_int_eq(resume_linkup(&r, true, st->link), 1);
			free(m);
			m = resume_resume_msg(&r, 0);
			ck_assert_ptr_nonnull(m);
			continue;
		}
		ck_assert_int_eq(resume_on_resume(&r, st->n, st->link, err,
		    sizeof (err)), st->rc);
		if (st->rc != 0)
			continue;
		while (resume_replay_next(&r, &it, &text, &dn, NULL) != NULL)
			replayed++;
	}
	if (links[_i].msg != NULL) {
		size_t ml = strlen(m), el = strlen(links[_i].msg);

		ck_assert_msg(ml >= el && strcmp(m + ml - el,
		    links[_i].msg) == 0, "%s", m);
	}
	free(m);
	/* An ack names no link. */
	m = resume_ack_msg(&r, 0);
	ck_assert(strstr(m, "link") == NULL);
	free(m);
	ck_assert_int_eq(replayed, links[_i].replayed);
	ck_assert_int_eq(resume_holding(&r), links[_i].holding);
	resume_fini(&r);
}
END_TEST

/*
 * When is an ack due: a sixteenth of the peer's window received (16K
 * while it is unknown, and at least), or 2 s.  One ack per 16K message,
 * whatever the windows, halved the throughput: with the peer's 4 MiB
 * known, 256K.
 */
static const struct {
	size_t		peer_window;	/* told in its ack; 0: never */
	size_t		got[3];		/* message sizes received */
	uint64_t	now;
	bool		due;
} dues[] = {
	{ 0, { 0 }, 5000, false },		/* nothing to ack */
	{ 0, { 100 }, 100, false },
	{ 0, { 100 }, 1999, false },
	{ 0, { 100 }, 2000, true },
	{ 0, { 8192, 8191, 0 }, 0, false },
	{ 0, { 8192, 8191, 1 }, 0, true },
	{ 0, { 16384 }, 0, true },		/* unknown: the smallest */
	{ 65536, { 16383 }, 0, false },
	{ 65536, { 16384 }, 0, true },
	{ 4u << 20, { 16384 }, 0, false },	/* known: a 16th of it */
	{ 4u << 20, { 65536, 65536, 65535 }, 1999, false },
	{ 4u << 20, { 65536, 65536, 65536 }, 1999, false },
	{ 4u << 20, { 1u << 17, (1u << 17) - 1 }, 0, false },
	{ 4u << 20, { 1u << 17, 1u << 17 }, 0, true },
	{ 4u << 20, { 100 }, 2000, true },
	{ 1u << 20, { 65535 }, 0, false },
	{ 1u << 20, { 65536 }, 0, true },
	{ 131072, { 16383 }, 0, false },	/* 16K at least */
	{ 131072, { 16384 }, 0, true },
};

START_TEST(test_ack_due)
{
	struct resume r;
	char err[100], *m, want[100];

	resume_init(&r, 0);
	ck_assert(!resume_ack_due(&r, 0));	/* off */
	resume_linkup(&r, true, NULL);
	/* At once after the first sequenced linkup: our window, told. */
	ck_assert(resume_ack_due(&r, 0));
	m = resume_ack_msg(&r, 0);
	snprintf(want, sizeof (want), "mlogin:{\"type\":\"ack\",\"recv\":0,"
	    "\"window\":%u}", RESUME_DEFAULT_WINDOW);
	ck_assert_str_eq(m, want);
	free(m);
	ck_assert(!resume_ack_due(&r, 0));
	if (dues[_i].peer_window != 0)
		ck_assert_int_eq(resume_on_ctl(&r, RESUME_CTL_ACK, 0,
		    dues[_i].peer_window, NULL, err, sizeof (err)), 0);
	for (int k = 0; k < 3 && dues[_i].got[k] != 0; k++)
		resume_received(&r, dues[_i].got[k]);
	ck_assert_int_eq(resume_ack_due(&r, dues[_i].now), dues[_i].due);
	if (dues[_i].due) {
		m = resume_ack_msg(&r, dues[_i].now);
		ck_assert(strstr(m, "\"type\":\"ack\"") != NULL);
		free(m);
		ck_assert(!resume_ack_due(&r, dues[_i].now + 5000));
	}
	resume_fini(&r);
}
END_TEST

/*
 * Small messages (keystrokes) fill the peer's buffer by count first
 * (RESUME_MAX_MSGS): an ack after a quarter of that, whatever the bytes.
 */
START_TEST(test_ack_due_by_count)
{
	struct resume r;
	char err[100];

	resume_init(&r, 0);
	resume_linkup(&r, true, NULL);
	free(resume_ack_msg(&r, 0));
	ck_assert_int_eq(resume_on_ctl(&r, RESUME_CTL_ACK, 0, 4u << 20, NULL,
	    err, sizeof (err)), 0);
	for (unsigned i = 1; i < RESUME_MAX_MSGS / 4; i++) {
		resume_received(&r, 1);
		ck_assert(!resume_ack_due(&r, 0));
	}
	resume_received(&r, 1);
	ck_assert(resume_ack_due(&r, 0));
	resume_fini(&r);
}
END_TEST

/* The buffer is full at the window: the source waits until an ack. */
START_TEST(test_full)
{
	struct resume r;
	char err[100];

	resume_init(&r, 35);
	ck_assert(!resume_full(&r));		/* off: never */
	resume_linkup(&r, true, NULL);
	send_n(&r, 3);
	ck_assert(!resume_full(&r));
	send_n(&r, 1);
	ck_assert(resume_full(&r));
	ck_assert_uint_eq(r.bytes, 40);
	ck_assert_int_eq(resume_on_ack(&r, 1, err, sizeof (err)), 0);
	ck_assert(!resume_full(&r));
	resume_fini(&r);
}
END_TEST

/*
 * The ring (one per end, no allocation per message): messages of these
 * sizes sent and acked in this pattern come back byte-exact, in order,
 * whether they fit at the ring's end, start over at its front, or make
 * it grow (larger than the window, or a window's worth unacked).
 */
static const struct {
	size_t		window;
	size_t		sizes[4];	/* sent in turn, round and round */
	unsigned	ack_every;	/* after every N sends, ack ... */
	unsigned	keep;		/* ... all but the last `keep` */
	unsigned	rounds;
} rings[] = {
	{ 100, { 10, 30, 1, 0 }, 3, 1, 200 },	/* wraps, many times */
	{ 100, { 60, 60, 60, 60 }, 2, 1, 50 },	/* whole, never split */
	{ 100, { 250, 5, 0, 7 }, 4, 2, 40 },	/* larger than the window */
	{ 64, { 1, 1, 1, 1 }, 1000, 10, 5 },	/* many small: entries grow */
	{ 1000, { 999, 1000, 1, 2 }, 1, 0, 30 },/* all acked each time */
	{ 50, { 20, 20, 20, 20 }, 8, 0, 20 },	/* unacked past the window */
};

/*
 * Each row twice: _i >= NELEM(rings) writes every message straight into
 * the ring (resume_reserve, with room for 7 bytes more than it uses), as
 * the ends read their input: the same replay, and no copy.
 */
START_TEST(test_ring)
{
	int row = _i % (int)NELEM(rings);
	bool direct = _i >= (int)NELEM(rings);
	struct resume r;
	char err[100];
	uint8_t buf[1100], *msg;
	unsigned sends = 0;

	resume_init(&r, rings[row].window);
	resume_linkup(&r, true, NULL);
	for (unsigned round = 0; round < rings[row].rounds; round++) {
		for (int j = 0; j < 4; j++) {
			size_t n = rings[row].sizes[j], k = 0, dn;
			uint64_t want, seq;
			const uint8_t *d;
			bool text;

			msg = direct ? resume_reserve(&r, n + 7) : buf;
			ck_assert_ptr_nonnull(msg);
			/* A read may fill its reservation: junk past n. */
			if (direct)
				memset(msg, 0xee, n + 7);
			/* Each byte says which message it is part of. */
			memset(msg, (int)((r.sent + 1) & 0xff), n);
			ck_assert_int_eq(resume_sent(&r, n % 2 == 0, msg, n,
			    err, sizeof (err)), 0);
			if (direct && n > 0) {
				/* Kept where it was read. */
				size_t last = r.ecount - 1;

				ck_assert_ptr_eq(r.ring + r.ents[(r.efirst +
				    last) % r.ecap].off, msg);
			}
			if (++sends % rings[row].ack_every == 0 &&
			    r.sent > rings[row].keep)
				ck_assert_int_eq(resume_on_ack(&r, r.sent -
				    rings[row].keep, err, sizeof (err)), 0);
			want = r.trimmed + 1;
			while ((d = resume_replay_next(&r, &k, &text, &dn,
			    &seq)) != NULL) {
				ck_assert_uint_eq(seq, want);
				ck_assert_int_eq(text, dn % 2 == 0);
				for (size_t b = 0; b < dn; b++)
					ck_assert_uint_eq(d[b], seq & 0xff);
				want++;
			}
			ck_assert_uint_eq(want, r.sent + 1);
		}
	}
	ck_assert_uint_eq(r.sent, 4 * rings[row].rounds);
	ck_assert_uint_le(r.made, r.rcap);
	resume_fini(&r);
	ck_assert_ptr_null(r.ring);
}
END_TEST

/*
 * resume_reserve's edges: what a reservation keeps (only what its
 * resume_sent names), and what makes it void.
 */
enum rsv_case {
	RSV_OFF,		/* not sequenced: NULL, nothing kept */
	RSV_ABANDONED,		/* reserved, never sent: nothing kept */
	RSV_OTHER_BUFFER,	/* sent from elsewhere: copied, kept */
	RSV_SHORT,		/* 3 of 100 bytes used: 3 kept */
	RSV_GROWS,		/* reserved beyond the ring: it grows, the
				   unacked messages kept in order */
	RSV_AWAIT		/* holding (our resume sent): kept, too */
};

static const struct {
	enum rsv_case	c;
	bool		ptr;		/* a pointer given */
	uint64_t	sent;		/* after */
	size_t		bytes;
} rsvs[] = {
	{ RSV_OFF, false, 0, 0 },
	{ RSV_ABANDONED, true, 0, 0 },
	{ RSV_OTHER_BUFFER, true, 1, 5 },
	{ RSV_SHORT, true, 1, 3 },
	{ RSV_GROWS, true, 3, 2 * 90 + 1000 },
	{ RSV_AWAIT, true, 2, 10 + 4 },
};

START_TEST(test_reserve)
{
	struct resume r;
	char err[100];
	uint8_t *p;
	size_t k = 0, n;
	const uint8_t *d;
	bool text;

	resume_init(&r, RESUME_MIN_WINDOW);
	if (rsvs[_i].c != RSV_OFF)
		resume_linkup(&r, true, NULL);
	if (rsvs[_i].c == RSV_GROWS) {
		/* Two of 90 unacked; then one larger than the ring. */
		send_n(&r, 0);
		for (int i = 0; i < 2; i++) {
			uint8_t b[90];

			memset(b, 'a' + i, sizeof (b));
			ck_assert_int_eq(resume_sent(&r, false, b, sizeof (b),
			    err, sizeof (err)), 0);
		}
	}
	if (rsvs[_i].c == RSV_AWAIT) {
		send_n(&r, 1);
		ck_assert_int_eq(resume_linkup(&r, true, NULL), 1);
		ck_assert(resume_holding(&r));
	}
	p = resume_reserve(&r, rsvs[_i].c == RSV_GROWS ? r.rcap + 1000 : 100);
	ck_assert_int_eq(p != NULL, rsvs[_i].ptr);
	switch (rsvs[_i].c) {
	case RSV_OTHER_BUFFER:
		ck_assert_int_eq(resume_sent(&r, true,
		    (const uint8_t *)"hello", 5, err, sizeof (err)), 0);
		/* The reservation is void: the next one may be anywhere. */
		ck_assert(!r.rsv);
		break;
	case RSV_SHORT:
		memcpy(p, "abc", 3);
		ck_assert_int_eq(resume_sent(&r, false, p, 3, err,
		    sizeof (err)), 0);
		break;
	case RSV_GROWS:
		memset(p, 'z', 1000);
		ck_assert_int_eq(resume_sent(&r, false, p, 1000, err,
		    sizeof (err)), 0);
		break;
	case RSV_AWAIT:
		memcpy(p, "held", 4);
		ck_assert_int_eq(resume_sent(&r, false, p, 4, err,
		    sizeof (err)), 0);
		break;
	default:
		break;
	}
	ck_assert_uint_eq(r.sent, rsvs[_i].sent);
	ck_assert_uint_eq(r.bytes, rsvs[_i].bytes);
	/* What is kept reads back as written, oldest first. */
	while ((d = resume_replay_next(&r, &k, &text, &n, NULL)) != NULL) {
		if (rsvs[_i].c == RSV_OTHER_BUFFER)
			ck_assert_mem_eq(d, "hello", 5);
		if (rsvs[_i].c == RSV_SHORT)
			ck_assert_mem_eq(d, "abc", 3);
		if (rsvs[_i].c == RSV_GROWS)
			ck_assert_int_eq(d[0], k == 1 ? 'a' : k == 2 ? 'b' :
			    'z');
		if (rsvs[_i].c == RSV_AWAIT && k == 2)
			ck_assert_mem_eq(d, "held", 4);
	}
	resume_fini(&r);
}
END_TEST

/* How many of the pages of [p, p + n) are resident. */
static size_t
resident_pages(const uint8_t *p, size_t n)
{
	size_t pg = (size_t)getpagesize(), np = (n + pg - 1) / pg, k = 0;
	unsigned char *v = calloc(np, 1);

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(mincore((void *)p, n, v), 0);
	for (size_t i = 0; i < np; i++)
		k += v[i] & 1;
	free(v);
	return (k);
}

/*
 * The ring's pages are made a RESUME_POPULATE at a time, as the write
 * point first reaches them (resident before anything is written to
 * them): an interactive session (its messages acked as they go) holds
 * one chunk; a stream through the whole ring, all.
 */
START_TEST(test_populate)
{
	struct resume r;
	char err[100];
	uint8_t *p;

	resume_init(&r, 0);
	resume_linkup(&r, true, NULL);
	for (int i = 0; i < 1000; i++) {
		send_n(&r, 1);
		ck_assert_int_eq(resume_on_ack(&r, r.sent, err, sizeof (err)),
		    0);
	}
	ck_assert_uint_eq(r.made, RESUME_POPULATE);
	ck_assert_uint_ge(r.rcap, RESUME_DEFAULT_WINDOW);
	/* (A transparent huge page, where they are "always", makes 2 MiB.) */
	ck_assert_uint_ge(resident_pages(r.ring, r.rcap),
	    RESUME_POPULATE / (size_t)getpagesize());
	ck_assert_uint_le(resident_pages(r.ring, r.rcap),
	    (2u << 20) / (size_t)getpagesize());
	while (r.sent < 2000 + 3 * r.rcap / 16384) {
		ck_assert_ptr_nonnull(p = resume_reserve(&r, 16384));
		ck_assert_uint_le(r.rsv_off + 16384, r.made);
		ck_assert_uint_eq(resident_pages(p, 16384), 16384 /
		    (size_t)getpagesize());
		memset(p, 7, 16384);
		ck_assert_int_eq(resume_sent(&r, false, p, 16384, err,
		    sizeof (err)), 0);
		if (r.bytes >= r.window / 2)
			ck_assert_int_eq(resume_on_ack(&r, r.sent - 8, err,
			    sizeof (err)), 0);
	}
	ck_assert_uint_eq(r.made, r.rcap);
	resume_fini(&r);
	ck_assert_uint_eq(r.made, 0);
}
END_TEST

/*
 * A pointer into the ring that is not the reservation (made void by
 * another message, here) is a caller's bug: abort, not a copy that could
 * regrow the ring under it.
 */
START_TEST(test_stray_ring_pointer_aborts)
{
	struct resume r;
	char err[100];
	uint8_t *p;

	resume_init(&r, 0);
	resume_linkup(&r, true, NULL);
	ck_assert_ptr_nonnull(p = resume_reserve(&r, 100));
	memset(p, 'x', 10);
	ck_assert_int_eq(resume_sent(&r, true, (const uint8_t *)"other", 5,
	    err, sizeof (err)), 0);
	(void) resume_sent(&r, false, p, 10, err, sizeof (err));
	ck_abort_msg("a stray pointer was taken");
}
END_TEST

/* Full at RESUME_MAX_MSGS messages, however small. */
START_TEST(test_full_of_messages)
{
	struct resume r;
	char err[100];

	resume_init(&r, 0);
	resume_linkup(&r, true, NULL);
	for (unsigned i = 0; i < RESUME_MAX_MSGS; i++) {
		ck_assert(!resume_full(&r));
		ck_assert_int_eq(resume_sent(&r, false, (const uint8_t *)"k",
		    1, err, sizeof (err)), 0);
	}
	ck_assert(resume_full(&r));
	ck_assert_int_eq(resume_on_ack(&r, 1, err, sizeof (err)), 0);
	ck_assert(!resume_full(&r));
	resume_fini(&r);
}
END_TEST

static const struct {
	const char	*json;
	enum resume_ctl	ctl;
	uint64_t	n;
	size_t		window;
	const char	*link;		/* the resume's, NULL: none */
} classes[] = {
	{ "{\"type\":\"ack\",\"recv\":7}", RESUME_CTL_ACK, 7, 0 },
	{ "{\"type\":\"resume\",\"recv\":0}", RESUME_CTL_RESUME, 0, 0 },
	{ "{\"type\":\"ack\"}", RESUME_CTL_BAD, 0, 0 },
	{ "{\"type\":\"ack\",\"recv\":-1}", RESUME_CTL_BAD, 0, 0 },
	{ "{\"type\":\"resume\",\"recv\":\"3\"}", RESUME_CTL_BAD, 0, 0 },
	{ "{\"type\":\"resume\",\"recv\":1.5}", RESUME_CTL_BAD, 0, 0 },
	{ "{\"type\":\"start\"}", RESUME_CTL_NONE, 0, 0 },
	{ "{\"type\":\"resize\",\"recv\":3}", RESUME_CTL_NONE, 0, 0 },
	/* "window": optional; out of ResumeBuffer's bounds, as none */
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":4194304}",
	    RESUME_CTL_ACK, 7, 4194304 },
	{ "{\"type\":\"resume\",\"recv\":2,\"window\":65536}",
	    RESUME_CTL_RESUME, 2, 65536 },
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":1073741824}",
	    RESUME_CTL_ACK, 7, 1073741824 },
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":65535}",
	    RESUME_CTL_ACK, 7, 0 },
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":1073741825}",
	    RESUME_CTL_ACK, 7, 0 },
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":-1}", RESUME_CTL_ACK,
	    7, 0 },
	{ "{\"type\":\"ack\",\"recv\":7,\"window\":\"4M\"}",
	    RESUME_CTL_ACK, 7, 0 },
	{ "{\"type\":\"ack\",\"window\":65536}", RESUME_CTL_BAD, 0, 0 },
	/* "link": optional; not a string, as none */
	{ "{\"type\":\"resume\",\"recv\":2,\"link\":\"0a1b\"}",
	    RESUME_CTL_RESUME, 2, 0, "0a1b" },
	{ "{\"type\":\"resume\",\"recv\":2,\"link\":7}",
	    RESUME_CTL_RESUME, 2, 0, NULL },
	{ "{\"type\":\"resume\",\"recv\":2,\"link\":\"\"}",
	    RESUME_CTL_RESUME, 2, 0, NULL },
	{ "{\"type\":\"resume\",\"link\":\"0a1b\"}", RESUME_CTL_BAD,
	    0, 0, NULL },
};

START_TEST(test_classify)
{
	const char *type;
	char err[100];
	uint64_t n = 0;
	size_t w = 99;
	const char *link = "x";
	json_t *o = mlproto_parse(classes[_i].json, strlen(classes[_i].json),
	    &type, err, sizeof (err));

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(resume_classify(o, type, &n, &w, &link),
	    classes[_i].ctl);
	if (classes[_i].ctl == RESUME_CTL_ACK ||
	    classes[_i].ctl == RESUME_CTL_RESUME) {
		ck_assert_uint_eq(n, classes[_i].n);
		ck_assert_uint_eq(w, classes[_i].window);
		if (classes[_i].link == NULL)
			ck_assert_ptr_null(link);
		else
			ck_assert_str_eq(link, classes[_i].link);
	}
	json_decref(o);
}
END_TEST

static const struct {
	const char	*token;
	size_t		cap;
	const char	*out;		/* NULL: refused */
} headers[] = {
	{ NULL, 100, "X-Medusa-Resume: 1\r\n" },
	{ "", 100, "X-Medusa-Resume: 1\r\n" },
	{ "1.1700000000.abc-_", 100, "X-Medusa-Resume: 1\r\n"
	    "X-Medusa-Resume-Token: 1.1700000000.abc-_\r\n" },
	{ "a b", 100, NULL },
	{ "a\r\nX-Evil: 1", 100, NULL },
	{ "a\x80", 100, NULL },
	{ "abc", 20, NULL },
};

START_TEST(test_headers)
{
	char out[100], err[100] = "";
	int rc = resume_headers(headers[_i].token, out, headers[_i].cap, err,
	    sizeof (err));

	if (headers[_i].out == NULL) {
		ck_assert_int_eq(rc, -1);
		ck_assert(strstr(err, "resume token") != NULL);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_str_eq(out, headers[_i].out);
	}
}
END_TEST

static const struct {
	unsigned	attempt;
	uint32_t	rnd;
	unsigned	ms;
} backoffs[] = {
	{ 0, 12345, 0 },		/* at once */
	{ 1, 0, 50 }, { 1, 50, 100 }, { 1, 51, 50 },
	{ 2, 0, 100 }, { 3, 0, 200 }, { 5, 800, 1600 },
	{ 6, 0, 1500 }, { 6, 1500, 3000 }, { 40, 0, 1500 },
	{ 40, 0xffffffffu, 1500 + 0xffffffffu % 1501 },
};

START_TEST(test_backoff)
{
	unsigned ms = resume_backoff_ms(backoffs[_i].attempt,
	    backoffs[_i].rnd);

	ck_assert_uint_eq(ms, backoffs[_i].ms);
	ck_assert_uint_le(ms, RESUME_BACKOFF_CAP_MS);
}
END_TEST

Suite *
resume_suite(void)
{
	Suite *s = suite_create("resume");
	TCase *tc = tcase_create("resume");

	tcase_add_test(tc, test_off_until_linkup);
	tcase_add_loop_test(tc, test_ack, 0, NELEM(acks));
	tcase_add_loop_test(tc, test_resume_from, 0, NELEM(resumes));
	tcase_add_loop_test(tc, test_on_ctl, 0, NELEM(ctls));
	tcase_add_test(tc, test_await_drops);
	tcase_add_loop_test(tc, test_links, 0, NELEM(links));
	tcase_add_loop_test(tc, test_ack_due, 0, NELEM(dues));
	tcase_add_test(tc, test_ack_due_by_count);
	tcase_add_test(tc, test_full);
	tcase_add_loop_test(tc, test_ring, 0, 2 * NELEM(rings));
	tcase_add_loop_test(tc, test_reserve, 0, NELEM(rsvs));
	tcase_add_test(tc, test_populate);
	tcase_add_test_raise_signal(tc, test_stray_ring_pointer_aborts,
	    SIGABRT);
	tcase_add_test(tc, test_full_of_messages);
	tcase_add_loop_test(tc, test_classify, 0, NELEM(classes));
	tcase_add_loop_test(tc, test_headers, 0, NELEM(headers));
	tcase_add_loop_test(tc, test_backoff, 0, NELEM(backoffs));
	suite_add_tcase(s, tc);
	return (s);
}
