/*
 * worker.h: the worker's connections and sessions.  See the big theory
 * statement in worker/main.c.
 *
 * Both structs are plain data apart from their embedded libev watchers:
 * a session is its id, state, two connection pointers, timestamps and
 * counters; a connection is its socket, state, the bytes not yet parsed
 * (c_in), a message being reassembled (c_frag), the bytes not yet written
 * (c_out) and timestamps.  That is everything a later handoff needs to move
 * a live session into another process.
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

/*
 * A connection's life:
 *
 *	OPEN -------> CLOSING ----> FLUSHING --> LINGER --> (closed)
 *	  \  we sent CLOSE   they replied   written,   their EOF or
 *	   \                                 SHUT_WR    close timeout
 *	    `---------------------> FLUSHING  (they sent CLOSE first; we echo)
 *
 *	HTTP_ERROR --> LINGER	(an error response before the upgrade)
 *
 * Any state can end abruptly (read or write error, EOF before the close
 * handshake, a time-out): the socket is closed at once and the struct goes
 * on the dead list, freed before the loop next blocks.
 */
enum conn_state {
	CONN_OPEN = 1,		/* upgraded; frames flow */
	CONN_CLOSING,		/* we sent CLOSE; waiting for theirs */
	CONN_FLUSHING,		/* handshake done; writing what is queued */
	CONN_LINGER,		/* SHUT_WR sent; discarding until their EOF */
	CONN_HTTP_ERROR,	/* writing an HTTP error response */
	CONN_DEAD		/* socket closed; waiting to be freed */
};

struct conn {
	int		c_fd;
	enum conn_state	c_state;
	ev_io		c_rio;
	ev_io		c_wio;
	ev_timer	c_timer;	/* close deadline, or ping cadence */
	struct session	*c_sess;	/* NULL once out of its session */
	int		c_role;		/* ROLE_MASTER or ROLE_SLAVE */
	bool		c_ping_ok;	/* peer said it answers PINGs */
	bool		c_was_paused;	/* its peer's queue has been full */
	uint8_t		c_pause;	/* not reading: CONN_PAUSE_* bits */
	bool		c_doomed;	/* failed; destroyed by the reaper */
	char		c_doom_why[64];
	struct conn	*c_dnext;	/* the doomed list */
	bool		c_close_sent;
	bool		c_close_rcvd;
	bool		c_close_read;	/* their CLOSE really came */
	bool		c_corked;	/* queue output, send at conn_uncork */
	bool		c_more;		/* this write: MSG_MORE (the FIN follows) */
	struct buf	c_in;		/* received, not yet parsed */
	struct buf	c_frag;		/* fragmented message so far */
	uint8_t		c_frag_op;	/* its opcode, 0 if none */
	uint32_t	c_frag_utf8;	/* UTF-8 state across its fragments */
	struct buf	c_out;		/* queued for writing */
	ev_tstamp	c_last_rx;	/* last frame received */
	ev_tstamp	c_ping_sent;	/* 0, or when our PING went out */
	uint64_t	c_rx_msgs;
	uint64_t	c_tx_msgs;
	char		c_reqid[48];
	char		c_peer[64];
	char		c_host[ADDRCOUNT_HOST_MAX];	/* counted; "" if not */
	struct conn	*c_next;	/* all connections, or the dead list */
	struct conn	*c_prev;
};

/* Why a connection is not being read. */
#define	CONN_PAUSE_PEER	0x1	/* the other side's queue is full */
#define	CONN_PAUSE_SELF	0x2	/* our own queue is full (answers to pings) */
#define	CONN_PAUSE_ALL	0x3

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

/* conn.c: one WebSocket endpoint. */
struct conn *conn_new(int fd, const char *reqid, size_t reqidlen,
    const char *peer, size_t peerlen);
void conn_start(struct conn *, const uint8_t *early, size_t n);
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
void conn_hold(struct conn *);
void conn_forget(struct conn *);
bool conn_movable(const struct conn *);
void conn_thawed(struct conn *, bool paused);
void conn_pause(struct conn *, uint8_t why);
void conn_resume(struct conn *, uint8_t why);
bool conn_is_open(const struct conn *);
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
void session_activity(struct conn *);
void session_peer_closed(struct conn *, uint16_t code, const uint8_t *reason,
    size_t reasonlen);
void session_conn_gone(struct conn *, const char *why);
void session_drained(struct conn *);
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
