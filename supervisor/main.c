/*
 * medusa: the Medusa reflector's supervisor.
 *
 * BIG THEORY STATEMENT
 *
 * Medusa gives a user at a terminal (mlogin, the "master") a shell inside a
 * remote job (medusa-agent, the "slave") though neither can accept a
 * connection: both dial in to this reflector with a WebSocket naming the
 * same session id, and the reflector pairs them and relays between them
 * (docs/PROTOCOL.md has the wire protocol).
 *
 * Processes.  This process, the supervisor, owns the listening sockets and
 * one worker process (medusa-worker) per shard.  It never relays a byte of
 * a session.  It accepts connections (TCP_DEFER_ACCEPT: once their first
 * bytes are there), reads each request head (bounded in size and time; a
 * slow client costs only its own timer, never a blocking read; one whose
 * head comes in pieces waits in an epoll set of front.c's own, so that it
 * can be taken out before its socket goes to a worker), and then:
 *
 *	GET /status		answers itself, from the workers' replies
 *	GET /metrics		(status listener only) answers itself:
 *				metrics.c, Prometheus text
 *	GET .../attach/<id>/master|slave
 *				passes the socket to the worker that owns
 *				shard(id) (shard.h: FNV-1a of the lowercased
 *				id, modulo the number of workers)
 *	anything else		404, 405, 400, 408, 431 or 505, with a JSON
 *				body and "Connection: close"
 *
 * Handoff.  An attach is passed as one ATTACH message (proto.h) on the
 * worker's control channel: the socket itself by SCM_RIGHTS, and in msgpack
 * the session id, role, request id, peer address, accept time and the head
 * bytes already read.  The supervisor closes its copy of the socket only
 * after sendmsg() has succeeded, and never touches that connection again:
 * from then on it is the worker's alone.  So a worker that dies takes its
 * own sessions' sockets with it (both peers see the close at once), and
 * nothing of any other shard.  If the message cannot be sent (the worker
 * died first) the socket comes back (ctlchan.h) and the client gets 503.
 * The attaches routed to one worker in one loop iteration (tens, under
 * load) leave together, before the loop waits again, as one ATTACH_BATCH
 * of up to 16 with their sockets: one sendmsg() here and one recvmsg()
 * there instead of one each per connection (workers.c).
 *
 * Workers.  Each worker is started by fork and exec of the medusa-worker
 * binary (by default the one paths.h names), with its end of a socketpair
 * as descriptor 3, in its own process group so that terminal signals reach
 * only the supervisor.  The supervisor sends CONFIG; the worker answers
 * READY; only then is the shard routed to it; until then its new
 * connections are held (below).  A worker that exits is logged with its
 * status or signal and started again after a back-off (100 ms, doubling to
 * 10 s, reset once a worker has been up for a minute).  A worker that
 * breaks the protocol is killed and restarted.  Every second each worker
 * reports its counters (REPORT), and once more as it exits cleanly (read
 * even when its exit is seen first: workers_child_cb); /status asks for
 * the session lists afresh.
 * The counters flow so that none goes back: a REPORT carries the worker's
 * running totals (bytes, messages), and when a process goes workers_free()
 * adds its last REPORT to its shard's sh_gone_* counts; /metrics and the
 * active process's line in /status show the shard's gone counts plus the
 * live ones (a killed worker loses at most its last second).
 * CONFIG carries the session directory's settings (directory, advertise,
 * by default the first bind address and the bound port, claim_ttl); the
 * directory itself is the workers' (worker/main.c): the supervisor never
 * talks to Redis; its counters come in REPORT (/status
 * workers[].directory, /metrics medusa_directory_*).
 *
 * Ownership of descriptors.  Listening sockets, front-end connections and
 * control channels are all close-on-exec; a worker inherits only its own
 * channel.  A front-end connection (front.c) is owned by its struct sconn
 * until it is closed or passed; a passed socket is owned by the channel's
 * queue until sent.
 *
 * A shard with no ready worker (starting, or it just crashed) holds its
 * new connections for up to hold_timeout_s, passes them on when one is
 * ready, and answers 503 with Retry-After to those still waiting then.  A
 * worker that keeps dying (five times in a row, each before a healthy
 * minute) marks its shard "failed" in /status: while it has no worker its
 * new connections get the 503 at once.  It is still retried, at the
 * longest back-off, and every other shard serves on.
 *
 * Rolling restarts (restart.c).  SIGHUP (after re-reading the
 * configuration) or `medusactl restart` replaces the workers one shard at a
 * time: a successor is started from the binary on disk now, and once it is
 * ready the old worker moves its live sessions into it, sockets and state,
 * over a socketpair of their own (worker/handoff.c); the supervisor only
 * makes the pair and switches routing, and never holds a session's socket.
 * The old worker then drains what could not move and exits.
 *
 * Administration (admin.c).  medusactl talks to the supervisor over a
 * UNIX socket (mode 0600, "admin_socket"): status, sessions, restart,
 * drain.  It is claimed before any listener is announced: a second
 * reflector on the same path fails there (a stale file is taken over).
 *
 * systemd (Type=notify, shared/server/sdnotify.c).  With $NOTIFY_SOCKET
 * (taken out of the environment before any worker starts) the supervisor
 * sends READY=1 once every shard's worker is ready, RELOADING=1 when a
 * rolling restart (or a SIGHUP) begins and READY=1 when it ends, and
 * STOPPING=1 on SIGTERM or a drain.
 *
 * Stopping.  SIGTERM or SIGINT: stop accepting, close connections still
 * being read, tell every worker to close its sessions with 1001 and exit,
 * and exit when they have (after the shutdown time-out, a worker that is
 * still there is killed).  SIGQUIT or `medusactl drain`: no new sessions;
 * live ones go on (and a waiting one may still pair); exit when the last
 * has ended.  Signal handlers only set libev's flags; the loop does the
 * work.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "config.h"
#include "mlog.h"
#include "paths.h"
#include "sdnotify.h"
#include "supervisor.h"
#include "token.h"
#include "version.h"

/*
 * This file's state: the configuration (every other file reads it through
 * the pointer its init was given, and a reload changes it in place), the
 * worker binary and the configuration file as opened at start-up, and
 * whether the supervisor is stopping or draining.  The listeners and
 * connections are front.c's, the shards and worker processes workers.c's,
 * status queries status.c's, a rolling restart restart.c's, the admin
 * socket admin.c's.
 */
