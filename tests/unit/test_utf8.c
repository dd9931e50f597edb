/*
 * test_utf8.c: utf8.h, the incremental UTF-8 validator.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "utf8.h"

struct bytes {
	const char	*s;
	size_t		n;
};
#define	B(lit)	{ (lit), sizeof (lit) - 1 }

static const struct bytes valid[] = {
	B(""),
	B("a"),
	B("Hello, world"),
	B("\x00"),				/* NUL is a character */
	B("\x7f"),
	B("\xc2\x80"),				/* U+0080 */
	B("\xdf\xbf"),				/* U+07FF */
	B("\xe0\xa0\x80"),			/* U+0800 */
	B("\xed\x9f\xbf"),			/* U+D7FF, below surrogates */
	B("\xee\x80\x80"),			/* U+E000, above them */
	B("\xef\xbf\xbf"),			/* U+FFFF */
	B("\xf0\x90\x80\x80"),			/* U+10000 */
	B("\xf3\xbf\xbf\xbf"),
	B("\xf4\x8f\xbf\xbf"),			/* U+10FFFF */
	B("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),	/* kosme */
	B("Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1"
	    "-UTF-8!!"),
	B("0123456789abcdef\xf0\x9f\x98\x80" "0123456789abcdef"),
	B("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"),
};

/* Invalid at some byte: the state becomes UTF8_REJECT. */
static const struct bytes rejected[] = {
	B("\xc0\x80"),				/* overlong NUL */
	B("\xc1\xbf"),				/* overlong 2-byte */
	B("\xe0\x80\x80"),			/* overlong 3-byte */
	B("\xe0\x9f\xbf"),
	B("\xf0\x80\x80\x80"),			/* overlong 4-byte */
	B("\xf0\x8f\xbf\xbf"),
	B("\xed\xa0\x80"),			/* U+D800 */
	B("\xed\xbf\xbf"),			/* U+DFFF */
	B("\xed\xa0\x80\xed\xb0\x80"),		/* a surrogate pair */
	B("\xf4\x90\x80\x80"),			/* U+110000 */
	B("\xf5\x80\x80\x80"),
	B("\xf8\x88\x80\x80\x80"),
	B("\xfc\x84\x80\x80\x80\x80"),
	B("\xfe"),
	B("\xff"),
	B("\x80"),				/* lone continuation */
	B("\xbf"),
	B("a\x80"),
	B("\xc2\x80\x80"),			/* one continuation too many */
	B("\xc2\x41"),				/* lead, then ASCII */
	B("\xe1\x80\x41"),
	B("\xf1\x80\x80\x41"),
	B("\xe1\xc2\x80"),			/* lead, then another lead */
	B("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
	    "edited"),
};

/* Valid so far but cut inside a character: neither ACCEPT nor REJECT. */
static const struct bytes truncated[] = {
	B("\xc2"),
	B("\xe1\x80"),
	B("\xe0\xa0"),
	B("\xf0\x90\x80"),
	B("\xf4\x8f\xbf"),
	B("a\xe0"),
	B("\xce\xba\xe1\xbd"),
};

/*
 * A state saved by one worker and resumed by another (a session handed
 * over): fed what follows, it ends in `want`.  A state utf8_feed() could
 * not have returned is UTF8_REJECT, even fed nothing; before, 0x50..0x7f
 * indexed past its 5-entry tables (found by tests/fuzz/fuzz_proto).
 */
