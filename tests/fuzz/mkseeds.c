/*
 * mkseeds.c: writes the generated seed corpora of the fuzz harnesses, so
 * the seeds are what the real encoders produce.
 *
 *	mkseeds PROTO_DIR WSFRAME_DIR
 *
 * PROTO_DIR gets one frame body (no length prefix, as the decoders take
 * it) per control-protocol message, made by proto_enc_*().  WSFRAME_DIR
 * gets byte streams for fuzz_wsframe: 4 chunk-size bytes, then frames made
 * with wsframe_header() and wsframe_mask(): every length form, masked and
 * not, fragmented messages, control frames, close frames, and some frames
 * the parser must refuse.  `make fuzz-seeds` rebuilds and reruns it; the
 * output is committed under tests/fuzz/corpus/.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "utf8.h"
#include "wsframe.h"

static const char *outdir;

static void
put(const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof (path), "%s/%s", outdir, name);
	if ((f = fopen(path, "wb")) == NULL ||
	    (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

#define	S(lit)	((struct proto_str){ (lit), sizeof (lit) - 1 })
#define	L(lit)	(lit), (sizeof (lit) - 1)

/* --- control protocol --------------------------------------------------- */

/* Write the body of the frame the encoder appended to sb, then reset it. */
static void
put_frame(const char *name, msgpack_sbuffer *sb, int rv)
{
	if (rv != 0 || sb->size < 4) {
		fprintf(stderr, "%s: encoder failed\n", name);
		exit(1);
	}
	put(name, sb->data + 4, sb->size - 4);
	msgpack_sbuffer_clear(sb);
}

