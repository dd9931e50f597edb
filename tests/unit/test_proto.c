/*
 * test_proto.c: proto.h, the supervisor <-> worker control protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "route.h"
#include "suites.h"

#define	STR(lit)	{ (lit), sizeof (lit) - 1 }

/* The frame at sb->data + off: its prefix must give the rest's length. */
static const uint8_t *
frame_body(const msgpack_sbuffer *sb, size_t off, size_t *len)
{
	const uint8_t *p = (const uint8_t *)sb->data + off;
	size_t n;

	ck_assert_uint_ge(sb->size, off + 4);
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	ck_assert_uint_eq(n, sb->size - off - 4);
	*len = n;
	return (p + 4);
}

static int
span_is(const struct proto_str *s, const char *p, size_t n)
{
	return (s->ps_n == n && (n == 0 || memcmp(s->ps_p, p, n) == 0));
}

/* --- samples of every message ------------------------------------------ */

static const struct proto_config sample_config = {
	PROTO_VERSION, 2, 3, 30, 600000, 3600000, 5000, 30000, 2000, 10000,
	1048576, 1048576, 262144, 128, 100000, 64, 300000, 604800000,
	STR("/etc/medusa/keys"), STR("\x00secret\xff-of-32-bytes-or-so!"), 3600000,
	STR("redis://:pw@10.0.0.9:6380/2"), STR("[fd00::5]:8381"), 30000
};
static const struct proto_config extreme_config = {
	UINT32_MAX, UINT32_MAX - 1, UINT32_MAX, 100, UINT64_MAX, 0,
	UINT64_MAX, 1, 127, 128, 255, 256, 65535, 65536, UINT64_MAX, 0,
	UINT64_MAX, 0, STR(""), STR(""), UINT64_MAX, STR(""), STR(""),
	UINT64_MAX
};
static const char head_bytes[] = "GET /attach/abc/master HTTP/1.1\r\n\0\xff";
static const struct proto_ready sample_ready = {
	PROTO_VERSION, 12345, 2, STR("0.1.0")
};
static const struct proto_attach sample_attach = {
	STR("req-1"), STR("abc"), ROLE_MASTER, STR(head_bytes),
	STR("[::1]:5555"), 1700000000123ull, PROTO_ATTACH_AUTH
};
static struct proto_attach_batch sample_batch;	/* fill_batch() */
static const struct proto_attach empty_attach = {
	STR(""), STR("z"), ROLE_SLAVE, STR(""), STR(""), 0
};
static const struct proto_report sample_report = {
	{ 1, 2, 3, UINT64_MAX }, 10, 1ull << 40, 99,
	{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, UINT64_MAX },
	{ [PROTO_EVC_ATT_101] = 7, [PROTO_EVC_BYTES_S2M] = 1ull << 50,
	    [PROTO_EVC_MAX - 1] = UINT64_MAX },
	{ [PROTO_HIST_LINKUP] = { 1, 2 },
	    [PROTO_HIST_HANDOFF] = { [PROTO_HIST_SLOTS - 1] = 12345 } }
};
static const struct proto_status_req sample_status_req = {
	0xfedcba9876543210ull
};
static const struct proto_shutdown sample_shutdown = {
	PROTO_SHUTDOWN_DRAIN, 300000
};
static const struct proto_handoff sample_handoff = { 4242 };
static const struct proto_handoff_end sample_handoff_end = { 17 };
static const struct proto_handoff_ack sample_handoff_ack = {
	STR("sess-9"), true
};
static const struct proto_handoff_ack refused_handoff_ack = {
	STR("sess-10"), false
};
static const struct proto_handoff_done sample_handoff_done = {
	190, 3, 1, true
};
static const struct proto_admin_req sample_admin_req = {
	PROTO_VERSION, ADMIN_RESTART, -1
};
static const struct proto_admin_reply sample_admin_reply = {
	false, true, STR("shard 1: 12 sessions moved"), STR("{\"a\":1}")
};
static const char out_bytes[] = "\x82\x05hello\0\xff";
static const struct proto_session sample_session = {
	STR("sess-1"), SSTATE_FORWARDING, 1700000000000ull, 12345, 67, 0,
	1ull << 33, 99, 2, {
	{ ROLE_MASTER, STR("req-1"), STR("127.0.0.1:5"), true,
	    STR(out_bytes), STR("\x81\x85"), STR(""), 0, 0, 10, 0, 5, 6, true },
	{ ROLE_SLAVE, STR("req-2"), STR("[::1]:6"), false, STR(""),
	    STR(""), STR("part"), 2, 0, 0, 1500, 7, 8, true } }, true,
	1700000000123ull, 1ull << 32, { STR("SHA256:abc"), STR("") }
};
static const struct proto_session waiting_session = {
	STR("w"), SSTATE_SLAVE_WAIT, 1, 2, 3, 1999, 0, 0, 1, {
	{ ROLE_MASTER, STR("r"), STR("p"), false, STR(""), STR(""),
	    STR("\xe2\x82"), 1, 0x22, 0, 0, 0, 0 } }
};

static struct proto_session_info sample_sessions[PROTO_STATUS_CHUNK];
static char sample_ids[PROTO_STATUS_CHUNK][24];

static void
fill_sessions(size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct proto_session_info *s = &sample_sessions[i];
		int l = snprintf(sample_ids[i], sizeof (sample_ids[i]),
		    "session-%zu", i * 7919);

		s->psi_id.ps_p = sample_ids[i];
		s->psi_id.ps_n = (size_t)l;
		s->psi_state = (uint32_t)(i % SSTATE_MAX);
		s->psi_has_master = (i & 1) != 0;
		s->psi_has_slave = (i & 2) != 0;
		s->psi_create_ms = 1700000000000ull + i;
	}
}

/* A batch of n attaches, alternately the two samples, ids made distinct. */
static char batch_ids[PROTO_BATCH_MAX][16];

static void
fill_batch(uint32_t n)
{
	sample_batch.pab_n = n;
	for (uint32_t i = 0; i < n; i++) {
		struct proto_attach *a = &sample_batch.pab_a[i];

		*a = (i & 1) ? empty_attach : sample_attach;
		a->pa_session.ps_p = batch_ids[i];
		a->pa_session.ps_n = (size_t)snprintf(batch_ids[i],
		    sizeof (batch_ids[i]), "s%u", i);
		a->pa_accept_ms += i;
	}
}

/* Encode a sample of a type. */
static void
enc_sample(int type, msgpack_sbuffer *sb)
{
	struct proto_status_reply sr = { 77, true, 3, sample_sessions };
	int r = -1;

	fill_sessions(3);
	switch (type) {
	case PROTO_CONFIG: r = proto_enc_config(sb, &sample_config); break;
	case PROTO_READY: r = proto_enc_ready(sb, &sample_ready); break;
	case PROTO_ATTACH: r = proto_enc_attach(sb, &sample_attach); break;
	case PROTO_ATTACH_BATCH:
		fill_batch(3);
		r = proto_enc_attach_batch(sb, &sample_batch);
		break;
	case PROTO_REPORT: r = proto_enc_report(sb, &sample_report); break;
	case PROTO_STATUS_REQ:
		r = proto_enc_status_req(sb, &sample_status_req);
		break;
	case PROTO_STATUS_REPLY: r = proto_enc_status_reply(sb, &sr); break;
	case PROTO_SHUTDOWN: r = proto_enc_shutdown(sb, &sample_shutdown); break;
	case PROTO_HANDOFF:
	case PROTO_HANDIN:
		r = proto_enc_handoff(sb, type, &sample_handoff);
		break;
	case PROTO_SESSION: r = proto_enc_session(sb, &sample_session); break;
	case PROTO_HANDOFF_END:
		r = proto_enc_handoff_end(sb, &sample_handoff_end);
		break;
	case PROTO_HANDOFF_ACK:
		r = proto_enc_handoff_ack(sb, &sample_handoff_ack);
		break;
	case PROTO_HANDOFF_DONE:
		r = proto_enc_handoff_done(sb, &sample_handoff_done);
		break;
	case PROTO_ADMIN_REQ:
		r = proto_enc_admin_req(sb, &sample_admin_req);
		break;
	case PROTO_ADMIN_REPLY:
		r = proto_enc_admin_reply(sb, &sample_admin_reply);
		break;
	}
	ck_assert_int_eq(r, 0);
}

