/*
 * test_httpresp.c: httpresp.h, the error responses sent before an upgrade.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "httphead.h"
#include "httpresp.h"
#include "suites.h"

static const struct {
	int		status;
	const char	*reason;
} reasons[] = {
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 410, "Gone" },
	{ 426, "Upgrade Required" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
	{ 299, "Error" },
};

START_TEST(test_reasons)
{
	ck_assert_str_eq(httpresp_reason(reasons[_i].status),
	    reasons[_i].reason);
}
END_TEST

static const struct {
	int		status;
	const char	*code;
	const char	*message;
	const char	*extra;
} errors[] = {
	{ 404, "ResourceNotFound", "no such route", NULL },
	{ 400, "BadRequest", "say \"hello\"\\ or\nnot\r\t\x01\x1f", NULL },
	{ 426, "UnsupportedWebSocketVersion", "only 13",
	    "Sec-WebSocket-Version: 13\r\n" },
	{ 503, "ServiceUnavailable", "", "Retry-After: 1\r\nX-A: b\r\n" },
	{ 409, "Conflict", "caf\xc3\xa9 \xe2\x82\xac", NULL },
	{ 500, "x", NULL, NULL },	/* a long message: see below */
};

/*
 * The response parses as an HTTP head whose Content-Length is the body's
 * length, and the body as JSON holding the code and message given.
 */
START_TEST(test_error)
{
	char msg[1000], out[2048];
	const char *message = errors[_i].message;
	struct httphead h;
	const struct httphead_span *v;
	json_t *j;
	json_error_t je;
	size_t n;
	char *end;

	if (message == NULL) {
		memset(msg, 'm', sizeof (msg) - 1);
		msg[sizeof (msg) - 1] = '\0';
		message = msg;
	}
	n = httpresp_error(out, sizeof (out), errors[_i].status,
	    errors[_i].code, message, errors[_i].extra);
	ck_assert_uint_eq(n, strlen(out));
	ck_assert_int_eq(httphead_parse_response(out, n, &h), HTTPHEAD_OK);
	ck_assert_int_eq(h.hh_status, errors[_i].status);
	ck_assert(httphead_span_ieq(&h.hh_reason,
	    httpresp_reason(errors[_i].status)));
	ck_assert(httphead_span_ieq(httphead_get(&h, "Content-Type"),
	    "application/json"));
	ck_assert(httphead_span_ieq(httphead_get(&h, "Connection"), "close"));
	v = httphead_get(&h, "Content-Length");
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(strtoul(v->s_p, &end, 10), n - h.hh_len);
	ck_assert_ptr_eq(end, v->s_p + v->s_n);
	if (errors[_i].extra != NULL)
		ck_assert_ptr_nonnull(strstr(out, errors[_i].extra));

	j = json_loadb(out + h.hh_len, n - h.hh_len, 0, &je);
	ck_assert_msg(j != NULL, "body: %s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(j, "code")),
	    errors[_i].code);
	if (message == msg) {
		/* Cut to fit, but still a string, and a prefix of it. */
		const char *got = json_string_value(json_object_get(j,
		    "message"));
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_gt(strlen(got), 100);
		ck_assert(strncmp(got, msg, strlen(got)) == 0);
	} else {
		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "message")), message);
	}
	ck_assert_uint_eq(json_object_size(j), 2);
	json_decref(j);
}
END_TEST

/* A buffer too small: cut, NUL-terminated, never overrun. */
START_TEST(test_error_cut)
{
	char out[64];

	memset(out, 'x', sizeof (out));
	ck_assert_uint_eq(httpresp_error(out, 40, 400, "BadRequest", "m",
	    NULL), 39);
	ck_assert_uint_eq(strlen(out), 39);
	ck_assert_int_eq(out[40], 'x');
	ck_assert(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
}
END_TEST

START_TEST(test_json_head)
{
	static const size_t lens[] = { 0, 1, 1234, 1 << 20 };
	char out[256];

	for (size_t i = 0; i < NELEM(lens); i++) {
		struct httphead h;
		size_t n = httpresp_json_head(out, sizeof (out), lens[i]);

		ck_assert_uint_eq(n, strlen(out));
		ck_assert_int_eq(httphead_parse_response(out, n, &h),
		    HTTPHEAD_OK);
		ck_assert_uint_eq(h.hh_len, n);
		ck_assert_int_eq(h.hh_status, 200);
		ck_assert_uint_eq(strtoul(httphead_get(&h,
		    "Content-Length")->s_p, NULL, 10), lens[i]);
		ck_assert(httphead_span_ieq(httphead_get(&h, "Content-Type"),
		    "application/json"));
	}
}
END_TEST

Suite *
httpresp_suite(void)
{
	Suite *s = suite_create("httpresp");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_reasons, 0, NELEM(reasons));
	tcase_add_loop_test(tc, test_error, 0, NELEM(errors));
	tcase_add_test(tc, test_error_cut);
	tcase_add_test(tc, test_json_head);
	suite_add_tcase(s, tc);
	return (s);
}
