/*
 * command.c: the command and its terminal or pipes; see command.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "command.h"
#include "netutil.h"

#define	COMMAND_READ		65536
#define	COMMAND_DRAIN_IDLE	1.0	/* s of quiet after exit */

static void command_finish(struct command *);

static bool
command_outputs_done(const struct command *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->cm_out[i].co_fd >= 0 && !c->cm_out[i].co_end)
			return (false);
	}
	return (true);
}

static void
command_close_out(struct command *c, int i)
{
	struct command_out *o = &c->cm_out[i];

	if (o->co_fd < 0)
		return;
	ev_io_stop(c->cm_loop, &o->co_io);
	if (o->co_fd == c->cm_in) {
		/* A terminal's master is its input too. */
		ev_io_stop(c->cm_loop, &c->cm_in_io);
		c->cm_in = -1;
	}
	(void) close(o->co_fd);
	o->co_fd = -1;
}

static void
command_close_in(struct command *c)
{
	ev_io_stop(c->cm_loop, &c->cm_in_io);
	if (c->cm_in >= 0 && c->cm_in != c->cm_out[0].co_fd)
		(void) close(c->cm_in);
	c->cm_in = -1;
}

static void
command_drain_arm(struct command *c)
{
	ev_timer_stop(c->cm_loop, &c->cm_drain);
	if (!c->cm_exited || c->cm_done || c->cm_paused)
		return;
	ev_timer_set(&c->cm_drain, COMMAND_DRAIN_IDLE, 0);
	ev_timer_start(c->cm_loop, &c->cm_drain);
}

static void
command_out_cb(EV_P_ ev_io *w, int revents)
{
	struct command *c = w->data;
	int i = w == &c->cm_out[COMMAND_ERR].co_io ? COMMAND_ERR : COMMAND_OUT;
	uint8_t *to = NULL;
	ssize_t n;

	(void) EV_A;
	(void) revents;
	if (i == COMMAND_OUT && c->cm_out_buffer != NULL)
		to = c->cm_out_buffer(c, COMMAND_READ);
	if (to == NULL)
		to = c->cm_rbuf;
	do {
		n = read(w->fd, to, COMMAND_READ);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* EIO: every holder of the terminal's other end is gone. */
		ev_io_stop(EV_A_ w);
		c->cm_out[i].co_end = true;
		if (c->cm_exited && command_outputs_done(c))
			command_finish(c);
		return;
	}
	if (c->cm_exited)
		command_drain_arm(c);	/* still draining: the clock restarts */
	c->cm_on_output(c, (enum command_stream)i, to, (size_t)n);
}

static void
command_flush(struct command *c)
{
	while (c->cm_input.b_len > 0 && c->cm_in >= 0) {
		ssize_t n = write(c->cm_in, buf_head(&c->cm_input),
		    c->cm_input.b_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(c->cm_loop, &c->cm_in_io);
			return;
		}
		if (n < 0) {
			/* The command stopped reading for good. */
			buf_free(&c->cm_input);
			break;
		}
		buf_consume(&c->cm_input, (size_t)n);
	}
	ev_io_stop(c->cm_loop, &c->cm_in_io);
	/* Every byte is written: now the end of input may follow them. */
	if (c->cm_eof && !c->cm_pty && c->cm_in >= 0)
		command_close_in(c);
	if (c->cm_input.b_len < c->cm_input_max / 2 &&
	    c->cm_on_input_room != NULL)
		c->cm_on_input_room(c);
}

static void
command_in_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) revents;
	command_flush(w->data);
}

bool
command_input(struct command *c, const uint8_t *p, size_t n)
{
	if (c->cm_in < 0 || c->cm_eof)
		return (false);		/* nobody will read it */
	if (buf_append(&c->cm_input, p, n) != 0)
		return (true);
	command_flush(c);
	return (c->cm_input.b_len >= c->cm_input_max);
}

size_t
command_queued(const struct command *c)
{
	return (c->cm_input.b_len);
}

