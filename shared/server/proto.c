/*
 * proto.c: encoders and decoders of the control protocol; see proto.h.
 *
 * Every decoder checks, in order: the frame is one msgpack value and
 * nothing else, the value is an array of exactly the right size, the first
 * element is the expected type, then each field's type and range.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* --- encoding --------------------------------------------------------- */

struct penc {
	msgpack_sbuffer	*sb;
	msgpack_packer	pk;
	size_t		start;
};

static void
pe_begin(struct penc *e, msgpack_sbuffer *sb, int type, uint32_t nfields)
{
	static const char zero[4] = { 0, 0, 0, 0 };

	e->sb = sb;
	e->start = sb->size;
	(void) msgpack_sbuffer_write(sb, zero, 4);
	msgpack_packer_init(&e->pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&e->pk, 1 + nfields);
	msgpack_pack_uint32(&e->pk, (uint32_t)type);
}

static int
pe_end(struct penc *e)
{
	size_t n = e->sb->size - e->start - 4;
	unsigned char *p = (unsigned char *)e->sb->data + e->start;

	if (n > PROTO_FRAME_MAX) {
		e->sb->size = e->start;
		errno = EMSGSIZE;
		return (-1);
	}
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	return (0);
}

static void
pe_str(struct penc *e, const struct proto_str *s)
{
	msgpack_pack_str(&e->pk, s->ps_n);
	msgpack_pack_str_body(&e->pk, s->ps_p, s->ps_n);
}

static void
pe_bin(struct penc *e, const struct proto_str *s)
{
	msgpack_pack_bin(&e->pk, s->ps_n);
	msgpack_pack_bin_body(&e->pk, s->ps_p, s->ps_n);
}

int
proto_enc_config(msgpack_sbuffer *sb, const struct proto_config *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_CONFIG, 24);
	msgpack_pack_uint32(&e.pk, m->pc_version);
	msgpack_pack_uint32(&e.pk, m->pc_shard);
	msgpack_pack_uint32(&e.pk, m->pc_nshards);
	msgpack_pack_uint32(&e.pk, m->pc_log_level);
	msgpack_pack_uint64(&e.pk, m->pc_pairing_ms);
	msgpack_pack_uint64(&e.pk, m->pc_idle_ms);
	msgpack_pack_uint64(&e.pk, m->pc_close_ms);
	msgpack_pack_uint64(&e.pk, m->pc_ping_ms);
	msgpack_pack_uint64(&e.pk, m->pc_wait_ms);
	msgpack_pack_uint64(&e.pk, m->pc_shutdown_ms);
	msgpack_pack_uint64(&e.pk, m->pc_max_message);
	msgpack_pack_uint64(&e.pk, m->pc_out_high);
	msgpack_pack_uint64(&e.pk, m->pc_out_low);
	msgpack_pack_uint64(&e.pk, m->pc_max_id);
	msgpack_pack_uint64(&e.pk, m->pc_max_sessions);
	msgpack_pack_uint64(&e.pk, m->pc_max_per_addr);
	msgpack_pack_uint64(&e.pk, m->pc_clock_skew_ms);
	msgpack_pack_uint64(&e.pk, m->pc_presign_max_ms);
	pe_str(&e, &m->pc_keys_dir);
	pe_bin(&e, &m->pc_secret);
	msgpack_pack_uint64(&e.pk, m->pc_token_ttl_ms);
	pe_str(&e, &m->pc_directory);
	pe_str(&e, &m->pc_advertise);
	msgpack_pack_uint64(&e.pk, m->pc_claim_ttl_ms);
	return (pe_end(&e));
}

int
proto_enc_ready(msgpack_sbuffer *sb, const struct proto_ready *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_READY, 4);
	msgpack_pack_uint32(&e.pk, m->pr_version);
	msgpack_pack_uint32(&e.pk, m->pr_pid);
	msgpack_pack_uint32(&e.pk, m->pr_shard);
	pe_str(&e, &m->pr_software);
	return (pe_end(&e));
}

/* The fields of one attach (ATTACH, and each of ATTACH_BATCH). */
static void
pe_attach(struct penc *e, const struct proto_attach *m)
{
	pe_str(e, &m->pa_req_id);
	pe_str(e, &m->pa_session);
	msgpack_pack_uint32(&e->pk, m->pa_role);
	pe_bin(e, &m->pa_head);
	pe_str(e, &m->pa_peer);
	msgpack_pack_uint64(&e->pk, m->pa_accept_ms);
	msgpack_pack_uint32(&e->pk, m->pa_flags);
}

int
proto_enc_attach(msgpack_sbuffer *sb, const struct proto_attach *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_ATTACH, PROTO_ATTACH_FIELDS);
	pe_attach(&e, m);
	return (pe_end(&e));
}

int
proto_enc_attach_batch(msgpack_sbuffer *sb, const struct proto_attach_batch *m)
{
	struct penc e;

	if (m->pab_n < 2 || m->pab_n > PROTO_BATCH_MAX) {
		errno = EINVAL;
		return (-1);
	}
	pe_begin(&e, sb, PROTO_ATTACH_BATCH, PROTO_ATTACH_FIELDS * m->pab_n);
	for (uint32_t i = 0; i < m->pab_n; i++)
		pe_attach(&e, &m->pab_a[i]);
	return (pe_end(&e));
}