/* Command-line settings, re-applied over the file on every reload. */
struct sup_cli {
	char	binds[CONFIG_MAX_BINDS][CONFIG_ADDR_MAX];
	int	nbinds;
	int	port;		/* -1: the file's */
	int	workers;	/* -1: the file's */
	int	level;		/* -1: the file's */
	bool	test;		/* -t: check the configuration and exit */
	char	path[PATH_MAX];	/* the configuration file */
};

static struct supervisor {
	struct ev_loop	*s_loop;
	struct sup_cli	s_cli;
	struct medusa_config s_conf;
	uint8_t		s_secret[TOKEN_SECRET_MAX];	/* secret_file's */
	size_t		s_secretlen;
	/*
	 * The worker binary and the configuration, and their directories,
	 * opened while still root.  Each worker start and each reload opens
	 * the file afresh in its directory (so a new build or an edited
	 * file is seen) when the unprivileged user may; where it may not (a
	 * private checkout), the descriptors from start-up serve instead.
	 */
	struct worker_bin s_bin;
	int		s_config_dirfd;
	char		s_config_name[NAME_MAX + 1];
	int		s_config_fd;	/* the file as it was at start-up */
	bool		s_stopping;	/* TERM: closing everything */
	bool		s_draining;	/* QUIT: no new sessions, then exit */
	/*
	 * systemd's notifications (Type=notify): READY=1 once every shard's
	 * first worker is ready (s_ready), RELOADING=1 when a rolling
	 * restart or a SIGHUP begins and READY=1 when the restart ends
	 * (s_reloading between), STOPPING=1 on TERM or a drain.
	 */
	struct sdnotify	s_notify;
	bool		s_ready;
	bool		s_reloading;
	ev_timer	s_stop_timer;
	ev_signal	s_sigs[4];
} sup;

bool
sup_stopping(void)
{
	return (sup.s_stopping);
}

bool
sup_draining(void)
{
	return (sup.s_draining);
}

