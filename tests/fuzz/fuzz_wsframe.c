/*
 * fuzz_wsframe.c: libFuzzer harness for the WebSocket frame codec
 * (shared/common/wsframe.c) and the incremental UTF-8 validator (shared/common/utf8.c).
 *
 * Input layout:
 *
 *	byte 0..3	chunk sizes, used in turn: the stream arrives in
 *			pieces of that many bytes (0: all that is left)
 *	byte 4..	the byte stream a peer sends after the handshake
 *
 * The stream is read twice, by two emulated readers that keep what has
 * arrived in a buffer and take frames off its front as the worker and the
 * client do: once as a server (WSFRAME_F_MASKED: client frames must be
 * masked) and once as a client (WSFRAME_F_UNMASKED).  A reader takes the
 * payload as it arrives, unmasking each piece at its offset in the payload
 * and feeding text to utf8_feed() piece by piece.  It checks:
 *
 *   - wsframe_parse() never reads past the bytes it is given (each call
 *     gets an exact-size copy), answers 0 for every prefix of a header,
 *     and for a header it accepts: length in [2, 14], the direction's
 *     masking rule, control frames final and at most 125 bytes;
 *   - wsframe_header() re-encodes every accepted header to one that parses
 *     to the same fields, no longer, and byte for byte the same when the
 *     original used the shortest length form;
 *   - unmasking in pieces equals unmasking at once, masking twice restores
 *     the payload, and both agree with a plain byte-by-byte XOR;
 *   - the UTF-8 state after each piece of a text message is UTF8_ACCEPT
 *     exactly when the message so far is valid (utf8_valid() on it), and
 *     utf8_valid() agrees with a reference decoder written here;
 *   - close payloads go through wsframe_close_parse(): a code that may be
 *     sent, a reason inside the payload that is UTF-8.
 *
 * Besides, on the stream as a whole: utf8_feed() gives the same state
 * whether fed at once, byte by byte or in the chunks; wsframe_mask() at an
 * arbitrary offset; and wsframe_close_payload() output always parses back
 * with wsframe_close_parse() to the same code and a prefix of the reason.
 */
#include <stdbool.h>

#include "fuzzutil.h"
#include "utf8.h"
#include "wsframe.h"

/* The reflector's default message limit; larger messages are closed 1009. */
#define	MAX_MESSAGE	(1024 * 1024)

/* --- reference implementations --------------------------------------- */

/* UTF-8 by decoding each code point: RFC 3629, no overlongs, surrogates. */
static int
ref_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i], cp, min, need;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return (0);
		}
		if (n - i - 1 < need)
			return (0);
		for (uint32_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += need + 1;
	}
	return (1);
}

/* --- checks on their own ---------------------------------------------- */

/*
 * wsframe_mask() on p[0..n) as if at payload offset off: twice restores,
 * in two pieces (split at s) equals at once, and both equal a plain XOR.
 */
static void
check_mask(const uint8_t *p, size_t n, const uint8_t key[4], uint64_t off,
    size_t s)
{
	uint8_t *a = fuzz_dup(p, n), *b = fuzz_dup(p, n);

	if (s > n)
		s = n;
	wsframe_mask(a, n, key, off);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(a[i] == (p[i] ^ key[(off + i) & 3]));
	wsframe_mask(b, s, key, off);
	wsframe_mask(b + s, n - s, key, off + s);
	FUZZ_CHECK(fuzz_span_eq(a, n, b, n));
	wsframe_mask(a, n, key, off);
	FUZZ_CHECK(fuzz_span_eq(a, n, p, n));
	free(a);
	free(b);
}

/*
 * What wsframe_close_payload() writes parses back: the same code and the
 * reason, cut (only when longer than 123 bytes) at a character boundary.
 */
static void
check_close_payload(const uint8_t *p, size_t n)
{
	uint8_t out[WSFRAME_MAX_CONTROL];
	const uint8_t *reason;
	size_t len, rlen, want;
	uint16_t code, got;

	if (n < 2)
		return;
	code = (uint16_t)((p[0] << 8) | p[1]);
	want = n - 2;
	if (!wsframe_close_code_ok(code) || !utf8_valid(p + 2, want))
		return;
	len = wsframe_close_payload(out, code, (const char *)p + 2, want);
	FUZZ_CHECK(len >= 2 && len <= WSFRAME_MAX_CONTROL);
	FUZZ_CHECK(wsframe_close_parse(out, len, &got, &reason, &rlen) == 0);
	FUZZ_CHECK(got == code);
	FUZZ_CHECK(reason == out + 2 && rlen == len - 2);
	FUZZ_CHECK(fuzz_span_eq(reason, rlen, p + 2, rlen));
	if (want <= WSFRAME_MAX_CONTROL - 2)
		FUZZ_CHECK(rlen == want);
	else
		FUZZ_CHECK(rlen + 3 >= WSFRAME_MAX_CONTROL - 2);
}

