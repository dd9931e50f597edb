/*
 * proto.h: the supervisor <-> worker control protocol.  This header is the
 * whole of it.
 *
 * Transport.  Each worker has one SOCK_STREAM UNIX socketpair with the
 * supervisor (the worker's end is its descriptor 3).  A message is a frame:
 * a 4-byte big-endian length, then that many bytes of msgpack: an array
 * whose first element is the message type and whose other elements are the
 * fields below, in order.  A frame longer than PROTO_FRAME_MAX, an unknown
 * type, a field of the wrong type, a missing field or a byte left over after
 * the array is the sender's fault: the receiver logs it and drops the peer
 * (the supervisor kills and restarts the worker; a worker exits).
 *
 * Descriptors.  A message that carries descriptors (ATTACH, HANDOFF,
 * HANDIN, SESSION) sends them with SCM_RIGHTS in the same sendmsg() as the
 * frame's first byte, and that sendmsg() carries no other message's bytes.
 * The receiver gives each message the descriptors that came with the read
 * holding its first byte (ctlchan.h says why that is exact).  The sender
 * closes its copy only once sendmsg() has succeeded; if the message was
 * never sent the sender still owns the descriptor.
 *
 * Versions.  The supervisor's first message is CONFIG, and the worker's
 * first is READY; each carries PROTO_VERSION, and a peer with another
 * version is refused (the worker exits with status 3; the supervisor kills
 * a worker that reports another).  Changing any message below means bumping
 * PROTO_VERSION.
 *
 *	type		way	fields
 *	CONFIG		s->w	version, shard, nshards, log_level,
 *				pairing_ms, idle_ms, close_ms, ping_ms,
 *				wait_ms, shutdown_ms, max_message, out_high,
 *				out_low, max_id, max_sessions,
 *				max_per_addr (established connections from
 *				one address, 0: no limit), clock_skew_ms and
 *				presign_max_ms (credentials: a signed Date's
 *				distance from now, a presigned URL's expiry
 *				ahead), keys_dir (str, absolute: the
 *				accounts' public keys), secret (bin: the
 *				deployment's, for resume tokens), token_ttl_ms,
 *				directory (str: the session directory's redis
 *				URL, "": none), advertise (str: this host's
 *				address for the others), claim_ttl_ms;
 *				sent again later to change settings live
 *	READY		w->s	version, pid, shard, software version (str)
 *	ATTACH		s->w	request id (str), session id (str), role,
 *				head (bin: the bytes read so far), peer
 *				address (str), accept time (ms since epoch),
 *				flags (PROTO_ATTACH_*); carries 1
 *				descriptor: the client's socket.  The session
 *				id is the worker's key for the session:
 *				"<account>/<id>" for a path that names an
 *				account (where accounts are told apart), else
 *				"<id>"
 *	ATTACH_BATCH	s->w	2..PROTO_BATCH_MAX attaches in one message:
 *				the seven fields of ATTACH for each in turn
 *				(7 x N fields); carries N descriptors, the
 *				i-th for the i-th attach.  The supervisor
 *				sends what it accepted for one worker in one
 *				loop iteration this way: one sendmsg() and
 *				one recvmsg() instead of N of each
 *	REPORT		w->s	[master_wait, slave_wait, forwarding,
 *				closing] session counts, connections,
 *				bytes relayed, messages relayed,
 *				[PROTO_DIRC_MAX] the session directory's
 *				counters (enum proto_dirc),
 *				[PROTO_EVC_MAX] the worker's event
 *				counters (enum proto_evc), and
 *				[PROTO_HIST_MAX x PROTO_HIST_SLOTS] its
 *				histograms (enum proto_hist: bucket
 *				counts, then the sum in ms); all running
 *				totals since the worker started
 *	STATUS_REQ	s->w	query id
 *	STATUS_REPLY	w->s	query id, more (bool), sessions: array of
 *				[id, state, has_master, has_slave,
 *				create time (ms since epoch)]; a worker with
 *				many sessions sends several replies, all but
 *				the last with more = true
 *	SHUTDOWN	s->w	mode: 1 close every session with 1001 and
 *				exit; 2 take no new sessions, exit when the
 *				last one ends; timeout_ms: then close what is
 *				left with 1001 (0: no limit)
 *
 * Live handoff (a rolling restart).  The supervisor makes a socketpair and
 * gives one end to the worker that is leaving (HANDOFF) and the other to
 * its successor (HANDIN); the two then speak directly, with the same
 * framing, and no session's socket passes through the supervisor:
 *
 *	HANDOFF		s->w	the successor's pid; carries 1 descriptor:
 *				send your live sessions through it
 *	HANDIN		s->w	the predecessor's pid; carries 1 descriptor:
 *				take sessions from it
 *	SESSION		w->w	a whole session (struct proto_session below);
 *				carries 1 descriptor per connection, in the
 *				order of its conns array
 *	HANDOFF_ACK	w->w	session id, taken (bool).  Taken: the
 *				successor has it and has not yet touched its
 *				sockets; only now may the sender let the
 *				session go.  Not taken: the successor could
 *				not (its sockets were lost on the way, or it
 *				has no room); it closed its copies and the
 *				sender keeps serving the session
 *	HANDOFF_END	w->w	sessions moved: there are no more
 *	HANDOFF_DONE	w->s	moved, stayed (could not be moved: they end
 *				where they are), failed (of those that
 *				stayed, how many should have moved but could
 *				not: too big to send, refused), aborted
 *				(bool: the successor went away)
 *
 * Administration (medusactl <-> supervisor, on the admin socket):
 *
 *	ADMIN_REQ	c->s	version, command (ADMIN_*), shard (-1: all)
 *	ADMIN_REPLY	s->c	done (bool), ok (bool), text (str), json (str,
 *				may be empty); a restart sends one reply per
 *				step, done = false, then a last with done.
 *				A JSON document longer than
 *				PROTO_ADMIN_JSON_CHUNK comes in pieces of
 *				that size, each in a reply with done = false
 *				and no text, then the rest in the last reply;
 *				the client joins the json of every reply up to
 *				the last.  A document too big for the
 *				supervisor's queue gets a last reply with
 *				ok = false and why, instead of silence.
 */
