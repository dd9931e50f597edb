/*
 * fuzz_httphead.c: libFuzzer harness for the HTTP head parser
 * (shared/common/httphead.c) and what the reflector does with a parsed head: the
 * route (shared/server/route.c) and the WebSocket handshake (shared/common/wshandshake.c).
 *
 * The input is the first bytes of a connection.  Checks:
 *
 *   - httphead_end() resumed as the supervisor resumes it (each call given
 *     the bytes so far and where the previous call stopped), with the bytes
 *     arriving one at a time and in pieces whose sizes come from the input,
 *     finds the same end as one call over everything; it never reads past
 *     the bytes it is given (the rest of the buffer is poisoned for ASan);
 *   - httphead_plausible() is 1 for every prefix of a request whose method
 *     (at most 32 bytes) parses, and once 0 stays 0 as bytes arrive;
 *   - httphead_parse_request() and _response() answer INCOMPLETE exactly
 *     when there is no end of head; parse the same with or without bytes
 *     after the head; and for a head they accept: hh_len is the end of the
 *     head (so <= len), every span lies inside the head, the method is a
 *     token, the target has no blank or control byte, header names are
 *     tokens, values have no surrounding blanks and no control bytes;
 *   - httphead_get() finds the first header of each name, httphead_count()
 *     counts them, and httphead_has_token() finds each value's first
 *     comma-separated element;
 *   - route_parse() on the target: an attach route's id is lowercased,
 *     of unreserved characters, within max_id, found in the target; a
 *     query string changes nothing;
 *   - wshandshake_check_request() accepts exactly what RFC 6455 and the
 *     original peers need (GET, HTTP/1.1, Upgrade, Connection, one key, no
 *     version or 13), and for an accepted request our 101 response parses
 *     and passes the client's wshandshake_check_response().
 */
#include <ctype.h>
#include <strings.h>

#include <sanitizer/asan_interface.h>

#include "fuzzutil.h"
#include "httphead.h"
#include "route.h"
#include "wshandshake.h"

/* --- httphead_end() in pieces ----------------------------------------- */

/*
 * Deliver data[0..size) in pieces (piece(i) gives the next size) to a
 * buffer whose bytes not yet delivered are poisoned, calling httphead_end()
 * after each piece as a reader would.  It must find `want` (the one-shot
 * answer) as soon as the bytes so far hold it, and 0 before.
 */
static void
end_in_pieces(const uint8_t *data, size_t size, size_t want, int bytewise)
{
	char *buf = (char *)fuzz_dup(data, size);
	size_t have = 0, from = 0;

	ASAN_POISON_MEMORY_REGION(buf, size);
	while (have < size) {
		size_t piece = bytewise ? 1 : (size_t)(data[have] % 23) + 1;
		size_t got;

		if (piece > size - have)
			piece = size - have;
		ASAN_UNPOISON_MEMORY_REGION(buf + have, piece);
		have += piece;
		got = httphead_end(buf, have, from);
		FUZZ_CHECK(got == (want != 0 && want <= have ? want : 0));
		if (got != 0)
			break;
		from = have;
	}
	ASAN_UNPOISON_MEMORY_REGION(buf, size);
	free(buf);
}

/* --- a parsed head ------------------------------------------------------ */

static int
tchar(unsigned char c)
{
	return (isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c)));
}

/* A span as a NUL-terminated string (spans in a head hold no NUL). */
static char *
cstr(const struct httphead_span *sp)
{
	char *s = malloc(sp->s_n + 1);

	if (s == NULL)
		abort();
	if (sp->s_n > 0)
		memcpy(s, sp->s_p, sp->s_n);
	s[sp->s_n] = '\0';
	FUZZ_CHECK(strlen(s) == sp->s_n);
	return (s);
}

/* A span of head h lies inside its hh_len bytes at buf. */
#define	INHEAD(h, sp)	FUZZ_CHECK(fuzz_within((sp).s_p, (sp).s_n, buf, \
			    (h)->hh_len))

