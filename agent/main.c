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
 *		the first start counts.  The original mlogin wraps its
 *		command in SmartOS's ctrun; where there is none, what follows
 *		ctrun's options runs (start.h).  Ours: "pty": false asks for
 *		pipes instead of a terminal (mlogin does so when its standard
 *		input is not a terminal, as ssh -T), and "eof" then closes
 *		the command's input after the last byte before it.  With
 *		pipes, "stderr": true (both ends announce it, mlproto.h) keeps
 *		the command's standard error apart from its output.
 *	resize	set the terminal's size (the kernel signals SIGWINCH)
 *	binary	keystrokes, written to the terminal
 *
 * and sends back the terminal's output as binary messages, coalescing what
 * one read returns (up to 64 KiB) into one message.  Flow control runs both
 * ways: while the socket's queue is above 256 KiB the terminal is not read
 * (so a flood of output stops the command, not our memory), and while the
 * command leaves 256 KiB of input untaken the socket is not read (in a
 * resumable session our acks are held too, and the socket is read on
 * while our replay buffer is full, so that the client's acks, behind its
 * data, keep arriving: session.c, agent_input_stop).
 *
 * When the command exits, what it wrote is drained (command.h), then
 * "exit" is sent with "code" or "signal", and the client closes the
 * session (or we do, 5 s later).  When the session ends first (the
 * client's ~., the reflector, a lost connection), the command's process
 * group gets SIGHUP, as a terminal hang-up would give it.
 *
 * The house:
 *
 *	main.c		options, the original's config file, signals, the
 *			exit status
 *	session.c	the agent's life (one state enum, only forward:
 *			connecting, waiting, linked, running, exiting, ended)
 *			and the "mlogin:" protocol; it reaches the connection
 *			only through wsclient.h's calls and callbacks, so a
 *			connection can later be replaced under a live session
 *	start.c		what a start message asks to run (pure; ctrun)
 *	command.c	the command and its terminal or pipes
 *	shared/client	the connection (wsclient.c over xport.c: dial,
 *			TLS, upgrade, liveness), the protocol's messages
 *			(mlproto.c), the options shared with mlogin
 *			(clientopt.c)
 *
 * Liveness: the agent sends "X-Medusa-Ping: 1", so the reflector pings it,
 * and pings the reflector itself after ServerAliveInterval seconds of
 * silence; ServerAliveCountMax unanswered and the connection is lost
 * (wsclient.h), the command is hung up on and the agent exits 1.
 *
 * Resume (issue 14; docs/PROTOCOL.md section 9): the agent announces
 * X-Medusa-Resume: 1 (unless --no-resume).  Who holds what: the agent holds
 * the command, its latest token, and through shared/client/resume.c the
 * count of messages sent and received and a replay buffer of what the
 * client has not acked (bounded, 2 MiB by default; the command's output
 * waits while it is full, and is read straight into that buffer: command.h
 * cm_out_buffer).  The reflector holds nothing the session needs.  A lost
 * connection (or a CLOSE other than 1000) is redialled (session.c:
 * agent_comes_back), and the command keeps running for --grace seconds
 * while no client is attached ("detached", or our own connection gone); at
 * the grace's end it is hung up and we close 1000 (exit 4).  The command's
 * exit or a signal close with 1000: the session is over.  Each linkup
 * after the first makes us send "resume" naming its link, and only the
 * client's resume of that link, once, is answered with a replay (resume.h:
 * two linkups seen in quick succession must not replay twice).  Our first ack
 * goes at once after the first sequenced linkup (it tells the client our
 * window), then one per sixteenth of the client's window received
 * (resume.h), unless held as above, each carried by the write of
 * our next message (wsc_send_text_later) or on the loop's next turn.
 *
 * Memory: main() first calls wsc_process_init (wsclient.h), so that the
 * buffers that are freed when empty and allocated again for about every
 * message (the connection's queues, the queue to the command, which may
 * hold megabytes while our replay is full) stay in the C library's heap
 * instead of being faulted in anew.
 *
 * Exit status: 0 when a client came and the session ended, 1 (and one log
 * line) when the connection failed, was refused or was lost, 2 for bad
 * usage, 3 when no client came before the session ended (the reflector's
 * pairing time-out), 4 when a resume was refused or the grace ran out
 * before the command exited, 128+N when ended by signal N.  The
 * command's exit is final: once its "exit" is sent, a break gives the
 * client up to 30 s to come back for it (session.c: AGENT_EXIT_HOLD),
 * and however the session then ends (the reflector's 410 because the
 * client took the exit and closed, or the hold's end) the status is 0.
 * A peer's bad ack/resume or a refused resume is logged as a warning:
 * error is for what an operator must fix.  Logs are bunyan JSON
 * on standard error; a presigned URL's query string (a credential) is
 * never logged.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clientauth.h"
#include "clientopt.h"
#include "mlog.h"
#include "session.h"
#include "version.h"
#include "wsurl.h"

static struct agent ag;
static struct clientauth auth;

static void
agent_signal_cb(EV_P_ ev_signal *w, int revents)
{
	(void) EV_A;
	(void) revents;
	agent_session_stop(&ag, w->signum);
}

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
	    "(ws[s]://HOST[:PORT]/ACCOUNT/medusa/attach/ID/slave, presigned as\n"
	    "mlogin --presign makes it, or .../attach/ID/slave where no\n"
	    "credential is needed) and runs the client's command on a\n"
	    "pseudo-terminal or pipes.  With a key (-i FILE, or ssh-agent's),\n"
	    "each attach is signed instead, so it may dial again after a\n"
	    "presigned URL has expired.  Logs bunyan JSON to stderr.\n"
	    "\n"
	    "  -f, --config FILE     read {\"signed_url\": URL, "
	    "\"insecure_tls\": BOOL}\n"
	    "%s"
	    "      --grace SECONDS   keep the command running this long while\n"
	    "                        no client is attached (resumable sessions;\n"
	    "                        default 600), then hang it up\n"
	    "      --no-resume       do not announce resume (as -o Resume=no):\n"
	    "                        a lost connection ends the session\n"
	    "  -l, --log-level L     trace, debug, info, warn, error, fatal\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "Exit status:\n"
	    "  0  a client came and the session ended\n"
	    "  1  the connection failed, was refused or was lost\n"
	    "  2  bad usage or configuration\n"
	    "  3  no client came before the session ended (the reflector's\n"
	    "     pairing time-out)\n"
	    "  4  the session is over before the command exited: a resume\n"
	    "     was refused (403, 410), or no client came back within the\n"
	    "     grace period\n"
	    "  128+N  ended by signal N\n"
	    "\n"
	    "See medusa-agent(1), and mlogin(1) for the other end.\n",
	    clientopt_usage);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "grace", required_argument, NULL, 'G' },
		{ "no-resume", no_argument, NULL, 'R' },
		CLIENTOPT_LONG,
		{ NULL, 0, NULL, 0 }
	};
	struct clientopt co;
	struct wsc_opts wo;
	struct wsurl u;
	char url[4096] = "", err[512];
	const char *cfg = NULL;
	int ch, r, level = MLOG_INFO;
	double grace = AGENT_GRACE;
	char *end;
	int sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	ev_signal sigw[3];
	struct ev_loop *loop;

	wsc_process_init();
	clientopt_init(&co);
	while ((ch = getopt_long(argc, argv, "f:l:hV" CLIENTOPT_SHORT, opts,
	    NULL)) != -1) {
		if ((r = clientopt_getopt(&co, ch, optarg, err,
		    sizeof (err))) != 0) {
			if (r < 0) {
				fprintf(stderr, "medusa-agent: %s\n", err);
				return (AGENT_EXIT_USAGE);
			}
			continue;
		}
		switch (ch) {
		case 'f':
			cfg = optarg;
			break;
		case 'l':
			if ((level = mlog_level_parse(optarg)) < 0) {
				fprintf(stderr, "medusa-agent: bad log level "
				    "\"%s\"\n", optarg);
				return (AGENT_EXIT_USAGE);
			}
			break;
		case 'h':
			agent_usage(stdout);
			return (0);
		case 'V':
			printf("medusa-agent %s\n", MEDUSA_VERSION);
			return (0);
		case 'G':
			grace = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(grace > 0) ||
			    grace > 7 * 86400) {
				fprintf(stderr, "medusa-agent: --grace must be "
				    "a number of seconds above 0 (at most a "
				    "week), not \"%s\"\n", optarg);
				return (AGENT_EXIT_USAGE);
			}
			break;
		case 'R':
			co.co_resume = false;
			break;
		default:
			agent_usage(stderr);
			return (AGENT_EXIT_USAGE);
		}
	}
	if ((cfg == NULL) == (optind == argc) || argc - optind > 1) {
		fprintf(stderr, "medusa-agent: give a URL or -f CONFIG (one of "
		    "them)\n");
		agent_usage(stderr);
		return (AGENT_EXIT_USAGE);
	}
	if (cfg != NULL) {
		if (agent_read_config(cfg, url, sizeof (url),
		    &co.co_insecure) != 0)
			return (AGENT_EXIT_USAGE);
	} else {
		snprintf(url, sizeof (url), "%s", argv[optind]);
	}
	if (wsurl_parse(url, &u, err, sizeof (err)) != 0) {
		fprintf(stderr, "medusa-agent: bad URL \"%.*s\": %s\n",
		    (int)wsurl_loggable(url), url, err);
		return (AGENT_EXIT_USAGE);
	}
	switch (wsurl_role(u.u_path)) {
	case WSURL_ROLE_SLAVE:
		break;
	case WSURL_ROLE_MASTER:
		fprintf(stderr, "medusa-agent: %.*s is the client's side of the "
		    "session (.../master); the agent attaches as "
		    ".../attach/ID/slave\n", (int)wsurl_loggable(u.u_path),
		    u.u_path);
		return (AGENT_EXIT_USAGE);
	default:
		fprintf(stderr, "medusa-agent: %.*s is no attach path; expected "
		    ".../attach/ID/slave\n", (int)wsurl_loggable(u.u_path),
		    u.u_path);
		return (AGENT_EXIT_USAGE);
	}

	mlog_init("medusa-agent", "agent", -1);
	mlog_set_level(level);
	(void) signal(SIGPIPE, SIG_IGN);
	if (co.co_insecure && u.u_tls)
		mlog(MLOG_WARN, "TLS certificate checks are off (--insecure)",
		    "host=%s", u.u_host);

	/*
	 * With a key (-i, or ssh-agent's) and an account (-a, $MANTA_USER,
	 * or the URL's), every dial is signed: the agent can dial again when
	 * a presigned URL has expired.
	 */
	{
		char account[128] = "";

		if (co.co_account != NULL)
			snprintf(account, sizeof (account), "%s",
			    co.co_account);
		else
			(void) clientauth_path_account(u.u_path, account,
			    sizeof (account));
		if (clientauth_setup(&auth, &co, account, err,
		    sizeof (err)) != 0) {
			mlog(MLOG_ERROR, "no key to sign with", "error=%s",
			    err);
			return (AGENT_EXIT_USAGE);
		}
	}
	loop = EV_DEFAULT;
	clientopt_wsc(&co, &wo);
	memset(&ag, 0, sizeof (ag));
	ag.a_resume_on = co.co_resume;
	ag.a_grace = grace;
	resume_init(&ag.a_rs, co.co_resume_buffer);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	if (auth.ca_on) {
		char kd[256];

		clientauth_describe(&auth, kd, sizeof (kd));
		mlog(MLOG_INFO, "signing attaches", "key=%s", kd);
		ag.a_auth = &auth;
	}
	if (agent_session_start(&ag, loop, &u, &wo, err, sizeof (err)) != 0) {
		mlog(MLOG_ERROR, "cannot attach to the reflector", "error=%s",
		    err);
		return (AGENT_EXIT_CONN);
	}
	for (int i = 0; i < 3; i++) {
		ev_signal_init(&sigw[i], agent_signal_cb, sigs[i]);
		ev_signal_start(loop, &sigw[i]);
	}

	ev_run(loop, 0);

	for (int i = 0; i < 3; i++)
		ev_signal_stop(loop, &sigw[i]);
	agent_session_free(&ag);
	clientauth_free(&auth);
	return (ag.a_rc);
}