#ifndef MEDUSA_PROTO_H
#define MEDUSA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "fdpass.h"

#define	PROTO_VERSION		10
#define	PROTO_FRAME_MAX		(16u * 1024 * 1024)
#define	PROTO_STATUS_CHUNK	500	/* sessions per STATUS_REPLY */
/*
 * The supervisor has at most this many status queries under way at once,
 * so a worker never needs to keep more waiting (worker/status.c).
 */
#define	PROTO_STATUS_QUERIES	64
/* JSON bytes in one ADMIN_REPLY, at most (see ADMIN_REPLY above). */
#define	PROTO_ADMIN_JSON_CHUNK	(4u * 1024 * 1024)
_Static_assert(PROTO_ADMIN_JSON_CHUNK <= PROTO_FRAME_MAX / 2,
    "an ADMIN_REPLY's JSON and its text fit a frame");

enum proto_type {
	PROTO_INVALID = 0,
	PROTO_CONFIG,
	PROTO_READY,
	PROTO_ATTACH,
	PROTO_REPORT,
	PROTO_STATUS_REQ,
	PROTO_STATUS_REPLY,
	PROTO_SHUTDOWN,
	PROTO_HANDOFF,
	PROTO_HANDIN,
	PROTO_SESSION,
	PROTO_HANDOFF_END,
	PROTO_HANDOFF_DONE,
	PROTO_ADMIN_REQ,
	PROTO_ADMIN_REPLY,
	PROTO_HANDOFF_ACK,
	PROTO_ATTACH_BATCH,
	PROTO_MAX
};

enum proto_admin_cmd {
	ADMIN_STATUS = 1,
	ADMIN_SESSIONS = 2,
	ADMIN_RESTART = 3,
	ADMIN_DRAIN = 4,
	ADMIN_KEYS = 5,		/* the workers read the keys directory again */
	ADMIN_CMD_MAX = 5
};

