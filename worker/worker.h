/*
 * worker.h: what the worker's files offer each other.  See the big theory
 * statement in worker/main.c.
 *
 * Sessions and connections are plain data apart from their embedded libev
 * watchers: a session is its id, state, two connection pointers,
 * timestamps and counters; a connection (private to conn.c) is its socket,
 * state, the bytes not yet parsed, a message being reassembled, the bytes
 * not yet written and timestamps.  That is everything a handoff
 * (handoff.c) needs to move a live session into another process:
 * session_freeze() and conn_freeze() describe one, session_thaw() and
 * conn_thaw() rebuild it.
 *
 * Each file keeps the state it owns in one struct of its own at its top
 * (main.c the control channel and the settings, conn.c the connections,
 * session.c the sessions, handoff.c the two sides of a handoff); what
 * another file needs crosses as a function here, and the loop and the
 * settings are handed to each file's init.
 */
#ifndef MEDUSA_WORKER_H
#define MEDUSA_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "proto.h"

/* A WebSocket endpoint: conn.c's own. */
struct conn;

/* A session: session.c's own. */
struct session;

/* Settings, from the supervisor's CONFIG message. */
struct wconf {
	unsigned	wc_shard;
	unsigned	wc_nshards;
	ev_tstamp	wc_pairing;
	ev_tstamp	wc_idle;
	ev_tstamp	wc_close;
	ev_tstamp	wc_ping;
	ev_tstamp	wc_wait;
	ev_tstamp	wc_shutdown;
	size_t		wc_max_message;
	size_t		wc_out_high;
	size_t		wc_out_low;
	size_t		wc_max_id;
	size_t		wc_max_sessions;
	size_t		wc_max_per_addr;	/* 0: no limit */
	ev_tstamp	wc_claim_ttl;		/* directory claims' life */
};

/* A duration in whole milliseconds, for the wire (0 for none or less). */
static inline uint64_t
worker_ms(ev_tstamp t)
{
	return (t > 0 ? (uint64_t)(t * 1000.0 + 0.5) : 0);
}

/* session.c: the directory claims' counts (directory.h has the rest). */
struct session_dir_counters {
	uint64_t	sdc_claims;	/* won (or taken over) */
	uint64_t	sdc_other;	/* held by another host */
	uint64_t	sdc_refreshes;
	uint64_t	sdc_releases;
};
const struct session_dir_counters *session_dir_counters(void);
void session_dir_key(char *key, size_t cap, const char *id, size_t idlen);
void session_claim_next(const char *fence, char *fence_out);

/* conn.c: one WebSocket endpoint. */
int conn_init(struct ev_loop *, const struct wconf *);
size_t conn_count(void);
struct conn *conn_new(int fd, int role, const char *reqid, size_t reqidlen,
    const char *peer, size_t peerlen);
bool conn_too_many_from(struct conn *);
void conn_start(struct conn *, bool ping_ok, const uint8_t *early, size_t n);
void conn_http_refuse(struct conn *, int status, const char *code,
    const char *message, const char *extra);
void conn_http_error(struct conn *, int status, const char *code,
    const char *message, const char *extra);
int conn_write_raw(struct conn *, const void *, size_t);
void conn_cork(struct conn *);
void conn_uncork(struct conn *);
int conn_send_frame(struct conn *, uint8_t opcode, const void *, size_t);
int conn_relay_frame(struct conn *, uint8_t opcode, const void *, size_t);
int conn_send_text(struct conn *, const char *);
void conn_send_close(struct conn *, uint16_t code, const char *reason,
    size_t reasonlen);
void conn_abort(struct conn *, const char *why);
bool conn_is_open(const struct conn *);
int conn_role(const struct conn *);
const char *conn_reqid(const struct conn *);
const char *conn_peer(const struct conn *);
/* The client's address as counted by the per-address limit ("": none). */
const char *conn_host(const struct conn *);
/* A forwarded splice keeps its client's address counted (forward.c). */
bool conn_host_hold(const char *host);
void conn_host_release(const char *host);
struct session *conn_session(const struct conn *);
void conn_join(struct conn *, struct session *);
bool conn_resumes(const struct conn *);
void conn_set_resumes(struct conn *, bool);
const char *conn_fingerprint(const struct conn *);
void conn_set_fingerprint(struct conn *, const char *);