/* What holds for any head the parser accepts, request or response. */
static void
check_head(const char *buf, size_t len, const struct httphead *h)
{
	FUZZ_CHECK(h->hh_len >= 2 && h->hh_len <= len);
	FUZZ_CHECK(h->hh_len == httphead_end(buf, len, 0));
	FUZZ_CHECK(h->hh_minor >= 0 && h->hh_minor <= 9);
	FUZZ_CHECK(h->hh_nheaders <= HTTPHEAD_MAX_HEADERS);

	for (size_t i = 0; i < h->hh_nheaders; i++) {
		const struct httphead_header *hd = &h->hh_headers[i];
		const struct httphead_span *got;
		const struct httphead_span *v = &hd->h_value;
		char *name, *tok;
		size_t first, s, e;

		INHEAD(h, hd->h_name);
		INHEAD(h, hd->h_value);
		FUZZ_CHECK(hd->h_name.s_n > 0);
		for (size_t j = 0; j < hd->h_name.s_n; j++)
			FUZZ_CHECK(tchar((unsigned char)hd->h_name.s_p[j]));
		if (v->s_n > 0) {
			FUZZ_CHECK(v->s_p[0] != ' ' && v->s_p[0] != '\t');
			FUZZ_CHECK(v->s_p[v->s_n - 1] != ' ' &&
			    v->s_p[v->s_n - 1] != '\t');
		}
		for (size_t j = 0; j < v->s_n; j++) {
			unsigned char c = (unsigned char)v->s_p[j];

			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		}

		/* httphead_get(): the first header of this name. */
		name = cstr(&hd->h_name);
		for (first = 0; first < i; first++) {
			if (httphead_span_ieq(&h->hh_headers[first].h_name,
			    name))
				break;
		}
		got = httphead_get(h, name);
		FUZZ_CHECK(got == &h->hh_headers[first].h_value);
		FUZZ_CHECK(httphead_count(h, name) >= 1);
		free(name);

		/* httphead_has_token(): the value's first element. */
		for (s = 0; s < v->s_n && (v->s_p[s] == ' ' ||
		    v->s_p[s] == '\t' || v->s_p[s] == ','); s++)
			;
		for (e = s; e < v->s_n && v->s_p[e] != ','; e++)
			;
		while (e > s && (v->s_p[e - 1] == ' ' || v->s_p[e - 1] == '\t'))
			e--;
		if (e > s) {
			struct httphead_span t = { v->s_p + s, e - s };

			tok = cstr(&t);
			FUZZ_CHECK(httphead_has_token(v, tok) == 1);
			free(tok);
		}
	}
}

