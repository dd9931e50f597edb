/*
 * test_wshandshake.c: wshandshake.h, the opening handshake, both sides.
 */
#include <stdio.h>
#include <string.h>

#include "httphead.h"
#include "suites.h"
#include "wshandshake.h"

#define	SAMPLE_KEY	"dGhlIHNhbXBsZSBub25jZQ=="
#define	SAMPLE_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

START_TEST(test_accept_sample)
{
	char out[WSH_ACCEPT_LEN + 1];

	wshandshake_accept(SAMPLE_KEY, strlen(SAMPLE_KEY), out);
	ck_assert_str_eq(out, SAMPLE_ACCEPT);
}
END_TEST

/* --- server side ------------------------------------------------------- */

#define	KEYH	"Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"

static const struct {
	const char	*head;
	int		status;		/* 0: accepted */
	int		ping_ok;
	const char	*why;
} requests[] = {
	{ "GET /attach/a/master HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n" KEYH "Sec-WebSocket-Version: 13\r\n\r\n",
	    0, 0, "a browser's request" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "\r\n", 0, 0, "no version: 13" },
	{ "GET / HTTP/1.1\r\nUpgrade: WebSocket\r\n"
	    "Connection: keep-alive, Upgrade\r\n" KEYH "\r\n", 0, 0,
	    "Firefox's Connection" },
	{ "get / HTTP/1.1\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
	    "sec-websocket-key: " SAMPLE_KEY "\r\nsec-websocket-version: 13\r\n"
	    "\r\n", 0, 0, "all in lowercase" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "X-Medusa-Ping: 1\r\n\r\n", 0, 1, "ping header" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "x-medusa-ping: 0\r\n\r\n", 0, 0, "ping header 0" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "X-Medusa-Ping: yes\r\n\r\n", 0, 0, "ping header yes" },
	{ "GET / HTTP/1.1\r\nConnection: Upgrade\r\n" KEYH "\r\n", 400, 0,
	    "no Upgrade" },
	{ "GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" KEYH
	    "\r\n", 400, 0, "Upgrade: h2c" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\n" KEYH "\r\n", 400, 0,
	    "no Connection" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
	    KEYH "\r\n", 400, 0, "Connection without upgrade" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "\r\n", 400, 0, "no key" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n\r\n", 400, 0,
	    "key of 23" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ===\r\n\r\n", 400, 0,
	    "key of 25" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQAA\r\n\r\n", 400, 0,
	    "key without ==" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!Q==\r\n\r\n", 400, 0,
	    "key with !" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key:\r\n\r\n", 400, 0, "empty key" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH KEYH "\r\n", 400, 0, "two keys" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "Sec-WebSocket-Version: 8\r\n\r\n", 426, 0, "version 8" },
	{ "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "Sec-WebSocket-Version: 13, 8\r\n\r\n", 426, 0,
	    "version list" },
	{ "POST / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "\r\n", 405, 0, "POST" },
	{ "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    KEYH "\r\n", 400, 0, "HTTP/1.0" },
};

START_TEST(test_check_request)
{
	struct httphead h;
	struct wsh_error err = { 0, NULL, NULL };
	char accept[WSH_ACCEPT_LEN + 1];
	int ping_ok = -1, r;
	const char *t = requests[_i].head;

	ck_assert_int_eq(httphead_parse_request(t, strlen(t), &h), HTTPHEAD_OK);
	r = wshandshake_check_request(&h, accept, &ping_ok, &err);
	if (requests[_i].status == 0) {
		ck_assert_msg(r == 0, "%s: refused %d %s", requests[_i].why,
		    err.we_status, err.we_message);
		ck_assert_str_eq(accept, SAMPLE_ACCEPT);
		ck_assert_int_eq(ping_ok, requests[_i].ping_ok);
	} else {
		ck_assert_msg(r == -1, "%s: accepted", requests[_i].why);
		ck_assert_msg(err.we_status == requests[_i].status,
		    "%s: status %d", requests[_i].why, err.we_status);
		ck_assert_ptr_nonnull(err.we_code);
		ck_assert_ptr_nonnull(err.we_message);
		ck_assert_int_eq(ping_ok, 0);
	}
}
END_TEST

START_TEST(test_response_text)
{
	char out[256];
	size_t n = wshandshake_response(out, sizeof (out), SAMPLE_ACCEPT);
	struct httphead h;
	const struct httphead_span *v;

	ck_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
	    "\r\n");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_int_eq(httphead_parse_response(out, n, &h), HTTPHEAD_OK);
	ck_assert_uint_eq(httphead_count(&h, "Connection"), 1);
	v = httphead_get(&h, "Connection");
	ck_assert(v->s_n == 7 && memcmp(v->s_p, "Upgrade", 7) == 0);
	/* Too small a buffer: 0, never a cut response. */
	ck_assert_uint_eq(wshandshake_response(out, n, SAMPLE_ACCEPT), 0);
	ck_assert_uint_eq(wshandshake_response(out, n + 1, SAMPLE_ACCEPT), n);
}
END_TEST

/* --- client side ------------------------------------------------------- */

START_TEST(test_key)
{
	char k1[WSH_KEY_LEN + 1], k2[WSH_KEY_LEN + 1];

	ck_assert_int_eq(wshandshake_key(k1), 0);
	ck_assert_int_eq(wshandshake_key(k2), 0);
	ck_assert_uint_eq(strlen(k1), WSH_KEY_LEN);
	ck_assert_str_eq(k1 + 22, "==");
	ck_assert_uint_eq(strspn(k1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/"), 22);
	ck_assert_str_ne(k1, k2);
}
END_TEST

/* Our client's request passes our server's check, and back again. */
START_TEST(test_round_trip)
{
	char key[WSH_KEY_LEN + 1], req[512], res[256], accept[WSH_ACCEPT_LEN + 1];
	char err[128] = "";
	struct httphead h;
	struct wsh_error we;
	size_t n;
	int ping_ok;

	ck_assert_int_eq(wshandshake_key(key), 0);
	n = wshandshake_request(req, sizeof (req), "localhost:8381",
	    "/attach/abc/slave", key, "X-Medusa-Ping: 1\r\n");
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(n, strlen(req));
	ck_assert_int_eq(httphead_parse_request(req, n, &h), HTTPHEAD_OK);
	ck_assert_uint_eq(h.hh_len, n);
	ck_assert(httphead_span_ieq(&h.hh_target, "/attach/abc/slave"));
	ck_assert(httphead_span_ieq(httphead_get(&h, "Host"),
	    "localhost:8381"));
	ck_assert_int_eq(wshandshake_check_request(&h, accept, &ping_ok, &we),
	    0);
	ck_assert_int_eq(ping_ok, 1);

	n = wshandshake_response(res, sizeof (res), accept);
	ck_assert_int_eq(httphead_parse_response(res, n, &h), HTTPHEAD_OK);
	ck_assert_int_eq(wshandshake_check_response(&h, key, err,
	    sizeof (err)), 0);

	/* Without extra headers; and a buffer too small gives 0. */
	n = wshandshake_request(req, sizeof (req), "h", "/", key, NULL);
	ck_assert_int_eq(httphead_parse_request(req, n, &h), HTTPHEAD_OK);
	ck_assert_int_eq(wshandshake_check_request(&h, accept, &ping_ok, &we),
	    0);
	ck_assert_int_eq(ping_ok, 0);
	ck_assert_uint_eq(wshandshake_request(req, n, "h", "/", key, NULL), 0);
}
END_TEST

static const struct {
	const char	*head;
	int		ok;
} client_responses[] = {
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT
	    "\r\n\r\n", 1 },
	{ "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\n"
	    "connection: keep-alive, upgrade\r\nsec-websocket-accept: "
	    SAMPLE_ACCEPT "\r\n\r\n", 1 },
	{ "HTTP/1.1 200 OK\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT
	    "\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT
	    "\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT
	    "\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOA=\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
	    SAMPLE_ACCEPT "x\r\n\r\n", 0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: "
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", 0 },
};

START_TEST(test_check_response)
{
	struct httphead h;
	char err[128] = "";
	const char *t = client_responses[_i].head;
	int r;

	ck_assert_int_eq(httphead_parse_response(t, strlen(t), &h),
	    HTTPHEAD_OK);
	r = wshandshake_check_response(&h, SAMPLE_KEY, err, sizeof (err));
	if (client_responses[_i].ok) {
		ck_assert_msg(r == 0, "refused: %s", err);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert_uint_gt(strlen(err), 0);
	}
}
END_TEST

Suite *
wshandshake_suite(void)
{
	Suite *s = suite_create("wshandshake");
	TCase *tc = tcase_create("server");
	TCase *tk = tcase_create("client");

	tcase_add_test(tc, test_accept_sample);
	tcase_add_loop_test(tc, test_check_request, 0, NELEM(requests));
	tcase_add_test(tc, test_response_text);
	suite_add_tcase(s, tc);
	tcase_add_test(tk, test_key);
	tcase_add_test(tk, test_round_trip);
	tcase_add_loop_test(tk, test_check_response, 0,
	    NELEM(client_responses));
	suite_add_tcase(s, tk);
	return (s);
}
