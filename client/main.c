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
 * Its life (session.c; one state enum, only forward):
 *
 *	connecting	the dial (TCP, TLS, upgrade) runs on the event loop;
 *			after a second of it, mlogin says what it waits for
 *			(with -v, every step, then the address, TLS and
 *			timings)
 *	waiting		the reflector sends "wait" pulses until the agent is
 *			there; we show " * waiting for session..." and a
 *			spinner
 *	linked		on "linkup" we send "start" with the command (bash
 *			--norc, or bash -c COMMAND), TERM, the terminal's size,
 *			"pty" and "stderr": true (we take stderr apart)
 *	running		on "started" the terminal goes fully raw and
 *			keystrokes flow to the agent as binary messages,
 *			output back to stdout (and, when the agent said
 *			"stderr": true, its "stderr" messages to stderr);
 *			SIGWINCH sends "resize"; the text "ping" goes out
 *			every 15 s for the original web tier
 *	ending		on "exit" we print " * remote process exited", close
 *			the session and exit with the remote status (128+N for
 *			signal N); also after "error" (1), ~. (255), a signal
 *			(128+N)
 *	ended		the connection is over
 *
 * Escapes (escape.c), recognised only at the start of a line (as in ssh):
 * "~." ends the session, "~?" lists the escapes, "~i" shows session
 * information, "~^Z" suspends mlogin, "~~" sends one "~".  They work from
 * the moment mlogin starts: while connecting and waiting the terminal is
 * already in a raw mode that keeps ^C (term.h), and keys that are no
 * escape are kept (up to 64 KiB) and sent when the command runs.
 *
 * When standard input is not a terminal (or with -T) there is no raw mode
 * and no escapes; we ask the agent for pipes instead of a terminal ("pty":
 * false, as ssh -T), relay standard input once the command runs and, at
 * its end, send "eof" (or, to an agent that did not say it uses pipes, a
 * ^D), so that `echo uname | mlogin URL sh` works in a script and exits
 * with the command's status.  -t asks for a terminal all the same.
 *
 * Liveness (wsclient.h): a PING after ServerAliveInterval seconds of
 * silence, and ServerAliveCountMax unanswered mean the connection is
 * lost; so do TCP_USER_TIMEOUT, a reset, an EOF without a CLOSE.  Then,
 * and whenever the session ends by another hand than ours, the terminal
 * is restored, the screen modes a full-screen program may have left set
 * are undone (term.h), a line of its own says what happened in a user's
 * words (conn.c) and mlogin exits 255, as ssh does.
 *
 * Resume (issue 14; docs/PROTOCOL.md section 9): mlogin announces
 * X-Medusa-Resume: 1 (unless -o Resume=no).  Who holds what: mlogin holds
 * its latest token and, through shared/client/resume.c, the count of
 * messages sent and received and a replay buffer of what the agent has not
 * acked (bounded by -o ResumeBuffer, 2 MiB by default; standard input
 * waits while it is full, and is read straight into that buffer when no
 * escapes are watched: session.c ml_stdin_read); the agent holds the
 * command; the reflector holds nothing the
 * session needs.  In a resumable session the loss above does not end it:
 * mlogin says "reconnecting...", redials (at once, then jittered back-off),
 * re-signs, presents its token, resumes and replays, then nudges the size
 * so full-screen programs repaint; the state stays where it was (session.c:
 * ml_comes_back); only the agent's resume of our latest link, once, is
 * answered with a replay (resume.h).  ~., the command's exit and a signal
 * close with 1000; a refused resume exits 254.  Acks are our own
 * messages, not counted: the first at once after the first sequenced
 * linkup (it tells the agent our window), then one per sixteenth of the
 * agent's window received
 * (resume.h), not one per message, each carried by the write of our next
 * message (wsc_send_text_later) or on the loop's next turn.
 *
 * Memory: main() first calls wsc_process_init (wsclient.h), so that the
 * buffers that are freed when empty and allocated again for about every
 * message stay in the C library's heap instead of being faulted in anew.
 *
 * The house:
 *
 *	main.c		options and start-up
 *	session.c	the life above, the "mlogin:" protocol, standard input
 *	escape.c	the escape state machine (pure)
 *	term.c		the terminal: raw modes, restoring, size, status lines
 *	conn.c		the connection as the user sees it (progress, -v,
 *			how it ended); the connection itself is
 *			shared/client/wsclient.c, and the session reaches it
 *			only through its calls and callbacks, so it could be
 *			replaced under a live session
 *	shared/client	wsclient.c, xport.c, mlproto.c (the messages, also the
 *			agent's), clientopt.c (options shared with the agent)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clientauth.h"
#include "clientopt.h"
#include "session.h"
#include "version.h"
#include "wsurl.h"

#define	ML_MINT_DEFAULT	86400		/* s, a presigned URL's life */
#define	ML_MINT_MAX	(7 * 86400)	/* the reflector's default limit */

static struct mlogin ml;

static void
ml_usage(FILE *f)
{
	fprintf(f,
	    "usage: mlogin [options] URL|SESSION [COMMAND [ARG...]]\n"
	    "       mlogin [options] -s SESSION [-u URL]\n"
	    "       mlogin [options] --presign[=SECONDS] SESSION\n"
	    "       mlogin [options] --agent-config[=SECONDS] SESSION\n"
	    "\n"
	    "Attaches this terminal to a command in a remote job through a\n"
	    "Medusa reflector.  URL is ws[s]://HOST[:PORT]/ACCOUNT/medusa/\n"
	    "attach/ID/master (or .../attach/ID/master where no account is\n"
	    "needed); a SESSION id takes the reflector from -u, $MANTA_URL or\n"
	    "$MEDUSA_URL (ws[s]://HOST[:PORT]) and the account from -a or\n"
	    "$MANTA_USER.  The attach is signed with the account's key: -i FILE,\n"
	    "or ssh-agent's (-k or $MANTA_KEY_ID picks it).  A COMMAND (its\n"
	    "words joined by spaces, as ssh does) or -c runs `bash -c COMMAND`\n"
	    "instead of a shell.  --presign prints the URL an agent attaches\n"
	    "to this session with (signed, valid SECONDS, default a day);\n"
	    "--agent-config the agent's configuration object around it.\n"
	    "\n"
	    "  -s, --session ID      the session to attach to\n"
	    "  -u, --url URL         the reflector, for a SESSION id ($MANTA_URL)\n"
	    "  -c, --command CMD     run `bash -c CMD` instead of a shell\n"
	    "  -t                    ask for a terminal even when standard\n"
	    "                        input is not one\n"
	    "  -T                    never ask for a terminal (pipes)\n"
	    "  -e, --escape CHAR     escape character (default ~), or none\n"
	    "  -q, --quiet           no progress messages\n"
	    "  -v, --verbose         say where it connects, TLS, timings\n"
	    "                        (repeat for more)\n"
	    "%s"
	    "  -h, --help            this text\n"
	    "  -V, --version         print the version and exit\n"
	    "\n"
	    "Escapes, after a newline: ~. end, ~? help, ~i information,\n"
	    "~^Z suspend, ~~ a literal ~.\n"
	    "\n"
	    "Exit status: the remote command's (128+N for signal N); 1 if it\n"
	    "could not be started; 2 bad usage; 255 if the connection failed,\n"
	    "was refused or was lost, or the session ended otherwise; 254 if\n"
	    "a resume was refused (the session is over).\n"
	    "\n"
	    "A lost connection is redialled and the session resumed when\n"
	    "both ends can (-o Resume=no: not); -o ResumeBuffer=N[K|M] bounds\n"
	    "the replay buffer (default 2M).\n"
	    "\n"
	    "See mlogin(1), and medusa-agent(1) for the other end.\n",
	    clientopt_usage);
}

/* The command's words joined by spaces, as ssh sends them. */
static char *
ml_join(char **argv, int argc)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if ((s = calloc(1, n)) == NULL)
		return (NULL);
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return (s);
}
/* Seconds, 60 to ML_MINT_MAX.  0, or -1. */
static int
ml_seconds(const char *s, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end != '\0' || end == s || v < 60 || v > ML_MINT_MAX)
		return (-1);
	*out = v;
	return (0);
}