int
proto_enc_report(msgpack_sbuffer *sb, const struct proto_report *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_REPORT, 7);
	msgpack_pack_array(&e.pk, PROTO_REPORT_STATES);
	for (int i = 0; i < PROTO_REPORT_STATES; i++)
		msgpack_pack_uint64(&e.pk, m->prp_sessions[i]);
	msgpack_pack_uint64(&e.pk, m->prp_conns);
	msgpack_pack_uint64(&e.pk, m->prp_bytes);
	msgpack_pack_uint64(&e.pk, m->prp_messages);
	msgpack_pack_array(&e.pk, PROTO_DIRC_MAX);
	for (int i = 0; i < PROTO_DIRC_MAX; i++)
		msgpack_pack_uint64(&e.pk, m->prp_dir[i]);
	msgpack_pack_array(&e.pk, PROTO_EVC_MAX);
	for (int i = 0; i < PROTO_EVC_MAX; i++)
		msgpack_pack_uint64(&e.pk, m->prp_ev[i]);
	msgpack_pack_array(&e.pk, PROTO_HIST_MAX * PROTO_HIST_SLOTS);
	for (int i = 0; i < PROTO_HIST_MAX; i++) {
		for (int k = 0; k < PROTO_HIST_SLOTS; k++)
			msgpack_pack_uint64(&e.pk, m->prp_hist[i][k]);
	}
	return (pe_end(&e));
}

int
proto_enc_status_req(msgpack_sbuffer *sb, const struct proto_status_req *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_STATUS_REQ, 1);
	msgpack_pack_uint64(&e.pk, m->psq_qid);
	return (pe_end(&e));
}

int
proto_enc_status_reply(msgpack_sbuffer *sb, const struct proto_status_reply *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_STATUS_REPLY, 3);
	msgpack_pack_uint64(&e.pk, m->psr_qid);
	if (m->psr_more)
		msgpack_pack_true(&e.pk);
	else
		msgpack_pack_false(&e.pk);
	msgpack_pack_array(&e.pk, (uint32_t)m->psr_nsessions);
	for (size_t i = 0; i < m->psr_nsessions; i++) {
		const struct proto_session_info *s = &m->psr_sessions[i];

		msgpack_pack_array(&e.pk, 5);
		pe_str(&e, &s->psi_id);
		msgpack_pack_uint32(&e.pk, s->psi_state);
		if (s->psi_has_master)
			msgpack_pack_true(&e.pk);
		else
			msgpack_pack_false(&e.pk);
		if (s->psi_has_slave)
			msgpack_pack_true(&e.pk);
		else
			msgpack_pack_false(&e.pk);
		msgpack_pack_uint64(&e.pk, s->psi_create_ms);
	}
	return (pe_end(&e));
}

int
proto_enc_shutdown(msgpack_sbuffer *sb, const struct proto_shutdown *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_SHUTDOWN, 2);
	msgpack_pack_uint32(&e.pk, m->psd_mode);
	msgpack_pack_uint64(&e.pk, m->psd_timeout_ms);
	return (pe_end(&e));
}

static void
pe_bool(struct penc *e, bool v)
{
	if (v)
		msgpack_pack_true(&e->pk);
	else
		msgpack_pack_false(&e->pk);
}

int
proto_enc_handoff(msgpack_sbuffer *sb, int type, const struct proto_handoff *m)
{
	struct penc e;

	pe_begin(&e, sb, type, 1);
	msgpack_pack_uint32(&e.pk, m->pho_pid);
	return (pe_end(&e));
}

int
proto_enc_session(msgpack_sbuffer *sb, const struct proto_session *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_SESSION, 14);
	pe_str(&e, &m->ps_id);
	msgpack_pack_uint32(&e.pk, m->ps_state);
	msgpack_pack_uint64(&e.pk, m->ps_create_ms);
	msgpack_pack_uint64(&e.pk, m->ps_age_ms);
	msgpack_pack_uint64(&e.pk, m->ps_idle_ms);
	msgpack_pack_uint64(&e.pk, m->ps_wait_in_ms);
	msgpack_pack_uint64(&e.pk, m->ps_bytes);
	msgpack_pack_uint64(&e.pk, m->ps_msgs);
	msgpack_pack_array(&e.pk, m->ps_nconns);
	for (uint32_t i = 0; i < m->ps_nconns && i < PROTO_SESSION_CONNS; i++) {
		const struct proto_conn_state *c = &m->ps_conns[i];

		msgpack_pack_array(&e.pk, 14);
		msgpack_pack_uint32(&e.pk, c->pcs_role);
		pe_str(&e, &c->pcs_reqid);
		pe_str(&e, &c->pcs_peer);
		pe_bool(&e, c->pcs_ping_ok);
		pe_bin(&e, &c->pcs_out);
		pe_bin(&e, &c->pcs_in);
		pe_bin(&e, &c->pcs_frag);
		msgpack_pack_uint32(&e.pk, c->pcs_frag_op);
		msgpack_pack_uint32(&e.pk, c->pcs_frag_utf8);
		msgpack_pack_uint64(&e.pk, c->pcs_rx_age_ms);
		msgpack_pack_uint64(&e.pk, c->pcs_ping_age_ms);
		msgpack_pack_uint64(&e.pk, c->pcs_rx_msgs);
		msgpack_pack_uint64(&e.pk, c->pcs_tx_msgs);
		pe_bool(&e, c->pcs_resume);
	}
	pe_bool(&e, m->ps_resumable);
	msgpack_pack_uint64(&e.pk, m->ps_held_ms);
	msgpack_pack_uint64(&e.pk, m->ps_bytes_s2m);
	pe_str(&e, &m->ps_fp[0]);
	pe_str(&e, &m->ps_fp[1]);
	return (pe_end(&e));
}