static void
sup_usage(FILE *f)
{
	char cfg[PATH_MAX];

	(void) paths_resolve(MEDUSA_CONFIG_PATH, cfg, sizeof (cfg));
	fprintf(f,
	    "usage: medusa [-t] [-f FILE] [-p PORT] [-b ADDRESS]... "
	    "[-w WORKERS] [-l LEVEL]\n"
	    "\n"
	    "The Medusa reflector: pairs the WebSocket of an mlogin client\n"
	    "(/attach/ID/master) with that of a medusa-agent (/attach/ID/slave)\n"
	    "and relays between them.  Runs in the foreground and logs bunyan\n"
	    "JSON lines to standard error.\n"
	    "\n"
	    "  -f, --config FILE     configuration file (default:\n"
	    "                        %s)\n"
	    "  -p, --port PORT       port to listen on (0: any free port)\n"
	    "  -b, --bind ADDRESS    address to listen on; repeat for several\n"
	    "  -w, --workers N       worker processes (0: one per CPU)\n"
	    "  -l, --log-level LEVEL trace, debug, info, warn, error or fatal\n"
	    "  -t, --test            check the configuration and exit\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "Flags override the file.  Signals: TERM or INT close every session\n"
	    "(code 1001) and exit; HUP reloads the configuration and restarts\n"
	    "the workers one by one, moving live sessions into the new ones;\n"
	    "QUIT takes no new sessions and exits when the last one ends.\n"
	    "medusactl(8) does the same over the admin socket.\n"
	    "\n"
	    "See medusa(8) and the configuration's keys in medusa.json(5).\n",
	    cfg);
}

/*
 * Open the directory of path (O_PATH) and keep the file's name, for
 * openat() later.  0, or -1 with a message on stderr.
 */
int
sup_open_dir(const char *path, int *dirfd, char *name, size_t cap)
{
	char copy[PATH_MAX], copy2[PATH_MAX];
	int fd;

	snprintf(copy, sizeof (copy), "%s", path);
	snprintf(copy2, sizeof (copy2), "%s", path);
	if ((fd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "medusa: %s: %s\n", copy, strerror(errno));
		return (-1);
	}
	if (*dirfd >= 0)
		(void) close(*dirfd);
	*dirfd = fd;
	snprintf(name, cap, "%s", basename(copy2));
	return (0);
}

static void
sup_stop_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) w;
	(void) revents;
	mlog(MLOG_WARN, "shutdown time-out: killing workers still running",
	    "");
	workers_kill_all();
	/* Their exits arrive through the child watchers; wait a moment. */
	ev_timer_set(w, 1.0, 0);
	ev_timer_start(EV_A_ w);
	if (workers_all_down())
		ev_break(EV_A_ EVBREAK_ALL);
}

/* One notification to the service manager; a failure is a warning. */
static void
sup_notify(const char *state)
{
	char err[256];

	if (sdnotify_send(&sup.s_notify, state, err, sizeof (err)) != 0)
		mlog(MLOG_WARN, "cannot notify the service manager",
		    "state=%s error=%s", state, err);
}

/* workers.c, at each "worker ready": the first time all shards serve. */
void
sup_worker_ready(void)
{
	char state[64];

	if (sup.s_ready || sup.s_stopping || sup.s_draining ||
	    !workers_all_ready())
		return;
	sup.s_ready = true;
	snprintf(state, sizeof (state), "READY=1\nSTATUS=%u workers ready",
	    workers_nshards());
	sup_notify(state);
}

/* A rolling restart (or a SIGHUP's reload) begins, or has ended. */
void
sup_reloading(bool begins)
{
	if (begins == sup.s_reloading || sup.s_stopping || sup.s_draining)
		return;
	sup.s_reloading = begins;
	sup_notify(begins ? "RELOADING=1" : "READY=1");
}

static void
sup_stop(const char *why)
{
	if (sup.s_stopping)
		return;
	sup_notify("STOPPING=1");
	sup.s_stopping = true;
	mlog(MLOG_INFO, "shutting down", "reason=%s", why);
	front_stop();
	workers_stop_all(PROTO_SHUTDOWN_CLOSE);
	ev_timer_init(&sup.s_stop_timer, sup_stop_timer_cb,
	    sup.s_conf.mc_shutdown_timeout + 1.0, 0);
	ev_timer_start(sup.s_loop, &sup.s_stop_timer);
	if (workers_all_down())
		ev_break(sup.s_loop, EVBREAK_ALL);
}