/* Decode a body as a type, whatever the type; frees what it allocates. */
static int
dec_any(int type, const uint8_t *b, size_t n, char *err, size_t errlen)
{
	union {
		struct proto_config c;
		struct proto_ready r;
		struct proto_attach a;
		struct proto_attach_batch ab;
		struct proto_report p;
		struct proto_status_req q;
		struct proto_status_reply s;
		struct proto_shutdown d;
		struct proto_handoff h;
		struct proto_session x;
		struct proto_handoff_end e;
		struct proto_handoff_ack k;
		struct proto_handoff_done f;
		struct proto_admin_req ar;
		struct proto_admin_reply ap;
	} m;
	int r = -2;

	switch (type) {
	case PROTO_CONFIG: r = proto_dec_config(b, n, &m.c, err, errlen); break;
	case PROTO_READY: r = proto_dec_ready(b, n, &m.r, err, errlen); break;
	case PROTO_ATTACH: r = proto_dec_attach(b, n, &m.a, err, errlen); break;
	case PROTO_ATTACH_BATCH:
		r = proto_dec_attach_batch(b, n, &m.ab, err, errlen);
		if (r != 0)
			ck_assert_uint_eq(m.ab.pab_n, 0);
		break;
	case PROTO_REPORT: r = proto_dec_report(b, n, &m.p, err, errlen); break;
	case PROTO_STATUS_REQ:
		r = proto_dec_status_req(b, n, &m.q, err, errlen);
		break;
	case PROTO_STATUS_REPLY:
		r = proto_dec_status_reply(b, n, &m.s, err, errlen);
		if (r != 0) {
			ck_assert_ptr_null(m.s.psr_sessions);
			ck_assert_uint_eq(m.s.psr_nsessions, 0);
		}
		proto_status_reply_free(&m.s);
		break;
	case PROTO_SHUTDOWN:
		r = proto_dec_shutdown(b, n, &m.d, err, errlen);
		break;
	case PROTO_HANDOFF:
	case PROTO_HANDIN:
		r = proto_dec_handoff(b, n, type, &m.h, err, errlen);
		break;
	case PROTO_SESSION:
		r = proto_dec_session(b, n, &m.x, err, errlen);
		break;
	case PROTO_HANDOFF_END:
		r = proto_dec_handoff_end(b, n, &m.e, err, errlen);
		break;
	case PROTO_HANDOFF_ACK:
		r = proto_dec_handoff_ack(b, n, &m.k, err, errlen);
		break;
	case PROTO_HANDOFF_DONE:
		r = proto_dec_handoff_done(b, n, &m.f, err, errlen);
		break;
	case PROTO_ADMIN_REQ:
		r = proto_dec_admin_req(b, n, &m.ar, err, errlen);
		break;
	case PROTO_ADMIN_REPLY:
		r = proto_dec_admin_reply(b, n, &m.ap, err, errlen);
		break;
	}
	ck_assert_int_ne(r, -2);
	return (r);
}

/* --- round trips ------------------------------------------------------- */

