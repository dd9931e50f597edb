/*
 * session.c: mlogin's life, the "mlogin:" protocol and standard input;
 * see session.h and the big theory statement in main.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlproto.h"
#include "session.h"
#include "wsframe.h"

#define	ML_HIGH_WATER	(256u * 1024)
#define	ML_TYPEAHEAD	(64u * 1024)
#define	ML_PING_EVERY	15.0	/* the text "ping", for the original tier */

static void
ml_to(struct mlogin *m, enum ml_state to)
{
	/* Only forward: a state left is never entered again. */
	if (to <= m->m_state)
		abort();
	m->m_state = to;
}

/* We end the session: status is our exit status once it is closed. */
static void
ml_end_session(struct mlogin *m, int status, uint16_t code, const char *why)
{
	if (m->m_state >= ML_ENDING)
		return;
	ml_to(m, ML_ENDING);
	m->m_exit = status;
	ev_io_stop(m->m_loop, &m->m_stdin);
	ev_idle_stop(m->m_loop, &m->m_stdin_idle);
	ev_timer_stop(m->m_loop, &m->m_ping);
	ev_timer_stop(m->m_loop, &m->m_acktick);
	if (ev_is_active(&m->m_redial)) {
		/* Between two dials: nothing to close. */
		ev_timer_stop(m->m_loop, &m->m_redial);
		ev_break(m->m_loop, EVBREAK_ALL);
		return;
	}
	wsc_close(&m->m_ws, code, why);
}

/*
 * An end-to-end message to the agent: counted and kept for replay when
 * the stream is sequenced; on the wire unless we are away or hold new
 * data until the agent's resume.
 */
static void
ml_out(struct mlogin *m, bool text, const void *p, size_t n)
{
	char err[200];

	if (resume_sent(&m->m_rs, text, p, n, err, sizeof (err)) != 0) {
		term_restore(&m->m_term);
		term_say(&m->m_term, "mlogin: %s", err);
		ml_end_session(m, 255, WS_CLOSE_NORMAL, "out of memory");
		return;
	}
	if (wsc_is_open(&m->m_ws) && !resume_holding(&m->m_rs))
		(void) wsc_send(&m->m_ws, text ? WS_OP_TEXT : WS_OP_BINARY, p,
		    n);
}

/* Room to read standard input: the socket's queue and the replay. */
static bool
ml_room(const struct mlogin *m)
{
	return (wsc_queued(&m->m_ws) <= ML_HIGH_WATER &&
	    !resume_full(&m->m_rs));
}

/* --- standard input ---------------------------------------------------- */

static void
ml_send_input(struct mlogin *m, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (m->m_state != ML_RUNNING) {
		/* Typeahead, sent when the command runs (bounded). */
		if (m->m_typeahead.b_len + n <= ML_TYPEAHEAD)
			(void) buf_append(&m->m_typeahead, p, n);
		return;
	}
	m->m_out_bytes += n;
	ml_out(m, false, p, n);
}

static void
ml_help(struct mlogin *m)
{
	char e = (char)m->m_esc.e_char;

	term_say(&m->m_term, "Supported escape sequences:");
	term_say(&m->m_term, " %c.   - terminate session", e);
	term_say(&m->m_term, " %ci   - print session information", e);
	term_say(&m->m_term, " %c^Z  - suspend mlogin", e);
	term_say(&m->m_term, " %c?   - this message", e);
	term_say(&m->m_term, " %c%c   - send the escape character by typing "
	    "it twice", e, e);
	term_say(&m->m_term, "(Note that escapes are only recognized "
	    "immediately after newline.)");
}

static void
ml_info(struct mlogin *m)
{
	static const char *const names[] = { "connecting", "waiting for the "
	    "agent", "starting the command", "running", "ending", "ended" };

	term_say(&m->m_term, "Session information:");
	term_say(&m->m_term, "   Reflector: %s", m->m_urltext);
	term_say(&m->m_term, "   State: %s", names[m->m_state]);
	if (m->m_linked_at > 0)
		term_say(&m->m_term, "   Connected: %.0f seconds",
		    ev_now(m->m_loop) - m->m_linked_at);
	term_say(&m->m_term, "   Sent: %llu bytes, received: %llu bytes",
	    (unsigned long long)m->m_out_bytes,
	    (unsigned long long)m->m_in_bytes);
}

static void ml_resize(struct mlogin *);