static const struct resumed {
	uint32_t	st;
	struct bytes	b;
	uint32_t	want;
} resumed[] = {
	{ 0x01, B("\x80"), UTF8_ACCEPT },	/* after C2..DF */
	{ 0x01, B(""), 0x01 },
	{ 0x01, B("\xc0"), UTF8_REJECT },
	{ 0x02, B("\x80\xbf"), UTF8_ACCEPT },	/* after E1..EF */
	{ 0x03, B("\x80\x80\x80"), UTF8_ACCEPT },	/* after F1..F3 */
	{ 0x12, B("\xa0\x80"), UTF8_ACCEPT },	/* after E0 */
	{ 0x12, B("\x9f\xbf"), UTF8_REJECT },
	{ 0x22, B("\x9f\xbf"), UTF8_ACCEPT },	/* after ED */
	{ 0x22, B("\xa0\x80"), UTF8_REJECT },
	{ 0x33, B("\x90\x80\x80"), UTF8_ACCEPT },	/* after F0 */
	{ 0x33, B("\x8f"), UTF8_REJECT },
	{ 0x43, B("\x8f\xbf\xbf"), UTF8_ACCEPT },	/* after F4 */
	{ 0x43, B("\x90"), UTF8_REJECT },
	{ UTF8_ACCEPT, B(""), UTF8_ACCEPT },
	{ UTF8_REJECT, B(""), UTF8_REJECT },
	/* Never returned by utf8_feed(). */
	{ 0x50, B("\x80"), UTF8_REJECT },	/* range 5: past the tables */
	{ 0x50, B(""), UTF8_REJECT },
	{ 0x53, B("\x80\x80\x80"), UTF8_REJECT },
	{ 0x61, B("\x80"), UTF8_REJECT },
	{ 0x7f, B("\x80"), UTF8_REJECT },	/* range 7, bits 2-3 set */
	{ 0x70, B("a"), UTF8_REJECT },
	{ 0x04, B("\x80"), UTF8_REJECT },	/* bits 2-3 set */
	{ 0x0c, B(""), UTF8_REJECT },
	{ 0x10, B("a"), UTF8_REJECT },		/* a range, nothing due */
	{ 0x11, B("\xa0"), UTF8_REJECT },	/* E0's range, 1 due */
	{ 0x13, B("\xa0\x80\x80"), UTF8_REJECT },
	{ 0x21, B("\x80"), UTF8_REJECT },
	{ 0x31, B("\x90"), UTF8_REJECT },
	{ 0x32, B("\x90\x80"), UTF8_REJECT },
	{ 0x41, B("\x80"), UTF8_REJECT },
	{ 0x42, B("\x80\x80"), UTF8_REJECT },
	{ 0xfe, B(""), UTF8_REJECT },
	{ 0x100, B("a"), UTF8_REJECT },
	{ 0x101, B("\x80"), UTF8_REJECT },
	{ UINT32_MAX, B("a"), UTF8_REJECT },
};

static int
is_cont(uint8_t c)
{
	return ((c & 0xc0) == 0x80);
}

START_TEST(test_valid)
{
	const struct bytes *t = &valid[_i];

	ck_assert_int_eq(utf8_valid((const uint8_t *)t->s, t->n), 1);
	ck_assert_uint_eq(utf8_feed(UTF8_ACCEPT, (const uint8_t *)t->s, t->n),
	    UTF8_ACCEPT);
}
END_TEST

START_TEST(test_rejected)
{
	const struct bytes *t = &rejected[_i];

	ck_assert_int_eq(utf8_valid((const uint8_t *)t->s, t->n), 0);
	ck_assert_uint_eq(utf8_feed(UTF8_ACCEPT, (const uint8_t *)t->s, t->n),
	    UTF8_REJECT);
}
END_TEST

START_TEST(test_truncated)
{
	const struct bytes *t = &truncated[_i];
	uint32_t st = utf8_feed(UTF8_ACCEPT, (const uint8_t *)t->s, t->n);

	ck_assert_int_eq(utf8_valid((const uint8_t *)t->s, t->n), 0);
	ck_assert_uint_ne(st, UTF8_ACCEPT);
	ck_assert_uint_ne(st, UTF8_REJECT);
}
END_TEST

/*
 * A valid string fed in two pieces split at every byte: the end state is
 * ACCEPT, and the state between the pieces is ACCEPT exactly when the
 * split falls between characters.  Then byte by byte.
 */
