/*
 * workers.c: starting, talking to, watching and restarting the worker
 * processes, one per shard.  See supervisor/main.c.
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

#include "httpresp.h"
#include "mlog.h"
#include "netutil.h"
#include "supervisor.h"
#include "version.h"

#define	WORKER_START_TIMEOUT	10.0	/* s, from fork to READY */
#define	WORKER_CTL_QMAX		(32u * 1024 * 1024)
#define	WORKER_BACKOFF_MIN	0.1
#define	WORKER_BACKOFF_MAX	10.0
#define	WORKER_HEALTHY_AFTER	60.0	/* s up before the back-off resets */

static void workers_read_cb(EV_P_ ev_io *, int);
static void workers_write_cb(EV_P_ ev_io *, int);
static void workers_child_cb(EV_P_ ev_child *, int);
static void workers_timer_cb(EV_P_ ev_timer *, int);
static void workers_spawn(struct wproc *);

const char *
workers_state_name(enum wstate s)
{
	switch (s) {
	case W_DOWN: return ("down");
	case W_STARTING: return ("starting");
	case W_READY: return ("ready");
	case W_STOPPING: return ("stopping");
	case W_FAILED: return ("failed");
	default: return ("unknown");
	}
}

static void
workers_timer(struct wproc *w, double after)
{
	ev_timer_stop(sup.s_loop, &w->wp_timer);
	ev_timer_set(&w->wp_timer, after, 0);
	ev_timer_start(sup.s_loop, &w->wp_timer);
}

/* Kill a worker that misbehaves; its exit is handled by workers_child_cb. */
static void
workers_kill(struct wproc *w, const char *why)
{
	mlog(MLOG_ERROR, "killing worker", "shard=%u worker_pid=%d reason=%s",
	    w->wp_shard, (int)w->wp_pid, why);
	if (w->wp_pid > 0)
		(void) kill(w->wp_pid, SIGKILL);
	if (w->wp_state == W_READY || w->wp_state == W_STARTING)
		w->wp_state = W_STOPPING;
}

void
workers_send(struct wproc *w, msgpack_sbuffer *sb)
{
	if (w->wp_ctl.cc_fd < 0)
		return;
	if (ctlchan_send(&w->wp_ctl, sb->data, sb->size, NULL, 0,
	    NULL) != 0) {
		workers_kill(w, "control channel queue full");
		return;
	}
	ev_io_start(sup.s_loop, &w->wp_wio);
}

static void
workers_send_config(struct wproc *w)
{
	const struct medusa_config *c = &sup.s_conf;
	struct proto_config m;
	msgpack_sbuffer sb;

	memset(&m, 0, sizeof (m));
	m.pc_version = PROTO_VERSION;
	m.pc_shard = w->wp_shard;
	m.pc_nshards = sup.s_nworkers;
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
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_config(&sb, &m);
	workers_send(w, &sb);
	msgpack_sbuffer_destroy(&sb);
}

