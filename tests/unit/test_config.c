/*
 * test_config.c: config.h, the JSON configuration.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mlog.h"
#include "suites.h"

static int
parse(struct medusa_config *c, const char *text, char *err, size_t errlen)
{
	config_defaults(c);
	err[0] = '\0';
	return (config_parse(c, text, strlen(text), err, errlen));
}

START_TEST(test_defaults)
{
	struct medusa_config c;
	char err[256] = "";

	config_defaults(&c);
	ck_assert_int_eq(c.mc_nbind, 1);
	ck_assert_str_eq(c.mc_bind[0], "127.0.0.1");
	ck_assert_int_eq(c.mc_port, 8381);
	ck_assert_int_eq(c.mc_workers, 0);
	ck_assert_str_eq(c.mc_worker_path, "");
	ck_assert_int_eq(c.mc_log_level, MLOG_INFO);
	ck_assert_uint_eq(c.mc_head_max, 8192);
	ck_assert(c.mc_head_timeout == 10);
	ck_assert_int_eq(c.mc_defer_accept, 1);
	ck_assert(c.mc_pairing_timeout == 600);
	ck_assert(c.mc_idle_timeout == 3600);
	ck_assert(c.mc_close_timeout == 5);
	ck_assert(c.mc_ping_interval == 30);
	ck_assert(c.mc_shutdown_timeout == 10);
	ck_assert(c.mc_wait_interval == 2);
	ck_assert_uint_eq(c.mc_max_message, 1024 * 1024);
	ck_assert_uint_eq(c.mc_out_high, 1024 * 1024);
	ck_assert_uint_eq(c.mc_out_low, 256 * 1024);
	ck_assert_uint_eq(c.mc_max_id, 128);
	ck_assert_int_eq(c.mc_max_conns, 10000);
	ck_assert_int_eq(c.mc_max_sessions, 100000);
	/* The defaults pass the cross-field checks, and so does "{}". */
	ck_assert_int_eq(config_check(&c, err, sizeof (err)), 0);
	ck_assert_int_eq(parse(&c, "{}", err, sizeof (err)), 0);
	ck_assert_int_eq(parse(&c, " \n{ }\n ", err, sizeof (err)), 0);
	ck_assert_int_eq(c.mc_port, 8381);
}
END_TEST

static const char full[] =
    "{\n"
    "  \"bind\": [\"0.0.0.0\", \"::1\", \"10.1.2.3\"],\n"
    "  \"port\": 9000,\n"
    "  \"workers\": 4,\n"
    "  \"worker_path\": \"/usr/lib/medusa/medusa-worker\",\n"
    "  \"log_level\": \"debug\",\n"
    "  \"head_max_bytes\": 16384,\n"
    "  \"head_timeout_s\": 2.5,\n"
    "  \"pairing_timeout_s\": 60,\n"
    "  \"idle_timeout_s\": 120,\n"
    "  \"close_timeout_s\": 0.5,\n"
    "  \"ping_interval_s\": 15,\n"
    "  \"shutdown_timeout_s\": 3,\n"
    "  \"wait_interval_s\": 0.25,\n"
    "  \"max_message_bytes\": 65536,\n"
    "  \"outbound_high_water_bytes\": 2097152,\n"
    "  \"outbound_low_water_bytes\": 1024,\n"
    "  \"max_id_length\": 64,\n"
    "  \"max_connections\": 500,\n"
    "  \"max_sessions_per_worker\": 250\n"
    "}\n";