START_TEST(test_valid_split)
{
	const struct bytes *t = &valid[_i];
	const uint8_t *p = (const uint8_t *)t->s;
	uint32_t st;

	for (size_t k = 0; k <= t->n; k++) {
		int boundary = k == t->n || !is_cont(p[k]);

		st = utf8_feed(UTF8_ACCEPT, p, k);
		ck_assert_msg(st != UTF8_REJECT, "split %zu rejected", k);
		ck_assert_msg((st == UTF8_ACCEPT) == boundary,
		    "split %zu: state %u", k, (unsigned)st);
		st = utf8_feed(st, p + k, t->n - k);
		ck_assert_msg(st == UTF8_ACCEPT, "split %zu: end state %u", k,
		    (unsigned)st);
	}
	st = UTF8_ACCEPT;
	for (size_t k = 0; k < t->n; k++)
		st = utf8_feed(st, p + k, 1);
	ck_assert_uint_eq(st, UTF8_ACCEPT);
}
END_TEST

/* An invalid string rejects however it is split. */
START_TEST(test_rejected_split)
{
	const struct bytes *t = &rejected[_i];
	const uint8_t *p = (const uint8_t *)t->s;
	uint32_t st;

	for (size_t k = 0; k <= t->n; k++) {
		st = utf8_feed(UTF8_ACCEPT, p, k);
		st = utf8_feed(st, p + k, t->n - k);
		ck_assert_msg(st == UTF8_REJECT, "split %zu: state %u", k,
		    (unsigned)st);
	}
}
END_TEST

START_TEST(test_sticky)
{
	uint32_t st = utf8_feed(UTF8_ACCEPT, BYTES("\xff"));

	ck_assert_uint_eq(st, UTF8_REJECT);
	ck_assert_uint_eq(utf8_feed(st, BYTES("")), UTF8_REJECT);
	ck_assert_uint_eq(utf8_feed(st, BYTES("plain ascii text")),
	    UTF8_REJECT);
	ck_assert_uint_eq(utf8_feed(st, BYTES("\xc2\x80")), UTF8_REJECT);
	/* Nothing after the bad byte makes the whole valid. */
	ck_assert_int_eq(utf8_valid(BYTES("\x80" "abcdefghijklmnop")), 0);
}
END_TEST

/*
 * Autobahn 6.4.x style: a text message "kosme" followed by U+110000's
 * encoding, split so that the bad byte arrives in a later fragment.  The
 * first fragment must still pass, and the state must reject as soon as the
 * bad byte is fed, before the rest of the character arrives.
 */