int
proto_enc_handoff_ack(msgpack_sbuffer *sb, const struct proto_handoff_ack *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_HANDOFF_ACK, 2);
	pe_str(&e, &m->pha_id);
	pe_bool(&e, m->pha_taken);
	return (pe_end(&e));
}

int
proto_enc_handoff_end(msgpack_sbuffer *sb, const struct proto_handoff_end *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_HANDOFF_END, 1);
	msgpack_pack_uint64(&e.pk, m->phe_moved);
	return (pe_end(&e));
}

int
proto_enc_handoff_done(msgpack_sbuffer *sb, const struct proto_handoff_done *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_HANDOFF_DONE, 4);
	msgpack_pack_uint64(&e.pk, m->phd_moved);
	msgpack_pack_uint64(&e.pk, m->phd_stayed);
	msgpack_pack_uint64(&e.pk, m->phd_failed);
	pe_bool(&e, m->phd_aborted);
	return (pe_end(&e));
}

int
proto_enc_admin_req(msgpack_sbuffer *sb, const struct proto_admin_req *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_ADMIN_REQ, 3);
	msgpack_pack_uint32(&e.pk, m->par_version);
	msgpack_pack_uint32(&e.pk, m->par_command);
	msgpack_pack_int32(&e.pk, m->par_shard);
	return (pe_end(&e));
}

int
proto_enc_admin_reply(msgpack_sbuffer *sb, const struct proto_admin_reply *m)
{
	struct penc e;

	pe_begin(&e, sb, PROTO_ADMIN_REPLY, 4);
	pe_bool(&e, m->pap_done);
	pe_bool(&e, m->pap_ok);
	pe_str(&e, &m->pap_text);
	pe_str(&e, &m->pap_json);
	return (pe_end(&e));
}

/* --- decoding --------------------------------------------------------- */

struct pdec {
	msgpack_unpacked	res;
	const msgpack_object	*a;	/* the current array */
	uint32_t		i;
	char			*err;
	size_t			errlen;
	int			bad;
};

static int
pd_fail(struct pdec *d, const char *what)
{
	if (!d->bad)
		snprintf(d->err, d->errlen, "%s", what);
	d->bad = 1;
	return (-1);
}

/* The n-byte big-endian number at p. */
static uint64_t
pd_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return (v);
}

/*
 * msgpack_unpack_next() allocates room for all the elements an array or
 * map declares as soon as it reads its header, so five bytes declaring
 * 2^31 elements would cost it gigabytes before it finds the input short.
 * So first walk the headers of the first value in p[0..len) (skipping
 * string, binary and extension payloads): each element still owed needs
 * at least one byte, so a value owing more elements than there are bytes
 * left is refused.  What msgpack then allocates is bounded by the body's
 * size.  Returns NULL, or why the body is refused.
 */
static const char *
pd_precheck(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	uint64_t owed = 1;	/* values still to come */

	while (owed > 0) {
		uint8_t c;
		size_t lenbytes = 0;	/* size of a length or count field */
		uint64_t fixed = 0;	/* payload bytes besides a length */
		int kind = 0;		/* 0 scalar, 1 bytes, 2 array, 3 map */
		uint64_t v;

		if (pos >= len)
			return ("not a msgpack value");
		if (owed > len - pos)
			return ("an array or map declares more elements "
			    "than the message holds");
		c = p[pos];
		owed--;
		if (c <= 0x7f || c >= 0xe0) {
			pos++;				/* fixint */
			continue;
		}
		if (c <= 0x8f) {			/* fixmap */
			owed += 2 * (uint64_t)(c & 0x0f);
			pos++;
			continue;
		}
		if (c <= 0x9f) {			/* fixarray */
			owed += c & 0x0f;
			pos++;
			continue;
		}
		if (c <= 0xbf) {			/* fixstr */
			fixed = c & 0x1f;
		} else {
			switch (c) {
			case 0xc0: case 0xc2: case 0xc3:	/* nil, bool */
				break;
			case 0xc4: case 0xd9:		/* bin 8, str 8 */
				lenbytes = 1, kind = 1;
				break;
			case 0xc5: case 0xda:		/* bin 16, str 16 */
				lenbytes = 2, kind = 1;
				break;
			case 0xc6: case 0xdb:		/* bin 32, str 32 */
				lenbytes = 4, kind = 1;
				break;
			case 0xc7: case 0xc8: case 0xc9:	/* ext 8/16/32 */
				lenbytes = (size_t)1 << (c - 0xc7);
				fixed = 1, kind = 1;
				break;
			case 0xca: case 0xcb:		/* float 32/64 */
				fixed = c == 0xca ? 4 : 8;
				break;
			case 0xcc: case 0xcd: case 0xce: case 0xcf:
				fixed = (uint64_t)1 << (c - 0xcc);	/* uint */
				break;
			case 0xd0: case 0xd1: case 0xd2: case 0xd3:
				fixed = (uint64_t)1 << (c - 0xd0);	/* int */
				break;
			case 0xd4: case 0xd5: case 0xd6: case 0xd7:
			case 0xd8:			/* fixext 1..16 */
				fixed = 1 + ((uint64_t)1 << (c - 0xd4));
				break;
			case 0xdc: case 0xdd:		/* array 16/32 */
				lenbytes = c == 0xdc ? 2 : 4, kind = 2;
				break;
			case 0xde: case 0xdf:		/* map 16/32 */
				lenbytes = c == 0xde ? 2 : 4, kind = 3;
				break;
			default:			/* 0xc1: never used */
				return ("not a msgpack value");
			}
		}
		pos++;
		if (lenbytes > len - pos)
			return ("not a msgpack value");
		v = pd_be(p + pos, lenbytes);
		pos += lenbytes;
		if (kind == 1)
			fixed += v;
		else if (kind == 2)
			owed += v;
		else if (kind == 3)
			owed += 2 * v;
		if (fixed > len - pos)
			return ("not a msgpack value");
		pos += (size_t)fixed;
	}
	return (NULL);
}

