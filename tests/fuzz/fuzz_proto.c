/*
 * fuzz_proto.c: libFuzzer harness for the control protocol's decoders
 * (shared/server/proto.c, described in shared/server/proto.h).
 *
 * The input is one frame body, as ctlchan_next() hands it out (no length
 * prefix).  proto_type() and every proto_dec_*() see it.  Each decoder
 * checks its own type, so at most one may accept it; for that one:
 *
 *   - every span it returns lies inside the input;
 *   - proto_type() names the same type, unless the sender wrote the type
 *     in a longer integer form than a fixint (proto_type() only peeks at
 *     fixints, so the receiver refuses such a frame as of unknown type);
 *   - re-encoding the fields with the matching proto_enc_*() gives a frame
 *     with a right length prefix, whose type proto_type() reads, which
 *     decodes again to the same fields (spans compared by bytes), and
 *     which encodes again to the very same bytes;
 *   - same() compares as many fields as the frame carries (its msgpack
 *     leaves, the type aside), so a field added to proto.h and proto.c but
 *     not here fails on the first seed (and so `make fuzz-regress`);
 *   - a decoded SESSION is resumed as a successor worker resumes it: each
 *     connection's saved UTF-8 state is fed the bytes that follow; a state
 *     utf8_feed() could not have returned (from ACCEPT) gives UTF8_REJECT,
 *     any other stays among those it returns.
 *
 * A decoder that refuses must leave a reason in err.  What the status-reply
 * decoder allocates is freed (LeakSanitizer would report it).
 */
#include <stdbool.h>

#include "fuzzutil.h"
#include "proto.h"
#include "utf8.h"

union msg {
	struct proto_config		config;
	struct proto_ready		ready;
	struct proto_attach		attach;
	struct proto_report		report;
	struct proto_status_req		status_req;
	struct proto_status_reply	status_reply;
	struct proto_shutdown		shutdown;
	struct proto_handoff		handoff;	/* HANDOFF, HANDIN */
	struct proto_session		session;
	struct proto_handoff_ack	handoff_ack;
	struct proto_attach_batch	attach_batch;
	struct proto_handoff_end	handoff_end;
	struct proto_handoff_done	handoff_done;
	struct proto_admin_req		admin_req;
	struct proto_admin_reply	admin_reply;
};

static int
dec(int type, const uint8_t *b, size_t n, union msg *m, char *err,
    size_t errlen)
{
	switch (type) {
	case PROTO_CONFIG:
		return (proto_dec_config(b, n, &m->config, err, errlen));
	case PROTO_READY:
		return (proto_dec_ready(b, n, &m->ready, err, errlen));
	case PROTO_ATTACH:
		return (proto_dec_attach(b, n, &m->attach, err, errlen));
	case PROTO_ATTACH_BATCH:
		return (proto_dec_attach_batch(b, n, &m->attach_batch, err,
		    errlen));
	case PROTO_REPORT:
		return (proto_dec_report(b, n, &m->report, err, errlen));
	case PROTO_STATUS_REQ:
		return (proto_dec_status_req(b, n, &m->status_req, err,
		    errlen));
	case PROTO_STATUS_REPLY:
		return (proto_dec_status_reply(b, n, &m->status_reply, err,
		    errlen));
	case PROTO_SHUTDOWN:
		return (proto_dec_shutdown(b, n, &m->shutdown, err, errlen));
	case PROTO_HANDOFF:
	case PROTO_HANDIN:
		return (proto_dec_handoff(b, n, type, &m->handoff, err,
		    errlen));
	case PROTO_SESSION:
		return (proto_dec_session(b, n, &m->session, err, errlen));
	case PROTO_HANDOFF_ACK:
		return (proto_dec_handoff_ack(b, n, &m->handoff_ack, err,
		    errlen));
	case PROTO_HANDOFF_END:
		return (proto_dec_handoff_end(b, n, &m->handoff_end, err,
		    errlen));
	case PROTO_HANDOFF_DONE:
		return (proto_dec_handoff_done(b, n, &m->handoff_done, err,
		    errlen));
	case PROTO_ADMIN_REQ:
		return (proto_dec_admin_req(b, n, &m->admin_req, err, errlen));
	case PROTO_ADMIN_REPLY:
		return (proto_dec_admin_reply(b, n, &m->admin_reply, err,
		    errlen));
	}
	abort();
}