static void
check_full(const struct medusa_config *c)
{
	ck_assert_int_eq(c->mc_nbind, 3);
	ck_assert_str_eq(c->mc_bind[0], "0.0.0.0");
	ck_assert_str_eq(c->mc_bind[1], "::1");
	ck_assert_str_eq(c->mc_bind[2], "10.1.2.3");
	ck_assert_int_eq(c->mc_port, 9000);
	ck_assert_int_eq(c->mc_workers, 4);
	ck_assert_str_eq(c->mc_worker_path, "/usr/lib/medusa/medusa-worker");
	ck_assert_int_eq(c->mc_log_level, MLOG_DEBUG);
	ck_assert_uint_eq(c->mc_head_max, 16384);
	ck_assert(c->mc_head_timeout == 2.5);
	ck_assert(c->mc_pairing_timeout == 60);
	ck_assert(c->mc_idle_timeout == 120);
	ck_assert(c->mc_close_timeout == 0.5);
	ck_assert(c->mc_ping_interval == 15);
	ck_assert(c->mc_shutdown_timeout == 3);
	ck_assert(c->mc_wait_interval == 0.25);
	ck_assert_uint_eq(c->mc_max_message, 65536);
	ck_assert_uint_eq(c->mc_out_high, 2097152);
	ck_assert_uint_eq(c->mc_out_low, 1024);
	ck_assert_uint_eq(c->mc_max_id, 64);
	ck_assert_int_eq(c->mc_max_conns, 500);
	ck_assert_int_eq(c->mc_max_sessions, 250);
}

START_TEST(test_full)
{
	struct medusa_config c;
	char err[256];

	ck_assert_msg(parse(&c, full, err, sizeof (err)) == 0, "%s", err);
	check_full(&c);
}
END_TEST

START_TEST(test_load)
{
	char path[] = "/tmp/medusa-config-test-XXXXXX";
	struct medusa_config c;
	char err[512];
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, full, sizeof (full) - 1),
	    (ssize_t)sizeof (full) - 1);
	close(fd);
	config_defaults(&c);
	ck_assert_msg(config_load(&c, path, err, sizeof (err)) == 0, "%s", err);
	check_full(&c);

	/* A bad file's error names the file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"port\": -1}", 12), 12);
	close(fd);
	config_defaults(&c);
	ck_assert_int_eq(config_load(&c, path, err, sizeof (err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "port"));
	unlink(path);

	ck_assert_int_eq(config_load(&c, path, err, sizeof (err)), -1);
	ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

/* Good values at the edges of their ranges. */
static const struct {
	const char	*json;
	size_t		off;		/* field to look at ... */
	double		want;		/* ... and its value */
	char		kind;		/* i int, z size_t, d double */
} good[] = {
#define	F(m)	offsetof(struct medusa_config, m)
	{ "{\"port\": 0}", F(mc_port), 0, 'i' },
	{ "{\"port\": 65535}", F(mc_port), 65535, 'i' },
	{ "{\"workers\": 256}", F(mc_workers), 256, 'i' },
	{ "{\"defer_accept_s\": 0}", F(mc_defer_accept), 0, 'i' },
	{ "{\"defer_accept_s\": 10}", F(mc_defer_accept), 10, 'i' },
	{ "{\"head_max_bytes\": 256}", F(mc_head_max), 256, 'z' },
	{ "{\"head_timeout_s\": 0.01}", F(mc_head_timeout), 0.01, 'd' },
	{ "{\"head_timeout_s\": 3600}", F(mc_head_timeout), 3600, 'd' },
	{ "{\"idle_timeout_s\": 604800}", F(mc_idle_timeout), 604800, 'd' },
	{ "{\"max_message_bytes\": 125}", F(mc_max_message), 125, 'z' },
	{ "{\"max_id_length\": 1}", F(mc_max_id), 1, 'z' },
	{ "{\"max_id_length\": 1024}", F(mc_max_id), 1024, 'z' },
	{ "{\"log_level\": \"trace\"}", F(mc_log_level), 10, 'i' },
	{ "{\"log_level\": \"WARN\"}", F(mc_log_level), 40, 'i' },
	{ "{\"log_level\": \"fatal\"}", F(mc_log_level), 60, 'i' },
	{ "{\"log_level\": 25}", F(mc_log_level), 25, 'i' },
	{ "{\"log_level\": \"35\"}", F(mc_log_level), 35, 'i' },
	{ "{\"bind\": \"::\"}", F(mc_nbind), 1, 'i' },
	{ "{\"bind\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}",
	    F(mc_nbind), 8, 'i' },
	{ "{\"outbound_high_water_bytes\": 1024, "
	    "\"outbound_low_water_bytes\": 1023}", F(mc_out_low), 1023, 'z' },
	{ "{\"outbound_low_water_bytes\": 0}", F(mc_out_low), 0, 'z' },
	{ "{\"claim_ttl_s\": 1}", F(mc_claim_ttl), 1, 'd' },
	{ "{\"claim_ttl_s\": 3600}", F(mc_claim_ttl), 3600, 'd' },
	{ "{\"claim_ttl_s\": 2.5}", F(mc_claim_ttl), 2.5, 'd' },
#undef F
};

