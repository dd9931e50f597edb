/*
 * test_mlog.c: mlog.h, bunyan-format JSON log lines.
 */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <jansson.h>

#include "mlog.h"
#include "netutil.h"
#include "suites.h"

static size_t fmt(char *, size_t, int, const char *, const char *, ...)
    __attribute__((format(printf, 5, 6)));

static size_t
fmt(char *out, size_t cap, int level, const char *msg, const char *fields,
    ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fields);
	n = mlog_format(out, cap, level, msg, fields, ap);
	va_end(ap);
	return (n);
}

/* One line, ending in its only newline, holding one JSON object. */
static json_t *
parse_line(const char *line, size_t n)
{
	json_error_t je;
	json_t *j;

	ck_assert_uint_gt(n, 2);
	ck_assert_int_eq(line[n - 1], '\n');
	ck_assert_ptr_eq(memchr(line, '\n', n), line + n - 1);
	j = json_loadb(line, n - 1, 0, &je);
	ck_assert_msg(j != NULL, "%s in %.*s", je.text, (int)n, line);
	ck_assert(json_is_object(j));
	return (j);
}

/*
 * A NULL the compiler cannot see, so that passing it to %s (which mlog
 * turns into null) does not trip -Wformat-overflow.
 */
static const char *volatile no_string = NULL;

static void
setup(void)
{
	mlog_init("medusa-test", "unit", 3);
}

START_TEST(test_standard_fields)
{
	char line[1024], host[256];
	size_t n = fmt(line, sizeof (line), MLOG_WARN, "hello", NULL);
	json_t *j = parse_line(line, n);
	const char *t;

	ck_assert_int_eq(gethostname(host, sizeof (host)), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")),
	    "medusa-test");
	ck_assert_str_eq(json_string_value(json_object_get(j, "hostname")),
	    host);
	ck_assert(json_is_integer(json_object_get(j, "pid")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")),
	    getpid());
	ck_assert_str_eq(json_string_value(json_object_get(j, "component")),
	    "unit");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "shard")), 3);
	ck_assert(json_is_integer(json_object_get(j, "level")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "level")), 40);
	ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "hello");
	ck_assert(json_is_integer(json_object_get(j, "v")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "v")), 0);
	/* 2026-01-02T03:04:05.678Z */
	t = json_string_value(json_object_get(j, "time"));
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(strlen(t), 24);
	ck_assert_uint_eq(strspn(t, "0123456789"), 4);
	ck_assert(t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' &&
	    t[16] == ':' && t[19] == '.' && t[23] == 'Z');
	ck_assert_uint_eq(json_object_size(j), 9);
	json_decref(j);
}
END_TEST

START_TEST(test_no_component)
{
	char line[1024];
	size_t n;
	json_t *j;

	mlog_init("m", NULL, -1);
	n = fmt(line, sizeof (line), MLOG_INFO, "x", "");
	j = parse_line(line, n);
	ck_assert_ptr_null(json_object_get(j, "component"));
	ck_assert_ptr_null(json_object_get(j, "shard"));
	ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "m");
	json_decref(j);
	mlog_set_shard(5);
	n = fmt(line, sizeof (line), MLOG_INFO, "x", "");
	j = parse_line(line, n);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "shard")), 5);
	json_decref(j);
}
END_TEST

/* Every supported conversion, and the JSON type it becomes. */
START_TEST(test_extra_fields)
{
	char line[2048];
	size_t n;
	json_t *j;

	n = fmt(line, sizeof (line), MLOG_INFO, "fields",
	    "s=%s d=%d i=%i u=%u x=%x ld=%ld lu=%lu lld=%lld llu=%llu "
	    "zu=%zu zd=%zd g=%g f=%f nul=%s p=%.*s",
	    "str", -5, 7, 4000000000u, 255u, -70000L, 70000UL,
	    -9000000000000000000LL, 1234567890123ULL, (size_t)42,
	    (ssize_t)-42, 1.5, 0.25, no_string, 3, "abcdef");
	j = parse_line(line, n);
	ck_assert_str_eq(json_string_value(json_object_get(j, "s")), "str");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "d")), -5);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "i")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "u")),
	    4000000000LL);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "x")), 255);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "ld")), -70000);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "lu")), 70000);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "lld")),
	    -9000000000000000000LL);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "llu")),
	    1234567890123LL);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "zu")), 42);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "zd")), -42);
	ck_assert(json_is_real(json_object_get(j, "g")));
	ck_assert(json_real_value(json_object_get(j, "g")) == 1.5);
	ck_assert(json_is_real(json_object_get(j, "f")));
	ck_assert(json_real_value(json_object_get(j, "f")) == 0.25);
	ck_assert(json_is_null(json_object_get(j, "nul")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "p")), "abc");
	ck_assert_uint_eq(json_object_size(j), 9 + 15);
	json_decref(j);
}
END_TEST

