/*
 * test_wsframe.c: wsframe.h, the RFC 6455 frame codec.
 */
#include <stdint.h>
#include <string.h>

#include "suites.h"
#include "utf8.h"
#include "wsframe.h"

static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* --- header encoding and parsing -------------------------------------- */

/* Payload lengths at every boundary of the three length forms. */
static const struct {
	uint64_t	len;
	size_t		hdrlen;		/* unmasked */
	uint8_t		len7;		/* the second byte's length bits */
} lengths[] = {
	{ 0, 2, 0 },
	{ 1, 2, 1 },
	{ 125, 2, 125 },
	{ 126, 4, 126 },
	{ 127, 4, 126 },
	{ 256, 4, 126 },
	{ 65535, 4, 126 },
	{ 65536, 10, 127 },
	{ 65537, 10, 127 },
	{ 0xffffffffull, 10, 127 },
	{ 0x100000000ull, 10, 127 },
	{ 0x7fffffffffffffffull, 10, 127 },
};

START_TEST(test_lengths)
{
	uint8_t h[WSFRAME_MAX_HEADER + 8];
	struct wsframe_hdr fh;
	uint64_t len = lengths[_i].len;
	size_t n;

	/* Unmasked, as a server sends. */
	memset(h, 0xee, sizeof (h));
	n = wsframe_header(h, true, WS_OP_BINARY, len, NULL);
	ck_assert_uint_eq(n, lengths[_i].hdrlen);
	ck_assert_uint_eq(h[0], 0x82);
	ck_assert_uint_eq(h[1], lengths[_i].len7);
	if (n == 4)
		ck_assert_uint_eq((uint64_t)h[2] << 8 | h[3], len);
	if (n == 10) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | h[2 + i];
		ck_assert_uint_eq(v, len);
	}
	ck_assert_int_eq(wsframe_parse(h, n, WSFRAME_F_UNMASKED, &fh), (int)n);
	ck_assert(fh.fh_fin);
	ck_assert_uint_eq(fh.fh_opcode, WS_OP_BINARY);
	ck_assert(!fh.fh_masked);
	ck_assert_uint_eq(fh.fh_len, len);
	ck_assert_uint_eq(fh.fh_hdrlen, n);

	/* Masked, as a client sends, and not final. */
	n = wsframe_header(h, false, WS_OP_CONT, len, key);
	ck_assert_uint_eq(n, lengths[_i].hdrlen + 4);
	ck_assert_uint_eq(h[0], 0x00);
	ck_assert_uint_eq(h[1], 0x80 | lengths[_i].len7);
	ck_assert_mem_eq(h + n - 4, key, 4);
	ck_assert_int_eq(wsframe_parse(h, n, WSFRAME_F_MASKED, &fh), (int)n);
	ck_assert(!fh.fh_fin);
	ck_assert_uint_eq(fh.fh_opcode, WS_OP_CONT);
	ck_assert(fh.fh_masked);
	ck_assert_mem_eq(fh.fh_mask, key, 4);
	ck_assert_uint_eq(fh.fh_len, len);
	ck_assert_uint_eq(fh.fh_hdrlen, n);
	/* Flags 0 take either direction. */
	ck_assert_int_eq(wsframe_parse(h, n, 0, &fh), (int)n);
}
END_TEST