/* wmetrics.c: REPORT's event counters and histograms. */
struct proto_report;
void wmetrics_count(int, uint64_t);
void wmetrics_relayed(int, size_t);
void wmetrics_attach(int, int);
void wmetrics_observe(int, double);
void wmetrics_report(struct proto_report *);
bool conn_full(const struct conn *);
void conn_throttle(struct conn *from, const struct conn *to);
bool conn_movable(const struct conn *);
int conn_freeze(const struct conn *, ev_tstamp now,
    struct proto_conn_state *);
void conn_hold(struct conn *);
void conn_forget(struct conn *);
int conn_take_fd(struct conn *);
struct conn *conn_thaw(const struct proto_conn_state *, int fd,
    ev_tstamp now);
void conn_thawed(struct conn *, bool peer_full);
void conn_reap(void);

/* main.c: the control channel to the supervisor */
int worker_ctl_send(msgpack_sbuffer *);
bool worker_ctl_room(size_t);
void worker_close_sock(int fd);

/* status.c: STATUS_REQ, answered in paced chunks */
void status_request(uint64_t qid);
void status_pump(void);

/* handoff.c: moving sessions to a successor worker. */
void handoff_init(struct ev_loop *, const struct wconf *);
void handoff_start(int fd, uint32_t successor_pid);
void handin_start(int fd, uint32_t predecessor_pid);
void handoff_lost(uint32_t successor_pid);
void handoff_shutdown(void);
bool handoff_busy(void);

/* session.c: table, pairing, relay, timers. */
void session_init(struct ev_loop *, const struct wconf *);
void session_reap(void);
struct session *session_find(const char *id, size_t idlen);
const char *session_id(const struct session *);
size_t session_count(void);
size_t session_count_all(void);
bool session_any(void);
void session_counts(struct proto_report *);
int session_admit(const char *id, size_t idlen, int role, bool replace,
    const char **code, const char **message);
int session_attach(struct conn *, const char *id, size_t idlen, int role);
void session_message(struct conn *from, uint8_t opcode, uint8_t *p,
    size_t n);
void session_activity(struct session *);
/* A side's CLOSE (failed: ours, for its bad input: counted as lost). */
void session_peer_closed(struct conn *, uint16_t code, const uint8_t *reason,
    size_t reasonlen, bool failed);
void session_conn_gone(struct session *, struct conn *, const char *why);
struct conn *session_peer(const struct conn *);
void session_backpressure(struct conn *from);
void session_close_all(uint16_t code, const char *reason);
/* Moving (handoff.c). */
struct session *session_next_movable(void);
void session_nomove(struct session *);
void session_allow_moves(void);
void session_freeze(struct session *, struct proto_session *, int *fds);
void session_hold(struct session *);
void session_release(struct session *);
void session_unhold(struct session *);
struct session *session_held(const char *id, size_t idlen);
struct session *session_first_held(void);
int session_thaw(const struct proto_session *, const int *fds);
/* The status walk (STATUS_REQ). */
void session_walk_begin(void);
bool session_walk_next(struct proto_session_info *);
bool session_walk_done(void);

struct httphead;

/* wresume.c: tokens and tombstones for sessions that resume. */
void wresume_configure(const struct proto_config *);
const uint8_t *wresume_secret(size_t *n);

/* forward.c: an attach forwarded to its session's host. */
void forward_init(struct ev_loop *);
void forward_counts(uint64_t *out, uint64_t *failed);
/* Forwarded attaches being spliced now (they count as sessions here). */
size_t forward_live(void);
void forward_attach(int cfd, const char *reqid, const char *peer,
    const char *host,
    const char *owner, const uint8_t *secret, size_t sn,
    const struct httphead *h, const char *head, size_t headlen,
    const char *early, size_t earlyn);

/* whop.c: an attach forwarded by another host (X-Medusa-Hop). */
void whop_configure(const struct proto_config *);
int whop_check(struct conn *, const struct httphead *);
void whop_counts(uint64_t *in, uint64_t *refused);
int wresume_attach(struct conn *, const struct httphead *, const char *key,
    size_t keylen, int role, bool *replace);
int wresume_token(const char *key, size_t keylen, int role, char *out,
    size_t cap);
void wresume_tombstone(const char *key, size_t keylen);

/* wauth.c: the credential check before the 101. */
struct httphead;
void wauth_configure(const struct proto_config *);
int wauth_check(struct conn *, const struct httphead *, const char *key,
    size_t keylen);
void wauth_fini(void);

#endif