static void
workers_spawn(struct wproc *w)
{
	int sv[2];
	pid_t pid;
	char shardarg[16];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		mlog(MLOG_ERROR, "socketpair failed", "shard=%u error=%s",
		    w->wp_shard, strerror(errno));
		w->wp_state = W_DOWN;
		workers_timer(w, WORKER_BACKOFF_MAX);
		return;
	}
	snprintf(shardarg, sizeof (shardarg), "%u", w->wp_shard);
	pid = fork();
	if (pid < 0) {
		mlog(MLOG_ERROR, "fork failed", "shard=%u error=%s",
		    w->wp_shard, strerror(errno));
		(void) close(sv[0]);
		(void) close(sv[1]);
		w->wp_state = W_DOWN;
		workers_timer(w, WORKER_BACKOFF_MAX);
		return;
	}
	if (pid == 0) {
		sigset_t none;
		char *argv[] = { (char *)"medusa-worker", NULL };

		/* Child: descriptor 3 is the channel; nothing else leaks. */
		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
		(void) signal(SIGPIPE, SIG_DFL);
		/* Terminal signals go to the supervisor, which relays them. */
		(void) setpgid(0, 0);
		if (sv[1] == 3) {
			(void) fcntl(3, F_SETFD, 0);
		} else if (dup2(sv[1], 3) < 0) {
			_exit(127);
		}
		execv(sup.s_worker_path, argv);
		fprintf(stderr, "medusa: exec %s: %s\n", sup.s_worker_path,
		    strerror(errno));
		_exit(127);
	}
	(void) close(sv[1]);
	(void) netutil_nonblock(sv[0]);
	w->wp_pid = pid;
	w->wp_state = W_STARTING;
	w->wp_started_ms = netutil_now_ms();
	w->wp_ready_at = 0;
	memset(&w->wp_report, 0, sizeof (w->wp_report));
	w->wp_version[0] = '\0';
	ctlchan_init(&w->wp_ctl, sv[0], WORKER_CTL_QMAX);
	ev_io_init(&w->wp_rio, workers_read_cb, sv[0], EV_READ);
	ev_io_init(&w->wp_wio, workers_write_cb, sv[0], EV_WRITE);
	w->wp_rio.data = w->wp_wio.data = w;
	ev_io_start(sup.s_loop, &w->wp_rio);
	ev_child_init(&w->wp_child, workers_child_cb, pid, 0);
	w->wp_child.data = w;
	ev_child_start(sup.s_loop, &w->wp_child);
	mlog(MLOG_INFO, "worker started", "shard=%u worker_pid=%d path=%s",
	    w->wp_shard, (int)pid, sup.s_worker_path);
	workers_send_config(w);
	workers_timer(w, WORKER_START_TIMEOUT);
}

void
workers_start_all(void)
{
	for (unsigned i = 0; i < sup.s_nworkers; i++) {
		struct wproc *w = &sup.s_workers[i];

		memset(w, 0, sizeof (*w));
		w->wp_shard = i;
		w->wp_state = W_DOWN;
		w->wp_backoff = WORKER_BACKOFF_MIN;
		w->wp_ctl.cc_fd = -1;
		ev_init(&w->wp_timer, workers_timer_cb);
		w->wp_timer.data = w;
		workers_spawn(w);
	}
}

/* A queued ATTACH that never reached the worker: the client gets a 503. */
static void
workers_unsent(const char *tag, const uint8_t *frame, size_t len, int *fds,
    int nfds, void *arg)
{
	(void) arg;
	(void) frame;
	(void) len;
	for (int i = 0; i < nfds; i++) {
		char peer[64];

		netutil_peer_str(fds[i], peer, sizeof (peer));
		front_conn(fds[i], peer, netutil_now_ms(), tag);
		if (sup.s_conns != NULL && sup.s_conns->sc_fd == fds[i])
			front_error(sup.s_conns, 503, "ServiceUnavailable",
			    "the worker for this session went away",
			    "Retry-After: 1\r\n");
	}
}

int
workers_attach(unsigned shard, int fd, const struct proto_attach *a)
{
	struct wproc *w = &sup.s_workers[shard];
	msgpack_sbuffer sb;
	int rv;

	if (w->wp_state != W_READY || sup.s_stopping)
		return (-1);
	msgpack_sbuffer_init(&sb);
	rv = proto_enc_attach(&sb, a);
	if (rv == 0)
		rv = ctlchan_send(&w->wp_ctl, sb.data, sb.size, &fd, 1,
		    a->pa_req_id.ps_p);
	msgpack_sbuffer_destroy(&sb);
	if (rv != 0) {
		mlog(MLOG_WARN, "cannot queue attach for worker", "shard=%u "
		    "req_id=%s error=%s", shard, a->pa_req_id.ps_p,
		    strerror(errno));
		return (-1);
	}
	/* Try at once; the socket's descriptor is closed once sent. */
	if (ctlchan_flush(&w->wp_ctl) == 0)
		ev_io_start(sup.s_loop, &w->wp_wio);
	return (0);
}

