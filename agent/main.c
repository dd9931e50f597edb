/*
 * medusa-agent: the job's side of an interactive session.
 *
 * BIG THEORY STATEMENT
 *
 * The agent runs inside the remote job.  Like the user's mlogin it cannot
 * be reached from outside, so it dials in to the reflector as the session's
 * *slave* (GET .../attach/<id>/slave, ws:// or wss://) and waits there for
 * the reflector's "linkup", which says the user's client (the *master*) is
 * attached too.  From then on it serves the client's "mlogin:" messages
 * (docs/PROTOCOL.md section 4):
 *
 *	start	run the command (default /bin/bash --norc) on a new
 *		pseudo-terminal of the requested size, with TERM set, in the
 *		requested directory, with the agent's environment; answer
 *		"started" with its pid, or "error" if it cannot be run.  Only
 *		the first start counts.  Ours: "pty": false asks for pipes
 *		instead of a terminal (mlogin does so when its standard input
 *		is not a terminal, as ssh -T), and "eof" then closes the
 *		command's input.
 *	resize	set the terminal's size (the kernel signals SIGWINCH)
 *	binary	keystrokes, written to the terminal
 *
 * and sends back the terminal's output as binary messages, coalescing what
 * one read returns (up to 64 KiB) into one message.  Flow control runs both
 * ways: while the socket's queue is above 256 KiB the terminal is not read
 * (so a flood of output stops the command, not our memory), and while the
 * terminal will not take more input the socket is not read.
 *
 * When the command exits, what it wrote is drained (until the terminal
 * reports end of output, or a second passes with nothing new, in case a
 * background process still holds the terminal open), then "exit" is sent
 * with "code" or "signal", and the client closes the session.  When the
 * session ends first (the client's ~., or the reflector), the command's
 * process group gets SIGHUP, as a terminal hang-up would give it.
 *
 * Exit status: 0 when the session ended in an orderly way, 1 (and one log
 * line) when the connection failed, 2 for bad usage.  Logs are bunyan JSON
 * on standard error.  The agent sends "X-Medusa-Ping: 1", so the reflector
 * pings it to find dead connections; wsclient.c answers the pings.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "buf.h"
#include "mlog.h"
#include "netutil.h"
#include "version.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wsurl.h"

#define	AGENT_HIGH_WATER	(256u * 1024)	/* socket queue: stop reading */
#define	AGENT_LOW_WATER		(64u * 1024)
#define	AGENT_INPUT_MAX		(256u * 1024)	/* input not yet taken */
#define	AGENT_READ		65536
#define	AGENT_DRAIN_IDLE	1.0	/* s of silence after exit */
#define	AGENT_CLOSE_WAIT	5.0	/* s for the client to close */
#define	AGENT_SIZE_MAX		10000	/* columns or lines */

struct agent {
	struct ev_loop	*a_loop;
	struct wsc	a_ws;
	bool		a_linked;
	bool		a_started;
	bool		a_pty;		/* terminal, or pipes */
	bool		a_exited;	/* the command has exited */
	bool		a_out_done;	/* its output has ended */
	bool		a_exit_sent;
	bool		a_input_closed;
	bool		a_dropped_early;
	pid_t		a_pid;
	int		a_status;
	int		a_outfd;	/* terminal master, or stdout pipe */
	int		a_infd;		/* terminal master, or stdin pipe */
	ev_io		a_out_io;
	ev_io		a_in_io;
	ev_child	a_child;
	ev_timer	a_timer;	/* drain, then close wait */
	ev_signal	a_sigs[3];
	struct buf	a_input;	/* for the command, not yet written */
	uint8_t		*a_rbuf;
	int		a_rc;
};

static struct agent ag;

static void agent_finish_output(void);

/* --- messages to the client --------------------------------------------- */

static void
agent_send_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	char *msg;

	json_decref(o);
	if (s == NULL)
		return;
	if (asprintf(&msg, "mlogin:%s", s) >= 0) {
		(void) wsc_send_text(&ag.a_ws, msg);
		free(msg);
	}
	free(s);
}

static void
agent_send_error(const char *text)
{
	mlog(MLOG_WARN, "cannot start the command", "error=%s", text);
	agent_send_json(json_pack("{s:s, s:s}", "type", "error", "error",
	    text));
}

/* --- the command -------------------------------------------------------- */

