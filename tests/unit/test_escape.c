/*
 * test_escape.c: mlogin's escape state machine (client/escape.c), a table
 * of keystrokes fed in chunks: what is sent, which actions are found.
 */
#include <string.h>

#include "escape.h"
#include "suites.h"

static const struct {
	int		ch;		/* the escape character, -1 none */
	const char	*chunks[4];	/* fed one after the other */
	const char	*sent;		/* everything sent */
	const char	*acts;		/* actions in order: . ? i z */
} cases[] = {
	{ '~', { "~." }, "", "." },
	{ '~', { "ls\r~." }, "ls\r", "." },
	{ '~', { "ls\n~.rest" }, "ls\n", "." },
	{ '~', { "a~.b\r" }, "a~.b\r", "" },		/* not at line start */
	{ '~', { "~~x" }, "~x", "" },
	{ '~', { "~x" }, "~x", "" },			/* unknown: both */
	{ '~', { "~?~i" }, "", "?i" },			/* a line start again */
	{ '~', { "~?x~i" }, "x~i", "?" },
	{ '~', { "~\x1a" }, "", "z" },
	{ '~', { "~", "." }, "", "." },			/* split across reads */
	{ '~', { "ab\r", "~", "?" }, "ab\r", "?" },
	{ '~', { "~\r" }, "~\r", "" },
	{ '~', { "~\r~." }, "~\r", "." },
	{ '~', { "~~~." }, "~~.", "" },			/* ~~ is no line end */
	{ '%', { "~.%." }, "~.%.", "" },
	{ '%', { "%." }, "", "." },
	{ -1, { "~.", "\r~." }, "~.\r~.", "" },
	{ '~', { "" }, "", "" },
};

START_TEST(test_table)
{
	struct escape e;
	char sent[256] = "", acts[16] = "";
	size_t sl = 0, al = 0;

	escape_init(&e, cases[_i].ch);
	for (int c = 0; c < 4 && cases[_i].chunks[c] != NULL; c++) {
		const uint8_t *p = (const uint8_t *)cases[_i].chunks[c];
		size_t n = strlen(cases[_i].chunks[c]);

		while (n > 0) {
			uint8_t out[64];
			size_t on, used;
			enum escape_action act;

			used = escape_feed(&e, p, n, out, &on, &act);
			ck_assert_uint_le(on, n + 1);
			memcpy(sent + sl, out, on);
			sl += on;
			p += used;
			n -= used;
			if (act != ESCAPE_NONE) {
				ck_assert(used > 0);
				acts[al++] = ".?iz"[act - ESCAPE_END];
				if (act == ESCAPE_END)
					n = 0;	/* the session ends */
			} else {
				ck_assert_uint_eq(n, 0);
			}
		}
	}
	sent[sl] = '\0';
	acts[al] = '\0';
	ck_assert_str_eq(sent, cases[_i].sent);
	ck_assert_str_eq(acts, cases[_i].acts);
}
END_TEST

Suite *
escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *tc = tcase_create("escape");

	tcase_add_loop_test(tc, test_table, 0, NELEM(cases));
	suite_add_tcase(s, tc);
	return (s);
}
