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
#define	AGENT_EXIT_HOLD		30.0	/* s for an away client to come back
					   for the exit (resumable only) */

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

/*
 * An end-to-end message to the client: counted and kept for replay when
 * the stream is sequenced; on the wire unless we are away or hold new
 * data until the client's resume.
 */
static void
agent_out(struct agent *a, bool text, const void *p, size_t n)
{
	char err[200];

	if (resume_sent(&a->a_rs, text, p, n, err, sizeof (err)) != 0) {
		mlog(MLOG_ERROR, "cannot keep a message for replay",
		    "error=%s", err);
		a->a_for_good = true;
		wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "agent out of memory");
		return;
	}
	if (wsc_is_open(&a->a_ws) && !resume_holding(&a->a_rs))
		(void) wsc_send(&a->a_ws, text ? WS_OP_TEXT : WS_OP_BINARY, p,
		    n);
}

static void
agent_send(struct agent *a, char *msg)
{
	if (msg != NULL)
		agent_out(a, true, msg, strlen(msg));
	free(msg);
}

/* Room to take the command's output: the socket's queue and the replay. */
static bool
agent_room(const struct agent *a)
{
	return (wsc_queued(&a->a_ws) <= AGENT_HIGH_WATER &&
	    !resume_full(&a->a_rs));
}

/*
 * The command leaves its input untaken (AGENT_INPUT_MAX queued): stop
 * reading the socket?  Yes, as a rule: a queue kept small is cheap (one
 * of megabytes, slid and regrown as the command takes it, halved the
 * throughput).  But in a sequenced session a paused socket also hides
 * the client's acks of our output behind its data: with our replay full
 * (the command blocked writing its output, so not reading its input),
 * neither would ever move.  So while the replay is full the socket is
 * read on (agent_cmd_output resumes it), the acks we hold
 * (agent_ack_if_due) bounding what the client sends to its window.  Past
 * AGENT_INPUT_MAX plus the larger of our window and the client's (as it
 * announced it; a client that announced none held RESUME_UNANNOUNCED by
 * default) it is paused even so: a client that ignores its window.  (The
 * client's window must count: a client whose window is larger than ours,
 * stopped at ours, would never see our acks, nor we its own.)
 */
static size_t
agent_input_cap(const struct agent *a)
{
	size_t w = a->a_rs.peer_window != 0 ? a->a_rs.peer_window :
	    RESUME_UNANNOUNCED;

	return (AGENT_INPUT_MAX + (a->a_rs.window > w ? a->a_rs.window : w));
}

static bool
agent_input_stop(const struct agent *a)
{
	return (a->a_rs.phase != RESUME_LIVE || !resume_full(&a->a_rs) ||
	    command_queued(&a->a_cmd) >= agent_input_cap(a));
}

static void
agent_close_wait_cb(EV_P_ ev_timer *w, int revents)
{
	struct agent *a = w->data;

	double left = a->a_exit_at + AGENT_EXIT_HOLD - ev_now(a->a_loop);

	(void) EV_A;
	(void) revents;
	if (a->a_rs.phase != RESUME_OFF && left > 0 &&
	    (a->a_client_away || !wsc_is_open(&a->a_ws))) {
		/* The client may yet come back for the exit: a while more. */
		ev_timer_set(&a->a_close_wait, left, 0);
		ev_timer_start(a->a_loop, &a->a_close_wait);
		return;
	}
	a->a_for_good = true;
	if (wsc_is_open(&a->a_ws)) {
		mlog(MLOG_INFO, "the client did not close; closing", "");
		wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "process exited");
		return;
	}
	/*
	 * Away (redialling) since the exit was sent: the client had its
	 * time to come back for it.  The command's exit is final: exit 0.
	 */
	mlog(MLOG_INFO, "the client did not come back for the exit; ending",
	    "");
	ev_timer_stop(a->a_loop, &a->a_redial);
	ev_timer_stop(a->a_loop, &a->a_acktick);
	ev_timer_stop(a->a_loop, &a->a_grace_timer);
	if (a->a_ws.wc_state == WSC_ENDED || a->a_ws.wc_state == WSC_IDLE) {
		agent_to(a, AGENT_ENDED);
		a->a_rc = AGENT_EXIT_OK;
		ev_break(a->a_loop, EVBREAK_ALL);
	} else {
		wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "process exited");
	}
}