/* Every opcode and FIN value survives a round trip. */
START_TEST(test_opcodes_round_trip)
{
	static const uint8_t ops[] = { WS_OP_CONT, WS_OP_TEXT, WS_OP_BINARY,
	    WS_OP_CLOSE, WS_OP_PING, WS_OP_PONG };
	uint8_t h[WSFRAME_MAX_HEADER];
	struct wsframe_hdr fh;

	for (size_t i = 0; i < NELEM(ops); i++) {
		for (int fin = 0; fin <= 1; fin++) {
			size_t n;
			int r;

			n = wsframe_header(h, fin, ops[i], 125, key);
			r = wsframe_parse(h, n, WSFRAME_F_MASKED, &fh);
			if (wsframe_is_control(ops[i]) && !fin) {
				ck_assert_int_eq(r, WSFRAME_E_CTRL_FRAG);
				continue;
			}
			ck_assert_int_eq(r, (int)n);
			ck_assert_uint_eq(fh.fh_opcode, ops[i]);
			ck_assert_int_eq(fh.fh_fin, fin);
			ck_assert_uint_eq(fh.fh_len, 125);
		}
	}
	ck_assert(!wsframe_is_control(WS_OP_TEXT));
	ck_assert(wsframe_is_control(WS_OP_PONG));
}
END_TEST

/* The frames of RFC 6455 section 5.7, byte for byte. */
static const struct {
	const char	*bytes;
	size_t		n;
	uint8_t		opcode;
	bool		fin;
	uint64_t	len;
	size_t		hdrlen;
} rfc_frames[] = {
	{ "\x81\x05Hello", 7, WS_OP_TEXT, true, 5, 2 },
	{ "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11, WS_OP_TEXT,
	    true, 5, 6 },
	{ "\x01\x03Hel", 5, WS_OP_TEXT, false, 3, 2 },
	{ "\x80\x02lo", 4, WS_OP_CONT, true, 2, 2 },
	{ "\x89\x05Hello", 7, WS_OP_PING, true, 5, 2 },
	{ "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11, WS_OP_PONG,
	    true, 5, 6 },
	{ "\x82\x7e\x01\x00", 4, WS_OP_BINARY, true, 256, 4 },
	{ "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10, WS_OP_BINARY,
	    true, 65536, 10 },
};

START_TEST(test_rfc_examples)
{
	const uint8_t *b = (const uint8_t *)rfc_frames[_i].bytes;
	uint8_t h[WSFRAME_MAX_HEADER], payload[8];
	struct wsframe_hdr fh;
	size_t n;

	ck_assert_int_eq(wsframe_parse(b, rfc_frames[_i].n, 0, &fh),
	    (int)rfc_frames[_i].hdrlen);
	ck_assert_uint_eq(fh.fh_opcode, rfc_frames[_i].opcode);
	ck_assert_int_eq(fh.fh_fin, rfc_frames[_i].fin);
	ck_assert_uint_eq(fh.fh_len, rfc_frames[_i].len);
	/* Our encoder writes the same header. */
	n = wsframe_header(h, fh.fh_fin, fh.fh_opcode, fh.fh_len,
	    fh.fh_masked ? fh.fh_mask : NULL);
	ck_assert_uint_eq(n, fh.fh_hdrlen);
	ck_assert_mem_eq(h, b, n);
	/* The small payloads read "Hello", "Hel" or "lo" once unmasked. */
	if (fh.fh_len <= sizeof (payload) && fh.fh_hdrlen + fh.fh_len ==
	    rfc_frames[_i].n) {
		memcpy(payload, b + n, (size_t)fh.fh_len);
		if (fh.fh_masked)
			wsframe_mask(payload, (size_t)fh.fh_len, fh.fh_mask, 0);
		ck_assert(memcmp(payload, "Hello", (size_t)fh.fh_len) == 0 ||
		    memcmp(payload, "lo", (size_t)fh.fh_len) == 0);
	}
}
END_TEST

/* --- bad headers ------------------------------------------------------- */