/* Session states, as the original names them (docs/PROTOCOL.md section 3). */
enum proto_sstate {
	SSTATE_MASTER_WAIT = 0,
	SSTATE_SLAVE_WAIT = 1,
	SSTATE_FORWARDING = 2,
	SSTATE_CLOSING = 3,
	SSTATE_POST_DESTROY = 4,
	SSTATE_MAX
};

/*
 * REPORT counts the sessions in each state a session is in while it
 * lives: master_wait, slave_wait, forwarding and closing.
 */
#define	PROTO_REPORT_STATES	(SSTATE_CLOSING + 1)
_Static_assert(SSTATE_MASTER_WAIT == 0 && SSTATE_SLAVE_WAIT == 1 &&
    SSTATE_FORWARDING == 2 && SSTATE_CLOSING == 3,
    "REPORT's session counts are indexed by state");

/* REPORT's session directory counters (all 0 without a directory). */
enum proto_dirc {
	PROTO_DIRC_REQUESTS = 0,	/* requests to Redis */
	PROTO_DIRC_ERRORS,		/* no answer: down, time-out, error */
	PROTO_DIRC_TIMEOUTS,
	PROTO_DIRC_CONNECTS,		/* (re)connections made */
	PROTO_DIRC_CLAIMS,		/* sessions claimed for this host */
	PROTO_DIRC_TAKEOVERS,		/* stale claims of this host retaken */
	PROTO_DIRC_CLAIMS_OTHER,	/* claimed by another host */
	PROTO_DIRC_REFRESHES,
	PROTO_DIRC_RELEASES,
	PROTO_DIRC_HOPS_IN,		/* forwarded attaches believed */
	PROTO_DIRC_HOP_REFUSED,		/* ... refused (403/503) */
	PROTO_DIRC_FWD_OUT,		/* attaches forwarded to their host */
	PROTO_DIRC_FWD_FAILED,		/* ... whose host could not be reached */
	PROTO_DIRC_MAX
};

/*
 * REPORT's event counters: what the worker's attaches, sessions,
 * credential checks and resumes came to.  proto_evc_desc() gives each
 * one's metric family and label (supervisor/metrics.c); entries of one
 * family are consecutive.
 */
enum proto_evc {
	/*
	 * Attaches the worker answered, by role and HTTP status: the
	 * master's nine, then the slave's nine in the same order.
	 */
	PROTO_EVC_ATT_101 = 0,
	PROTO_EVC_ATT_400,
	PROTO_EVC_ATT_401,
	PROTO_EVC_ATT_403,
	PROTO_EVC_ATT_404,
	PROTO_EVC_ATT_409,
	PROTO_EVC_ATT_410,
	PROTO_EVC_ATT_503,
	PROTO_EVC_ATT_OTHER,
	PROTO_EVC_ATT_SLAVE,		/* + (the master's entry) */
	PROTO_EVC_ATT_SLAVE_LAST = PROTO_EVC_ATT_SLAVE + PROTO_EVC_ATT_OTHER,
	/*
	 * Sessions linked up (the first linkup); ended, by who closed and
	 * why: a side's CLOSE, a side's connection lost without one (a
	 * reset, an EOF, the liveness bound, a protocol error), or the
	 * reflector's pairing time-out, idle time-out, shutdown, or a
	 * session yielding to the one a handoff brought in.
	 */
	PROTO_EVC_SESS_LINKED,
	PROTO_EVC_END_MASTER_CLOSED,
	PROTO_EVC_END_SLAVE_CLOSED,
	PROTO_EVC_END_MASTER_LOST,
	PROTO_EVC_END_SLAVE_LOST,
	PROTO_EVC_END_PAIRING,
	PROTO_EVC_END_IDLE,
	PROTO_EVC_END_SHUTDOWN,
	PROTO_EVC_END_YIELD,
	/* Relayed, each way. */
	PROTO_EVC_BYTES_M2S,
	PROTO_EVC_BYTES_S2M,
	PROTO_EVC_MSGS_M2S,
	PROTO_EVC_MSGS_S2M,
	/* Credentials refused, by enum auth_code (AUTH_MISSING ...). */
	PROTO_EVC_AUTH_FIRST,
	PROTO_EVC_AUTH_LAST = PROTO_EVC_AUTH_FIRST + 9,
	/* Resume attaches: taken; refused by cause. */
	PROTO_EVC_RESUMED,
	PROTO_EVC_RESUME_INVALID,
	PROTO_EVC_RESUME_EXPIRED,
	PROTO_EVC_RESUME_ENDED,
	PROTO_EVC_MAX
};