/* --- the worker's messages ------------------------------------------ */

static void
workers_msg_ready(struct wproc *w, const uint8_t *b, size_t n)
{
	struct proto_ready m;
	char err[128];

	if (proto_dec_ready(b, n, &m, err, sizeof (err)) != 0) {
		workers_kill(w, err);
		return;
	}
	if (m.pr_version != PROTO_VERSION) {
		mlog(MLOG_ERROR, "worker speaks another protocol version",
		    "shard=%u worker_pid=%d theirs=%u ours=%d", w->wp_shard,
		    (int)w->wp_pid, m.pr_version, PROTO_VERSION);
		workers_kill(w, "protocol version mismatch");
		return;
	}
	if (w->wp_state != W_STARTING || m.pr_shard != w->wp_shard) {
		workers_kill(w, "unexpected READY");
		return;
	}
	snprintf(w->wp_version, sizeof (w->wp_version), "%.*s",
	    (int)m.pr_software.ps_n, m.pr_software.ps_p);
	w->wp_state = W_READY;
	w->wp_ready_at = ev_now(sup.s_loop);
	ev_timer_stop(sup.s_loop, &w->wp_timer);
	mlog(MLOG_INFO, "worker ready", "shard=%u worker_pid=%d version=%s",
	    w->wp_shard, (int)w->wp_pid, w->wp_version);
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

/* The one dispatch table: message type -> handler. */
static void (*const supervisor_dispatch[PROTO_MAX])(struct wproc *,
    const uint8_t *, size_t) = {
	[PROTO_READY] = workers_msg_ready,
	[PROTO_REPORT] = workers_msg_report,
	[PROTO_STATUS_REPLY] = workers_msg_status_reply,
};

static void
supervisor_dispatch_worker(struct wproc *w, const uint8_t *b, size_t n)
{
	int type = proto_type(b, n);

	if (type == PROTO_INVALID || supervisor_dispatch[type] == NULL) {
		mlog(MLOG_ERROR, "unexpected message from worker", "shard=%u "
		    "type=%s", w->wp_shard, proto_type_name(type));
		workers_kill(w, "unexpected message");
		return;
	}
	if (w->wp_state == W_STARTING && type != PROTO_READY) {
		workers_kill(w, "message before READY");
		return;
	}
	supervisor_dispatch[type](w, b, n);
}

static void
workers_channel_down(struct wproc *w)
{
	ev_io_stop(sup.s_loop, &w->wp_rio);
	ev_io_stop(sup.s_loop, &w->wp_wio);
	if (w->wp_ctl.cc_fd >= 0)
		ctlchan_close(&w->wp_ctl, workers_unsent, NULL);
	status_worker_gone(w);
}

static void
workers_read_cb(EV_P_ ev_io *io, int revents)
{
	struct wproc *w = io->data;
	const uint8_t *body;
	size_t len;
	ssize_t n;
	int r = 0;

	(void) EV_A;
	(void) revents;
	n = ctlchan_fill(&w->wp_ctl);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		/* Channel gone: the process is dying, or must. */
		if (n < 0)
			mlog(MLOG_ERROR, "control channel read failed",
			    "shard=%u error=%s", w->wp_shard, strerror(errno));
		workers_channel_down(w);
		if (w->wp_state == W_READY || w->wp_state == W_STARTING)
			workers_kill(w, "control channel closed");
		return;
	}
	while (w->wp_ctl.cc_fd >= 0 &&
	    (r = ctlchan_next(&w->wp_ctl, &body, &len)) == 1) {
		supervisor_dispatch_worker(w, body, len);
		ctlchan_done(&w->wp_ctl);
	}
	if (w->wp_ctl.cc_fd >= 0 && r < 0)
		workers_kill(w, "oversized frame");
	/* A worker never sends descriptors: any that came are closed. */
	while (w->wp_ctl.cc_fd >= 0 &&
	    ctlchan_take_fds(&w->wp_ctl, &r, 1) == 0)
		(void) close(r);
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
		    "error=%s", w->wp_shard, strerror(errno));
		ev_io_stop(EV_A_ io);
		workers_channel_down(w);
		workers_kill(w, "control channel write failed");
	}
}

