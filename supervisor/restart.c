/*
 * restart.c: rolling restarts with live session handoff (SIGHUP, or
 * `medusactl restart [--shard K]`).
 *
 * One shard at a time:
 *
 *	1. start a successor from the worker binary on disk now (so a new
 *	   build takes effect) and wait until it says READY;
 *	2. make a socketpair; give one end to the successor (HANDIN) and the
 *	   other to the old worker (HANDOFF); route the shard's new
 *	   connections to the successor from now on;
 *	3. the old worker moves its live sessions through the pair, one at a
 *	   time, sockets and state, and reports HANDOFF_DONE with how many
 *	   moved and how many stay (those whose sides were closing);
 *	4. the old worker is told to drain: it exits when what stayed has
 *	   ended, or after drain_timeout_s.
 *
 * If the successor dies before it is ready, the shard keeps its old worker
 * and the restart counts that shard as failed.  If it dies during the
 * handoff, the old worker aborts the handoff, keeps the sessions it still
 * has, and becomes the shard's active worker again.  Either way no session
 * ends without a log line saying so.  Progress goes to the log and to the
 * medusactl that asked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "mlog.h"
#include "netutil.h"
#include "supervisor.h"

#define	RESTART_READY_TIMEOUT	15.0	/* s for a successor to start */
#define	RESTART_HANDOFF_TIMEOUT	120.0	/* s for the sessions to move */
#define	RESTART_TICK		5.0	/* s between "still at it" lines */

enum restart_step {
	RS_IDLE = 0,
	RS_STARTING,		/* successor started, not ready */
	RS_HANDOFF		/* sessions moving */
};

/*
 * This file's state: the one rolling restart there can be at a time (its
 * shards, step, processes, counts, timers and the medusactl watching).
 */
static struct restart {
	struct ev_loop	*j_loop;
	const struct medusa_config *j_conf;	/* main.c's */
	bool		j_active;
	unsigned	j_shards[SUP_MAX_WORKERS];
	unsigned	j_nshards;
	unsigned	j_pos;
	enum restart_step j_step;
	struct wproc	*j_old;
	struct wproc	*j_new;
	unsigned	j_failed;
	uint64_t	j_moved;
	uint64_t	j_stayed;
	uint64_t	j_unmoved;	/* should have moved, could not */
	ev_tstamp	j_begun;
	ev_tstamp	j_step_begun;
	ev_timer	j_timer;
	ev_timer	j_tick;		/* "still at it" for the watcher */
	struct admin_conn *j_watcher;
} job;

static void restart_next(void);
static void restart_timer_cb(EV_P_ ev_timer *, int);
static void restart_tick_cb(EV_P_ ev_timer *, int);

void
restart_init(struct ev_loop *loop, const struct medusa_config *conf)
{
	job.j_loop = loop;
	job.j_conf = conf;
	ev_init(&job.j_timer, restart_timer_cb);
	ev_init(&job.j_tick, restart_tick_cb);
}

static void __attribute__((format(printf, 2, 3)))
restart_say(int level, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(text, sizeof (text), fmt, ap);
	va_end(ap);
	mlog(level, "rolling restart", "step=%s", text);
	if (job.j_watcher != NULL)
		admin_progress(job.j_watcher, false, true, text);
}

bool
restart_running(void)
{
	return (job.j_active);
}

bool
restart_owns(const struct wproc *w)
{
	return (job.j_active && (w == job.j_old || w == job.j_new));
}

void
restart_forget_watcher(struct admin_conn *a)
{
	if (job.j_watcher == a)
		job.j_watcher = NULL;
}

/* A step begins: its deadline, and a line every few seconds meanwhile. */
static void
restart_timer(double after)
{
	ev_timer_stop(job.j_loop, &job.j_timer);
	ev_timer_set(&job.j_timer, after, 0);
	ev_timer_start(job.j_loop, &job.j_timer);
	job.j_step_begun = ev_now(job.j_loop);
	ev_timer_stop(job.j_loop, &job.j_tick);
	ev_timer_set(&job.j_tick, RESTART_TICK, RESTART_TICK);
	ev_timer_start(job.j_loop, &job.j_tick);
}

/*
 * Tell the watcher (not the log) that the step goes on, so that a long
 * handoff is not taken for a hung server.
 */
