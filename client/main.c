/*
 * mlogin: the user's side of an interactive session.
 *
 * BIG THEORY STATEMENT
 *
 * mlogin gives the user's terminal to a command running inside a remote
 * job, as ssh would.  Neither end can accept a connection, so mlogin dials
 * in to the reflector as the session's *master* (GET .../attach/<id>/master)
 * and the agent in the job dials in as its *slave*; the reflector pairs
 * them (docs/PROTOCOL.md).
 *
 * Phases:
 *
 *	waiting	the reflector sends "wait" pulses until the agent is there;
 *		we show " * waiting for session..." and a spinner
 *	linked	on "linkup" we send "start" with the command (bash --norc,
 *		or bash -c COMMAND), TERM and the terminal's size
 *	running	on "started" the terminal goes into raw mode and keystrokes
 *		flow to the agent as binary messages, output back to stdout;
 *		SIGWINCH sends "resize"; the text "ping" goes out every 15 s
 *		to keep idle intermediaries from closing the connection
 *	ended	on "exit" we print " * remote process exited", close the
 *		session and exit with the remote status (128+N for signal N)
 *
 * Escapes, recognised only at the start of a line (as in ssh): "~." ends
 * the session, "~?" lists the escapes, "~i" shows session information,
 * "~~" sends one "~".  -e CHAR changes the escape character; -e none turns
 * escapes off.  An unrecognised escape sends both characters.
 *
 * When standard input is not a terminal there is no raw mode and no
 * escapes; we ask the agent for pipes instead of a terminal ("pty": false,
 * as ssh -T), relay standard input and, at its end, send "eof" (or, to an
 * agent that did not say it uses pipes, a ^D), so that
 * `echo uname | mlogin -c sh URL` works in a script and exits with the
 * command's status.
 *
 * The terminal is restored on every way out: normal exit, errors, signals
 * (TERM, HUP, INT, QUIT) and a lost connection, which prints a message and
 * exits 255, as ssh does.  Status lines go to standard error so that they
 * never mix with the command's output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <jansson.h>

#include "version.h"
#include "wsclient.h"
#include "wsframe.h"
#include "wsurl.h"

#define	ML_HIGH_WATER	(256u * 1024)
#define	ML_LOW_WATER	(64u * 1024)
#define	ML_PING_EVERY	15.0
#define	ML_READ		16384

enum ml_phase { ML_WAITING, ML_LINKED, ML_RUNNING, ML_ENDING };

struct mlogin {
	struct ev_loop	*m_loop;
	struct wsc	m_ws;
	struct wsurl	m_url;
	char		m_urltext[4096];
	const char	*m_command;
	enum ml_phase	m_phase;
	bool		m_quiet;
	bool		m_tty_in;	/* stdin is a terminal: raw mode, escapes */
	bool		m_err_tty;	/* stderr is a terminal: spinner */
	bool		m_raw;		/* terminal in raw mode now */
	bool		m_pipes;	/* the agent said it uses pipes */
	bool		m_stdin_reg;	/* stdin is a regular file */
	bool		m_stdin_eof;
	bool		m_exit_seen;
	bool		m_user_end;	/* ~. */
	bool		m_at_bol;	/* at the beginning of a line */
	bool		m_saw_escape;
	int		m_escape;	/* -1: none */
	int		m_exit;		/* our exit status */
	int		m_waits;
	struct termios	m_saved;
	ev_io		m_stdin;
	ev_idle		m_stdin_idle;
	ev_timer	m_ping;
	ev_signal	m_sigs[5];
	time_t		m_linked_at;
	uint64_t	m_in_bytes;
	uint64_t	m_out_bytes;
	uint8_t		m_rbuf[ML_READ];
};

static struct mlogin ml;

/* --- the terminal ------------------------------------------------------ */

static void
ml_restore(void)
{
	if (ml.m_raw) {
		(void) tcsetattr(STDIN_FILENO, TCSADRAIN, &ml.m_saved);
		ml.m_raw = false;
	}
}

static void
ml_raw(void)
{
	struct termios t;

	if (!ml.m_tty_in || ml.m_raw)
		return;
	if (tcgetattr(STDIN_FILENO, &ml.m_saved) != 0)
		return;
	t = ml.m_saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
		ml.m_raw = true;
}

