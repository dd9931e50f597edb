/*
 * test_clientopt.c: the options mlogin and the agent share, tables of good
 * and bad -o arguments.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "clientauth.h"
#include "clientopt.h"
#include "suites.h"

static const struct {
	const char	*kv;
	double		interval;
	unsigned	count;
	double		connect;
	bool		resume;
	size_t		rbuf;
} good[] = {
	{ "ServerAliveInterval=5", 5, 3, 30, true, 2u << 20 },
	{ "serveraliveinterval=0", 0, 3, 30, true, 2u << 20 },
	{ "SERVERALIVEINTERVAL 7", 7, 3, 30, true, 2u << 20 },
	{ "ServerAliveInterval = 0.25", 0.25, 3, 30, true, 2u << 20 },
	{ "ServerAliveCountMax=1", 15, 1, 30, true, 2u << 20 },
	{ "ServerAliveCountMax=1000", 15, 1000, 30, true, 2u << 20 },
	{ "ConnectTimeout=2.5", 15, 3, 2.5, true, 2u << 20 },
	{ "connecttimeout\t9", 15, 3, 9, true, 2u << 20 },
	{ "Resume=no", 15, 3, 30, false, 2u << 20 },
	{ "resume YES", 15, 3, 30, true, 2u << 20 },
	{ "ResumeBuffer=64K", 15, 3, 30, true, 65536 },
	{ "ResumeBuffer=1m", 15, 3, 30, true, 1u << 20 },
	{ "ResumeBuffer=1024M", 15, 3, 30, true, 1u << 30 },
	{ "ResumeBuffer=100000", 15, 3, 30, true, 100000 },
};

static const struct {
	const char	*kv;
	const char	*why;
} bad[] = {
	{ "ServerAliveInterval=-1", "ServerAliveInterval must be" },
	{ "ServerAliveInterval=x", "ServerAliveInterval must be" },
	{ "ServerAliveInterval=1e9", "ServerAliveInterval must be" },
	{ "ServerAliveInterval=nan", "ServerAliveInterval must be" },
	{ "ServerAliveInterval=5s", "ServerAliveInterval must be" },
	{ "ServerAliveCountMax=0", "ServerAliveCountMax must be" },
	{ "ServerAliveCountMax=1001", "ServerAliveCountMax must be" },
	{ "ServerAliveCountMax=2.5", "ServerAliveCountMax must be" },
	{ "ServerAliveCountMax=-3", "ServerAliveCountMax must be" },
	{ "ConnectTimeout=0", "ConnectTimeout must be" },
	{ "ConnectTimeout=", "expected KEY=VALUE" },
	{ "ConnectTimeout", "expected KEY=VALUE" },
	{ "=5", "expected KEY=VALUE" },
	{ "", "expected KEY=VALUE" },
	{ "ServerAlive=5", "unknown option \"ServerAlive\"" },
	{ "ServerAliveIntervalX=5", "unknown option" },
	{ "Compression yes", "unknown option \"Compression\"" },
	{ "Resume=maybe", "Resume must be yes or no" },
	{ "Resume=1", "Resume must be" },
	{ "ResumeBuffer=1K", "ResumeBuffer must be" },
	{ "ResumeBuffer=2048M", "ResumeBuffer must be" },
	{ "ResumeBuffer=4G", "ResumeBuffer must be" },
	{ "ResumeBuffer=-4M", "ResumeBuffer must be" },
	{ "ResumeBuffer=99999999999999999999", "ResumeBuffer must be" },
};

START_TEST(test_good)
{
	struct clientopt co;
	char err[256] = "";

	clientopt_init(&co);
	ck_assert_msg(clientopt_set(&co, good[_i].kv, err, sizeof (err)) == 0,
	    "%s: %s", good[_i].kv, err);
	ck_assert(co.co_alive_interval == good[_i].interval);
	ck_assert_uint_eq(co.co_alive_count, good[_i].count);
	ck_assert(co.co_connect_timeout == good[_i].connect);
	ck_assert_int_eq(co.co_resume, good[_i].resume);
	ck_assert_uint_eq(co.co_resume_buffer, good[_i].rbuf);
}
END_TEST

START_TEST(test_bad)
{
	struct clientopt co, before;
	char err[256] = "";

	clientopt_init(&co);
	before = co;
	ck_assert_int_eq(clientopt_set(&co, bad[_i].kv, err, sizeof (err)), -1);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "%s: \"%s\"",
	    bad[_i].kv, err);
	/* Nothing changed. */
	ck_assert(memcmp(&co, &before, sizeof (co)) == 0);
}
END_TEST