/* route_parse() on a request target. */
static void
check_route(const struct httphead_span *target)
{
	static const size_t max_ids[] = { 128, ROUTE_ID_MAX, 1 };
	struct route r, rq;
	const char *q;

	for (size_t k = 0; k < sizeof (max_ids) / sizeof (max_ids[0]); k++) {
		int kind = route_parse(target->s_p, target->s_n, max_ids[k], &r);

		FUZZ_CHECK(kind == r.r_kind);
		FUZZ_CHECK(kind == ROUTE_STATUS || kind == ROUTE_ATTACH ||
		    kind == ROUTE_METRICS || kind == ROUTE_E_NOT_FOUND ||
		    kind == ROUTE_E_BAD_ID || kind == ROUTE_E_BAD_ACCOUNT);
		if (kind == ROUTE_E_BAD_ID)
			FUZZ_CHECK(r.r_role == ROLE_MASTER ||
			    r.r_role == ROLE_SLAVE);
		if (kind != ROUTE_ATTACH)
			continue;
		FUZZ_CHECK(r.r_role == ROLE_MASTER || r.r_role == ROLE_SLAVE);
		FUZZ_CHECK(r.r_idlen >= 1 && r.r_idlen <= max_ids[k]);
		/* An account is a valid name, found as the path's first part. */
		FUZZ_CHECK(strlen(r.r_acct) == r.r_acctlen);
		if (r.r_acctlen > 0) {
			FUZZ_CHECK(route_account_ok(r.r_acct, r.r_acctlen));
			FUZZ_CHECK(memmem(target->s_p, target->s_n, r.r_acct,
			    r.r_acctlen) != NULL);
		}
		FUZZ_CHECK(strlen(r.r_id) == r.r_idlen);
		FUZZ_CHECK(strcmp(r.r_id, ".") != 0 && strcmp(r.r_id, "..") != 0);
		for (size_t i = 0; i < r.r_idlen; i++) {
			unsigned char c = (unsigned char)r.r_id[i];

			FUZZ_CHECK((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || strchr("-_.~", c));
		}
		/* The id is in the target (ignoring case), between slashes. */
		{
			int found = 0;

			for (size_t i = 0; i + r.r_idlen + 1 < target->s_n &&
			    !found; i++) {
				found = target->s_p[i] == '/' &&
				    strncasecmp(target->s_p + i + 1, r.r_id,
				    r.r_idlen) == 0 &&
				    target->s_p[i + 1 + r.r_idlen] == '/';
			}
			FUZZ_CHECK(found);
		}
		/* A shorter limit refuses the id. */
		if (r.r_idlen > 1)
			FUZZ_CHECK(route_parse(target->s_p, target->s_n,
			    r.r_idlen - 1, &rq) == ROUTE_E_BAD_ID);
	}

	/*
	 * A query string changes nothing.  (Only for an origin-form target:
	 * in an absolute form a '?' before the path is not a query.)
	 */
	if (target->s_p[0] == '/' &&
	    (q = memchr(target->s_p, '?', target->s_n)) != NULL) {
		size_t n = (size_t)(q - target->s_p);

		(void) route_parse(target->s_p, target->s_n, 128, &r);
		(void) route_parse(target->s_p, n, 128, &rq);
		FUZZ_CHECK(r.r_kind == rq.r_kind && r.r_role == rq.r_role &&
		    r.r_idlen == rq.r_idlen && strcmp(r.r_id, rq.r_id) == 0);
	}
}

/* wshandshake_check_request() on a parsed request; then our 101. */
static void
check_handshake(const struct httphead *h)
{
	char accept[WSH_ACCEPT_LEN + 1];
	char resp[512], err[256], *key;
	const struct httphead_span *v;
	struct wsh_error we = { 0, NULL, NULL };
	struct httphead res;
	size_t rl;
	int ping_ok = -1, ok;

	ok = wshandshake_check_request(h, accept, &ping_ok, &we) == 0;
	FUZZ_CHECK(ping_ok == 0 || ping_ok == 1);
	if (!ok) {
		FUZZ_CHECK(we.we_status == 400 || we.we_status == 405 ||
		    we.we_status == 426);
		FUZZ_CHECK(we.we_code != NULL && we.we_message != NULL);
		return;
	}

	/* Accepted: then it really is a version 13 upgrade. */
	FUZZ_CHECK(httphead_span_ieq(&h->hh_method, "GET"));
	FUZZ_CHECK(h->hh_minor >= 1);
	FUZZ_CHECK((v = httphead_get(h, "Upgrade")) != NULL &&
	    httphead_has_token(v, "websocket"));
	FUZZ_CHECK((v = httphead_get(h, "Connection")) != NULL &&
	    httphead_has_token(v, "upgrade"));
	FUZZ_CHECK(httphead_count(h, "Sec-WebSocket-Key") == 1);
	v = httphead_get(h, "Sec-WebSocket-Version");
	FUZZ_CHECK(v == NULL || httphead_span_ieq(v, "13"));
	FUZZ_CHECK(strlen(accept) == WSH_ACCEPT_LEN &&
	    accept[WSH_ACCEPT_LEN - 1] == '=');

	/* Our answer satisfies a client that sent this key. */
	key = cstr(httphead_get(h, "Sec-WebSocket-Key"));
	FUZZ_CHECK(strlen(key) == WSH_KEY_LEN);
	rl = wshandshake_response(resp, sizeof (resp), accept);
	FUZZ_CHECK(rl > 0);
	FUZZ_CHECK(httphead_parse_response(resp, rl, &res) == HTTPHEAD_OK);
	FUZZ_CHECK(res.hh_status == 101 && res.hh_len == rl);
	FUZZ_CHECK(wshandshake_check_response(&res, key, err,
	    sizeof (err)) == 0);
	free(key);
}

/* The same parse with only the head's own bytes, in an exact-size block. */
static void
check_head_alone(const uint8_t *data, size_t end, int response,
    int want, const struct httphead *full)
{
	char *head = (char *)fuzz_dup(data, end);
	struct httphead h;
	int rv;

	rv = response ? httphead_parse_response(head, end, &h) :
	    httphead_parse_request(head, end, &h);
	FUZZ_CHECK(rv == want);
	if (rv == HTTPHEAD_OK) {
		FUZZ_CHECK(h.hh_len == full->hh_len);
		FUZZ_CHECK(h.hh_nheaders == full->hh_nheaders);
		FUZZ_CHECK(h.hh_status == full->hh_status);
		FUZZ_CHECK(h.hh_target.s_n == full->hh_target.s_n);
	}
	free(head);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct httphead h;
	size_t end;
	int rv, p, was;

	/* The end of the head, at once and in pieces. */
	end = httphead_end(buf, size, 0);
	FUZZ_CHECK(end == 0 || (end >= 2 && end <= size &&
	    buf[end - 1] == '\n'));
	end_in_pieces(data, size, end, 1);
	end_in_pieces(data, size, end, 0);

	/* Plausibility, as bytes arrive: once refused, always refused. */
	was = 1;
	for (size_t n = 0; n <= size && n <= 40; n++) {
		p = httphead_plausible(buf, n);
		FUZZ_CHECK(p == 0 || p == 1);
		FUZZ_CHECK(p <= was);
		was = p;
	}

	/* As a request. */
	rv = httphead_parse_request(buf, size, &h);
	FUZZ_CHECK(rv >= HTTPHEAD_E_VERSION && rv <= HTTPHEAD_OK);
	FUZZ_CHECK((rv == HTTPHEAD_INCOMPLETE) == (end == 0));
	if (end != 0)
		check_head_alone(data, end, 0, rv, &h);
	if (rv == HTTPHEAD_OK) {
		check_head(buf, size, &h);
		INHEAD(&h, h.hh_method);
		INHEAD(&h, h.hh_target);
		FUZZ_CHECK(h.hh_method.s_p == buf && h.hh_method.s_n > 0);
		for (size_t i = 0; i < h.hh_method.s_n; i++)
			FUZZ_CHECK(tchar((unsigned char)h.hh_method.s_p[i]));
		FUZZ_CHECK(h.hh_target.s_n > 0);
		for (size_t i = 0; i < h.hh_target.s_n; i++) {
			unsigned char c = (unsigned char)h.hh_target.s_p[i];

			FUZZ_CHECK(c > 0x20 && c < 0x7f);
		}
		if (h.hh_method.s_n <= 32) {
			for (size_t n = 0; n <= h.hh_method.s_n + 1; n++)
				FUZZ_CHECK(httphead_plausible(buf, n) == 1);
		}
		check_route(&h.hh_target);
		check_handshake(&h);
	}

	/* As a response. */
	rv = httphead_parse_response(buf, size, &h);
	FUZZ_CHECK(rv >= HTTPHEAD_E_VERSION && rv <= HTTPHEAD_OK);
	FUZZ_CHECK((rv == HTTPHEAD_INCOMPLETE) == (end == 0));
	if (end != 0)
		check_head_alone(data, end, 1, rv, &h);
	if (rv == HTTPHEAD_OK) {
		char err[256];

		check_head(buf, size, &h);
		INHEAD(&h, h.hh_reason);
		FUZZ_CHECK(h.hh_status >= 0 && h.hh_status <= 999);
		/* A client checks it against a key it never sent. */
		(void) wshandshake_check_response(&h,
		    "dGhlIHNhbXBsZSBub25jZQ==", err, sizeof (err));
	}
	return (0);
}