/* A status line on stderr; in raw mode lines need a CR as well. */
static void __attribute__((format(printf, 1, 2)))
ml_say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof (buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof (buf))
		n = sizeof (buf) - 1;
	(void) !write(STDERR_FILENO, buf, (size_t)n);
	(void) !write(STDERR_FILENO, ml.m_raw ? "\r\n" : "\n",
	    ml.m_raw ? 2 : 1);
}

static void
ml_winsize(int *cols, int *lines)
{
	struct winsize w;

	*cols = 80;
	*lines = 24;
	if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 ||
	    ioctl(STDIN_FILENO, TIOCGWINSZ, &w) == 0) &&
	    w.ws_col > 0 && w.ws_row > 0) {
		*cols = w.ws_col;
		*lines = w.ws_row;
	}
}

/* Write all of p to stdout, waiting if it is non-blocking and full. */
static void
ml_output(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = { STDOUT_FILENO, POLLOUT, 0 };
			(void) poll(&pfd, 1, 1000);
		} else {
			return;		/* stdout is gone; keep the session */
		}
	}
}

/* --- ending ------------------------------------------------------------ */

static void
ml_quit(int status)
{
	ml.m_exit = status;
	ml.m_phase = ML_ENDING;
	ev_break(ml.m_loop, EVBREAK_ALL);
}

static void
ml_end_session(uint16_t code, const char *reason)
{
	ml.m_phase = ML_ENDING;
	ev_io_stop(ml.m_loop, &ml.m_stdin);
	ev_idle_stop(ml.m_loop, &ml.m_stdin_idle);
	ev_timer_stop(ml.m_loop, &ml.m_ping);
	wsc_close(&ml.m_ws, code, reason);
}

static void
ml_on_end(struct wsc *c, const char *err)
{
	ml_restore();
	if (ml.m_exit_seen || ml.m_user_end) {
		ml_quit(ml.m_exit);
		return;
	}
	if (err != NULL)
		ml_say("mlogin: connection to the reflector lost: %s", err);
	else
		ml_say("mlogin: the session was closed: %s (%u)",
		    c->wc_peer_reason[0] != '\0' ? c->wc_peer_reason :
		    "no reason given", (unsigned)c->wc_peer_code);
	ml_quit(255);
}

/* 128 + the number of a signal named "SIGKILL" (or "KILL"); 255 if unknown. */
static int
ml_signal_status(const char *name)
{
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *a = sigabbrev_np(s);

		if (a != NULL && strcmp(a, name) == 0)
			return (128 + s);
	}
	return (255);
}

/* --- standard input ---------------------------------------------------- */

static void
ml_send_input(const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	ml.m_out_bytes += n;
	(void) wsc_send(&ml.m_ws, WS_OP_BINARY, p, n);
}

static void
ml_help(void)
{
	char e = (char)ml.m_escape;

	ml_say("");
	ml_say("Supported escape sequences:");
	ml_say(" %c.   - terminate session", e);
	ml_say(" %ci   - print session information", e);
	ml_say(" %c?   - this message", e);
	ml_say(" %c%c   - send the escape character by typing it twice", e, e);
	ml_say("(Note that escapes are only recognized immediately after "
	    "newline.)");
}

static void
ml_info(void)
{
	ml_say("");
	ml_say("Session information:");
	ml_say("   Reflector: %s", ml.m_urltext);
	ml_say("   Connected: %ld seconds", (long)(time(NULL) -
	    ml.m_linked_at));
	ml_say("   Sent: %llu bytes, received: %llu bytes",
	    (unsigned long long)ml.m_out_bytes,
	    (unsigned long long)ml.m_in_bytes);
}

/* Keystrokes: escapes at the start of a line, the rest to the agent. */
static void
ml_keys(const uint8_t *p, size_t n)
{
	uint8_t out[ML_READ * 2];
	size_t o = 0;

	if (ml.m_escape < 0 || !ml.m_tty_in) {
		ml_send_input(p, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ml.m_saw_escape) {
			ml.m_saw_escape = false;
			if (ch == '.') {
				ml_send_input(out, o);
				ml_say("");
				ml_say(" * ending the session (%c.)", ml.m_escape);
				ml.m_user_end = true;
				ml.m_exit = 255;
				ml_end_session(WS_CLOSE_NORMAL,
				    "session ended by the user");
				return;
			}
			if (ch == '?') {
				ml_help();
				ml.m_at_bol = true;
				continue;
			}
			if (ch == 'i') {
				ml_info();
				ml.m_at_bol = true;
				continue;
			}
			if (ch != (uint8_t)ml.m_escape)
				out[o++] = (uint8_t)ml.m_escape;
			out[o++] = ch;
			ml.m_at_bol = (ch == '\r' || ch == '\n');
			continue;
		}
		if (ml.m_at_bol && ch == (uint8_t)ml.m_escape) {
			ml.m_saw_escape = true;
			continue;
		}
		ml.m_at_bol = (ch == '\r' || ch == '\n');
		out[o++] = ch;
	}
	ml_send_input(out, o);
}