START_TEST(test_config)
{
	const struct proto_config *in[] = { &sample_config, &extreme_config };

	for (size_t i = 0; i < NELEM(in); i++) {
		msgpack_sbuffer sb;
		struct proto_config out;
		const uint8_t *b;
		size_t n;
		char err[128];

		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_enc_config(&sb, in[i]), 0);
		b = frame_body(&sb, 0, &n);
		ck_assert_int_eq(proto_type(b, n), PROTO_CONFIG);
		ck_assert_int_eq(proto_dec_config(b, n, &out, err,
		    sizeof (err)), 0);
		ck_assert_uint_eq(out.pc_version, in[i]->pc_version);
		ck_assert_uint_eq(out.pc_shard, in[i]->pc_shard);
		ck_assert_uint_eq(out.pc_nshards, in[i]->pc_nshards);
		ck_assert_uint_eq(out.pc_log_level, in[i]->pc_log_level);
		ck_assert_uint_eq(out.pc_pairing_ms, in[i]->pc_pairing_ms);
		ck_assert_uint_eq(out.pc_idle_ms, in[i]->pc_idle_ms);
		ck_assert_uint_eq(out.pc_close_ms, in[i]->pc_close_ms);
		ck_assert_uint_eq(out.pc_ping_ms, in[i]->pc_ping_ms);
		ck_assert_uint_eq(out.pc_wait_ms, in[i]->pc_wait_ms);
		ck_assert_uint_eq(out.pc_shutdown_ms, in[i]->pc_shutdown_ms);
		ck_assert_uint_eq(out.pc_max_message, in[i]->pc_max_message);
		ck_assert_uint_eq(out.pc_out_high, in[i]->pc_out_high);
		ck_assert_uint_eq(out.pc_out_low, in[i]->pc_out_low);
		ck_assert_uint_eq(out.pc_max_id, in[i]->pc_max_id);
		ck_assert_uint_eq(out.pc_max_sessions, in[i]->pc_max_sessions);
		ck_assert_uint_eq(out.pc_max_per_addr, in[i]->pc_max_per_addr);
		ck_assert_uint_eq(out.pc_clock_skew_ms,
		    in[i]->pc_clock_skew_ms);
		ck_assert_uint_eq(out.pc_presign_max_ms,
		    in[i]->pc_presign_max_ms);
		ck_assert(span_is(&out.pc_keys_dir, in[i]->pc_keys_dir.ps_p,
		    in[i]->pc_keys_dir.ps_n));
		ck_assert(span_is(&out.pc_secret, in[i]->pc_secret.ps_p,
		    in[i]->pc_secret.ps_n));
		ck_assert_uint_eq(out.pc_token_ttl_ms, in[i]->pc_token_ttl_ms);
		ck_assert(span_is(&out.pc_directory, in[i]->pc_directory.ps_p,
		    in[i]->pc_directory.ps_n));
		ck_assert(span_is(&out.pc_advertise, in[i]->pc_advertise.ps_p,
		    in[i]->pc_advertise.ps_n));
		ck_assert_uint_eq(out.pc_claim_ttl_ms, in[i]->pc_claim_ttl_ms);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

START_TEST(test_ready)
{
	msgpack_sbuffer sb;
	struct proto_ready out;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_ready(&sb, &sample_ready), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_READY);
	ck_assert_int_eq(proto_dec_ready(b, n, &out, err, sizeof (err)), 0);
	ck_assert_uint_eq(out.pr_version, PROTO_VERSION);
	ck_assert_uint_eq(out.pr_pid, 12345);
	ck_assert_uint_eq(out.pr_shard, 2);
	ck_assert(span_is(&out.pr_software, "0.1.0", 5));
	/* Decoded spans point into the body. */
	ck_assert(out.pr_software.ps_p > (const char *)b &&
	    out.pr_software.ps_p < (const char *)b + n);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_attach)
{
	const struct proto_attach *in[] = { &sample_attach, &empty_attach };

	for (size_t i = 0; i < NELEM(in); i++) {
		msgpack_sbuffer sb;
		struct proto_attach out;
		const uint8_t *b;
		size_t n;
		char err[128];

		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_enc_attach(&sb, in[i]), 0);
		b = frame_body(&sb, 0, &n);
		ck_assert_int_eq(proto_type(b, n), PROTO_ATTACH);
		ck_assert_int_eq(proto_dec_attach(b, n, &out, err,
		    sizeof (err)), 0);
		ck_assert(span_is(&out.pa_req_id, in[i]->pa_req_id.ps_p,
		    in[i]->pa_req_id.ps_n));
		ck_assert(span_is(&out.pa_session, in[i]->pa_session.ps_p,
		    in[i]->pa_session.ps_n));
		ck_assert_uint_eq(out.pa_role, in[i]->pa_role);
		ck_assert(span_is(&out.pa_head, in[i]->pa_head.ps_p,
		    in[i]->pa_head.ps_n));
		ck_assert(span_is(&out.pa_peer, in[i]->pa_peer.ps_p,
		    in[i]->pa_peer.ps_n));
		ck_assert_uint_eq(out.pa_accept_ms, in[i]->pa_accept_ms);
		ck_assert_uint_eq(out.pa_flags, in[i]->pa_flags);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

/* Batches of 2..PROTO_BATCH_MAX round-trip; 0, 1 and 17 are refused. */
START_TEST(test_attach_batch)
{
	static struct proto_attach_batch out;
	uint32_t k = (uint32_t)_i;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	fill_batch(k > PROTO_BATCH_MAX ? PROTO_BATCH_MAX : k);
	sample_batch.pab_n = k;
	if (k < 2 || k > PROTO_BATCH_MAX) {
		errno = 0;
		ck_assert_int_eq(proto_enc_attach_batch(&sb, &sample_batch), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_uint_eq(sb.size, 0);
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	ck_assert_int_eq(proto_enc_attach_batch(&sb, &sample_batch), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_ATTACH_BATCH);
	ck_assert_int_eq(proto_dec_attach_batch(b, n, &out, err,
	    sizeof (err)), 0);
	ck_assert_uint_eq(out.pab_n, k);
	for (uint32_t i = 0; i < k; i++) {
		const struct proto_attach *x = &sample_batch.pab_a[i];
		const struct proto_attach *y = &out.pab_a[i];

		ck_assert(span_is(&y->pa_req_id, x->pa_req_id.ps_p,
		    x->pa_req_id.ps_n));
		ck_assert(span_is(&y->pa_session, x->pa_session.ps_p,
		    x->pa_session.ps_n));
		ck_assert_uint_eq(y->pa_role, x->pa_role);
		ck_assert(span_is(&y->pa_head, x->pa_head.ps_p,
		    x->pa_head.ps_n));
		ck_assert(span_is(&y->pa_peer, x->pa_peer.ps_p,
		    x->pa_peer.ps_n));
		ck_assert_uint_eq(y->pa_accept_ms, x->pa_accept_ms);
		ck_assert_uint_eq(y->pa_flags, x->pa_flags);
	}
	/* A plain ATTACH is not a batch, nor a batch an ATTACH. */
	ck_assert_int_eq(proto_dec_attach(b, n, &out.pab_a[0], err,
	    sizeof (err)), -1);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_report)
{
	msgpack_sbuffer sb;
	struct proto_report out;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_report(&sb, &sample_report), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_REPORT);
	ck_assert_int_eq(proto_dec_report(b, n, &out, err, sizeof (err)), 0);
	for (int i = 0; i < PROTO_REPORT_STATES; i++)
		ck_assert_uint_eq(out.prp_sessions[i],
		    sample_report.prp_sessions[i]);
	ck_assert_uint_eq(out.prp_conns, 10);
	ck_assert_uint_eq(out.prp_bytes, 1ull << 40);
	ck_assert_uint_eq(out.prp_messages, 99);
	for (int i = 0; i < PROTO_DIRC_MAX; i++)
		ck_assert_uint_eq(out.prp_dir[i], sample_report.prp_dir[i]);
	ck_assert_mem_eq(out.prp_ev, sample_report.prp_ev,
	    sizeof (out.prp_ev));
	ck_assert_mem_eq(out.prp_hist, sample_report.prp_hist,
	    sizeof (out.prp_hist));
	ck_assert_str_eq(proto_dirc_name(PROTO_DIRC_MAX - 1), "forwards_failed");
	ck_assert_str_eq(proto_dirc_name(PROTO_DIRC_MAX), "unknown");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/*
 * proto_evc_desc(): a table of rows, then what every entry must be: a
 * family, help on a family's first entry, a family's entries
 * consecutive and told apart by their labels.
 */
START_TEST(test_evc_desc)
{
	static const struct {
		int		evc;
		const char	*family, *label, *value, *label2, *value2;
	} rows[] = {
		{ PROTO_EVC_ATT_101, "medusa_worker_attaches_total", "role",
		    "master", "status", "101" },
		{ PROTO_EVC_ATT_OTHER, "medusa_worker_attaches_total", "role",
		    "master", "status", "other" },
		{ PROTO_EVC_ATT_SLAVE, "medusa_worker_attaches_total", "role",
		    "slave", "status", "101" },
		{ PROTO_EVC_ATT_SLAVE + PROTO_EVC_ATT_409 - PROTO_EVC_ATT_101,
		    "medusa_worker_attaches_total", "role", "slave", "status",
		    "409" },
		{ PROTO_EVC_ATT_SLAVE_LAST, "medusa_worker_attaches_total",
		    "role", "slave", "status", "other" },
		{ PROTO_EVC_SESS_LINKED, "medusa_sessions_linked_total", NULL,
		    NULL, NULL, NULL },
		{ PROTO_EVC_END_MASTER_CLOSED, "medusa_sessions_ended_total",
		    "closed_by", "master", "cause", "closed" },
		{ PROTO_EVC_END_SLAVE_CLOSED, "medusa_sessions_ended_total",
		    "closed_by", "slave", "cause", "closed" },
		{ PROTO_EVC_END_MASTER_LOST, "medusa_sessions_ended_total",
		    "closed_by", "master", "cause", "lost" },
		{ PROTO_EVC_END_SLAVE_LOST, "medusa_sessions_ended_total",
		    "closed_by", "slave", "cause", "lost" },
		{ PROTO_EVC_END_PAIRING, "medusa_sessions_ended_total",
		    "closed_by", "reflector", "cause", "pairing_timeout" },
		{ PROTO_EVC_END_IDLE, "medusa_sessions_ended_total",
		    "closed_by", "reflector", "cause", "idle_timeout" },
		{ PROTO_EVC_END_SHUTDOWN, "medusa_sessions_ended_total",
		    "closed_by", "reflector", "cause", "shutdown" },
		{ PROTO_EVC_END_YIELD, "medusa_sessions_ended_total",
		    "closed_by", "reflector", "cause", "yield" },
		{ PROTO_EVC_BYTES_S2M, "medusa_session_bytes_total",
		    "direction", "slave_to_master", NULL, NULL },
		{ PROTO_EVC_AUTH_FIRST, "medusa_auth_refusals_total", "cause",
		    "missing", NULL, NULL },
		{ PROTO_EVC_AUTH_LAST, "medusa_auth_refusals_total", "cause",
		    "other_account", NULL, NULL },
		{ PROTO_EVC_RESUME_ENDED, "medusa_resume_refusals_total",
		    "cause", "session_ended", NULL, NULL },
	};
#define	STREQ_OR_NULL(a, b)	((a) == NULL ? (b) == NULL : \
	(b) != NULL && strcmp((a), (b)) == 0)

	for (size_t i = 0; i < sizeof (rows) / sizeof (rows[0]); i++) {
		const struct proto_evc_desc *d = proto_evc_desc(rows[i].evc);

		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d->ped_family, rows[i].family);
		ck_assert_msg(STREQ_OR_NULL(d->ped_label, rows[i].label) &&
		    STREQ_OR_NULL(d->ped_value, rows[i].value) &&
		    STREQ_OR_NULL(d->ped_label2, rows[i].label2) &&
		    STREQ_OR_NULL(d->ped_value2, rows[i].value2),
		    "row %zu: labels", i);
	}
	ck_assert_ptr_null(proto_evc_desc(-1));
	ck_assert_ptr_null(proto_evc_desc(PROTO_EVC_MAX));
	for (int k = 0; k < PROTO_EVC_MAX; k++) {
		const struct proto_evc_desc *d = proto_evc_desc(k);
		const struct proto_evc_desc *p = k > 0 ?
		    proto_evc_desc(k - 1) : NULL;
		bool first = p == NULL ||
		    strcmp(p->ped_family, d->ped_family) != 0;

		ck_assert_msg(d->ped_family != NULL, "entry %d", k);
		ck_assert_msg(!first || d->ped_help != NULL,
		    "entry %d: a family's first entry has help", k);
		ck_assert_msg(d->ped_label2 == NULL || d->ped_label != NULL,
		    "entry %d", k);
		for (int j = 0; j < k; j++) {
			const struct proto_evc_desc *e = proto_evc_desc(j);

			if (strcmp(e->ped_family, d->ped_family) != 0)
				continue;
			/* consecutive, and no two alike */
			ck_assert_msg(j == k - 1 || strcmp(proto_evc_desc(
			    j + 1)->ped_family, d->ped_family) == 0,
			    "entry %d: family %s apart", k, d->ped_family);
			ck_assert_msg(!(STREQ_OR_NULL(e->ped_value,
			    d->ped_value) && STREQ_OR_NULL(e->ped_value2,
			    d->ped_value2)), "entries %d and %d alike", j, k);
		}
	}
#undef	STREQ_OR_NULL
}
END_TEST

START_TEST(test_status_req_and_shutdown)
{
	static const uint32_t modes[] = { PROTO_SHUTDOWN_CLOSE,
	    PROTO_SHUTDOWN_DRAIN };
	msgpack_sbuffer sb;
	struct proto_status_req q;
	struct proto_shutdown d;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_status_req(&sb, &sample_status_req), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_STATUS_REQ);
	ck_assert_int_eq(proto_dec_status_req(b, n, &q, err, sizeof (err)), 0);
	ck_assert_uint_eq(q.psq_qid, sample_status_req.psq_qid);
	msgpack_sbuffer_destroy(&sb);

	for (size_t i = 0; i < NELEM(modes); i++) {
		struct proto_shutdown in = { modes[i], i * 60000 };

		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_enc_shutdown(&sb, &in), 0);
		b = frame_body(&sb, 0, &n);
		ck_assert_int_eq(proto_type(b, n), PROTO_SHUTDOWN);
		ck_assert_int_eq(proto_dec_shutdown(b, n, &d, err,
		    sizeof (err)), 0);
		ck_assert_uint_eq(d.psd_mode, modes[i]);
		ck_assert_uint_eq(d.psd_timeout_ms, i * 60000);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

static void
check_conn(const struct proto_conn_state *o, const struct proto_conn_state *a)
{
	ck_assert_uint_eq(o->pcs_role, a->pcs_role);
	ck_assert(span_is(&o->pcs_reqid, a->pcs_reqid.ps_p, a->pcs_reqid.ps_n));
	ck_assert(span_is(&o->pcs_peer, a->pcs_peer.ps_p, a->pcs_peer.ps_n));
	ck_assert_int_eq(o->pcs_ping_ok, a->pcs_ping_ok);
	ck_assert(span_is(&o->pcs_out, a->pcs_out.ps_p, a->pcs_out.ps_n));
	ck_assert(span_is(&o->pcs_in, a->pcs_in.ps_p, a->pcs_in.ps_n));
	ck_assert(span_is(&o->pcs_frag, a->pcs_frag.ps_p, a->pcs_frag.ps_n));
	ck_assert_uint_eq(o->pcs_frag_op, a->pcs_frag_op);
	ck_assert_uint_eq(o->pcs_frag_utf8, a->pcs_frag_utf8);
	ck_assert_uint_eq(o->pcs_rx_age_ms, a->pcs_rx_age_ms);
	ck_assert_uint_eq(o->pcs_ping_age_ms, a->pcs_ping_age_ms);
	ck_assert_uint_eq(o->pcs_rx_msgs, a->pcs_rx_msgs);
	ck_assert_uint_eq(o->pcs_tx_msgs, a->pcs_tx_msgs);
	ck_assert_int_eq(o->pcs_resume, a->pcs_resume);
}

START_TEST(test_session)
{
	static const struct proto_session *in[] = { &sample_session,
	    &waiting_session };
	const struct proto_session *a = in[_i];
	struct proto_session out;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_session(&sb, a), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_SESSION);
	ck_assert_int_eq(proto_dec_session(b, n, &out, err, sizeof (err)), 0);
	ck_assert(span_is(&out.ps_id, a->ps_id.ps_p, a->ps_id.ps_n));
	ck_assert_uint_eq(out.ps_state, a->ps_state);
	ck_assert_uint_eq(out.ps_create_ms, a->ps_create_ms);
	ck_assert_uint_eq(out.ps_age_ms, a->ps_age_ms);
	ck_assert_uint_eq(out.ps_idle_ms, a->ps_idle_ms);
	ck_assert_uint_eq(out.ps_wait_in_ms, a->ps_wait_in_ms);
	ck_assert_uint_eq(out.ps_bytes, a->ps_bytes);
	ck_assert_uint_eq(out.ps_msgs, a->ps_msgs);
	ck_assert_uint_eq(out.ps_nconns, a->ps_nconns);
	ck_assert_int_eq(out.ps_resumable, a->ps_resumable);
	ck_assert_uint_eq(out.ps_held_ms, a->ps_held_ms);
	ck_assert_uint_eq(out.ps_bytes_s2m, a->ps_bytes_s2m);
	for (int i = 0; i < 2; i++)
		ck_assert(span_is(&out.ps_fp[i], a->ps_fp[i].ps_p,
		    a->ps_fp[i].ps_n));
	for (uint32_t i = 0; i < a->ps_nconns; i++)
		check_conn(&out.ps_conns[i], &a->ps_conns[i]);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A session with megabytes queued still fits in a frame. */
START_TEST(test_session_big)
{
	struct proto_session big = sample_session, out;
	size_t sz = 3u * 1024 * 1024;
	char *q = malloc(sz);
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	ck_assert_ptr_nonnull(q);
	for (size_t i = 0; i < sz; i++)
		q[i] = (char)(i * 31);
	big.ps_conns[0].pcs_out.ps_p = q;
	big.ps_conns[0].pcs_out.ps_n = sz;
	big.ps_conns[1].pcs_in.ps_p = q + 1;
	big.ps_conns[1].pcs_in.ps_n = sz - 1;
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_session(&sb, &big), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_dec_session(b, n, &out, err, sizeof (err)), 0);
	check_conn(&out.ps_conns[0], &big.ps_conns[0]);
	check_conn(&out.ps_conns[1], &big.ps_conns[1]);
	msgpack_sbuffer_destroy(&sb);
	free(q);
}
END_TEST

