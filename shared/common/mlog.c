/*
 * mlog.c: bunyan JSON log lines; see mlog.h.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include "mlog.h"
#include "netutil.h"

#define	MLOG_LINE_MAX	8192

/* MLOG_BOOL(): told apart from strings by their address. */
const char mlog_true[] = "true";
const char mlog_false[] = "false";

static char mlog_name[64] = "medusa";
static char mlog_component[32] = "";
static char mlog_host[256] = "localhost";
static int mlog_shard = -1;
static int mlog_level = MLOG_INFO;
static int mlog_fd = 2;
static pid_t mlog_pid;			/* 0: not yet known */

/*
 * Every line begins with the same bytes up to the level:
 * {"name":..,"hostname":..,"pid":..[,"component":..][,"shard":..],"level":
 * They are rendered once, and again when one of them changes (mlog_hdr_pid
 * 0: stale; a fork changes the pid).  A busy worker writes several lines
 * per session, so what each line costs matters.
 */
static char mlog_hdr[2304];
/* Room for every name, host and component escaped at worst (6 bytes each). */
_Static_assert(sizeof (mlog_hdr) >= 96 + 6 * (sizeof (mlog_name) +
    sizeof (mlog_host) + sizeof (mlog_component)), "mlog_hdr too small");
static size_t mlog_hdr_len;
static pid_t mlog_hdr_pid;

/*
 * Buffering (mlog_buffer): lines wait in mlog_buf until mlog_flush(), a
 * line of level WARN or above, or one that would not fit.  A write holds
 * whole lines and at most PIPE_BUF bytes, so that processes sharing the
 * log pipe never interleave inside a line.
 */
#define	MLOG_BUF_MAX	4096
static bool mlog_buffered;
static char mlog_buf[MLOG_BUF_MAX];
static size_t mlog_buf_len;

static bool mlog_atfork;

static void
mlog_forked(void)
{
	mlog_pid = 0;
	mlog_buf_len = 0;	/* the parent writes those */
}

void
mlog_init(const char *name, const char *component, int shard)
{
	snprintf(mlog_name, sizeof (mlog_name), "%s", name);
	snprintf(mlog_component, sizeof (mlog_component), "%s",
	    component != NULL ? component : "");
	if (gethostname(mlog_host, sizeof (mlog_host)) != 0)
		snprintf(mlog_host, sizeof (mlog_host), "localhost");
	mlog_host[sizeof (mlog_host) - 1] = '\0';
	mlog_shard = shard;
	mlog_pid = getpid();
	mlog_hdr_pid = 0;
	if (!mlog_atfork) {
		(void) pthread_atfork(NULL, NULL, mlog_forked);
		mlog_atfork = true;
	}
}

void
mlog_set_shard(int shard)
{
	mlog_shard = shard;
	mlog_hdr_pid = 0;
}

void
mlog_set_level(int level)
{
	mlog_level = level;
}

int
mlog_get_level(void)
{
	return (mlog_level);
}

void
mlog_set_fd(int fd)
{
	mlog_flush();		/* buffered lines go where they were meant to */
	mlog_fd = fd;
}

static const struct {
	const char *n;
	int l;
} mlog_levels[] = {
	{ "trace", MLOG_TRACE }, { "debug", MLOG_DEBUG },
	{ "info", MLOG_INFO }, { "warn", MLOG_WARN },
	{ "error", MLOG_ERROR }, { "fatal", MLOG_FATAL }
};

int
mlog_level_parse(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof (mlog_levels) / sizeof (mlog_levels[0]);
	    i++) {
		if (strcasecmp(s, mlog_levels[i].n) == 0)
			return (mlog_levels[i].l);
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 100)
		return (-1);
	return ((int)v);
}

const char *
mlog_level_name(int level)
{
	for (size_t i = 0; i < sizeof (mlog_levels) / sizeof (mlog_levels[0]);
	    i++) {
		if (mlog_levels[i].l == level)
			return (mlog_levels[i].n);
	}
	return ("custom");
}

/* Append helpers: all stop quietly at the end of the buffer. */
struct mlog_out {
	char	*o_p;
	size_t	o_cap;
	size_t	o_len;
};

static void
mlog_put(struct mlog_out *o, const char *s, size_t n)
{
	if (o->o_len + n > o->o_cap)
		n = o->o_cap - o->o_len;
	memcpy(o->o_p + o->o_len, s, n);
	o->o_len += n;
}

static void
mlog_puts(struct mlog_out *o, const char *s)
{
	mlog_put(o, s, strlen(s));
}

/* Bytes that stand for themselves inside a JSON string. */
static inline bool
mlog_plain(unsigned char c)
{
	return (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f);
}