/* %.*s: precision cuts, a negative one takes the whole, NULL is null. */
START_TEST(test_precision)
{
	char line[1024];
	size_t n;
	json_t *j;

	n = fmt(line, sizeof (line), MLOG_INFO, "p",
	    "a=%.*s b=%.*s c=%.*s d=%.*s e=%.*s", 0, "xyz", -1, "whole", 10,
	    "short", 2, no_string, 4, "ab\"c\nd");
	j = parse_line(line, n);
	ck_assert_str_eq(json_string_value(json_object_get(j, "a")), "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "b")), "whole");
	ck_assert_str_eq(json_string_value(json_object_get(j, "c")), "short");
	ck_assert(json_is_null(json_object_get(j, "d")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "e")), "ab\"c");
	json_decref(j);
}
END_TEST

START_TEST(test_null_msg)
{
	char line[1024];
	size_t n = fmt(line, sizeof (line), MLOG_INFO, NULL, "k=%s", "v");
	json_t *j = parse_line(line, n);

	ck_assert(json_is_null(json_object_get(j, "msg")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "k")), "v");
	json_decref(j);
}
END_TEST

/* JSON string escaping, byte for byte. */
static const struct {
	const char	*in;
	size_t		n;
	const char	*out;
} escapes[] = {
	{ "", 0, "\"\"" },
	{ "plain", 5, "\"plain\"" },
	{ "a\"b", 3, "\"a\\\"b\"" },
	{ "a\\b", 3, "\"a\\\\b\"" },
	{ "l1\nl2", 5, "\"l1\\nl2\"" },
	{ "\r\t", 2, "\"\\r\\t\"" },
	{ "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
	{ "\x7f", 1, "\"\\u007f\"" },
	{ "a\0b", 3, "\"a\\u0000b\"" },
	{ "/", 1, "\"/\"" },
	{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
};

START_TEST(test_escapes)
{
	char out[64], line[1024];
	size_t n;
	json_t *j;

	n = mlog_json_string(out, sizeof (out), escapes[_i].in, escapes[_i].n);
	ck_assert_str_eq(out, escapes[_i].out);
	ck_assert_uint_eq(n, strlen(escapes[_i].out));

	/* And inside a whole line, as the message and as a field. */
	if (memchr(escapes[_i].in, '\0', escapes[_i].n) != NULL)
		return;
	n = fmt(line, sizeof (line), MLOG_INFO, escapes[_i].in, "f=%s",
	    escapes[_i].in);
	j = parse_line(line, n);
	ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
	    escapes[_i].in);
	ck_assert_str_eq(json_string_value(json_object_get(j, "f")),
	    escapes[_i].in);
	json_decref(j);
}
END_TEST

/*
 * Short buffers: always NUL-terminated and inside cap; from 3 bytes on,
 * still a JSON string, holding a prefix of the input.
 */
START_TEST(test_escape_cut)
{
	static const char in[] = "quote\" backslash\\ newline\n and more text";
	char out[80];

	ck_assert_uint_eq(mlog_json_string(out, 0, in, sizeof (in) - 1), 0);
	for (size_t cap = 1; cap <= sizeof (out); cap++) {
		json_t *j;
		json_error_t je;
		size_t n;

		memset(out, 'x', sizeof (out));
		n = mlog_json_string(out, cap, in, sizeof (in) - 1);
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(out[n], '\0');
		if (cap < 3)
			continue;
		j = json_loadb(out, n, JSON_DECODE_ANY, &je);
		ck_assert_msg(j != NULL && json_is_string(j), "cap %zu: %s",
		    cap, out);
		ck_assert(strncmp(json_string_value(j), in,
		    json_string_length(j)) == 0);
		json_decref(j);
	}
}
END_TEST

/*
 * The escaper copies runs of plain bytes at once; it must cut exactly where
 * escaping byte by byte does: an input byte is taken while 8 bytes of the
 * buffer (less its NUL) are free.  The reference below is that rule.
 */
static size_t
ref_json_string(char *out, size_t cap, const char *s, size_t n)
{
	size_t len = 0, lim = cap - 1;

	out[len++] = '"';
	for (size_t i = 0; i < n && lim - len >= 8; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			len += (size_t)sprintf(out + len, "\\%c", c);
		else if (c == '\n')
			len += (size_t)sprintf(out + len, "\\n");
		else if (c == '\r')
			len += (size_t)sprintf(out + len, "\\r");
		else if (c == '\t')
			len += (size_t)sprintf(out + len, "\\t");
		else if (c < 0x20 || c == 0x7f)
			len += (size_t)sprintf(out + len, "\\u%04x", c);
		else
			out[len++] = (char)c;
	}
	out[len++] = '"';
	out[len] = '\0';
	return (len);
}

START_TEST(test_escape_cut_exact)
{
	static const char *ins[] = {
		"a long plain run of bytes that goes on and on and on",
		"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"",
		"mixed\trun\x01with \\ escapes \"here\" and\nthere, caf\xc3\xa9",
		"\x7f\x7f plain \x1f",
	};
	char got[128], want[128];

	for (size_t k = 0; k < NELEM(ins); k++) {
		for (size_t cap = 10; cap <= sizeof (got); cap++) {
			size_t n = mlog_json_string(got, cap, ins[k],
			    strlen(ins[k]));

			ck_assert_uint_eq(n, ref_json_string(want, cap,
			    ins[k], strlen(ins[k])));
			ck_assert_msg(strcmp(got, want) == 0,
			    "cap %zu: %s vs %s", cap, got, want);
		}
	}
}
END_TEST

/* Integers at their limits, written as printf writes them. */
START_TEST(test_integer_limits)
{
	char line[1024], want[256];
	size_t n;

	n = fmt(line, sizeof (line), MLOG_INFO, "n",
	    "a=%d b=%d c=%u d=%ld e=%lld f=%llu g=%zu h=%zd i=%d j=%lu",
	    INT_MIN, INT_MAX, UINT_MAX, LONG_MIN, LLONG_MIN, ULLONG_MAX,
	    SIZE_MAX, (ssize_t)-1, 0, 0UL);
	snprintf(want, sizeof (want), ",\"a\":%d,\"b\":%d,\"c\":%u,\"d\":%ld,"
	    "\"e\":%lld,\"f\":%llu,\"g\":%zu,\"h\":-1,\"i\":0,\"j\":0}\n",
	    INT_MIN, INT_MAX, UINT_MAX, LONG_MIN, LLONG_MIN, ULLONG_MAX,
	    SIZE_MAX);
	ck_assert_uint_gt(n, strlen(want));
	line[n] = '\0';		/* a line is not a C string; n < cap */
	ck_assert_str_eq(line + n - strlen(want), want);
}
END_TEST

/* NaN and infinity, which JSON cannot hold, become null. */
START_TEST(test_not_finite)
{
	char line[1024];
	size_t n;
	json_t *j;

	n = fmt(line, sizeof (line), MLOG_INFO, "d", "a=%f b=%g c=%f d=%g",
	    NAN, INFINITY, -INFINITY, 2.5);
	j = parse_line(line, n);
	ck_assert(json_is_null(json_object_get(j, "a")));
	ck_assert(json_is_null(json_object_get(j, "b")));
	ck_assert(json_is_null(json_object_get(j, "c")));
	ck_assert(json_real_value(json_object_get(j, "d")) == 2.5);
	json_decref(j);
}
END_TEST

/*
 * The time is kept rendered up to the second; what a line carries must
 * still be the clock's, within the second it was formatted in.
 */
START_TEST(test_time_is_now)
{
	char line[1024], before[32], after[32];
	const char *t;
	size_t n;
	json_t *j;

	for (int tries = 0; tries < 5; tries++) {
		netutil_iso8601(netutil_now_ms(), before, sizeof (before));
		n = fmt(line, sizeof (line), MLOG_INFO, "t", NULL);
		netutil_iso8601(netutil_now_ms(), after, sizeof (after));
		if (strncmp(before, after, 19) != 0)
			continue;	/* a second ended in between */
		j = parse_line(line, n);
		t = json_string_value(json_object_get(j, "time"));
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(strncmp(t, before, 19), 0);
		ck_assert(strcmp(t, before) >= 0 && strcmp(t, after) <= 0);
		json_decref(j);
		return;
	}
	ck_abort_msg("the second kept ending");
}
END_TEST

/*
 * A line cut to fit a small buffer still reads "{...}\n" and stays inside
 * the buffer (each one allocated to the exact size, for ASan).  Four bytes
 * are the least that hold "{}\n" and the byte mlog_format() keeps spare.
 */
START_TEST(test_line_cut)
{
	for (size_t cap = 4; cap <= 600; cap++) {
		char *line = malloc(cap);
		size_t n;

		ck_assert_ptr_nonnull(line);
		n = fmt(line, cap, MLOG_INFO, "a fairly long message to cut",
		    "k=%s n=%d q=%s", "a fairly long value to cut as well",
		    12345, "quotes \"\" and \\ and \n");
		ck_assert_uint_lt(n, cap);
		ck_assert_int_eq(line[n - 1], '\n');
		ck_assert_int_eq(line[n - 2], '}');
		ck_assert_int_eq(line[0], '{');
		if (cap == 600)
			json_decref(parse_line(line, n));
		free(line);
	}
}
END_TEST

/* The time field's format. */
START_TEST(test_iso8601)
{
	static const struct {
		uint64_t	ms;
		const char	*want;
	} rows[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 1700000000123ull, "2023-11-14T22:13:20.123Z" },
		{ 951782400999ull, "2000-02-29T00:00:00.999Z" },
	};
	char out[32];

	for (size_t i = 0; i < NELEM(rows); i++) {
		netutil_iso8601(rows[i].ms, out, sizeof (out));
		ck_assert_str_eq(out, rows[i].want);
	}
}
END_TEST