static void
proto_seeds(void)
{
	static const char head[] = "GET /attach/abc/master HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
	/* "ab€" cut after the euro sign's first two bytes. */
	static const char frag[] = "ab\xe2\x82";
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);

	put_frame("config", &sb, proto_enc_config(&sb,
	    &(struct proto_config){ PROTO_VERSION, 1, 4, 30, 600000,
	    3600000, 5000, 30000, 2000, 10000, 1048576, 1048576, 262144,
	    128, 100000, 1024 }));
	put_frame("config-extreme", &sb, proto_enc_config(&sb,
	    &(struct proto_config){ UINT32_MAX, UINT32_MAX - 1, UINT32_MAX,
	    100, UINT64_MAX, UINT64_MAX, 0, 0, 1, UINT64_MAX, 0,
	    UINT64_MAX, UINT64_MAX - 1, 1024, 1, 0 }));
	put_frame("ready", &sb, proto_enc_ready(&sb,
	    &(struct proto_ready){ PROTO_VERSION, 3312, 0, S("0.1.0") }));
	put_frame("attach", &sb, proto_enc_attach(&sb,
	    &(struct proto_attach){ S("5f0c2a3e-1"), S("abc"), 1,
	    { head, sizeof (head) - 1 }, S("127.0.0.1:51234"),
	    1795461099800ull }));
	put_frame("attach-slave-empty-head", &sb, proto_enc_attach(&sb,
	    &(struct proto_attach){ S("r2"), S("Job-0f.x_y~z"), 2, S(""),
	    S("[::1]:40000"), 0 }));
	/* Encodable, but the decoder refuses an empty session id. */
	put_frame("bad-attach-empty-session", &sb, proto_enc_attach(&sb,
	    &(struct proto_attach){ S("r3"), S(""), 1, S(""), S("[::1]:1"),
	    1 }));
	{
		static struct proto_attach_batch ab;

		ab.pab_n = 3;
		ab.pab_a[0] = (struct proto_attach){ S("q-1"), S("abc"), 1,
		    { head, sizeof (head) - 1 }, S("127.0.0.1:1"), 5 };
		ab.pab_a[1] = (struct proto_attach){ S("q-2"), S("abc"), 2,
		    S(""), S("[::1]:2"), 6 };
		ab.pab_a[2] = (struct proto_attach){ S(""), S("z"), 1, S(""),
		    S(""), 0 };
		put_frame("attach-batch-3", &sb,
		    proto_enc_attach_batch(&sb, &ab));
		ab.pab_n = PROTO_BATCH_MAX;
		for (int i = 3; i < PROTO_BATCH_MAX; i++)
			ab.pab_a[i] = ab.pab_a[i % 3];
		put_frame("attach-batch-max", &sb,
		    proto_enc_attach_batch(&sb, &ab));
	}
	put_frame("report", &sb, proto_enc_report(&sb,
	    &(struct proto_report){ { 1, 2, 30, 4 }, 71, 123456789, 4242 }));
	put_frame("status-req", &sb, proto_enc_status_req(&sb,
	    &(struct proto_status_req){ 17 }));
	put_frame("status-reply-empty", &sb, proto_enc_status_reply(&sb,
	    &(struct proto_status_reply){ 17, false, 0, NULL }));
	{
		struct proto_session_info s[3] = {
			{ S("abc"), SSTATE_FORWARDING, true, true,
			    1795461099800ull },
			{ S("waiting-master"), SSTATE_SLAVE_WAIT, true, false,
			    1795461100000ull },
			{ S("x"), SSTATE_CLOSING, false, true, 0 },
		};
		put_frame("status-reply-3", &sb, proto_enc_status_reply(&sb,
		    &(struct proto_status_reply){ 18, true, 3, s }));
	}
	put_frame("shutdown-close", &sb, proto_enc_shutdown(&sb,
	    &(struct proto_shutdown){ PROTO_SHUTDOWN_CLOSE, 10000 }));
	put_frame("shutdown-drain", &sb, proto_enc_shutdown(&sb,
	    &(struct proto_shutdown){ PROTO_SHUTDOWN_DRAIN, 0 }));
	put_frame("handoff", &sb, proto_enc_handoff(&sb, PROTO_HANDOFF,
	    &(struct proto_handoff){ 4100 }));
	put_frame("handin", &sb, proto_enc_handoff(&sb, PROTO_HANDIN,
	    &(struct proto_handoff){ 4099 }));
	{
		struct proto_session s;

		/* A master waiting for its slave: one connection. */
		memset(&s, 0, sizeof (s));
		s.ps_id = S("abc");
		s.ps_state = SSTATE_SLAVE_WAIT;
		s.ps_create_ms = 1795461099800ull;
		s.ps_age_ms = 1500;
		s.ps_idle_ms = 1500;
		s.ps_wait_in_ms = 500;
		s.ps_nconns = 1;
		s.ps_conns[0] = (struct proto_conn_state){ 1, S("req-1"),
		    S("127.0.0.1:5000"), true, S(""), S(""), S(""), 0,
		    UTF8_ACCEPT, 1500, 0, 0, 3 };
		put_frame("session-waiting", &sb, proto_enc_session(&sb, &s));

		/*
		 * Forwarding, both sides; the master is half-way through a
		 * fragmented text message (and a character), with output
		 * queued and a partial frame read.
		 */
		s.ps_state = SSTATE_FORWARDING;
		s.ps_bytes = 65536;
		s.ps_msgs = 12;
		s.ps_nconns = 2;
		s.ps_conns[0].pcs_out = S("\x82\x03" "abc");
		s.ps_conns[0].pcs_in = S("\x80\x83\x01\x02\x03\x04\xa9");
		s.ps_conns[0].pcs_frag = (struct proto_str){ frag,
		    sizeof (frag) - 1 };
		s.ps_conns[0].pcs_frag_op = WS_OP_TEXT;
		s.ps_conns[0].pcs_frag_utf8 = utf8_feed(UTF8_ACCEPT,
		    (const uint8_t *)frag, sizeof (frag) - 1);
		s.ps_conns[0].pcs_ping_age_ms = 2001;
		s.ps_conns[1] = (struct proto_conn_state){ 2, S("req-2"),
		    S("10.0.0.7:41000"), false, S(""), S("\x81"), S(""), 0,
		    UTF8_ACCEPT, 20, 0, 9, 8 };
		put_frame("session-forwarding", &sb, proto_enc_session(&sb,
		    &s));

		/* Refused: no id; two connections of one role. */
		s.ps_id = S("");
		put_frame("bad-session-empty-id", &sb, proto_enc_session(&sb,
		    &s));
		s.ps_id = S("abc");
		s.ps_conns[1].pcs_role = 1;
		put_frame("bad-session-same-roles", &sb, proto_enc_session(&sb,
		    &s));
	}
	put_frame("handoff-ack", &sb, proto_enc_handoff_ack(&sb,
	    &(struct proto_handoff_ack){ S("abc"), true }));
	put_frame("handoff-ack-not-taken", &sb, proto_enc_handoff_ack(&sb,
	    &(struct proto_handoff_ack){ S("waiting-master"), false }));
	put_frame("handoff-end", &sb, proto_enc_handoff_end(&sb,
	    &(struct proto_handoff_end){ 2 }));
	put_frame("handoff-done", &sb, proto_enc_handoff_done(&sb,
	    &(struct proto_handoff_done){ 10, 1, 0, false }));
	put_frame("handoff-done-aborted", &sb, proto_enc_handoff_done(&sb,
	    &(struct proto_handoff_done){ 3, 0, 1, true }));
	put_frame("admin-req-status", &sb, proto_enc_admin_req(&sb,
	    &(struct proto_admin_req){ PROTO_VERSION, ADMIN_STATUS, -1 }));
	put_frame("admin-req-restart-shard", &sb, proto_enc_admin_req(&sb,
	    &(struct proto_admin_req){ PROTO_VERSION, ADMIN_RESTART, 3 }));
	put_frame("admin-reply", &sb, proto_enc_admin_reply(&sb,
	    &(struct proto_admin_reply){ true, true, S("ok"),
	    S("{\"health\":\"ok\"}") }));
	put_frame("admin-reply-step", &sb, proto_enc_admin_reply(&sb,
	    &(struct proto_admin_reply){ false, true,
	    S("shard 0: worker 4100 ready"), S("") }));
	msgpack_sbuffer_destroy(&sb);
}