/* The answer is sent (exit or error): the client closes now, or we do. */
static void
agent_exiting(struct agent *a)
{
	agent_to(a, AGENT_EXITING);
	a->a_exit_at = ev_now(a->a_loop);
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
		agent_out(a, false, p, n);
	if (!agent_room(a)) {
		command_pause_output(cm);	/* until on_drain or an ack */
		/* The acks that will make room may be behind input. */
		if (a->a_rs.phase == RESUME_LIVE && resume_full(&a->a_rs) &&
		    command_queued(cm) < agent_input_cap(a))
			wsc_resume(&a->a_ws);
	}
}

static void agent_ack_if_due(struct agent *);

/* The command's output goes straight into the replay ring (agent_out). */
static uint8_t *
agent_cmd_buffer(struct command *cm, size_t max)
{
	struct agent *a = cm->cm_arg;

	return (resume_reserve(&a->a_rs, max));
}

static void
agent_cmd_input_room(struct command *cm)
{
	struct agent *a = cm->cm_arg;

	wsc_resume(&a->a_ws);
	agent_ack_if_due(a);	/* the acks held while it was full */
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
	a->a_cmd.cm_out_buffer = agent_cmd_buffer;
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
agent_peer_message(struct agent *a, const json_t *o, const char *type)
{
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
}

/* --- resume (issue 14) -------------------------------------------------- */

/*
 * Ack what we received, unless the command leaves AGENT_INPUT_MAX of it
 * untaken: then the ack waits until it takes the queue below half
 * (agent_cmd_input_room).  Holding the ack is what holds the client's
 * stdin: the socket itself is still read (agent_on_message), so the
 * client's acks of our output are never stuck behind its data.
 */
static void
agent_ack_if_due(struct agent *a)
{
	if (command_queued(&a->a_cmd) >= AGENT_INPUT_MAX)
		return;
	if (wsc_is_open(&a->a_ws) && resume_ack_due(&a->a_rs,
	    (uint64_t)(ev_now(a->a_loop) * 1000))) {
		char *m = resume_ack_msg(&a->a_rs,
		    (uint64_t)(ev_now(a->a_loop) * 1000));

		if (m != NULL)
			(void) wsc_send_text_later(&a->a_ws, m);
		free(m);
	}
}

static void
agent_acktick_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) revents;
	agent_ack_if_due(w->data);
}

/* The session cannot go on without a loss: end it for good, clearly. */
static void
agent_unresumable(struct agent *a, const char *why)
{
	/* The client's bad message, not an operator's doing: a warning. */
	mlog(MLOG_WARN, "the session cannot resume", "error=%s", why);
	a->a_for_good = true;
	a->a_rc = AGENT_EXIT_GONE;
	if (command_running(&a->a_cmd))
		command_hangup(&a->a_cmd);
	wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "the session cannot resume");
}

/* ack or resume from the client. */
static void
agent_resume_ctl(struct agent *a, enum resume_ctl ctl, uint64_t n,
    size_t window, const char *link)
{
	char err[300];
	int rc = resume_on_ctl(&a->a_rs, ctl, n, window, link, err,
	    sizeof (err));

	if (rc < 0) {
		agent_unresumable(a, err);
		return;
	}
	if (rc == 1) {
		/* Its resume of a link we never saw, or a second: no replay. */
		mlog(MLOG_DEBUG, "a resume not of our latest link ignored",
		    "client_has=%llu", (unsigned long long)n);
		return;
	}
	if (ctl == RESUME_CTL_RESUME) {
		const uint8_t *d;
		size_t k = 0, dn;
		bool text;

		mlog(MLOG_INFO, "resumed", "client_has=%llu replay_from=%llu",
		    (unsigned long long)n, (unsigned long long)n + 1);
		while ((d = resume_replay_next(&a->a_rs, &k, &text, &dn,
		    NULL)) != NULL)
			(void) wsc_send(&a->a_ws, text ? WS_OP_TEXT :
			    WS_OP_BINARY, d, dn);
	}
	if (a->a_state == AGENT_RUNNING && agent_room(a))
		command_resume_output(&a->a_cmd);
}