static void
agent_close_fds(void)
{
	ev_io_stop(ag.a_loop, &ag.a_out_io);
	ev_io_stop(ag.a_loop, &ag.a_in_io);
	if (ag.a_outfd >= 0)
		(void) close(ag.a_outfd);
	if (ag.a_infd >= 0 && ag.a_infd != ag.a_outfd)
		(void) close(ag.a_infd);
	ag.a_outfd = ag.a_infd = -1;
}

/* Hang up on the command, as a terminal would. */
static void
agent_hangup(void)
{
	if (ag.a_pid > 0 && !ag.a_exited && !ag.a_exit_sent) {
		mlog(MLOG_INFO, "session ended; hanging up on the command",
		    "pid=%d", (int)ag.a_pid);
		(void) kill(-ag.a_pid, SIGHUP);
		(void) kill(-ag.a_pid, SIGCONT);
	}
}

static void
agent_out_cb(EV_P_ ev_io *w, int revents)
{
	ssize_t n;

	(void) revents;
	do {
		n = read(w->fd, ag.a_rbuf, AGENT_READ);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* EIO: every holder of the terminal's other end is gone. */
		ev_io_stop(EV_A_ w);
		ag.a_out_done = true;
		if (ag.a_exited)
			agent_finish_output();
		return;
	}
	if (wsc_send(&ag.a_ws, WS_OP_BINARY, ag.a_rbuf, (size_t)n) != 0)
		return;
	if (wsc_queued(&ag.a_ws) > AGENT_HIGH_WATER)
		ev_io_stop(EV_A_ w);	/* until on_drain */
	if (ag.a_exited) {
		/* Still draining: the idle clock starts again. */
		ev_timer_stop(EV_A_ &ag.a_timer);
		ev_timer_set(&ag.a_timer, AGENT_DRAIN_IDLE, 0);
		ev_timer_start(EV_A_ &ag.a_timer);
	}
}

static void
agent_in_flush(void)
{
	while (ag.a_input.b_len > 0 && ag.a_infd >= 0) {
		ssize_t n = write(ag.a_infd, buf_head(&ag.a_input),
		    ag.a_input.b_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(ag.a_loop, &ag.a_in_io);
			return;
		}
		if (n < 0) {
			/* The command stopped reading for good. */
			mlog(MLOG_DEBUG, "input to the command dropped",
			    "bytes=%zu error=%s", ag.a_input.b_len,
			    strerror(errno));
			buf_free(&ag.a_input);
			break;
		}
		buf_consume(&ag.a_input, (size_t)n);
	}
	ev_io_stop(ag.a_loop, &ag.a_in_io);
	if (ag.a_input.b_len < AGENT_INPUT_MAX / 2)
		wsc_resume(&ag.a_ws);
}

static void
agent_in_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	agent_in_flush();
}

static void
agent_input(const uint8_t *p, size_t n)
{
	if (!ag.a_started || ag.a_input_closed || ag.a_infd < 0) {
		if (!ag.a_dropped_early)
			mlog(MLOG_DEBUG, "input before start dropped",
			    "bytes=%zu", n);
		ag.a_dropped_early = true;
		return;
	}
	if (buf_append(&ag.a_input, p, n) != 0) {
		mlog(MLOG_ERROR, "out of memory for input", "bytes=%zu", n);
		return;
	}
	agent_in_flush();
	if (ag.a_input.b_len >= AGENT_INPUT_MAX)
		wsc_pause(&ag.a_ws);	/* the command is not reading */
}

static void
agent_send_exit(void)
{
	int st = ag.a_status;
	json_t *o;

	if (ag.a_exit_sent)
		return;
	ag.a_exit_sent = true;
	if (WIFSIGNALED(st)) {
		char name[32];
		const char *abbr = sigabbrev_np(WTERMSIG(st));

		snprintf(name, sizeof (name), "SIG%s", abbr != NULL ? abbr :
		    "UNKNOWN");
		o = json_pack("{s:s, s:s}", "type", "exit", "signal", name);
		mlog(MLOG_INFO, "command exited", "pid=%d signal=%s",
		    (int)ag.a_pid, name);
	} else {
		o = json_pack("{s:s, s:i}", "type", "exit", "code",
		    WEXITSTATUS(st));
		mlog(MLOG_INFO, "command exited", "pid=%d code=%d",
		    (int)ag.a_pid, WEXITSTATUS(st));
	}
	agent_send_json(o);
	/* The client closes the session now; if it does not, we do. */
	ev_timer_stop(ag.a_loop, &ag.a_timer);
	ev_timer_set(&ag.a_timer, AGENT_CLOSE_WAIT, 0);
	ev_timer_start(ag.a_loop, &ag.a_timer);
}

