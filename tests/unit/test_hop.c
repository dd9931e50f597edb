/*
 * test_hop.c: hop.h, the X-Medusa-Hop header between reflector hosts.
 */
#include <stdio.h>
#include <string.h>

#include "hop.h"
#include "suites.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
#define	SN	32
#define	NOW	1800000000LL
#define	WIN	30
#define	NONCE	"00112233445566778899aabbccddeeff"
#define	PATH	"/alice/sessions/s1/master"
/* HMAC-SHA256 of the fields, computed by python3's hmac module. */
#define	MAC	"b967f0e982e85393cc78aced21a84e1028cbccc306965873b70397af510d9f19"
#define	GOOD	"1 1800000000 " NONCE " 192.0.2.7 " MAC

START_TEST(test_make)
{
	char out[HOP_VALUE_MAX];
	int n;

	n = hop_make(secret, SN, "GET", PATH, NOW, NONCE, "192.0.2.7", out,
	    sizeof (out));
	ck_assert_int_eq(n, (int)strlen(GOOD));
	ck_assert_str_eq(out, GOOD);
	/* Too small a buffer, bad nonces, bad peers. */
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, NOW, NONCE,
	    "192.0.2.7", out, 20), -1);
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, NOW,
	    "0011223344556677", "p", out, sizeof (out)), -1);
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, NOW,
	    "0011223344556677889900AABBCCDDEE", "p", out, sizeof (out)), -1);
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, NOW, NONCE, "",
	    out, sizeof (out)), -1);
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, NOW, NONCE, "a b",
	    out, sizeof (out)), -1);
	ck_assert_int_eq(hop_make(secret, SN, "GET", PATH, -1, NONCE, "p",
	    out, sizeof (out)), -1);
}
END_TEST