static int
enc(int type, msgpack_sbuffer *sb, const union msg *m)
{
	switch (type) {
	case PROTO_CONFIG:
		return (proto_enc_config(sb, &m->config));
	case PROTO_READY:
		return (proto_enc_ready(sb, &m->ready));
	case PROTO_ATTACH:
		return (proto_enc_attach(sb, &m->attach));
	case PROTO_ATTACH_BATCH:
		return (proto_enc_attach_batch(sb, &m->attach_batch));
	case PROTO_REPORT:
		return (proto_enc_report(sb, &m->report));
	case PROTO_STATUS_REQ:
		return (proto_enc_status_req(sb, &m->status_req));
	case PROTO_STATUS_REPLY:
		return (proto_enc_status_reply(sb, &m->status_reply));
	case PROTO_SHUTDOWN:
		return (proto_enc_shutdown(sb, &m->shutdown));
	case PROTO_HANDOFF:
	case PROTO_HANDIN:
		return (proto_enc_handoff(sb, type, &m->handoff));
	case PROTO_SESSION:
		return (proto_enc_session(sb, &m->session));
	case PROTO_HANDOFF_ACK:
		return (proto_enc_handoff_ack(sb, &m->handoff_ack));
	case PROTO_HANDOFF_END:
		return (proto_enc_handoff_end(sb, &m->handoff_end));
	case PROTO_HANDOFF_DONE:
		return (proto_enc_handoff_done(sb, &m->handoff_done));
	case PROTO_ADMIN_REQ:
		return (proto_enc_admin_req(sb, &m->admin_req));
	case PROTO_ADMIN_REPLY:
		return (proto_enc_admin_reply(sb, &m->admin_reply));
	}
	abort();
}

static void
release(int type, union msg *m)
{
	if (type == PROTO_STATUS_REPLY)
		proto_status_reply_free(&m->status_reply);
}

/* --- spans lie inside the body ---------------------------------------- */

#define	IN(s)	FUZZ_CHECK(fuzz_within((s).ps_p, (s).ps_n, b, n))

static void
check_spans(int type, const union msg *m, const uint8_t *b, size_t n)
{
	switch (type) {
	case PROTO_READY:
		IN(m->ready.pr_software);
		break;
	case PROTO_ATTACH:
		IN(m->attach.pa_req_id);
		IN(m->attach.pa_session);
		IN(m->attach.pa_head);
		IN(m->attach.pa_peer);
		break;
	case PROTO_ATTACH_BATCH:
		for (uint32_t i = 0; i < m->attach_batch.pab_n; i++) {
			IN(m->attach_batch.pab_a[i].pa_req_id);
			IN(m->attach_batch.pab_a[i].pa_session);
			IN(m->attach_batch.pab_a[i].pa_head);
			IN(m->attach_batch.pab_a[i].pa_peer);
		}
		break;
	case PROTO_STATUS_REPLY:
		for (size_t i = 0; i < m->status_reply.psr_nsessions; i++)
			IN(m->status_reply.psr_sessions[i].psi_id);
		break;
	case PROTO_SESSION:
		IN(m->session.ps_id);
		for (uint32_t i = 0; i < m->session.ps_nconns; i++) {
			const struct proto_conn_state *c =
			    &m->session.ps_conns[i];

			IN(c->pcs_reqid);
			IN(c->pcs_peer);
			IN(c->pcs_out);
			IN(c->pcs_in);
			IN(c->pcs_frag);
		}
		break;
	case PROTO_HANDOFF_ACK:
		IN(m->handoff_ack.pha_id);
		break;
	case PROTO_ADMIN_REPLY:
		IN(m->admin_reply.pap_text);
		IN(m->admin_reply.pap_json);
		break;
	default:
		break;
	}
}