/*
 * QUIT or medusactl drain: no new sessions; the workers exit when their
 * last session ends, and then so do we.  /status keeps answering.
 */
void
sup_drain(const char *why)
{
	if (sup.s_stopping || sup.s_draining)
		return;
	sup_notify("STOPPING=1");
	sup.s_draining = true;
	mlog(MLOG_INFO, "draining", "reason=%s", why);
	workers_stop_all(PROTO_SHUTDOWN_DRAIN);
	if (workers_all_down())
		ev_break(sup.s_loop, EVBREAK_ALL);
}


static void
sup_apply_cli(struct medusa_config *c)
{
	if (sup.s_cli.nbinds > 0) {
		memcpy(c->mc_bind, sup.s_cli.binds, sizeof (sup.s_cli.binds));
		c->mc_nbind = sup.s_cli.nbinds;
	}
	if (sup.s_cli.port >= 0)
		c->mc_port = sup.s_cli.port;
	if (sup.s_cli.workers >= 0)
		c->mc_workers = sup.s_cli.workers;
	if (sup.s_cli.level >= 0)
		c->mc_log_level = sup.s_cli.level;
}

/*
 * SIGHUP: read the configuration again.  What can change live (log level,
 * limits, time-outs, the worker binary's path) goes to every worker; what
 * cannot (addresses, port, number of workers, admin socket) is logged as
 * needing a full restart.  Then every shard is restarted in turn, with its
 * live sessions handed over, so a new worker build takes effect too.
 */
/*
 * Relative paths of the configuration (keys_dir, secret_file) are relative
 * to the configuration file's directory; the workers get them absolute.
 * 0, or -1 if a path is too long.
 */
static int
sup_absolute(char *path, size_t cap, const char *what)
{
	char dir[PATH_MAX], copy[PATH_MAX], abs[PATH_MAX], *d;

	if (path[0] == '/')
		return (0);
	snprintf(copy, sizeof (copy), "%s", sup.s_cli.path);
	d = dirname(copy);
	if (realpath(d, dir) == NULL)
		snprintf(dir, sizeof (dir), "%s", d);
	if (snprintf(abs, sizeof (abs), "%s/%s", dir, path) >=
	    (int)sizeof (abs) || strlen(abs) >= cap) {
		mlog(MLOG_ERROR, "path too long", "key=%s path=%s", what,
		    path);
		return (-1);
	}
	snprintf(path, cap, "%s", abs);
	return (0);
}

static int
sup_keys_dir(struct medusa_config *c)
{
	return (sup_absolute(c->mc_keys_dir, sizeof (c->mc_keys_dir),
	    "keys_dir") != 0 || sup_absolute(c->mc_secret_file,
	    sizeof (c->mc_secret_file), "secret_file") != 0 ? -1 : 0);
}

/*
 * The deployment's secret (resume tokens: token.h), from secret_file.  At
 * start, as root, a missing file is made (32 random bytes, mode 0600); on
 * a reload a file that cannot be read leaves the secret as it was.  With
 * no file at all, a secret of this run's own: resumes then survive a
 * worker's crash but not a restart of the reflector, and no other host
 * can check its tokens (said once, WARN).  0, or -1 at start if a file
 * that is there cannot be read (a secret we would silently replace).
 */
