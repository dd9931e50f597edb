/*
 * test_conn.c: how mlogin tells the user that a connection ended
 * (client/conn.c), a table.
 */
#include <string.h>

#include "conn.h"
#include "suites.h"

static const struct {
	enum wsc_end	kind;
	uint16_t	code;
	const char	*reason;
	const char	*err;
	const char	*words;
} cases[] = {
	{ WSC_END_CLOSED, 1001, "slave disconnected", NULL,
	    "the remote agent went away without ending the session (the "
	    "reflector said: slave disconnected)" },
	{ WSC_END_CLOSED, 1001, "timed out waiting for the peer", NULL,
	    "no agent came for this session before the reflector stopped "
	    "waiting (the reflector said: timed out waiting for the peer)" },
	{ WSC_END_CLOSED, 1001, "server shutting down", NULL,
	    "the reflector is shutting down (the reflector said: server "
	    "shutting down)" },
	{ WSC_END_CLOSED, 1001, "idle timeout", NULL,
	    "the session was idle too long and the reflector closed it (the "
	    "reflector said: idle timeout)" },
	{ WSC_END_CLOSED, 1000, "", NULL,
	    "the session was closed: no reason given (1000)" },
	{ WSC_END_CLOSED, 4000, "custom", NULL,
	    "the session was closed: custom (4000)" },
	{ WSC_END_LOST, 0, "", "no answer from the reflector for 45 s (3 pings "
	    "unanswered)", "lost the connection to the reflector: no answer "
	    "from the reflector for 45 s (3 pings unanswered)" },
	{ WSC_END_DIAL, 0, "", "cannot connect to h port 1: Connection refused",
	    "cannot connect to h port 1: Connection refused" },
	{ WSC_END_REFUSED, 0, "", "h refused the session: 409",
	    "h refused the session: 409" },
};

START_TEST(test_words)
{
	char buf[300];

	ck_assert_str_eq(conn_end_words(cases[_i].kind, cases[_i].code,
	    cases[_i].reason, cases[_i].err, buf, sizeof (buf)),
	    cases[_i].words);
}
END_TEST

Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("conn");

	tcase_add_loop_test(tc, test_words, 0, NELEM(cases));
	suite_add_tcase(s, tc);
	return (s);
}
