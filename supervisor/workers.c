/*
 * workers.c: the shards and their worker processes: starting, talking to,
 * watching and restarting them, and routing attaches.  See
 * supervisor/main.c.
 *
 * Each shard has at most one active process, the one attaches are routed
 * to once it has said READY.  A process that dies is logged and, if it was
 * the active one, replaced after a back-off (100 ms, doubling to 10 s,
 * reset after a healthy minute); five deaths in a row, each before a
 * healthy minute, mark the shard failed (it is still retried at the longest
 * back-off).  While a shard has no ready process its new connections wait
 * up to hold_timeout_s and are then answered 503.  Rolling restarts
 * (restart.c) add a successor and retire the old process.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "mlog.h"
#include "netutil.h"
#include "route.h"
#include "supervisor.h"
#include "version.h"

#define	WORKER_START_TIMEOUT	10.0	/* s, from fork to READY */
#define	WORKER_CTL_QMAX		(32u * 1024 * 1024)
#define	WORKER_BACKOFF_MIN	0.1
#define	WORKER_BACKOFF_MAX	10.0
#define	WORKER_HEALTHY_AFTER	60.0	/* s up before the back-off resets */
#define	WORKER_FAILED_AFTER	5	/* quick deaths in a row */
_Static_assert(WORKER_CTL_QMAX >= PROTO_FRAME_MAX,
    "any message fits the empty queue");
/* An unsent batch's tag, "first request id+others", is kept whole. */
_Static_assert(sizeof (((struct sconn *)0)->sc_reqid) + sizeof ("+15") <=
    CTLCHAN_TAG_MAX, "a batch's tag fits");

/*
 * This file's state: the shards, every worker process alive, the workers
 * with attaches waiting to leave, and the binary workers start from.
 */
static struct workers {
	struct ev_loop	*ws_loop;
	const struct medusa_config *ws_conf;	/* main.c's */
	const struct worker_bin *ws_bin;	/* main.c's */
	unsigned	ws_nshards;
	struct shard	ws_shards[SUP_MAX_WORKERS];
	LIST_HEAD(, wproc) ws_procs;	/* every worker process alive */
	struct wproc	*ws_batched;	/* workers with attaches to send */
	ev_prepare	ws_batch_prep;	/* sends them before the loop waits */
	struct proto_attach_batch ws_batch;	/* 16 x 6 spans: not on the stack */
} ws;

static void workers_read_cb(EV_P_ ev_io *, int);
static void workers_write_cb(EV_P_ ev_io *, int);
static void workers_child_cb(EV_P_ ev_child *, int);
static void workers_timer_cb(EV_P_ ev_timer *, int);
static void workers_shard_timer_cb(EV_P_ ev_timer *, int);

const char *
workers_state_name(const struct wproc *w)
{
	switch (w->wp_state) {
	case W_STARTING: return ("starting");
	case W_READY: return (w == w->wp_shard->sh_active ? "ready" :
	    "standby");
	case W_RETIRING: return ("retiring");
	case W_STOPPING: return ("stopping");
	default: return ("unknown");
	}
}

/* The shard as a whole, for /status: ready, starting, down or failed. */
const char *
workers_shard_state(const struct shard *sh)
{
	if (sh->sh_active != NULL && sh->sh_active->wp_state == W_READY)
		return ("ready");
	if (sh->sh_failed)
		return ("failed");
	if (sh->sh_active != NULL || sh->sh_next != NULL)
		return ("starting");
	return ("down");
}

static void
workers_timer(struct wproc *w, double after)
{
	ev_timer_stop(ws.ws_loop, &w->wp_timer);
	ev_timer_set(&w->wp_timer, after, 0);
	ev_timer_start(ws.ws_loop, &w->wp_timer);
}

/* Kill a process that misbehaves; its exit arrives at workers_child_cb. */
void
workers_kill(struct wproc *w, const char *why)
{
	mlog(MLOG_ERROR, "killing worker", "shard=%u worker_pid=%d reason=%s",
	    w->wp_shard->sh_index, (int)w->wp_pid, why);
	if (w->wp_pid > 0)
		(void) kill(w->wp_pid, SIGKILL);
	/* Not routed to any more; its exit replaces it if it was active. */
	w->wp_state = W_STOPPING;
}

static void workers_batch_send(struct wproc *);

void
workers_send(struct wproc *w, msgpack_sbuffer *sb)
{
	workers_batch_send(w);		/* attaches passed before go first */
	if (w->wp_ctl.cc_fd < 0)
		return;
	if (ctlchan_send(&w->wp_ctl, sb->data, sb->size, NULL, 0,
	    NULL) != 0) {
		workers_kill(w, "control channel queue full");
		return;
	}
	ev_io_start(ws.ws_loop, &w->wp_wio);
}