static int
sup_secret_load(const char *path, bool starting)
{
	uint8_t buf[TOKEN_SECRET_MAX + 1];
	ssize_t n = -1;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof (buf));
		(void) close(fd);
		if (n < TOKEN_SECRET_MIN || n > TOKEN_SECRET_MAX) {
			mlog(MLOG_ERROR, "secret_file must hold 16 to 256 bytes",
			    "secret_file=%s bytes=%zd", path, n);
			return (starting ? -1 : 0);
		}
	} else if (errno == ENOENT && starting &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) >= 0) {
		if (RAND_bytes(buf, 32) != 1 || write(fd, buf, 32) != 32) {
			(void) close(fd);
			(void) unlink(path);
			return (-1);
		}
		(void) close(fd);
		n = 32;
		mlog(MLOG_INFO, "made the deployment's secret", "secret_file=%s",
		    path);
	} else if (!starting || sup.s_secretlen > 0) {
		mlog(MLOG_WARN, "cannot read secret_file; the secret stays as "
		    "it was", "secret_file=%s error=%s", path, strerror(errno));
		return (0);
	} else {
		mlog(MLOG_WARN, "no secret_file: resume tokens are this run's "
		    "own (a restarted reflector, or another host, cannot check "
		    "them)", "secret_file=%s error=%s", path, strerror(errno));
		if (RAND_bytes(buf, 32) != 1)
			return (-1);
		n = 32;
	}
	memcpy(sup.s_secret, buf, (size_t)n);
	sup.s_secretlen = (size_t)n;
	OPENSSL_cleanse(buf, sizeof (buf));
	return (0);
}

const uint8_t *
sup_secret(size_t *n)
{
	*n = sup.s_secretlen;
	return (sup.s_secret);
}

static int
sup_reload(void)
{
	struct medusa_config c;
	char err[512];

	paths_config_defaults(&c);
	if (faccessat(sup.s_config_dirfd, sup.s_config_name, R_OK, 0) != 0 &&
	    errno == EACCES && sup.s_config_fd >= 0) {
		/* Unreachable as the unprivileged user: the file as opened. */
		int fd = dup(sup.s_config_fd);

		mlog(MLOG_WARN, "SIGHUP: the configuration's directory is not "
		    "readable by this user; re-reading the file opened at "
		    "start-up", "config=%s", sup.s_cli.path);
		if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0 ||
		    config_load_at(&c, fd, "", err, sizeof (err)) != 0) {
			if (fd >= 0)
				(void) close(fd);
			mlog(MLOG_ERROR, "SIGHUP: configuration not reloaded; "
			    "workers not restarted", "error=%s", err);
			return (-1);
		}
		(void) close(fd);
	} else if (config_load_at(&c, sup.s_config_dirfd, sup.s_config_name,
	    err, sizeof (err)) != 0) {
		mlog(MLOG_ERROR, "SIGHUP: configuration not reloaded; workers "
		    "not restarted", "error=%s", err);
		return (-1);
	}
	sup_apply_cli(&c);
	if (c.mc_workers == 0)
		c.mc_workers = sup.s_conf.mc_workers;
	if (c.mc_nbind != sup.s_conf.mc_nbind ||
	    memcmp(c.mc_bind, sup.s_conf.mc_bind, sizeof (c.mc_bind)) != 0)
		mlog(MLOG_WARN, "SIGHUP: bind needs a full restart", "");
	if (c.mc_port != sup.s_conf.mc_port)
		mlog(MLOG_WARN, "SIGHUP: port needs a full restart", "");
	if (c.mc_workers != sup.s_conf.mc_workers)
		mlog(MLOG_WARN, "SIGHUP: workers needs a full restart", "");
	if (strcmp(c.mc_admin_socket, sup.s_conf.mc_admin_socket) != 0)
		mlog(MLOG_WARN, "SIGHUP: admin_socket needs a full restart", "");
	if (strcmp(c.mc_user, sup.s_conf.mc_user) != 0 ||
	    strcmp(c.mc_group, sup.s_conf.mc_group) != 0)
		mlog(MLOG_WARN, "SIGHUP: user and group need a full restart",
		    "");
	memcpy(c.mc_user, sup.s_conf.mc_user, sizeof (c.mc_user));
	memcpy(c.mc_group, sup.s_conf.mc_group, sizeof (c.mc_group));
	memcpy(c.mc_bind, sup.s_conf.mc_bind, sizeof (c.mc_bind));
	c.mc_nbind = sup.s_conf.mc_nbind;
	c.mc_port = sup.s_conf.mc_port;
	c.mc_workers = sup.s_conf.mc_workers;
	memcpy(c.mc_admin_socket, sup.s_conf.mc_admin_socket,
	    sizeof (c.mc_admin_socket));
	if (c.mc_ntrusted != sup.s_conf.mc_ntrusted ||
	    memcmp(c.mc_trusted, sup.s_conf.mc_trusted,
	    sizeof (c.mc_trusted)) != 0 || strcmp(c.mc_status_listen,
	    sup.s_conf.mc_status_listen) != 0)
		mlog(MLOG_WARN, "SIGHUP: trusted_listen and status_listen "
		    "need a full restart", "");
	memcpy(c.mc_trusted, sup.s_conf.mc_trusted, sizeof (c.mc_trusted));
	c.mc_ntrusted = sup.s_conf.mc_ntrusted;
	memcpy(c.mc_status_listen, sup.s_conf.mc_status_listen,
	    sizeof (c.mc_status_listen));
	if (sup_keys_dir(&c) != 0)
		return (-1);
	(void) sup_secret_load(c.mc_secret_file, false);
	if (c.mc_defer_accept != sup.s_conf.mc_defer_accept)
		front_defer_accept(c.mc_defer_accept);
	sup.s_conf = c;
	mlog_set_level(c.mc_log_level);
	if (c.mc_worker_path[0] != '\0' &&
	    strcmp(c.mc_worker_path, sup.s_bin.wb_path) != 0) {
		if (sup_open_dir(c.mc_worker_path, &sup.s_bin.wb_dirfd,
		    sup.s_bin.wb_name, sizeof (sup.s_bin.wb_name)) == 0)
			snprintf(sup.s_bin.wb_path, sizeof (sup.s_bin.wb_path),
			    "%s", c.mc_worker_path);
		else
			mlog(MLOG_ERROR, "SIGHUP: the new worker_path cannot "
			    "be opened; keeping the old", "worker_path=%s",
			    c.mc_worker_path);
	}
	mlog(MLOG_INFO, "configuration reloaded", "config=%s", sup.s_cli.path);
	front_auth_warning();
	workers_config_all();
	return (0);
}