/* ~^Z: give the terminal back, stop; on return, take it again. */
static void
ml_suspend(struct mlogin *m)
{
	bool full = m->m_term.t_full;

	term_say(&m->m_term, " * suspending mlogin (%c^Z)", m->m_esc.e_char);
	term_restore(&m->m_term);
	(void) raise(SIGTSTP);
	term_raw(&m->m_term, full);
	ml_resize(m);
}

/* Keystrokes: escapes at the start of a line, the rest to the agent. */
static void
ml_keys(struct mlogin *m, const uint8_t *p, size_t n)
{
	enum escape_action act;
	size_t used, o;

	if (!m->m_escapes) {
		ml_send_input(m, p, n);
		return;
	}
	while (n > 0 && m->m_state < ML_ENDING) {
		used = escape_feed(&m->m_esc, p, n, m->m_obuf, &o, &act);
		ml_send_input(m, m->m_obuf, o);
		p += used;
		n -= used;
		switch (act) {
		case ESCAPE_END:
			term_say(&m->m_term, " * ending the session (%c.)",
			    m->m_esc.e_char);
			ml_end_session(m, 255, WS_CLOSE_NORMAL,
			    "session ended by the user");
			return;
		case ESCAPE_HELP:
			ml_help(m);
			break;
		case ESCAPE_INFO:
			ml_info(m);
			break;
		case ESCAPE_SUSPEND:
			ml_suspend(m);
			break;
		default:
			break;
		}
	}
}

static void
ml_stdin_eof(struct mlogin *m)
{
	m->m_stdin_eof = true;
	ev_io_stop(m->m_loop, &m->m_stdin);
	ev_idle_stop(m->m_loop, &m->m_stdin_idle);
	if (m->m_term.t_raw || m->m_state != ML_RUNNING)
		return;		/* a terminal's EOF is ^D, sent as a key */
	if (m->m_pipes)
		ml_out(m, true, MLPROTO_PREFIX "{\"type\":\"eof\"}",
		    sizeof (MLPROTO_PREFIX "{\"type\":\"eof\"}") - 1);
	else
		ml_send_input(m, (const uint8_t *)"\004", 1);
}

static void
ml_stdin_read(struct mlogin *m)
{
	uint8_t *to = NULL;
	ssize_t n;

	/*
	 * Input sent as it is read (no escapes to filter) goes straight into
	 * the replay ring when the stream is sequenced: ml_out keeps it there.
	 */
	if (!m->m_escapes && m->m_state == ML_RUNNING)
		to = resume_reserve(&m->m_rs, sizeof (m->m_rbuf));
	if (to == NULL)
		to = m->m_rbuf;
	do {
		n = read(STDIN_FILENO, to, sizeof (m->m_rbuf));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		ml_stdin_eof(m);
		return;
	}
	ml_keys(m, to, (size_t)n);
	if (m->m_state == ML_RUNNING && !ml_room(m)) {
		ev_io_stop(m->m_loop, &m->m_stdin);
		ev_idle_stop(m->m_loop, &m->m_stdin_idle);
	}
}

static void
ml_stdin_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) revents;
	ml_stdin_read(w->data);
}

static void
ml_stdin_idle_cb(EV_P_ ev_idle *w, int revents)
{
	(void) EV_A;
	(void) revents;
	ml_stdin_read(w->data);
}

/*
 * Read standard input: at once when it is a terminal we own (escapes work
 * while we connect and wait), else once the command runs.
 */
static void
ml_stdin_start(struct mlogin *m)
{
	if (m->m_stdin_eof || m->m_state >= ML_ENDING)
		return;
	if (m->m_state != ML_RUNNING && !m->m_escapes)
		return;
	if (m->m_state == ML_RUNNING && !ml_room(m))
		return;		/* until on_drain or an ack */
	/* epoll cannot watch a regular file: read it when idle instead. */
	if (m->m_stdin_reg)
		ev_idle_start(m->m_loop, &m->m_stdin_idle);
	else
		ev_io_start(m->m_loop, &m->m_stdin);
}

/* --- messages ---------------------------------------------------------- */

static void
ml_send(struct mlogin *m, char *msg)
{
	if (msg != NULL)
		ml_out(m, true, msg, strlen(msg));
	free(msg);
}

static void
ml_resize(struct mlogin *m)
{
	int cols, lines;

	if (m->m_state != ML_RUNNING || m->m_pipes || !m->m_term.t_in_tty)
		return;
	term_size(&cols, &lines);
	ml_send(m, mlproto_encode(json_pack("{s:s, s:i, s:i}", "type",
	    "resize", "columns", cols, "lines", lines)));
}