static void
restart_tick_cb(EV_P_ ev_timer *t, int revents)
{
	char text[160];
	const char *what;
	struct wproc *w;

	(void) t;
	(void) revents;
	if (job.j_watcher == NULL)
		return;
	if (job.j_step == RS_STARTING && (w = job.j_new) != NULL)
		what = "waiting for the new worker";
	else if (job.j_step == RS_HANDOFF && (w = job.j_old) != NULL)
		what = "moving sessions";
	else
		return;
	snprintf(text, sizeof (text), "shard %u: still %s (%.0f s)",
	    w->wp_shard->sh_index, what, ev_now(EV_A) - job.j_step_begun);
	admin_progress(job.j_watcher, false, true, text);
}

/* This shard is done (ok or not): on to the next. */
static void
restart_shard_done(bool ok)
{
	struct shard *sh = workers_shard(job.j_shards[job.j_pos]);

	if (!ok)
		job.j_failed++;
	ev_timer_stop(job.j_loop, &job.j_timer);
	ev_timer_stop(job.j_loop, &job.j_tick);
	job.j_step = RS_IDLE;
	job.j_old = job.j_new = NULL;
	job.j_pos++;
	/* Whatever happened, the shard must not be left without a worker. */
	workers_ensure(sh, NULL);
	restart_next();
}

/*
 * The old worker has handed off what it could (or given up): it drains
 * what stayed, bounded by drain_timeout_s, and the shard is done.
 */
static void
restart_retire(struct wproc *old, bool ok)
{
	workers_shutdown(old, PROTO_SHUTDOWN_DRAIN,
	    (uint64_t)(job.j_conf->mc_drain_timeout * 1000));
	restart_shard_done(ok);
}

static void
restart_finish(void)
{
	char text[256];
	bool ok = job.j_failed == 0;

	snprintf(text, sizeof (text), "restart %s: %u shard%s, %u failed; "
	    "sessions moved %llu, stayed %llu (could not move %llu); %.1f s",
	    ok ? "done" : "FAILED", job.j_nshards, job.j_nshards == 1 ? "" :
	    "s", job.j_failed, (unsigned long long)job.j_moved,
	    (unsigned long long)job.j_stayed, (unsigned long long)job.j_unmoved,
	    ev_now(job.j_loop) - job.j_begun);
	mlog(ok ? MLOG_INFO : MLOG_ERROR, "rolling restart finished",
	    "shards=%u failed=%u moved=%llu stayed=%llu unmoved=%llu",
	    job.j_nshards, job.j_failed, (unsigned long long)job.j_moved,
	    (unsigned long long)job.j_stayed,
	    (unsigned long long)job.j_unmoved);
	if (job.j_watcher != NULL)
		admin_progress(job.j_watcher, true, ok, text);
	job.j_active = false;
	job.j_watcher = NULL;
	sup_reloading(false);
}

static void
restart_next(void)
{
	struct shard *sh;

	if (sup_stopping() || sup_draining()) {
		restart_say(MLOG_WARN, "stopped: the server is shutting down");
		job.j_failed += job.j_nshards - job.j_pos;
		restart_finish();
		return;
	}
	if (job.j_pos >= job.j_nshards) {
		restart_finish();
		return;
	}
	sh = workers_shard(job.j_shards[job.j_pos]);
	if (sh->sh_active == NULL || sh->sh_active->wp_state != W_READY) {
		/* Down: the normal restart path brings the new binary. */
		restart_say(MLOG_WARN, "shard %u: no ready worker to replace; "
		    "skipped", sh->sh_index);
		restart_shard_done(false);
		return;
	}
	job.j_old = sh->sh_active;
	if ((job.j_new = workers_spawn(sh)) == NULL) {
		restart_say(MLOG_ERROR, "shard %u: cannot start a new worker",
		    sh->sh_index);
		restart_shard_done(false);
		return;
	}
	sh->sh_next = job.j_new;
	job.j_step = RS_STARTING;
	restart_timer(RESTART_READY_TIMEOUT);
	restart_say(MLOG_INFO, "shard %u: starting a new worker (pid %d) to "
	    "replace pid %d", sh->sh_index, (int)job.j_new->wp_pid,
	    (int)job.j_old->wp_pid);
}