static void
ml_stdin_eof(void)
{
	ml.m_stdin_eof = true;
	ev_io_stop(ml.m_loop, &ml.m_stdin);
	ev_idle_stop(ml.m_loop, &ml.m_stdin_idle);
	if (ml.m_tty_in)
		return;		/* a terminal's EOF is ^D, sent as a key */
	if (ml.m_pipes)
		(void) wsc_send_text(&ml.m_ws, "mlogin:{\"type\":\"eof\"}");
	else
		ml_send_input((const uint8_t *)"\004", 1);
}

static void
ml_stdin_read(void)
{
	ssize_t n;

	do {
		n = read(STDIN_FILENO, ml.m_rbuf, sizeof (ml.m_rbuf));
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		ml_stdin_eof();
		return;
	}
	ml_keys(ml.m_rbuf, (size_t)n);
	if (ml.m_phase == ML_RUNNING && wsc_queued(&ml.m_ws) > ML_HIGH_WATER) {
		ev_io_stop(ml.m_loop, &ml.m_stdin);
		ev_idle_stop(ml.m_loop, &ml.m_stdin_idle);
	}
}

static void
ml_stdin_cb(EV_P_ ev_io *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	ml_stdin_read();
}

static void
ml_stdin_idle_cb(EV_P_ ev_idle *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	ml_stdin_read();
}

static void
ml_stdin_start(void)
{
	if (ml.m_stdin_eof || ml.m_phase != ML_RUNNING)
		return;
	/* epoll cannot watch a regular file: read it when idle instead. */
	if (ml.m_stdin_reg)
		ev_idle_start(ml.m_loop, &ml.m_stdin_idle);
	else
		ev_io_start(ml.m_loop, &ml.m_stdin);
}

static void
ml_on_drain(struct wsc *c)
{
	(void) c;
	ml_stdin_start();
}

/* --- messages from the reflector and the agent ------------------------- */

static void
ml_send_start(void)
{
	json_t *o, *args;
	const char *term = getenv("TERM");
	char *s, *msg;
	int cols, lines;

	ml_winsize(&cols, &lines);
	args = ml.m_command != NULL ? json_pack("[ss]", "-c", ml.m_command) :
	    json_pack("[s]", "--norc");
	o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, s:b}", "type", "start",
	    "command", "/bin/bash", "arguments", args, "term",
	    term != NULL && term[0] != '\0' ? term : "xterm",
	    "columns", cols, "lines", lines, "pty", ml.m_tty_in);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s != NULL && asprintf(&msg, "mlogin:%s", s) >= 0) {
		(void) wsc_send_text(&ml.m_ws, msg);
		free(msg);
	}
	free(s);
}

static void
ml_ping_cb(EV_P_ ev_timer *w, int revents)
{
	(void) EV_A;
	(void) w;
	(void) revents;
	(void) wsc_send_text(&ml.m_ws, "ping");
}

static void
ml_reflector_msg(const char *json, size_t n)
{
	static const char spin[] = "-\\|/";

	if (n == 15 && memcmp(json, "{\"type\":\"wait\"}", n) == 0) {
		if (ml.m_quiet || ml.m_phase != ML_WAITING)
			return;
		if (ml.m_waits++ == 0)
			(void) !write(STDERR_FILENO,
			    " * waiting for session...  ", 27);
		else if (ml.m_err_tty) {
			char b[2] = { '\b', spin[ml.m_waits % 4] };
			(void) !write(STDERR_FILENO, b, 2);
		}
		return;
	}
	if (n == 17 && memcmp(json, "{\"type\":\"linkup\"}", n) == 0 &&
	    ml.m_phase == ML_WAITING) {
		if (!ml.m_quiet) {
			if (ml.m_waits == 0)
				ml_say(" * session established");
			else
				(void) !write(STDERR_FILENO, "\b established\n",
				    14);
		}
		ml.m_phase = ML_LINKED;
		ml.m_linked_at = time(NULL);
		ml_send_start();
		ev_timer_start(ml.m_loop, &ml.m_ping);
	}
}