static void
agent_finish_output(void)
{
	agent_close_fds();
	agent_send_exit();
}

static void
agent_timer_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	if (!ag.a_exit_sent) {
		/* Exited, and nothing more came for a while. */
		agent_finish_output();
		return;
	}
	mlog(MLOG_INFO, "the client did not close; closing", "");
	wsc_close(&ag.a_ws, WS_CLOSE_NORMAL, "process exited");
}

static void
agent_child_cb(EV_P_ ev_child *w, int revents)
{
	(void) revents;
	ev_child_stop(EV_A_ w);
	ag.a_exited = true;
	ag.a_status = w->rstatus;
	if (ag.a_out_done) {
		agent_finish_output();
		return;
	}
	ev_timer_stop(EV_A_ &ag.a_timer);
	ev_timer_set(&ag.a_timer, AGENT_DRAIN_IDLE, 0);
	ev_timer_start(EV_A_ &ag.a_timer);
}

/* In the child: report why exec failed, then exit. */
static void __attribute__((noreturn))
agent_child_fail(int fd, const char *what, const char *arg)
{
	char msg[512];
	int n = snprintf(msg, sizeof (msg), "%s %s: %s", what, arg,
	    strerror(errno));

	if (n > 0)
		(void) !write(fd, msg, (size_t)n < sizeof (msg) ? (size_t)n :
		    sizeof (msg) - 1);
	_exit(127);
}

/*
 * Start the command.  Returns 0, or -1 with the reason already sent to
 * the client.
 */
static int
agent_spawn(const char *cmd, char **argv, const char *cwd, const char *term,
    int cols, int lines, bool pty)
{
	struct winsize wsz;
	int errp[2], m = -1, s = -1, in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char why[512];
	ssize_t n;
	pid_t pid;

	memset(&wsz, 0, sizeof (wsz));
	wsz.ws_col = (unsigned short)cols;
	wsz.ws_row = (unsigned short)lines;
	if (pipe2(errp, O_CLOEXEC) != 0) {
		agent_send_error(strerror(errno));
		return (-1);
	}
	if (pty) {
		if (openpty(&m, &s, NULL, NULL, &wsz) != 0) {
			snprintf(why, sizeof (why), "openpty: %s",
			    strerror(errno));
			goto fail;
		}
		(void) fcntl(m, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(why, sizeof (why), "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(why, sizeof (why), "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		sigset_t none;
		int sigs[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM,
		    SIGQUIT };

		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
		for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
			(void) signal(sigs[i], SIG_DFL);
		(void) setsid();
		if (pty) {
			(void) ioctl(s, TIOCSCTTY, 0);
			(void) dup2(s, 0);
			(void) dup2(s, 1);
			(void) dup2(s, 2);
			if (s > 2)
				(void) close(s);
		} else {
			(void) dup2(in[0], 0);
			(void) dup2(out[1], 1);
			(void) dup2(out[1], 2);
		}
		if (cwd != NULL && chdir(cwd) != 0)
			agent_child_fail(errp[1], "cannot change directory to",
			    cwd);
		(void) setenv("TERM", term, 1);
		execvp(cmd, argv);
		agent_child_fail(errp[1], "cannot run", cmd);
	}
	(void) close(errp[1]);
	errp[1] = -1;
	if (pty) {
		(void) close(s);
		s = -1;
		ag.a_outfd = ag.a_infd = m;
	} else {
		(void) close(in[0]);
		(void) close(out[1]);
		ag.a_infd = in[1];
		ag.a_outfd = out[0];
	}
	ag.a_pid = pid;
	ev_child_init(&ag.a_child, agent_child_cb, pid, 0);
	ev_child_start(ag.a_loop, &ag.a_child);
	/* exec succeeded if the close-on-exec pipe closed with nothing. */
	do {
		n = read(errp[0], why, sizeof (why) - 1);
	} while (n < 0 && errno == EINTR);
	(void) close(errp[0]);
	if (n > 0) {
		why[n] = '\0';
		agent_send_error(why);
		agent_close_fds();
		ag.a_out_done = true;
		ag.a_exit_sent = true;	/* the error is the answer */
		return (-1);
	}
	(void) netutil_nonblock(ag.a_outfd);
	(void) netutil_nonblock(ag.a_infd);
	ev_io_init(&ag.a_out_io, agent_out_cb, ag.a_outfd, EV_READ);
	ev_io_init(&ag.a_in_io, agent_in_cb, ag.a_infd, EV_WRITE);
	ev_io_start(ag.a_loop, &ag.a_out_io);
	return (0);
fail:
	agent_send_error(why);
	for (int *fd = (int []){ errp[0], errp[1], m, s, in[0], in[1], out[0],
	    out[1] }, i = 0; i < 8; i++) {
		if (fd[i] >= 0)
			(void) close(fd[i]);
	}
	return (-1);
}

/* --- the client's messages --------------------------------------------- */

/* An integer field in 1..AGENT_SIZE_MAX, or dflt if absent; -1 if bad. */
static int
agent_size(json_t *o, const char *key, int dflt)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return (dflt);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > AGENT_SIZE_MAX)
		return (-1);
	return ((int)json_integer_value(v));
}