static const struct {
	const char	*bytes;
	size_t		n;
	int		flags;
	int		want;
	const char	*why;
} bad_frames[] = {
	{ "\xc1\x80", 2, WSFRAME_F_MASKED, WSFRAME_E_RSV, "RSV1" },
	{ "\xa1\x80", 2, WSFRAME_F_MASKED, WSFRAME_E_RSV, "RSV2" },
	{ "\x91\x80", 2, WSFRAME_F_MASKED, WSFRAME_E_RSV, "RSV3" },
	{ "\xf1\x80", 2, 0, WSFRAME_E_RSV, "all RSV bits" },
	{ "\x89\xfe\x00\x7e", 4, WSFRAME_F_MASKED, WSFRAME_E_CTRL_LEN,
	    "ping of 126" },
	{ "\x88\xff", 2, WSFRAME_F_MASKED, WSFRAME_E_CTRL_LEN,
	    "close with a 64-bit length" },
	{ "\x8a\x7e", 2, WSFRAME_F_UNMASKED, WSFRAME_E_CTRL_LEN,
	    "pong of 126, server side" },
	{ "\x09\x80", 2, WSFRAME_F_MASKED, WSFRAME_E_CTRL_FRAG,
	    "ping without FIN" },
	{ "\x08\x80", 2, WSFRAME_F_MASKED, WSFRAME_E_CTRL_FRAG,
	    "close without FIN" },
	{ "\x0a\x00", 2, WSFRAME_F_UNMASKED, WSFRAME_E_CTRL_FRAG,
	    "pong without FIN" },
	{ "\x81\x05Hello", 7, WSFRAME_F_MASKED, WSFRAME_E_UNMASKED,
	    "unmasked client text" },
	{ "\x88\x00", 2, WSFRAME_F_MASKED, WSFRAME_E_UNMASKED,
	    "unmasked client close" },
	{ "\x81\x85\x37\xfa\x21\x3d", 6, WSFRAME_F_UNMASKED, WSFRAME_E_MASKED,
	    "masked server text" },
	{ "\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, WSFRAME_F_UNMASKED,
	    WSFRAME_E_LEN64, "64-bit length, top bit" },
	{ "\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04", 14,
	    WSFRAME_F_MASKED, WSFRAME_E_LEN64, "64-bit length, all ones" },
};

START_TEST(test_bad_frames)
{
	struct wsframe_hdr fh;
	int r;

	r = wsframe_parse((const uint8_t *)bad_frames[_i].bytes,
	    bad_frames[_i].n, bad_frames[_i].flags, &fh);
	ck_assert_msg(r == bad_frames[_i].want, "%s: got %d, want %d",
	    bad_frames[_i].why, r, bad_frames[_i].want);
	ck_assert_uint_eq(wsframe_err_code(r), WS_CLOSE_PROTOCOL);
	ck_assert_str_ne(wsframe_strerror(r), wsframe_strerror(0));
}
END_TEST

/* Opcodes 3-7 and B-F are reserved, with or without FIN. */
START_TEST(test_reserved_opcodes)
{
	static const uint8_t ops[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe,
	    0xf };
	struct wsframe_hdr fh;

	for (size_t i = 0; i < NELEM(ops); i++) {
		uint8_t f[6] = { (uint8_t)(0x80 | ops[i]), 0x80, 1, 2, 3, 4 };

		ck_assert_int_eq(wsframe_parse(f, sizeof (f), WSFRAME_F_MASKED,
		    &fh), WSFRAME_E_OPCODE);
		f[0] = ops[i];
		ck_assert_int_eq(wsframe_parse(f, sizeof (f), 0, &fh),
		    WSFRAME_E_OPCODE);
	}
}
END_TEST

/* Control frames of exactly 125 bytes are fine. */
START_TEST(test_control_125)
{
	uint8_t h[WSFRAME_MAX_HEADER];
	struct wsframe_hdr fh;
	size_t n;

	n = wsframe_header(h, true, WS_OP_CLOSE, WSFRAME_MAX_CONTROL, key);
	ck_assert_int_eq(wsframe_parse(h, n, WSFRAME_F_MASKED, &fh), (int)n);
	ck_assert_uint_eq(fh.fh_len, 125);
	n = wsframe_header(h, true, WS_OP_PING, 126, key);
	ck_assert_int_eq(wsframe_parse(h, n, WSFRAME_F_MASKED, &fh),
	    WSFRAME_E_CTRL_LEN);
}
END_TEST