static void
workers_child_cb(EV_P_ ev_child *c, int revents)
{
	struct wproc *w = c->data;
	int st = c->rstatus;
	bool expected = sup.s_stopping;
	double up;

	(void) revents;
	ev_child_stop(EV_A_ c);
	workers_channel_down(w);
	ev_timer_stop(EV_A_ &w->wp_timer);
	if (WIFSIGNALED(st)) {
		mlog(expected ? MLOG_INFO : MLOG_ERROR, "worker exited",
		    "shard=%u worker_pid=%d signal=%s", w->wp_shard,
		    (int)w->wp_pid, strsignal(WTERMSIG(st)));
	} else {
		mlog(expected && WEXITSTATUS(st) == 0 ? MLOG_INFO : MLOG_ERROR,
		    "worker exited", "shard=%u worker_pid=%d status=%d",
		    w->wp_shard, (int)w->wp_pid, WEXITSTATUS(st));
	}
	w->wp_pid = 0;
	w->wp_state = W_DOWN;
	memset(&w->wp_report, 0, sizeof (w->wp_report));
	if (sup.s_stopping) {
		if (workers_all_down())
			ev_break(EV_A_ EVBREAK_ALL);
		return;
	}
	/* Back off: 100 ms doubling to 10 s, reset after a healthy minute. */
	up = w->wp_ready_at > 0 ? ev_now(EV_A) - w->wp_ready_at : 0;
	if (up >= WORKER_HEALTHY_AFTER)
		w->wp_backoff = WORKER_BACKOFF_MIN;
	w->wp_restarts++;
	mlog(MLOG_INFO, "restarting worker", "shard=%u delay_ms=%.0f "
	    "restarts=%u", w->wp_shard, w->wp_backoff * 1000,
	    w->wp_restarts);
	workers_timer(w, w->wp_backoff);
	w->wp_backoff *= 2;
	if (w->wp_backoff > WORKER_BACKOFF_MAX)
		w->wp_backoff = WORKER_BACKOFF_MAX;
}

static void
workers_timer_cb(EV_P_ ev_timer *t, int revents)
{
	struct wproc *w = t->data;

	(void) EV_A;
	(void) revents;
	switch (w->wp_state) {
	case W_DOWN:
		if (!sup.s_stopping)
			workers_spawn(w);
		break;
	case W_STARTING:
		workers_kill(w, "no READY in time");
		break;
	case W_STOPPING:
		/* It did not exit when told to. */
		if (w->wp_pid > 0)
			(void) kill(w->wp_pid, SIGKILL);
		break;
	default:
		break;
	}
}

void
workers_stop_all(int mode)
{
	struct proto_shutdown m;
	msgpack_sbuffer sb;

	memset(&m, 0, sizeof (m));
	m.psd_mode = (uint32_t)mode;
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_shutdown(&sb, &m);
	for (unsigned i = 0; i < sup.s_nworkers; i++) {
		struct wproc *w = &sup.s_workers[i];

		ev_timer_stop(sup.s_loop, &w->wp_timer);
		if (w->wp_pid <= 0)
			continue;
		if (w->wp_state == W_READY) {
			workers_send(w, &sb);
		} else {
			/* Not ready: nothing to close gracefully. */
			(void) kill(w->wp_pid, SIGTERM);
		}
		w->wp_state = W_STOPPING;
	}
	msgpack_sbuffer_destroy(&sb);
}

bool
workers_all_down(void)
{
	for (unsigned i = 0; i < sup.s_nworkers; i++) {
		if (sup.s_workers[i].wp_pid > 0)
			return (false);
	}
	return (true);
}