START_TEST(test_handoff_and_admin)
{
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];
	struct proto_handoff h;
	struct proto_handoff_end e;
	struct proto_handoff_done d;
	struct proto_admin_req q;
	struct proto_admin_reply r;

	for (int t = PROTO_HANDOFF; t <= PROTO_HANDIN; t++) {
		msgpack_sbuffer_init(&sb);
		ck_assert_int_eq(proto_enc_handoff(&sb, t, &sample_handoff), 0);
		b = frame_body(&sb, 0, &n);
		ck_assert_int_eq(proto_type(b, n), t);
		ck_assert_int_eq(proto_dec_handoff(b, n, t, &h, err,
		    sizeof (err)), 0);
		ck_assert_uint_eq(h.pho_pid, 4242);
		/* HANDOFF is not HANDIN, and no other type is either. */
		ck_assert_int_eq(proto_dec_handoff(b, n, t == PROTO_HANDOFF ?
		    PROTO_HANDIN : PROTO_HANDOFF, &h, err, sizeof (err)), -1);
		ck_assert_int_eq(proto_dec_handoff(b, n, PROTO_SESSION, &h, err,
		    sizeof (err)), -1);
		msgpack_sbuffer_destroy(&sb);
	}

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_handoff_ack(&sb, &sample_handoff_ack), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_HANDOFF_ACK);
	{
		struct proto_handoff_ack k;

		ck_assert_int_eq(proto_dec_handoff_ack(b, n, &k, err,
		    sizeof (err)), 0);
		ck_assert(span_is(&k.pha_id, "sess-9", 6));
		ck_assert(k.pha_taken);
	}
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_handoff_ack(&sb, &refused_handoff_ack), 0);
	b = frame_body(&sb, 0, &n);
	{
		struct proto_handoff_ack k;

		ck_assert_int_eq(proto_dec_handoff_ack(b, n, &k, err,
		    sizeof (err)), 0);
		ck_assert(span_is(&k.pha_id, "sess-10", 7));
		ck_assert(!k.pha_taken);
	}
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_handoff_end(&sb, &sample_handoff_end), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_dec_handoff_end(b, n, &e, err, sizeof (err)), 0);
	ck_assert_uint_eq(e.phe_moved, 17);
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_handoff_done(&sb, &sample_handoff_done), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_dec_handoff_done(b, n, &d, err, sizeof (err)),
	    0);
	ck_assert_uint_eq(d.phd_moved, 190);
	ck_assert_uint_eq(d.phd_stayed, 3);
	ck_assert_uint_eq(d.phd_failed, 1);
	ck_assert(d.phd_aborted);
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_admin_req(&sb, &sample_admin_req), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_dec_admin_req(b, n, &q, err, sizeof (err)), 0);
	ck_assert_uint_eq(q.par_version, PROTO_VERSION);
	ck_assert_uint_eq(q.par_command, ADMIN_RESTART);
	ck_assert_int_eq(q.par_shard, -1);
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_admin_reply(&sb, &sample_admin_reply), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_dec_admin_reply(b, n, &r, err, sizeof (err)), 0);
	ck_assert(!r.pap_done);
	ck_assert(r.pap_ok);
	ck_assert(span_is(&r.pap_text, "shard 1: 12 sessions moved", 26));
	ck_assert(span_is(&r.pap_json, "{\"a\":1}", 7));
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Replies of 0, 1 and PROTO_STATUS_CHUNK sessions. */
START_TEST(test_status_reply)
{
	static const size_t counts[] = { 0, 1, 2, PROTO_STATUS_CHUNK };
	size_t ns = counts[_i];
	struct proto_status_reply in = { 1234, ns == 1, ns, sample_sessions };
	struct proto_status_reply out;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	fill_sessions(ns);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(proto_enc_status_reply(&sb, &in), 0);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_STATUS_REPLY);
	ck_assert_int_eq(proto_dec_status_reply(b, n, &out, err, sizeof (err)),
	    0);
	ck_assert_uint_eq(out.psr_qid, 1234);
	ck_assert_int_eq(out.psr_more, ns == 1);
	ck_assert_uint_eq(out.psr_nsessions, ns);
	for (size_t i = 0; i < ns; i++) {
		const struct proto_session_info *a = &sample_sessions[i];
		const struct proto_session_info *o = &out.psr_sessions[i];

		ck_assert(span_is(&o->psi_id, a->psi_id.ps_p, a->psi_id.ps_n));
		ck_assert_uint_eq(o->psi_state, a->psi_state);
		ck_assert_int_eq(o->psi_has_master, a->psi_has_master);
		ck_assert_int_eq(o->psi_has_slave, a->psi_has_slave);
		ck_assert_uint_eq(o->psi_create_ms, a->psi_create_ms);
	}
	proto_status_reply_free(&out);
	ck_assert_ptr_null(out.psr_sessions);
	ck_assert_uint_eq(out.psr_nsessions, 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Encoders append: two frames in one buffer, each with its own prefix. */
START_TEST(test_two_frames)
{
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n, first;
	char err[128];
	struct proto_shutdown d;

	msgpack_sbuffer_init(&sb);
	enc_sample(PROTO_ATTACH, &sb);
	first = sb.size;
	enc_sample(PROTO_SHUTDOWN, &sb);
	b = frame_body(&sb, first, &n);
	ck_assert_int_eq(proto_type(b, n), PROTO_SHUTDOWN);
	ck_assert_int_eq(proto_dec_shutdown(b, n, &d, err, sizeof (err)), 0);
	b = (const uint8_t *)sb.data + 4;
	ck_assert_int_eq(proto_type(b, first - 4), PROTO_ATTACH);
	ck_assert_int_eq(dec_any(PROTO_ATTACH, b, first - 4, err,
	    sizeof (err)), 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A frame over PROTO_FRAME_MAX is refused and leaves the buffer as it was. */
START_TEST(test_too_big)
{
	struct proto_attach a = sample_attach;
	msgpack_sbuffer sb;
	char *big = calloc(1, PROTO_FRAME_MAX);
	size_t before;

	ck_assert_ptr_nonnull(big);
	a.pa_head.ps_p = big;
	a.pa_head.ps_n = PROTO_FRAME_MAX;
	msgpack_sbuffer_init(&sb);
	enc_sample(PROTO_SHUTDOWN, &sb);
	before = sb.size;
	errno = 0;
	ck_assert_int_eq(proto_enc_attach(&sb, &a), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_uint_eq(sb.size, before);
	/* Just under the limit is fine. */
	a.pa_head.ps_n = PROTO_FRAME_MAX - 64;
	ck_assert_int_eq(proto_enc_attach(&sb, &a), 0);
	msgpack_sbuffer_destroy(&sb);
	free(big);
}
END_TEST

/* --- every message, mangled -------------------------------------------- */

START_TEST(test_truncated)
{
	int type = _i;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	enc_sample(type, &sb);
	b = frame_body(&sb, 0, &n);
	ck_assert_int_eq(dec_any(type, b, n, err, sizeof (err)), 0);
	for (size_t k = 0; k < n; k++) {
		/* Exactly k bytes, so ASan sees any read past the end. */
		uint8_t *copy = malloc(k > 0 ? k : 1);

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, b, k);
		err[0] = '\0';
		ck_assert_msg(dec_any(type, copy, k, err, sizeof (err)) == -1,
		    "%s cut to %zu of %zu", proto_type_name(type), k, n);
		ck_assert_uint_gt(strlen(err), 0);
		free(copy);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_trailing)
{
	static const uint8_t extra[] = { 0xc0, 0x00, 0x91 };
	int type = _i;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	for (size_t i = 0; i < NELEM(extra); i++) {
		msgpack_sbuffer_init(&sb);
		enc_sample(type, &sb);
		msgpack_sbuffer_write(&sb, (const char *)&extra[i], 1);
		/* The frame is not re-prefixed: look at the body by hand. */
		b = (const uint8_t *)sb.data + 4;
		n = sb.size - 4;
		ck_assert_int_eq(dec_any(type, b, n, err, sizeof (err)), -1);
		ck_assert_uint_gt(strlen(err), 0);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

/* A body of one type handed to every other type's decoder. */
START_TEST(test_wrong_decoder)
{
	int type = _i;
	msgpack_sbuffer sb;
	const uint8_t *b;
	size_t n;
	char err[128];

	msgpack_sbuffer_init(&sb);
	enc_sample(type, &sb);
	b = frame_body(&sb, 0, &n);
	for (int other = PROTO_CONFIG; other < PROTO_MAX; other++) {
		if (other == type)
			continue;
		ck_assert_msg(dec_any(other, b, n, err, sizeof (err)) == -1,
		    "%s decoded as %s", proto_type_name(type),
		    proto_type_name(other));
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/*
 * A few bytes that declare a huge array or map (found by fuzzing: msgpack-c
 * would allocate gigabytes for them before finding the body short).  Every
 * decoder refuses them, with a reason, and allocates nothing of the kind.
 */
static const struct {
	const char	*name;
	uint8_t		b[8];
	size_t		n;
} bombs[] = {
	{ "array32 of 2^31 items", { 0xdd, 0x7f, 0xff, 0xff, 0xff }, 5 },
	{ "array32 of 0x4204081e items", { 0xdd, 0x42, 0x04, 0x08, 0x1e }, 5 },
	{ "map32 of 2^31 pairs", { 0xdf, 0x7f, 0xff, 0xff, 0xff }, 5 },
	{ "array16 of 65535 items", { 0xdc, 0xff, 0xff }, 3 },
	{ "str32 of 4 GiB", { 0xdb, 0xff, 0xff, 0xff, 0xff }, 5 },
};

START_TEST(test_allocation_bombs)
{
	char err[128];

	for (int type = PROTO_CONFIG; type < PROTO_MAX; type++) {
		err[0] = '\0';
		ck_assert_msg(dec_any(type, bombs[_i].b, bombs[_i].n, err,
		    sizeof (err)) == -1, "%s: %s decoded it", bombs[_i].name,
		    proto_type_name(type));
		ck_assert_msg(err[0] != '\0', "%s: no reason", bombs[_i].name);
	}
	ck_assert_int_eq(proto_type(bombs[_i].b, bombs[_i].n), PROTO_INVALID);
}
END_TEST

/* --- hand-built bodies ------------------------------------------------- */

/*
 * Pack a spec of space-separated items: A<n> array header, M<n> map
 * header, U<n> unsigned, I<n> signed, S<text> string, B<text> binary, D<x>
 * double, T true, F false, N nil.
 */
static void
build(msgpack_sbuffer *sb, const char *spec)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	while (*spec != '\0') {
		size_t n = strcspn(spec, " ");
		char item[64];

		ck_assert_uint_lt(n, sizeof (item));
		memcpy(item, spec, n);
		item[n] = '\0';
		spec += n;
		spec += strspn(spec, " ");
		switch (item[0]) {
		case 'A':
			msgpack_pack_array(&pk, (size_t)strtoul(item + 1, NULL, 10));
			break;
		case 'M':
			msgpack_pack_map(&pk, (size_t)strtoul(item + 1, NULL, 10));
			break;
		case 'U':
			msgpack_pack_uint64(&pk, strtoull(item + 1, NULL, 10));
			break;
		case 'I':
			msgpack_pack_int64(&pk, strtoll(item + 1, NULL, 10));
			break;
		case 'S':
			msgpack_pack_str(&pk, n - 1);
			msgpack_pack_str_body(&pk, item + 1, n - 1);
			break;
		case 'B':
			msgpack_pack_bin(&pk, n - 1);
			msgpack_pack_bin_body(&pk, item + 1, n - 1);
			break;
		case 'D':
			msgpack_pack_double(&pk, strtod(item + 1, NULL));
			break;
		case 'T':
			msgpack_pack_true(&pk);
			break;
		case 'F':
			msgpack_pack_false(&pk);
			break;
		case 'N':
			msgpack_pack_nil(&pk);
			break;
		default:
			ck_abort_msg("bad spec item \"%s\"", item);
		}
	}
}

#define	DIRC	"A13 U1 U2 U3 U4 U5 U6 U7 U8 U9 U10 U11 U12 U13"
#define	EVC	"A45 U1 U2 U3 U4 U5 U6 U7 U8 U9 U10 U11 U12 U13 U14 U15 U16 U17 U18 U19 U20 U21 U22 U23 U24 U25 U26 U27 U28 U29 U30 U31 U32 U33 U34 U35 U36 U37 U38 U39 U40 U41 U42 U43 U44 U45"
#define	HIST	"A39 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3 U4 U0 U1 U2 U3"
#define	EVH	" " EVC " " HIST
#define	CFG_TAIL	"U600000 U3600000 U5000 U30000 U2000 U10000 U1048576 " \
			"U1048576 U262144 U128 U100000 U64 U300000 U604800000 " \
			"S/etc/medusa/keys B0123456789abcdef U3600000 " \
			"Sredis://127.0.0.1:6379 S127.0.0.2:8381 U30000"

static const struct {
	int		type;
	const char	*spec;
	int		ok;
} built[] = {
	/* CONFIG: version, shard, nshards, log_level, 14 numbers, keys_dir,
	   secret, token_ttl_ms, directory, advertise, claim_ttl_ms */
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U30 " CFG_TAIL, 1 },
	{ PROTO_CONFIG, "A25 U1 U1 U2 U3 U100 " CFG_TAIL, 1 },
	{ PROTO_CONFIG, "A25 U1 U1 U0 U0 U30 " CFG_TAIL, 0 },	/* 0 shards */
	{ PROTO_CONFIG, "A25 U1 U1 U3 U3 U30 " CFG_TAIL, 0 },	/* shard 3/3 */
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U101 " CFG_TAIL, 0 },	/* level */
	{ PROTO_CONFIG, "A25 U1 U4294967296 U0 U1 U30 " CFG_TAIL, 0 },
	{ PROTO_CONFIG, "A24 U1 U1 U0 U1 " CFG_TAIL, 0 },
	{ PROTO_CONFIG, "A26 U1 U1 U0 U1 U30 " CFG_TAIL " U1", 0 },
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 D30 " CFG_TAIL, 0 },
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U30 U600000 U3600000 U5000 U30000 "
	    "U2000 U10000 U1048576 U1048576 U262144 U128 U100000 U64 U300000 "
	    "U604800000 Bkeys B0123456789abcdef U1 S S U1", 0 },
							/* keys_dir bin */
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U30 U600000 U3600000 U5000 U30000 "
	    "U2000 U10000 U1048576 U1048576 U262144 U128 U100000 U64 U300000 "
	    "U604800000 Skeys Ssecret U1 S S U1", 0 },		/* secret str */
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U30 U600000 U3600000 U5000 U30000 "
	    "U2000 U10000 U1048576 U1048576 U262144 U128 U100000 U64 U300000 "
	    "U604800000 Skeys B0123456789abcdef U1 Bredis://h S U1", 0 },
							/* directory bin */
	{ PROTO_CONFIG, "A25 U1 U1 U0 U1 U30 U600000 U3600000 U5000 U30000 "
	    "U2000 U10000 U1048576 U1048576 U262144 U128 U100000 U64 U300000 "
	    "U604800000 Skeys B0123456789abcdef U1 S S D1", 0 },
							/* claim_ttl double */
	/* READY: version, pid, shard, software */
	{ PROTO_READY, "A5 U2 U1 U2 U3 S0.1.0", 1 },
	{ PROTO_READY, "A5 U2 U1 U2 U3 S", 1 },
	{ PROTO_READY, "A5 U2 U1 U2 U3 U4", 0 },
	{ PROTO_READY, "A5 U2 U1 U2 U3 B0.1.0", 0 },
	{ PROTO_READY, "A5 U2 U1 U4294967296 U3 Sx", 0 },
	{ PROTO_READY, "A5 U2 U1 I-2 U3 Sx", 0 },
	{ PROTO_READY, "A4 U2 U1 U2 U3", 0 },
	{ PROTO_READY, "A5 U2 N U2 U3 Sx", 0 },
	/* ATTACH: req id, session, role, head, peer, accept time, flags */
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Bhead Speer U5 U1", 1 },
	{ PROTO_ATTACH_BATCH, "A15 U16 Sr Ss U1 Bh Sp U5 U1 Sq St U2 B S U0 U0", 1 },
	{ PROTO_ATTACH_BATCH, "A8 U16 Sr Ss U1 Bh Sp U5 U1", 0 },	/* one */
	{ PROTO_ATTACH_BATCH, "A1 U16", 0 },			/* none */
	{ PROTO_ATTACH_BATCH, "A13 U16 Sr Ss U1 Bh Sp U5 U1 Sq St U2 B S", 0 },
	{ PROTO_ATTACH_BATCH, "A15 U16 Sr Ss U1 Bh Sp U5 U1 Sq S U2 B S U0 U0", 0 },
	{ PROTO_ATTACH_BATCH, "A15 U16 Sr Ss U1 Bh Sp U5 U1 Sq St U0 B S U0 U0", 0 },
	{ PROTO_ATTACH_BATCH, "A15 U16 Sr Ss U1 Bh Sp U5 U1 Sq St U2 S S U0 U0", 0 },
	{ PROTO_ATTACH, "A8 U3 S Ss U2 B S U0 U1", 1 },
	{ PROTO_ATTACH, "A8 U3 Sr Ss U0 Bh Sp U5 U1", 0 },		/* role 0 */
	{ PROTO_ATTACH, "A8 U3 Sr Ss U3 Bh Sp U5 U1", 0 },		/* role 3 */
	{ PROTO_ATTACH, "A8 U3 Sr S U1 Bh Sp U5 U1", 0 },		/* no id */
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Sh Sp U5 U1", 0 },		/* head str */
	{ PROTO_ATTACH, "A8 U3 Br Ss U1 Bh Sp U5 U1", 0 },
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Bh Bp U5 U1", 0 },
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Bh Sp I-5 U1", 0 },
	{ PROTO_ATTACH, "A8 U3 Sr Ss T Bh Sp U5 U1", 0 },
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Bh Sp U5 U2", 0 },	/* flag 2 */
	{ PROTO_ATTACH, "A8 U3 Sr Ss U1 Bh Sp U5 Sx", 0 },
	{ PROTO_ATTACH, "A7 U3 Sr Ss U1 Bh Sp U5", 0 },		/* protocol 5 */
	/* REPORT: [4 counts], conns, bytes, messages, [13 directory], [31 events],
	   [3 x 13 histogram slots] */
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 U3 U4 U5 U6 U7 " DIRC EVH, 1 },
	{ PROTO_REPORT, "A8 U4 A3 U1 U2 U3 U5 U6 U7 " DIRC EVH, 0 },
	{ PROTO_REPORT, "A8 U4 A5 U1 U2 U3 U4 U5 U5 U6 U7 " DIRC EVH, 0 },
	{ PROTO_REPORT, "A8 U4 U1 U5 U6 U7 " DIRC EVH, 0 },
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 S3 U4 U5 U6 U7 " DIRC EVH, 0 },
	{ PROTO_REPORT, "A5 U4 A4 U1 U2 U3 U4 U5 U6 U7", 0 },
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 U3 U4 U5 U6 U7 A12 U1 U2 U3 U4 U5 "
	    "U6 U7 U8 U9 U10 U11 U12" EVH, 0 },
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 U3 U4 U5 U6 U7 A13 U1 U2 U3 U4 U5 "
	    "U6 U7 U8 U9 U10 U11 U12 I-9" EVH, 0 },
	{ PROTO_REPORT, "A5 U4 A4 U1 U2 U3 I-4 U5 U6 U7", 0 },
	{ PROTO_REPORT, "A5 U4 A4 U1 U2 U3 U4 U5 U6 Sx", 0 },
	{ PROTO_REPORT, "A5 U4 M0 U5 U6 U7", 0 },
	/* STATUS_REQ: query id */
	{ PROTO_STATUS_REQ, "A2 U5 U18446744073709551615", 1 },
	{ PROTO_STATUS_REQ, "A2 U5 I-1", 0 },
	{ PROTO_STATUS_REQ, "A2 U5 Sx", 0 },
	{ PROTO_STATUS_REQ, "A2 U5 A0", 0 },
	{ PROTO_STATUS_REQ, "A2 U5 D1.5", 0 },
	/* STATUS_REPLY: query id, more, [[id, state, master, slave, ms]] */
	{ PROTO_STATUS_REPLY, "A4 U6 U1 T A0", 1 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A5 Sid U0 T F U9", 1 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A5 Sid U4 T F U9", 1 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 U1 A0", 0 },	/* more not bool */
	{ PROTO_STATUS_REPLY, "A4 U6 U1 T U0", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 T M0", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 I-1 F A0", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A4 Sid U0 T F", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A6 Sid U0 T F U9 U9", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A5 Bid U0 T F U9", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A5 Sid U5 T F U9", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 A5 Sid U0 U1 F U9", 0 },
	{ PROTO_STATUS_REPLY, "A4 U6 U1 F A1 U3", 0 },
	{ PROTO_STATUS_REPLY,
	    "A4 U6 U1 F A2 A5 Sa U0 T F U9 A5 Sb U0 T F N", 0 },
	{ PROTO_STATUS_REPLY,
	    "A4 U6 U1 F A3 A5 Sa U0 T F U9 A5 Sb U1 F T U8 U7", 0 },
	/* SHUTDOWN: mode, timeout_ms */
	{ PROTO_SHUTDOWN, "A3 U7 U1 U0", 1 },
	{ PROTO_SHUTDOWN, "A3 U7 U2 U300000", 1 },
	{ PROTO_SHUTDOWN, "A3 U7 U0 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 U3 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 U4294967297 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 U1 I-1", 0 },
	{ PROTO_SHUTDOWN, "A2 U7 U1", 0 },		/* field missing */
	{ PROTO_SHUTDOWN, "A4 U7 U1 U1 U1", 0 },	/* one too many */
	{ PROTO_SHUTDOWN, "A3 U6 U1 U0", 0 },		/* wrong type number */
	{ PROTO_SHUTDOWN, "A3 U0 U1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U99 U1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 I-7 U1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 S7 U1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 S1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 I-1 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 D1.0 U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 T U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 N U0", 0 },
	{ PROTO_SHUTDOWN, "A3 U7 U1 U0 U1", 0 },	/* trailing value */
	{ PROTO_SHUTDOWN, "A0", 0 },			/* empty array */
	{ PROTO_SHUTDOWN, "U7", 0 },			/* not an array */
	{ PROTO_SHUTDOWN, "M1 U7 U1", 0 },
	{ PROTO_SHUTDOWN, "N", 0 },
	{ PROTO_SHUTDOWN, "Sabc", 0 },
	{ PROTO_SHUTDOWN, "", 0 },			/* nothing at all */
	/* HANDOFF, HANDIN: pid */
	{ PROTO_HANDOFF, "A2 U8 U123", 1 },
	{ PROTO_HANDOFF, "A2 U8 I-1", 0 },
	{ PROTO_HANDOFF, "A2 U9 U123", 0 },		/* a HANDIN */
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 U3 U4 U5 U6 U7 " DIRC " A3 U1 U2 U3 "
	    HIST, 0 },					/* events short */
	{ PROTO_REPORT, "A8 U4 A4 U1 U2 U3 U4 U5 U6 U7 " DIRC " " EVC " A2 U1 "
	    "U2", 0 },					/* hist short */
	{ PROTO_REPORT, "A7 U4 A4 U1 U2 U3 U4 U5 U6 U7 " DIRC " " EVC, 0 },
	{ PROTO_HANDIN, "A2 U9 U123", 1 },
	{ PROTO_HANDIN, "A3 U9 U123 U1", 0 },
	/* SESSION: id, state, 6 numbers, [[14 fields]...], resumable, held_ms,
	   bytes_s2m (<= bytes), master's and slave's fingerprints */
#define	CONN_M	"A14 U1 Sr Sp T Bo Bi B U0 U0 U1 U0 U2 U3 T"
#define	CONN_S	"A14 U2 Sr Sp F B B Bfr U1 U34 U1 U0 U2 U3 F"
#define	SESS	"A15 U10 Sid U2 U1 U2 U3 U4 U5 U6 "
	{ PROTO_SESSION, SESS "A1 " CONN_M " T U7 U1 Sfm S", 1 },
	{ PROTO_SESSION, SESS "A2 " CONN_M " " CONN_S " F U7 U1 Sfm S", 1 },
	{ PROTO_SESSION, SESS "A0 F U7 U1 Sfm S", 0 },
	{ PROTO_SESSION, SESS "A3 " CONN_M " " CONN_S " " CONN_S " F U7 U1 Sfm S", 0 },
	{ PROTO_SESSION, SESS "A2 " CONN_M " " CONN_M " F U7 U1 Sfm S", 0 },	/* two masters */
	{ PROTO_SESSION, "A15 U10 S U2 U1 U2 U3 U4 U5 U6 A1 " CONN_M " F U7 U1 Sfm S", 0 },
	{ PROTO_SESSION, "A15 U10 Sid U3 U1 U2 U3 U4 U5 U6 A1 " CONN_M " F "
	    "U7 U1 Sfm S", 0 },
	{ PROTO_SESSION, SESS "A1 A14 U0 Sr Sp T Bo Bi B U0 U0 U1 U0 U2 U3 F "
	    "F U7 U1 Sfm S", 0 },					/* role 0 */
	{ PROTO_SESSION, SESS "A1 A14 U1 Sr Sp T Bo Bi B U3 U0 U1 U0 U2 U3 F "
	    "F U7 U1 Sfm S", 0 },					/* frag op */
	{ PROTO_SESSION, SESS "A1 A13 U1 Sr Sp T Bo Bi B U0 U0 U1 U0 U2 U3 "
	    "F U7 U1 Sfm S", 0 },					/* protocol 6 conn */
	{ PROTO_SESSION, SESS "A1 A14 U1 Sr Sp T So Bi B U0 U0 U1 U0 U2 U3 F "
	    "F U7 U1 Sfm S", 0 },					/* out str */
	{ PROTO_SESSION, SESS "A1 A14 U1 Sr Sp T Bo Bi B U0 U0 U1 U0 U2 U3 U1 "
	    "F U7 U1 Sfm S", 0 },					/* resume no bool */
	{ PROTO_SESSION, SESS "U1 F U7 U1 Sfm S", 0 },
	{ PROTO_SESSION, SESS "A1 " CONN_M " U1 U7 U1 Sfm S", 0 },	/* resumable no bool */
	{ PROTO_SESSION, "A10 U10 Sid U2 U1 U2 U3 U4 U5 U6 A1 " CONN_M, 0 },
	/* HANDOFF_END: moved; HANDOFF_DONE: moved, stayed, lost, aborted */
	{ PROTO_HANDOFF_END, "A2 U11 U5", 1 },
	{ PROTO_HANDOFF_END, "A2 U11 T", 0 },
	{ PROTO_HANDOFF_DONE, "A5 U12 U5 U0 U0 F", 1 },
	{ PROTO_HANDOFF_DONE, "A5 U12 U5 U0 U0 U0", 0 },
	{ PROTO_HANDOFF_DONE, "A4 U12 U5 U0 U0", 0 },
	/* ADMIN_REQ: version, command, shard; ADMIN_REPLY */
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U1 I-1", 1 },
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U3 U7", 1 },
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U0 I-1", 0 },	/* command 0 */
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U5 I-1", 1 },	/* KEYS */
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U6 I-1", 0 },	/* command 6 */
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U1 I-2", 0 },	/* shard -2 */
	{ PROTO_ADMIN_REQ, "A4 U13 U2 U1 U4294967296", 0 },
	{ PROTO_ADMIN_REPLY, "A5 U14 T T Sok S", 1 },
	{ PROTO_ADMIN_REPLY, "A5 U14 T T Sok B", 0 },
	{ PROTO_ADMIN_REPLY, "A4 U14 T T Sok", 0 },
	/* HANDOFF_ACK: session id, taken */
	{ PROTO_HANDOFF_ACK, "A3 U15 Sid T", 1 },
	{ PROTO_HANDOFF_ACK, "A3 U15 Sid F", 1 },
	{ PROTO_HANDOFF_ACK, "A2 U15 Sid", 0 },
	{ PROTO_HANDOFF_ACK, "A3 U15 S T", 0 },
	{ PROTO_HANDOFF_ACK, "A3 U15 Bid T", 0 },
	{ PROTO_HANDOFF_ACK, "A3 U15 Sid U1", 0 },
	{ PROTO_HANDOFF_ACK, "A4 U15 Sid T Sx", 0 },
};

START_TEST(test_built)
{
	msgpack_sbuffer sb;
	const uint8_t *b;
	char err[128] = "";
	int r;

	msgpack_sbuffer_init(&sb);
	build(&sb, built[_i].spec);
	b = sb.size > 0 ? (const uint8_t *)sb.data : (const uint8_t *)"";
	r = dec_any(built[_i].type, b, sb.size, err, sizeof (err));
	if (built[_i].ok) {
		ck_assert_msg(r == 0, "\"%s\" refused: %s", built[_i].spec, err);
		ck_assert_int_eq(proto_type(b, sb.size), built[_i].type);
	} else {
		ck_assert_msg(r == -1, "\"%s\" accepted", built[_i].spec);
		ck_assert_msg(strlen(err) > 0, "\"%s\": no reason",
		    built[_i].spec);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* --- peeking at the type ----------------------------------------------- */

static const struct {
	const char	*bytes;
	size_t		n;
	int		want;
} types[] = {
	{ "", 0, PROTO_INVALID },
	{ "\x91", 1, PROTO_INVALID },
	{ "\x91\x07", 2, PROTO_SHUTDOWN },
	{ "\x92\x01\x00", 3, PROTO_CONFIG },
	{ "\x91\x00", 2, PROTO_INVALID },		/* type 0 */
	{ "\x91\x0f", 2, PROTO_HANDOFF_ACK },
	{ "\x91\x10", 2, PROTO_ATTACH_BATCH },		/* the last */
	{ "\x91\x11", 2, PROTO_INVALID },		/* past the last */
	{ "\x91\x7f", 2, PROTO_INVALID },
	{ "\x91\xff", 2, PROTO_INVALID },		/* negative fixint */
	{ "\x91\xcc", 2, PROTO_INVALID },
	{ "\x91\xa1", 2, PROTO_INVALID },		/* a string */
	{ "\x07\x01", 2, PROTO_INVALID },		/* not an array */
	{ "\x81\x07\x01", 3, PROTO_INVALID },		/* a map */
	{ "\xc0\x07", 2, PROTO_INVALID },
	{ "\xdc\x00\x10\x01", 4, PROTO_CONFIG },	/* array 16 */
	{ "\xdc\x00", 2, PROTO_INVALID },
	{ "\xdc\x00\x10", 3, PROTO_INVALID },
	{ "\xdd\x00\x00\x00\x02\x02", 6, PROTO_READY },	/* array 32 */
	{ "\xdd\x00\x00\x00\x02", 5, PROTO_INVALID },
	{ "\x16\x03\x01\x00", 4, PROTO_INVALID },
};

START_TEST(test_type_peek)
{
	ck_assert_msg(proto_type((const uint8_t *)types[_i].bytes,
	    types[_i].n) == types[_i].want, "row %d", _i);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(proto_type_name(PROTO_CONFIG), "CONFIG");
	ck_assert_str_eq(proto_type_name(PROTO_SHUTDOWN), "SHUTDOWN");
	ck_assert_str_eq(proto_type_name(PROTO_MAX), "unknown");
	ck_assert_str_eq(proto_type_name(-1), "unknown");
	for (int t = 0; t < PROTO_MAX; t++)
		ck_assert_str_ne(proto_type_name(t), "unknown");
	ck_assert_str_eq(proto_sstate_name(SSTATE_MASTER_WAIT), "master_wait");
	ck_assert_str_eq(proto_sstate_name(SSTATE_FORWARDING), "forwarding");
	ck_assert_str_eq(proto_sstate_name(SSTATE_POST_DESTROY),
	    "post_destroy");
	ck_assert_str_eq(proto_sstate_name(SSTATE_MAX), "unknown");
	ck_assert_str_eq(proto_sstate_name(-1), "unknown");
}
END_TEST

Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("round trip");
	TCase *tm = tcase_create("malformed");

	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_ready);
	tcase_add_test(tc, test_attach);
	tcase_add_loop_test(tc, test_attach_batch, 0, PROTO_BATCH_MAX + 2);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_evc_desc);
	tcase_add_test(tc, test_status_req_and_shutdown);
	tcase_add_loop_test(tc, test_status_reply, 0, 4);
	tcase_add_test(tc, test_two_frames);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_names);
	tcase_add_loop_test(tc, test_session, 0, 2);
	tcase_add_test(tc, test_session_big);
	tcase_add_test(tc, test_handoff_and_admin);
	suite_add_tcase(s, tc);

	tcase_add_loop_test(tm, test_truncated, PROTO_CONFIG, PROTO_MAX);
	tcase_add_loop_test(tm, test_trailing, PROTO_CONFIG, PROTO_MAX);
	tcase_add_loop_test(tm, test_wrong_decoder, PROTO_CONFIG, PROTO_MAX);
	tcase_add_loop_test(tm, test_allocation_bombs, 0, NELEM(bombs));
	tcase_add_loop_test(tm, test_built, 0, NELEM(built));
	tcase_add_loop_test(tm, test_type_peek, 0, NELEM(types));
	suite_add_tcase(s, tm);
	return (s);
}
