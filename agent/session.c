/*
 * session.c: the agent's life and the "mlogin:" protocol it serves; see
 * session.h and the big theory statement in main.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "mlog.h"
#include "mlproto.h"
#include "session.h"
#include "start.h"
#include "wsframe.h"

#define	AGENT_HIGH_WATER	(256u * 1024)	/* socket queue: stop reading */
#define	AGENT_INPUT_MAX		(256u * 1024)	/* input not yet taken */
#define	AGENT_CLOSE_WAIT	5.0	/* s for the client to close */

static const char *const agent_state_names[] = {
	"connecting", "waiting", "linked", "running", "exiting", "ended"
};

static void
agent_to(struct agent *a, enum agent_state to)
{
	/* Only forward: a state left is never entered again. */
	if (to <= a->a_state)
		abort();
	mlog(MLOG_DEBUG, "state", "from=%s to=%s",
	    agent_state_names[a->a_state], agent_state_names[to]);
	a->a_state = to;
}

static void
agent_send(struct agent *a, char *msg)
{
	if (msg != NULL)
		(void) wsc_send_text(&a->a_ws, msg);
	free(msg);
}

static void
agent_close_wait_cb(EV_P_ ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void) EV_A;
	(void) revents;
	mlog(MLOG_INFO, "the client did not close; closing", "");
	wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "process exited");
}

/* The answer is sent (exit or error): the client closes now, or we do. */
static void
agent_exiting(struct agent *a)
{
	agent_to(a, AGENT_EXITING);
	ev_timer_set(&a->a_close_wait, AGENT_CLOSE_WAIT, 0);
	ev_timer_start(a->a_loop, &a->a_close_wait);
}

static void
agent_send_error(struct agent *a, const char *text)
{
	mlog(MLOG_WARN, "cannot start the command", "error=%s", text);
	agent_send(a, mlproto_encode(json_pack("{s:s, s:s}", "type", "error",
	    "error", text)));
}

/* --- the command's side ------------------------------------------------ */

static void
agent_cmd_output(struct command *cm, enum command_stream s, const uint8_t *p,
    size_t n)
{
	struct agent *a = cm->cm_arg;

	if (s == COMMAND_ERR)
		agent_send(a, mlproto_stderr(p, n));
	else
		(void) wsc_send(&a->a_ws, WS_OP_BINARY, p, n);
	if (wsc_queued(&a->a_ws) > AGENT_HIGH_WATER)
		command_pause_output(cm);	/* until on_drain */
}

static void
agent_cmd_input_room(struct command *cm)
{
	struct agent *a = cm->cm_arg;

	wsc_resume(&a->a_ws);
}

static void
agent_cmd_done(struct command *cm, int st)
{
	struct agent *a = cm->cm_arg;
	json_t *o;

	if (a->a_state != AGENT_RUNNING)
		return;		/* the session is over already */
	if (WIFSIGNALED(st)) {
		char name[32];
		const char *abbr = sigabbrev_np(WTERMSIG(st));

		snprintf(name, sizeof (name), "SIG%s", abbr != NULL ? abbr :
		    "UNKNOWN");
		o = json_pack("{s:s, s:s}", "type", "exit", "signal", name);
		mlog(MLOG_INFO, "command exited", "pid=%d signal=%s",
		    (int)cm->cm_pid, name);
	} else {
		o = json_pack("{s:s, s:i}", "type", "exit", "code",
		    WEXITSTATUS(st));
		mlog(MLOG_INFO, "command exited", "pid=%d code=%d",
		    (int)cm->cm_pid, WEXITSTATUS(st));
	}
	agent_send(a, mlproto_encode(o));
	agent_exiting(a);
}

static bool
agent_can_run(const char *path)
{
	return (access(path, X_OK) == 0);
}