static const struct {
	const char	*s;
	int		level;
} levels[] = {
	{ "trace", 10 }, { "debug", 20 }, { "info", 30 }, { "warn", 40 },
	{ "error", 50 }, { "fatal", 60 }, { "INFO", 30 }, { "Debug", 20 },
	{ "1", 1 }, { "35", 35 }, { "100", 100 },
	{ "0", -1 }, { "101", -1 }, { "-5", -1 }, { "", -1 }, { "x", -1 },
	{ "30x", -1 }, { "warning", -1 }, { "99999999999", -1 },
};

START_TEST(test_level_parse)
{
	ck_assert_msg(mlog_level_parse(levels[_i].s) == levels[_i].level,
	    "\"%s\"", levels[_i].s);
}
END_TEST

START_TEST(test_level_names)
{
	static const struct {
		int		level;
		const char	*name;
	} names[] = {
		{ MLOG_TRACE, "trace" }, { MLOG_DEBUG, "debug" },
		{ MLOG_INFO, "info" }, { MLOG_WARN, "warn" },
		{ MLOG_ERROR, "error" }, { MLOG_FATAL, "fatal" },
		{ 35, "custom" }, { 0, "custom" },
	};

	for (size_t i = 0; i < NELEM(names); i++) {
		ck_assert_str_eq(mlog_level_name(names[i].level), names[i].name);
		if (strcmp(names[i].name, "custom") != 0)
			ck_assert_int_eq(mlog_level_parse(names[i].name),
			    names[i].level);
	}
}
END_TEST

