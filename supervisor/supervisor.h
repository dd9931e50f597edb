/*
 * supervisor.h: the supervisor's front-end connections, worker processes
 * and status queries.  See the big theory statement in supervisor/main.c.
 */
#ifndef MEDUSA_SUPERVISOR_H
#define MEDUSA_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

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
	SC_STATUS,		/* waiting for the workers' status replies */
	SC_RESPOND,		/* writing our response */
	SC_LINGER		/* SHUT_WR sent; discarding until EOF */
};

struct statusq;

struct sconn {
	int		sc_fd;
	enum sconn_state sc_state;
	ev_io		sc_rio;
	ev_io		sc_wio;
	ev_timer	sc_timer;	/* head time-out, then close time-out */
	char		*sc_buf;	/* the head so far (head_max bytes) */
	size_t		sc_len;
	size_t		sc_scan;	/* where to look for the end of head */
	struct buf	sc_out;
	struct statusq	*sc_query;
	uint64_t	sc_accept_ms;
	char		sc_reqid[32];
	char		sc_peer[64];
	struct sconn	*sc_next;
	struct sconn	*sc_prev;
};

enum wstate {
	W_DOWN = 1,		/* no process; restart pending */
	W_STARTING,		/* forked; no READY yet */
	W_READY,		/* takes connections */
	W_STOPPING,		/* told to shut down */
	W_FAILED		/* restarted too often; left down */
};

struct wproc {
	unsigned	wp_shard;
	pid_t		wp_pid;
	enum wstate	wp_state;
	struct ctlchan	wp_ctl;
	ev_io		wp_rio;
	ev_io		wp_wio;
	ev_child	wp_child;
	ev_timer	wp_timer;	/* start time-out or restart back-off */
	uint64_t	wp_started_ms;	/* wall clock, for /status */
	ev_tstamp	wp_ready_at;	/* monotonic, 0 if never ready */
	double		wp_backoff;	/* next restart delay, s */
	unsigned	wp_restarts;
	unsigned	wp_quick_deaths; /* deaths in a row, each soon after start */
	struct proto_report wp_report;
	char		wp_version[32];
};

struct supervisor {
	struct ev_loop	*s_loop;
	struct medusa_config s_conf;
	char		s_worker_path[PATH_MAX];
	unsigned	s_nworkers;
	struct wproc	s_workers[SUP_MAX_WORKERS];
	int		s_lfd[CONFIG_MAX_BINDS * 4];
	ev_io		s_lio[CONFIG_MAX_BINDS * 4];
	int		s_nlisten;
	int		s_port;		/* the port bound (port 0 resolved) */
	bool		s_accepting;
	int		s_spare_fd;	/* released to shed a connection on EMFILE */
	ev_timer	s_accept_timer;	/* accepting again after EMFILE */
	struct sconn	*s_conns;
	size_t		s_nconns;
	bool		s_stopping;
	ev_timer	s_stop_timer;
	ev_signal	s_sigterm;
	ev_signal	s_sigint;
	uint64_t	s_reqseq;
	char		s_reqprefix[16];
	uint64_t	s_started_ms;
	struct statusq	*s_queries;
	uint64_t	s_qseq;
};

extern struct supervisor sup;

/* front.c */
void front_accept_cb(EV_P_ ev_io *, int);
void front_conn(int fd, const char *peer, uint64_t accept_ms,
    const char *reqid);
void front_respond(struct sconn *, const char *data, size_t len);
void front_error(struct sconn *, int status, const char *code,
    const char *message, const char *extra);
void front_close_all(void);
void front_accepting(bool);

/* workers.c */
void workers_start_all(void);
int workers_attach(unsigned shard, int fd, const struct proto_attach *);
void workers_send(struct wproc *, msgpack_sbuffer *);
void workers_stop_all(int mode);
bool workers_all_down(void);
const char *workers_state_name(enum wstate);

/* status.c */
void status_start(struct sconn *);
void status_reply(struct wproc *, const struct proto_status_reply *);
void status_worker_gone(struct wproc *);
void status_conn_gone(struct sconn *);

#endif
