/*
 * test_wsurl.c: ws:// and wss:// URL parsing, tables of good and bad.
 */
#include <string.h>

#include "suites.h"
#include "wsurl.h"

static const struct {
	const char	*url;
	int		tls;
	const char	*host, *port, *hostport, *path;
} good[] = {
	{ "ws://h/attach/a/master", 0, "h", "80", "h", "/attach/a/master" },
	{ "wss://h/attach/a/slave", 1, "h", "443", "h", "/attach/a/slave" },
	{ "ws://127.0.0.1:8381/attach/x/master", 0, "127.0.0.1", "8381",
	    "127.0.0.1:8381", "/attach/x/master" },
	{ "wss://[::1]:9443/p", 1, "::1", "9443", "[::1]:9443", "/p" },
	{ "ws://[fe80::1]/p", 0, "fe80::1", "80", "[fe80::1]", "/p" },
	{ "https://manta.example.com/acct/medusa/attach/j/slave?expires=1&"
	    "signature=a%2Fb", 1, "manta.example.com", "443",
	    "manta.example.com", "/acct/medusa/attach/j/slave?expires=1&"
	    "signature=a%2Fb" },
	{ "http://h:80/x", 0, "h", "80", "h", "/x" },
	{ "WSS://H:443/x", 1, "H", "443", "H", "/x" },
	{ "ws://h", 0, "h", "80", "h", "/" },
	{ "ws://h:1", 0, "h", "1", "h:1", "/" },
	{ "ws://h?q=1", 0, "h", "80", "h", "/?q=1" },
	{ "ws://h/p#frag", 0, "h", "80", "h", "/p" },
};

static const struct {
	const char	*url;
	const char	*why;
} bad[] = {
	{ "", "ws:// or wss://" },
	{ "ftp://h/x", "ws:// or wss://" },
	{ "h/x", "ws:// or wss://" },
	{ "ws:///x", "no host" },
	{ "ws://:80/x", "no host" },
	{ "ws://h:/x", "empty port" },
	{ "ws://h:0/x", "bad port" },
	{ "ws://h:65536/x", "bad port" },
	{ "ws://h:8x/x", "bad port" },
	{ "ws://[::1/x", "unterminated" },
	{ "ws://[::1]x/p", "junk after" },
	{ "ws://user@h/x", "user information" },
	{ "ws://h/a b", "bad character" },
	{ "ws://h/a\x01", "bad character" },
};

START_TEST(test_good)
{
	for (size_t i = 0; i < NELEM(good); i++) {
		struct wsurl u;
		char err[128] = "";

		ck_assert_msg(wsurl_parse(good[i].url, &u, err, sizeof (err)) ==
		    0, "%s: %s", good[i].url, err);
		ck_assert_int_eq(u.u_tls, good[i].tls);
		ck_assert_str_eq(u.u_host, good[i].host);
		ck_assert_str_eq(u.u_port, good[i].port);
		ck_assert_str_eq(u.u_hostport, good[i].hostport);
		ck_assert_str_eq(u.u_path, good[i].path);
	}
}
END_TEST

START_TEST(test_bad)
{
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct wsurl u;
		char err[128] = "";

		ck_assert_msg(wsurl_parse(bad[i].url, &u, err, sizeof (err)) ==
		    -1, "%s accepted", bad[i].url);
		ck_assert_msg(strstr(err, bad[i].why) != NULL,
		    "%s: \"%s\" lacks \"%s\"", bad[i].url, err, bad[i].why);
	}
}
END_TEST

START_TEST(test_too_long)
{
	static char url[6000];
	struct wsurl u;
	char err[128];

	memcpy(url, "ws://h/", 7);
	memset(url + 7, 'a', sizeof (url) - 8);
	ck_assert_int_eq(wsurl_parse(url, &u, err, sizeof (err)), -1);
	memset(url, 'h', 300);
	memcpy(url, "ws://", 5);
	url[300] = '\0';
	ck_assert_int_eq(wsurl_parse(url, &u, err, sizeof (err)), -1);
}
END_TEST

static const struct {
	const char	*path;
	enum wsurl_role	role;
	size_t		loggable;
} roles[] = {
	{ "/attach/x/master", WSURL_ROLE_MASTER, 16 },
	{ "/attach/x/slave", WSURL_ROLE_SLAVE, 15 },
	{ "/acct/medusa/attach/j/slave?expires=1&signature=S",
	    WSURL_ROLE_SLAVE, 27 },
	{ "/acct/medusa/attach/j/master?x", WSURL_ROLE_MASTER, 28 },
	{ "/prefix/attach/j/master", WSURL_ROLE_MASTER, 23 },
	{ "/attach/x/Master", WSURL_ROLE_NONE, 16 },
	{ "/attach//master", WSURL_ROLE_NONE, 15 },
	{ "/attach/x/master/", WSURL_ROLE_NONE, 17 },
	{ "/x/master", WSURL_ROLE_NONE, 9 },
	{ "/master", WSURL_ROLE_NONE, 7 },
	{ "/", WSURL_ROLE_NONE, 1 },
	{ "/status", WSURL_ROLE_NONE, 7 },
	{ "/attachx/y/slave", WSURL_ROLE_NONE, 16 },
	{ "/?/attach/x/slave", WSURL_ROLE_NONE, 1 },
};

START_TEST(test_role)
{
	ck_assert_msg(wsurl_role(roles[_i].path) == roles[_i].role, "%s",
	    roles[_i].path);
	ck_assert_uint_eq(wsurl_loggable(roles[_i].path), roles[_i].loggable);
}
END_TEST

Suite *
wsurl_suite(void)
{
	Suite *s = suite_create("wsurl");
	TCase *tc = tcase_create("wsurl");

	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_bad);
	tcase_add_test(tc, test_too_long);
	tcase_add_loop_test(tc, test_role, 0, NELEM(roles));
	suite_add_tcase(s, tc);
	return (s);
}
