/*
 * supervisor.h: the supervisor's front-end connections, worker processes
 * and status queries.  See the big theory statement in supervisor/main.c.
 */
#ifndef MEDUSA_SUPERVISOR_H
#define MEDUSA_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <ev.h>

#include "addrcount.h"
#include "buf.h"
#include "config.h"
#include "ctlchan.h"
#include "proto.h"

#define	SUP_MAX_WORKERS	256

/*
 * A front-end connection: read the head, then either hand the socket to a
 * worker (and forget it) or answer it here and close.
 */
enum sconn_state {
	SC_HEAD = 1,		/* reading the request head */
	SC_HOLD,		/* waiting (briefly) for its shard's worker */
	SC_STATUS,		/* waiting for the workers' status replies */
	SC_RESPOND,		/* writing our response */
	SC_LINGER		/* SHUT_WR sent; discarding until EOF */
};

struct statusq;
struct shard;

/* What a listener serves (front.c). */
enum front_kind {
	FRONT_PUBLIC = 0,	/* attaches (with credentials), health */
	FRONT_TRUSTED,		/* behind a front door: attaches without */
	FRONT_STATUS		/* internal: the full /status, /metrics */
};

struct sconn {
	int		sc_fd;
	enum sconn_state sc_state;
	ev_io		sc_rio;
	ev_io		sc_wio;
	ev_timer	sc_timer;	/* head, hold, then close time-out */
	char		*sc_buf;	/* the head so far (head_max bytes) */
	size_t		sc_len;
	size_t		sc_cap;		/* sc_buf's size: head_max when made */
	size_t		sc_scan;	/* where to look for the end of head */
	bool		sc_waiting;	/* in front.c's epoll set, for more head */
	struct buf	sc_out;
	struct statusq	*sc_query;
	uint64_t	sc_accept_ms;
	char		sc_reqid[32];
	char		sc_peer[64];
	/* An attach: where it goes (kept while it is held). */
	char		*sc_sid;
	int		sc_role;
	uint32_t	sc_flags;	/* PROTO_ATTACH_* */
	enum front_kind	sc_kind;	/* the listener it came in on */
	struct shard	*sc_shard;
	char		sc_host[ADDRCOUNT_HOST_MAX];	/* counted per address */
	struct wproc	*sc_batch;	/* in this worker's attach batch */
	struct sconn	*sc_hnext;	/* the shard's held list */
	struct sconn	**sc_hprevp;	/* what points at us in it */
	LIST_ENTRY(sconn) sc_link;	/* front.c's connections */
};

/*
 * A worker process.  A shard has one active process (routed to), and for a
 * moment during a rolling restart also a successor starting or an old one
 * retiring; after a crash, none until the next one is ready.
 */
enum wstate {
	W_STARTING = 1,		/* forked; no READY yet */
	W_READY,		/* ready; routed to if it is the shard's active */
	W_RETIRING,		/* handing off or draining its last sessions */
	W_STOPPING		/* told to shut down, or killed */
};

struct wproc {
	struct shard	*wp_shard;
	pid_t		wp_pid;
	enum wstate	wp_state;
	struct ctlchan	wp_ctl;
	ev_io		wp_rio;
	ev_io		wp_wio;
	ev_child	wp_child;
	ev_timer	wp_timer;	/* start time-out */
	uint64_t	wp_started_ms;	/* wall clock, for /status */
	ev_tstamp	wp_ready_at;	/* monotonic, 0 if never ready */
	struct proto_report wp_report;
	char		wp_version[32];
	bool		wp_told_to_exit; /* we asked it to stop: no alarm */
	/* Attaches passed this loop iteration, sent together (workers.c). */
	struct sconn	*wp_batch[PROTO_BATCH_MAX];
	int		wp_nbatch;
	size_t		wp_bbytes;	/* their heads, and room for the rest */
	struct wproc	*wp_bnext;	/* the list of those with a batch */
	LIST_ENTRY(wproc) wp_link;	/* all processes (workers_procs()) */
};

struct shard {
	unsigned	sh_index;
	struct wproc	*sh_active;	/* routed to when READY */
	struct wproc	*sh_next;	/* a successor starting */
	double		sh_backoff;	/* next restart delay, s */
	unsigned	sh_restarts;
	/*
	 * Counters that outlive the shard's processes (metrics.c, /status):
	 * bytes and messages of those gone (their last REPORT; a crashed
	 * one loses what it relayed since), starts, crashes.
	 */
	uint64_t	sh_gone_bytes;
	uint64_t	sh_gone_messages;
	uint64_t	sh_gone_dir[PROTO_DIRC_MAX];	/* enum proto_dirc */
	uint64_t	sh_gone_ev[PROTO_EVC_MAX];	/* enum proto_evc */
	uint64_t	sh_gone_hist[PROTO_HIST_MAX][PROTO_HIST_SLOTS];
	uint64_t	sh_starts;
	uint64_t	sh_crashes;
	unsigned	sh_quick_deaths; /* in a row, each before a healthy minute */
	bool		sh_failed;	/* keeps crashing */
	ev_timer	sh_timer;	/* restart back-off */
	struct sconn	*sh_held;	/* connections waiting for a worker */
	struct sconn	**sh_held_tail;
};

