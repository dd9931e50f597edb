/*
 * medusactl: the operator's handle on a running reflector.
 *
 * It talks to the supervisor over its admin socket (a UNIX socket, mode
 * 0600, path "admin_socket" in the configuration) with proto.h's ADMIN_REQ
 * and ADMIN_REPLY messages:
 *
 *	status			workers, shards, pids, versions, sessions,
 *				restarts
 *	sessions		every session, its state and its worker
 *	restart [--shard K]	a rolling restart with live session handoff;
 *				shows each step as it happens and exits
 *				non-zero if a shard failed
 *	drain			no new sessions; the reflector exits when the
 *				last one ends
 *	keys ...		the accounts' public keys in the keys
 *				directory (keys.c), then KEYS: the workers
 *				read them again
 *
 * The socket is -S PATH, else the admin_socket of -f CONFIG, else of the
 * default configuration (medusa's: paths.h), else the default of paths.h
 * (paths_config_defaults: the same as medusa's).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "config.h"
#include "ctl.h"
#include "ctlchan.h"
#include "paths.h"
#include "proto.h"
#include "version.h"

/*
 * Silence allowed between replies.  A rolling restart reports every few
 * seconds while a step goes on (restart.c), so this only catches a medusa
 * that has stopped answering.
 */
#define	CTL_TIMEOUT_MS	30000
#define	CTL_JSON_MAX	(1024u * 1024 * 1024)	/* a reply's JSON, joined */

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: medusactl [-S SOCKET | -f CONFIG] [--json] COMMAND\n"
	    "\n"
	    "commands:\n"
	    "  status               workers, shards, versions, sessions\n"
	    "  sessions             every session and where it runs\n"
	    "  restart [--shard K]  rolling restart, sessions handed over live\n"
	    "  drain                take no new sessions; exit when idle\n"
	    "  keys list [ACCOUNT]  the accounts' public keys\n"
	    "  keys add ACCOUNT [FILE.pub|-]\n"
	    "                       register a key (an authorized_keys line)\n"
	    "  keys remove ACCOUNT FINGERPRINT\n"
	    "                       (SHA256:... or aa:bb:...)\n"
	    "  keys reload          have the reflector read the keys again\n"
	    "                       (add and remove do so themselves)\n"
	    "\n"
	    "  -S, --socket PATH    the admin socket\n"
	    "  -f, --config FILE    read admin_socket and keys_dir from this\n"
	    "                       configuration\n"
	    "  -K, --keys-dir DIR   the keys directory (default: keys_dir)\n"
	    "      --json           print the raw JSON (status, sessions)\n"
	    "  -h, --help           this text\n"
	    "  -V, --version        print the version and exit\n"
	    "\n"
	    "See medusactl(8), and medusa.json(5) for admin_socket and "
	    "keys_dir.\n");
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof (sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof (sa.sun_path)) {
		fprintf(stderr, "medusactl: socket path too long: %s\n", path);
		return (-1);
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof (sa)) != 0) {
		fprintf(stderr, "medusactl: cannot connect to %s: %s\n"
		    "  (is medusa running?  its socket is \"admin_socket\" in "
		    "its configuration; see -S and -f)\n", path,
		    strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (-1);
	}
	return (fd);
}

/* What the replies to one request have brought so far. */
struct ctl_reply {
	enum proto_admin_cmd	cr_cmd;
	bool			cr_json;	/* --json */
	bool			cr_done;	/* the last reply has come */
	bool			cr_ok;
	bool			cr_failed;	/* reported on stderr */
	char			*cr_doc;	/* JSON joined from the pieces */
	size_t			cr_doclen;
};

static int ctl_join(char **, size_t *, const char *, size_t);
static void ctl_print_status(json_t *);
static void ctl_print_sessions(json_t *);