/* Every prefix of a valid header is "need more", never an error. */
START_TEST(test_incomplete)
{
	uint8_t h[WSFRAME_MAX_HEADER + 1];
	struct wsframe_hdr fh;
	size_t n;
	int masked = _i & 1;

	n = wsframe_header(h, true, WS_OP_TEXT, lengths[_i / 2].len,
	    masked ? key : NULL);
	h[n] = 0x55;		/* the payload's first byte */
	for (size_t k = 0; k < n; k++) {
		ck_assert_msg(wsframe_parse(h, k, masked ? WSFRAME_F_MASKED :
		    WSFRAME_F_UNMASKED, &fh) == 0, "prefix %zu of %zu", k, n);
	}
	ck_assert_int_eq(wsframe_parse(h, n, 0, &fh), (int)n);
	ck_assert_int_eq(wsframe_parse(h, n + 1, 0, &fh), (int)n);
}
END_TEST

/* --- masking ----------------------------------------------------------- */

static void
mask_ref(uint8_t *p, size_t n, const uint8_t k[4], uint64_t off)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= k[(off + i) % 4];
}

START_TEST(test_mask_rfc)
{
	uint8_t p[5] = { 'H', 'e', 'l', 'l', 'o' };

	wsframe_mask(p, 5, key, 0);
	ck_assert_mem_eq(p, "\x7f\x9f\x4d\x51\x58", 5);
	wsframe_mask(p, 5, key, 0);
	ck_assert_mem_eq(p, "Hello", 5);
}
END_TEST

/*
 * Every length up to 70 at offsets 0-9 and a few past 4 GiB, against a
 * byte-at-a-time reference; and in two pieces split at every point.
 */
START_TEST(test_mask_offsets)
{
	static const uint64_t offs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
	    0x100000001ull, 0xfffffffffull };
	static const uint8_t k2[4] = { 0x01, 0x80, 0xff, 0x5a };
	uint8_t orig[220], abuf[224], b[220];

	for (size_t i = 0; i < sizeof (orig); i++)
		orig[i] = (uint8_t)(i * 37 + 11);
	/*
	 * Lengths across the 64-byte vector steps, the 8-byte words and the
	 * tail, at every alignment of the buffer.
	 */
	for (size_t al = 0; al < 4; al++) {
		uint8_t *a = abuf + al;

		for (size_t oi = 0; oi < NELEM(offs); oi++) {
			for (size_t n = 0; n <= 200; n++) {
				memcpy(a, orig, n);
				memcpy(b, orig, n);
				wsframe_mask(a, n, k2, offs[oi]);
				mask_ref(b, n, k2, offs[oi]);
				ck_assert_msg(memcmp(a, b, n) == 0,
				    "n %zu off %llu align %zu", n,
				    (unsigned long long)offs[oi], al);
				/* Unmasking is masking again. */
				wsframe_mask(a, n, k2, offs[oi]);
				ck_assert(memcmp(a, orig, n) == 0);
			}
		}
	}
	uint8_t *a = abuf;

	/* In two pieces, the second at the offset where the first ended. */
	for (size_t n = 0; n <= 70; n += 7) {
		memcpy(b, orig, n);
		mask_ref(b, n, k2, 0);
		for (size_t k = 0; k <= n; k++) {
			memcpy(a, orig, n);
			wsframe_mask(a, k, k2, 0);
			wsframe_mask(a + k, n - k, k2, k);
			ck_assert_msg(memcmp(a, b, n) == 0, "n %zu split %zu",
			    n, k);
		}
	}
}
END_TEST

START_TEST(test_mask_zero_key)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	uint8_t p[33];

	for (size_t i = 0; i < sizeof (p); i++)
		p[i] = (uint8_t)i;
	wsframe_mask(p, sizeof (p), zero, 3);
	for (size_t i = 0; i < sizeof (p); i++)
		ck_assert_uint_eq(p[i], i);
	wsframe_mask(p, 0, key, 0);	/* nothing to do, nothing touched */
	ck_assert_uint_eq(p[0], 0);
}
END_TEST