/* A value checked for (method, path) at now: what hop_check says. */
static const struct {
	const char	*v;
	const char	*method;
	const char	*path;
	int64_t		now;
	int		want;
} checks[] = {
	{ GOOD, "GET", PATH, NOW, HOP_OK },
	{ GOOD, "GET", PATH, NOW + WIN, HOP_OK },
	{ GOOD, "GET", PATH, NOW - WIN, HOP_OK },
	{ GOOD, "GET", PATH, NOW + WIN + 1, HOP_STALE },
	{ GOOD, "GET", PATH, NOW - WIN - 1, HOP_STALE },
	{ GOOD, "PUT", PATH, NOW, HOP_BAD },
	{ GOOD, "GET", "/alice/sessions/s1/slave", NOW, HOP_BAD },
	{ GOOD, "GET", "/alice/sessions/s2/master", NOW, HOP_BAD },
	/* Each field changed: the mac no longer matches. */
	{ "1 1800000001 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000 10112233445566778899aabbccddeeff 192.0.2.7 " MAC,
	    "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000 " NONCE " 192.0.2.8 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000 " NONCE " 192.0.2.7 "
	    "a967f0e982e85393cc78aced21a84e1028cbccc306965873b70397af510d9f19",
	    "GET", PATH, NOW, HOP_BAD },
	/* Malformed. */
	{ "", "GET", PATH, NOW, HOP_BAD },
	{ "1", "GET", PATH, NOW, HOP_BAD },
	{ "2 1800000000 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ " " GOOD, "GET", PATH, NOW, HOP_BAD },
	{ GOOD " ", "GET", PATH, NOW, HOP_BAD },
	{ GOOD " x", "GET", PATH, NOW, HOP_BAD },
	{ "1  1800000000 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ "1 01800000000 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ "1 -1 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000999999999 " NONCE " 192.0.2.7 " MAC, "GET", PATH, NOW,
	    HOP_BAD },
	{ "1 1800000000 00112233445566778899AABBCCDDEEFF 192.0.2.7 " MAC,
	    "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000 " NONCE " 192.0.2.7 " "B967F0E982E85393CC78ACED21A84E10"
	    "28CBCCC306965873B70397AF510D9F19", "GET", PATH, NOW, HOP_BAD },
	{ "1 1800000000 " NONCE " 192.0.2.7 " MAC "0", "GET", PATH, NOW,
	    HOP_BAD },
	{ "1 1800000000 " NONCE " 192.0.2.7", "GET", PATH, NOW, HOP_BAD },
};

START_TEST(test_check)
{
	struct hop_info hi;
	int rv;

	rv = hop_check(secret, SN, checks[_i].method, checks[_i].path,
	    checks[_i].v, strlen(checks[_i].v), checks[_i].now, WIN, &hi);
	ck_assert_msg(rv == checks[_i].want, "row %d: %d", _i, rv);
	if (rv == HOP_OK) {
		ck_assert(hi.hi_ts == NOW);
		ck_assert_str_eq(hi.hi_nonce, NONCE);
		ck_assert_str_eq(hi.hi_peer, "192.0.2.7");
	}
}
END_TEST

/* Another secret: the same value is forged. */
START_TEST(test_secret)
{
	static const uint8_t other[] = "0123456789abcdef0123456789abcdeF";
	struct hop_info hi;

	ck_assert_int_eq(hop_check(other, SN, "GET", PATH, GOOD, strlen(GOOD),
	    NOW, WIN, &hi), HOP_BAD);
	ck_assert_int_eq(hop_check(secret, SN - 1, "GET", PATH, GOOD,
	    strlen(GOOD), NOW, WIN, &hi), HOP_BAD);
	ck_assert_str_eq(hi.hi_peer, "");
}
END_TEST

START_TEST(test_seen)
{
	struct hop_seen *s;
	char nonce[HOP_NONCE_LEN + 1];

	ck_assert_ptr_null(hop_seen_new(8));
	ck_assert_ptr_nonnull(s = hop_seen_new(64));
	ck_assert_int_eq(hop_seen_add(s, NONCE, NOW, NOW, WIN), HOP_OK);
	ck_assert_int_eq(hop_seen_add(s, NONCE, NOW, NOW, WIN), HOP_REPLAY);
	ck_assert_int_eq(hop_seen_add(s, NONCE, NOW, NOW + WIN, WIN),
	    HOP_REPLAY);
	/* Out of the window, the nonce may be seen again (hop_check refuses
	 * such a ts anyway). */
	ck_assert_int_eq(hop_seen_add(s, NONCE, NOW + WIN + 1, NOW + WIN + 1,
	    WIN), HOP_OK);
	/* 63 more fill the table ... */
	for (int i = 1; i < 64; i++) {
		snprintf(nonce, sizeof (nonce), "%016x%016x", i, i);
		ck_assert_int_eq(hop_seen_add(s, nonce, NOW + WIN + 1,
		    NOW + WIN + 1, WIN), HOP_OK);
	}
	/* ... so one more has no room while they live, ... */
	ck_assert_int_eq(hop_seen_add(s, "ffffffffffffffffffffffffffffffff",
	    NOW + WIN + 1, NOW + WIN + 1, WIN), HOP_FULL);
	/* ... and room when they left the window; the old stay refused. */
	ck_assert_int_eq(hop_seen_add(s, "ffffffffffffffffffffffffffffffff",
	    NOW + 3 * WIN, NOW + 3 * WIN, WIN), HOP_OK);
	ck_assert_int_eq(hop_seen_add(s, "ffffffffffffffffffffffffffffffff",
	    NOW + 3 * WIN, NOW + 3 * WIN, WIN), HOP_REPLAY);
	hop_seen_free(s);
	hop_seen_free(NULL);
}
END_TEST

Suite *
hop_suite(void)
{
	Suite *s = suite_create("hop");
	TCase *tc = tcase_create("hop");

	tcase_add_test(tc, test_make);
	tcase_add_loop_test(tc, test_check, 0, NELEM(checks));
	tcase_add_test(tc, test_secret);
	tcase_add_test(tc, test_seen);
	suite_add_tcase(s, tc);
	return (s);
}