/* The successor is ready: switch the shard to it and move the sessions. */
void
restart_worker_ready(struct wproc *w)
{
	struct shard *sh = w->wp_shard;
	struct proto_handoff m;
	msgpack_sbuffer sb;
	int sv[2];

	if (w != job.j_new || job.j_step != RS_STARTING)
		return;
	if (job.j_old == NULL || job.j_old->wp_state != W_READY) {
		/* The old one died meanwhile: the successor just takes over. */
		sh->sh_next = NULL;
		sh->sh_active = w;
		workers_flush_held(sh);
		restart_say(MLOG_WARN, "shard %u: the old worker is gone; pid "
		    "%d takes over", sh->sh_index, (int)w->wp_pid);
		restart_shard_done(true);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		restart_say(MLOG_ERROR, "shard %u: socketpair: %s",
		    sh->sh_index, strerror(errno));
		workers_kill(w, "restart abandoned");
		restart_shard_done(false);
		return;
	}
	msgpack_sbuffer_init(&sb);
	m.pho_pid = (uint32_t)job.j_old->wp_pid;
	(void) proto_enc_handoff(&sb, PROTO_HANDIN, &m);
	if (workers_send_fd(w, &sb, sv[1]) != 0) {
		(void) close(sv[0]);
		(void) close(sv[1]);
		msgpack_sbuffer_destroy(&sb);
		workers_kill(w, "cannot send HANDIN");
		restart_say(MLOG_ERROR, "shard %u: cannot reach the new worker",
		    sh->sh_index);
		restart_shard_done(false);
		return;
	}
	sb.size = 0;
	m.pho_pid = (uint32_t)w->wp_pid;
	(void) proto_enc_handoff(&sb, PROTO_HANDOFF, &m);
	if (workers_send_fd(job.j_old, &sb, sv[0]) != 0) {
		(void) close(sv[0]);
		msgpack_sbuffer_destroy(&sb);
		workers_kill(w, "cannot send HANDOFF");
		restart_say(MLOG_ERROR, "shard %u: cannot reach the old worker",
		    sh->sh_index);
		restart_shard_done(false);
		return;
	}
	msgpack_sbuffer_destroy(&sb);
	/* New connections go to the successor from now on. */
	sh->sh_next = NULL;
	sh->sh_active = w;
	job.j_old->wp_state = W_RETIRING;
	workers_flush_held(sh);
	job.j_step = RS_HANDOFF;
	restart_timer(RESTART_HANDOFF_TIMEOUT);
	restart_say(MLOG_INFO, "shard %u: pid %d (version %s) is ready; "
	    "moving the sessions of pid %d", sh->sh_index, (int)w->wp_pid,
	    w->wp_version, (int)job.j_old->wp_pid);
}

void
restart_handoff_done(struct wproc *w, const struct proto_handoff_done *d)
{
	struct shard *sh = w->wp_shard;

	if (w != job.j_old || job.j_step != RS_HANDOFF) {
		mlog(MLOG_WARN, "unexpected HANDOFF_DONE", "shard=%u "
		    "worker_pid=%d", sh->sh_index, (int)w->wp_pid);
		return;
	}
	job.j_moved += d->phd_moved;
	job.j_stayed += d->phd_stayed;
	job.j_unmoved += d->phd_failed;
	metrics_handoff(d->phd_moved, d->phd_stayed, d->phd_failed);
	if (d->phd_aborted && (job.j_new == NULL ||
	    job.j_new->wp_state != W_READY)) {
		/* The successor went away: the old worker carries on. */
		sh->sh_active = w;
		w->wp_state = W_READY;
		workers_flush_held(sh);
		restart_say(MLOG_ERROR, "shard %u: handoff aborted (the new "
		    "worker went away): %llu had moved and ended with it, "
		    "%llu stay with pid %d, which serves the shard again",
		    sh->sh_index, (unsigned long long)d->phd_moved,
		    (unsigned long long)d->phd_stayed, (int)w->wp_pid);
		restart_shard_done(false);
		return;
	}
	if (d->phd_aborted) {
		/*
		 * The channel broke but the successor lives: it keeps what it
		 * has, and the old worker drains the rest where it is.
		 */
		restart_say(MLOG_ERROR, "shard %u: handoff aborted: %llu moved, "
		    "%llu stay to finish in pid %d", sh->sh_index,
		    (unsigned long long)d->phd_moved,
		    (unsigned long long)d->phd_stayed, (int)w->wp_pid);
		restart_retire(w, false);
		return;
	}
	if (d->phd_failed > 0)
		restart_say(MLOG_ERROR, "shard %u: %llu sessions moved; %llu "
		    "could not (see the worker's log) and stay, with %llu "
		    "others, to finish in pid %d", sh->sh_index,
		    (unsigned long long)d->phd_moved,
		    (unsigned long long)d->phd_failed,
		    (unsigned long long)(d->phd_stayed > d->phd_failed ?
		    d->phd_stayed - d->phd_failed : 0),
		    (int)w->wp_pid);
	else
		restart_say(MLOG_INFO, "shard %u: %llu sessions moved, %llu "
		    "stay to finish in pid %d", sh->sh_index,
		    (unsigned long long)d->phd_moved,
		    (unsigned long long)d->phd_stayed, (int)w->wp_pid);
	restart_retire(w, d->phd_failed == 0);
}