static void
sup_signal_cb(EV_P_ ev_signal *w, int revents)
{
	char err[256];

	(void) EV_A;
	(void) revents;
	switch (w->signum) {
	case SIGHUP:
		mlog(MLOG_INFO, "SIGHUP: reloading and restarting the workers",
		    "");
		sup_reloading(true);
		if (sup_reload() != 0) {
			sup_reloading(false);
			break;
		}
		if (restart_begin(-1, NULL, err, sizeof (err)) != 0) {
			mlog(MLOG_WARN, "SIGHUP: no restart", "reason=%s", err);
			sup_reloading(false);
		}
		break;
	case SIGQUIT:
		sup_drain("SIGQUIT");
		break;
	default:
		sup_stop(strsignal(w->signum));
		break;
	}
}

/*
 * Started as root: after the sockets are bound, become the configured user
 * (default nobody) for good, before any worker starts, so that workers and
 * everything the supervisor does from here on run unprivileged.  The admin
 * socket is handed to that user first, so that it can still remove it.
 */
static int
sup_drop_privileges(const struct medusa_config *c, bool check_only)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (c->mc_user[0] == '\0') {
		if (!check_only && geteuid() == 0)
			mlog(MLOG_WARN, "running as root: no \"user\" is "
			    "configured", "");
		return (0);
	}
	if ((pw = getpwnam(c->mc_user)) == NULL) {
		fprintf(stderr, "medusa: no such user \"%s\" (\"user\" in the "
		    "configuration)\n", c->mc_user);
		return (-1);
	}
	gid = pw->pw_gid;
	if (c->mc_group[0] != '\0') {
		if ((gr = getgrnam(c->mc_group)) == NULL) {
			fprintf(stderr, "medusa: no such group \"%s\"\n",
			    c->mc_group);
			return (-1);
		}
		gid = gr->gr_gid;
	}
	if (check_only)
		return (0);
	if (geteuid() != 0) {
		mlog(MLOG_DEBUG, "not started as root: privileges unchanged",
		    "uid=%d", (int)geteuid());
		return (0);
	}
	if (chown(c->mc_admin_socket, pw->pw_uid, gid) != 0 ||
	    setgroups(1, &gid) != 0 || setgid(gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "medusa: cannot become user %s: %s\n",
		    c->mc_user, strerror(errno));
		return (-1);
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "medusa: could regain root after dropping it\n");
		return (-1);
	}
	mlog(MLOG_INFO, "dropped privileges", "user=%s uid=%d gid=%d",
	    c->mc_user, (int)pw->pw_uid, (int)gid);
	return (0);
}

