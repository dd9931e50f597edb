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
 */
#ifndef MEDUSA_WORKER_H
#define MEDUSA_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "addrcount.h"
#include "buf.h"
#include "ctlchan.h"
#include "proto.h"

struct session;

/* A WebSocket endpoint: conn.c's own. */
struct conn;

struct session {
	char		*s_id;
	size_t		s_idlen;
	int		s_state;	/* proto.h SSTATE_* */
	struct conn	*s_master;
	struct conn	*s_slave;
	uint64_t	s_create_ms;	/* wall clock, for /status */
	ev_tstamp	s_created;	/* monotonic */
	ev_tstamp	s_last_activity;
	ev_tstamp	s_next_wait;	/* next "wait" pulse */
	ev_timer	s_timer;	/* pairing, wait pulse or idle deadline */
	uint64_t	s_bytes;
	uint64_t	s_msgs;
	bool		s_freed;	/* on the reaper's list */
	bool		s_nomove;	/* a handoff could not move it */
	struct session	*s_hnext;	/* hash chain (waiting, forwarding) */
	struct session	*s_next;	/* all sessions */
	struct session	*s_prev;
};

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
};

struct worker {
	struct ev_loop	*w_loop;
	struct wconf	w_conf;
	bool		w_configured;
	int		w_shutdown;	/* 0, or PROTO_SHUTDOWN_* */
	struct ctlchan	w_ctl;
	ev_io		w_ctl_rio;
	ev_io		w_ctl_wio;
	ev_timer	w_report;
	ev_timer	w_shutdown_timer;
	ev_timer	w_drain_timer;
	ev_prepare	w_reaper;
	ev_signal	w_sigterm;
	ev_signal	w_sigint;
	struct conn	*w_conns;	/* live connections */
	struct conn	*w_dead;	/* closed, to free */
	struct conn	*w_doomed;	/* failed, to destroy */
	struct session	*w_sdead;	/* ended, to free */
	size_t		w_nconns;
	struct session	**w_table;	/* hash of waiting/forwarding */
	size_t		w_tsize;	/* buckets, a power of two */
	size_t		w_tcount;
	struct session	*w_sessions;	/* all sessions, closing included */
	struct session	*w_moving;	/* held while a successor takes them */
	uint64_t	w_nstate[SSTATE_MAX];
	uint64_t	w_bytes;	/* payload bytes relayed */
	uint64_t	w_msgs;		/* messages relayed */
	struct addrcount *w_peers;	/* connections per client address */
	size_t		w_fd_sessions;	/* sessions the fd limit allows */
	unsigned long long w_fd_limit;	/* RLIMIT_NOFILE as we found it */
	uint8_t		*w_scratch;	/* read buffer shared by all conns */
	size_t		w_scratch_len;
};

extern struct worker wk;

/* A duration in whole milliseconds, for the wire (0 for none or less). */
static inline uint64_t
worker_ms(ev_tstamp t)
{
	return (t > 0 ? (uint64_t)(t * 1000.0 + 0.5) : 0);
}

/* conn.c: one WebSocket endpoint. */
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
struct session *conn_session(const struct conn *);
void conn_join(struct conn *, struct session *);
bool conn_full(const struct conn *);
void conn_throttle(struct conn *from, const struct conn *to);
bool conn_movable(const struct conn *);
int conn_freeze(const struct conn *, ev_tstamp now,
    struct proto_conn_state *);
void conn_hold(struct conn *);
void conn_forget(struct conn *);
struct conn *conn_thaw(const struct proto_conn_state *, int fd,
    ev_tstamp now);
void conn_thawed(struct conn *, bool peer_full);
void conn_reap(void);
void session_reap(void);

/* main.c */
void worker_ctl_send(msgpack_sbuffer *);

/* handoff.c: moving sessions to a successor worker. */
void handoff_init(void);
void handoff_start(int fd, uint32_t successor_pid);
void handin_start(int fd, uint32_t predecessor_pid);
void handoff_lost(uint32_t successor_pid);
void handoff_shutdown(void);
bool handoff_busy(void);

/* session.c: table, pairing, relay, timers. */
void session_table_init(void);
struct session *session_find(const char *id, size_t idlen);
int session_admit(const char *id, size_t idlen, int role, const char **code,
    const char **message);
int session_attach(struct conn *, const char *id, size_t idlen, int role);
void session_message(struct conn *from, uint8_t opcode, uint8_t *p,
    size_t n);
void session_activity(struct session *);
void session_peer_closed(struct conn *, uint16_t code, const uint8_t *reason,
    size_t reasonlen);
void session_conn_gone(struct session *, struct conn *, const char *why);
struct conn *session_peer(const struct conn *);
void session_backpressure(struct conn *from);
void session_close_all(uint16_t code, const char *reason);
size_t session_count(void);
void session_set_state(struct session *, int state);
bool session_movable(const struct session *);
void session_freeze(struct session *, struct proto_session *, int *fds);
void session_hold(struct session *);
void session_release(struct session *);
void session_unhold(struct session *);
struct session *session_held(const char *id, size_t idlen);
int session_thaw(const struct proto_session *, const int *fds);

#endif