/*
 * An event counter's metric: family, help, up to two label names and
 * values.
 */
struct proto_evc_desc {
	const char	*ped_family;
	const char	*ped_help;
	const char	*ped_label;	/* NULL: none */
	const char	*ped_value;
	const char	*ped_label2;	/* NULL: one label at most */
	const char	*ped_value2;
};

/*
 * REPORT's histograms.  Each has fixed bucket bounds (proto_hist_bounds(),
 * at most PROTO_HIST_BOUNDS) and PROTO_HIST_SLOTS counts: one per bucket
 * (not cumulative), the one above every bound, then the sum in ms.
 */
enum proto_hist {
	PROTO_HIST_LINKUP = 0,		/* first side's attach to linkup */
	PROTO_HIST_DURATION,		/* session, made to ended */
	PROTO_HIST_HANDOFF,		/* a handoff's pause, per session */
	PROTO_HIST_MAX
};
#define	PROTO_HIST_BOUNDS	11
#define	PROTO_HIST_SLOTS	(PROTO_HIST_BOUNDS + 2)

enum proto_shutdown_mode {
	PROTO_SHUTDOWN_CLOSE = 1,
	PROTO_SHUTDOWN_DRAIN = 2
};

/* A string or byte span; in decoded messages it points into the frame. */
struct proto_str {
	const char	*ps_p;
	size_t		ps_n;
};

struct proto_config {
	uint32_t	pc_version;
	uint32_t	pc_shard;
	uint32_t	pc_nshards;
	uint32_t	pc_log_level;
	uint64_t	pc_pairing_ms;
	uint64_t	pc_idle_ms;
	uint64_t	pc_close_ms;
	uint64_t	pc_ping_ms;
	uint64_t	pc_wait_ms;
	uint64_t	pc_shutdown_ms;
	uint64_t	pc_max_message;
	uint64_t	pc_out_high;
	uint64_t	pc_out_low;
	uint64_t	pc_max_id;
	uint64_t	pc_max_sessions;
	uint64_t	pc_max_per_addr;
	uint64_t	pc_clock_skew_ms;
	uint64_t	pc_presign_max_ms;
	struct proto_str pc_keys_dir;
	struct proto_str pc_secret;	/* the deployment's: resume tokens */
	uint64_t	pc_token_ttl_ms;
	struct proto_str pc_directory;	/* redis URL; "": none */
	struct proto_str pc_advertise;	/* host:port other hosts dial */
	uint64_t	pc_claim_ttl_ms;
};

struct proto_ready {
	uint32_t	pr_version;
	uint32_t	pr_pid;
	uint32_t	pr_shard;
	struct proto_str pr_software;
};

struct proto_attach {
	struct proto_str pa_req_id;
	struct proto_str pa_session;
	uint32_t	pa_role;	/* route.h ROLE_MASTER / ROLE_SLAVE */
	struct proto_str pa_head;
	struct proto_str pa_peer;
	uint64_t	pa_accept_ms;
	uint32_t	pa_flags;	/* PROTO_ATTACH_* */
};

/* ATTACH flags. */
#define	PROTO_ATTACH_AUTH	0x1	/* check a credential of the account */
#define	PROTO_ATTACH_FLAGS	0x1	/* every flag defined */
#define	PROTO_ATTACH_FIELDS	7

#define	PROTO_BATCH_MAX		16
_Static_assert(PROTO_BATCH_MAX <= FDPASS_MAX,
    "an ATTACH_BATCH's sockets go in one sendmsg()");