/* Allow as many descriptors as the hard limit does. */
static void
sup_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			mlog(MLOG_WARN, "setrlimit(RLIMIT_NOFILE) failed",
			    "error=%s", strerror(errno));
	}
}

static int
sup_parse_int(const char *flag, const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "medusa: %s must be a number from %d to %d, "
		    "not \"%s\"\n", flag, lo, hi, s);
		return (-1);
	}
	*out = (int)v;
	return (0);
}

/*
 * The command line, into sup.s_cli (the configuration file's path
 * defaults to ../etc/medusa.json beside this program).  -1 to go on, or
 * the status to exit with.
 */
static int
sup_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "workers", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "test", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct sup_cli *cli = &sup.s_cli;
	int ch;

	cli->port = cli->workers = cli->level = -1;
	/* The installed one, or bin/../etc/medusa.json in the tree (paths.h) */
	if (paths_resolve(MEDUSA_CONFIG_PATH, cli->path, sizeof (cli->path)) != 0)
		snprintf(cli->path, sizeof (cli->path), "etc/medusa.json");
	while ((ch = getopt_long(argc, argv, "f:p:b:w:l:thV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			snprintf(cli->path, sizeof (cli->path), "%s", optarg);
			break;
		case 'p':
			if (sup_parse_int("-p", optarg, 0, 65535,
			    &cli->port) != 0)
				return (2);
			break;
		case 'b':
			if (cli->nbinds == CONFIG_MAX_BINDS ||
			    strlen(optarg) >= CONFIG_ADDR_MAX ||
			    optarg[0] == '\0') {
				fprintf(stderr, "medusa: -b: at most %d "
				    "addresses, each shorter than %d\n",
				    CONFIG_MAX_BINDS, CONFIG_ADDR_MAX);
				return (2);
			}
			snprintf(cli->binds[cli->nbinds++], CONFIG_ADDR_MAX,
			    "%s", optarg);
			break;
		case 'w':
			if (sup_parse_int("-w", optarg, 0, SUP_MAX_WORKERS,
			    &cli->workers) != 0)
				return (2);
			break;
		case 'l':
			if ((cli->level = mlog_level_parse(optarg)) < 0) {
				fprintf(stderr, "medusa: -l must be trace, "
				    "debug, info, warn, error or fatal\n");
				return (2);
			}
			break;
		case 't':
			cli->test = true;
			break;
		case 'h':
			sup_usage(stdout);
			return (0);
		case 'V':
			printf("medusa %s (control protocol %d)\n",
			    MEDUSA_VERSION, PROTO_VERSION);
			return (0);
		default:
			sup_usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "medusa: unexpected argument \"%s\"\n",
		    argv[optind]);
		sup_usage(stderr);
		return (2);
	}
	return (-1);
}

/*
 * The configuration, the command line over it, and what they name: the
 * worker binary (by default the one beside this program), the number of
 * workers (0: one per CPU), the user to become.  0, or -1 with a message
 * on stderr.
 */
static int
sup_configure(void)
{
	struct worker_bin *b = &sup.s_bin;
	char err[512];
	long ncpu;

	paths_config_defaults(&sup.s_conf);
	if (config_load(&sup.s_conf, sup.s_cli.path, err, sizeof (err)) != 0) {
		fprintf(stderr, "medusa: configuration: %s\n", err);
		return (-1);
	}
	sup_apply_cli(&sup.s_conf);
	if (sup_keys_dir(&sup.s_conf) != 0) {
		fprintf(stderr, "medusa: keys_dir or secret_file: path too "
		    "long\n");
		return (-1);
	}
	if (sup.s_conf.mc_worker_path[0] != '\0')
		snprintf(b->wb_path, sizeof (b->wb_path), "%s",
		    sup.s_conf.mc_worker_path);
	else if (paths_resolve(MEDUSA_WORKER_PATH, b->wb_path,
	    sizeof (b->wb_path)) != 0) {
		fprintf(stderr, "medusa: path of medusa-worker too long\n");
		return (-1);
	}
	if (access(b->wb_path, X_OK) != 0) {
		fprintf(stderr, "medusa: worker program %s: %s\n", b->wb_path,
		    strerror(errno));
		return (-1);
	}
	if (sup.s_conf.mc_workers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		sup.s_conf.mc_workers = ncpu > 0 ? (int)(ncpu >
		    SUP_MAX_WORKERS ? SUP_MAX_WORKERS : ncpu) : 1;
	}
	return (sup_drop_privileges(&sup.s_conf, true));
}