/* Send a frame with one descriptor; the channel owns it then.  0 or -1. */
int
workers_send_fd(struct wproc *w, msgpack_sbuffer *sb, int fd)
{
	workers_batch_send(w);
	if (w->wp_ctl.cc_fd < 0 ||
	    ctlchan_send(&w->wp_ctl, sb->data, sb->size, &fd, 1, NULL) != 0)
		return (-1);
	if (ctlchan_flush(&w->wp_ctl) == 0)
		ev_io_start(ws.ws_loop, &w->wp_wio);
	return (0);
}

void
workers_send_config(struct wproc *w)
{
	const struct medusa_config *c = ws.ws_conf;
	struct proto_config m;
	msgpack_sbuffer sb;

	memset(&m, 0, sizeof (m));
	m.pc_version = PROTO_VERSION;
	m.pc_shard = w->wp_shard->sh_index;
	m.pc_nshards = ws.ws_nshards;
	m.pc_log_level = (uint32_t)c->mc_log_level;
	m.pc_pairing_ms = (uint64_t)(c->mc_pairing_timeout * 1000);
	m.pc_idle_ms = (uint64_t)(c->mc_idle_timeout * 1000);
	m.pc_close_ms = (uint64_t)(c->mc_close_timeout * 1000);
	m.pc_ping_ms = (uint64_t)(c->mc_ping_interval * 1000);
	m.pc_wait_ms = (uint64_t)(c->mc_wait_interval * 1000);
	m.pc_shutdown_ms = (uint64_t)(c->mc_shutdown_timeout * 1000);
	m.pc_max_message = c->mc_max_message;
	m.pc_out_high = c->mc_out_high;
	m.pc_out_low = c->mc_out_low;
	m.pc_max_id = c->mc_max_id;
	m.pc_max_sessions = (uint64_t)c->mc_max_sessions;
	m.pc_max_per_addr = (uint64_t)c->mc_max_per_addr;
	m.pc_clock_skew_ms = (uint64_t)(c->mc_clock_skew * 1000);
	m.pc_presign_max_ms = (uint64_t)(c->mc_presign_max * 1000);
	/* No keys directory under auth none: nothing there is ever used. */
	m.pc_keys_dir.ps_p = c->mc_auth == CONFIG_AUTH_NONE ? "" :
	    c->mc_keys_dir;
	m.pc_keys_dir.ps_n = strlen(m.pc_keys_dir.ps_p);
	m.pc_secret.ps_p = (const char *)sup_secret(&m.pc_secret.ps_n);
	m.pc_token_ttl_ms = (uint64_t)(c->mc_token_ttl * 1000);
	/* The session directory; advertise defaults to bind[0]:port. */
	char adv[CONFIG_HOSTPORT_MAX];
	if (c->mc_advertise[0] != '\0')
		(void) snprintf(adv, sizeof (adv), "%s", c->mc_advertise);
	else
		(void) snprintf(adv, sizeof (adv),
		    strchr(c->mc_bind[0], ':') != NULL ? "[%s]:%d" : "%s:%d",
		    c->mc_bind[0], front_port());
	m.pc_directory.ps_p = c->mc_directory;
	m.pc_directory.ps_n = strlen(c->mc_directory);
	m.pc_advertise.ps_p = adv;
	m.pc_advertise.ps_n = strlen(adv);
	m.pc_claim_ttl_ms = (uint64_t)(c->mc_claim_ttl * 1000);
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_config(&sb, &m);
	workers_send(w, &sb);
	msgpack_sbuffer_destroy(&sb);
}

/* New settings for every live process (SIGHUP). */
void
workers_config_all(void)
{
	struct wproc *w;

	LIST_FOREACH(w, &ws.ws_procs, wp_link) {
		if (w->wp_state != W_STOPPING)
			workers_send_config(w);
	}
}