static void
ml_agent_msg(const char *json, size_t n)
{
	json_error_t je;
	json_t *o = json_loadb(json, n, 0, &je), *v;
	const char *type;

	if (o == NULL || !json_is_string(json_object_get(o, "type"))) {
		json_decref(o);
		return;		/* not for us */
	}
	type = json_string_value(json_object_get(o, "type"));
	if (strcmp(type, "started") == 0 && ml.m_phase == ML_LINKED) {
		ml.m_phase = ML_RUNNING;
		ml.m_pipes = json_is_false(json_object_get(o, "pty"));
		ml_raw();
		ml_stdin_start();
	} else if (strcmp(type, "error") == 0) {
		v = json_object_get(o, "error");
		ml_restore();
		ml_say(" * remote error: %s", json_is_string(v) ?
		    json_string_value(v) : "unknown");
		ml.m_exit_seen = true;
		ml.m_exit = 1;
		ml_end_session(WS_CLOSE_NORMAL, "aborting");
	} else if (strcmp(type, "exit") == 0) {
		ml.m_exit_seen = true;
		if (json_is_integer(v = json_object_get(o, "code")))
			ml.m_exit = (int)(json_integer_value(v) & 0xff);
		else if (json_is_string(v = json_object_get(o, "signal")))
			ml.m_exit = ml_signal_status(json_string_value(v));
		else
			ml.m_exit = 0;
		ml_restore();
		if (!ml.m_quiet)
			ml_say(" * remote process exited");
		ml_end_session(WS_CLOSE_NORMAL, "done");
	}
	json_decref(o);
}

static void
ml_on_message(struct wsc *c, uint8_t op, uint8_t *p, size_t n)
{
	(void) c;
	if (op == WS_OP_BINARY) {
		ml.m_in_bytes += n;
		ml_output(p, n);
		return;
	}
	if (n >= 7 && memcmp(p, "medusa:", 7) == 0)
		ml_reflector_msg((const char *)p + 7, n - 7);
	else if (n >= 7 && memcmp(p, "mlogin:", 7) == 0)
		ml_agent_msg((const char *)p + 7, n - 7);
}

/* --- signals ------------------------------------------------------------ */

static void
ml_signal_cb(EV_P_ ev_signal *w, int revents)
{
	int cols, lines;
	char msg[128];

	(void) EV_A;
	(void) revents;
	if (w->signum == SIGWINCH) {
		if (ml.m_phase != ML_RUNNING || !ml.m_tty_in)
			return;
		ml_winsize(&cols, &lines);
		snprintf(msg, sizeof (msg), "mlogin:{\"type\":\"resize\","
		    "\"columns\":%d,\"lines\":%d}", cols, lines);
		(void) wsc_send_text(&ml.m_ws, msg);
		return;
	}
	ml_restore();
	ml_say("mlogin: %s; ending the session", strsignal(w->signum));
	ml.m_user_end = true;
	ml.m_exit = 128 + w->signum;
	if (ml.m_phase == ML_ENDING) {
		ml_quit(ml.m_exit);
		return;
	}
	ml_end_session(WS_CLOSE_GOING_AWAY, "client interrupted");
}

/* --- start-up ----------------------------------------------------------- */

static void
ml_usage(FILE *f)
{
	fprintf(f,
	    "usage: mlogin [options] URL\n"
	    "       mlogin [options] -s ID [--reflector URL]\n"
	    "\n"
	    "Attaches this terminal to a command in a remote job through a\n"
	    "Medusa reflector.  URL is ws[s]://HOST[:PORT]/attach/ID/master;\n"
	    "with -s the reflector is --reflector or $MEDUSA_URL\n"
	    "(ws[s]://HOST[:PORT]).\n"
	    "\n"
	    "  -s, --session ID      the session to attach to\n"
	    "      --reflector URL   the reflector, for -s\n"
	    "  -c, --command CMD     run `bash -c CMD` instead of a shell\n"
	    "  -e, --escape CHAR     escape character (default ~), or none\n"
	    "  -q, --quiet           no progress messages\n"
	    "      --cacert FILE     trust the CA certificates in FILE (PEM)\n"
	    "  -i, --insecure        do not check the server's certificate\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "Escapes, after a newline: ~. end, ~? help, ~i information,\n"
	    "~~ a literal ~.  Exit status: the remote command's (128+N for\n"
	    "signal N), 255 if the connection is lost.\n");
}