static const char *
agent_str(json_t *o, const char *key, const char *dflt, bool *bad)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return (dflt);
	if (!json_is_string(v)) {
		*bad = true;
		return (dflt);
	}
	return (json_string_value(v));
}

static void
agent_start(json_t *o)
{
	const char *cmd, *cwd, *term;
	char **argv = NULL;
	json_t *args, *e;
	bool bad = false, pty = true;
	int cols, lines;
	size_t i, nargs;

	if (ag.a_started) {
		mlog(MLOG_INFO, "second start ignored", "");
		return;
	}
	cmd = agent_str(o, "command", NULL, &bad);
	cwd = agent_str(o, "cwd", NULL, &bad);
	term = agent_str(o, "term", "xterm", &bad);
	args = json_object_get(o, "arguments");
	if (args != NULL && !json_is_array(args) && !json_is_null(args))
		bad = true;
	if (json_is_false(json_object_get(o, "pty")))
		pty = false;
	cols = agent_size(o, "columns", 80);
	lines = agent_size(o, "lines", 25);
	if (cols < 0 || lines < 0) {
		mlog(MLOG_WARN, "start: bad terminal size; using 80x25", "");
		cols = 80;
		lines = 25;
	}
	if (bad) {
		mlog(MLOG_WARN, "start: a field has the wrong type", "");
		agent_send_error("malformed start message");
		return;
	}
	ag.a_started = true;
	nargs = json_is_array(args) ? json_array_size(args) : 0;
	if ((argv = calloc(nargs + 3, sizeof (char *))) == NULL) {
		agent_send_error("out of memory");
		return;
	}
	if (cmd == NULL) {
		/* The default: bash without rc files. */
		cmd = "/bin/bash";
		argv[0] = (char *)cmd;
		argv[1] = (char *)"--norc";
	} else {
		argv[0] = (char *)cmd;
		json_array_foreach(args, i, e) {
			if (!json_is_string(e)) {
				free(argv);
				agent_send_error("arguments must be strings");
				return;
			}
			argv[1 + i] = (char *)json_string_value(e);
		}
	}
	mlog(MLOG_INFO, "starting command", "command=%s cwd=%s term=%s "
	    "columns=%d lines=%d pty=%s", cmd, cwd, term, cols, lines,
	    pty ? "true" : "false");
	ag.a_pty = pty;
	if (agent_spawn(cmd, argv, cwd, term, cols, lines, pty) == 0)
		agent_send_json(json_pack("{s:s, s:i, s:b}", "type",
		    "started", "pid", (int)ag.a_pid, "pty", pty));
	free(argv);
}

static void
agent_resize(json_t *o)
{
	struct winsize wsz;
	int cols = agent_size(o, "columns", -1);
	int lines = agent_size(o, "lines", -1);

	if (cols < 0 || lines < 0) {
		mlog(MLOG_WARN, "ignoring resize with a bad size", "");
		return;
	}
	if (!ag.a_started || !ag.a_pty || ag.a_outfd < 0)
		return;
	memset(&wsz, 0, sizeof (wsz));
	wsz.ws_col = (unsigned short)cols;
	wsz.ws_row = (unsigned short)lines;
	if (ioctl(ag.a_outfd, TIOCSWINSZ, &wsz) != 0)
		mlog(MLOG_WARN, "TIOCSWINSZ failed", "error=%s",
		    strerror(errno));
}