/* Unpack the body: one array of 1 + nfields elements led by type. */
static int
pd_begin(struct pdec *d, const uint8_t *body, size_t len, int type,
    uint32_t nfields, char *err, size_t errlen)
{
	size_t off = 0;
	msgpack_unpack_return r;
	const char *why;

	d->err = err;
	d->errlen = errlen;
	d->bad = 0;
	d->i = 1;
	d->a = NULL;
	msgpack_unpacked_init(&d->res);
	if ((why = pd_precheck(body, len)) != NULL)
		return (pd_fail(d, why));
	r = msgpack_unpack_next(&d->res, (const char *)body, len, &off);
	if (r != MSGPACK_UNPACK_SUCCESS)
		return (pd_fail(d, "not a msgpack value"));
	if (off != len)
		return (pd_fail(d, "trailing bytes after the message"));
	if (d->res.data.type != MSGPACK_OBJECT_ARRAY ||
	    d->res.data.via.array.size == 0)
		return (pd_fail(d, "message is not a non-empty array"));
	d->a = &d->res.data;
	if (d->a->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    d->a->via.array.ptr[0].via.u64 != (uint64_t)type)
		return (pd_fail(d, "unexpected message type"));
	if (d->a->via.array.size != 1 + nfields)
		return (pd_fail(d, "wrong number of fields"));
	return (0);
}

static const msgpack_object *
pd_next(struct pdec *d)
{
	if (d->bad || d->a == NULL || d->i >= d->a->via.array.size) {
		pd_fail(d, "missing field");
		return (NULL);
	}
	return (&d->a->via.array.ptr[d->i++]);
}

static uint64_t
pd_uint(struct pdec *d, uint64_t max)
{
	const msgpack_object *o = pd_next(d);

	if (o == NULL)
		return (0);
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		pd_fail(d, "field is not an unsigned integer");
		return (0);
	}
	if (o->via.u64 > max) {
		pd_fail(d, "field out of range");
		return (0);
	}
	return (o->via.u64);
}

static int64_t
pd_int(struct pdec *d, int64_t min, int64_t max)
{
	const msgpack_object *o = pd_next(d);
	int64_t v;

	if (o == NULL)
		return (0);
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)INT64_MAX) {
			pd_fail(d, "field out of range");
			return (0);
		}
		v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		pd_fail(d, "field is not an integer");
		return (0);
	}
	if (v < min || v > max) {
		pd_fail(d, "field out of range");
		return (0);
	}
	return (v);
}

static bool
pd_bool(struct pdec *d)
{
	const msgpack_object *o = pd_next(d);

	if (o == NULL)
		return (false);
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		pd_fail(d, "field is not a boolean");
		return (false);
	}
	return (o->via.boolean);
}

static struct proto_str
pd_str(struct pdec *d, int type)
{
	const msgpack_object *o = pd_next(d);
	struct proto_str s = { "", 0 };

	if (o == NULL)
		return (s);
	if (o->type != (msgpack_object_type)type) {
		pd_fail(d, type == MSGPACK_OBJECT_STR ?
		    "field is not a string" : "field is not binary");
		return (s);
	}
	if (type == MSGPACK_OBJECT_STR) {
		s.ps_p = o->via.str.ptr;
		s.ps_n = o->via.str.size;
	} else {
		s.ps_p = o->via.bin.ptr;
		s.ps_n = o->via.bin.size;
	}
	return (s);
}

static int
pd_end(struct pdec *d)
{
	msgpack_unpacked_destroy(&d->res);
	return (d->bad ? -1 : 0);
}

/* The fields of one attach, at the decoder's cursor. */
static void
pd_attach(struct pdec *d, struct proto_attach *m)
{
	m->pa_req_id = pd_str(d, MSGPACK_OBJECT_STR);
	m->pa_session = pd_str(d, MSGPACK_OBJECT_STR);
	m->pa_role = (uint32_t)pd_uint(d, 2);
	m->pa_head = pd_str(d, MSGPACK_OBJECT_BIN);
	m->pa_peer = pd_str(d, MSGPACK_OBJECT_STR);
	m->pa_accept_ms = pd_uint(d, UINT64_MAX);
	m->pa_flags = (uint32_t)pd_uint(d, PROTO_ATTACH_FLAGS);
	if (!d->bad && m->pa_role == 0)
		pd_fail(d, "role out of range");
	if (!d->bad && m->pa_session.ps_n == 0)
		pd_fail(d, "empty session id");
}

