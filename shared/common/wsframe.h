/*
 * wsframe.h: the RFC 6455 frame codec.  Pure functions: no I/O, no globals.
 *
 * wsframe_parse() reads one frame header from the front of a buffer and
 * applies every rule that can be checked from the header alone: reserved
 * bits, reserved opcodes, control frames (at most 125 bytes, never
 * fragmented), masking in the required direction and the 64-bit length's
 * top bit.  The payload's size limit, the fragmentation sequence, UTF-8 and
 * close payloads are the caller's to check, with the helpers below.
 */
#ifndef MEDUSA_WSFRAME_H
#define MEDUSA_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wsframe_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa
};

/* Close status codes we send or name (RFC 6455 section 7.4.1). */
enum wsframe_close {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,	/* never on the wire */
	WS_CLOSE_ABNORMAL = 1006,	/* never on the wire */
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
	WS_CLOSE_TRY_AGAIN = 1013
};

#define	WSFRAME_MAX_HEADER	14	/* 2 + 8 (length) + 4 (mask) */
#define	WSFRAME_MAX_CONTROL	125

struct wsframe_hdr {
	bool		fh_fin;
	uint8_t		fh_opcode;
	bool		fh_masked;
	uint8_t		fh_mask[4];
	uint64_t	fh_len;		/* payload length */
	size_t		fh_hdrlen;	/* bytes of header, payload follows */
};

/* wsframe_parse() flags: which way frames must be masked. */
#define	WSFRAME_F_MASKED	0x1	/* server side: client frames masked */
#define	WSFRAME_F_UNMASKED	0x2	/* client side: server frames not */

/* wsframe_parse() results below zero. */
enum wsframe_err {
	WSFRAME_E_RSV = -1,		/* a reserved bit is set */
	WSFRAME_E_OPCODE = -2,		/* a reserved opcode */
	WSFRAME_E_CTRL_LEN = -3,	/* control frame over 125 bytes */
	WSFRAME_E_CTRL_FRAG = -4,	/* control frame without FIN */
	WSFRAME_E_UNMASKED = -5,	/* a client frame without a mask */
	WSFRAME_E_MASKED = -6,		/* a server frame with a mask */
	WSFRAME_E_LEN64 = -7		/* 64-bit length with the top bit set */
};

/*
 * Parse the header at buf[0..len).  Returns the header length (> 0) and
 * fills *out; 0 if more bytes are needed; or a wsframe_err.  The payload may
 * not have arrived yet: it is complete when len >= fh_hdrlen + fh_len.
 */
int wsframe_parse(const uint8_t *buf, size_t len, int flags,
    struct wsframe_hdr *out);

/* The close code and a short text for a wsframe_err. */
uint16_t wsframe_err_code(int err);
const char *wsframe_strerror(int err);

/*
 * Write a header for a frame of len bytes into out (at least
 * WSFRAME_MAX_HEADER bytes).  mask is NULL for an unmasked frame.  Returns
 * the header length.
 */
size_t wsframe_header(uint8_t *out, bool fin, uint8_t opcode, uint64_t len,
    const uint8_t *mask);

/*
 * XOR p[0..n) with the key, as if p started at offset `off` of the payload
 * (so a payload can be unmasked in pieces).  Masking and unmasking are the
 * same operation.
 */
void wsframe_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t off);

/* 1 if the opcode is a control opcode (close, ping, pong). */
static inline int wsframe_is_control(uint8_t op) { return ((op & 0x8) != 0); }

/* 1 if code may appear in a close frame on the wire. */
int wsframe_close_code_ok(unsigned code);

/*
 * Check a received close payload.  An empty payload gives code 1005 (no
 * status).  Returns 0 and fills code and the reason's span, or -1 when the
 * payload is one byte long, the code may not be sent, or the reason is not
 * UTF-8.
 */
int wsframe_close_parse(const uint8_t *p, size_t n, uint16_t *code,
    const uint8_t **reason, size_t *reasonlen);

/*
 * Write a close payload (code, then reason cut to fit 125 bytes at a
 * character boundary) into out[WSFRAME_MAX_CONTROL].  Returns its length.
 */
size_t wsframe_close_payload(uint8_t *out, uint16_t code, const char *reason,
    size_t reasonlen);

#endif