size_t
mlog_json_string(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	struct mlog_out o = { out, cap - 1, 0 };
	size_t i = 0;

	if (cap == 0)
		return (0);

	/*
	 * Whatever comes, at least 8 bytes stay free before each input byte
	 * is taken (the longest escape, 6, and the closing quote fit).
	 */
	mlog_put(&o, "\"", 1);
	while (i < n && o.o_cap - o.o_len >= 8) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t run, room;

		if (mlog_plain(c)) {
			room = o.o_cap - o.o_len - 7;
			for (run = 1; i + run < n && run < room &&
			    mlog_plain((unsigned char)s[i + run]); run++)
				;
			mlog_put(&o, s + i, run);
			i += run;
			continue;
		}
		i++;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			mlog_put(&o, esc, 2);
		} else if (c == '\n') {
			mlog_put(&o, "\\n", 2);
		} else if (c == '\r') {
			mlog_put(&o, "\\r", 2);
		} else if (c == '\t') {
			mlog_put(&o, "\\t", 2);
		} else {
			esc[0] = '\\'; esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
			esc[4] = hex[c >> 4]; esc[5] = hex[c & 0xf];
			mlog_put(&o, esc, 6);
		}
	}
	mlog_put(&o, "\"", 1);
	out[o.o_len] = '\0';
	return (o.o_len);
}

static void
mlog_str(struct mlog_out *o, const char *s)
{
	if (s == NULL) {
		mlog_puts(o, "null");
		return;
	}
	if (s == mlog_true || s == mlog_false) {
		mlog_puts(o, s);	/* MLOG_BOOL(): a JSON boolean */
		return;
	}
	o->o_len += mlog_json_string(o->o_p + o->o_len, o->o_cap - o->o_len,
	    s, strlen(s));
}

/* Decimal digits of v, written backwards ending at end; returns the start. */
static char *
mlog_digits(char *end, unsigned long long v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return (end);
}

static void
mlog_num(struct mlog_out *o, unsigned long long mag, bool neg)
{
	char d[24], *p = mlog_digits(d + sizeof (d), mag);

	if (neg)
		*--p = '-';
	mlog_put(o, p, (size_t)(d + sizeof (d) - p));
}

static void
mlog_signed(struct mlog_out *o, long long v)
{
	mlog_num(o, v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v, v < 0);
}

/*
 * "time":"2026-01-02T03:04:05.678Z": the part up to the seconds changes
 * once a second, so it is rendered then and kept.
 */
static void
mlog_time(struct mlog_out *o)
{
	static uint64_t sec = UINT64_MAX;
	static char upto[24];		/* "2026-01-02T03:04:05." */
	uint64_t ms = netutil_now_ms();
	char t[64], frac[5];
	unsigned m = (unsigned)(ms % 1000);

	if (ms / 1000 != sec) {
		netutil_iso8601(ms, t, sizeof (t));
		memcpy(upto, t, 20);
		sec = ms / 1000;
	}
	mlog_put(o, "\"", 1);
	mlog_put(o, upto, 20);
	frac[0] = (char)('0' + m / 100);
	frac[1] = (char)('0' + m / 10 % 10);
	frac[2] = (char)('0' + m % 10);
	frac[3] = 'Z';
	frac[4] = '"';
	mlog_put(o, frac, 5);
}

/*
 * Walk the fields spec: "key=%conv key=%conv ...".  Each value is taken
 * from ap with the type its conversion names.
 */
static void
mlog_fields(struct mlog_out *o, const char *f, va_list ap)
{
	char num[64];

	while (f != NULL && *f != '\0') {
		const char *k, *eq;
		char conv[8];
		size_t cl = 0;

		while (*f == ' ')
			f++;
		if (*f == '\0')
			break;
		k = f;
		if ((eq = strchr(f, '=')) == NULL || eq[1] != '%')
			break;	/* malformed spec: stop rather than misread ap */
		f = eq + 2;
		while (*f != '\0' && *f != ' ' && cl < sizeof (conv) - 1)
			conv[cl++] = *f++;
		conv[cl] = '\0';

		mlog_put(o, ",", 1);
		o->o_len += mlog_json_string(o->o_p + o->o_len,
		    o->o_cap - o->o_len, k, (size_t)(eq - k));
		mlog_put(o, ":", 1);

		if (strcmp(conv, "s") == 0) {
			mlog_str(o, va_arg(ap, const char *));
		} else if (strcmp(conv, ".*s") == 0) {
			int prec = va_arg(ap, int);
			const char *sv = va_arg(ap, const char *);

			if (sv == NULL) {
				mlog_puts(o, "null");
			} else {
				o->o_len += mlog_json_string(o->o_p + o->o_len,
				    o->o_cap - o->o_len, sv,
				    prec < 0 ? strlen(sv) : strnlen(sv,
				    (size_t)prec));
			}
		} else if (strcmp(conv, "d") == 0 || strcmp(conv, "i") == 0) {
			mlog_signed(o, va_arg(ap, int));
		} else if (strcmp(conv, "u") == 0 || strcmp(conv, "x") == 0) {
			mlog_num(o, va_arg(ap, unsigned), false);
		} else if (strcmp(conv, "ld") == 0) {
			mlog_signed(o, va_arg(ap, long));
		} else if (strcmp(conv, "lu") == 0) {
			mlog_num(o, va_arg(ap, unsigned long), false);
		} else if (strcmp(conv, "lld") == 0) {
			mlog_signed(o, va_arg(ap, long long));
		} else if (strcmp(conv, "llu") == 0) {
			mlog_num(o, va_arg(ap, unsigned long long), false);
		} else if (strcmp(conv, "zu") == 0) {
			mlog_num(o, va_arg(ap, size_t), false);
		} else if (strcmp(conv, "zd") == 0) {
			mlog_signed(o, va_arg(ap, ssize_t));
		} else if (cl > 0 && (conv[cl - 1] == 'f' ||
		    conv[cl - 1] == 'g') && strchr(conv, '*') == NULL &&
		    strchr(conv, 'l') == NULL) {
			double d = va_arg(ap, double);

			/* JSON has no NaN or infinity. */
			if (isfinite(d)) {
				snprintf(num, sizeof (num), "%.6g", d);
				mlog_puts(o, num);
			} else {
				mlog_puts(o, "null");
			}
		} else {
			mlog_puts(o, "null");
			break;	/* unknown conversion: cannot go on safely */
		}
	}
}