void
command_eof(struct command *c)
{
	if (c->cm_eof || c->cm_in < 0)
		return;
	if (c->cm_pty) {
		/* A terminal's end of input: its EOF character. */
		(void) command_input(c, (const uint8_t *)"\004", 1);
		return;
	}
	c->cm_eof = true;
	command_flush(c);
}

int
command_resize(struct command *c, int cols, int lines)
{
	struct winsize wsz;

	if (!c->cm_pty || c->cm_in < 0)
		return (0);
	memset(&wsz, 0, sizeof (wsz));
	wsz.ws_col = (unsigned short)cols;
	wsz.ws_row = (unsigned short)lines;
	return (ioctl(c->cm_in, TIOCSWINSZ, &wsz));
}

void
command_pause_output(struct command *c)
{
	c->cm_paused = true;
	for (int i = 0; i < 2; i++)
		ev_io_stop(c->cm_loop, &c->cm_out[i].co_io);
	ev_timer_stop(c->cm_loop, &c->cm_drain);
}

void
command_resume_output(struct command *c)
{
	if (!c->cm_paused)
		return;
	c->cm_paused = false;
	for (int i = 0; i < 2; i++) {
		if (c->cm_out[i].co_fd >= 0 && !c->cm_out[i].co_end)
			ev_io_start(c->cm_loop, &c->cm_out[i].co_io);
	}
	command_drain_arm(c);
}

void
command_hangup(struct command *c)
{
	if (!command_running(c))
		return;
	(void) kill(-c->cm_pid, SIGHUP);
	(void) kill(-c->cm_pid, SIGCONT);
}

static void
command_finish(struct command *c)
{
	if (c->cm_done)
		return;
	c->cm_done = true;
	ev_timer_stop(c->cm_loop, &c->cm_drain);
	for (int i = 0; i < 2; i++)
		command_close_out(c, i);
	command_close_in(c);
	c->cm_on_done(c, c->cm_status);
}

static void
command_drain_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) revents;
	command_finish(w->data);	/* exited, and quiet for a while */
}

static void
command_child_cb(EV_P_ ev_child *w, int revents)
{
	struct command *c = w->data;

	(void) revents;
	ev_child_stop(EV_A_ w);
	c->cm_exited = true;
	c->cm_status = w->rstatus;
	if (command_outputs_done(c))
		command_finish(c);
	else
		command_drain_arm(c);
}

/* In the child: report why exec failed, then exit. */
static void __attribute__((noreturn))
command_child_fail(int fd, const char *what, const char *arg)
{
	char msg[512];
	int n = snprintf(msg, sizeof (msg), "%s %s: %s", what, arg,
	    strerror(errno));

	if (n > 0)
		(void) !write(fd, msg, (size_t)n < sizeof (msg) ? (size_t)n :
		    sizeof (msg) - 1);
	_exit(127);
}

static void __attribute__((noreturn))
command_child(const struct command_spec *cs, int errfd, int s, int in, int out,
    int err)
{
	sigset_t none;
	int sigs[] = { SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGQUIT };

	sigemptyset(&none);
	(void) sigprocmask(SIG_SETMASK, &none, NULL);
	for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
		(void) signal(sigs[i], SIG_DFL);
	(void) setsid();
	if (s >= 0) {
		(void) ioctl(s, TIOCSCTTY, 0);
		in = out = err = s;
	}
	(void) dup2(in, 0);
	(void) dup2(out, 1);
	(void) dup2(err, 2);
	if (cs->cs_cwd != NULL && chdir(cs->cs_cwd) != 0)
		command_child_fail(errfd, "cannot change directory to",
		    cs->cs_cwd);
	(void) setenv("TERM", cs->cs_term, 1);
	execvp(cs->cs_path, cs->cs_argv);
	command_child_fail(errfd, "cannot run", cs->cs_path);
}

