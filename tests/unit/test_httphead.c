/*
 * test_httphead.c: httphead.h, the HTTP/1.x head parser.
 */
#include <stdio.h>
#include <string.h>

#include "httphead.h"
#include "suites.h"

static int
span_is(const struct httphead_span *sp, const char *s)
{
	return (sp->s_n == strlen(s) && memcmp(sp->s_p, s, sp->s_n) == 0);
}

/* --- requests ---------------------------------------------------------- */

static const struct {
	const char	*head;
	const char	*after;		/* bytes after the head (a body) */
	const char	*method, *target;
	int		minor;
	size_t		nheaders;
	const char	*hdrs[8];	/* name, value, ... of the first ones */
} good_req[] = {
	{ "GET / HTTP/1.1\r\n\r\n", "", "GET", "/", 1, 0, { NULL } },
	{ "GET /status HTTP/1.0\r\nHost: a\r\n\r\n", "", "GET", "/status",
	    0, 1, { "Host", "a" } },
	{ "GET /x HTTP/1.1\nHost: b\nX: y\n\n", "", "GET", "/x", 1, 2,
	    { "Host", "b", "X", "y" } },
	{ "GET /x HTTP/1.1\r\nHost: b\nX: y\r\n\n", "", "GET", "/x", 1, 2,
	    { "Host", "b", "X", "y" } },
	{ "POST /p?q=1&r HTTP/1.1\r\nContent-Length: 4\r\n\r\n", "body",
	    "POST", "/p?q=1&r", 1, 1, { "Content-Length", "4" } },
	{ "GET http://h:1/a HTTP/1.1\r\nA:b\r\nB:  \t c d \t \r\nC:\r\n"
	    "D: \r\n\r\n", "", "GET", "http://h:1/a", 1, 4,
	    { "A", "b", "B", "c d", "C", "", "D", "" } },
	{ "M-SEARCH * HTTP/1.1\r\nX-Tab:\tv\tw\r\n\r\n", "", "M-SEARCH", "*",
	    1, 1, { "X-Tab", "v\tw" } },
	{ "get /%41~ HTTP/1.9\r\nweird!#$%&'*+-.^_`|~name: \xc3\xa9\x80\r\n\r\n",
	    "GET / HTTP/1.1\r\n\r\n", "get", "/%41~", 9, 1,
	    { "weird!#$%&'*+-.^_`|~name", "\xc3\xa9\x80" } },
};

START_TEST(test_good_requests)
{
	char buf[512];
	struct httphead h;
	size_t hl = strlen(good_req[_i].head);
	size_t n = (size_t)snprintf(buf, sizeof (buf), "%s%s",
	    good_req[_i].head, good_req[_i].after);

	ck_assert_int_eq(httphead_parse_request(buf, n, &h), HTTPHEAD_OK);
	ck_assert_uint_eq(h.hh_len, hl);
	ck_assert(span_is(&h.hh_method, good_req[_i].method));
	ck_assert(span_is(&h.hh_target, good_req[_i].target));
	ck_assert_int_eq(h.hh_minor, good_req[_i].minor);
	ck_assert_uint_eq(h.hh_nheaders, good_req[_i].nheaders);
	for (size_t k = 0; k < 4 && good_req[_i].hdrs[2 * k] != NULL; k++) {
		ck_assert(span_is(&h.hh_headers[k].h_name,
		    good_req[_i].hdrs[2 * k]));
		ck_assert_msg(span_is(&h.hh_headers[k].h_value,
		    good_req[_i].hdrs[2 * k + 1]), "header %zu value \"%.*s\"",
		    k, (int)h.hh_headers[k].h_value.s_n,
		    h.hh_headers[k].h_value.s_p);
	}
	/* Spans point into the caller's buffer. */
	ck_assert_ptr_eq(h.hh_method.s_p, buf);
	/* Every shorter prefix is incomplete. */
	for (size_t k = 0; k < hl; k++)
		ck_assert_msg(httphead_parse_request(buf, k, &h) ==
		    HTTPHEAD_INCOMPLETE, "prefix %zu", k);
}
END_TEST

struct bad {
	const char	*text;
	size_t		n;
	int		want;
	const char	*why;
};
#define	BAD(lit, want, why)	{ (lit), sizeof (lit) - 1, (want), (why) }