/* mlog() writes whole lines, one write each, at or above the level. */
START_TEST(test_mlog_writes)
{
	int p[2];
	char buf[4096];
	ssize_t n;
	json_t *j;

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	mlog_set_fd(p[1]);
	mlog_set_level(MLOG_INFO);
	ck_assert_int_eq(mlog_get_level(), MLOG_INFO);
	mlog(MLOG_DEBUG, "hidden", "k=%d", 1);
	ck_assert_int_eq(read(p[0], buf, sizeof (buf)), -1);
	mlog(MLOG_INFO, "shown", "k=%d", 2);
	mlog(MLOG_ERROR, "also", NULL);
	n = read(p[0], buf, sizeof (buf));
	ck_assert_int_gt(n, 0);
	/* Two lines. */
	{
		char *nl = memchr(buf, '\n', (size_t)n);

		ck_assert_ptr_nonnull(nl);
		j = parse_line(buf, (size_t)(nl - buf + 1));
		ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
		    "shown");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "k")), 2);
		json_decref(j);
		j = parse_line(nl + 1, (size_t)(buf + n - nl - 1));
		ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
		    "also");
		ck_assert_int_eq(json_integer_value(json_object_get(j,
		    "level")), MLOG_ERROR);
		json_decref(j);
	}
	mlog_set_level(MLOG_TRACE);
	mlog(MLOG_TRACE, "trace now", NULL);
	ck_assert_int_gt(read(p[0], buf, sizeof (buf)), 0);
	mlog_set_fd(2);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Lines in the pipe: count them, each whole and parseable. */
static int
count_lines(int fd, size_t *bytes)
{
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof (buf));
	int lines = 0;
	char *p = buf;

	*bytes = n > 0 ? (size_t)n : 0;
	if (n <= 0)
		return (0);
	ck_assert_int_eq(buf[n - 1], '\n');
	while (p < buf + n) {
		char *nl = memchr(p, '\n', (size_t)(buf + n - p));
		json_t *j = parse_line(p, (size_t)(nl - p + 1));

		json_decref(j);
		lines++;
		p = nl + 1;
	}
	return (lines);
}

