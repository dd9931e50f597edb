/*
 * session.h: the agent's side of a session: its life, and the "mlogin:"
 * protocol it serves over the connection (wsclient.h) for the command
 * (command.h).  See the big theory statement in main.c.
 */
#ifndef MEDUSA_AGENT_SESSION_H
#define MEDUSA_AGENT_SESSION_H

#include <stdbool.h>

#include <ev.h>

#include "command.h"
#include "resume.h"
#include "clientauth.h"
#include "wsclient.h"
#include "wsurl.h"

/* The agent's life, in order; each step only forward. */
enum agent_state {
	AGENT_CONNECTING = 0,	/* dialling the reflector */
	AGENT_WAITING,		/* attached; waiting for the client (linkup) */
	AGENT_LINKED,		/* linked; waiting for start */
	AGENT_RUNNING,		/* the command runs (or its output drains) */
	AGENT_EXITING,		/* exit or error sent; the client closes */
	AGENT_ENDED		/* the connection is over */
};

/* Exit statuses (documented in --help). */
#define	AGENT_EXIT_OK		0	/* a client came; the session ended */
#define	AGENT_EXIT_CONN		1	/* connection failed, refused or lost */
#define	AGENT_EXIT_USAGE	2	/* bad usage or configuration */
#define	AGENT_EXIT_NOBODY	3	/* no client came before the session
					   ended (the pairing time-out) */
#define	AGENT_EXIT_GONE		4	/* a resume was refused, or no client
					   came back within the grace period:
					   the session is over */
					/* 128+N: ended by signal N */

struct agent {
	enum agent_state a_state;
	struct ev_loop	*a_loop;
	struct wsc	a_ws;
	struct wsurl	a_url;
	struct clientauth *a_auth;	/* signs each dial; NULL: the URL's */
	struct command	a_cmd;
	bool		a_stderr_apart;	/* the extension is on */
	bool		a_said_early;	/* "input before start" logged */
	bool		a_said_cap;	/* "sends past its window" logged */
	ev_timer	a_close_wait;
	int		a_signal;
	int		a_rc;
	/* Resume (issue 14): see the big theory statement in main.c. */
	bool		a_resume_on;	/* announce X-Medusa-Resume */
	bool		a_for_good;	/* we end it: no redial */
	double		a_grace;	/* s without a client, then hang up */
	struct resume	a_rs;
	struct wsc_opts	a_wo;
	unsigned	a_attempt;	/* redials since the last linkup */
	char		a_token[512];	/* from the latest linkup */
	char		a_hdr[1024];
	ev_timer	a_redial;
	ev_timer	a_acktick;
	ev_timer	a_grace_timer;
	bool		a_client_away;	/* "detached", no linkup since */
	ev_tstamp	a_exit_at;	/* when exit (or error) was sent */
};

#define	AGENT_GRACE		600.0	/* s: --grace's default */

/* Dial in and serve; 0, or -1 with a message in err (then exit 1). */
int agent_session_start(struct agent *, struct ev_loop *,
    const struct wsurl *, const struct wsc_opts *, char *err, size_t errlen);
/* A signal: hang up on the command and end the session. */
void agent_session_stop(struct agent *, int signo);
void agent_session_free(struct agent *);

#endif