/* --- close payloads ---------------------------------------------------- */

START_TEST(test_close_parse_empty)
{
	uint16_t code = 0;
	const uint8_t *reason = NULL;
	size_t rl = 99;
	uint8_t p[1] = { 0x03 };

	ck_assert_int_eq(wsframe_close_parse(p, 0, &code, &reason, &rl), 0);
	ck_assert_uint_eq(code, WS_CLOSE_NO_STATUS);
	ck_assert_uint_eq(rl, 0);
	ck_assert_int_eq(wsframe_close_parse(p, 1, &code, &reason, &rl), -1);
}
END_TEST

static const unsigned good_codes[] = {
	1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
	1014, 3000, 3999, 4000, 4999
};
static const unsigned bad_codes[] = {
	0, 1, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535
};

START_TEST(test_close_codes)
{
	uint8_t p[8];
	uint16_t code;
	const uint8_t *reason;
	size_t rl;

	for (size_t i = 0; i < NELEM(good_codes); i++) {
		p[0] = (uint8_t)(good_codes[i] >> 8);
		p[1] = (uint8_t)good_codes[i];
		memcpy(p + 2, "bye", 3);
		ck_assert_msg(wsframe_close_code_ok(good_codes[i]), "%u",
		    good_codes[i]);
		ck_assert_msg(wsframe_close_parse(p, 5, &code, &reason,
		    &rl) == 0, "%u refused", good_codes[i]);
		ck_assert_uint_eq(code, good_codes[i]);
		ck_assert_uint_eq(rl, 3);
		ck_assert_mem_eq(reason, "bye", 3);
		ck_assert_int_eq(wsframe_close_parse(p, 2, &code, &reason, &rl),
		    0);
		ck_assert_uint_eq(rl, 0);
	}
	for (size_t i = 0; i < NELEM(bad_codes); i++) {
		p[0] = (uint8_t)(bad_codes[i] >> 8);
		p[1] = (uint8_t)bad_codes[i];
		ck_assert_msg(!wsframe_close_code_ok(bad_codes[i]), "%u",
		    bad_codes[i]);
		ck_assert_msg(wsframe_close_parse(p, 2, &code, &reason,
		    &rl) == -1, "%u accepted", bad_codes[i]);
	}
	/* The whole range between 3000 and 4999 is open. */
	for (unsigned c = 2990; c < 5010; c++)
		ck_assert_int_eq(wsframe_close_code_ok(c), c >= 3000 &&
		    c <= 4999);
}
END_TEST