/* --- the documented ranges hold ---------------------------------------- */

static void
check_ranges(int type, const union msg *m)
{
	switch (type) {
	case PROTO_CONFIG:
		FUZZ_CHECK(m->config.pc_nshards > 0);
		FUZZ_CHECK(m->config.pc_shard < m->config.pc_nshards);
		break;
	case PROTO_ATTACH:
		FUZZ_CHECK(m->attach.pa_role == 1 || m->attach.pa_role == 2);
		FUZZ_CHECK(m->attach.pa_session.ps_n > 0);
		break;
	case PROTO_ATTACH_BATCH:
		FUZZ_CHECK(m->attach_batch.pab_n >= 2 &&
		    m->attach_batch.pab_n <= PROTO_BATCH_MAX);
		for (uint32_t i = 0; i < m->attach_batch.pab_n; i++) {
			const struct proto_attach *a =
			    &m->attach_batch.pab_a[i];

			FUZZ_CHECK(a->pa_role == 1 || a->pa_role == 2);
			FUZZ_CHECK(a->pa_session.ps_n > 0);
		}
		break;
	case PROTO_STATUS_REPLY:
		FUZZ_CHECK((m->status_reply.psr_nsessions == 0) ==
		    (m->status_reply.psr_sessions == NULL));
		for (size_t i = 0; i < m->status_reply.psr_nsessions; i++)
			FUZZ_CHECK(m->status_reply.psr_sessions[i].psi_state <
			    SSTATE_MAX);
		break;
	case PROTO_SHUTDOWN:
		FUZZ_CHECK(m->shutdown.psd_mode == PROTO_SHUTDOWN_CLOSE ||
		    m->shutdown.psd_mode == PROTO_SHUTDOWN_DRAIN);
		break;
	case PROTO_SESSION:
		FUZZ_CHECK(m->session.ps_id.ps_n > 0);
		FUZZ_CHECK(m->session.ps_state <= SSTATE_FORWARDING);
		FUZZ_CHECK(m->session.ps_nconns >= 1 &&
		    m->session.ps_nconns <= PROTO_SESSION_CONNS);
		for (uint32_t i = 0; i < m->session.ps_nconns; i++) {
			const struct proto_conn_state *c =
			    &m->session.ps_conns[i];

			FUZZ_CHECK(c->pcs_role == 1 || c->pcs_role == 2);
			FUZZ_CHECK(c->pcs_frag_op <= 2);
		}
		if (m->session.ps_nconns == 2)
			FUZZ_CHECK(m->session.ps_conns[0].pcs_role !=
			    m->session.ps_conns[1].pcs_role);
		break;
	case PROTO_HANDOFF_ACK:
		FUZZ_CHECK(m->handoff_ack.pha_id.ps_n > 0);
		break;
	case PROTO_ADMIN_REQ:
		FUZZ_CHECK(m->admin_req.par_command >= 1 &&
		    m->admin_req.par_command <= ADMIN_CMD_MAX);
		FUZZ_CHECK(m->admin_req.par_shard >= -1);
		break;
	default:
		break;
	}
}

/* --- two decodings carry the same fields -------------------------------- */

/*
 * EQ and SEQ compare a field the frame carries and count it in
 * same_fields; NEQ compares a count (of sessions, of connections) that
 * is an array's length on the wire, not a field of its own.
 */
static size_t same_fields;

#define	EQ(f)	do {							\
		FUZZ_CHECK(x->f == y->f);				\
		same_fields++;						\
	} while (0)
#define	SEQ(f)	do {							\
		FUZZ_CHECK(fuzz_span_eq(x->f.ps_p, x->f.ps_n,		\
		    y->f.ps_p, y->f.ps_n));				\
		same_fields++;						\
	} while (0)