/* The grace period is over and no client came back: hang up, end. */
static void
agent_grace_cb(EV_P_ ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void) EV_A;
	(void) revents;
	mlog(MLOG_WARN, "no client came back within the grace period; "
	    "hanging up", "grace_s=%g", a->a_grace);
	a->a_for_good = true;
	/* After the command's exit, the session ended as it should. */
	a->a_rc = a->a_state == AGENT_EXITING ? AGENT_EXIT_OK :
	    AGENT_EXIT_GONE;
	if (command_running(&a->a_cmd))
		command_hangup(&a->a_cmd);
	if (wsc_is_open(&a->a_ws)) {
		wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "grace period over");
	} else {
		ev_timer_stop(a->a_loop, &a->a_redial);
		wsc_close(&a->a_ws, WS_CLOSE_NORMAL, "grace period over");
		if (a->a_ws.wc_state == WSC_ENDED ||
		    a->a_ws.wc_state == WSC_IDLE)
			ev_break(a->a_loop, EVBREAK_ALL);
	}
}

static void
agent_grace_start(struct agent *a)
{
	if (!ev_is_active(&a->a_grace_timer)) {
		ev_timer_set(&a->a_grace_timer, a->a_grace, 0);
		ev_timer_start(a->a_loop, &a->a_grace_timer);
	}
}

static int agent_dial(struct agent *, char *err, size_t errlen);

static void
agent_redial_cb(EV_P_ ev_timer *w, int revents)
{
	struct agent *a = w->data;
	char err[600];

	(void) EV_A;
	(void) revents;
	if (agent_dial(a, err, sizeof (err)) != 0) {
		unsigned ms = resume_backoff_ms(++a->a_attempt,
		    (uint32_t)random());

		mlog(MLOG_WARN, "cannot redial", "error=%s retry_ms=%u", err,
		    ms);
		ev_timer_set(&a->a_redial, ms / 1000.0, 0);
		ev_timer_start(a->a_loop, &a->a_redial);
	}
}

/* A reflector message: linkup (with resume and a token) or detached. */
static void
agent_reflector_msg(struct agent *a, const char *json, size_t jn)
{
	const char *type, *tok, *link;
	char err[200];
	json_t *o = mlproto_parse(json, jn, &type, err, sizeof (err));
	bool resume;

	if (o == NULL)
		return;
	if (strcmp(type, "detached") == 0 && a->a_rs.phase != RESUME_OFF) {
		mlog(MLOG_INFO, "the client is away; keeping the command",
		    "grace_s=%g", a->a_grace);
		a->a_client_away = true;
		agent_grace_start(a);
	} else if (strcmp(type, "linkup") == 0) {
		a->a_client_away = false;
		resume = json_is_true(json_object_get(o, "resume"));
		tok = json_string_value(json_object_get(o, "token"));
		link = json_string_value(json_object_get(o, "link"));
		if (tok != NULL && strlen(tok) < sizeof (a->a_token))
			snprintf(a->a_token, sizeof (a->a_token), "%s", tok);
		ev_timer_stop(a->a_loop, &a->a_grace_timer);
		a->a_attempt = 0;
		if (a->a_state == AGENT_WAITING) {
			agent_to(a, AGENT_LINKED);
			mlog(MLOG_INFO, "linked to the client", "resume=%s",
			    MLOG_BOOL(resume));
		} else {
			mlog(MLOG_INFO, "linked again; resuming", "recv=%llu",
			    (unsigned long long)a->a_rs.recv);
		}
		if (resume_linkup(&a->a_rs, resume, link) == 1) {
			char *m = resume_resume_msg(&a->a_rs,
			    (uint64_t)(ev_now(a->a_loop) * 1000));

			if (m != NULL)
				(void) wsc_send_text(&a->a_ws, m);
			free(m);
		}
		if (a->a_rs.phase != RESUME_OFF &&
		    !ev_is_active(&a->a_acktick))
			ev_timer_start(a->a_loop, &a->a_acktick);
		agent_ack_if_due(a);	/* the first: our window, at once */
	}
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
	if (a->a_state == AGENT_CONNECTING)
		agent_to(a, AGENT_WAITING);
	mlog(MLOG_INFO, "attached; waiting for the client", "path=%.*s "
	    "resume=%s", (int)wsurl_loggable(a->a_url.u_path), a->a_url.u_path,
	    MLOG_BOOL(a->a_token[0] != '\0'));
}