/* The number of fields the body's array header declares (type aside). */
static uint32_t
pd_nfields(const uint8_t *b, size_t len)
{
	uint64_t k;

	if (len >= 1 && (b[0] & 0xf0) == 0x90)
		k = b[0] & 0x0f;
	else if (len >= 3 && b[0] == 0xdc)
		k = ((uint64_t)b[1] << 8) | b[2];
	else if (len >= 5 && b[0] == 0xdd)
		k = ((uint64_t)b[1] << 24) | ((uint64_t)b[2] << 16) |
		    ((uint64_t)b[3] << 8) | b[4];
	else
		return (0);
	return (k == 0 || k - 1 > UINT32_MAX ? 0 : (uint32_t)(k - 1));
}

int
proto_type(const uint8_t *body, size_t len)
{
	/*
	 * Peek without a full unpack: a fixarray or array16/32 header, then
	 * a positive fixint.
	 */
	size_t i;

	if (len < 2)
		return (PROTO_INVALID);
	if ((body[0] & 0xf0) == 0x90)
		i = 1;
	else if (body[0] == 0xdc)
		i = 3;
	else if (body[0] == 0xdd)
		i = 5;
	else
		return (PROTO_INVALID);
	if (i >= len || body[i] >= 0x80 || body[i] == PROTO_INVALID ||
	    body[i] >= PROTO_MAX)
		return (PROTO_INVALID);
	return (body[i]);
}

int
proto_dec_config(const uint8_t *b, size_t n, struct proto_config *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_CONFIG, 24, err, errlen) == 0) {
		m->pc_version = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pc_shard = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pc_nshards = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pc_log_level = (uint32_t)pd_uint(&d, 100);
		m->pc_pairing_ms = pd_uint(&d, UINT64_MAX);
		m->pc_idle_ms = pd_uint(&d, UINT64_MAX);
		m->pc_close_ms = pd_uint(&d, UINT64_MAX);
		m->pc_ping_ms = pd_uint(&d, UINT64_MAX);
		m->pc_wait_ms = pd_uint(&d, UINT64_MAX);
		m->pc_shutdown_ms = pd_uint(&d, UINT64_MAX);
		m->pc_max_message = pd_uint(&d, UINT64_MAX);
		m->pc_out_high = pd_uint(&d, UINT64_MAX);
		m->pc_out_low = pd_uint(&d, UINT64_MAX);
		m->pc_max_id = pd_uint(&d, UINT64_MAX);
		m->pc_max_sessions = pd_uint(&d, UINT64_MAX);
		m->pc_max_per_addr = pd_uint(&d, UINT64_MAX);
		m->pc_clock_skew_ms = pd_uint(&d, UINT64_MAX);
		m->pc_presign_max_ms = pd_uint(&d, UINT64_MAX);
		m->pc_keys_dir = pd_str(&d, MSGPACK_OBJECT_STR);
		m->pc_secret = pd_str(&d, MSGPACK_OBJECT_BIN);
		m->pc_token_ttl_ms = pd_uint(&d, UINT64_MAX);
		m->pc_directory = pd_str(&d, MSGPACK_OBJECT_STR);
		m->pc_advertise = pd_str(&d, MSGPACK_OBJECT_STR);
		m->pc_claim_ttl_ms = pd_uint(&d, UINT64_MAX);
		if (!d.bad && (m->pc_nshards == 0 ||
		    m->pc_shard >= m->pc_nshards))
			pd_fail(&d, "shard out of range");
	}
	return (pd_end(&d));
}

int
proto_dec_ready(const uint8_t *b, size_t n, struct proto_ready *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_READY, 4, err, errlen) == 0) {
		m->pr_version = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pr_pid = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pr_shard = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->pr_software = pd_str(&d, MSGPACK_OBJECT_STR);
	}
	return (pd_end(&d));
}

int
proto_dec_attach(const uint8_t *b, size_t n, struct proto_attach *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_ATTACH, PROTO_ATTACH_FIELDS, err,
	    errlen) == 0)
		pd_attach(&d, m);
	return (pd_end(&d));
}

int
proto_dec_attach_batch(const uint8_t *b, size_t n,
    struct proto_attach_batch *m, char *err, size_t errlen)
{
	struct pdec d;
	uint32_t k;

	memset(m, 0, sizeof (*m));
	/* How many: from the array header, checked again by pd_begin(). */
	k = pd_nfields(b, n);
	if (k % PROTO_ATTACH_FIELDS != 0 || k / PROTO_ATTACH_FIELDS < 2 ||
	    k / PROTO_ATTACH_FIELDS > PROTO_BATCH_MAX)
		k = 0;		/* pd_begin() refuses it */
	if (pd_begin(&d, b, n, PROTO_ATTACH_BATCH, k, err, errlen) == 0) {
		if (k == 0)
			pd_fail(&d, "wrong number of fields");
		m->pab_n = k / PROTO_ATTACH_FIELDS;
		for (uint32_t i = 0; i < m->pab_n && !d.bad; i++)
			pd_attach(&d, &m->pab_a[i]);
	}
	if (d.bad)
		m->pab_n = 0;
	return (pd_end(&d));
}

/* The next field: an array of exactly n unsigned integers, into out. */
static void
pd_counts(struct pdec *d, uint64_t *out, int n, const char *notarray,
    const char *notuint)
{
	const msgpack_object *o = pd_next(d);

	if (o == NULL)
		return;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size !=
	    (uint32_t)n) {
		(void) pd_fail(d, notarray);
		return;
	}
	for (int i = 0; i < n; i++) {
		const msgpack_object *c = &o->via.array.ptr[i];

		if (c->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
			(void) pd_fail(d, notuint);
			return;
		}
		out[i] = c->via.u64;
	}
}