static void
ml_send_start(struct mlogin *m)
{
	const char *term = getenv("TERM");
	json_t *args;
	int cols, lines;

	term_size(&cols, &lines);
	args = m->m_command != NULL ? json_pack("[ss]", "-c", m->m_command) :
	    json_pack("[s]", "--norc");
	ml_send(m, mlproto_encode(json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, "
	    "s:b, s:b}", "type", "start", "command", "/bin/bash",
	    "arguments", args, "term", term != NULL && term[0] != '\0' ?
	    term : "xterm", "columns", cols, "lines", lines, "pty",
	    m->m_want_pty, "stderr", true)));
}

static void
ml_ping_cb(EV_P_ ev_timer *w, int revents)
{
	struct mlogin *m = w->data;

	(void) EV_A;
	(void) revents;
	(void) wsc_send_text(&m->m_ws, "ping");
}

static void
ml_ack_if_due(struct mlogin *m)
{
	uint64_t now = (uint64_t)(ev_now(m->m_loop) * 1000);
	char *a;

	if (wsc_is_open(&m->m_ws) && resume_ack_due(&m->m_rs, now)) {
		if ((a = resume_ack_msg(&m->m_rs, now)) != NULL)
			(void) wsc_send_text_later(&m->m_ws, a);
		free(a);
	}
}

static void
ml_acktick_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) revents;
	ml_ack_if_due(w->data);
}

/*
 * A linkup (every linkup: the first, with or without resume, and those
 * after it) or the detached of a resumable session (resume.h): true if
 * handled here.
 */
static bool
ml_relinkup(struct mlogin *m, const char *json, size_t n)
{
	const char *type, *tok, *link;
	char err[200], *r;
	json_t *o = mlproto_parse(json, n, &type, err, sizeof (err));
	bool resume, handled = false;

	if (o == NULL)
		return (false);
	if (strcmp(type, "detached") == 0 && m->m_rs.phase != RESUME_OFF) {
		if (!m->m_quiet && !m->m_said_detached)
			term_say(&m->m_term, " * waiting for the remote side "
			    "to come back");
		m->m_said_detached = true;
		handled = true;
	} else if (strcmp(type, "linkup") == 0) {
		resume = json_is_true(json_object_get(o, "resume"));
		tok = json_string_value(json_object_get(o, "token"));
		link = json_string_value(json_object_get(o, "link"));
		if (tok != NULL && strlen(tok) < sizeof (m->m_token))
			snprintf(m->m_token, sizeof (m->m_token), "%s", tok);
		m->m_attempt = 0;
		if (resume_linkup(&m->m_rs, resume, link) == 1) {
			/* A linkup after the first: resume. */
			if (!m->m_quiet && (m->m_away || m->m_said_detached))
				term_say(&m->m_term, " * reconnected");
			m->m_away = m->m_said_detached = false;
			r = resume_resume_msg(&m->m_rs,
			    (uint64_t)(ev_now(m->m_loop) * 1000));
			if (r != NULL)
				(void) wsc_send_text(&m->m_ws, r);
			free(r);
			handled = true;
		} else if (m->m_state == ML_WAITING) {
			/* The first (also the original's {"type":"linkup"}). */
			ml_to(m, ML_LINKED);
			if (!m->m_quiet) {
				if (m->m_waits == 0 || !m->m_term.t_err_tty)
					term_say(&m->m_term,
					    " * session established");
				else
					term_put(&m->m_term,
					    "\b established\n", 14);
			}
			m->m_linked_at = ev_now(m->m_loop);
			ml_send_start(m);
			ev_timer_start(m->m_loop, &m->m_ping);
		}
		handled = true;
		if (m->m_rs.phase != RESUME_OFF &&
		    !ev_is_active(&m->m_acktick))
			ev_timer_start(m->m_loop, &m->m_acktick);
		ml_ack_if_due(m);	/* the first: our window, at once */
	}
	json_decref(o);
	return (handled);
}