START_TEST(test_good)
{
	struct medusa_config c;
	char err[256];
	const char *p;

	ck_assert_msg(parse(&c, good[_i].json, err, sizeof (err)) == 0,
	    "%s: %s", good[_i].json, err);
	p = (const char *)&c + good[_i].off;
	switch (good[_i].kind) {
	case 'i':
		ck_assert_int_eq(*(const int *)(const void *)p,
		    (int)good[_i].want);
		break;
	case 'z':
		ck_assert_uint_eq(*(const size_t *)(const void *)p,
		    (size_t)good[_i].want);
		break;
	default:
		ck_assert(*(const double *)(const void *)p == good[_i].want);
	}
}
END_TEST

/* Directory URLs: each good one, split. */
static const struct {
	const char	*url;
	const char	*host;
	int		port;
	const char	*password;
	int		db;
} redis_good[] = {
	{ "redis://127.0.0.1:6379", "127.0.0.1", 6379, "", 0 },
	{ "redis://h", "h", 6379, "", 0 },
	{ "redis://h/", "h", 6379, "", 0 },
	{ "redis://h:1/15", "h", 1, "", 15 },
	{ "redis://h:65535/0", "h", 65535, "", 0 },
	{ "redis://:s3cret@h:7000/2", "h", 7000, "s3cret", 2 },
	{ "redis://:a:b@h:7000", "h", 7000, "a:b", 0 },
	{ "redis://[::1]:6380/3", "::1", 6380, "", 3 },
	{ "redis://[::1]", "::1", 6379, "", 0 },
	{ "redis://:p@[::1]", "::1", 6379, "p", 0 },
};

static const char *const redis_bad[] = {
	"", "redis:/h", "rediss://h", "REDIS://h", "redis://", "redis:///1",
	"redis://h:0", "redis://h:-1", "redis://h:99999", "redis://h:1x",
	"redis://h:/1", "redis://:1", "redis://h/16", "redis://h/01x",
	"redis://h/-1", "redis://h/1/2", "redis://[::1", "redis://[]",
	"redis://[::1]x", "redis://a:b:c", "redis://user:pw@h",
	"redis://:@h", "redis://@h", "redis://:p/q@h",
};

START_TEST(test_redis_good)
{
	struct config_redis r;
	char err[128];

	ck_assert_msg(config_redis_url(redis_good[_i].url, &r, err,
	    sizeof (err)) == 0, "%s: %s", redis_good[_i].url, err);
	ck_assert_str_eq(r.cr_host, redis_good[_i].host);
	ck_assert_int_eq(r.cr_port, redis_good[_i].port);
	ck_assert_str_eq(r.cr_password, redis_good[_i].password);
	ck_assert_int_eq(r.cr_db, redis_good[_i].db);
}
END_TEST

START_TEST(test_redis_bad)
{
	struct config_redis r;
	char err[128];

	err[0] = '\0';
	ck_assert_msg(config_redis_url(redis_bad[_i], &r, err,
	    sizeof (err)) == -1, "%s accepted", redis_bad[_i]);
	ck_assert(err[0] != '\0');
}
END_TEST