/*
 * Everything that needs root, then the drop: the worker binary and the
 * configuration opened (see struct supervisor), the listeners, the admin
 * socket.  0, or -1 with a message on stderr.
 */
static int
sup_open(void)
{
	struct worker_bin *b = &sup.s_bin;

	b->wb_dirfd = sup.s_config_dirfd = -1;
	if (sup_open_dir(b->wb_path, &b->wb_dirfd, b->wb_name,
	    sizeof (b->wb_name)) != 0 || sup_open_dir(sup.s_cli.path,
	    &sup.s_config_dirfd, sup.s_config_name,
	    sizeof (sup.s_config_name)) != 0)
		return (-1);
	b->wb_fd = open(b->wb_path, O_RDONLY | O_CLOEXEC);
	sup.s_config_fd = open(sup.s_cli.path, O_RDONLY | O_CLOEXEC);
	/*
	 * The admin socket first: a second reflector on the same path fails
	 * here, before any "listening" line announces it (a stale socket
	 * with no listener is taken over).
	 */
	if (front_init(sup.s_loop, &sup.s_conf) != 0 ||
	    admin_listen(sup.s_loop, &sup.s_conf) != 0 || front_listen() != 0)
		return (-1);
	if (sup_secret_load(sup.s_conf.mc_secret_file, true) != 0) {
		fprintf(stderr, "medusa: secret_file %s cannot be used\n",
		    sup.s_conf.mc_secret_file);
		return (-1);
	}
	if (sup_drop_privileges(&sup.s_conf, false) != 0)
		return (-1);
	if (faccessat(b->wb_dirfd, b->wb_name, X_OK, 0) != 0)
		mlog(MLOG_WARN, "this user cannot reach the worker binary by "
		    "its path: workers start from the binary as it was at "
		    "start-up, and a rolling restart will not pick up a new "
		    "build there", "worker_path=%s error=%s", b->wb_path,
		    strerror(errno));
	return (0);
}

int
main(int argc, char **argv)
{
	static const int sigs[4] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	int rc;

	if ((rc = sup_options(argc, argv)) >= 0)
		return (rc);
	if (sup_configure() != 0)
		return (2);
	if (sup.s_cli.test) {
		printf("medusa: configuration %s is valid (%d workers, port "
		    "%d)\n", sup.s_cli.path, sup.s_conf.mc_workers,
		    sup.s_conf.mc_port);
		return (0);
	}

	mlog_init("medusa", "supervisor", -1);
	mlog_set_level(sup.s_conf.mc_log_level);
	{
		char err[256];

		/* Before any worker starts: they must not inherit it. */
		if (sdnotify_init(&sup.s_notify, err, sizeof (err)) != 0)
			mlog(MLOG_WARN, "NOTIFY_SOCKET not used", "error=%s",
			    err);
	}
	(void) signal(SIGPIPE, SIG_IGN);
	sup_raise_nofile();
	sup.s_loop = EV_DEFAULT;
	status_init(sup.s_loop);
	restart_init(sup.s_loop, &sup.s_conf);
	workers_init(sup.s_loop, &sup.s_conf, &sup.s_bin,
	    (unsigned)sup.s_conf.mc_workers);
	if (sup_open() != 0)
		return (1);
	for (int i = 0; i < 4; i++) {
		ev_signal_init(&sup.s_sigs[i], sup_signal_cb, sigs[i]);
		ev_signal_start(sup.s_loop, &sup.s_sigs[i]);
	}
	mlog(MLOG_INFO, "starting", "version=%s config=%s workers=%u port=%d",
	    MEDUSA_VERSION, sup.s_cli.path, workers_nshards(), front_port());
	workers_start_all();
	front_accepting(true);

	ev_run(sup.s_loop, 0);

	admin_close_all();
	mlog(MLOG_INFO, "exiting", "");
	return (0);
}