/* A received close payload, as the reader hands it over. */
static void
check_close_parse(const uint8_t *p, size_t n)
{
	const uint8_t *reason = NULL;
	uint16_t code = 0;
	size_t rlen = 0;

	if (wsframe_close_parse(p, n, &code, &reason, &rlen) != 0) {
		/* Refused: one byte, a code not for the wire, or not UTF-8. */
		FUZZ_CHECK(n == 1 || (n >= 2 &&
		    (!wsframe_close_code_ok((unsigned)((p[0] << 8) | p[1])) ||
		    !ref_utf8(p + 2, n - 2))));
		return;
	}
	if (n == 0) {
		FUZZ_CHECK(code == WS_CLOSE_NO_STATUS && rlen == 0);
		return;
	}
	FUZZ_CHECK(code == ((p[0] << 8) | p[1]));
	FUZZ_CHECK(wsframe_close_code_ok(code));
	FUZZ_CHECK(reason == p + 2 && rlen == n - 2);
	FUZZ_CHECK(ref_utf8(reason, rlen));
}

/* --- the emulated reader ---------------------------------------------- */

struct reader {
	int		flags;		/* WSFRAME_F_MASKED or _UNMASKED */
	bool		dead;		/* failed or closed: reads no more */
	uint8_t		*in;		/* arrived, not yet taken */
	size_t		inlen;
	bool		have_hdr;	/* inside a frame's payload */
	struct wsframe_hdr h;
	uint64_t	done;		/* payload bytes of this frame taken */
	uint8_t		*wire;		/* this frame's payload as received */
	uint8_t		*plain;		/* ... unmasked piece by piece */
	int		msg_op;		/* 0, or the op of a message begun */
	uint8_t		*msg;		/* the message reassembled so far */
	size_t		msglen;
	uint32_t	utf8;		/* state over msg, for text */
	uint8_t		split;		/* where to cut the unmasking check */
};

static void
reader_init(struct reader *r, int flags, size_t cap, uint8_t split)
{
	memset(r, 0, sizeof (*r));
	r->flags = flags;
	r->split = split;
	/* No frame, payload or message can hold more than the stream. */
	r->in = malloc(cap + 1);
	r->wire = malloc(cap + 1);
	r->plain = malloc(cap + 1);
	r->msg = malloc(cap + 1);
	if (r->in == NULL || r->wire == NULL || r->plain == NULL ||
	    r->msg == NULL)
		abort();
}

static void
reader_free(struct reader *r)
{
	free(r->in);
	free(r->wire);
	free(r->plain);
	free(r->msg);
}

static void
take(struct reader *r, size_t n)
{
	memmove(r->in, r->in + n, r->inlen - n);
	r->inlen -= n;
}

static int
parse_exact(const uint8_t *p, size_t n, int flags, struct wsframe_hdr *h)
{
	uint8_t *q = fuzz_dup(p, n);
	int rv = wsframe_parse(q, n, flags, h);

	free(q);
	return (rv);
}