START_TEST(test_directory_keys)
{
	struct medusa_config c;
	char err[256];

	ck_assert_int_eq(parse(&c, "{}", err, sizeof (err)), 0);
	ck_assert_str_eq(c.mc_directory, "");
	ck_assert_str_eq(c.mc_advertise, "");
	ck_assert(c.mc_claim_ttl == 30);
	ck_assert_int_eq(parse(&c, "{\"directory\": \"redis://:pw@10.0.0.1:"
	    "6379/1\", \"advertise\": \"10.0.0.2:8381\", \"claim_ttl_s\": 10}",
	    err, sizeof (err)), 0);
	ck_assert_str_eq(c.mc_directory, "redis://:pw@10.0.0.1:6379/1");
	ck_assert_str_eq(c.mc_advertise, "10.0.0.2:8381");
	ck_assert(c.mc_claim_ttl == 10);
	ck_assert_int_eq(parse(&c, "{\"directory\": \"\", \"advertise\": "
	    "\"\"}", err, sizeof (err)), 0);
	ck_assert_str_eq(c.mc_directory, "");
	ck_assert_str_eq(c.mc_advertise, "");
}
END_TEST

START_TEST(test_bind)
{
	struct medusa_config c;
	char err[256];

	ck_assert_int_eq(parse(&c, "{\"bind\": \"192.0.2.1\"}", err,
	    sizeof (err)), 0);
	ck_assert_int_eq(c.mc_nbind, 1);
	ck_assert_str_eq(c.mc_bind[0], "192.0.2.1");
	ck_assert_int_eq(parse(&c, "{\"bind\": [\"::\", \"0.0.0.0\"]}", err,
	    sizeof (err)), 0);
	ck_assert_int_eq(c.mc_nbind, 2);
	ck_assert_str_eq(c.mc_bind[0], "::");
	ck_assert_str_eq(c.mc_bind[1], "0.0.0.0");
}
END_TEST