static void
agent_start(struct agent *a, const json_t *o)
{
	struct start_plan sp;
	struct command_spec cs;
	char err[512];

	if (a->a_state != AGENT_LINKED) {
		mlog(MLOG_INFO, "second start ignored", "");
		return;
	}
	if (start_parse(o, agent_can_run, &sp, err, sizeof (err)) != 0) {
		mlog(MLOG_WARN, "start: malformed", "error=%s", err);
		agent_send_error(a, err);
		return;
	}
	if (sp.sp_bad_size)
		mlog(MLOG_WARN, "start: bad terminal size; using 80x25", "");
	if (sp.sp_ctrun)
		mlog(MLOG_INFO, "no ctrun here: running its command", "");
	memset(&cs, 0, sizeof (cs));
	cs.cs_path = sp.sp_path;
	cs.cs_argv = sp.sp_argv;
	cs.cs_cwd = sp.sp_cwd;
	cs.cs_term = sp.sp_term;
	cs.cs_cols = sp.sp_cols;
	cs.cs_lines = sp.sp_lines;
	cs.cs_pty = sp.sp_pty;
	cs.cs_stderr_apart = a->a_stderr_apart = !sp.sp_pty && sp.sp_stderr;
	mlog(MLOG_INFO, "starting command", "command=%s cwd=%s term=%s "
	    "columns=%d lines=%d pty=%s stderr_apart=%s", cs.cs_path,
	    cs.cs_cwd, cs.cs_term, cs.cs_cols, cs.cs_lines,
	    MLOG_BOOL(cs.cs_pty), MLOG_BOOL(cs.cs_stderr_apart));
	agent_to(a, AGENT_RUNNING);
	a->a_cmd.cm_on_output = agent_cmd_output;
	a->a_cmd.cm_on_input_room = agent_cmd_input_room;
	a->a_cmd.cm_on_done = agent_cmd_done;
	a->a_cmd.cm_arg = a;
	if (command_spawn(&a->a_cmd, a->a_loop, &cs, AGENT_INPUT_MAX, err,
	    sizeof (err)) != 0) {
		agent_send_error(a, err);
		agent_exiting(a);	/* the error is the answer */
	} else {
		json_t *st = json_pack("{s:s, s:i, s:b}", "type", "started",
		    "pid", (int)a->a_cmd.cm_pid, "pty", cs.cs_pty);

		if (st != NULL && cs.cs_stderr_apart)
			(void) json_object_set_new(st, "stderr", json_true());
		agent_send(a, mlproto_encode(st));
	}
	start_plan_free(&sp);
}

static void
agent_resize(struct agent *a, const json_t *o)
{
	const json_t *c = json_object_get(o, "columns");
	const json_t *l = json_object_get(o, "lines");

	if (!json_is_integer(c) || !json_is_integer(l) ||
	    json_integer_value(c) < 1 || json_integer_value(c) > START_SIZE_MAX ||
	    json_integer_value(l) < 1 || json_integer_value(l) > START_SIZE_MAX) {
		mlog(MLOG_WARN, "ignoring resize with a bad size", "");
		return;
	}
	if (a->a_state != AGENT_RUNNING)
		return;
	if (command_resize(&a->a_cmd, (int)json_integer_value(c),
	    (int)json_integer_value(l)) != 0)
		mlog(MLOG_WARN, "TIOCSWINSZ failed", "error=%s",
		    strerror(errno));
}

static void
agent_peer_message(struct agent *a, const char *json, size_t n)
{
	const char *type;
	char err[200];
	json_t *o = mlproto_parse(json, n, &type, err, sizeof (err));

	if (o == NULL) {
		mlog(MLOG_WARN, "ignoring malformed mlogin message", "error=%s",
		    err);
		return;
	}
	if (strcmp(type, "start") == 0)
		agent_start(a, o);
	else if (strcmp(type, "resize") == 0)
		agent_resize(a, o);
	else if (strcmp(type, "eof") == 0) {
		if (a->a_state == AGENT_RUNNING)
			command_eof(&a->a_cmd);
	} else
		mlog(MLOG_WARN, "ignoring unknown mlogin message", "type=%s",
		    type);
	json_decref(o);
}

/* --- the connection's side --------------------------------------------- */

static void
agent_on_progress(struct wsc *c, const char *what, bool slow)
{
	(void) c;
	mlog(slow ? MLOG_INFO : MLOG_DEBUG, slow ? "still connecting" :
	    "connecting step", "step=%s", what);
}

static void
agent_on_open(struct wsc *c)
{
	struct agent *a = c->wc_arg;
	char tls[600];

	if (a->a_url.u_tls)
		mlog(MLOG_INFO, "TLS established", "info=%s",
		    xport_tls_info(&c->wc_x, tls, sizeof (tls)));
	agent_to(a, AGENT_WAITING);
	mlog(MLOG_INFO, "attached; waiting for the client", "path=%.*s",
	    (int)wsurl_loggable(a->a_url.u_path), a->a_url.u_path);
}