static void
ml_reflector_msg(struct mlogin *m, const char *json, size_t n)
{
	static const char spin[] = "-\\|/";

	if (n == 15 && memcmp(json, "{\"type\":\"wait\"}", n) == 0) {
		if (m->m_quiet || m->m_state != ML_WAITING)
			return;
		if (m->m_waits++ == 0) {
			term_put(&m->m_term, " * waiting for session...  ", 27);
		} else if (m->m_term.t_err_tty) {
			char b[2] = { '\b', spin[m->m_waits % 4] };

			term_put(&m->m_term, b, 2);
		}
		return;
	}
	(void) ml_relinkup(m, json, n);
}

static void
ml_started(struct mlogin *m, const json_t *o)
{
	if (m->m_state != ML_LINKED)
		return;
	ml_to(m, ML_RUNNING);
	m->m_pipes = json_is_false(json_object_get(o, "pty"));
	m->m_stderr_apart = json_is_true(json_object_get(o, "stderr"));
	if (m->m_want_pty)
		term_raw(&m->m_term, true);
	if (m->m_typeahead.b_len > 0) {
		m->m_out_bytes += m->m_typeahead.b_len;
		ml_out(m, false, buf_head(&m->m_typeahead),
		    m->m_typeahead.b_len);
		buf_free(&m->m_typeahead);
	}
	if (m->m_stdin_eof)
		ml_stdin_eof(m);
	ml_stdin_start(m);
}

/* The session cannot go on without a loss: end it, clearly. */
static void
ml_unresumable(struct mlogin *m, const char *why)
{
	term_restore(&m->m_term);
	term_say(&m->m_term, "mlogin: %s", why);
	ml_end_session(m, ML_EXIT_GONE, WS_CLOSE_NORMAL,
	    "the session cannot resume");
}

/* ack or resume from the agent. */
static void
ml_resume_ctl(struct mlogin *m, enum resume_ctl ctl, uint64_t n,
    size_t window, const char *link)
{
	char err[300];
	int rc = resume_on_ctl(&m->m_rs, ctl, n, window, link, err,
	    sizeof (err));

	if (rc < 0) {
		ml_unresumable(m, err);
		return;
	}
	if (rc == 1)
		return;	/* its resume of a link we never saw, or a second */
	if (ctl == RESUME_CTL_RESUME) {
		const uint8_t *d;
		size_t k = 0, dn;
		bool text;

		while ((d = resume_replay_next(&m->m_rs, &k, &text, &dn,
		    NULL)) != NULL)
			(void) wsc_send(&m->m_ws, text ? WS_OP_TEXT :
			    WS_OP_BINARY, d, dn);
		/* Full-screen programs repaint: a size change and back. */
		if (m->m_state == ML_RUNNING && !m->m_pipes &&
		    m->m_term.t_in_tty) {
			int cols, lines;

			term_size(&cols, &lines);
			ml_send(m, mlproto_encode(json_pack("{s:s, s:i, s:i}",
			    "type", "resize", "columns", cols > 1 ? cols - 1 :
			    cols + 1, "lines", lines)));
			ml_resize(m);
		}
	}
	ml_stdin_start(m);
}

static void
ml_agent_msg(struct mlogin *m, const char *json, size_t n, size_t wire)
{
	const char *type;
	char err[200];
	json_t *o = mlproto_parse(json, n, &type, err, sizeof (err)), *v;
	uint8_t *data;
	size_t dn;
	uint64_t rn = 0;
	size_t rw = 0;
	const char *rl = NULL;
	enum resume_ctl ctl;

	if (o == NULL) {
		if (resume_received(&m->m_rs, wire))
			ml_ack_if_due(m);
		return;		/* not for us */
	}
	ctl = m->m_rs.phase != RESUME_OFF ? resume_classify(o, type, &rn,
	    &rw, &rl) : RESUME_CTL_NONE;
	if (ctl != RESUME_CTL_NONE) {
		ml_resume_ctl(m, ctl, rn, rw, rl);
		json_decref(o);
		return;
	}
	if (!resume_received(&m->m_rs, wire)) {
		json_decref(o);
		return;		/* before the agent's resume */
	}
	ml_ack_if_due(m);
	if (strcmp(type, "started") == 0) {
		ml_started(m, o);
	} else if (strcmp(type, "stderr") == 0 && m->m_stderr_apart) {
		if (mlproto_stderr_data(o, &data, &dn) == 0) {
			m->m_in_bytes += dn;
			term_errput(&m->m_term, data, dn);
			free(data);
		}
	} else if (strcmp(type, "error") == 0 && m->m_state < ML_ENDING) {
		v = json_object_get(o, "error");
		term_restore(&m->m_term);
		term_say(&m->m_term, " * remote error: %s", json_is_string(v) ?
		    json_string_value(v) : "unknown");
		ml_end_session(m, 1, WS_CLOSE_NORMAL, "aborting");
	} else if (strcmp(type, "exit") == 0 && m->m_state < ML_ENDING) {
		term_restore(&m->m_term);
		if (!m->m_quiet)
			term_say(&m->m_term, " * remote process exited");
		ml_end_session(m, mlproto_exit_status(o), WS_CLOSE_NORMAL,
		    "done");
	}
	json_decref(o);
}