/* Fork and exec a worker for the shard; it is not routed to until READY. */
struct wproc *
workers_spawn(struct shard *sh)
{
	struct wproc *w;
	int sv[2];
	pid_t pid;

	if ((w = calloc(1, sizeof (*w))) == NULL) {
		mlog(MLOG_ERROR, "out of memory for a worker", "shard=%u",
		    sh->sh_index);
		return (NULL);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		mlog(MLOG_ERROR, "socketpair failed", "shard=%u error=%s",
		    sh->sh_index, strerror(errno));
		free(w);
		return (NULL);
	}
	if ((pid = fork()) < 0) {
		mlog(MLOG_ERROR, "fork failed", "shard=%u error=%s",
		    sh->sh_index, strerror(errno));
		(void) close(sv[0]);
		(void) close(sv[1]);
		free(w);
		return (NULL);
	}
	if (pid == 0) {
		sigset_t none;
		char *argv[] = { (char *)"medusa-worker", NULL };

		/* Child: descriptor 3 is the channel; nothing else leaks. */
		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
		(void) signal(SIGPIPE, SIG_DFL);
		(void) signal(SIGHUP, SIG_DFL);
		/* Terminal signals go to the supervisor, which relays them. */
		(void) setpgid(0, 0);
		if (sv[1] == 3) {
			(void) fcntl(3, F_SETFD, 0);
		} else if (dup2(sv[1], 3) < 0) {
			_exit(127);
		}
		/*
		 * The binary on disk now (a rolling restart picks up a new
		 * build), opened in its directory so that the unprivileged
		 * user need not reach it by its path.  A script needs its
		 * descriptor left open for the interpreter.
		 */
		{
			int xfd = openat(ws.ws_bin->wb_dirfd, ws.ws_bin->wb_name,
			    O_RDONLY | O_CLOEXEC);

			if (xfd < 0)
				xfd = ws.ws_bin->wb_fd;	/* unreachable now */
			if (xfd >= 0)
				fexecve(xfd, argv, environ);
			if (xfd >= 0 && errno == ENOENT &&
			    (xfd = fcntl(xfd, F_DUPFD, 4)) >= 0)
				fexecve(xfd, argv, environ);
		}
		fprintf(stderr, "medusa: exec %s: %s\n", ws.ws_bin->wb_path,
		    strerror(errno));
		_exit(127);
	}
	(void) close(sv[1]);
	(void) netutil_nonblock(sv[0]);
	w->wp_shard = sh;
	w->wp_pid = pid;
	w->wp_state = W_STARTING;
	w->wp_started_ms = netutil_now_ms();
	sh->sh_starts++;
	ctlchan_init(&w->wp_ctl, sv[0], WORKER_CTL_QMAX);
	ev_io_init(&w->wp_rio, workers_read_cb, sv[0], EV_READ);
	ev_io_init(&w->wp_wio, workers_write_cb, sv[0], EV_WRITE);
	ev_init(&w->wp_timer, workers_timer_cb);
	w->wp_rio.data = w->wp_wio.data = w->wp_timer.data = w;
	ev_io_start(ws.ws_loop, &w->wp_rio);
	ev_child_init(&w->wp_child, workers_child_cb, pid, 0);
	w->wp_child.data = w;
	ev_child_start(ws.ws_loop, &w->wp_child);
	LIST_INSERT_HEAD(&ws.ws_procs, w, wp_link);
	mlog(MLOG_INFO, "worker started", "shard=%u worker_pid=%d path=%s",
	    sh->sh_index, (int)pid, ws.ws_bin->wb_path);
	workers_send_config(w);
	workers_timer(w, WORKER_START_TIMEOUT);
	return (w);
}

static void
workers_start_shard(struct shard *sh)
{
	if (sup_stopping() || sup_draining() || sh->sh_active != NULL)
		return;
	if ((sh->sh_active = workers_spawn(sh)) == NULL) {
		ev_timer_set(&sh->sh_timer, WORKER_BACKOFF_MAX, 0);
		ev_timer_start(ws.ws_loop, &sh->sh_timer);
	}
}

static void workers_batch_prep_cb(EV_P_ ev_prepare *, int);

/* nshards shards, none started yet. */
void
workers_init(struct ev_loop *loop, const struct medusa_config *conf,
    const struct worker_bin *bin, unsigned nshards)
{
	ws.ws_loop = loop;
	ws.ws_conf = conf;
	ws.ws_bin = bin;
	ws.ws_nshards = nshards;
	for (unsigned i = 0; i < nshards; i++) {
		struct shard *sh = &ws.ws_shards[i];

		sh->sh_index = i;
		sh->sh_backoff = WORKER_BACKOFF_MIN;
		sh->sh_held_tail = &sh->sh_held;
		ev_init(&sh->sh_timer, workers_shard_timer_cb);
		sh->sh_timer.data = sh;
	}
	ev_prepare_init(&ws.ws_batch_prep, workers_batch_prep_cb);
	ev_prepare_start(ws.ws_loop, &ws.ws_batch_prep);
}

void
workers_start_all(void)
{
	for (unsigned i = 0; i < ws.ws_nshards; i++)
		workers_start_shard(&ws.ws_shards[i]);
}

unsigned
workers_nshards(void)
{
	return (ws.ws_nshards);
}

struct shard *
workers_shard(unsigned i)
{
	return (&ws.ws_shards[i]);
}