/* The whole document has come: print it, raw or as a table. */
static void
ctl_print(const struct ctl_reply *cr)
{
	json_error_t je;
	json_t *doc = json_loadb(cr->cr_doc, cr->cr_doclen, 0, &je);

	if (cr->cr_json || doc == NULL)
		printf("%.*s\n", (int)cr->cr_doclen, cr->cr_doc);
	else if (cr->cr_cmd == ADMIN_SESSIONS)
		ctl_print_sessions(doc);
	else
		ctl_print_status(doc);
	json_decref(doc);
}

/*
 * One ADMIN_REPLY (proto.h): its text as it comes (a restart's steps),
 * its JSON joined with the pieces before it; the last one ends the wait.
 */
static int
ctl_on_reply(void *arg, const uint8_t *b, size_t n)
{
	struct ctl_reply *cr = arg;
	struct proto_admin_reply r;
	char err[128] = "not an ADMIN_REPLY";

	if (proto_type(b, n) != PROTO_ADMIN_REPLY ||
	    proto_dec_admin_reply(b, n, &r, err, sizeof (err)) != 0) {
		fprintf(stderr, "medusactl: bad reply: %s\n", err);
		cr->cr_failed = true;
		return (CTLCHAN_STOP);
	}
	if (r.pap_text.ps_n > 0)
		printf("%s%.*s\n", r.pap_done || !r.pap_ok ? "" : " * ",
		    (int)r.pap_text.ps_n, r.pap_text.ps_p);
	(void) fflush(stdout);
	if (r.pap_json.ps_n > 0 && ctl_join(&cr->cr_doc, &cr->cr_doclen,
	    r.pap_json.ps_p, r.pap_json.ps_n) != 0) {
		cr->cr_failed = true;
		return (CTLCHAN_STOP);
	}
	if (!r.pap_done)
		return (CTLCHAN_NEXT);
	cr->cr_done = true;
	cr->cr_ok = r.pap_ok;
	if (cr->cr_ok && cr->cr_doclen > 0)
		ctl_print(cr);
	return (CTLCHAN_STOP);
}

/*
 * Read replies until the last; false (reported) if the channel failed or
 * medusa fell silent for CTL_TIMEOUT_MS.
 */
static bool
ctl_wait(struct ctlchan *ch, struct ctl_reply *cr)
{
	struct pollfd pfd = { ch->cc_fd, POLLIN, 0 };
	int k;

	while (!cr->cr_done && !cr->cr_failed) {
		k = poll(&pfd, 1, CTL_TIMEOUT_MS);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "medusactl: no answer from medusa%s\n",
			    k < 0 ? ": poll failed" : " for 30 s");
			return (false);
		}
		switch (ctlchan_pump(ch, ctl_on_reply, cr, 1)) {
		case CTLCHAN_AGAIN:
		case CTLCHAN_CLOSED:
			break;
		case CTLCHAN_BAD:
			fprintf(stderr, "medusactl: oversized reply\n");
			return (false);
		case CTLCHAN_END:
		case CTLCHAN_ERROR:
			fprintf(stderr, "medusactl: medusa closed the "
			    "connection\n");
			return (false);
		}
	}
	return (cr->cr_done);
}

/* Append p[0..n) to *buf (of *len bytes).  0, or -1 (reported). */
static int
ctl_join(char **buf, size_t *len, const char *p, size_t n)
{
	char *nb;

	if (n > CTL_JSON_MAX - *len ||
	    (nb = realloc(*buf, *len + n)) == NULL) {
		fprintf(stderr, "medusactl: the reply is too large (over %zu "
		    "bytes)\n", *len);
		return (-1);
	}
	memcpy(nb + *len, p, n);
	*buf = nb;
	*len += n;
	return (0);
}

static const char *
ctl_str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return (json_is_string(v) ? json_string_value(v) : "-");
}

static long long
ctl_int(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return (json_is_integer(v) ? (long long)json_integer_value(v) : -1);
}

