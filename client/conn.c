/*
 * conn.c: mlogin's connection as the user sees it; see conn.h.
 */
#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "conn.h"

void
conn_progress(struct conn_view *cv, const char *what, bool slow)
{
	if (cv->cv_verbose > 0 && !slow) {
		term_say(cv->cv_term, "mlogin: %s", what);
		return;
	}
	if (slow && !cv->cv_quiet) {
		/* "connecting to ...", "waiting for ...", "TLS handshake ..." */
		term_say(cv->cv_term, " * still %s%s", strncmp(what, "TLS", 3) ==
		    0 ? "in the " : "", what);
		cv->cv_said_slow = true;
	}
}

void
conn_opened(struct conn_view *cv, const struct wsc *c, bool tls)
{
	char buf[700], where[400];

	if (cv->cv_verbose == 0)
		return;
	term_say(cv->cv_term, "mlogin: %s; upgraded in %.3f s",
	    xport_phase(&c->wc_x, where, sizeof (where)),
	    c->wc_opened - c->wc_started);
	if (tls)
		term_say(cv->cv_term, "mlogin: TLS: %s",
		    xport_tls_info(&c->wc_x, buf, sizeof (buf)));
}

/* The reflector's close reasons (worker/session.c), in a user's words. */
static const struct {
	const char	*reason;
	const char	*words;
} conn_reasons[] = {
	{ "slave disconnected", "the remote agent went away without ending "
	    "the session" },
	{ "timed out waiting for the peer", "no agent came for this session "
	    "before the reflector stopped waiting" },
	{ "server shutting down", "the reflector is shutting down" },
	{ "idle timeout", "the session was idle too long and the reflector "
	    "closed it" },
	{ "agent terminated", "the remote agent was stopped" },
};

const char *
conn_end_words(enum wsc_end kind, uint16_t code, const char *reason,
    const char *err, char *buf, size_t len)
{
	if (err != NULL) {
		if (kind == WSC_END_LOST)
			snprintf(buf, len, "lost the connection to the "
			    "reflector: %s", err);
		else
			snprintf(buf, len, "%s", err);
		return (buf);
	}
	for (size_t i = 0; i < sizeof (conn_reasons) /
	    sizeof (conn_reasons[0]); i++) {
		if (strcmp(reason, conn_reasons[i].reason) == 0) {
			snprintf(buf, len, "%s (the reflector said: %s)",
			    conn_reasons[i].words, reason);
			return (buf);
		}
	}
	snprintf(buf, len, "the session was closed: %s (%u)",
	    reason[0] != '\0' ? reason : "no reason given", (unsigned)code);
	return (buf);
}
