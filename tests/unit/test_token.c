/*
 * test_token.c: token.h, resume tokens.
 */
#include <string.h>

#include "route.h"
#include "suites.h"
#include "token.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
#define	SN	32
#define	NOW	1800000000LL

/* A token made for (alice, s1, master, NOW + 60), checked against... */
static const struct {
	const char	*account;
	const char	*id;
	int		role;
	int64_t		now;
	int		want;
} checks[] = {
	{ "alice", "s1", ROLE_MASTER, NOW, TOKEN_OK },
	{ "alice", "s1", ROLE_MASTER, NOW + 60, TOKEN_OK },	/* last second */
	{ "alice", "s1", ROLE_MASTER, NOW + 61, TOKEN_EXPIRED },
	{ "alice", "s1", ROLE_SLAVE, NOW, TOKEN_BAD },		/* role */
	{ "alice", "s2", ROLE_MASTER, NOW, TOKEN_BAD },		/* session */
	{ "alicf", "s1", ROLE_MASTER, NOW, TOKEN_BAD },		/* account */
	{ "", "s1", ROLE_MASTER, NOW, TOKEN_BAD },
	{ "alice", "s1\0", ROLE_MASTER, NOW, TOKEN_OK },	/* (C string) */
};

START_TEST(test_checks)
{
	char tok[TOKEN_MAX];
	int n = token_make(secret, SN, "alice", "s1", 2, ROLE_MASTER,
	    NOW + 60, tok, sizeof (tok));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(token_check(secret, SN, checks[_i].account,
	    checks[_i].id, strlen(checks[_i].id), checks[_i].role,
	    checks[_i].now, tok, (size_t)n), checks[_i].want);
}
END_TEST

/* The fields are told apart: ("a", "b/c") is not ("a/b", "c"). */
START_TEST(test_fields_apart)
{
	char t1[TOKEN_MAX], t2[TOKEN_MAX];

	ck_assert_int_gt(token_make(secret, SN, "a", "bc", 2, ROLE_SLAVE,
	    NOW, t1, sizeof (t1)), 0);
	ck_assert_int_gt(token_make(secret, SN, "ab", "c", 1, ROLE_SLAVE,
	    NOW, t2, sizeof (t2)), 0);
	ck_assert_str_ne(t1, t2);
	ck_assert_int_eq(token_check(secret, SN, "ab", "c", 1, ROLE_SLAVE,
	    NOW, t1, strlen(t1)), TOKEN_BAD);
}
END_TEST

/* Anything but an untouched token of this secret is bad. */
START_TEST(test_tampered)
{
	char tok[TOKEN_MAX], bad[TOKEN_MAX];
	int n = token_make(secret, SN, "alice", "s1", 2, ROLE_MASTER,
	    NOW + 60, tok, sizeof (tok));
	static const uint8_t other[] = "another secret of enough bytes!!";
	static const char *const junk[] = { "", "1", "1.", "1..", "2.1.x",
	    "1.abc.xyz", "1.99999999999999999999.x", "1.1800000060",
	    "1.1800000060.", "1.-5.x" };

	/* Every byte changed, one at a time. */
	for (int i = 0; i < n; i++) {
		memcpy(bad, tok, (size_t)n + 1);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		ck_assert_int_ne(token_check(secret, SN, "alice", "s1", 2,
		    ROLE_MASTER, NOW, bad, (size_t)n), TOKEN_OK);
	}
	/* Cut short, or with more after it. */
	ck_assert_int_eq(token_check(secret, SN, "alice", "s1", 2,
	    ROLE_MASTER, NOW, tok, (size_t)n - 1), TOKEN_BAD);
	memcpy(bad, tok, (size_t)n);
	bad[n] = 'x';
	ck_assert_int_eq(token_check(secret, SN, "alice", "s1", 2,
	    ROLE_MASTER, NOW, bad, (size_t)n + 1), TOKEN_BAD);
	/* Another deployment's secret. */
	ck_assert_int_eq(token_check(other, SN, "alice", "s1", 2,
	    ROLE_MASTER, NOW, tok, (size_t)n), TOKEN_BAD);
	for (size_t i = 0; i < sizeof (junk) / sizeof (junk[0]); i++)
		ck_assert_int_eq(token_check(secret, SN, "alice", "s1", 2,
		    ROLE_MASTER, NOW, junk[i], strlen(junk[i])), TOKEN_BAD);
	/* A token longer than any we make. */
	memset(bad, '1', sizeof (bad));
	ck_assert_int_eq(token_check(secret, SN, "alice", "s1", 2,
	    ROLE_MASTER, NOW, bad, sizeof (bad)), TOKEN_BAD);
}
END_TEST

/* Header-safe: digits, dots and base64url, nothing else. */
START_TEST(test_alphabet)
{
	char tok[TOKEN_MAX];
	int n = token_make(secret, SN, "a", "b", 1, ROLE_MASTER, NOW, tok,
	    sizeof (tok));

	ck_assert_int_eq(n, (int)strlen(tok));
	for (int i = 0; i < n; i++)
		ck_assert(strchr("0123456789.-_abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", tok[i]) != NULL);
	ck_assert_int_eq(token_make(secret, SN, "a", "b", 1, ROLE_MASTER,
	    NOW, tok, 10), -1);
}
END_TEST

Suite *
token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_loop_test(tc, test_checks, 0, NELEM(checks));
	tcase_add_test(tc, test_fields_apart);
	tcase_add_test(tc, test_tampered);
	tcase_add_test(tc, test_alphabet);
	suite_add_tcase(s, tc);
	return (s);
}