static void
agent_eof(void)
{
	if (!ag.a_started || ag.a_input_closed)
		return;
	if (ag.a_pty) {
		/* A terminal's end of input: its EOF character at line start. */
		agent_input((const uint8_t *)"\004", 1);
		return;
	}
	ag.a_input_closed = true;
	agent_in_flush();
	if (ag.a_input.b_len == 0 && ag.a_infd >= 0) {
		ev_io_stop(ag.a_loop, &ag.a_in_io);
		(void) close(ag.a_infd);
		ag.a_infd = -1;
	}
}

static void
agent_control(const char *json, size_t n)
{
	json_error_t je;
	json_t *o = json_loadb(json, n, 0, &je);
	const char *type;

	if (o == NULL || !json_is_object(o) ||
	    !json_is_string(json_object_get(o, "type"))) {
		mlog(MLOG_WARN, "ignoring malformed mlogin message", "error=%s",
		    o == NULL ? je.text : "not an object with a type");
		json_decref(o);
		return;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (strcmp(type, "start") == 0)
		agent_start(o);
	else if (strcmp(type, "resize") == 0)
		agent_resize(o);
	else if (strcmp(type, "eof") == 0)
		agent_eof();
	else
		mlog(MLOG_WARN, "ignoring unknown mlogin message", "type=%s",
		    type);
	json_decref(o);
}

static void
agent_on_message(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	(void) c;
	if (op == WS_OP_BINARY) {
		agent_input(p, n);
		return;
	}
	if (n >= 7 && memcmp(p, "medusa:", 7) == 0) {
		if (n == 7 + strlen("{\"type\":\"linkup\"}") &&
		    memcmp(p + 7, "{\"type\":\"linkup\"}", n - 7) == 0) {
			ag.a_linked = true;
			mlog(MLOG_INFO, "linked to the client", "");
		}
		return;
	}
	if (n >= 7 && memcmp(p, "mlogin:", 7) == 0) {
		if (!ag.a_linked)
			return;
		agent_control((const char *)p + 7, n - 7);
		return;
	}
	/* Anything else (the client's "ping") is ignored. */
}

static void
agent_on_drain(struct wsc *c)
{
	(void) c;
	if (ag.a_outfd >= 0 && !ag.a_out_done)
		ev_io_start(ag.a_loop, &ag.a_out_io);
}

static void
agent_on_end(struct wsc *c, const char *err)
{
	if (err != NULL) {
		mlog(MLOG_ERROR, "connection to the reflector failed",
		    "error=%s", err);
		ag.a_rc = 1;
	} else {
		mlog(MLOG_INFO, "session ended", "code=%u reason=%s",
		    (unsigned)c->wc_peer_code, c->wc_peer_reason);
		ag.a_rc = 0;
	}
	agent_hangup();
	ev_break(ag.a_loop, EVBREAK_ALL);
}

static void
agent_signal_cb(EV_P_ ev_signal *w, int revents)
{
	(void) EV_A;
	(void) revents;
	mlog(MLOG_INFO, "signal: ending the session", "signal=%s",
	    strsignal(w->signum));
	agent_hangup();
	wsc_close(&ag.a_ws, WS_CLOSE_GOING_AWAY, "agent terminated");
}

/* --- start-up ----------------------------------------------------------- */

/* The original's config object: {"signed_url": ..., "insecure_tls": ...} */
static int
agent_read_config(const char *path, char *url, size_t cap, bool *insecure)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je), *v;

	if (o == NULL) {
		fprintf(stderr, "medusa-agent: %s: %s (line %d)\n", path,
		    je.text, je.line);
		return (-1);
	}
	v = json_object_get(o, "signed_url");
	if (!json_is_object(o) || !json_is_string(v) ||
	    json_string_length(v) >= cap) {
		fprintf(stderr, "medusa-agent: %s: expected an object with a "
		    "\"signed_url\" string\n", path);
		json_decref(o);
		return (-1);
	}
	snprintf(url, cap, "%s", json_string_value(v));
	v = json_object_get(o, "insecure_tls");
	if (v != NULL && !json_is_boolean(v)) {
		fprintf(stderr, "medusa-agent: %s: \"insecure_tls\" must be "
		    "true or false\n", path);
		json_decref(o);
		return (-1);
	}
	if (json_is_true(v))
		*insecure = true;
	json_decref(o);
	return (0);
}

