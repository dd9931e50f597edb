/*
 * mlog.h: bunyan-format JSON log lines.
 *
 * Each call writes one line to standard error with a single write(2)
 * (or, after mlog_buffer(true), adds it to a buffer of whole lines that
 * mlog_flush() writes at once):
 *
 *	{"name":"medusa","hostname":"h","pid":1,"component":"worker",
 *	 "shard":2,"level":30,"msg":"...","time":"2026-...Z","v":0, ...}
 *
 * Extra fields come from a printf-style spec of space-separated key=%conv
 * pairs, for example
 *
 *	mlog(MLOG_INFO, "session paired", "session=%s req_id=%s bytes=%llu",
 *	    id, rid, (unsigned long long)n);
 *
 * The spec is an ordinary printf format, so the compiler checks the types.
 * %s values become JSON strings (NULL becomes null); numeric conversions
 * (%d %i %u %ld %lu %lld %llu %zu %zd %x %g %f) become JSON numbers; a %s
 * given MLOG_BOOL(b) becomes the JSON boolean true or false.
 */
#ifndef MEDUSA_MLOG_H
#define MEDUSA_MLOG_H

enum mlog_level {
	MLOG_TRACE = 10,
	MLOG_DEBUG = 20,
	MLOG_INFO = 30,
	MLOG_WARN = 40,
	MLOG_ERROR = 50,
	MLOG_FATAL = 60
};

/* name: bunyan "name"; component: supervisor, worker...; shard or -1. */
void mlog_init(const char *name, const char *component, int shard);
void mlog_set_shard(int shard);
void mlog_set_level(int level);
int mlog_get_level(void);
/* Send lines to fd instead of 2 (tests). */
void mlog_set_fd(int fd);
/* "trace".."fatal" or a number: the level, or -1. */
int mlog_level_parse(const char *s);
const char *mlog_level_name(int level);

/* For a %s field: the JSON boolean b (not the string "true"). */
extern const char mlog_true[], mlog_false[];
#define	MLOG_BOOL(b)	((b) ? mlog_true : mlog_false)

void mlog(int level, const char *msg, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Buffered lines: a busy event loop turns on buffering and calls
 * mlog_flush() once per iteration (and before it exits).  Lines of level
 * WARN and above flush at once; a flush writes at most 4096 bytes of whole
 * lines.  mlog_buffer(false) flushes.
 */
#include <stdbool.h>
void mlog_buffer(bool on);
void mlog_flush(void);

/*
 * At most one line a second for something that may happen in floods (a
 * limit being hit): mlog_allow() says whether to log now, and how many
 * times it said no since it last said yes.
 */
struct mlog_limit {
	double		ml_last;
	unsigned long	ml_skipped;
};
#include <stdbool.h>
bool mlog_allow(struct mlog_limit *, unsigned long *skipped);

/*
 * Format a line into out[cap] without writing it; returns its length
 * (with the newline).  For tests; mlog() uses it.
 */
#include <stdarg.h>
#include <stddef.h>
size_t mlog_format(char *out, size_t cap, int level, const char *msg,
    const char *fields, va_list ap);

/*
 * JSON-escape s[0..n) into out[cap] as a quoted, NUL-terminated string;
 * returns its length (without the NUL).
 */
size_t mlog_json_string(char *out, size_t cap, const char *s, size_t n);

#endif