static const struct {
	const char	*bytes;
	size_t		n;
	int		want;
} close_reasons[] = {
	{ "\x03\xe8" "ok", 4, 0 },
	{ "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 13, 0 },
	{ "\x03\xe8\xff", 3, -1 },
	{ "\x03\xe8\xce", 3, -1 },		/* cut character */
	{ "\x03\xe8\xed\xa0\x80", 5, -1 },	/* surrogate */
	{ "\x03\xe8" "a\xc0\x80", 5, -1 },	/* overlong */
};

START_TEST(test_close_reasons)
{
	uint16_t code;
	const uint8_t *reason;
	size_t rl;
	const uint8_t *p = (const uint8_t *)close_reasons[_i].bytes;

	ck_assert_int_eq(wsframe_close_parse(p, close_reasons[_i].n, &code,
	    &reason, &rl), close_reasons[_i].want);
	if (close_reasons[_i].want == 0) {
		ck_assert_uint_eq(code, 1000);
		ck_assert_ptr_eq(reason, p + 2);
		ck_assert_uint_eq(rl, close_reasons[_i].n - 2);
	}
}
END_TEST

/*
 * Reasons of every length, built from characters of 1 to 4 bytes after
 * 0 to 3 ASCII bytes: the payload keeps the most whole characters that fit
 * in 123 bytes, and reads back as the same code and reason.
 */
START_TEST(test_close_payload)
{
	static const char *chars[] = { "a", "\xc3\xa9", "\xe2\x82\xac",
	    "\xf0\x9f\x98\x80" };
	const char *ch = chars[_i % 4];
	size_t cl = strlen(ch), pad = (size_t)_i / 4;
	uint8_t out[WSFRAME_MAX_CONTROL + 8];

	for (size_t nchars = 0; nchars <= 140; nchars++) {
		char reason[4 + 140 * 4];
		size_t rl = 0, want, n;
		uint16_t code;
		const uint8_t *r;
		size_t rn;

		memset(reason, 'p', pad);
		rl = pad;
		for (size_t i = 0; i < nchars; i++, rl += cl)
			memcpy(reason + rl, ch, cl);
		/* The most whole characters that fit. */
		want = pad;
		while (want + cl <= rl && want + cl <= 123)
			want += cl;
		if (rl <= 123)
			want = rl;

		memset(out, 0xee, sizeof (out));
		n = wsframe_close_payload(out, 4001, reason, rl);
		ck_assert_msg(n == 2 + want, "pad %zu, %zu x %zu bytes: "
		    "length %zu, want %zu", pad, nchars, cl, n, 2 + want);
		ck_assert_uint_le(n, WSFRAME_MAX_CONTROL);
		ck_assert_uint_eq(out[WSFRAME_MAX_CONTROL], 0xee);
		ck_assert_int_eq(wsframe_close_parse(out, n, &code, &r, &rn), 0);
		ck_assert_uint_eq(code, 4001);
		ck_assert_uint_eq(rn, want);
		ck_assert_mem_eq(r, reason, want);
	}
}
END_TEST

START_TEST(test_close_payload_simple)
{
	uint8_t out[WSFRAME_MAX_CONTROL];

	ck_assert_uint_eq(wsframe_close_payload(out, 1000, "bye", 3), 5);
	ck_assert_mem_eq(out, "\x03\xe8" "bye", 5);
	ck_assert_uint_eq(wsframe_close_payload(out, 1001, NULL, 10), 2);
	ck_assert_mem_eq(out, "\x03\xe9", 2);
	ck_assert_uint_eq(wsframe_close_payload(out, 1011, "x", 0), 2);
}
END_TEST

Suite *
wsframe_suite(void)
{
	Suite *s = suite_create("wsframe");
	TCase *tc = tcase_create("header");
	TCase *tm = tcase_create("mask");
	TCase *tl = tcase_create("close");

	tcase_add_loop_test(tc, test_lengths, 0, NELEM(lengths));
	tcase_add_test(tc, test_opcodes_round_trip);
	tcase_add_loop_test(tc, test_rfc_examples, 0, NELEM(rfc_frames));
	tcase_add_loop_test(tc, test_bad_frames, 0, NELEM(bad_frames));
	tcase_add_test(tc, test_reserved_opcodes);
	tcase_add_test(tc, test_control_125);
	tcase_add_loop_test(tc, test_incomplete, 0, 2 * NELEM(lengths));
	suite_add_tcase(s, tc);

	tcase_add_test(tm, test_mask_rfc);
	tcase_add_test(tm, test_mask_offsets);
	tcase_add_test(tm, test_mask_zero_key);
	suite_add_tcase(s, tm);

	tcase_add_test(tl, test_close_parse_empty);
	tcase_add_test(tl, test_close_codes);
	tcase_add_loop_test(tl, test_close_reasons, 0, NELEM(close_reasons));
	tcase_add_loop_test(tl, test_close_payload, 0, 16);
	tcase_add_test(tl, test_close_payload_simple);
	suite_add_tcase(s, tl);
	return (s);
}