static void
agent_on_message(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	struct agent *a = c->wc_arg;
	const char *json;
	size_t jn;

	if (op == WS_OP_BINARY) {
		if (a->a_state != AGENT_RUNNING || !command_running(&a->a_cmd)) {
			if (!a->a_said_early)
				mlog(MLOG_DEBUG, "input before start dropped",
				    "bytes=%zu", n);
			a->a_said_early = true;
			return;
		}
		if (command_input(&a->a_cmd, p, n))
			wsc_pause(c);	/* the command is not reading */
		return;
	}
	switch (mlproto_kind(p, n, &json, &jn)) {
	case MLPROTO_FROM_REFLECTOR:
		if (a->a_state == AGENT_WAITING && jn == 17 &&
		    memcmp(json, "{\"type\":\"linkup\"}", jn) == 0) {
			agent_to(a, AGENT_LINKED);
			mlog(MLOG_INFO, "linked to the client", "");
		}
		return;
	case MLPROTO_FROM_PEER:
		if (a->a_state >= AGENT_LINKED)
			agent_peer_message(a, json, jn);
		return;
	default:
		return;		/* the original client's "ping" */
	}
}

static void
agent_on_drain(struct wsc *c)
{
	struct agent *a = c->wc_arg;

	if (a->a_state == AGENT_RUNNING)
		command_resume_output(&a->a_cmd);
}

static void
agent_on_end(struct wsc *c, const char *err)
{
	struct agent *a = c->wc_arg;
	enum agent_state was = a->a_state;

	ev_timer_stop(a->a_loop, &a->a_close_wait);
	agent_to(a, AGENT_ENDED);
	if (err != NULL) {
		mlog(MLOG_ERROR, was == AGENT_CONNECTING ? "cannot attach to "
		    "the reflector" : "connection to the reflector lost",
		    "error=%s end=%s", err, wsc_end_name(c->wc_end));
		a->a_rc = AGENT_EXIT_CONN;
	} else {
		mlog(MLOG_INFO, "session ended", "code=%u reason=%s",
		    (unsigned)c->wc_peer_code, c->wc_peer_reason);
		a->a_rc = was <= AGENT_WAITING ? AGENT_EXIT_NOBODY :
		    AGENT_EXIT_OK;
		if (was <= AGENT_WAITING && a->a_signal == 0)
			mlog(MLOG_WARN, "no client came", "");
	}
	if (a->a_signal != 0)
		a->a_rc = 128 + a->a_signal;
	if (command_running(&a->a_cmd)) {
		mlog(MLOG_INFO, "session ended; hanging up on the command",
		    "pid=%d", (int)a->a_cmd.cm_pid);
		command_hangup(&a->a_cmd);
	}
	ev_break(a->a_loop, EVBREAK_ALL);
}

int
agent_session_start(struct agent *a, struct ev_loop *loop,
    const struct wsurl *u, const struct wsc_opts *wo, char *err,
    size_t errlen)
{
	a->a_loop = loop;
	a->a_state = AGENT_CONNECTING;
	a->a_rc = AGENT_EXIT_CONN;
	a->a_url = *u;
	ev_init(&a->a_close_wait, agent_close_wait_cb);
	a->a_close_wait.data = a;
	a->a_ws.wc_arg = a;
	a->a_ws.wc_on_open = agent_on_open;
	a->a_ws.wc_on_message = agent_on_message;
	a->a_ws.wc_on_end = agent_on_end;
	a->a_ws.wc_on_drain = agent_on_drain;
	a->a_ws.wc_on_progress = agent_on_progress;
	mlog(MLOG_INFO, "connecting", "host=%s port=%s tls=%s path=%.*s",
	    u->u_host, u->u_port, MLOG_BOOL(u->u_tls),
	    (int)wsurl_loggable(u->u_path), u->u_path);
	/* With a key, a credential of its own for this dial. */
	return (clientauth_dial(a->a_auth, &a->a_ws, loop, u, wo, err,
	    errlen));
}

void
agent_session_stop(struct agent *a, int signo)
{
	mlog(MLOG_INFO, "signal: ending the session", "signal=%s",
	    strsignal(signo));
	a->a_signal = signo;
	if (command_running(&a->a_cmd)) {
		mlog(MLOG_INFO, "session ended; hanging up on the command",
		    "pid=%d", (int)a->a_cmd.cm_pid);
		command_hangup(&a->a_cmd);
	}
	wsc_close(&a->a_ws, WS_CLOSE_GOING_AWAY, "agent terminated");
}

void
agent_session_free(struct agent *a)
{
	if (a->a_loop != NULL)
		ev_timer_stop(a->a_loop, &a->a_close_wait);
	command_free(&a->a_cmd);
	wsc_free(&a->a_ws);
}