/*
 * --presign, --agent-config: what a job needs to dial in as this session's
 * agent, as node-manta's msign (and the original mlogin's job set-up) make
 * it: the slave URL presigned with our key, valid for lifetime seconds, or
 * the agent's configuration object around it.  Printed; nothing dialled.
 */
static int
ml_mint(struct clientauth *auth, const struct clientopt *co, int what,
    long long lifetime)
{
	char path[1024], signed_path[8192], url[9000], err[512];
	size_t n = strlen(ml.m_url.u_path);

	if (n < 7 || strcmp(ml.m_url.u_path + n - 7, "/master") != 0 ||
	    n - 7 + 6 >= sizeof (path)) {
		fprintf(stderr, "mlogin: no session to presign for\n");
		return (2);
	}
	snprintf(path, sizeof (path), "%.*s/slave", (int)(n - 7),
	    ml.m_url.u_path);
	if (clientauth_path_account(path, err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: a presigned URL needs an account path: "
		    "give -a ACCOUNT (or $MANTA_USER)\n");
		return (2);
	}
	if (clientauth_presign(auth, ml.m_url.u_hostport, path,
	    (long long)time(NULL) + lifetime, signed_path,
	    sizeof (signed_path), err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: %s\n", err);
		return (2);
	}
	snprintf(url, sizeof (url), "%s://%s%s", ml.m_url.u_tls ? "wss" : "ws",
	    ml.m_url.u_hostport, signed_path);
	if (what == 'P') {
		printf("%s\n", url);
	} else {
		json_t *o = json_pack("{s:s, s:b}", "signed_url", url,
		    "insecure_tls", co->co_insecure);
		char *t = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;

		if (t == NULL) {
			fprintf(stderr, "mlogin: out of memory\n");
			return (2);
		}
		printf("%s\n", t);
		free(t);
		json_decref(o);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "reflector", required_argument, NULL, 'R' },
		{ "url", required_argument, NULL, 'u' },
		{ "presign", optional_argument, NULL, 'P' },
		{ "agent-config", optional_argument, NULL, 'G' },
		{ "command", required_argument, NULL, 'c' },
		{ "escape", required_argument, NULL, 'e' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		CLIENTOPT_LONG,
		{ NULL, 0, NULL, 0 }
	};
	const char *session = NULL, *reflector = NULL, *target = NULL;
	static char urltext[4096];
	char *joined = NULL, err[512];
	struct clientopt co;
	struct wsc_opts wo;
	struct stat st;
	static struct clientauth auth;
	char account[128] = "";
	long long lifetime = ML_MINT_DEFAULT;
	int ch, r, tty_flag = 0, mint = 0;	/* -t 1, -T -1 */

	wsc_process_init();
	memset(&ml, 0, sizeof (ml));
	clientopt_init(&co);
	ml.m_escapes = true;
	escape_init(&ml.m_esc, '~');
	/* "+": the first word that is no option ends them (the target). */
	while ((ch = getopt_long(argc, argv, "+s:c:e:u:qvtThV" CLIENTOPT_SHORT,
	    opts, NULL)) != -1) {
		if ((r = clientopt_getopt(&co, ch, optarg, err,
		    sizeof (err))) != 0) {
			if (r < 0) {
				fprintf(stderr, "mlogin: %s\n", err);
				return (2);
			}
			continue;
		}
		switch (ch) {
		case 's':
			session = optarg;
			break;
		case 'R':
		case 'u':
			reflector = optarg;
			break;
		case 'P':
		case 'G':
			mint = ch;
			if (optarg != NULL && ml_seconds(optarg, &lifetime) != 0) {
				fprintf(stderr, "mlogin: --%s=SECONDS: 60 to %d\n",
				    ch == 'P' ? "presign" : "agent-config",
				    ML_MINT_MAX);
				return (2);
			}
			break;
		case 'c':
			ml.m_command = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "none") == 0) {
				escape_init(&ml.m_esc, -1);
			} else if (strlen(optarg) != 1 || optarg[0] == '\r' ||
			    optarg[0] == '\n') {
				fprintf(stderr, "mlogin: the escape must be one "
				    "character other than CR or LF, or none\n");
				return (2);
			} else {
				escape_init(&ml.m_esc,
				    (unsigned char)optarg[0]);
			}
			break;
		case 'q':
			ml.m_quiet = true;
			break;
		case 'v':
			ml.m_view.cv_verbose++;
			break;
		case 't':
			tty_flag = 1;
			break;
		case 'T':
			tty_flag = -1;
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
	if (session == NULL) {
		if (optind >= argc) {
			ml_usage(stderr);
			return (2);
		}
		target = argv[optind++];
		if (strstr(target, "://") == NULL)
			session = target;
	}
	if (optind < argc) {
		if (ml.m_command != NULL) {
			fprintf(stderr, "mlogin: give a COMMAND or -c, not "
			    "both\n");
			return (2);
		}
		if ((joined = ml_join(argv + optind, argc - optind)) == NULL)
			return (2);
		ml.m_command = joined;
	}
	if (session != NULL) {
		if (target != NULL && target != session) {
			fprintf(stderr, "mlogin: give -s ID or a URL, not "
			    "both\n");
			return (2);
		}
		if (reflector == NULL || reflector[0] == '\0')
			reflector = getenv("MANTA_URL");
		if (reflector == NULL || reflector[0] == '\0')
			reflector = getenv("MEDUSA_URL");
		if (reflector == NULL || reflector[0] == '\0') {
			fprintf(stderr, "mlogin: a session id needs -u URL, "
			    "$MANTA_URL or $MEDUSA_URL\n");
			return (2);
		}
		if (session[0] == '\0' || strchr(session, '/') != NULL) {
			fprintf(stderr, "mlogin: bad session id \"%s\"\n",
			    session);
			return (2);
		}
		/*
		 * With an account (-a, $MANTA_USER), its path, as the
		 * original's: /<account>/medusa/attach/<id>/master.
		 */
		snprintf(urltext, sizeof (urltext), "%.*s%s%s%s/attach/%s/master",
		    (int)(strlen(reflector) - (reflector[strlen(reflector) -
		    1] == '/')), reflector, co.co_account != NULL ? "/" : "",
		    co.co_account != NULL ? co.co_account : "",
		    co.co_account != NULL ? "/medusa" : "", session);
	} else {
		snprintf(urltext, sizeof (urltext), "%s", target);
	}
	ml.m_urltext = urltext;
	if (wsurl_parse(urltext, &ml.m_url, err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: bad URL \"%s\": %s\n", urltext, err);
		return (2);
	}
	switch (wsurl_role(ml.m_url.u_path)) {
	case WSURL_ROLE_MASTER:
		break;
	case WSURL_ROLE_SLAVE:
		fprintf(stderr, "mlogin: %s is the agent's side of the session "
		    "(.../slave); mlogin attaches as .../attach/ID/master\n",
		    urltext);
		return (2);
	default:
		fprintf(stderr, "mlogin: %s is no attach URL; expected "
		    "ws[s]://HOST[:PORT]/attach/ID/master\n", urltext);
		return (2);
	}

	/* The account to sign as: -a, $MANTA_USER, else the URL's. */
	if (co.co_account != NULL)
		snprintf(account, sizeof (account), "%s", co.co_account);
	else
		(void) clientauth_path_account(ml.m_url.u_path, account,
		    sizeof (account));
	if (clientauth_setup(&auth, &co, account, err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: %s\n", err);
		return (2);
	}
	if (auth.ca_on)
		ml.m_auth = &auth;
	if (mint != 0)
		return (ml_mint(&auth, &co, mint, lifetime));

	term_init(&ml.m_term);
	ml.m_want_pty = tty_flag > 0 || (tty_flag == 0 && ml.m_term.t_in_tty);
	ml.m_stdin_reg = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	(void) signal(SIGPIPE, SIG_IGN);
	if (co.co_insecure && ml.m_url.u_tls && !ml.m_quiet)
		fprintf(stderr, " * warning: not checking the reflector's TLS "
		    "certificate (--insecure)\n");
	clientopt_wsc(&co, &wo);
	ml.m_resume_on = co.co_resume;
	resume_init(&ml.m_rs, co.co_resume_buffer);
	srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	if (ml.m_view.cv_verbose > 0) {
		char kd[256];

		clientauth_describe(&auth, kd, sizeof (kd));
		fprintf(stderr, "mlogin: %s: ServerAliveInterval %g s, "
		    "ServerAliveCountMax %u, ConnectTimeout %g s; signing with "
		    "%s\n", urltext, co.co_alive_interval, co.co_alive_count,
		    co.co_connect_timeout, kd);
	}
	if (ml_session_start(&ml, EV_DEFAULT, &wo, err, sizeof (err)) != 0) {
		fprintf(stderr, "mlogin: %s\n", err);
		ml_session_free(&ml);
		free(joined);
		return (255);
	}

	ev_run(EV_DEFAULT, 0);

	ml_session_free(&ml);
	clientauth_free(&auth);
	free(joined);
	return (ml.m_exit);
}