int
proto_dec_report(const uint8_t *b, size_t n, struct proto_report *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_REPORT, 7, err, errlen) == 0) {
		pd_counts(&d, m->prp_sessions, PROTO_REPORT_STATES,
		    "session counts are not an array of 4",
		    "session count is not an unsigned integer");
		m->prp_conns = pd_uint(&d, UINT64_MAX);
		m->prp_bytes = pd_uint(&d, UINT64_MAX);
		m->prp_messages = pd_uint(&d, UINT64_MAX);
		pd_counts(&d, m->prp_dir, PROTO_DIRC_MAX,
		    "directory counters are not an array of their number",
		    "directory counter is not an unsigned integer");
		pd_counts(&d, m->prp_ev, PROTO_EVC_MAX,
		    "event counters are not an array of their number",
		    "event counter is not an unsigned integer");
		pd_counts(&d, &m->prp_hist[0][0],
		    PROTO_HIST_MAX * PROTO_HIST_SLOTS,
		    "histograms are not an array of their slots",
		    "histogram count is not an unsigned integer");
	}
	return (pd_end(&d));
}

int
proto_dec_status_req(const uint8_t *b, size_t n, struct proto_status_req *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_STATUS_REQ, 1, err, errlen) == 0)
		m->psq_qid = pd_uint(&d, UINT64_MAX);
	return (pd_end(&d));
}

int
proto_dec_status_reply(const uint8_t *b, size_t n,
    struct proto_status_reply *m, char *err, size_t errlen)
{
	struct pdec d;
	const msgpack_object *o;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_STATUS_REPLY, 3, err, errlen) != 0)
		return (pd_end(&d));
	m->psr_qid = pd_uint(&d, UINT64_MAX);
	m->psr_more = pd_bool(&d);
	o = pd_next(&d);
	if (o != NULL && o->type != MSGPACK_OBJECT_ARRAY)
		pd_fail(&d, "sessions is not an array");
	if (d.bad)
		return (pd_end(&d));
	if (o->via.array.size > 0) {
		m->psr_sessions = calloc(o->via.array.size,
		    sizeof (struct proto_session_info));
		if (m->psr_sessions == NULL) {
			pd_fail(&d, "out of memory");
			return (pd_end(&d));
		}
	}
	m->psr_nsessions = o->via.array.size;
	for (uint32_t k = 0; k < o->via.array.size && !d.bad; k++) {
		const msgpack_object *e = &o->via.array.ptr[k];
		struct proto_session_info *s = &m->psr_sessions[k];
		const msgpack_object *save = d.a;
		uint32_t savei = d.i;

		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 5) {
			pd_fail(&d, "session entry is not an array of 5");
			break;
		}
		d.a = e;
		d.i = 0;
		s->psi_id = pd_str(&d, MSGPACK_OBJECT_STR);
		s->psi_state = (uint32_t)pd_uint(&d, SSTATE_MAX - 1);
		s->psi_has_master = pd_bool(&d);
		s->psi_has_slave = pd_bool(&d);
		s->psi_create_ms = pd_uint(&d, UINT64_MAX);
		d.a = save;
		d.i = savei;
	}
	if (d.bad) {
		free(m->psr_sessions);
		m->psr_sessions = NULL;
		m->psr_nsessions = 0;
	}
	return (pd_end(&d));
}

int
proto_dec_shutdown(const uint8_t *b, size_t n, struct proto_shutdown *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_SHUTDOWN, 2, err, errlen) == 0) {
		m->psd_mode = (uint32_t)pd_uint(&d, PROTO_SHUTDOWN_DRAIN);
		m->psd_timeout_ms = pd_uint(&d, UINT64_MAX);
		if (!d.bad && m->psd_mode == 0)
			pd_fail(&d, "shutdown mode out of range");
	}
	return (pd_end(&d));
}

int
proto_dec_handoff(const uint8_t *b, size_t n, int type,
    struct proto_handoff *m, char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (type != PROTO_HANDOFF && type != PROTO_HANDIN) {
		snprintf(err, errlen, "not a handoff type");
		return (-1);
	}
	if (pd_begin(&d, b, n, type, 1, err, errlen) == 0)
		m->pho_pid = (uint32_t)pd_uint(&d, UINT32_MAX);
	return (pd_end(&d));
}

