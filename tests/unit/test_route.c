/*
 * test_route.c: route.h, what a request target names.
 */
#include <string.h>

#include "route.h"
#include "suites.h"

#define	MAX_ID	128

static const struct {
	const char	*target;
	int		kind;
	int		role;
	const char	*id;
	const char	*acct;		/* NULL: a bare path */
} routes[] = {
	{ "/status", ROUTE_STATUS, ROLE_NONE, NULL },
	{ "/status?x=1", ROUTE_STATUS, ROLE_NONE, NULL },
	{ "/status?", ROUTE_STATUS, ROLE_NONE, NULL },
	{ "http://h:1/status", ROUTE_STATUS, ROLE_NONE, NULL },
	{ "/attach/abc/master", ROUTE_ATTACH, ROLE_MASTER, "abc" },
	{ "/attach/abc/slave", ROUTE_ATTACH, ROLE_SLAVE, "abc" },
	{ "/attach/ABC-x_Y.z~9/slave", ROUTE_ATTACH, ROLE_SLAVE, "abc-x_y.z~9" },
	{ "/attach/a.b/master", ROUTE_ATTACH, ROLE_MASTER, "a.b" },
	{ "/attach/.../master", ROUTE_ATTACH, ROLE_MASTER, "..." },
	{ "/attach/.a/master", ROUTE_ATTACH, ROLE_MASTER, ".a" },
	{ "/attach/abc/master?", ROUTE_ATTACH, ROLE_MASTER, "abc" },
	{ "/attach/abc/master?a/b/c/d/e/f/g", ROUTE_ATTACH, ROLE_MASTER, "abc" },
	{ "/acct/medusa/attach/ID/slave?expires=1&signature=x", ROUTE_ATTACH,
	    ROLE_SLAVE, "id", "acct" },
	{ "/acct/medusa/attach/S1/master", ROUTE_ATTACH, ROLE_MASTER, "s1",
	    "acct" },
	{ "http://h:1/attach/a/master", ROUTE_ATTACH, ROLE_MASTER, "a" },
	{ "https://example.com/acct/medusa/attach/Q/slave?x", ROUTE_ATTACH,
	    ROLE_SLAVE, "q", "acct" },
	{ "/Jo.Smith@x-1_2/medusa/attach/q/slave", ROUTE_ATTACH, ROLE_SLAVE,
	    "q", "Jo.Smith@x-1_2" },
	{ "/a/medusa/attach/q/master", ROUTE_ATTACH, ROLE_MASTER, "q", "a" },
	{ "/metrics", ROUTE_METRICS, ROLE_NONE, NULL },
	{ "/metrics?x", ROUTE_METRICS, ROLE_NONE, NULL },
	{ "/.acct/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/a~b/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/a%40b/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/a:b/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/a+b/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/medusa/attach/q/master", ROUTE_E_BAD_ACCOUNT, 0, NULL },
	{ "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/medusa/attach/q/master", ROUTE_ATTACH, ROLE_MASTER, "q",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	{ "/metrics/", ROUTE_E_NOT_FOUND, 0, NULL },

	{ "/", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "*", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/status/", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/statusx", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x/", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x/other", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x/masters", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x/master/", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attach/x/master/extra", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/attachx/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/acct/notmedusa/attach/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/acct/medusa/attachx/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/acct/medusa/attach/x", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/acct/medusa/attach/x/master/y", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "//medusa/attach/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "//attach/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "/a/b/c/d/e/f/g", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "attach/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "http://h:1", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "http:/attach/x/master", ROUTE_E_NOT_FOUND, 0, NULL },
	{ "h:", ROUTE_E_NOT_FOUND, 0, NULL },

	{ "/attach/%41/master", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a%2fb/master", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/../master", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/./master", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach//master", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a@b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a+b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a:b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a!b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a*b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/attach/a=b/slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/acct/medusa/attach/../slave", ROUTE_E_BAD_ID, 0, NULL },
	{ "/acct/medusa/attach/%2e%2e/slave", ROUTE_E_BAD_ID, 0, NULL },
};

START_TEST(test_routes)
{
	struct route r;
	const char *t = routes[_i].target;
	int k = route_parse(t, strlen(t), MAX_ID, &r);

	ck_assert_msg(k == routes[_i].kind, "\"%s\": %d, want %d", t, k,
	    routes[_i].kind);
	ck_assert_int_eq(r.r_kind, k);
	if (k == ROUTE_ATTACH) {
		ck_assert_int_eq(r.r_role, routes[_i].role);
		ck_assert_str_eq(r.r_id, routes[_i].id);
		ck_assert_uint_eq(r.r_idlen, strlen(routes[_i].id));
		if (routes[_i].acct == NULL) {
			ck_assert_uint_eq(r.r_acctlen, 0);
		} else {
			ck_assert_str_eq(r.r_acct, routes[_i].acct);
			ck_assert_uint_eq(r.r_acctlen,
			    strlen(routes[_i].acct));
		}
	} else {
		ck_assert_uint_eq(r.r_idlen, 0);
	}
	if (k == ROUTE_STATUS)
		ck_assert_int_eq(r.r_role, ROLE_NONE);
}
END_TEST

/* Only the n bytes given are looked at. */
START_TEST(test_length_bound)
{
	struct route r;

	ck_assert_int_eq(route_parse("/attach/ab/masterXYZ", 17, MAX_ID, &r),
	    ROUTE_ATTACH);
	ck_assert_str_eq(r.r_id, "ab");
	ck_assert_int_eq(route_parse("/statusX", 7, MAX_ID, &r), ROUTE_STATUS);
}
END_TEST

/* The id's length limit, and the hard ceiling above any configuration. */
START_TEST(test_id_length)
{
	static const struct {
		size_t	idlen;
		size_t	max_id;
		int	want;
	} rows[] = {
		{ 1, 1, ROUTE_ATTACH },
		{ 5, 5, ROUTE_ATTACH },
		{ 6, 5, ROUTE_E_BAD_ID },
		{ 128, 128, ROUTE_ATTACH },
		{ 129, 128, ROUTE_E_BAD_ID },
		{ 1, 0, ROUTE_E_BAD_ID },
		{ ROUTE_ID_MAX, ROUTE_ID_MAX, ROUTE_ATTACH },
		{ ROUTE_ID_MAX, 100000, ROUTE_ATTACH },
		{ ROUTE_ID_MAX + 1, 100000, ROUTE_E_BAD_ID },
		{ 5000, 100000, ROUTE_E_BAD_ID },
	};
	static char t[5100];
	struct route r;

	for (size_t i = 0; i < NELEM(rows); i++) {
		size_t n = 0;

		memcpy(t, "/attach/", 8);
		n = 8;
		for (size_t k = 0; k < rows[i].idlen; k++)
			t[n++] = "Az09-_.~"[k % 8];
		memcpy(t + n, "/slave", 6);
		n += 6;
		ck_assert_msg(route_parse(t, n, rows[i].max_id, &r) ==
		    rows[i].want, "row %zu", i);
		if (rows[i].want == ROUTE_ATTACH) {
			ck_assert_uint_eq(r.r_idlen, rows[i].idlen);
			ck_assert_uint_eq(strlen(r.r_id), rows[i].idlen);
			ck_assert_int_eq(r.r_id[0], 'a');
		}
	}
}
END_TEST

START_TEST(test_role_names)
{
	ck_assert_str_eq(route_role_name(ROLE_MASTER), "master");
	ck_assert_str_eq(route_role_name(ROLE_SLAVE), "slave");
	ck_assert_str_eq(route_role_name(ROLE_NONE), "none");
	ck_assert_str_eq(route_role_name(42), "none");
}
END_TEST

Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_routes, 0, NELEM(routes));
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_id_length);
	tcase_add_test(tc, test_role_names);
	suite_add_tcase(s, tc);
	return (s);
}