static void
agent_usage(FILE *f)
{
	fprintf(f,
	    "usage: medusa-agent [options] URL\n"
	    "       medusa-agent [options] -f CONFIG\n"
	    "\n"
	    "Dials in to a Medusa reflector as the slave of a session\n"
	    "(ws[s]://HOST[:PORT]/attach/ID/slave) and runs the client's\n"
	    "command on a pseudo-terminal.  Logs bunyan JSON to stderr.\n"
	    "\n"
	    "  -f, --config FILE   read {\"signed_url\": URL, \"insecure_tls\": "
	    "BOOL}\n"
	    "      --cacert FILE   trust the CA certificates in FILE (PEM)\n"
	    "  -i, --insecure      do not check the server's certificate\n"
	    "  -l, --log-level L   trace, debug, info, warn, error, fatal\n"
	    "  -h, --help          this text\n"
	    "  -V, --version       print the version and exit\n"
	    "\n"
	    "Exit status: 0 when the session ends, 1 on a connection error,\n"
	    "2 on bad usage.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct wsc_opts wo;
	struct wsurl u;
	char url[4096] = "", err[512];
	const char *cfg = NULL, *cacert = NULL;
	bool insecure = false;
	int ch, level = MLOG_INFO;
	int sigs[3] = { SIGTERM, SIGINT, SIGHUP };

	while ((ch = getopt_long(argc, argv, "f:il:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfg = optarg;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'i':
			insecure = true;
			break;
		case 'l':
			if ((level = mlog_level_parse(optarg)) < 0) {
				fprintf(stderr, "medusa-agent: bad log level "
				    "\"%s\"\n", optarg);
				return (2);
			}
			break;
		case 'h':
			agent_usage(stdout);
			return (0);
		case 'V':
			printf("medusa-agent %s\n", MEDUSA_VERSION);
			return (0);
		default:
			agent_usage(stderr);
			return (2);
		}
	}
	if ((cfg == NULL) == (optind == argc) || argc - optind > 1) {
		fprintf(stderr, "medusa-agent: give a URL or -f CONFIG (one of "
		    "them)\n");
		agent_usage(stderr);
		return (2);
	}
	if (cfg != NULL) {
		if (agent_read_config(cfg, url, sizeof (url), &insecure) != 0)
			return (2);
	} else {
		snprintf(url, sizeof (url), "%s", argv[optind]);
	}
	if (wsurl_parse(url, &u, err, sizeof (err)) != 0) {
		fprintf(stderr, "medusa-agent: bad URL \"%s\": %s\n", url, err);
		return (2);
	}

	mlog_init("medusa-agent", "agent", -1);
	mlog_set_level(level);
	(void) signal(SIGPIPE, SIG_IGN);
	if (insecure && u.u_tls)
		mlog(MLOG_WARN, "TLS certificate checks are off (--insecure)",
		    "host=%s", u.u_host);

	memset(&ag, 0, sizeof (ag));
	ag.a_loop = EV_DEFAULT;
	ag.a_outfd = ag.a_infd = -1;
	ag.a_rc = 1;
	if ((ag.a_rbuf = malloc(AGENT_READ)) == NULL)
		return (1);
	ev_init(&ag.a_timer, agent_timer_cb);

	memset(&wo, 0, sizeof (wo));
	wo.wo_xport.xo_cacert = cacert;
	wo.wo_xport.xo_insecure = insecure;
	wo.wo_xport.xo_timeout = 30;
	wo.wo_low_water = AGENT_LOW_WATER;
	ag.a_ws.wc_on_message = agent_on_message;
	ag.a_ws.wc_on_end = agent_on_end;
	ag.a_ws.wc_on_drain = agent_on_drain;
	mlog(MLOG_INFO, "connecting", "host=%s port=%s tls=%s", u.u_host,
	    u.u_port, u.u_tls ? "true" : "false");
	if (wsc_open(&ag.a_ws, ag.a_loop, &u, &wo, err, sizeof (err)) != 0) {
		mlog(MLOG_ERROR, "cannot attach to the reflector", "error=%s",
		    err);
		return (1);
	}
	mlog(MLOG_INFO, "attached; waiting for the client", "path=%s",
	    u.u_path);
	for (int i = 0; i < 3; i++) {
		ev_signal_init(&ag.a_sigs[i], agent_signal_cb, sigs[i]);
		ev_signal_start(ag.a_loop, &ag.a_sigs[i]);
	}

	ev_run(ag.a_loop, 0);

	agent_close_fds();
	wsc_free(&ag.a_ws);
	buf_free(&ag.a_input);
	free(ag.a_rbuf);
	return (ag.a_rc);
}
