/*
 * admin.c: the admin socket, a UNIX stream socket (mode 0600, path from
 * "admin_socket") on which medusactl asks the supervisor for its status,
 * its sessions, a rolling restart or a drain.  Messages are proto.h's
 * ADMIN_REQ and ADMIN_REPLY (a large document in pieces, as proto.h says),
 * framed as on the control channels; a client with another protocol
 * version gets an error reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "mlog.h"
#include "supervisor.h"

#define	ADMIN_QMAX	(256u * 1024 * 1024)
#define	ADMIN_MAX_CONNS	64
_Static_assert(ADMIN_QMAX >= 16 * PROTO_ADMIN_JSON_CHUNK,
    "the admin queue holds a large document's pieces");

struct admin_conn {
	struct ctlchan	a_ch;
	ev_io		a_rio;
	ev_io		a_wio;
	bool		a_broken;	/* a reply could not be queued */
	LIST_ENTRY(admin_conn) a_link;
};

/* This file's state: the admin socket and its connections. */
static struct admin {
	struct ev_loop	*a_loop;
	const struct medusa_config *a_conf;	/* main.c's */
	int		a_fd;		/* listening */
	ev_io		a_lio;
	LIST_HEAD(, admin_conn) a_conns;
	unsigned	a_nconns;
} adm = { .a_fd = -1 };

static void
admin_close(struct admin_conn *a)
{
	status_cancel(a);
	restart_forget_watcher(a);
	ev_io_stop(adm.a_loop, &a->a_rio);
	ev_io_stop(adm.a_loop, &a->a_wio);
	ctlchan_close(&a->a_ch, NULL, NULL);
	LIST_REMOVE(a, a_link);
	adm.a_nconns--;
	free(a);
}

static int
admin_reply1(struct admin_conn *a, bool done, bool ok, const char *text,
    const char *json, size_t jsonlen)
{
	struct proto_admin_reply r;
	msgpack_sbuffer sb;
	int rv;

	r.pap_done = done;
	r.pap_ok = ok;
	r.pap_text.ps_p = text;
	r.pap_text.ps_n = strlen(text);
	r.pap_json.ps_p = json != NULL ? json : "";
	r.pap_json.ps_n = json != NULL ? jsonlen : 0;
	msgpack_sbuffer_init(&sb);
	rv = proto_enc_admin_reply(&sb, &r);
	if (rv == 0)
		rv = ctlchan_send(&a->a_ch, sb.data, sb.size, NULL, 0, NULL);
	msgpack_sbuffer_destroy(&sb);
	if (rv == 0)
		ev_io_start(adm.a_loop, &a->a_wio);
	return (rv);
}

/*
 * A reply, its JSON in pieces of PROTO_ADMIN_JSON_CHUNK as proto.h says
 * under ADMIN_REPLY.  A document too big for the queue (what is left of
 * it, less a sixteenth kept for progress lines) gets an error reply
 * instead of silence.
 */
static void
admin_reply(struct admin_conn *a, bool done, bool ok, const char *text,
    const char *json, size_t jsonlen)
{
	char err[128];

	if (json != NULL && jsonlen > ADMIN_QMAX - ctlchan_queued(&a->a_ch) -
	    ADMIN_QMAX / 16) {
		snprintf(err, sizeof (err), "the reply (%zu bytes of JSON) is "
		    "too large to send", jsonlen);
		mlog(MLOG_ERROR, "admin reply too large", "bytes=%zu", jsonlen);
		(void) admin_reply1(a, true, false, err, NULL, 0);
		return;
	}
	while (json != NULL && jsonlen > PROTO_ADMIN_JSON_CHUNK) {
		if (admin_reply1(a, false, ok, "", json,
		    PROTO_ADMIN_JSON_CHUNK) != 0)
			goto broken;
		json += PROTO_ADMIN_JSON_CHUNK;
		jsonlen -= PROTO_ADMIN_JSON_CHUNK;
	}
	if (admin_reply1(a, done, ok, text, json, jsonlen) == 0)
		return;
broken:
	/*
	 * (A client that reads nothing, or no memory.)  Closed from the
	 * write callback, not here: the caller may still use a.
	 */
	mlog(MLOG_WARN, "admin connection dropped: its reply cannot be "
	    "queued", "error=%s", strerror(errno));
	a->a_broken = true;
	ev_feed_event(adm.a_loop, &a->a_wio, EV_WRITE);
}

void
admin_progress(struct admin_conn *a, bool done, bool ok, const char *text)
{
	admin_reply(a, done, ok, text, NULL, 0);
}

static void
admin_status_done(void *arg, const char *json, size_t len)
{
	struct admin_conn *a = arg;

	if (json == NULL)
		admin_reply(a, true, false, "cannot build the status now",
		    NULL, 0);
	else
		admin_reply(a, true, true, "", json, len);
}