#define	NEQ(f)	FUZZ_CHECK(x->f == y->f)

static void
same_conn(const struct proto_conn_state *x, const struct proto_conn_state *y)
{
	EQ(pcs_role);
	SEQ(pcs_reqid);
	SEQ(pcs_peer);
	EQ(pcs_ping_ok);
	SEQ(pcs_out);
	SEQ(pcs_in);
	SEQ(pcs_frag);
	EQ(pcs_frag_op);
	EQ(pcs_frag_utf8);
	EQ(pcs_rx_age_ms);
	EQ(pcs_ping_age_ms);
	EQ(pcs_rx_msgs);
	EQ(pcs_tx_msgs); EQ(pcs_resume);
}

static void
same_info(const struct proto_session_info *x,
    const struct proto_session_info *y)
{
	SEQ(psi_id);
	EQ(psi_state);
	EQ(psi_has_master);
	EQ(psi_has_slave);
	EQ(psi_create_ms);
}

static void
same(int type, const union msg *mx, const union msg *my)
{
	switch (type) {
	case PROTO_CONFIG: {
		const struct proto_config *x = &mx->config, *y = &my->config;

		EQ(pc_version); EQ(pc_shard); EQ(pc_nshards);
		EQ(pc_log_level); EQ(pc_pairing_ms); EQ(pc_idle_ms);
		EQ(pc_close_ms); EQ(pc_ping_ms); EQ(pc_wait_ms);
		EQ(pc_shutdown_ms); EQ(pc_max_message); EQ(pc_out_high);
		EQ(pc_out_low); EQ(pc_max_id); EQ(pc_max_sessions);
		EQ(pc_max_per_addr); EQ(pc_clock_skew_ms);
		EQ(pc_presign_max_ms); SEQ(pc_keys_dir); SEQ(pc_secret);
		EQ(pc_token_ttl_ms);
		break;
	}
	case PROTO_READY: {
		const struct proto_ready *x = &mx->ready, *y = &my->ready;

		EQ(pr_version); EQ(pr_pid); EQ(pr_shard); SEQ(pr_software);
		break;
	}
	case PROTO_ATTACH: {
		const struct proto_attach *x = &mx->attach, *y = &my->attach;

		SEQ(pa_req_id); SEQ(pa_session); EQ(pa_role); SEQ(pa_head);
		SEQ(pa_peer); EQ(pa_accept_ms);
		EQ(pa_flags);
		break;
	}
	case PROTO_ATTACH_BATCH: {
		const struct proto_attach_batch *x = &mx->attach_batch,
		    *y = &my->attach_batch;

		NEQ(pab_n);	/* the number of fields over 6 */
		for (uint32_t i = 0; i < x->pab_n && i < y->pab_n; i++) {
			SEQ(pab_a[i].pa_req_id); SEQ(pab_a[i].pa_session);
			EQ(pab_a[i].pa_role); SEQ(pab_a[i].pa_head);
			SEQ(pab_a[i].pa_peer); EQ(pab_a[i].pa_accept_ms);
			EQ(pab_a[i].pa_flags);
		}
		break;
	}
	case PROTO_REPORT: {
		const struct proto_report *x = &mx->report, *y = &my->report;

		for (int i = 0; i < PROTO_REPORT_STATES; i++)
			EQ(prp_sessions[i]);
		EQ(prp_conns); EQ(prp_bytes); EQ(prp_messages);
		break;
	}
	case PROTO_STATUS_REQ: {
		const struct proto_status_req *x = &mx->status_req,
		    *y = &my->status_req;

		EQ(psq_qid);
		break;
	}
	case PROTO_STATUS_REPLY: {
		const struct proto_status_reply *x = &mx->status_reply,
		    *y = &my->status_reply;

		EQ(psr_qid); EQ(psr_more); NEQ(psr_nsessions);
		for (size_t i = 0; i < x->psr_nsessions; i++)
			same_info(&x->psr_sessions[i], &y->psr_sessions[i]);
		break;
	}
	case PROTO_SHUTDOWN: {
		const struct proto_shutdown *x = &mx->shutdown,
		    *y = &my->shutdown;

		EQ(psd_mode); EQ(psd_timeout_ms);
		break;
	}
	case PROTO_HANDOFF:
	case PROTO_HANDIN: {
		const struct proto_handoff *x = &mx->handoff,
		    *y = &my->handoff;

		EQ(pho_pid);
		break;
	}
	case PROTO_SESSION: {
		const struct proto_session *x = &mx->session,
		    *y = &my->session;

		SEQ(ps_id); EQ(ps_state); EQ(ps_create_ms); EQ(ps_age_ms);
		EQ(ps_idle_ms); EQ(ps_wait_in_ms); EQ(ps_bytes); EQ(ps_msgs);
		EQ(ps_resumable);
		NEQ(ps_nconns);
		for (uint32_t i = 0; i < x->ps_nconns; i++)
			same_conn(&x->ps_conns[i], &y->ps_conns[i]);
		break;
	}
	case PROTO_HANDOFF_ACK: {
		const struct proto_handoff_ack *x = &mx->handoff_ack,
		    *y = &my->handoff_ack;

		SEQ(pha_id); EQ(pha_taken);
		break;
	}
	case PROTO_HANDOFF_END: {
		const struct proto_handoff_end *x = &mx->handoff_end,
		    *y = &my->handoff_end;

		EQ(phe_moved);
		break;
	}
	case PROTO_HANDOFF_DONE: {
		const struct proto_handoff_done *x = &mx->handoff_done,
		    *y = &my->handoff_done;

		EQ(phd_moved); EQ(phd_stayed); EQ(phd_failed); EQ(phd_aborted);
		break;
	}
	case PROTO_ADMIN_REQ: {
		const struct proto_admin_req *x = &mx->admin_req,
		    *y = &my->admin_req;

		EQ(par_version); EQ(par_command); EQ(par_shard);
		break;
	}
	case PROTO_ADMIN_REPLY: {
		const struct proto_admin_reply *x = &mx->admin_reply,
		    *y = &my->admin_reply;

		EQ(pap_done); EQ(pap_ok); SEQ(pap_text); SEQ(pap_json);
		break;
	}
	default:
		abort();
	}
}