static const struct bad bad_req[] = {
	BAD("/ HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "no method"),
	BAD(" / HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "leading space"),
	BAD("\r\n\r\n", HTTPHEAD_E_MALFORMED, "empty request line"),
	BAD("GE(T / HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "( in method"),
	BAD("GE:T / HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, ": in method"),
	BAD("G\x80T / HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "8-bit method"),
	BAD("GET\r\n\r\n", HTTPHEAD_E_MALFORMED, "method only"),
	BAD("GET HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "missing target"),
	BAD("GET  HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "empty target"),
	BAD("GET /\x01 HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "^A in target"),
	BAD("GET /\x7f HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "DEL in target"),
	BAD("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "8-bit target"),
	BAD("GET /\t HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "tab in target"),
	BAD("GET /\0 HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "NUL in target"),
	BAD("GET /\r HTTP/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "CR in target"),
	BAD("GET / HTTP/1.x\r\n\r\n", HTTPHEAD_E_MALFORMED, "HTTP/1.x"),
	BAD("GET / HTTX/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "HTTX/1.1"),
	BAD("GET / http/1.1\r\n\r\n", HTTPHEAD_E_MALFORMED, "lowercase http"),
	BAD("GET / HTTP/1.1 \r\n\r\n", HTTPHEAD_E_MALFORMED, "trailing space"),
	BAD("GET / HTTP/1.10\r\n\r\n", HTTPHEAD_E_MALFORMED, "HTTP/1.10"),
	BAD("GET / HTTP/11\r\n\r\n", HTTPHEAD_E_MALFORMED, "HTTP/11"),
	BAD("GET / HTTP/1\r\n\r\n", HTTPHEAD_E_MALFORMED, "HTTP/1"),
	BAD("GET / \r\n\r\n", HTTPHEAD_E_MALFORMED, "no version"),
	BAD("GET / HTTP/1.1 x\r\n\r\n", HTTPHEAD_E_MALFORMED, "three spaces"),
	BAD("GET / HTTP/2.0\r\n\r\n", HTTPHEAD_E_VERSION, "HTTP/2.0"),
	BAD("GET / HTTP/0.9\r\n\r\n", HTTPHEAD_E_VERSION, "HTTP/0.9"),
	BAD("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTPHEAD_E_VERSION,
	    "HTTP/2 preface"),
	BAD("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "obs-fold with a space"),
	BAD("GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "obs-fold with a tab"),
	BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "first header indented"),
	BAD("GET / HTTP/1.1\r\nHost\r\n\r\n", HTTPHEAD_E_MALFORMED, "no colon"),
	BAD("GET / HTTP/1.1\r\n: a\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "empty header name"),
	BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "space before colon"),
	BAD("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "( in header name"),
	BAD("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "NUL in header value"),
	BAD("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "NUL in header name"),
	BAD("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "bare CR in header value"),
	BAD("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "CR CR LF"),
	BAD("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "^A in header value"),
	BAD("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", HTTPHEAD_E_MALFORMED,
	    "DEL in header value"),
	BAD("GET / HTTP/1.1\r\nHost: a\r\n", HTTPHEAD_INCOMPLETE,
	    "no blank line"),
	BAD("GET / HTTP/1.1\r\n\r", HTTPHEAD_INCOMPLETE, "half a blank line"),
	BAD("", HTTPHEAD_INCOMPLETE, "nothing"),
};

START_TEST(test_bad_requests)
{
	struct httphead h;
	int r = httphead_parse_request(bad_req[_i].text, bad_req[_i].n, &h);

	ck_assert_msg(r == bad_req[_i].want, "%s: got %d, want %d",
	    bad_req[_i].why, r, bad_req[_i].want);
}
END_TEST

/* A head of n headers "H<i>: v<i>". */
static size_t
many_headers(char *buf, size_t cap, size_t n)
{
	size_t len = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\n");

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "H%zu: v%zu\r\n",
		    i, i);
	len += (size_t)snprintf(buf + len, cap - len, "\r\n");
	return (len);
}

START_TEST(test_many_headers)
{
	char buf[4096];
	struct httphead h;
	size_t n;

	n = many_headers(buf, sizeof (buf), HTTPHEAD_MAX_HEADERS);
	ck_assert_int_eq(httphead_parse_request(buf, n, &h), HTTPHEAD_OK);
	ck_assert_uint_eq(h.hh_nheaders, HTTPHEAD_MAX_HEADERS);
	ck_assert(span_is(&h.hh_headers[63].h_name, "H63"));
	ck_assert(span_is(&h.hh_headers[63].h_value, "v63"));
	ck_assert(span_is(httphead_get(&h, "h17"), "v17"));
	n = many_headers(buf, sizeof (buf), HTTPHEAD_MAX_HEADERS + 1);
	ck_assert_int_eq(httphead_parse_request(buf, n, &h),
	    HTTPHEAD_E_TOO_MANY);
	n = many_headers(buf, sizeof (buf), 200);
	ck_assert_int_eq(httphead_parse_request(buf, n, &h),
	    HTTPHEAD_E_TOO_MANY);
}
END_TEST

/* --- the end of a head, read in pieces --------------------------------- */

static const struct {
	const char	*text;
	size_t		end;
} ends[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27 },
	{ "GET / HTTP/1.1\nHost: a\n\n", 24 },
	{ "GET / HTTP/1.1\r\nHost: a\n\r\n", 26 },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\n", 26 },
	{ "GET / HTTP/1.1\r\n\r\nbody\r\n\r\n", 18 },
	{ "\r\n\r\n", 4 },
	{ "\n\n", 2 },
	{ "\n\r\n", 3 },
	{ "a\r\n\r", 0 },
	{ "a\r\nb\r\nc\r\n", 0 },
	{ "a\r\r\n\r\r\n", 0 },
	{ "abc", 0 },
	{ "", 0 },
};

/*
 * Read in two pieces split at every point, each search resuming where the
 * last left off (as the supervisor does), and then a byte at a time.
 */
START_TEST(test_end_resume)
{
	const char *t = ends[_i].text;
	size_t len = strlen(t), want = ends[_i].end, scan, e;

	ck_assert_uint_eq(httphead_end(t, len, 0), want);
	for (size_t k = 0; k <= len; k++) {
		e = httphead_end(t, k, 0);
		if (e != 0) {
			ck_assert_uint_eq(e, want);
			continue;
		}
		e = httphead_end(t, len, k);
		ck_assert_msg(e == want, "\"%s\" split at %zu: %zu, want %zu",
		    t, k, e, want);
	}
	scan = 0;
	e = 0;
	for (size_t k = 1; k <= len && e == 0; k++) {
		e = httphead_end(t, k, scan);
		scan = k;
	}
	ck_assert_msg(e == want, "\"%s\" bytewise: %zu, want %zu", t, e, want);
}
END_TEST

/* --- plausibility ------------------------------------------------------ */

static const struct {
	const char	*text;
	size_t		n;
	int		want;
} plausible[] = {
	{ "", 0, 1 },
	{ "G", 1, 1 },
	{ "GET", 3, 1 },
	{ "GET ", 4, 1 },
	{ "GET / HTTP/1.1\r\n", 16, 1 },
	{ "PRI * HTTP/2.0\r\n", 16, 1 },
	{ "X-CUSTOM-METHOD!", 16, 1 },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 /", 34, 1 },	/* 32 bytes */
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 /", 35, 0 },	/* 33 */
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", 33, 0 },
	{ " GET /", 6, 0 },
	{ "GET\r\n", 5, 0 },
	{ "GE(T /", 6, 0 },
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11, 0 },
	{ "\x16", 1, 0 },
	{ "\x00\x01\x02", 3, 0 },
	{ "\xff\xfe", 2, 0 },
	{ "SSH-2.0-OpenSSH_9.2\r\n", 21, 0 },
};

START_TEST(test_plausible)
{
	ck_assert_msg(httphead_plausible(plausible[_i].text,
	    plausible[_i].n) == plausible[_i].want, "row %d", _i);
}
END_TEST

/* --- header lookups ---------------------------------------------------- */

static const char lookup_head[] =
    "GET / HTTP/1.1\r\n"
    "Host: example\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Upgrade: WebSocket\r\n"
    "connection: close\r\n"
    "X-List: a,, b ,\tc\t,\r\n"
    "Empty:\r\n"
    "\r\n";

START_TEST(test_lookup)
{
	struct httphead h;
	const struct httphead_span *v;

	ck_assert_int_eq(httphead_parse_request(lookup_head,
	    sizeof (lookup_head) - 1, &h), HTTPHEAD_OK);
	ck_assert_ptr_null(httphead_get(&h, "Missing"));
	ck_assert_uint_eq(httphead_count(&h, "Missing"), 0);
	ck_assert_uint_eq(httphead_count(&h, "CONNECTION"), 2);
	ck_assert_uint_eq(httphead_count(&h, "host"), 1);
	v = httphead_get(&h, "CONNECTION");
	ck_assert(span_is(v, "keep-alive, Upgrade"));	/* the first */
	ck_assert(httphead_has_token(v, "upgrade"));
	ck_assert(httphead_has_token(v, "Keep-Alive"));
	ck_assert(!httphead_has_token(v, "close"));
	v = httphead_get(&h, "upgrade");
	ck_assert(httphead_span_ieq(v, "websocket"));
	ck_assert(!httphead_span_ieq(v, "websocke"));
	ck_assert(!httphead_span_ieq(v, "websockets"));
	v = httphead_get(&h, "x-list");
	ck_assert(httphead_has_token(v, "a"));
	ck_assert(httphead_has_token(v, "b"));
	ck_assert(httphead_has_token(v, "c"));
	ck_assert(!httphead_has_token(v, "d"));
	v = httphead_get(&h, "Empty");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(v->s_n, 0);
	ck_assert(!httphead_has_token(v, "a"));
}
END_TEST

static const struct {
	const char	*value;
	const char	*token;
	int		want;
} tokens[] = {
	{ "Upgrade", "upgrade", 1 },
	{ "keep-alive, Upgrade", "upgrade", 1 },
	{ "keep-alive,Upgrade", "UPGRADE", 1 },
	{ "Upgrade, keep-alive", "keep-alive", 1 },
	{ " \tupgrade\t ", "upgrade", 1 },
	{ ",,upgrade,,", "upgrade", 1 },
	{ "Upgraded", "upgrade", 0 },
	{ "Upgrad", "upgrade", 0 },
	{ "xupgrade", "upgrade", 0 },
	{ "up grade", "upgrade", 0 },
	{ "keep-alive upgrade", "upgrade", 0 },
	{ "", "upgrade", 0 },
	{ ",", "upgrade", 0 },
};

START_TEST(test_has_token)
{
	struct httphead_span v = { tokens[_i].value, strlen(tokens[_i].value) };

	ck_assert_msg(httphead_has_token(&v, tokens[_i].token) ==
	    tokens[_i].want, "\"%s\" has \"%s\"", tokens[_i].value,
	    tokens[_i].token);
}
END_TEST

/* --- responses --------------------------------------------------------- */

static const struct {
	const char	*text;
	int		want;
	int		status;
	const char	*reason;
	int		minor;
	size_t		nheaders;
} responses[] = {
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", HTTPHEAD_OK, 101,
	    "Switching Protocols", 1, 2 },
	{ "HTTP/1.1 101\r\n\r\n", HTTPHEAD_OK, 101, "", 1, 0 },
	{ "HTTP/1.1 101 \r\n\r\n", HTTPHEAD_OK, 101, "", 1, 0 },
	{ "HTTP/1.0 200 OK\nA: b\n\n", HTTPHEAD_OK, 200, "OK", 0, 1 },
	{ "HTTP/1.1 404 Not  Found \r\n\r\n", HTTPHEAD_OK, 404,
	    "Not  Found ", 1, 0 },
	{ "HTTP/1.1 999 x\r\n\r\n", HTTPHEAD_OK, 999, "x", 1, 0 },
	{ "HTTP/1.1 10\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1.1 1011 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1.1 1x1 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1.1  101 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1.1-101 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTX/1.1 101 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1 101 X\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "\r\n\r\n", HTTPHEAD_E_MALFORMED, 0, NULL, 0, 0 },
	{ "HTTP/1.1 101 X\r\nBad Header\r\n\r\n", HTTPHEAD_E_MALFORMED, 0,
	    NULL, 0, 0 },
	{ "HTTP/2.0 101 X\r\n\r\n", HTTPHEAD_E_VERSION, 0, NULL, 0, 0 },
	{ "HTTP/1.1 101 X\r\n", HTTPHEAD_INCOMPLETE, 0, NULL, 0, 0 },
};

START_TEST(test_responses)
{
	struct httphead h;
	const char *t = responses[_i].text;
	int r = httphead_parse_response(t, strlen(t), &h);

	ck_assert_msg(r == responses[_i].want, "row %d: got %d", _i, r);
	if (r != HTTPHEAD_OK)
		return;
	ck_assert_int_eq(h.hh_status, responses[_i].status);
	ck_assert(span_is(&h.hh_reason, responses[_i].reason));
	ck_assert_int_eq(h.hh_minor, responses[_i].minor);
	ck_assert_uint_eq(h.hh_nheaders, responses[_i].nheaders);
	ck_assert_uint_eq(h.hh_len, strlen(t));
}
END_TEST

Suite *
httphead_suite(void)
{
	Suite *s = suite_create("httphead");
	TCase *tc = tcase_create("request");
	TCase *te = tcase_create("end");
	TCase *tl = tcase_create("lookup");
	TCase *tr = tcase_create("response");

	tcase_add_loop_test(tc, test_good_requests, 0, NELEM(good_req));
	tcase_add_loop_test(tc, test_bad_requests, 0, NELEM(bad_req));
	tcase_add_test(tc, test_many_headers);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(te, test_end_resume, 0, NELEM(ends));
	tcase_add_loop_test(te, test_plausible, 0, NELEM(plausible));
	suite_add_tcase(s, te);
	tcase_add_test(tl, test_lookup);
	tcase_add_loop_test(tl, test_has_token, 0, NELEM(tokens));
	suite_add_tcase(s, tl);
	tcase_add_loop_test(tr, test_responses, 0, NELEM(responses));
	suite_add_tcase(s, tr);
	return (s);
}