static int
admin_request(void *arg, const uint8_t *b, size_t n)
{
	struct admin_conn *a = arg;
	struct proto_admin_req m;
	char err[256];

	if (proto_type(b, n) != PROTO_ADMIN_REQ ||
	    proto_dec_admin_req(b, n, &m, err, sizeof (err)) != 0) {
		mlog(MLOG_WARN, "bad admin request", "");
		admin_reply(a, true, false, "bad request", NULL, 0);
		return (CTLCHAN_NEXT);
	}
	if (m.par_version != PROTO_VERSION) {
		snprintf(err, sizeof (err), "medusactl speaks protocol %u, "
		    "medusa %d: use the medusactl of this build",
		    m.par_version, PROTO_VERSION);
		admin_reply(a, true, false, err, NULL, 0);
		return (CTLCHAN_NEXT);
	}
	switch (m.par_command) {
	case ADMIN_STATUS:
	case ADMIN_SESSIONS:
		status_query(admin_status_done, a);
		break;
	case ADMIN_RESTART:
		mlog(MLOG_INFO, "admin: rolling restart requested", "shard=%d",
		    (int)m.par_shard);
		if (restart_begin(m.par_shard, a, err, sizeof (err)) != 0)
			admin_reply(a, true, false, err, NULL, 0);
		break;
	case ADMIN_DRAIN:
		sup_drain("medusactl drain");
		admin_reply(a, true, true, "draining: no new sessions; medusa "
		    "exits when the last one ends", NULL, 0);
		break;
	case ADMIN_KEYS:
		mlog(MLOG_INFO, "admin: reading the keys again", "");
		workers_config_all();
		admin_reply(a, true, true, "the workers read the keys "
		    "directory again", NULL, 0);
		break;
	default:
		admin_reply(a, true, false, "unknown command", NULL, 0);
		break;
	}
	return (CTLCHAN_NEXT);
}

static void
admin_read_cb(EV_P_ ev_io *w, int revents)
{
	struct admin_conn *a = w->data;

	(void) EV_A;
	(void) revents;
	if (ctlchan_pump(&a->a_ch, admin_request, a, 1) != CTLCHAN_AGAIN)
		admin_close(a);
}

static void
admin_write_cb(EV_P_ ev_io *w, int revents)
{
	struct admin_conn *a = w->data;
	int r;

	(void) revents;
	if (a->a_broken) {
		admin_close(a);
		return;
	}
	r = ctlchan_flush(&a->a_ch);
	if (r == 1)
		ev_io_stop(EV_A_ w);
	else if (r < 0)
		admin_close(a);
}

static void
admin_accept_cb(EV_P_ ev_io *w, int revents)
{
	struct admin_conn *a;
	int fd;

	(void) EV_A;
	(void) revents;
	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (adm.a_nconns >= ADMIN_MAX_CONNS ||
	    (a = calloc(1, sizeof (*a))) == NULL) {
		mlog(MLOG_WARN, "admin connection refused: too many", "");
		(void) close(fd);
		return;
	}
	ctlchan_init(&a->a_ch, fd, ADMIN_QMAX);
	ev_io_init(&a->a_rio, admin_read_cb, fd, EV_READ);
	ev_io_init(&a->a_wio, admin_write_cb, fd, EV_WRITE);
	a->a_rio.data = a->a_wio.data = a;
	ev_io_start(adm.a_loop, &a->a_rio);
	LIST_INSERT_HEAD(&adm.a_conns, a, a_link);
	adm.a_nconns++;
}

/*
 * The socket's directory, made owner-only (0700) if it is missing: the
 * in-tree default (paths.h) is bin/../run, which a fresh checkout lacks.
 * One that exists is left as it is (/run/medusa is systemd's).  0, or -1
 * with a message on stderr.
 */
static int
admin_dir(const char *path)
{
	char dir[sizeof (((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof (dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return (0);
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "medusa: admin socket directory %s: %s\n", dir,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Listen on the admin socket.  0, or -1 with a message on stderr. */
int
admin_listen(struct ev_loop *loop, const struct medusa_config *conf)
{
	const char *path = conf->mc_admin_socket;
	struct sockaddr_un sa;
	mode_t old;
	int fd;

	memset(&sa, 0, sizeof (sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof (sa.sun_path)) {
		fprintf(stderr, "medusa: admin socket path too long: %s\n",
		    path);
		return (-1);
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (admin_dir(path) != 0)
		return (-1);
	/* A live medusa on this path is an error; a stale socket is not. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof (sa)) == 0) {
			fprintf(stderr, "medusa: another medusa is using the "
			    "admin socket %s\n", path);
			(void) close(fd);
			return (-1);
		}
		(void) close(fd);
	}
	(void) unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "medusa: socket: %s\n", strerror(errno));
		return (-1);
	}
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof (sa)) != 0 ||
	    chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
		fprintf(stderr, "medusa: admin socket %s: %s\n", path,
		    strerror(errno));
		(void) umask(old);
		(void) close(fd);
		return (-1);
	}
	(void) umask(old);
	adm.a_loop = loop;
	adm.a_conf = conf;
	adm.a_fd = fd;
	ev_io_init(&adm.a_lio, admin_accept_cb, fd, EV_READ);
	ev_io_start(adm.a_loop, &adm.a_lio);
	mlog(MLOG_INFO, "admin socket", "path=%s", path);
	return (0);
}

void
admin_close_all(void)
{
	while (!LIST_EMPTY(&adm.a_conns))
		admin_close(LIST_FIRST(&adm.a_conns));
	if (adm.a_fd >= 0) {
		ev_io_stop(adm.a_loop, &adm.a_lio);
		(void) close(adm.a_fd);
		(void) unlink(adm.a_conf->mc_admin_socket);
		adm.a_fd = -1;
	}
}