/* The scalars (non-array values) in o, nested arrays included. */
static size_t
leaves(const msgpack_object *o)
{
	size_t k = 0;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return (1);
	for (uint32_t i = 0; i < o->via.array.size; i++)
		k += leaves(&o->via.array.ptr[i]);
	return (k);
}

/* The fields an encoded body carries: its leaves but the type. */
static size_t
body_fields(const uint8_t *b, size_t n)
{
	msgpack_unpacked u;
	size_t off = 0, k;

	msgpack_unpacked_init(&u);
	FUZZ_CHECK(msgpack_unpack_next(&u, (const char *)b, n, &off) ==
	    MSGPACK_UNPACK_SUCCESS && off == n);
	k = leaves(&u.data);
	msgpack_unpacked_destroy(&u);
	FUZZ_CHECK(k >= 1);
	return (k - 1);
}

/*
 * The UTF-8 states utf8_feed() returns from UTF8_ACCEPT, fed any bytes:
 * found once, by feeding every byte to every state found so far.
 */
static bool utf8_reached[256];

static void
utf8_reach(void)
{
	uint32_t stack[256];
	size_t nstack = 0;

	utf8_reached[UTF8_ACCEPT] = true;
	stack[nstack++] = UTF8_ACCEPT;
	while (nstack > 0) {
		uint32_t st = stack[--nstack];

		for (unsigned c = 0; c < 256; c++) {
			uint8_t byte = (uint8_t)c;
			uint32_t nx = utf8_feed(st, &byte, 1);

			FUZZ_CHECK(nx < 256);
			if (!utf8_reached[nx]) {
				utf8_reached[nx] = true;
				stack[nstack++] = nx;
			}
		}
	}
	FUZZ_CHECK(utf8_reached[UTF8_REJECT]);
}