static void
ml_atexit(void)
{
	ml_restore();
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "reflector", required_argument, NULL, 'R' },
		{ "command", required_argument, NULL, 'c' },
		{ "escape", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *session = NULL, *reflector = NULL, *cacert = NULL;
	struct wsc_opts wo;
	struct stat st;
	char err[512];
	bool insecure = false;
	int ch, sigs[5] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT };

	memset(&ml, 0, sizeof (ml));
	ml.m_escape = '~';
	while ((ch = getopt_long(argc, argv, "s:c:e:qihV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'R':
			reflector = optarg;
			break;
		case 'c':
			ml.m_command = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "none") == 0) {
				ml.m_escape = -1;
			} else if (strlen(optarg) != 1 || optarg[0] == '\r' ||
			    optarg[0] == '\n') {
				fprintf(stderr, "mlogin: the escape must be one "
				    "character other than CR or LF, or none\n");
				return (2);
			} else {
				ml.m_escape = (unsigned char)optarg[0];
			}
			break;
		case 'q':
			ml.m_quiet = true;
			break;
		case 'C':
			cacert = optarg;
			break;
		case 'i':
			insecure = true;
			break;
		case 'h':
			ml_usage(stdout);
			return (0);
		case 'V':
			printf("mlogin %s\n", MEDUSA_VERSION);
			return (0);
		default:
			ml_usage(stderr);
			return (2);
		}
	}
	if (session != NULL) {
		if (optind != argc) {
			fprintf(stderr, "mlogin: give -s ID or a URL, not "
			    "both\n");
			return (2);
		}
		if (reflector == NULL)
			reflector = getenv("MEDUSA_URL");
		if (reflector == NULL || reflector[0] == '\0') {
			fprintf(stderr, "mlogin: -s needs --reflector URL or "
			    "$MEDUSA_URL\n");
			return (2);
		}
		if (session[0] == '\0' || strchr(session, '/') != NULL) {
			fprintf(stderr, "mlogin: bad session id \"%s\"\n",
			    session);
			return (2);
		}
		snprintf(ml.m_urltext, sizeof (ml.m_urltext),
		    "%.*s/attach/%s/master",
		    (int)(strlen(reflector) - (reflector[strlen(reflector) -
		    1] == '/')), reflector, session);
	} else if (argc - optind == 1) {
		snprintf(ml.m_urltext, sizeof (ml.m_urltext), "%s",
		    argv[optind]);
	} else {
		ml_usage(stderr);
		return (2);
	}
	if (wsurl_parse(ml.m_urltext, &ml.m_url, err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: bad URL \"%s\": %s\n", ml.m_urltext,
		    err);
		return (2);
	}

	ml.m_tty_in = isatty(STDIN_FILENO) != 0;
	ml.m_err_tty = isatty(STDERR_FILENO) != 0;
	ml.m_stdin_reg = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	ml.m_at_bol = true;
	ml.m_exit = 255;
	(void) signal(SIGPIPE, SIG_IGN);
	(void) atexit(ml_atexit);
	if (insecure && ml.m_url.u_tls && !ml.m_quiet)
		fprintf(stderr, " * warning: not checking the reflector's TLS "
		    "certificate (--insecure)\n");

	ml.m_loop = EV_DEFAULT;
	memset(&wo, 0, sizeof (wo));
	wo.wo_xport.xo_cacert = cacert;
	wo.wo_xport.xo_insecure = insecure;
	wo.wo_xport.xo_timeout = 30;
	wo.wo_low_water = ML_LOW_WATER;
	ml.m_ws.wc_on_message = ml_on_message;
	ml.m_ws.wc_on_end = ml_on_end;
	ml.m_ws.wc_on_drain = ml_on_drain;
	if (wsc_open(&ml.m_ws, ml.m_loop, &ml.m_url, &wo, err,
	    sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: %s\n", err);
		return (255);
	}
	ev_io_init(&ml.m_stdin, ml_stdin_cb, STDIN_FILENO, EV_READ);
	ev_idle_init(&ml.m_stdin_idle, ml_stdin_idle_cb);
	ev_timer_init(&ml.m_ping, ml_ping_cb, ML_PING_EVERY, ML_PING_EVERY);
	for (int i = 0; i < 5; i++) {
		ev_signal_init(&ml.m_sigs[i], ml_signal_cb, sigs[i]);
		ev_signal_start(ml.m_loop, &ml.m_sigs[i]);
	}

	ev_run(ml.m_loop, 0);

	ml_restore();
	wsc_free(&ml.m_ws);
	return (ml.m_exit);
}