/* The first of every worker process alive; LIST_NEXT(w, wp_link) on. */
struct wproc *
workers_procs(void)
{
	return (LIST_FIRST(&ws.ws_procs));
}

const char *
workers_path(void)
{
	return (ws.ws_bin->wb_path);
}

/* The shutdown time-out: whatever is still running is killed. */
void
workers_kill_all(void)
{
	struct wproc *w;

	LIST_FOREACH(w, &ws.ws_procs, wp_link) {
		if (w->wp_pid > 0)
			(void) kill(w->wp_pid, SIGKILL);
	}
}

/* --- routing ------------------------------------------------------------ */

/*
 * A queued message with descriptors that never reached the worker.  An
 * ATTACH (tagged with its request id) has a client, who gets a 503; any
 * other (a HANDOFF's socket, untagged) is just closed.
 */
static void
workers_unsent(const char *tag, const uint8_t *frame, size_t len, int *fds,
    int nfds, void *arg)
{
	(void) arg;
	(void) frame;
	(void) len;
	for (int i = 0; i < nfds; i++) {
		if (tag[0] == '\0') {
			(void) close(fds[i]);
			continue;
		}
		char peer[64];
		struct sconn *sc;

		netutil_peer_str(fds[i], peer, sizeof (peer));
		if ((sc = front_conn(fds[i], peer, netutil_now_ms(), tag)) !=
		    NULL)
			front_error(sc, 503, "ServiceUnavailable",
			    "the worker for this session went away",
			    "Retry-After: 1\r\n");
	}
}

/*
 * Passing attaches.  What the accept loop routes to a worker in one loop
 * iteration (the supervisor sees tens of connections an iteration under
 * load) waits in the worker's batch and leaves together, before the loop
 * waits again (an ev_prepare), as one ATTACH_BATCH: one sendmsg() here and
 * one recvmsg() in the worker for up to PROTO_BATCH_MAX sockets.  Anything
 * else sent to that worker sends the batch first, so the order holds.
 * Until the batch is sent each connection is still ours (a 503 if it
 * cannot go); once ctlchan_send() took it, the worker's.
 */
static void
workers_attach_of(const struct sconn *sc, struct proto_attach *a)
{
	memset(a, 0, sizeof (*a));
	a->pa_req_id.ps_p = sc->sc_reqid;
	a->pa_req_id.ps_n = strlen(sc->sc_reqid);
	a->pa_session.ps_p = sc->sc_sid;
	a->pa_session.ps_n = strlen(sc->sc_sid);
	a->pa_role = (uint32_t)sc->sc_role;
	a->pa_head.ps_p = sc->sc_buf;
	a->pa_head.ps_n = sc->sc_len;
	a->pa_peer.ps_p = sc->sc_peer;
	a->pa_peer.ps_n = strlen(sc->sc_peer);
	a->pa_accept_ms = sc->sc_accept_ms;
	a->pa_flags = sc->sc_flags;
}

/* Send w's batch now (or answer it 503 if it cannot go). */
static void
workers_batch_send(struct wproc *w)
{
	struct proto_attach_batch *m = &ws.ws_batch;
	int fds[PROTO_BATCH_MAX], n = w->wp_nbatch, rv;
	char tag[CTLCHAN_TAG_MAX];
	msgpack_sbuffer sb;

	/*
	 * Off the list first, even if empty (its connections may all have
	 * gone meanwhile): the prepare callback loops until the list is.
	 */
	for (struct wproc **pp = &ws.ws_batched; *pp != NULL;
	    pp = &(*pp)->wp_bnext) {
		if (*pp == w) {
			*pp = w->wp_bnext;
			break;
		}
	}
	w->wp_bnext = NULL;
	w->wp_nbatch = 0;
	w->wp_bbytes = 0;
	if (n == 0)
		return;
	for (int i = 0; i < n; i++) {
		w->wp_batch[i]->sc_batch = NULL;
		fds[i] = w->wp_batch[i]->sc_fd;
	}
	msgpack_sbuffer_init(&sb);
	if (n == 1) {
		workers_attach_of(w->wp_batch[0], &m->pab_a[0]);
		rv = proto_enc_attach(&sb, &m->pab_a[0]);
	} else {
		m->pab_n = (uint32_t)n;
		for (int i = 0; i < n; i++)
			workers_attach_of(w->wp_batch[i], &m->pab_a[i]);
		rv = proto_enc_attach_batch(&sb, m);
	}
	if (n > 1)	/* a 503 for each if it comes back: "first+others" */
		snprintf(tag, sizeof (tag), "%s+%d", w->wp_batch[0]->sc_reqid,
		    n - 1);
	else
		snprintf(tag, sizeof (tag), "%s", w->wp_batch[0]->sc_reqid);
	if (rv == 0 && w->wp_ctl.cc_fd >= 0)
		rv = ctlchan_send(&w->wp_ctl, sb.data, sb.size, fds, n, tag);
	else if (rv == 0)
		rv = -1, errno = EPIPE;
	msgpack_sbuffer_destroy(&sb);
	if (rv != 0) {
		mlog(MLOG_WARN, "cannot queue attaches for the worker",
		    "shard=%u connections=%d error=%s", w->wp_shard->sh_index,
		    n, strerror(errno));
		for (int i = 0; i < n; i++)
			front_error(w->wp_batch[i], 503, "ServiceUnavailable",
			    "the shard for this session is overloaded",
			    "Retry-After: 1\r\n");
		return;
	}
	for (int i = 0; i < n; i++)
		front_forget(w->wp_batch[i]);	/* the worker's now */
	/* Try at once; the sockets' descriptors are closed once sent. */
	if (ctlchan_flush(&w->wp_ctl) == 0)
		ev_io_start(ws.ws_loop, &w->wp_wio);
}