/* Each bad file, and a word its error message must hold. */
static const struct {
	const char	*json;
	const char	*word;
} bad[] = {
	{ "{\"nosuch\": 1}", "nosuch" },
	{ "{\"Port\": 80}", "Port" },
	{ "{\"port\": \"80\"}", "port" },
	{ "{\"port\": 70000}", "port" },
	{ "{\"port\": -1}", "port" },
	{ "{\"port\": 80.5}", "port" },
	{ "{\"port\": null}", "port" },
	{ "{\"port\": true}", "port" },
	{ "{\"workers\": 257}", "workers" },
	{ "{\"workers\": -1}", "workers" },
	{ "{\"defer_accept_s\": -1}", "defer_accept_s" },
	{ "{\"defer_accept_s\": 11}", "defer_accept_s" },
	{ "{\"defer_accept_s\": 1.5}", "defer_accept_s" },
	{ "{\"head_max_bytes\": 255}", "head_max_bytes" },
	{ "{\"head_max_bytes\": 1e3}", "head_max_bytes" },
	{ "{\"head_timeout_s\": 0}", "head_timeout_s" },
	{ "{\"head_timeout_s\": \"1\"}", "head_timeout_s" },
	{ "{\"head_timeout_s\": 3601}", "head_timeout_s" },
	{ "{\"pairing_timeout_s\": [1]}", "pairing_timeout_s" },
	{ "{\"idle_timeout_s\": -5}", "idle_timeout_s" },
	{ "{\"close_timeout_s\": {}}", "close_timeout_s" },
	{ "{\"ping_interval_s\": 86401}", "ping_interval_s" },
	{ "{\"shutdown_timeout_s\": 0.001}", "shutdown_timeout_s" },
	{ "{\"wait_interval_s\": false}", "wait_interval_s" },
	{ "{\"max_message_bytes\": 124}", "max_message_bytes" },
	{ "{\"max_message_bytes\": 268435457}", "max_message_bytes" },
	{ "{\"outbound_high_water_bytes\": 1023}", "outbound_high_water_bytes" },
	{ "{\"outbound_low_water_bytes\": -1}", "outbound_low_water_bytes" },
	{ "{\"max_id_length\": 0}", "max_id_length" },
	{ "{\"max_id_length\": 1025}", "max_id_length" },
	{ "{\"max_connections\": 0}", "max_connections" },
	{ "{\"max_sessions_per_worker\": 10000001}", "max_sessions_per_worker" },
	{ "{\"log_level\": \"loud\"}", "log_level" },
	{ "{\"log_level\": 0}", "log_level" },
	{ "{\"log_level\": 101}", "log_level" },
	{ "{\"log_level\": 1.5}", "log_level" },
	{ "{\"log_level\": null}", "log_level" },
	{ "{\"worker_path\": 5}", "worker_path" },
	{ "{\"bind\": 5}", "bind" },
	{ "{\"bind\": \"\"}", "bind" },
	{ "{\"bind\": []}", "bind" },
	{ "{\"bind\": [\"\"]}", "bind" },
	{ "{\"bind\": [\"a\", 1]}", "bind" },
	{ "{\"bind\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
	    "bind" },
	{ "{\"bind\": \"0123456789012345678901234567890123456789"
	    "012345678901234567890123\"}", "bind" },
	/* Watermarks: low must stay below high. */
	{ "{\"outbound_low_water_bytes\": 1048576}",
	    "outbound_low_water_bytes" },
	{ "{\"outbound_high_water_bytes\": 4096, "
	    "\"outbound_low_water_bytes\": 8192}", "outbound_low_water_bytes" },
	{ "{\"outbound_high_water_bytes\": 200000}",
	    "outbound_low_water_bytes" },
	/* The session directory. */
	{ "{\"claim_ttl_s\": 0.5}", "claim_ttl_s" },
	{ "{\"claim_ttl_s\": 3601}", "claim_ttl_s" },
	{ "{\"claim_ttl_s\": \"30\"}", "claim_ttl_s" },
	{ "{\"directory\": 5}", "directory" },
	{ "{\"directory\": null}", "directory" },
	{ "{\"directory\": \"http://h:6379\"}", "redis://" },
	{ "{\"directory\": \"redis://\"}", "host" },
	{ "{\"directory\": \"redis://h:0\"}", "port" },
	{ "{\"directory\": \"redis://h:65536\"}", "port" },
	{ "{\"directory\": \"redis://h:x\"}", "port" },
	{ "{\"directory\": \"redis://h:\"}", "port" },
	{ "{\"directory\": \"redis://h:1/16\"}", "database" },
	{ "{\"directory\": \"redis://h:1/a\"}", "database" },
	{ "{\"directory\": \"redis://pw@h:1\"}", "password" },
	{ "{\"directory\": \"redis://:@h:1\"}", "password" },
	{ "{\"advertise\": \"h\"}", "advertise" },
	{ "{\"advertise\": 1}", "advertise" },
	{ "{\"advertise\": \"h:0\"}", "advertise" },
	{ "{\"advertise\": \"h:70000\"}", "advertise" },
	/* Not an object, not JSON. */
	{ "[]", "object" },
	{ "42", "line 1" },		/* jansson wants an object or array */
	{ "", "line" },
	{ "{", "line" },
	{ "{\"port\": 1,}", "line" },
	{ "{\"port\": 1, \"port\": 2}", "duplicate" },
	{ "{\"port\": 1} x", "line" },
};

START_TEST(test_bad)
{
	struct medusa_config c;
	char err[256];

	ck_assert_msg(parse(&c, bad[_i].json, err, sizeof (err)) == -1,
	    "%s accepted", bad[_i].json);
	ck_assert_msg(strstr(err, bad[_i].word) != NULL,
	    "%s: \"%s\" does not name \"%s\"", bad[_i].json, err,
	    bad[_i].word);
}
END_TEST

