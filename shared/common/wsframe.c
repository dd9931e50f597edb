/*
 * wsframe.c: RFC 6455 frame codec; see wsframe.h.
 */
#include <string.h>

#include "utf8.h"
#include "wsframe.h"

int
wsframe_parse(const uint8_t *buf, size_t len, int flags,
    struct wsframe_hdr *out)
{
	uint8_t b0, b1, len7;
	size_t need;
	uint64_t plen;

	if (len < 2)
		return (0);
	b0 = buf[0];
	b1 = buf[1];
	if (b0 & 0x70)
		return (WSFRAME_E_RSV);
	out->fh_fin = (b0 & 0x80) != 0;
	out->fh_opcode = b0 & 0x0f;
	switch (out->fh_opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return (WSFRAME_E_OPCODE);
	}
	out->fh_masked = (b1 & 0x80) != 0;
	if ((flags & WSFRAME_F_MASKED) && !out->fh_masked)
		return (WSFRAME_E_UNMASKED);
	if ((flags & WSFRAME_F_UNMASKED) && out->fh_masked)
		return (WSFRAME_E_MASKED);
	len7 = b1 & 0x7f;
	if (wsframe_is_control(out->fh_opcode)) {
		if (!out->fh_fin)
			return (WSFRAME_E_CTRL_FRAG);
		if (len7 > WSFRAME_MAX_CONTROL)
			return (WSFRAME_E_CTRL_LEN);
	}

	need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) +
	    (out->fh_masked ? 4 : 0);
	if (len < need)
		return (0);
	if (len7 == 126) {
		plen = ((uint64_t)buf[2] << 8) | buf[3];
	} else if (len7 == 127) {
		if (buf[2] & 0x80)
			return (WSFRAME_E_LEN64);
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = (plen << 8) | buf[2 + i];
	} else {
		plen = len7;
	}
	if (out->fh_masked)
		memcpy(out->fh_mask, buf + need - 4, 4);
	else
		memset(out->fh_mask, 0, 4);
	out->fh_len = plen;
	out->fh_hdrlen = need;
	return ((int)need);
}

uint16_t
wsframe_err_code(int err)
{
	(void) err;
	/* Every header-level violation is a protocol error. */
	return (WS_CLOSE_PROTOCOL);
}

const char *
wsframe_strerror(int err)
{
	switch (err) {
	case WSFRAME_E_RSV:
		return ("reserved bits set");
	case WSFRAME_E_OPCODE:
		return ("reserved opcode");
	case WSFRAME_E_CTRL_LEN:
		return ("control frame too long");
	case WSFRAME_E_CTRL_FRAG:
		return ("fragmented control frame");
	case WSFRAME_E_UNMASKED:
		return ("client frame not masked");
	case WSFRAME_E_MASKED:
		return ("server frame masked");
	case WSFRAME_E_LEN64:
		return ("frame length too large");
	default:
		return ("bad frame");
	}
}

size_t
wsframe_header(uint8_t *out, bool fin, uint8_t opcode, uint64_t len,
    const uint8_t *mask)
{
	size_t n;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len <= 125) {
		out[1] = (uint8_t)len;
		n = 2;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask != NULL) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return (n);
}

void
wsframe_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off)
{
	typedef uint8_t v16 __attribute__((vector_size(16)));
	uint8_t k[16];
	v16 kv;
	uint64_t kw;
	size_t i = 0;

	/* Rotate the key so that k[0] applies to p[0]. */
	for (int j = 0; j < 16; j++)
		k[j] = mask[(off + (uint64_t)j) & 3];
	memcpy(&kw, k, 8);
	if (kw == 0)
		return;		/* an all-zero key changes nothing */
	/*
	 * 64 bytes a step in 16-byte vectors (SSE2 on x86-64, NEON on arm64:
	 * the compiler picks), then 8 at a time, then bytes.  memcpy() keeps
	 * unaligned access well defined; it compiles to plain loads.
	 */
	memcpy(&kv, k, 16);
	for (; i + 64 <= n; i += 64) {
		v16 a, b, c, d;

		memcpy(&a, p + i, 16);
		memcpy(&b, p + i + 16, 16);
		memcpy(&c, p + i + 32, 16);
		memcpy(&d, p + i + 48, 16);
		a ^= kv;
		b ^= kv;
		c ^= kv;
		d ^= kv;
		memcpy(p + i, &a, 16);
		memcpy(p + i + 16, &b, 16);
		memcpy(p + i + 32, &c, 16);
		memcpy(p + i + 48, &d, 16);
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		w ^= kw;
		memcpy(p + i, &w, 8);
	}
	for (; i < n; i++)
		p[i] ^= k[i & 7];
}

int
wsframe_close_code_ok(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return (1);
	switch (code) {
	case 1000: case 1001: case 1002: case 1003:
	case 1007: case 1008: case 1009: case 1010: case 1011:
	case 1012: case 1013: case 1014:
		return (1);
	default:
		return (0);
	}
}

int
wsframe_close_parse(const uint8_t *p, size_t n, uint16_t *code,
    const uint8_t **reason, size_t *reasonlen)
{
	if (n == 0) {
		*code = WS_CLOSE_NO_STATUS;
		*reason = p;
		*reasonlen = 0;
		return (0);
	}
	if (n == 1)
		return (-1);
	*code = (uint16_t)((p[0] << 8) | p[1]);
	if (!wsframe_close_code_ok(*code))
		return (-1);
	if (!utf8_valid(p + 2, n - 2))
		return (-1);
	*reason = p + 2;
	*reasonlen = n - 2;
	return (0);
}

size_t
wsframe_close_payload(uint8_t *out, uint16_t code, const char *reason,
    size_t reasonlen)
{
	size_t max = WSFRAME_MAX_CONTROL - 2;

	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (reason == NULL)
		reasonlen = 0;
	if (reasonlen > max) {
		reasonlen = max;
		/* Do not cut a UTF-8 character in two. */
		while (reasonlen > 0 &&
		    ((uint8_t)reason[reasonlen] & 0xc0) == 0x80)
			reasonlen--;
	}
	if (reasonlen > 0)
		memcpy(out + 2, reason, reasonlen);
	return (2 + reasonlen);
}