/* --- the connection's callbacks ---------------------------------------- */

static void
ml_on_progress(struct wsc *c, const char *what, bool slow)
{
	struct mlogin *m = c->wc_arg;

	conn_progress(&m->m_view, what, slow);
}

static void
ml_on_open(struct wsc *c)
{
	struct mlogin *m = c->wc_arg;

	conn_opened(&m->m_view, c, m->m_url.u_tls);
	if (m->m_view.cv_said_slow && !m->m_quiet)
		term_say(&m->m_term, " * connected");
	if (m->m_state == ML_CONNECTING)
		ml_to(m, ML_WAITING);
}

static void
ml_on_message(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	struct mlogin *m = c->wc_arg;
	const char *json;
	size_t jn;

	if (op == WS_OP_BINARY) {
		if (!resume_received(&m->m_rs, n))
			return;		/* before the agent's resume */
		ml_ack_if_due(m);
		m->m_in_bytes += n;
		term_output(&m->m_term, p, n);
		return;
	}
	switch (mlproto_kind(p, n, &json, &jn)) {
	case MLPROTO_FROM_REFLECTOR:
		ml_reflector_msg(m, json, jn);
		break;
	case MLPROTO_FROM_PEER:
		ml_agent_msg(m, json, jn, n);
		break;
	default:
		break;
	}
}

static void
ml_on_drain(struct wsc *c)
{
	ml_stdin_start(c->wc_arg);
}

/*
 * Is this end of a connection one to come back from?  A sequenced
 * session that we do not end, lost or closed other than 1000, or a
 * redial refused with 503 (no worker yet).
 */