static void
workers_batch_prep_cb(EV_P_ ev_prepare *p, int revents)
{
	(void) EV_A;
	(void) p;
	(void) revents;
	while (ws.ws_batched != NULL)
		workers_batch_send(ws.ws_batched);
}

/* sc is going away before its batch left: take it out. */
void
workers_batch_forget(struct sconn *sc)
{
	struct wproc *w = sc->sc_batch;
	int j = 0;

	if (w == NULL)
		return;
	for (int i = 0; i < w->wp_nbatch; i++)
		if (w->wp_batch[i] != sc)
			w->wp_batch[j++] = w->wp_batch[i];
	w->wp_nbatch = j;
	sc->sc_batch = NULL;
}

/* Pass an attach to the shard's active worker (in its batch). */
static void
workers_pass(struct wproc *w, struct sconn *sc)
{
	/* Well inside a frame (heads may be up to head_max_bytes each). */
	if (w->wp_nbatch > 0 &&
	    w->wp_bbytes + sc->sc_len + 1024 > PROTO_FRAME_MAX / 2)
		workers_batch_send(w);
	/* It is the worker's now but for the sending: no time-out of ours. */
	ev_timer_stop(ws.ws_loop, &sc->sc_timer);
	w->wp_bbytes += sc->sc_len + 1024;
	if (w->wp_nbatch == 0) {
		w->wp_bnext = ws.ws_batched;
		ws.ws_batched = w;
	}
	w->wp_batch[w->wp_nbatch++] = sc;
	sc->sc_batch = w;
	if (w->wp_nbatch == PROTO_BATCH_MAX)
		workers_batch_send(w);
}

/*
 * Route an attach to its shard: to the active worker if it is ready, else
 * held until one is (or 503 after hold_timeout_s).
 */
void
workers_route(struct sconn *sc)
{
	struct shard *sh = sc->sc_shard;
	struct wproc *w = sh->sh_active;

	if (sup_stopping()) {
		front_error(sc, 503, "ShuttingDown", "the server is shutting "
		    "down", "Retry-After: 1\r\n");
		return;
	}
	if (w != NULL && w->wp_state == W_READY && sh->sh_held == NULL) {
		workers_pass(w, sc);
		return;
	}
	if (sh->sh_failed && w == NULL) {
		front_error(sc, 503, "ServiceUnavailable", "the shard for this "
		    "session has failed", "Retry-After: 10\r\n");
		return;
	}
	front_hold(sc, sh);
}

/* The shard has a ready worker: pass everything that waited for it. */
void
workers_flush_held(struct shard *sh)
{
	struct wproc *w = sh->sh_active;

	while (sh->sh_held != NULL && w != NULL && w->wp_state == W_READY) {
		struct sconn *sc = sh->sh_held;

		front_unhold(sc);
		sc->sc_shard = sh;
		workers_pass(w, sc);
	}
}

/* --- the worker's messages ---------------------------------------------- */

