/*
 * session.h: mlogin's side of a session: its life, the "mlogin:" protocol
 * and standard input.  See the big theory statement in main.c.
 */
#ifndef MEDUSA_ML_SESSION_H
#define MEDUSA_ML_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "buf.h"
#include "conn.h"
#include "escape.h"
#include "resume.h"
#include "term.h"
#include "clientauth.h"
#include "wsclient.h"
#include "wsurl.h"

#define	ML_READ		16384

/* mlogin's life, in order; each step only forward. */
enum ml_state {
	ML_CONNECTING = 0,	/* dialling the reflector */
	ML_WAITING,		/* attached; "wait" pulses until the agent */
	ML_LINKED,		/* linkup: start sent, started awaited */
	ML_RUNNING,		/* the command runs */
	ML_ENDING,		/* we are closing (exit, error, ~., signal) */
	ML_ENDED
};

struct mlogin {
	enum ml_state	m_state;
	struct ev_loop	*m_loop;
	struct term	m_term;
	struct escape	m_esc;
	struct conn_view m_view;
	struct wsc	m_ws;
	struct wsurl	m_url;
	struct clientauth *m_auth;	/* signs each dial; NULL: none */
	const char	*m_urltext;
	const char	*m_command;	/* bash -c this; NULL: a shell */
	bool		m_want_pty;	/* ask for a terminal */
	bool		m_escapes;	/* stdin is a terminal, pty asked */
	bool		m_quiet;
	bool		m_pipes;	/* the agent said: pipes */
	bool		m_stderr_apart;	/* the agent said: stderr apart */
	bool		m_stdin_reg;	/* a regular file: read when idle */
	bool		m_stdin_eof;
	struct buf	m_typeahead;	/* keys before the command runs */
	ev_io		m_stdin;
	ev_idle		m_stdin_idle;
	ev_timer	m_ping;
	ev_signal	m_sigs[5];
	int		m_waits;
	int		m_exit;
	double		m_linked_at;
	uint64_t	m_in_bytes;
	uint64_t	m_out_bytes;
	/* Resume (issue 14): see the big theory statement in main.c. */
	bool		m_resume_on;	/* announce X-Medusa-Resume */
	bool		m_away;		/* lost; redialling */
	bool		m_said_detached;
	struct resume	m_rs;
	struct wsc_opts	m_wo;
	unsigned	m_attempt;	/* redials since the last linkup */
	char		m_token[512];	/* from the latest linkup */
	char		m_hdr[1024];
	ev_timer	m_redial;
	ev_timer	m_acktick;
	uint8_t		m_rbuf[ML_READ];
	uint8_t		m_obuf[ML_READ + 1];
};

/* A resume refused (403, 410): the session is over. */
#define	ML_EXIT_GONE	254

/* Dial and run; 0, or -1 with a message in err (exit 255). */
int ml_session_start(struct mlogin *, struct ev_loop *,
    const struct wsc_opts *, char *err, size_t errlen);
void ml_session_free(struct mlogin *);

#endif