/* An accepted header: its rules, its prefixes, its re-encoding. */
static void
check_header(const struct reader *r, const uint8_t *raw, int hl)
{
	const struct wsframe_hdr *h = &r->h;
	struct wsframe_hdr h2;
	uint8_t enc[WSFRAME_MAX_HEADER];
	size_t el;
	uint8_t len7 = raw[1] & 0x7f;
	bool shortest;

	FUZZ_CHECK(hl >= 2 && hl <= WSFRAME_MAX_HEADER);
	FUZZ_CHECK((size_t)hl == h->fh_hdrlen);
	FUZZ_CHECK(h->fh_opcode <= WS_OP_BINARY ||
	    (h->fh_opcode >= WS_OP_CLOSE && h->fh_opcode <= WS_OP_PONG));
	if (r->flags & WSFRAME_F_MASKED)
		FUZZ_CHECK(h->fh_masked);
	if (r->flags & WSFRAME_F_UNMASKED)
		FUZZ_CHECK(!h->fh_masked);
	if (wsframe_is_control(h->fh_opcode))
		FUZZ_CHECK(h->fh_fin && h->fh_len <= WSFRAME_MAX_CONTROL);
	FUZZ_CHECK(h->fh_len < (1ull << 63));

	/* Every shorter prefix is "need more bytes", never a result. */
	for (int k = 0; k < hl; k++) {
		struct wsframe_hdr hp;

		FUZZ_CHECK(parse_exact(raw, (size_t)k, r->flags, &hp) == 0);
	}

	/* Re-encode: the same fields, never longer. */
	el = wsframe_header(enc, h->fh_fin, h->fh_opcode, h->fh_len,
	    h->fh_masked ? h->fh_mask : NULL);
	FUZZ_CHECK(el >= 2 && el <= (size_t)hl);
	FUZZ_CHECK(parse_exact(enc, el, r->flags, &h2) == (int)el);
	FUZZ_CHECK(h2.fh_fin == h->fh_fin && h2.fh_opcode == h->fh_opcode &&
	    h2.fh_masked == h->fh_masked && h2.fh_len == h->fh_len &&
	    h2.fh_hdrlen == el && memcmp(h2.fh_mask, h->fh_mask, 4) == 0);
	/* The same bytes when the original used the shortest length form. */
	shortest = len7 < 126 || (len7 == 126 && h->fh_len >= 126) ||
	    (len7 == 127 && h->fh_len > 0xffff);
	if (shortest)
		FUZZ_CHECK(el == (size_t)hl && memcmp(enc, raw, el) == 0);
}

/* A header was taken: what a reader makes of it before the payload. */
static void
frame_begins(struct reader *r)
{
	const struct wsframe_hdr *h = &r->h;

	if (wsframe_is_control(h->fh_opcode))
		return;			/* parse() saw to the rules */
	if (h->fh_len > MAX_MESSAGE - r->msglen) {
		r->dead = true;			/* 1009 */
		return;
	}
	if (h->fh_opcode == WS_OP_CONT && r->msg_op == 0)
		r->dead = true;			/* 1002: nothing to continue */
	else if (h->fh_opcode != WS_OP_CONT && r->msg_op != 0)
		r->dead = true;			/* 1002: message inside one */
	else if (h->fh_opcode != WS_OP_CONT)
		r->msg_op = h->fh_opcode;
}

/* Payload bytes arrived: r->plain[at..at+n) is newly unmasked. */
static void
payload_piece(struct reader *r, size_t at, size_t n)
{
	if (wsframe_is_control(r->h.fh_opcode) || n == 0)
		return;
	memcpy(r->msg + r->msglen, r->plain + at, n);
	r->msglen += n;
	if (r->msg_op != WS_OP_TEXT)
		return;
	r->utf8 = utf8_feed(r->utf8, r->plain + at, n);
	FUZZ_CHECK((r->utf8 == UTF8_ACCEPT) == utf8_valid(r->msg, r->msglen));
	FUZZ_CHECK((r->utf8 == UTF8_ACCEPT) == ref_utf8(r->msg, r->msglen));
	if (r->utf8 == UTF8_REJECT)
		r->dead = true;			/* 1007 */
}

/* The whole payload has been taken. */
static void
frame_ends(struct reader *r)
{
	const struct wsframe_hdr *h = &r->h;
	size_t n = (size_t)h->fh_len;
	uint8_t *once = fuzz_dup(r->wire, n);

	/* Unmasked in pieces == unmasked at once == plain XOR. */
	wsframe_mask(once, n, h->fh_mask, 0);
	FUZZ_CHECK(fuzz_span_eq(once, n, r->plain, n));
	check_mask(r->wire, n, h->fh_mask, 0, n > 0 ? r->split % n : 0);
	if (!h->fh_masked)
		FUZZ_CHECK(fuzz_span_eq(r->wire, n, r->plain, n));
	free(once);

	switch (h->fh_opcode) {
	case WS_OP_CLOSE:
		check_close_parse(r->plain, n);
		r->dead = true;			/* the stream is over */
		return;
	case WS_OP_PING:
	case WS_OP_PONG:
		return;
	default:
		break;
	}
	if (!h->fh_fin)
		return;
	/* A whole message. */
	if (r->msg_op == WS_OP_TEXT) {
		FUZZ_CHECK((r->utf8 == UTF8_ACCEPT) ==
		    utf8_valid(r->msg, r->msglen));
		if (r->utf8 != UTF8_ACCEPT)
			r->dead = true;		/* 1007: cut short */
	}
	r->msg_op = 0;
	r->msglen = 0;
	r->utf8 = UTF8_ACCEPT;
}