static void
workers_msg_ready(struct wproc *w, const uint8_t *b, size_t n)
{
	struct shard *sh = w->wp_shard;
	struct proto_ready m;
	char err[128];

	if (proto_dec_ready(b, n, &m, err, sizeof (err)) != 0) {
		workers_kill(w, err);
		return;
	}
	if (m.pr_version != PROTO_VERSION) {
		mlog(MLOG_ERROR, "worker speaks another protocol version",
		    "shard=%u worker_pid=%d theirs=%u ours=%d", sh->sh_index,
		    (int)w->wp_pid, m.pr_version, PROTO_VERSION);
		workers_kill(w, "protocol version mismatch");
		return;
	}
	if (w->wp_state != W_STARTING || m.pr_shard != sh->sh_index) {
		workers_kill(w, "unexpected READY");
		return;
	}
	snprintf(w->wp_version, sizeof (w->wp_version), "%.*s",
	    (int)m.pr_software.ps_n, m.pr_software.ps_p);
	w->wp_state = W_READY;
	w->wp_ready_at = ev_now(ws.ws_loop);
	ev_timer_stop(ws.ws_loop, &w->wp_timer);
	mlog(MLOG_INFO, "worker ready", "shard=%u worker_pid=%d version=%s",
	    sh->sh_index, (int)w->wp_pid, w->wp_version);
	if (sh->sh_next == w) {
		restart_worker_ready(w);	/* a successor: restart.c */
		return;
	}
	if (sh->sh_active == w)
		workers_flush_held(sh);
	sup_worker_ready();		/* the first time all serve: systemd */
	if (sup_draining())
		workers_shutdown(w, PROTO_SHUTDOWN_DRAIN, 0);
}

static void
workers_msg_report(struct wproc *w, const uint8_t *b, size_t n)
{
	char err[128];

	if (proto_dec_report(b, n, &w->wp_report, err, sizeof (err)) != 0)
		workers_kill(w, err);
}

static void
workers_msg_status_reply(struct wproc *w, const uint8_t *b, size_t n)
{
	struct proto_status_reply m;
	char err[128];

	if (proto_dec_status_reply(b, n, &m, err, sizeof (err)) != 0) {
		workers_kill(w, err);
		return;
	}
	status_reply(w, &m);
	proto_status_reply_free(&m);
}

static void
workers_msg_handoff_done(struct wproc *w, const uint8_t *b, size_t n)
{
	struct proto_handoff_done m;
	char err[128];

	if (proto_dec_handoff_done(b, n, &m, err, sizeof (err)) != 0) {
		workers_kill(w, err);
		return;
	}
	restart_handoff_done(w, &m);
}

/* The one dispatch table: message type -> handler. */
static void (*const supervisor_dispatch[PROTO_MAX])(struct wproc *,
    const uint8_t *, size_t) = {
	[PROTO_READY] = workers_msg_ready,
	[PROTO_REPORT] = workers_msg_report,
	[PROTO_STATUS_REPLY] = workers_msg_status_reply,
	[PROTO_HANDOFF_DONE] = workers_msg_handoff_done,
};

static int
supervisor_dispatch_worker(void *arg, const uint8_t *b, size_t n)
{
	struct wproc *w = arg;
	int type = proto_type(b, n);

	if (type == PROTO_INVALID || supervisor_dispatch[type] == NULL) {
		mlog(MLOG_ERROR, "unexpected message from worker", "shard=%u "
		    "type=%s", w->wp_shard->sh_index, proto_type_name(type));
		workers_kill(w, "unexpected message");
		return (CTLCHAN_NEXT);
	}
	if (w->wp_state == W_STARTING && type != PROTO_READY) {
		workers_kill(w, "message before READY");
		return (CTLCHAN_NEXT);
	}
	supervisor_dispatch[type](w, b, n);
	return (CTLCHAN_NEXT);
}

static void
workers_channel_down(struct wproc *w)
{
	ev_io_stop(ws.ws_loop, &w->wp_rio);
	ev_io_stop(ws.ws_loop, &w->wp_wio);
	if (w->wp_ctl.cc_fd >= 0)
		ctlchan_close(&w->wp_ctl, workers_unsent, NULL);
	workers_batch_send(w);	/* the channel is closed: a 503 each */
	status_worker_gone(w);
}

/* A worker retiring after a handoff, or told to drain: its end is due. */
static bool
workers_leaving(const struct wproc *w)
{
	return (w->wp_state == W_RETIRING ||
	    (w->wp_told_to_exit && w->wp_state != W_STOPPING));
}

static void
workers_read_cb(EV_P_ ev_io *io, int revents)
{
	struct wproc *w = io->data;

	(void) EV_A;
	(void) revents;
	switch (ctlchan_pump(&w->wp_ctl, supervisor_dispatch_worker, w, 1)) {
	case CTLCHAN_AGAIN:
	case CTLCHAN_CLOSED:
		return;
	case CTLCHAN_BAD:
		workers_kill(w, "oversized frame");
		return;
	case CTLCHAN_ERROR:
		/*
		 * A worker on its way out may leave bytes of ours unread, and
		 * its exit then resets the channel: that is its end, not a
		 * fault (seen under ASan, whose exit is slower).
		 */
		if (errno == ECONNRESET && workers_leaving(w))
			break;
		mlog(MLOG_ERROR, "control channel read failed", "shard=%u "
		    "error=%s", w->wp_shard->sh_index, strerror(errno));
		break;
	case CTLCHAN_END:
		break;
	}
	/* Channel gone: the process is dying, or must. */
	workers_channel_down(w);
	if (workers_leaving(w)) {
		/*
		 * A retiring worker that has handed off and drained, or one
		 * told to drain, closes its channel on its way out:
		 * expected, not an operator's concern.  Its exit arrives at
		 * workers_child_cb; if it does not come, the timer kills it.
		 */
		mlog(MLOG_INFO, "worker closed its channel on its way out",
		    "shard=%u worker_pid=%d", w->wp_shard->sh_index,
		    (int)w->wp_pid);
		w->wp_state = W_STOPPING;
		workers_timer(w, ws.ws_conf->mc_shutdown_timeout);
	} else if (w->wp_state != W_STOPPING) {
		workers_kill(w, "control channel closed");
	}
}