/*
 * The worker binary, opened while still root (main.c's; workers.c
 * starts workers from it): its path, its directory and name for openat(),
 * and the file as it was at start-up, for when the unprivileged user
 * cannot reach it by its path.
 */
struct worker_bin {
	char		wb_path[PATH_MAX];
	int		wb_dirfd;
	char		wb_name[NAME_MAX + 1];
	int		wb_fd;
};

/*
 * Each file keeps the state it owns in one struct of its own at its top;
 * what another file needs crosses as one of these functions, and the loop
 * and the configuration (main.c's, changed in place by a reload) are
 * handed to each file's init.
 */

/* main.c */
const uint8_t *sup_secret(size_t *n);
bool sup_stopping(void);
bool sup_draining(void);
void sup_drain(const char *why);
void sup_worker_ready(void);
void sup_reloading(bool begins);
int sup_open_dir(const char *path, int *dirfd, char *name, size_t cap);

/* front.c */
int front_init(struct ev_loop *, const struct medusa_config *);
int front_listen(void);
int front_port(void);
int front_status_port(void);
void front_auth_warning(void);
void front_defer_accept(int secs);
struct sconn *front_conn(int fd, const char *peer, uint64_t accept_ms,
    const char *reqid);
void front_respond(struct sconn *, const char *data, size_t len);
void front_error(struct sconn *, int status, const char *code,
    const char *message, const char *extra);
void front_stop(void);
void front_accepting(bool);
void front_hold(struct sconn *, struct shard *);
void front_unhold(struct sconn *);
void front_forget(struct sconn *);

/* workers.c */
void workers_init(struct ev_loop *, const struct medusa_config *,
    const struct worker_bin *, unsigned nshards);
void workers_start_all(void);
unsigned workers_nshards(void);
struct shard *workers_shard(unsigned);
struct wproc *workers_procs(void);
const char *workers_path(void);
void workers_route(struct sconn *);
void workers_batch_forget(struct sconn *);
void workers_flush_held(struct shard *);
void workers_send(struct wproc *, msgpack_sbuffer *);
int workers_send_fd(struct wproc *, msgpack_sbuffer *, int fd);
void workers_send_config(struct wproc *);
void workers_config_all(void);
struct wproc *workers_spawn(struct shard *);
void workers_kill(struct wproc *, const char *why);
void workers_kill_all(void);
void workers_shutdown(struct wproc *, int mode, uint64_t timeout_ms);
void workers_stop_all(int mode);
void workers_ensure(struct shard *, struct wproc *dead);
bool workers_all_ready(void);
bool workers_all_down(void);
const char *workers_state_name(const struct wproc *);
const char *workers_shard_state(const struct shard *);

/* restart.c: rolling restarts with live handoff */
struct admin_conn;
void restart_init(struct ev_loop *, const struct medusa_config *);
int restart_begin(int shard, struct admin_conn *watcher, char *err,
    size_t errlen);
bool restart_running(void);
void restart_worker_ready(struct wproc *);
void restart_worker_gone(struct wproc *);
void restart_handoff_done(struct wproc *, const struct proto_handoff_done *);
bool restart_owns(const struct wproc *);
void restart_forget_watcher(struct admin_conn *);

/* admin.c: the admin socket (medusactl) */
int admin_listen(struct ev_loop *, const struct medusa_config *);
void admin_progress(struct admin_conn *, bool done, bool ok,
    const char *text);
void admin_close_all(void);

/* status.c */
typedef void status_done_f(void *arg, const char *json, size_t len);
void status_init(struct ev_loop *);
/* metrics.c: /metrics, and what only the supervisor counts. */
void metrics_serve(struct sconn *);
void metrics_refusal(int status);
void metrics_routed(int role);
void metrics_handoff(uint64_t moved, uint64_t stayed, uint64_t failed);
void status_query(status_done_f *, void *arg);
void status_start(struct sconn *);
void status_health(struct sconn *);
void status_reply(struct wproc *, const struct proto_status_reply *);
void status_worker_gone(struct wproc *);
void status_conn_gone(struct sconn *);
void status_cancel(void *arg);

#endif