/* mlog_hdr: see its definition. */
static void
mlog_header(void)
{
	struct mlog_out h = { mlog_hdr, sizeof (mlog_hdr), 0 };

	if (mlog_pid == 0)
		mlog_pid = getpid();
	if (mlog_hdr_pid == mlog_pid)
		return;
	mlog_puts(&h, "{\"name\":");
	mlog_str(&h, mlog_name);
	mlog_puts(&h, ",\"hostname\":");
	mlog_str(&h, mlog_host);
	mlog_puts(&h, ",\"pid\":");
	mlog_signed(&h, mlog_pid);
	if (mlog_component[0] != '\0') {
		mlog_puts(&h, ",\"component\":");
		mlog_str(&h, mlog_component);
	}
	if (mlog_shard >= 0) {
		mlog_puts(&h, ",\"shard\":");
		mlog_signed(&h, mlog_shard);
	}
	mlog_puts(&h, ",\"level\":");
	mlog_hdr_len = h.o_len;
	mlog_hdr_pid = mlog_pid;
}

size_t
mlog_format(char *out, size_t cap, int level, const char *msg,
    const char *fields, va_list ap)
{
	struct mlog_out o = { out, cap - 1, 0 };

	mlog_header();
	mlog_put(&o, mlog_hdr, mlog_hdr_len);
	mlog_signed(&o, level);
	mlog_puts(&o, ",\"msg\":");
	mlog_str(&o, msg);
	mlog_puts(&o, ",\"time\":");
	mlog_time(&o);
	mlog_puts(&o, ",\"v\":0");
	mlog_fields(&o, fields, ap);
	/* Always close the object, even when the values were cut short. */
	if (o.o_len > o.o_cap - 2)
		o.o_len = o.o_cap - 2;
	mlog_puts(&o, "}");
	out[o.o_len++] = '\n';
	return (o.o_len);
}

static void
mlog_write(const char *p, size_t n)
{
	ssize_t w;

	do {
		w = write(mlog_fd, p, n);
	} while (w < 0 && errno == EINTR);
}

void
mlog_buffer(bool on)
{
	if (!on)
		mlog_flush();
	mlog_buffered = on;
}

void
mlog_flush(void)
{
	int saved = errno;

	if (mlog_buf_len > 0)
		mlog_write(mlog_buf, mlog_buf_len);
	mlog_buf_len = 0;
	errno = saved;
}

void
mlog(int level, const char *msg, const char *fields, ...)
{
	char line[MLOG_LINE_MAX];
	va_list ap;
	size_t n;
	int saved = errno;

	if (level < mlog_level)
		return;
	va_start(ap, fields);
	n = mlog_format(line, sizeof (line), level, msg, fields, ap);
	va_end(ap);
	if (!mlog_buffered) {
		mlog_write(line, n);
	} else {
		if (mlog_buf_len + n > sizeof (mlog_buf))
			mlog_flush();
		if (n > sizeof (mlog_buf)) {
			mlog_write(line, n);
		} else {
			memcpy(mlog_buf + mlog_buf_len, line, n);
			mlog_buf_len += n;
		}
		/* What an operator must see at once is not held back. */
		if (level >= MLOG_WARN)
			mlog_flush();
	}
	errno = saved;
}

bool
mlog_allow(struct mlog_limit *l, unsigned long *skipped)
{
	struct timespec ts;
	double now;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (l->ml_last > 0 && now - l->ml_last < 1.0) {
		l->ml_skipped++;
		return (false);
	}
	*skipped = l->ml_skipped;
	l->ml_skipped = 0;
	l->ml_last = now;
	return (true);
}