static void
workers_write_cb(EV_P_ ev_io *io, int revents)
{
	struct wproc *w = io->data;
	int r;

	(void) revents;
	r = ctlchan_flush(&w->wp_ctl);
	if (r == 1) {
		ev_io_stop(EV_A_ io);
	} else if (r < 0) {
		mlog(MLOG_ERROR, "control channel write failed", "shard=%u "
		    "error=%s", w->wp_shard->sh_index, strerror(errno));
		ev_io_stop(EV_A_ io);
		workers_channel_down(w);
		workers_kill(w, "control channel write failed");
	}
}

/* --- deaths and restarts ------------------------------------------------- */

static void
workers_free(struct wproc *w)
{
	workers_batch_send(w);	/* none may stay behind (503 if closed) */
	w->wp_shard->sh_gone_bytes += w->wp_report.prp_bytes;
	w->wp_shard->sh_gone_messages += w->wp_report.prp_messages;
	for (int k = 0; k < PROTO_DIRC_MAX; k++)
		w->wp_shard->sh_gone_dir[k] += w->wp_report.prp_dir[k];
	for (int k = 0; k < PROTO_EVC_MAX; k++)
		w->wp_shard->sh_gone_ev[k] += w->wp_report.prp_ev[k];
	for (int h = 0; h < PROTO_HIST_MAX; h++) {
		for (int k = 0; k < PROTO_HIST_SLOTS; k++)
			w->wp_shard->sh_gone_hist[h][k] +=
			    w->wp_report.prp_hist[h][k];
	}
	ev_timer_stop(ws.ws_loop, &w->wp_timer);
	LIST_REMOVE(w, wp_link);
	free(w);
}

/* The active process of a shard died: start another after the back-off. */
static void
workers_replace(struct shard *sh, struct wproc *dead)
{
	double up = dead != NULL && dead->wp_ready_at > 0 ?
	    ev_now(ws.ws_loop) - dead->wp_ready_at : 0;

	if (up >= WORKER_HEALTHY_AFTER) {
		sh->sh_backoff = WORKER_BACKOFF_MIN;
		sh->sh_quick_deaths = 0;
		sh->sh_failed = false;
	}
	sh->sh_quick_deaths++;
	sh->sh_restarts++;
	if (sh->sh_quick_deaths >= WORKER_FAILED_AFTER && !sh->sh_failed) {
		sh->sh_failed = true;
		mlog(MLOG_ERROR, "shard failed: its worker keeps dying",
		    "shard=%u deaths=%u", sh->sh_index, sh->sh_quick_deaths);
	}
	mlog(MLOG_INFO, "restarting worker", "shard=%u delay_ms=%.0f "
	    "restarts=%u", sh->sh_index, sh->sh_backoff * 1000,
	    sh->sh_restarts);
	ev_timer_stop(ws.ws_loop, &sh->sh_timer);
	ev_timer_set(&sh->sh_timer, sh->sh_backoff, 0);
	ev_timer_start(ws.ws_loop, &sh->sh_timer);
	sh->sh_backoff *= 2;
	if (sh->sh_backoff > WORKER_BACKOFF_MAX)
		sh->sh_backoff = WORKER_BACKOFF_MAX;
}

/*
 * A shard with no process that is or will be its worker, and no start
 * pending, gets one after the back-off, whatever left it so (a crash, a
 * restart that lost both its processes).  dead: the process that was
 * active, if that is what happened.
 */
void
workers_ensure(struct shard *sh, struct wproc *dead)
{
	if (sup_stopping() || sup_draining() || sh->sh_active != NULL ||
	    sh->sh_next != NULL || ev_is_active(&sh->sh_timer))
		return;
	workers_replace(sh, dead);
}

/*
 * The last frames of a worker that exited: a worker on its way out sends
 * a final REPORT (so that its last second of counts is not lost), and its
 * exit may be seen before its channel is read.  Only REPORTs are taken
 * now; anything else has no one to act on it.
 */