int
proto_dec_session(const uint8_t *b, size_t n, struct proto_session *m,
    char *err, size_t errlen)
{
	struct pdec d;
	const msgpack_object *o;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_SESSION, 14, err, errlen) != 0)
		return (pd_end(&d));
	m->ps_id = pd_str(&d, MSGPACK_OBJECT_STR);
	m->ps_state = (uint32_t)pd_uint(&d, SSTATE_FORWARDING);
	m->ps_create_ms = pd_uint(&d, UINT64_MAX);
	m->ps_age_ms = pd_uint(&d, UINT64_MAX);
	m->ps_idle_ms = pd_uint(&d, UINT64_MAX);
	m->ps_wait_in_ms = pd_uint(&d, UINT64_MAX);
	m->ps_bytes = pd_uint(&d, UINT64_MAX);
	m->ps_msgs = pd_uint(&d, UINT64_MAX);
	o = pd_next(&d);
	if (o != NULL && (o->type != MSGPACK_OBJECT_ARRAY ||
	    o->via.array.size < 1 || o->via.array.size > PROTO_SESSION_CONNS))
		pd_fail(&d, "conns is not an array of 1 or 2");
	if (d.bad)
		return (pd_end(&d));
	if (m->ps_id.ps_n == 0)
		pd_fail(&d, "empty session id");
	m->ps_nconns = o->via.array.size;
	for (uint32_t k = 0; k < m->ps_nconns && !d.bad; k++) {
		const msgpack_object *e = &o->via.array.ptr[k];
		struct proto_conn_state *c = &m->ps_conns[k];
		const msgpack_object *save = d.a;
		uint32_t savei = d.i;

		if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 14) {
			pd_fail(&d, "conn entry is not an array of 14");
			break;
		}
		d.a = e;
		d.i = 0;
		c->pcs_role = (uint32_t)pd_uint(&d, 2);
		c->pcs_reqid = pd_str(&d, MSGPACK_OBJECT_STR);
		c->pcs_peer = pd_str(&d, MSGPACK_OBJECT_STR);
		c->pcs_ping_ok = pd_bool(&d);
		c->pcs_out = pd_str(&d, MSGPACK_OBJECT_BIN);
		c->pcs_in = pd_str(&d, MSGPACK_OBJECT_BIN);
		c->pcs_frag = pd_str(&d, MSGPACK_OBJECT_BIN);
		c->pcs_frag_op = (uint32_t)pd_uint(&d, 2);
		c->pcs_frag_utf8 = (uint32_t)pd_uint(&d, 0xff);
		c->pcs_rx_age_ms = pd_uint(&d, UINT64_MAX);
		c->pcs_ping_age_ms = pd_uint(&d, UINT64_MAX);
		c->pcs_rx_msgs = pd_uint(&d, UINT64_MAX);
		c->pcs_tx_msgs = pd_uint(&d, UINT64_MAX);
		c->pcs_resume = pd_bool(&d);
		if (!d.bad && c->pcs_role == 0)
			pd_fail(&d, "conn role out of range");
		d.a = save;
		d.i = savei;
	}
	if (!d.bad && m->ps_nconns == 2 &&
	    m->ps_conns[0].pcs_role == m->ps_conns[1].pcs_role)
		pd_fail(&d, "two conns with the same role");
	if (!d.bad) {
		m->ps_resumable = pd_bool(&d);
		m->ps_held_ms = pd_uint(&d, UINT64_MAX);
		m->ps_bytes_s2m = pd_uint(&d, m->ps_bytes);
		m->ps_fp[0] = pd_str(&d, MSGPACK_OBJECT_STR);
		m->ps_fp[1] = pd_str(&d, MSGPACK_OBJECT_STR);
	}
	return (pd_end(&d));
}

int
proto_dec_handoff_ack(const uint8_t *b, size_t n, struct proto_handoff_ack *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_HANDOFF_ACK, 2, err, errlen) == 0) {
		m->pha_id = pd_str(&d, MSGPACK_OBJECT_STR);
		m->pha_taken = pd_bool(&d);
		if (!d.bad && m->pha_id.ps_n == 0)
			pd_fail(&d, "empty session id");
	}
	return (pd_end(&d));
}

int
proto_dec_handoff_end(const uint8_t *b, size_t n, struct proto_handoff_end *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_HANDOFF_END, 1, err, errlen) == 0)
		m->phe_moved = pd_uint(&d, UINT64_MAX);
	return (pd_end(&d));
}

int
proto_dec_handoff_done(const uint8_t *b, size_t n,
    struct proto_handoff_done *m, char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_HANDOFF_DONE, 4, err, errlen) == 0) {
		m->phd_moved = pd_uint(&d, UINT64_MAX);
		m->phd_stayed = pd_uint(&d, UINT64_MAX);
		m->phd_failed = pd_uint(&d, UINT64_MAX);
		m->phd_aborted = pd_bool(&d);
	}
	return (pd_end(&d));
}

int
proto_dec_admin_req(const uint8_t *b, size_t n, struct proto_admin_req *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_ADMIN_REQ, 3, err, errlen) == 0) {
		m->par_version = (uint32_t)pd_uint(&d, UINT32_MAX);
		m->par_command = (uint32_t)pd_uint(&d, ADMIN_CMD_MAX);
		m->par_shard = (int32_t)pd_int(&d, -1, INT32_MAX);
		if (!d.bad && m->par_command == 0)
			pd_fail(&d, "admin command out of range");
	}
	return (pd_end(&d));
}

int
proto_dec_admin_reply(const uint8_t *b, size_t n, struct proto_admin_reply *m,
    char *err, size_t errlen)
{
	struct pdec d;

	memset(m, 0, sizeof (*m));
	if (pd_begin(&d, b, n, PROTO_ADMIN_REPLY, 4, err, errlen) == 0) {
		m->pap_done = pd_bool(&d);
		m->pap_ok = pd_bool(&d);
		m->pap_text = pd_str(&d, MSGPACK_OBJECT_STR);
		m->pap_json = pd_str(&d, MSGPACK_OBJECT_STR);
	}
	return (pd_end(&d));
}

void
proto_status_reply_free(struct proto_status_reply *m)
{
	free(m->psr_sessions);
	m->psr_sessions = NULL;
	m->psr_nsessions = 0;
}

const char *
proto_type_name(int type)
{
	static const char *names[PROTO_MAX] = {
		"INVALID", "CONFIG", "READY", "ATTACH", "REPORT",
		"STATUS_REQ", "STATUS_REPLY", "SHUTDOWN", "HANDOFF", "HANDIN",
		"SESSION", "HANDOFF_END", "HANDOFF_DONE", "ADMIN_REQ",
		"ADMIN_REPLY", "HANDOFF_ACK", "ATTACH_BATCH"
	};

	if (type < 0 || type >= PROTO_MAX)
		return ("unknown");
	return (names[type]);
}

