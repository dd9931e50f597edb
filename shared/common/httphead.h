/*
 * httphead.h: HTTP/1.x message-head parser.  Pure: (buffer, length, out),
 * no I/O, no allocation, no globals.  Spans point into the caller's buffer.
 *
 * Lines end in CRLF; a bare LF is accepted too (RFC 9112 section 2.2).
 * Header names are tokens; obsolete line folding is refused; header values
 * may not hold control characters other than tab.
 */
#ifndef MEDUSA_HTTPHEAD_H
#define MEDUSA_HTTPHEAD_H

#include <stdbool.h>
#include <stddef.h>

#define	HTTPHEAD_MAX_HEADERS	64

struct httphead_span {
	const char	*s_p;
	size_t		s_n;
};

struct httphead_header {
	struct httphead_span	h_name;
	struct httphead_span	h_value;	/* without surrounding blanks */
};

struct httphead {
	/* Request line (requests only). */
	struct httphead_span	hh_method;
	struct httphead_span	hh_target;
	/* Status line (responses only). */
	int			hh_status;
	struct httphead_span	hh_reason;
	int			hh_minor;	/* HTTP/1.<minor> */
	size_t			hh_nheaders;
	struct httphead_header	hh_headers[HTTPHEAD_MAX_HEADERS];
	size_t			hh_len;		/* bytes of head, with the blank line */
};

enum httphead_result {
	HTTPHEAD_OK = 1,		/* complete; hh_len is set */
	HTTPHEAD_INCOMPLETE = 0,	/* no end of head yet */
	HTTPHEAD_E_MALFORMED = -1,	/* 400 */
	HTTPHEAD_E_TOO_MANY = -2,	/* 431: more than HTTPHEAD_MAX_HEADERS */
	HTTPHEAD_E_VERSION = -3		/* 505: not HTTP/1.x */
};

/*
 * Find the end of a head in buf[0..len), starting the search at `from`
 * (so a caller reading in pieces does not rescan).  Returns the head's
 * length including the blank line, or 0 if it has not ended yet.
 */
size_t httphead_end(const char *buf, size_t len, size_t from);

/*
 * Quick check that buf[0..len), the first bytes of a connection, can still
 * be the start of an HTTP request: the method is a token followed by a
 * space.  Lets a server refuse binary junk (a TLS ClientHello) at once
 * rather than wait for a head that never ends.  1 plausible, 0 not.
 */
int httphead_plausible(const char *buf, size_t len);

/* Parse a complete request or response head.  Returns httphead_result. */
int httphead_parse_request(const char *buf, size_t len, struct httphead *out);
int httphead_parse_response(const char *buf, size_t len, struct httphead *out);

/* The first header named `name` (case-insensitive), or NULL. */
const struct httphead_span *httphead_get(const struct httphead *,
    const char *name);
/* The number of headers named `name`. */
size_t httphead_count(const struct httphead *, const char *name);
/* 1 if a comma-separated header value holds token (case-insensitive). */
int httphead_has_token(const struct httphead_span *, const char *token);
/* 1 if the span equals s, ignoring ASCII case. */
int httphead_span_ieq(const struct httphead_span *, const char *s);

#endif