static int
workers_final_frame(void *arg, const uint8_t *b, size_t n)
{
	struct wproc *w = arg;
	struct proto_report r;
	char err[128];

	if (proto_type(b, n) == PROTO_REPORT &&
	    proto_dec_report(b, n, &r, err, sizeof (err)) == 0)
		w->wp_report = r;
	return (CTLCHAN_NEXT);
}

static void
workers_child_cb(EV_P_ ev_child *c, int revents)
{
	struct wproc *w = c->data;
	struct shard *sh = w->wp_shard;
	int st = c->rstatus;
	bool expected = sup_stopping() || sup_draining() ||
	    w->wp_told_to_exit;
	bool was_active = sh->sh_active == w;

	(void) revents;
	ev_child_stop(EV_A_ c);
	if (w->wp_ctl.cc_fd >= 0)
		(void) ctlchan_pump(&w->wp_ctl, workers_final_frame, w, 64);
	workers_channel_down(w);
	if (!expected || (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM &&
	    WTERMSIG(st) != SIGKILL) || (WIFEXITED(st) && WEXITSTATUS(st) != 0))
		sh->sh_crashes++;
	if (WIFSIGNALED(st)) {
		mlog(expected ? MLOG_INFO : MLOG_ERROR, "worker exited",
		    "shard=%u worker_pid=%d signal=%s", sh->sh_index,
		    (int)w->wp_pid, strsignal(WTERMSIG(st)));
	} else {
		mlog(expected && WEXITSTATUS(st) == 0 ? MLOG_INFO : MLOG_ERROR,
		    "worker exited", "shard=%u worker_pid=%d status=%d",
		    sh->sh_index, (int)w->wp_pid, WEXITSTATUS(st));
	}
	if (sh->sh_active == w)
		sh->sh_active = NULL;
	if (sh->sh_next == w)
		sh->sh_next = NULL;
	w->wp_pid = 0;
	/* A restart decides what the shard does now, if it owns w. */
	if (restart_owns(w))
		restart_worker_gone(w);
	workers_ensure(sh, was_active ? w : NULL);
	workers_free(w);
	if ((sup_stopping() || sup_draining()) && workers_all_down())
		ev_break(EV_A_ EVBREAK_ALL);
}

static void
workers_timer_cb(EV_P_ ev_timer *t, int revents)
{
	struct wproc *w = t->data;

	(void) EV_A;
	(void) revents;
	if (w->wp_state == W_STARTING)
		workers_kill(w, "no READY in time");
	else if (w->wp_state == W_STOPPING && w->wp_pid > 0)
		(void) kill(w->wp_pid, SIGKILL);	/* it did not exit */
}

static void
workers_shard_timer_cb(EV_P_ ev_timer *t, int revents)
{
	(void) EV_A;
	(void) revents;
	workers_start_shard(t->data);
}

void
workers_shutdown(struct wproc *w, int mode, uint64_t timeout_ms)
{
	struct proto_shutdown m;
	msgpack_sbuffer sb;

	memset(&m, 0, sizeof (m));
	m.psd_mode = (uint32_t)mode;
	m.psd_timeout_ms = timeout_ms;
	w->wp_told_to_exit = true;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_shutdown(&sb, &m);
	workers_send(w, &sb);
	msgpack_sbuffer_destroy(&sb);
}

void
workers_stop_all(int mode)
{
	struct wproc *w;

	for (unsigned i = 0; i < ws.ws_nshards; i++)
		ev_timer_stop(ws.ws_loop, &ws.ws_shards[i].sh_timer);
	LIST_FOREACH(w, &ws.ws_procs, wp_link) {
		if (w->wp_state == W_READY || w->wp_state == W_RETIRING) {
			workers_shutdown(w, mode, 0);
			if (mode == PROTO_SHUTDOWN_CLOSE)
				w->wp_state = W_STOPPING;
		} else if (mode == PROTO_SHUTDOWN_CLOSE ||
		    w->wp_state == W_STARTING) {
			/* Not ready: nothing to close gracefully. */
			(void) kill(w->wp_pid, SIGTERM);
			w->wp_state = W_STOPPING;
			w->wp_told_to_exit = true;
		}
	}
}

/* Every shard has a ready worker. */
bool
workers_all_ready(void)
{
	for (unsigned i = 0; i < ws.ws_nshards; i++) {
		const struct wproc *w = ws.ws_shards[i].sh_active;

		if (w == NULL || w->wp_state != W_READY)
			return (false);
	}
	return (true);
}

bool
workers_all_down(void)
{
	return (LIST_EMPTY(&ws.ws_procs));
}