struct proto_attach_batch {
	uint32_t	pab_n;		/* 2..PROTO_BATCH_MAX */
	struct proto_attach pab_a[PROTO_BATCH_MAX];
};

struct proto_report {
	uint64_t	prp_sessions[PROTO_REPORT_STATES];	/* by state */
	uint64_t	prp_conns;
	uint64_t	prp_bytes;
	uint64_t	prp_messages;
	uint64_t	prp_dir[PROTO_DIRC_MAX];	/* enum proto_dirc */
	uint64_t	prp_ev[PROTO_EVC_MAX];		/* enum proto_evc */
	uint64_t	prp_hist[PROTO_HIST_MAX][PROTO_HIST_SLOTS];
};

struct proto_status_req {
	uint64_t	psq_qid;
};

struct proto_session_info {
	struct proto_str psi_id;
	uint32_t	psi_state;
	bool		psi_has_master;
	bool		psi_has_slave;
	uint64_t	psi_create_ms;
};

struct proto_status_reply {
	uint64_t	psr_qid;
	bool		psr_more;
	size_t		psr_nsessions;
	struct proto_session_info *psr_sessions; /* malloc'd by the decoder */
};

struct proto_shutdown {
	uint32_t	psd_mode;
	uint64_t	psd_timeout_ms;
};

struct proto_handoff {		/* HANDOFF and HANDIN */
	uint32_t	pho_pid;	/* the other worker */
};

/* One connection of a session in transit; byte spans may be empty. */
struct proto_conn_state {
	uint32_t	pcs_role;
	struct proto_str pcs_reqid;
	struct proto_str pcs_peer;
	bool		pcs_ping_ok;
	struct proto_str pcs_out;	/* queued, not yet written */
	struct proto_str pcs_in;	/* received, not yet parsed */
	struct proto_str pcs_frag;	/* a message reassembled so far */
	uint32_t	pcs_frag_op;
	uint32_t	pcs_frag_utf8;
	uint64_t	pcs_rx_age_ms;	/* since the last frame received */
	uint64_t	pcs_ping_age_ms; /* since our unanswered PING, 0: none */
	uint64_t	pcs_rx_msgs;
	uint64_t	pcs_tx_msgs;
	bool		pcs_resume;	/* its side announced it can resume */
};

#define	PROTO_SESSION_CONNS	2
_Static_assert(PROTO_SESSION_CONNS <= FDPASS_MAX,
    "a SESSION's sockets go in one sendmsg()");

struct proto_session {
	struct proto_str ps_id;
	uint32_t	ps_state;	/* SSTATE_MASTER_WAIT..FORWARDING */
	uint64_t	ps_create_ms;	/* wall clock */
	uint64_t	ps_age_ms;	/* since created */
	uint64_t	ps_idle_ms;	/* since the last message */
	uint64_t	ps_wait_in_ms;	/* to the next "wait" pulse */
	uint64_t	ps_bytes;
	uint64_t	ps_msgs;
	uint32_t	ps_nconns;	/* 1 or 2 */
	struct proto_conn_state ps_conns[PROTO_SESSION_CONNS];
	bool		ps_resumable;	/* both sides said so at its linkup */
	uint64_t	ps_held_ms;	/* wall clock when the old worker held it */
	uint64_t	ps_bytes_s2m;	/* of ps_bytes, slave to master */
	struct proto_str ps_fp[2];	/* master's, slave's key fingerprint */
};

struct proto_handoff_ack {
	struct proto_str pha_id;
	bool		pha_taken;
};

struct proto_handoff_end {
	uint64_t	phe_moved;
};

struct proto_handoff_done {
	uint64_t	phd_moved;
	uint64_t	phd_stayed;
	uint64_t	phd_failed;
	bool		phd_aborted;
};

struct proto_admin_req {
	uint32_t	par_version;
	uint32_t	par_command;	/* ADMIN_* */
	int32_t		par_shard;	/* -1: all */
};

struct proto_admin_reply {
	bool		pap_done;
	bool		pap_ok;
	struct proto_str pap_text;
	struct proto_str pap_json;
};