/* A process of the job exited. */
void
restart_worker_gone(struct wproc *w)
{
	struct shard *sh = w->wp_shard;

	if (w == job.j_new) {
		job.j_new = NULL;
		if (job.j_step == RS_STARTING) {
			if (job.j_old != NULL)
				restart_say(MLOG_ERROR, "shard %u: the new "
				    "worker died before it was ready; pid %d "
				    "keeps the shard", sh->sh_index,
				    (int)job.j_old->wp_pid);
			else
				restart_say(MLOG_ERROR, "shard %u: the new "
				    "worker died before it was ready",
				    sh->sh_index);
			restart_shard_done(false);
		} else if (job.j_step == RS_HANDOFF && job.j_old == NULL) {
			/* Both are gone (shutting down). */
			restart_shard_done(false);
		}
		/* Else (RS_HANDOFF) the old worker reports the abort. */
		return;
	}
	if (w == job.j_old) {
		job.j_old = NULL;
		if (job.j_step == RS_STARTING && job.j_new == NULL) {
			restart_shard_done(false);
		} else if (job.j_step == RS_HANDOFF) {
			restart_say(MLOG_ERROR, "shard %u: the old worker died "
			    "during the handoff; its sessions not yet moved "
			    "ended with it", sh->sh_index);
			restart_shard_done(false);
		}
		/* In RS_STARTING the successor takes over when ready. */
	}
}

static void
restart_timer_cb(EV_P_ ev_timer *t, int revents)
{
	(void) EV_A;
	(void) t;
	(void) revents;
	if (job.j_step == RS_STARTING && job.j_new != NULL) {
		restart_say(MLOG_ERROR, "shard %u: the new worker was not "
		    "ready in time", job.j_new->wp_shard->sh_index);
		job.j_new->wp_told_to_exit = true;
		workers_kill(job.j_new, "not ready in time");
		job.j_new->wp_shard->sh_next = NULL;
		restart_shard_done(false);
	} else if (job.j_step == RS_HANDOFF && job.j_old != NULL) {
		restart_say(MLOG_ERROR, "shard %u: the handoff did not finish "
		    "in time; the old worker drains what it has",
		    job.j_old->wp_shard->sh_index);
		restart_retire(job.j_old, false);
	}
}

/*
 * Begin a rolling restart of one shard (or all, shard < 0).  0, or -1
 * with a reason (one is already under way, no such shard).
 */
int
restart_begin(int shard, struct admin_conn *watcher, char *err,
    size_t errlen)
{
	if (job.j_active) {
		snprintf(err, errlen, "a rolling restart is already under way");
		return (-1);
	}
	if (sup_stopping() || sup_draining()) {
		snprintf(err, errlen, "the server is shutting down");
		return (-1);
	}
	if (shard >= (int)workers_nshards()) {
		snprintf(err, errlen, "no shard %d (there are %u)", shard,
		    workers_nshards());
		return (-1);
	}
	/* What the last one left: everything but the loop and settings. */
	job.j_nshards = job.j_pos = job.j_failed = 0;
	job.j_step = RS_IDLE;
	job.j_old = job.j_new = NULL;
	job.j_moved = job.j_stayed = job.j_unmoved = 0;
	job.j_active = true;
	job.j_watcher = watcher;
	sup_reloading(true);
	job.j_begun = ev_now(job.j_loop);
	if (shard >= 0) {
		job.j_shards[0] = (unsigned)shard;
		job.j_nshards = 1;
	} else {
		for (unsigned i = 0; i < workers_nshards(); i++)
			job.j_shards[i] = i;
		job.j_nshards = workers_nshards();
	}
	mlog(MLOG_INFO, "rolling restart begins", "shards=%u worker_path=%s",
	    job.j_nshards, workers_path());
	restart_next();
	return (0);
}