static void
ctl_print_status(json_t *doc)
{
	json_t *ws = json_object_get(doc, "workers"), *w;
	size_t i;

	printf("health: %s   version: %s   started: %s\n",
	    ctl_str(doc, "health"), ctl_str(doc, "version"),
	    ctl_str(doc, "started"));
	printf("%-6s %-8s %-9s %-12s %9s %9s %12s  %s\n", "SHARD", "PID",
	    "STATE", "VERSION", "SESSIONS", "RESTARTS", "BYTES", "STARTED");
	json_array_foreach(ws, i, w) {
		char pid[16];

		if (json_is_integer(json_object_get(w, "pid")))
			snprintf(pid, sizeof (pid), "%lld", ctl_int(w, "pid"));
		else
			snprintf(pid, sizeof (pid), "-");
		printf("%-6lld %-8s %-9s %-12s %9lld %9lld %12lld  %s\n",
		    ctl_int(w, "shard"), pid, ctl_str(w, "state"),
		    ctl_str(w, "version"), ctl_int(w, "sessions"),
		    ctl_int(w, "restarts"), ctl_int(w, "bytes"),
		    ctl_str(w, "started"));
	}
}

static void
ctl_print_sessions(json_t *doc)
{
	json_t *ss = json_object_get(json_object_get(doc, "sessions"),
	    "sessions"), *s;
	size_t i;

	printf("%-40s %-12s %-6s %-5s %-5s %-8s %s\n", "ID", "STATE", "MASTER",
	    "SLAVE", "SHARD", "PID", "CREATED");
	json_array_foreach(ss, i, s) {
		printf("%-40s %-12s %-6s %-5s %-5lld %-8lld %s\n",
		    ctl_str(s, "id"), ctl_str(s, "state"),
		    json_is_true(json_object_get(s, "has_master")) ? "yes" :
		    "no", json_is_true(json_object_get(s, "has_slave")) ?
		    "yes" : "no", ctl_int(s, "shard"), ctl_int(s, "pid"),
		    ctl_str(s, "create_time"));
	}
	printf("%zu session%s\n", json_array_size(ss),
	    json_array_size(ss) == 1 ? "" : "s");
}

/*
 * The configuration: -f CONFIG, else medusa's default if it is there (it
 * may not be: then the defaults).  0, or -1 (reported) if a configuration
 * given with -f cannot be read.  *pathp is the file read, or NULL.
 */
static int
ctl_config(const char *cfg, struct medusa_config *c, char *path, size_t cap,
    const char **pathp)
{
	char err[256];

	paths_config_defaults(c);
	*pathp = NULL;
	if (cfg != NULL)
		snprintf(path, cap, "%s", cfg);
	else
		(void) paths_resolve(MEDUSA_CONFIG_PATH, path, cap);
	if (cfg != NULL || access(path, R_OK) == 0) {
		/* One we were given must be good; the default may be absent. */
		if (config_load(c, path, err, sizeof (err)) != 0) {
			fprintf(stderr, "medusactl: %s\n", err);
			if (cfg != NULL)
				return (-1);
			paths_config_defaults(c);
		} else {
			*pathp = path;
		}
	}
	return (0);
}

/*
 * Send one admin request and print its replies.  The exit status: 0 if it
 * succeeded, 1 if not (or the reflector could not be reached).
 */