/* --- WebSocket streams -------------------------------------------------- */

struct stream {
	uint8_t		b[4096];
	size_t		n;
};

/* Start a stream with its four chunk sizes. */
static void
st_begin(struct stream *s, uint8_t c0, uint8_t c1, uint8_t c2, uint8_t c3)
{
	s->b[0] = c0;
	s->b[1] = c1;
	s->b[2] = c2;
	s->b[3] = c3;
	s->n = 4;
}

static void
st_raw(struct stream *s, const void *p, size_t n)
{
	if (s->n + n > sizeof (s->b))
		abort();
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

/* Append a frame; mask NULL: unmasked. */
static void
st_frame(struct stream *s, bool fin, uint8_t op, const void *p, size_t n,
    const uint8_t *mask)
{
	uint8_t h[WSFRAME_MAX_HEADER];

	st_raw(s, h, wsframe_header(h, fin, op, n, mask));
	st_raw(s, p, n);
	if (mask != NULL)
		wsframe_mask(s->b + s->n - n, n, mask, 0);
}

static void
ws_seeds(void)
{
	static const uint8_t k1[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const uint8_t k0[4] = { 0, 0, 0, 0 };
	uint8_t big[300], cp[125];
	struct stream s;

	for (size_t i = 0; i < sizeof (big); i++)
		big[i] = (uint8_t)(i * 7);

	/* Client frames (masked), each length form. */
	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, "Hello", 5, k1);
	put("masked-text-7bit", s.b, s.n);

	st_begin(&s, 1, 2, 3, 5);
	st_frame(&s, true, WS_OP_BINARY, big, 200, k1);
	put("masked-binary-16bit", s.b, s.n);

	/* The 64-bit form for a short payload (allowed, if not shortest). */
	st_begin(&s, 9, 0, 0, 0);
	st_raw(&s, "\x82\xff\0\0\0\0\0\0\0\x05", 10);
	st_raw(&s, k1, 4);
	st_raw(&s, "\x01\x02\x03\x04\x05", 5);
	put("masked-binary-64bit-short", s.b, s.n);

	/* A 64-bit length: 70000 bytes declared, only some of them sent. */
	st_begin(&s, 14, 64, 0, 0);
	st_raw(&s, "\x82\xff\0\0\0\0\0\x01\x11\x70", 10);
	st_raw(&s, k1, 4);
	st_raw(&s, big, sizeof (big));
	put("masked-binary-64bit-truncated", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, "", 0, k1);
	put("masked-text-empty", s.b, s.n);

	st_begin(&s, 3, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, "zero key", 8, k0);
	put("masked-zero-key", s.b, s.n);

	/* Keystrokes and control messages as mlogin sends them. */
	st_begin(&s, 7, 1, 0, 0);
	st_frame(&s, true, WS_OP_TEXT,
	    L("mlogin:{\"type\":\"resize\",\"columns\":80,\"lines\":24}"), k1);
	st_frame(&s, true, WS_OP_BINARY, L("ls -l\r"), k1);
	st_frame(&s, true, WS_OP_PING, L("15"), k1);
	st_frame(&s, true, WS_OP_TEXT, L("mlogin:{\"type\":\"eof\"}"), k1);
	put("masked-session", s.b, s.n);

	/* Server frames (unmasked). */
	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, L("medusa:{\"type\":\"wait\"}"), NULL);
	st_frame(&s, true, WS_OP_TEXT, L("medusa:{\"type\":\"linkup\"}"),
	    NULL);
	put("unmasked-medusa-messages", s.b, s.n);

	st_begin(&s, 2, 126, 1, 0);
	st_frame(&s, true, WS_OP_BINARY, big, sizeof (big), NULL);
	put("unmasked-binary-16bit", s.b, s.n);

	st_begin(&s, 1, 1, 1, 1);
	st_frame(&s, true, WS_OP_PING, "", 0, NULL);
	st_frame(&s, true, WS_OP_PONG, "p", 1, NULL);
	put("unmasked-ping-pong", s.b, s.n);

	/* Fragmented text, split inside "é" and "€", a ping in between. */
	st_begin(&s, 5, 3, 1, 11);
	st_frame(&s, false, WS_OP_TEXT, "h\xc3", 2, k1);
	st_frame(&s, false, WS_OP_CONT, "\xa9llo \xe2\x82", 7, k1);
	st_frame(&s, true, WS_OP_PING, "x", 1, k1);
	st_frame(&s, true, WS_OP_CONT, "\xac!", 2, k1);
	put("masked-fragmented-text", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, false, WS_OP_BINARY, big, 100, NULL);
	st_frame(&s, false, WS_OP_CONT, big + 100, 0, NULL);
	st_frame(&s, true, WS_OP_CONT, big + 100, 150, NULL);
	put("unmasked-fragmented-binary", s.b, s.n);

	/* 4-byte characters, and text that is not UTF-8. */
	st_begin(&s, 1, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
	    9, k1);
	put("masked-text-4byte", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_TEXT, "a\xed\xa0\x80z", 5, k1);
	put("masked-text-surrogate", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, false, WS_OP_TEXT, "ab", 2, NULL);
	st_frame(&s, true, WS_OP_CONT, "\xe2\x82", 2, NULL);
	put("unmasked-text-cut-character", s.b, s.n);

	/* Close frames. */
	st_begin(&s, 0, 0, 0, 0);
	cp[0] = 1000 >> 8;
	cp[1] = 1000 & 0xff;
	memcpy(cp + 2, "bye", 3);
	st_frame(&s, true, WS_OP_CLOSE, cp, 5, k1);
	put("masked-close-1000", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_CLOSE, "", 0, k1);
	put("masked-close-empty", s.b, s.n);

	st_begin(&s, 2, 0, 0, 0);
	st_frame(&s, true, WS_OP_CLOSE, cp, wsframe_close_payload(cp,
	    WS_CLOSE_GOING_AWAY, "master disconnected", 19), NULL);
	put("unmasked-close-1001", s.b, s.n);

	/* A reason too long for a close frame, cut to fit. */
	st_begin(&s, 0, 0, 0, 0);
	memset(big, 'r', 200);
	memcpy(big + 121, "\xe2\x82\xac", 3);
	st_frame(&s, true, WS_OP_CLOSE, cp, wsframe_close_payload(cp, 4000,
	    (const char *)big, 200), NULL);
	put("unmasked-close-125", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_CLOSE, "\x03\xed", 2, k1);
	put("masked-close-1005-refused", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_CLOSE, "\x03", 1, k1);
	put("masked-close-one-byte", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_CLOSE, "\x03\xe8\xc0\xaf", 4, k1);
	put("masked-close-bad-reason", s.b, s.n);

	/* Frames the parser refuses. */
	st_begin(&s, 0, 0, 0, 0);
	st_raw(&s, "\xc1\x85", 2);		/* RSV1 */
	st_raw(&s, k1, 4);
	st_raw(&s, "Hello", 5);
	put("bad-rsv1", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_raw(&s, "\x83\x80", 2);		/* opcode 3 */
	st_raw(&s, k1, 4);
	put("bad-opcode", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_raw(&s, "\x09\x80", 2);		/* ping without FIN */
	st_raw(&s, k1, 4);
	put("bad-ping-fragmented", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_raw(&s, "\x89\xfe\x00\x7e", 4);	/* ping of 126 bytes */
	st_raw(&s, k1, 4);
	put("bad-ping-too-long", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_raw(&s, "\x82\xff\x80\0\0\0\0\0\0\x01", 10);	/* top bit */
	st_raw(&s, k1, 4);
	put("bad-len64-top-bit", s.b, s.n);

	st_begin(&s, 0, 0, 0, 0);
	st_frame(&s, true, WS_OP_CONT, "x", 1, k1);
	put("bad-continuation-first", s.b, s.n);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkseeds PROTO_DIR WSFRAME_DIR\n");
		return (2);
	}
	outdir = argv[1];
	proto_seeds();
	outdir = argv[2];
	ws_seeds();
	return (0);
}