/* A syntax error gives the line and column where it was found. */
START_TEST(test_syntax_position)
{
	struct medusa_config c;
	char err[256];

	ck_assert_int_eq(parse(&c, "{\n  \"port\": 1,\n  \"workers\" 2\n}\n",
	    err, sizeof (err)), -1);
	ck_assert_msg(strncmp(err, "line 3 column ", 14) == 0, "%s", err);
	ck_assert_int_eq(parse(&c, "{\n\n\n\"a\": tru }", err, sizeof (err)),
	    -1);
	ck_assert_msg(strncmp(err, "line 4 column ", 14) == 0, "%s", err);
}
END_TEST

/*
 * The default advertise is bind[0]:port: with a directory, a wildcard
 * there names no dialable host, so advertise is required (and never a
 * wildcard itself).
 */
static const struct {
	const char	*json;
	const char	*word;		/* NULL: accepted */
} advertise_rule[] = {
	{ "{\"directory\": \"redis://h:1\"}", NULL },
	{ "{\"directory\": \"redis://h:1\", \"bind\": \"10.0.0.2\"}",
	    NULL },
	{ "{\"directory\": \"redis://h:1\", \"bind\": \"0.0.0.0\"}",
	    "\"advertise\" is required" },
	{ "{\"directory\": \"redis://h:1\", \"bind\": \"::\"}",
	    "\"advertise\" is required" },
	{ "{\"directory\": \"redis://h:1\", \"bind\": \"0:0::0\"}",
	    "\"advertise\" is required" },
	{ "{\"directory\": \"redis://h:1\", \"bind\": "
	    "\"::ffff:0.0.0.0\"}", "\"advertise\" is required" },
	{ "{\"directory\": \"redis://h:1\", \"bind\": [\"0.0.0.0\", "
	    "\"::\"], \"advertise\": \"10.0.0.2:8381\"}", NULL },
	{ "{\"directory\": \"redis://h:1\", \"bind\": [\"10.0.0.2\", "
	    "\"0.0.0.0\"]}", NULL },
	{ "{\"bind\": \"0.0.0.0\"}", NULL },	/* no directory */
	{ "{\"bind\": \"::\", \"advertise\": \"[::1]:8381\"}", NULL },
	{ "{\"directory\": \"redis://h:1\", \"advertise\": "
	    "\"0.0.0.0:8381\"}", "dial" },
	{ "{\"advertise\": \"[::]:8381\"}", "dial" },
};

START_TEST(test_advertise_rule)
{
	struct medusa_config c;
	char err[256];
	int rv = parse(&c, advertise_rule[_i].json, err, sizeof (err));

	if (advertise_rule[_i].word == NULL) {
		ck_assert_msg(rv == 0, "%s: %s", advertise_rule[_i].json, err);
	} else {
		ck_assert_msg(rv == -1, "%s accepted", advertise_rule[_i].json);
		ck_assert_msg(strstr(err, advertise_rule[_i].word) != NULL,
		    "%s: \"%s\" does not name \"%s\"",
		    advertise_rule[_i].json, err, advertise_rule[_i].word);
	}
}
END_TEST

START_TEST(test_check)
{
	struct medusa_config c;
	char err[256];

	config_defaults(&c);
	c.mc_nbind = 0;
	ck_assert_int_eq(config_check(&c, err, sizeof (err)), -1);
	config_defaults(&c);
	c.mc_out_low = c.mc_out_high;
	ck_assert_int_eq(config_check(&c, err, sizeof (err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "outbound_low_water_bytes"));
	c.mc_out_low = c.mc_out_high - 1;
	ck_assert_int_eq(config_check(&c, err, sizeof (err)), 0);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_load);
	tcase_add_loop_test(tc, test_good, 0, NELEM(good));
	tcase_add_test(tc, test_bind);
	tcase_add_loop_test(tc, test_redis_good, 0, NELEM(redis_good));
	tcase_add_loop_test(tc, test_redis_bad, 0, NELEM(redis_bad));
	tcase_add_test(tc, test_directory_keys);
	tcase_add_loop_test(tc, test_advertise_rule, 0, NELEM(advertise_rule));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	tcase_add_test(tc, test_syntax_position);
	tcase_add_test(tc, test_check);
	suite_add_tcase(s, tc);
	return (s);
}