int
ctl_request(const char *sock, int command, int shard, bool json)
{
	struct proto_admin_req req;
	struct ctl_reply cr;
	struct ctlchan ch;
	msgpack_sbuffer sb;
	int fd, rc = 1;

	memset(&req, 0, sizeof (req));
	req.par_version = PROTO_VERSION;
	req.par_command = (uint32_t)command;
	req.par_shard = shard;
	if ((fd = ctl_connect(sock)) < 0)
		return (1);
	memset(&cr, 0, sizeof (cr));
	cr.cr_cmd = req.par_command;
	cr.cr_json = json;

	ctlchan_init(&ch, fd, 1u << 20);
	msgpack_sbuffer_init(&sb);
	(void) proto_enc_admin_req(&sb, &req);
	if (ctlchan_send(&ch, sb.data, sb.size, NULL, 0, NULL) != 0 ||
	    ctlchan_flush(&ch) != 1) {
		fprintf(stderr, "medusactl: cannot send to %s: %s\n", sock,
		    strerror(errno));
		msgpack_sbuffer_destroy(&sb);
		ctlchan_close(&ch, NULL, NULL);
		return (1);
	}
	msgpack_sbuffer_destroy(&sb);

	if (ctl_wait(&ch, &cr))
		rc = cr.cr_ok ? 0 : 1;
	ctlchan_close(&ch, NULL, NULL);
	free(cr.cr_doc);
	return (rc);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "config", required_argument, NULL, 'f' },
		{ "keys-dir", required_argument, NULL, 'K' },
		{ "shard", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct medusa_config conf;
	char sock[108], cfgpath[PATH_MAX], *end;
	const char *sockopt = NULL, *cfg = NULL, *cmd, *cfgread, *keysopt = NULL;
	bool json = false;
	int ch_, shard = -1, command;

	while ((ch_ = getopt_long(argc, argv, "S:f:K:hV", opts, NULL)) != -1) {
		switch (ch_) {
		case 'S':
			sockopt = optarg;
			break;
		case 'f':
			cfg = optarg;
			break;
		case 'K':
			keysopt = optarg;
			break;
		case 'k':
			errno = 0;
			shard = (int)strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || shard < 0) {
				fprintf(stderr, "medusactl: --shard takes a "
				    "shard number, not \"%s\"\n", optarg);
				return (2);
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			ctl_usage(stdout);
			return (0);
		case 'V':
			printf("medusactl %s (control protocol %d)\n",
			    MEDUSA_VERSION, PROTO_VERSION);
			return (0);
		default:
			ctl_usage(stderr);
			return (2);
		}
	}
	if (argc - optind < 1) {
		ctl_usage(stderr);
		return (2);
	}
	cmd = argv[optind];
	if (strcmp(cmd, "keys") != 0 && argc - optind != 1) {
		ctl_usage(stderr);
		return (2);
	}
	if (strcmp(cmd, "status") == 0) {
		command = ADMIN_STATUS;
	} else if (strcmp(cmd, "sessions") == 0) {
		command = ADMIN_SESSIONS;
	} else if (strcmp(cmd, "restart") == 0) {
		command = ADMIN_RESTART;
	} else if (strcmp(cmd, "drain") == 0) {
		command = ADMIN_DRAIN;
	} else if (strcmp(cmd, "keys") == 0) {
		command = ADMIN_KEYS;
	} else {
		fprintf(stderr, "medusactl: unknown command \"%s\"\n", cmd);
		ctl_usage(stderr);
		return (2);
	}
	if (shard >= 0 && command != ADMIN_RESTART) {
		fprintf(stderr, "medusactl: --shard goes with restart\n");
		return (2);
	}
	if (ctl_config(cfg, &conf, cfgpath, sizeof (cfgpath), &cfgread) != 0)
		return (2);
	if (sockopt != NULL)
		snprintf(sock, sizeof (sock), "%s", sockopt);
	else
		snprintf(sock, sizeof (sock), "%s", conf.mc_admin_socket);
	if (strlen(sockopt != NULL ? sockopt : conf.mc_admin_socket) >=
	    sizeof (sock)) {
		fprintf(stderr, "medusactl: socket path too long\n");
		return (2);
	}
	if (command == ADMIN_KEYS) {
		char dir[PATH_MAX];

		if (keysopt != NULL)
			snprintf(dir, sizeof (dir), "%s", keysopt);
		else
			ctl_keys_dir(&conf, cfgread, dir, sizeof (dir));
		return (ctl_keys(argc - optind - 1, argv + optind + 1, dir,
		    sock));
	}
	return (ctl_request(sock, command, command == ADMIN_RESTART ? shard :
	    -1, json));
}
