/*
 * test_mlproto.c: the "mlogin:" protocol's messages, tables of good and
 * bad.
 */
#include <stdlib.h>
#include <string.h>

#include "mlproto.h"
#include "suites.h"

static const struct {
	const char		*text;
	enum mlproto_kind	kind;
	const char		*json;
} kinds[] = {
	{ "mlogin:{\"type\":\"start\"}", MLPROTO_FROM_PEER, "{\"type\":\"start\"}" },
	{ "medusa:{\"type\":\"linkup\"}", MLPROTO_FROM_REFLECTOR,
	    "{\"type\":\"linkup\"}" },
	{ "mlogin:", MLPROTO_FROM_PEER, "" },
	{ "ping", MLPROTO_OTHER, NULL },
	{ "mlogin", MLPROTO_OTHER, NULL },
	{ "MLOGIN:{}", MLPROTO_OTHER, NULL },
	{ "", MLPROTO_OTHER, NULL },
};

START_TEST(test_kind)
{
	const char *json;
	size_t jn;
	enum mlproto_kind k = mlproto_kind((const uint8_t *)kinds[_i].text,
	    strlen(kinds[_i].text), &json, &jn);

	ck_assert_int_eq(k, kinds[_i].kind);
	if (kinds[_i].json == NULL) {
		ck_assert_ptr_null(json);
	} else {
		ck_assert_uint_eq(jn, strlen(kinds[_i].json));
		ck_assert(memcmp(json, kinds[_i].json, jn) == 0);
	}
}
END_TEST

static const struct {
	const char	*json;
	const char	*type;		/* NULL: refused */
	const char	*why;
} parses[] = {
	{ "{\"type\":\"start\",\"pty\":false}", "start", NULL },
	{ "{\"type\":\"\"}", "", NULL },
	{ "{not json", NULL, "" },
	{ "[\"type\",\"start\"]", NULL, "not an object with a type" },
	{ "{\"type\":5}", NULL, "not an object with a type" },
	{ "{\"kind\":\"start\"}", NULL, "not an object with a type" },
	{ "{\"type\":\"a\",\"type\":\"b\"}", NULL, "duplicate" },
	{ "{\"type\":\"a\"} x", NULL, "" },
	{ "", NULL, "" },
};

START_TEST(test_parse)
{
	const char *type = NULL;
	char err[200] = "";
	json_t *o = mlproto_parse(parses[_i].json, strlen(parses[_i].json),
	    &type, err, sizeof (err));

	if (parses[_i].type == NULL) {
		ck_assert_ptr_null(o);
		ck_assert_msg(strstr(err, parses[_i].why) != NULL, "%s: %s",
		    parses[_i].json, err);
		ck_assert(err[0] != '\0');
	} else {
		ck_assert_ptr_nonnull(o);
		ck_assert_str_eq(type, parses[_i].type);
		json_decref(o);
	}
}
END_TEST

START_TEST(test_encode)
{
	char *s = mlproto_encode(json_pack("{s:s, s:i, s:b}", "type", "started",
	    "pid", 42, "pty", 0));

	ck_assert_str_eq(s, "mlogin:{\"type\":\"started\",\"pid\":42,"
	    "\"pty\":false}");
	free(s);
	ck_assert_ptr_null(mlproto_encode(NULL));
}
END_TEST

static const struct {
	const char	*data;
	size_t		n;
	const char	*msg;
} stderrs[] = {
	{ "", 0, "mlogin:{\"type\":\"stderr\",\"data\":\"\"}" },
	{ "a", 1, "mlogin:{\"type\":\"stderr\",\"data\":\"YQ==\"}" },
	{ "ab", 2, "mlogin:{\"type\":\"stderr\",\"data\":\"YWI=\"}" },
	{ "abc", 3, "mlogin:{\"type\":\"stderr\",\"data\":\"YWJj\"}" },
	{ "err\n", 4, "mlogin:{\"type\":\"stderr\",\"data\":\"ZXJyCg==\"}" },
	{ "\0\xff\n\x80", 4, "mlogin:{\"type\":\"stderr\",\"data\":\"AP8KgA==\"}" },
};

/* Encode, then decode what the other end receives: the same bytes. */
START_TEST(test_stderr_round_trip)
{
	char *msg = mlproto_stderr((const uint8_t *)stderrs[_i].data,
	    stderrs[_i].n);
	const char *type;
	char err[100];
	uint8_t *out;
	size_t on;
	json_t *o;

	ck_assert_str_eq(msg, stderrs[_i].msg);
	o = mlproto_parse(msg + 7, strlen(msg) - 7, &type, err, sizeof (err));
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(type, "stderr");
	ck_assert_int_eq(mlproto_stderr_data(o, &out, &on), 0);
	ck_assert_uint_eq(on, stderrs[_i].n);
	ck_assert(memcmp(out, stderrs[_i].data, on) == 0);
	free(out);
	json_decref(o);
	free(msg);
}
END_TEST

static const char *const bad_data[] = {
	"{\"type\":\"stderr\"}",
	"{\"type\":\"stderr\",\"data\":5}",
	"{\"type\":\"stderr\",\"data\":\"YQ=\"}",
	"{\"type\":\"stderr\",\"data\":\"Y!==\"}",
	"{\"type\":\"stderr\",\"data\":\"YWJjZ\"}",
};

START_TEST(test_stderr_bad)
{
	const char *type;
	char err[100];
	uint8_t *out;
	size_t on;
	json_t *o = mlproto_parse(bad_data[_i], strlen(bad_data[_i]), &type,
	    err, sizeof (err));

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(mlproto_stderr_data(o, &out, &on), -1);
	ck_assert_ptr_null(out);
	json_decref(o);
}
END_TEST

static const struct {
	const char	*json;
	int		status;
} exits[] = {
	{ "{\"type\":\"exit\"}", 0 },
	{ "{\"type\":\"exit\",\"code\":0}", 0 },
	{ "{\"type\":\"exit\",\"code\":3}", 3 },
	{ "{\"type\":\"exit\",\"code\":256}", 0 },
	{ "{\"type\":\"exit\",\"code\":-1}", 255 },
	{ "{\"type\":\"exit\",\"signal\":\"SIGKILL\"}", 137 },
	{ "{\"type\":\"exit\",\"signal\":\"HUP\"}", 129 },
	{ "{\"type\":\"exit\",\"signal\":\"SIGNOPE\"}", 255 },
	{ "{\"type\":\"exit\",\"code\":\"3\"}", 0 },
};

START_TEST(test_exit_status)
{
	const char *type;
	char err[100];
	json_t *o = mlproto_parse(exits[_i].json, strlen(exits[_i].json),
	    &type, err, sizeof (err));

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(mlproto_exit_status(o), exits[_i].status);
	json_decref(o);
}
END_TEST

Suite *
mlproto_suite(void)
{
	Suite *s = suite_create("mlproto");
	TCase *tc = tcase_create("mlproto");

	tcase_add_loop_test(tc, test_kind, 0, NELEM(kinds));
	tcase_add_loop_test(tc, test_parse, 0, NELEM(parses));
	tcase_add_test(tc, test_encode);
	tcase_add_loop_test(tc, test_stderr_round_trip, 0, NELEM(stderrs));
	tcase_add_loop_test(tc, test_stderr_bad, 0, NELEM(bad_data));
	tcase_add_loop_test(tc, test_exit_status, 0, NELEM(exits));
	suite_add_tcase(s, tc);
	return (s);
}