/* n more bytes arrived: take every frame and payload piece there is. */
static void
reader_feed(struct reader *r, const uint8_t *p, size_t n)
{
	if (r->dead)
		return;
	memcpy(r->in + r->inlen, p, n);
	r->inlen += n;
	while (!r->dead) {
		uint64_t left;
		size_t avail;

		if (!r->have_hdr) {
			uint8_t raw[WSFRAME_MAX_HEADER];
			int hl = parse_exact(r->in, r->inlen, r->flags, &r->h);

			if (hl == 0) {
				/* A header is never longer than 14 bytes. */
				FUZZ_CHECK(r->inlen < WSFRAME_MAX_HEADER);
				return;
			}
			if (hl < 0) {
				FUZZ_CHECK(hl >= WSFRAME_E_LEN64);
				FUZZ_CHECK(wsframe_err_code(hl) ==
				    WS_CLOSE_PROTOCOL);
				FUZZ_CHECK(wsframe_strerror(hl) != NULL);
				r->dead = true;		/* 1002 */
				return;
			}
			FUZZ_CHECK((size_t)hl <= r->inlen);
			memcpy(raw, r->in, (size_t)hl);
			check_header(r, raw, hl);
			take(r, (size_t)hl);
			r->have_hdr = true;
			r->done = 0;
			frame_begins(r);
			if (r->dead)
				return;
		}
		left = r->h.fh_len - r->done;
		avail = r->inlen < left ? r->inlen : (size_t)left;
		if (avail > 0) {
			size_t at = (size_t)r->done;

			memcpy(r->wire + at, r->in, avail);
			memcpy(r->plain + at, r->in, avail);
			wsframe_mask(r->plain + at, avail, r->h.fh_mask,
			    r->done);
			take(r, avail);
			r->done += avail;
			payload_piece(r, at, avail);
			if (r->dead)
				return;
		}
		if (r->done < r->h.fh_len)
			return;			/* wait for more */
		frame_ends(r);
		r->have_hdr = false;
	}
}

/* --- the whole input --------------------------------------------------- */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t sizes[4] = { 0, 0, 0, 0 };
	const uint8_t *s;
	size_t n, k, pos;
	struct reader srv, cli;
	uint32_t st_once, st_bytes, st_chunks;

	memcpy(sizes, data, size < 4 ? size : 4);
	s = data + (size < 4 ? size : 4);
	n = size - (size_t)(s - data);

	reader_init(&srv, WSFRAME_F_MASKED, n, sizes[1]);
	reader_init(&cli, WSFRAME_F_UNMASKED, n, sizes[2]);
	st_chunks = UTF8_ACCEPT;
	for (pos = 0, k = 0; pos < n; k++) {
		size_t c = sizes[k & 3] != 0 ? sizes[k & 3] : n - pos;

		if (c > n - pos)
			c = n - pos;
		reader_feed(&srv, s + pos, c);
		reader_feed(&cli, s + pos, c);
		st_chunks = utf8_feed(st_chunks, s + pos, c);
		pos += c;
	}
	reader_free(&srv);
	reader_free(&cli);

	/* UTF-8 over the whole stream: any split gives the same state. */
	st_once = utf8_feed(UTF8_ACCEPT, s, n);
	st_bytes = UTF8_ACCEPT;
	for (size_t i = 0; i < n; i++)
		st_bytes = utf8_feed(st_bytes, s + i, 1);
	FUZZ_CHECK(st_once == st_bytes && st_once == st_chunks);
	FUZZ_CHECK(utf8_valid(s, n) == (st_once == UTF8_ACCEPT));
	FUZZ_CHECK(utf8_valid(s, n) == ref_utf8(s, n));

	/* Masking at an arbitrary (64-bit) offset, keyed by the prefix. */
	check_mask(s, n, sizes, (uint64_t)sizes[3] << 56 | sizes[0],
	    sizes[1]);

	/* The stream as a close payload, both ways. */
	if (n <= WSFRAME_MAX_CONTROL)
		check_close_parse(s, n);
	check_close_payload(s, n);
	return (0);
}