/*
 * Encoders append one whole frame (length prefix included) to sb.  They
 * return 0, or -1 (errno EMSGSIZE) if the frame would exceed
 * PROTO_FRAME_MAX; sb is then as it was.
 */
int proto_enc_config(msgpack_sbuffer *, const struct proto_config *);
int proto_enc_ready(msgpack_sbuffer *, const struct proto_ready *);
int proto_enc_attach(msgpack_sbuffer *, const struct proto_attach *);
int proto_enc_attach_batch(msgpack_sbuffer *,
    const struct proto_attach_batch *);
int proto_enc_report(msgpack_sbuffer *, const struct proto_report *);
int proto_enc_status_req(msgpack_sbuffer *, const struct proto_status_req *);
int proto_enc_status_reply(msgpack_sbuffer *,
    const struct proto_status_reply *);
int proto_enc_shutdown(msgpack_sbuffer *, const struct proto_shutdown *);
int proto_enc_handoff(msgpack_sbuffer *, int type,
    const struct proto_handoff *);
int proto_enc_session(msgpack_sbuffer *, const struct proto_session *);
int proto_enc_handoff_ack(msgpack_sbuffer *, const struct proto_handoff_ack *);
int proto_enc_handoff_end(msgpack_sbuffer *, const struct proto_handoff_end *);
int proto_enc_handoff_done(msgpack_sbuffer *,
    const struct proto_handoff_done *);
int proto_enc_admin_req(msgpack_sbuffer *, const struct proto_admin_req *);
int proto_enc_admin_reply(msgpack_sbuffer *, const struct proto_admin_reply *);

/*
 * The type of a frame body (without its length prefix), or PROTO_INVALID.
 */
int proto_type(const uint8_t *body, size_t len);

/*
 * Decoders take a frame body (without its length prefix).  They return 0,
 * or -1 with a reason in err.  Spans in the result point into body.
 */
int proto_dec_config(const uint8_t *, size_t, struct proto_config *,
    char *err, size_t errlen);
int proto_dec_ready(const uint8_t *, size_t, struct proto_ready *,
    char *err, size_t errlen);
int proto_dec_attach(const uint8_t *, size_t, struct proto_attach *,
    char *err, size_t errlen);
int proto_dec_attach_batch(const uint8_t *, size_t,
    struct proto_attach_batch *, char *err, size_t errlen);
int proto_dec_report(const uint8_t *, size_t, struct proto_report *,
    char *err, size_t errlen);
int proto_dec_status_req(const uint8_t *, size_t, struct proto_status_req *,
    char *err, size_t errlen);
int proto_dec_status_reply(const uint8_t *, size_t,
    struct proto_status_reply *, char *err, size_t errlen);
int proto_dec_shutdown(const uint8_t *, size_t, struct proto_shutdown *,
    char *err, size_t errlen);
int proto_dec_handoff(const uint8_t *, size_t, int type,
    struct proto_handoff *, char *err, size_t errlen);
int proto_dec_session(const uint8_t *, size_t, struct proto_session *,
    char *err, size_t errlen);
int proto_dec_handoff_ack(const uint8_t *, size_t, struct proto_handoff_ack *,
    char *err, size_t errlen);
int proto_dec_handoff_end(const uint8_t *, size_t, struct proto_handoff_end *,
    char *err, size_t errlen);
int proto_dec_handoff_done(const uint8_t *, size_t,
    struct proto_handoff_done *, char *err, size_t errlen);
int proto_dec_admin_req(const uint8_t *, size_t, struct proto_admin_req *,
    char *err, size_t errlen);
int proto_dec_admin_reply(const uint8_t *, size_t, struct proto_admin_reply *,
    char *err, size_t errlen);
void proto_status_reply_free(struct proto_status_reply *);

const char *proto_type_name(int type);
const char *proto_sstate_name(int state);
const char *proto_dirc_name(int counter);
const struct proto_evc_desc *proto_evc_desc(int counter);
const double *proto_hist_bounds(int hist, size_t *nb);
int proto_hist_slot(int hist, double seconds);

#endif