static void
agent_on_message(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	struct agent *a = c->wc_arg;
	const char *json, *type;
	char err[200];
	size_t jn;
	uint64_t rn = 0;
	size_t rw = 0;
	const char *rl = NULL;
	enum resume_ctl ctl;
	json_t *o;

	if (op == WS_OP_BINARY) {
		if (!resume_received(&a->a_rs, n))
			return;		/* before the client's resume */
		agent_ack_if_due(a);
		if (a->a_state != AGENT_RUNNING || !command_running(&a->a_cmd)) {
			if (!a->a_said_early)
				mlog(MLOG_DEBUG, "input before start dropped",
				    "bytes=%zu", n);
			a->a_said_early = true;
			return;
		}
		if (command_input(&a->a_cmd, p, n) && agent_input_stop(a)) {
			wsc_pause(c);	/* the command is not reading */
			if (a->a_rs.phase == RESUME_LIVE &&
			    resume_full(&a->a_rs) && !a->a_said_cap) {
				/* Only past its window: its acks may hang. */
				mlog(MLOG_WARN, "the client sends past its "
				    "window: its input paused", "queued=%zu "
				    "window=%zu", command_queued(&a->a_cmd),
				    a->a_rs.peer_window);
				a->a_said_cap = true;
			}
		}
		return;
	}
	switch (mlproto_kind(p, n, &json, &jn)) {
	case MLPROTO_FROM_REFLECTOR:
		agent_reflector_msg(a, json, jn);
		return;
	case MLPROTO_FROM_PEER:
		if (a->a_state < AGENT_LINKED)
			return;
		if ((o = mlproto_parse(json, jn, &type, err,
		    sizeof (err))) == NULL) {
			mlog(MLOG_WARN, "ignoring malformed mlogin message",
			    "error=%s", err);
			if (resume_received(&a->a_rs, n))
				agent_ack_if_due(a);
			return;
		}
		ctl = a->a_rs.phase != RESUME_OFF ?
		    resume_classify(o, type, &rn, &rw, &rl) : RESUME_CTL_NONE;
		if (ctl != RESUME_CTL_NONE)
			agent_resume_ctl(a, ctl, rn, rw, rl);
		else if (resume_received(&a->a_rs, n)) {
			agent_ack_if_due(a);
			agent_peer_message(a, o, type);
		}
		json_decref(o);
		return;
	default:
		return;		/* the original client's "ping" */
	}
}

static void
agent_on_drain(struct wsc *c)
{
	struct agent *a = c->wc_arg;

	if (a->a_state == AGENT_RUNNING && agent_room(a))
		command_resume_output(&a->a_cmd);
}

/*
 * Is this end of a connection one to come back from?  A sequenced
 * session that we do not end, lost or closed other than 1000, or a
 * redial refused with 503 (no worker yet).
 */
static bool
agent_comes_back(const struct agent *a, const struct wsc *c)
{
	if (a->a_rs.phase == RESUME_OFF || a->a_for_good || a->a_signal != 0)
		return (false);
	switch (c->wc_end) {
	case WSC_END_CLOSED:
		return (c->wc_peer_code != WS_CLOSE_NORMAL &&
		    c->wc_peer_code != 0);
	case WSC_END_REFUSED:
		return (c->wc_http_status == 503);
	default:
		return (true);
	}
}