START_TEST(test_getopt_and_wsc)
{
	struct clientopt co;
	struct wsc_opts wo;
	char err[256];

	clientopt_init(&co);
	ck_assert_int_eq(clientopt_getopt(&co, CLIENTOPT_CACERT, "/ca.pem", err,
	    sizeof (err)), 1);
	ck_assert_int_eq(clientopt_getopt(&co, CLIENTOPT_INSECURE, NULL, err,
	    sizeof (err)), 1);
	/* The credential options: -i is the key file, as in ssh. */
	ck_assert_int_eq(clientopt_getopt(&co, 'i', "/k", err, sizeof (err)),
	    1);
	ck_assert_int_eq(clientopt_getopt(&co, 'a', "alice", err,
	    sizeof (err)), 1);
	ck_assert_int_eq(clientopt_getopt(&co, 'k', "SHA256:x", err,
	    sizeof (err)), 1);
	ck_assert_str_eq(co.co_identity, "/k");
	ck_assert_str_eq(co.co_account, "alice");
	ck_assert_str_eq(co.co_keyid, "SHA256:x");
	ck_assert_int_eq(clientopt_getopt(&co, 'o', "ServerAliveInterval=2",
	    err, sizeof (err)), 1);
	ck_assert_int_eq(clientopt_getopt(&co, 'o', "Nope=1", err,
	    sizeof (err)), -1);
	ck_assert_int_eq(clientopt_getopt(&co, 'x', NULL, err, sizeof (err)),
	    0);
	clientopt_wsc(&co, &wo);
	ck_assert_str_eq(wo.wo_xport.xo_cacert, "/ca.pem");
	ck_assert(wo.wo_xport.xo_insecure);
	ck_assert(wo.wo_alive_interval == 2);
	ck_assert_uint_eq(wo.wo_alive_count, 3);
	ck_assert(wo.wo_connect_timeout == 30);
	/* TCP_USER_TIMEOUT: as long as the pings would take. */
	ck_assert_uint_eq(wo.wo_xport.xo_user_timeout_ms, 6000);
	ck_assert_int_eq(clientopt_set(&co, "ServerAliveInterval=0", err,
	    sizeof (err)), 0);
	clientopt_wsc(&co, &wo);
	ck_assert_uint_eq(wo.wo_xport.xo_user_timeout_ms, 0);
	ck_assert(wo.wo_alive_interval == 0);
	ck_assert(strstr(clientopt_usage, "ServerAliveInterval") != NULL);
}
END_TEST

/* $MANTA_USER and $MANTA_KEY_ID are the defaults; empty ones are none. */
START_TEST(test_environment)
{
	struct clientopt co;

	setenv("MANTA_USER", "bob", 1);
	setenv("MANTA_KEY_ID", "", 1);
	clientopt_init(&co);
	ck_assert_str_eq(co.co_account, "bob");
	ck_assert_ptr_null(co.co_keyid);
	unsetenv("MANTA_USER");
	unsetenv("MANTA_KEY_ID");
	clientopt_init(&co);
	ck_assert_ptr_null(co.co_account);
}
END_TEST

/* The account an attach path names (clientauth.c). */
static const struct {
	const char	*path;
	const char	*account;	/* NULL: none */
} paths[] = {
	{ "/alice/medusa/attach/x/master", "alice" },
	{ "/a.b@c/medusa/attach/x/slave?q=1", "a.b@c" },
	{ "/attach/x/master", NULL },
	{ "//medusa/attach/x/master", NULL },
	{ "/alice/notmedusa/attach/x/master", NULL },
	{ "alice/medusa/attach/x/master", NULL },
	{ "/", NULL },
};

START_TEST(test_path_account)
{
	char out[16];
	int rv = clientauth_path_account(paths[_i].path, out, sizeof (out));

	if (paths[_i].account == NULL) {
		ck_assert_int_eq(rv, -1);
	} else {
		ck_assert_int_eq(rv, 0);
		ck_assert_str_eq(out, paths[_i].account);
	}
}
END_TEST

Suite *
clientopt_suite(void)
{
	Suite *s = suite_create("clientopt");
	TCase *tc = tcase_create("clientopt");

	tcase_add_loop_test(tc, test_good, 0, NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	tcase_add_test(tc, test_getopt_and_wsc);
	tcase_add_test(tc, test_environment);
	tcase_add_loop_test(tc, test_path_account, 0, NELEM(paths));
	suite_add_tcase(s, tc);
	return (s);
}