int
command_spawn(struct command *c, struct ev_loop *loop,
    const struct command_spec *cs, size_t input_max, char *err, size_t errlen)
{
	struct winsize wsz;
	int errp[2] = { -1, -1 }, m = -1, s = -1;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	char why[512];
	ssize_t n;
	pid_t pid;

	c->cm_loop = loop;
	c->cm_in = c->cm_out[0].co_fd = c->cm_out[1].co_fd = -1;
	c->cm_pty = cs->cs_pty;
	c->cm_input_max = input_max;
	if ((c->cm_rbuf = malloc(COMMAND_READ)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	memset(&wsz, 0, sizeof (wsz));
	wsz.ws_col = (unsigned short)cs->cs_cols;
	wsz.ws_row = (unsigned short)cs->cs_lines;
	if (pipe2(errp, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if (cs->cs_pty) {
		if (openpty(&m, &s, NULL, NULL, &wsz) != 0) {
			snprintf(err, errlen, "openpty: %s", strerror(errno));
			goto fail;
		}
		(void) fcntl(m, F_SETFD, FD_CLOEXEC);
		(void) fcntl(s, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    (cs->cs_stderr_apart && pipe2(er, O_CLOEXEC) != 0)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		command_child(cs, errp[1], s, in[0], out[1],
		    er[1] >= 0 ? er[1] : out[1]);
	(void) close(errp[1]);
	errp[1] = -1;
	if (cs->cs_pty) {
		(void) close(s);
		s = -1;
		c->cm_in = c->cm_out[COMMAND_OUT].co_fd = m;
		m = -1;
	} else {
		(void) close(in[0]);
		(void) close(out[1]);
		c->cm_in = in[1];
		c->cm_out[COMMAND_OUT].co_fd = out[0];
		if (er[0] >= 0) {
			(void) close(er[1]);
			c->cm_out[COMMAND_ERR].co_fd = er[0];
		}
		in[0] = in[1] = out[0] = out[1] = er[0] = er[1] = -1;
	}
	c->cm_pid = pid;
	ev_child_init(&c->cm_child, command_child_cb, pid, 0);
	c->cm_child.data = c;
	ev_child_start(loop, &c->cm_child);
	/* exec succeeded if the close-on-exec pipe closed with nothing. */
	do {
		n = read(errp[0], why, sizeof (why) - 1);
	} while (n < 0 && errno == EINTR);
	(void) close(errp[0]);
	errp[0] = -1;
	if (n > 0) {
		why[n] = '\0';
		snprintf(err, errlen, "%s", why);
		/* It exits 127 at once; the status is not waited for. */
		c->cm_done = true;
		for (int i = 0; i < 2; i++)
			command_close_out(c, i);
		command_close_in(c);
		return (-1);
	}
	ev_init(&c->cm_drain, command_drain_cb);
	c->cm_drain.data = c;
	ev_io_init(&c->cm_in_io, command_in_cb, c->cm_in, EV_WRITE);
	c->cm_in_io.data = c;
	(void) netutil_nonblock(c->cm_in);
	for (int i = 0; i < 2; i++) {
		if (c->cm_out[i].co_fd < 0)
			continue;
		if (c->cm_out[i].co_fd != c->cm_in)
			(void) netutil_nonblock(c->cm_out[i].co_fd);
		ev_io_init(&c->cm_out[i].co_io, command_out_cb,
		    c->cm_out[i].co_fd, EV_READ);
		c->cm_out[i].co_io.data = c;
		ev_io_start(loop, &c->cm_out[i].co_io);
	}
	return (0);
fail:
	for (int *fd = (int []){ errp[0], errp[1], m, s, in[0], in[1], out[0],
	    out[1], er[0], er[1] }, i = 0; i < 10; i++) {
		if (fd[i] >= 0)
			(void) close(fd[i]);
	}
	return (-1);
}

void
command_free(struct command *c)
{
	if (c->cm_loop != NULL) {
		ev_timer_stop(c->cm_loop, &c->cm_drain);
		ev_child_stop(c->cm_loop, &c->cm_child);
		for (int i = 0; i < 2; i++)
			command_close_out(c, i);
		command_close_in(c);
	}
	buf_free(&c->cm_input);
	free(c->cm_rbuf);
	c->cm_rbuf = NULL;
}