static void
agent_on_end(struct wsc *c, const char *err)
{
	struct agent *a = c->wc_arg;
	enum agent_state was = a->a_state;
	unsigned ms;

	if (agent_comes_back(a, c)) {
		ms = resume_backoff_ms(a->a_attempt++, (uint32_t)random());
		mlog(MLOG_WARN, "connection to the reflector lost; redialling",
		    "error=%s end=%s code=%u http=%d retry_ms=%u",
		    err != NULL ? err : "", wsc_end_name(c->wc_end),
		    (unsigned)c->wc_peer_code, c->wc_http_status, ms);
		agent_grace_start(a);
		ev_timer_set(&a->a_redial, ms / 1000.0, 0);
		ev_timer_start(a->a_loop, &a->a_redial);
		return;
	}
	ev_timer_stop(a->a_loop, &a->a_close_wait);
	ev_timer_stop(a->a_loop, &a->a_acktick);
	ev_timer_stop(a->a_loop, &a->a_grace_timer);
	ev_timer_stop(a->a_loop, &a->a_redial);
	agent_to(a, AGENT_ENDED);
	if (c->wc_end == WSC_END_REFUSED && a->a_rs.phase != RESUME_OFF) {
		/*
		 * Over for good (410, an expired token...): the reflector's
		 * answer, nothing for an operator to fix, so a warning.  When
		 * the command's exit was sent already, the session ended as
		 * it should (the client took the exit and closed): exit 0.
		 */
		mlog(was == AGENT_EXITING ? MLOG_INFO : MLOG_WARN,
		    "the reflector refused to resume the session; it is over",
		    "http=%d error=%s", c->wc_http_status,
		    err != NULL ? err : "");
		a->a_rc = was == AGENT_EXITING ? AGENT_EXIT_OK :
		    AGENT_EXIT_GONE;
		err = NULL;
		a->a_signal = 0;
	}
	if (err != NULL) {
		mlog(MLOG_ERROR, was == AGENT_CONNECTING ? "cannot attach to "
		    "the reflector" : "connection to the reflector lost",
		    "error=%s end=%s", err, wsc_end_name(c->wc_end));
		a->a_rc = AGENT_EXIT_CONN;
	} else if (a->a_rc != AGENT_EXIT_GONE) {
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
	a->a_wo = *wo;
	if (a->a_grace <= 0)
		a->a_grace = AGENT_GRACE;
	ev_init(&a->a_redial, agent_redial_cb);
	ev_init(&a->a_grace_timer, agent_grace_cb);
	ev_init(&a->a_acktick, agent_acktick_cb);
	ev_timer_set(&a->a_acktick, 0.5, 0.5);
	a->a_redial.data = a->a_grace_timer.data = a->a_acktick.data = a;
	mlog(MLOG_INFO, "connecting", "host=%s port=%s tls=%s path=%.*s "
	    "resume=%s", u->u_host, u->u_port, MLOG_BOOL(u->u_tls),
	    (int)wsurl_loggable(u->u_path), u->u_path,
	    MLOG_BOOL(a->a_resume_on));
	return (agent_dial(a, err, errlen));
}

/*
 * Dial (the first time, or again): with a key, a credential of its own
 * for this dial; the resume headers when on; the token after a linkup.
 */
static int
agent_dial(struct agent *a, char *err, size_t errlen)
{
	struct wsc_opts wo = a->a_wo;

	if (a->a_resume_on) {
		if (resume_headers(a->a_token, a->a_hdr, sizeof (a->a_hdr),
		    err, errlen) != 0)
			return (-1);
		wo.wo_extra = a->a_hdr;
	}
	return (clientauth_dial(a->a_auth, &a->a_ws, a->a_loop, &a->a_url,
	    &wo, err, errlen));
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
	/* A resumable session ends for good with 1000 only. */
	if (a->a_rs.phase != RESUME_OFF && !wsc_is_open(&a->a_ws) &&
	    ev_is_active(&a->a_redial)) {
		ev_timer_stop(a->a_loop, &a->a_redial);
		a->a_rc = 128 + signo;
		ev_break(a->a_loop, EVBREAK_ALL);
		return;
	}
	wsc_close(&a->a_ws, a->a_rs.phase != RESUME_OFF ? WS_CLOSE_NORMAL :
	    WS_CLOSE_GOING_AWAY, "agent terminated");
}

void
agent_session_free(struct agent *a)
{
	if (a->a_loop != NULL) {
		ev_timer_stop(a->a_loop, &a->a_close_wait);
		ev_timer_stop(a->a_loop, &a->a_redial);
		ev_timer_stop(a->a_loop, &a->a_acktick);
		ev_timer_stop(a->a_loop, &a->a_grace_timer);
	}
	resume_fini(&a->a_rs);
	command_free(&a->a_cmd);
	wsc_free(&a->a_ws);
}