START_TEST(test_fail_fast_fragments)
{
	static const char frag1[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"
	    "\xce\xb5\xf4";
	static const char frag2[] = "\x90";
	static const char frag3[] = "\x80\x80" "edited";
	uint32_t st;

	st = utf8_feed(UTF8_ACCEPT, BYTES(frag1));
	ck_assert_uint_ne(st, UTF8_REJECT);
	ck_assert_uint_ne(st, UTF8_ACCEPT);
	st = utf8_feed(st, BYTES(frag2));
	ck_assert_uint_eq(st, UTF8_REJECT);
	st = utf8_feed(st, BYTES(frag3));
	ck_assert_uint_eq(st, UTF8_REJECT);

	/* Autobahn 6.2.x: a valid text split inside a code point. */
	st = utf8_feed(UTF8_ACCEPT, BYTES("Hello-\xc2"));
	ck_assert_uint_ne(st, UTF8_ACCEPT);
	st = utf8_feed(st, BYTES("\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3"));
	ck_assert_uint_ne(st, UTF8_ACCEPT);
	st = utf8_feed(st, BYTES("\xa0\xc3\xa1-UTF-8!!"));
	ck_assert_uint_eq(st, UTF8_ACCEPT);
}
END_TEST

START_TEST(test_resumed)
{
	const struct resumed *t = &resumed[_i];

	ck_assert_uint_eq(utf8_feed(t->st, (const uint8_t *)t->b.s, t->b.n),
	    t->want);
}
END_TEST

/*
 * Every state below 0x400: the ones utf8_feed() returns from ACCEPT (fed
 * any bytes, one at a time) resume as themselves when fed nothing; all
 * others are UTF8_REJECT, fed nothing or anything.
 */
START_TEST(test_unreachable_states)
{
	static bool seen[0x400];
	uint32_t stack[0x400];
	size_t nstack = 0, nseen = 0;

	memset(seen, 0, sizeof (seen));
	seen[UTF8_ACCEPT] = true;
	stack[nstack++] = UTF8_ACCEPT;
	nseen = 1;
	while (nstack > 0) {
		uint32_t st = stack[--nstack];

		for (unsigned c = 0; c < 256; c++) {
			uint8_t b = (uint8_t)c;
			uint32_t nx = utf8_feed(st, &b, 1);

			ck_assert_uint_lt(nx, 0x400);
			if (!seen[nx]) {
				seen[nx] = true;
				stack[nstack++] = nx;
				nseen++;
			}
		}
	}
	/* ACCEPT, REJECT and the seven inside a character. */
	ck_assert_uint_eq(nseen, 9);
	for (uint32_t st = 0; st < 0x400; st++) {
		if (seen[st]) {
			ck_assert_uint_eq(utf8_feed(st, BYTES("")), st);
			continue;
		}
		ck_assert_msg(utf8_feed(st, BYTES("")) == UTF8_REJECT,
		    "state 0x%x fed nothing", (unsigned)st);
		for (unsigned c = 0; c < 256; c++) {
			uint8_t b = (uint8_t)c;

			ck_assert_msg(utf8_feed(st, &b, 1) == UTF8_REJECT,
			    "state 0x%x fed 0x%02x", (unsigned)st, c);
		}
	}
}
END_TEST

/*
 * The eight-byte ASCII fast path: long runs, and a non-ASCII byte (bad,
 * a whole character, or a cut character) at every position of a run.
 */
START_TEST(test_ascii_runs)
{
	uint8_t buf[4096];

	for (size_t i = 0; i < sizeof (buf); i++)
		buf[i] = (uint8_t)(0x20 + i % 95);
	for (size_t n = 0; n <= 64; n++)
		ck_assert_int_eq(utf8_valid(buf, n), 1);
	ck_assert_int_eq(utf8_valid(buf, sizeof (buf)), 1);

	for (size_t n = 1; n <= 40; n++) {
		for (size_t pos = 0; pos < n; pos++) {
			uint8_t t[48];

			memset(t, 'x', sizeof (t));
			t[pos] = 0x80;
			ck_assert_msg(!utf8_valid(t, n), "bad byte at %zu of %zu",
			    pos, n);
			t[pos] = 0xff;
			ck_assert_msg(!utf8_valid(t, n), "0xff at %zu of %zu",
			    pos, n);
			if (pos + 2 <= n) {
				t[pos] = 0xc3;
				t[pos + 1] = 0xa9;
				ck_assert_msg(utf8_valid(t, n),
				    "U+00E9 at %zu of %zu", pos, n);
			}
			memset(t, 'x', sizeof (t));
			t[n - 1] = 0xe2;	/* a 3-byte lead at the end */
			ck_assert_msg(!utf8_valid(t, n), "cut at end of %zu",
			    n);
		}
	}
}
END_TEST

Suite *
utf8_suite(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_valid, 0, NELEM(valid));
	tcase_add_loop_test(tc, test_rejected, 0, NELEM(rejected));
	tcase_add_loop_test(tc, test_truncated, 0, NELEM(truncated));
	tcase_add_loop_test(tc, test_valid_split, 0, NELEM(valid));
	tcase_add_loop_test(tc, test_rejected_split, 0, NELEM(rejected));
	tcase_add_test(tc, test_sticky);
	tcase_add_test(tc, test_fail_fast_fragments);
	tcase_add_test(tc, test_ascii_runs);
	tcase_add_loop_test(tc, test_resumed, 0, NELEM(resumed));
	tcase_add_test(tc, test_unreachable_states);
	suite_add_tcase(s, tc);
	return (s);
}