static bool
ml_comes_back(const struct mlogin *m, const struct wsc *c)
{
	if (m->m_rs.phase == RESUME_OFF || m->m_state >= ML_ENDING)
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

static int ml_dial(struct mlogin *, char *err, size_t errlen);

static void
ml_redial_cb(EV_P_ ev_timer *w, int revents)
{
	struct mlogin *m = w->data;
	char err[600];

	(void) EV_A;
	(void) revents;
	if (ml_dial(m, err, sizeof (err)) != 0) {
		ev_timer_set(&m->m_redial, resume_backoff_ms(++m->m_attempt,
		    (uint32_t)random()) / 1000.0, 0);
		ev_timer_start(m->m_loop, &m->m_redial);
	}
}

static void
ml_on_end(struct wsc *c, const char *err)
{
	struct mlogin *m = c->wc_arg;
	enum ml_state was = m->m_state;
	char words[800];
	bool refused;

	if (ml_comes_back(m, c)) {
		if (!m->m_away && !m->m_quiet)
			term_say(&m->m_term, " * %s; reconnecting...",
			    conn_end_words(c->wc_end, c->wc_peer_code,
			    c->wc_peer_reason, err, words, sizeof (words)));
		m->m_away = true;
		ev_timer_set(&m->m_redial, resume_backoff_ms(m->m_attempt++,
		    (uint32_t)random()) / 1000.0, 0);
		ev_timer_start(m->m_loop, &m->m_redial);
		return;
	}
	refused = c->wc_end == WSC_END_REFUSED && m->m_rs.phase != RESUME_OFF;
	ev_timer_stop(m->m_loop, &m->m_acktick);
	ml_to(m, ML_ENDED);
	ev_io_stop(m->m_loop, &m->m_stdin);
	ev_idle_stop(m->m_loop, &m->m_stdin_idle);
	ev_timer_stop(m->m_loop, &m->m_ping);
	if (was != ML_ENDING) {
		/* Not by our hand: undo what the remote program left set. */
		bool full = m->m_term.t_full;

		term_restore(&m->m_term);
		if (full)
			term_reset_screen(&m->m_term);
		term_say(&m->m_term, "mlogin: %s%s", refused ? "the session "
		    "cannot be resumed: " : "", conn_end_words(c->wc_end,
		    c->wc_peer_code, c->wc_peer_reason, err, words,
		    sizeof (words)));
		m->m_exit = refused ? ML_EXIT_GONE : 255;
	}
	ev_break(m->m_loop, EVBREAK_ALL);
}

/* --- signals ------------------------------------------------------------ */

static void
ml_signal_cb(EV_P_ ev_signal *w, int revents)
{
	struct mlogin *m = w->data;

	(void) EV_A;
	(void) revents;
	if (w->signum == SIGWINCH) {
		ml_resize(m);
		return;
	}
	term_restore(&m->m_term);
	term_say(&m->m_term, "mlogin: %s; ending the session",
	    strsignal(w->signum));
	if (m->m_state >= ML_ENDING) {
		m->m_exit = 128 + w->signum;
		ev_break(m->m_loop, EVBREAK_ALL);
		return;
	}
	/* A resumable session ends for good with 1000 only. */
	ml_end_session(m, 128 + w->signum, m->m_rs.phase != RESUME_OFF ?
	    WS_CLOSE_NORMAL : WS_CLOSE_GOING_AWAY, "client interrupted");
}

int
ml_session_start(struct mlogin *m, struct ev_loop *loop,
    const struct wsc_opts *wo, char *err, size_t errlen)
{
	int sigs[5] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT };

	m->m_loop = loop;
	m->m_state = ML_CONNECTING;
	m->m_exit = 255;
	m->m_escapes = m->m_escapes && m->m_term.t_in_tty && m->m_want_pty;
	m->m_view.cv_term = &m->m_term;
	m->m_view.cv_quiet = m->m_quiet;
	m->m_ws.wc_arg = m;
	m->m_ws.wc_on_open = ml_on_open;
	m->m_ws.wc_on_message = ml_on_message;
	m->m_ws.wc_on_end = ml_on_end;
	m->m_ws.wc_on_drain = ml_on_drain;
	m->m_ws.wc_on_progress = ml_on_progress;
	ev_io_init(&m->m_stdin, ml_stdin_cb, STDIN_FILENO, EV_READ);
	ev_idle_init(&m->m_stdin_idle, ml_stdin_idle_cb);
	ev_timer_init(&m->m_ping, ml_ping_cb, ML_PING_EVERY, ML_PING_EVERY);
	m->m_stdin.data = m->m_stdin_idle.data = m->m_ping.data = m;
	m->m_wo = *wo;
	ev_init(&m->m_redial, ml_redial_cb);
	ev_init(&m->m_acktick, ml_acktick_cb);
	ev_timer_set(&m->m_acktick, 0.5, 0.5);
	m->m_redial.data = m->m_acktick.data = m;
	if (ml_dial(m, err, errlen) != 0)
		return (-1);
	for (int i = 0; i < 5; i++) {
		ev_signal_init(&m->m_sigs[i], ml_signal_cb, sigs[i]);
		m->m_sigs[i].data = m;
		ev_signal_start(loop, &m->m_sigs[i]);
	}
	/* Escapes work from now on: keys are read without echo. */
	if (m->m_escapes)
		term_raw(&m->m_term, false);
	ml_stdin_start(m);
	return (0);
}

/*
 * Dial (the first time, or again): a credential of its own for this dial
 * (a Date signed now); the resume headers when on, with the token after
 * a linkup.
 */
static int
ml_dial(struct mlogin *m, char *err, size_t errlen)
{
	struct wsc_opts wo = m->m_wo;

	if (m->m_resume_on) {
		if (resume_headers(m->m_token, m->m_hdr, sizeof (m->m_hdr),
		    err, errlen) != 0)
			return (-1);
		wo.wo_extra = m->m_hdr;
	}
	return (clientauth_dial(m->m_auth, &m->m_ws, m->m_loop, &m->m_url,
	    &wo, err, errlen));
}

void
ml_session_free(struct mlogin *m)
{
	for (int i = 0; i < 5 && m->m_loop != NULL; i++)
		ev_signal_stop(m->m_loop, &m->m_sigs[i]);
	if (m->m_loop != NULL) {
		ev_timer_stop(m->m_loop, &m->m_redial);
		ev_timer_stop(m->m_loop, &m->m_acktick);
	}
	resume_fini(&m->m_rs);
	term_restore(&m->m_term);
	wsc_free(&m->m_ws);
	buf_free(&m->m_typeahead);
}