const char *
proto_dirc_name(int counter)
{
	static const char *names[PROTO_DIRC_MAX] = {
		"directory_requests", "directory_errors",
		"directory_timeouts", "directory_connects", "claims",
		"claim_takeovers", "claims_other_host", "claim_refreshes",
		"claim_releases", "forwards_in", "forwards_refused",
		"forwards_out", "forwards_failed"
	};

	if (counter < 0 || counter >= PROTO_DIRC_MAX)
		return ("unknown");
	return (names[counter]);
}

const struct proto_evc_desc *
proto_evc_desc(int counter)
{
#define	ATT(r, v)	{ "medusa_worker_attaches_total", "Attaches the " \
	"workers answered, by role and HTTP status (101: upgraded)", "role", \
	r, "status", v }
#define	END(by, why)	{ "medusa_sessions_ended_total", "Sessions " \
	"ended, by who closed and why", "closed_by", by, "cause", why }
#define	AUTH(v)	{ "medusa_auth_refusals_total", "Credentials refused, " \
	"by cause", "cause", v }
#define	RES(v)	{ "medusa_resume_refusals_total", "Resume attaches " \
	"refused, by cause", "cause", v }
	static const struct proto_evc_desc d[PROTO_EVC_MAX] = {
		ATT("master", "101"), ATT("master", "400"),
		ATT("master", "401"), ATT("master", "403"),
		ATT("master", "404"), ATT("master", "409"),
		ATT("master", "410"), ATT("master", "503"),
		ATT("master", "other"),
		ATT("slave", "101"), ATT("slave", "400"), ATT("slave", "401"),
		ATT("slave", "403"), ATT("slave", "404"), ATT("slave", "409"),
		ATT("slave", "410"), ATT("slave", "503"), ATT("slave", "other"),
		{ "medusa_sessions_linked_total", "Sessions linked up (both "
		    "sides joined; counted once)", NULL, NULL },
		END("master", "closed"), END("slave", "closed"),
		END("master", "lost"), END("slave", "lost"),
		END("reflector", "pairing_timeout"),
		END("reflector", "idle_timeout"),
		END("reflector", "shutdown"), END("reflector", "yield"),
		{ "medusa_session_bytes_total", "Payload bytes relayed, by "
		    "direction", "direction", "master_to_slave" },
		{ "medusa_session_bytes_total", NULL, "direction",
		    "slave_to_master" },
		{ "medusa_session_messages_total", "Messages relayed, by "
		    "direction", "direction", "master_to_slave" },
		{ "medusa_session_messages_total", NULL, "direction",
		    "slave_to_master" },
		AUTH("missing"), AUTH("invalid"), AUTH("bad_keyid"),
		AUTH("no_key"), AUTH("bad_algorithm"), AUTH("bad_signature"),
		AUTH("clock_skew"), AUTH("expired"), AUTH("too_far"),
		AUTH("other_account"),
		{ "medusa_resumes_total", "Resume attaches taken (a side "
		    "came back with its token)", NULL, NULL },
		RES("invalid"), RES("expired"), RES("session_ended"),
	};
#undef	ATT
#undef	END
#undef	AUTH
#undef	RES

	if (counter < 0 || counter >= PROTO_EVC_MAX)
		return (NULL);
	return (&d[counter]);
}

const double *
proto_hist_bounds(int hist, size_t *nb)
{
	static const double linkup[] = { 0.005, 0.01, 0.025, 0.05, 0.1,
	    0.25, 0.5, 1, 2.5, 5, 10 };
	static const double duration[] = { 1, 10, 30, 60, 300, 900, 1800,
	    3600, 14400, 43200, 86400 };
	static const double handoff[] = { 0.001, 0.0025, 0.005, 0.01,
	    0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5 };
	_Static_assert(sizeof (linkup) / sizeof (double) <=
	    PROTO_HIST_BOUNDS && sizeof (duration) / sizeof (double) <=
	    PROTO_HIST_BOUNDS && sizeof (handoff) / sizeof (double) <=
	    PROTO_HIST_BOUNDS, "histogram bounds fit REPORT");

	switch (hist) {
	case PROTO_HIST_LINKUP:
		*nb = sizeof (linkup) / sizeof (double);
		return (linkup);
	case PROTO_HIST_DURATION:
		*nb = sizeof (duration) / sizeof (double);
		return (duration);
	case PROTO_HIST_HANDOFF:
		*nb = sizeof (handoff) / sizeof (double);
		return (handoff);
	default:
		*nb = 0;
		return (NULL);
	}
}

/* The bucket slot of a value: the first bound >= it, else nb (above). */
int
proto_hist_slot(int hist, double seconds)
{
	size_t nb, i;
	const double *b = proto_hist_bounds(hist, &nb);

	for (i = 0; i < nb; i++) {
		if (seconds <= b[i])
			break;
	}
	return ((int)i);
}

const char *
proto_sstate_name(int state)
{
	static const char *names[SSTATE_MAX] = {
		"master_wait", "slave_wait", "forwarding", "closing",
		"post_destroy"
	};

	if (state < 0 || state >= SSTATE_MAX)
		return ("unknown");
	return (names[state]);
}