/*
 * Encode m as type into sb; check the frame's length prefix and type and
 * return its body.
 */
static const uint8_t *
encode(int type, const union msg *m, msgpack_sbuffer *sb, size_t *len)
{
	const uint8_t *f;
	size_t n;

	msgpack_sbuffer_init(sb);
	/* Inputs are far below PROTO_FRAME_MAX, so re-encoding must fit. */
	FUZZ_CHECK(enc(type, sb, m) == 0);
	f = (const uint8_t *)sb->data;
	FUZZ_CHECK(sb->size >= 4);
	n = ((size_t)f[0] << 24) | ((size_t)f[1] << 16) |
	    ((size_t)f[2] << 8) | f[3];
	FUZZ_CHECK(n == sb->size - 4);
	FUZZ_CHECK(proto_type(f + 4, n) == type);
	*len = n;
	return (f + 4);
}

/*
 * The body was accepted as `type` and decoded into *m: check it all, as
 * the comment at the top says.
 */
static void
check_accepted(int type, const union msg *m, const uint8_t *b, size_t n)
{
	msgpack_sbuffer sb1, sb2;
	const uint8_t *b1, *b2;
	size_t n1, n2;
	union msg m1;
	char err[128];
	int t = proto_type(b, n);

	FUZZ_CHECK(t == type || t == PROTO_INVALID);
	check_spans(type, m, b, n);
	check_ranges(type, m);

	b1 = encode(type, m, &sb1, &n1);
	FUZZ_CHECK(dec(type, b1, n1, &m1, err, sizeof (err)) == 0);
	check_spans(type, &m1, b1, n1);
	same_fields = 0;
	same(type, m, &m1);
	/* Every field the frame carries was compared. */
	FUZZ_CHECK(same_fields == body_fields(b1, n1));

	b2 = encode(type, &m1, &sb2, &n2);
	FUZZ_CHECK(fuzz_span_eq(b1, n1, b2, n2));

	release(type, &m1);
	msgpack_sbuffer_destroy(&sb1);
	msgpack_sbuffer_destroy(&sb2);

	if (type == PROTO_SESSION) {
		/*
		 * The successor resumes each connection with the saved UTF-8
		 * state of its fragmented message and feeds it what comes
		 * next: here, the bytes saved as not yet parsed.
		 */
		for (uint32_t i = 0; i < m->session.ps_nconns; i++) {
			const struct proto_conn_state *c =
			    &m->session.ps_conns[i];
			uint32_t st = utf8_feed(c->pcs_frag_utf8,
			    (const uint8_t *)c->pcs_in.ps_p, c->pcs_in.ps_n);

			/* The decoder bounds the state to a byte. */
			FUZZ_CHECK(c->pcs_frag_utf8 < 256);
			FUZZ_CHECK(st < 256 && utf8_reached[st]);
			if (!utf8_reached[c->pcs_frag_utf8])
				FUZZ_CHECK(st == UTF8_REJECT);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	utf8_reach();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int accepted = 0;

	(void) proto_type(data, size);
	(void) proto_type_name(proto_type(data, size));

	for (int type = PROTO_INVALID + 1; type < PROTO_MAX; type++) {
		union msg m;
		char err[128];

		err[0] = '\0';
		if (dec(type, data, size, &m, err, sizeof (err)) != 0) {
			/* Refused: with a reason, and nothing left allocated. */
			FUZZ_CHECK(err[0] != '\0');
			FUZZ_CHECK(memchr(err, '\0', sizeof (err)) != NULL);
			if (type == PROTO_STATUS_REPLY)
				FUZZ_CHECK(m.status_reply.psr_sessions == NULL &&
				    m.status_reply.psr_nsessions == 0);
			continue;
		}
		accepted++;
		check_accepted(type, &m, data, size);
		release(type, &m);
	}
	FUZZ_CHECK(accepted <= 1);
	return (0);
}