/*
 * Buffered: nothing leaves until a flush, a WARN or worse, or a full
 * buffer; a write is whole lines and at most 4096 bytes; mlog_buffer(false)
 * flushes; the pid is right in a forked child.
 */
START_TEST(test_mlog_buffered)
{
	int p[2];
	size_t bytes;
	pid_t pid;
	int st;

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	mlog_set_fd(p[1]);
	mlog_set_level(MLOG_INFO);
	mlog_buffer(true);
	mlog(MLOG_INFO, "one", NULL);
	mlog(MLOG_INFO, "two", NULL);
	ck_assert_int_eq(count_lines(p[0], &bytes), 0);
	mlog_flush();
	ck_assert_int_eq(count_lines(p[0], &bytes), 2);
	mlog(MLOG_INFO, "three", NULL);
	mlog(MLOG_WARN, "at once", NULL);		/* takes three with it */
	ck_assert_int_eq(count_lines(p[0], &bytes), 2);
	/*
	 * Many lines: a full buffer is written (whole lines) before more is
	 * added; the rest leaves with mlog_buffer(false).
	 */
	{
		int before, after;

		for (int i = 0; i < 100; i++)
			mlog(MLOG_INFO, "many", "i=%d", i);
		before = count_lines(p[0], &bytes);
		ck_assert_int_gt(before, 0);
		ck_assert_int_lt(before, 100);
		mlog_buffer(false);			/* flushes */
		after = count_lines(p[0], &bytes);
		ck_assert_int_eq(before + after, 100);
	}
	/* A forked child logs its own pid, and none of the parent's lines. */
	mlog(MLOG_INFO, "parent", NULL);
	(void) count_lines(p[0], &bytes);
	mlog_buffer(true);
	mlog(MLOG_INFO, "parent buffered", NULL);
	if ((pid = fork()) == 0) {
		mlog(MLOG_WARN, "child", NULL);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	{
		char buf[8192];
		ssize_t n = read(p[0], buf, sizeof (buf) - 1);
		json_t *j;

		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		ck_assert_ptr_null(strstr(buf, "parent buffered"));
		j = parse_line(buf, (size_t)n);
		ck_assert_str_eq(json_string_value(json_object_get(j, "msg")),
		    "child");
		ck_assert_int_eq(json_integer_value(json_object_get(j, "pid")),
		    pid);
		json_decref(j);
	}
	mlog_buffer(false);
	ck_assert_int_eq(count_lines(p[0], &bytes), 1);	/* parent buffered */
	mlog_set_fd(2);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* MLOG_BOOL: JSON booleans, not the strings "true" and "false". */
START_TEST(test_booleans)
{
	char line[1024];
	size_t n = fmt(line, sizeof (line), MLOG_INFO, "m", "a=%s b=%s c=%s",
	    MLOG_BOOL(1), MLOG_BOOL(0), "true");
	json_t *o = parse_line(line, n);

	ck_assert_ptr_nonnull(o);
	ck_assert(json_is_true(json_object_get(o, "a")));
	ck_assert(json_is_false(json_object_get(o, "b")));
	ck_assert(json_is_string(json_object_get(o, "c")));
	json_decref(o);
}
END_TEST

Suite *
mlog_suite(void)
{
	Suite *s = suite_create("mlog");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_standard_fields);
	tcase_add_test(tc, test_no_component);
	tcase_add_test(tc, test_extra_fields);
	tcase_add_test(tc, test_precision);
	tcase_add_test(tc, test_null_msg);
	tcase_add_loop_test(tc, test_escapes, 0, NELEM(escapes));
	tcase_add_test(tc, test_escape_cut);
	tcase_add_test(tc, test_escape_cut_exact);
	tcase_add_test(tc, test_integer_limits);
	tcase_add_test(tc, test_not_finite);
	tcase_add_test(tc, test_time_is_now);
	tcase_add_test(tc, test_line_cut);
	tcase_add_test(tc, test_iso8601);
	tcase_add_loop_test(tc, test_level_parse, 0, NELEM(levels));
	tcase_add_test(tc, test_level_names);
	tcase_add_test(tc, test_mlog_writes);
	tcase_add_test(tc, test_mlog_buffered);
	tcase_add_test(tc, test_booleans);
	suite_add_tcase(s, tc);
	return (s);
}
