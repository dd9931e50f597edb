/*
 * forward.c: an attach forwarded to the host that owns its session (issue
 * 16).  The client's socket leaves its struct conn (conn_take_fd), the
 * worker dials the owner's advertise address (non-blocking), sends the
 * request head as received with X-Medusa-Hop added (hop.h) and any bytes
 * that came after it, and from then on splices bytes both ways until both
 * directions have ended, or either fails.  Each direction has one buffer
 * of FWD_BUF bytes: a full buffer stops reading its source, so TCP pushes
 * back on the sender (bounded memory, backpressure both ways).  A failed
 * dial before any byte came back answers the client 502 with a JSON body.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "addrcount.h"
#include "config.h"
#include "hop.h"
#include "httphead.h"
#include "mlog.h"
#include "netutil.h"
#include "worker.h"

#define	FWD_BUF		65536
#define	FWD_DIAL	5.0		/* s to connect to the owner */

struct fwd {
	int		f_fd[2];	/* 0: the client, 1: the owner */
	ev_io		f_r[2];
	ev_io		f_w[2];
	char		*f_buf[2];	/* read from fd[i], for fd[1 - i] */
	size_t		f_len[2];
	size_t		f_off[2];
	bool		f_eof[2];	/* fd[i] sent its FIN */
	bool		f_shut[2];	/* fd[1 - i] was shut for writing */
	bool		f_heard;	/* a byte came back from the owner */
	ev_timer	f_dial;		/* until the first write to the owner */
	char		f_reqid[48];
	char		f_host[ADDRCOUNT_HOST_MAX];	/* counted ("": not) */
};

static struct {
	struct ev_loop	*fw_loop;
	uint64_t	fw_out;		/* attaches forwarded */
	uint64_t	fw_failed;	/* ... whose dial failed */
	size_t		fw_live;	/* splices now */
	struct mlog_limit fw_lim;
} fw;

static void fwd_io_cb(EV_P_ ev_io *, int);

void
forward_init(struct ev_loop *loop)
{
	fw.fw_loop = loop;
}

void
forward_counts(uint64_t *out, uint64_t *failed)
{
	*out = fw.fw_out;
	*failed = fw.fw_failed;
}

size_t
forward_live(void)
{
	return (fw.fw_live);
}

static void
fwd_free(struct fwd *f)
{
	fw.fw_live--;
	conn_host_release(f->f_host);
	ev_timer_stop(fw.fw_loop, &f->f_dial);
	for (int i = 0; i < 2; i++) {
		ev_io_stop(fw.fw_loop, &f->f_r[i]);
		ev_io_stop(fw.fw_loop, &f->f_w[i]);
		if (f->f_fd[i] >= 0)
			worker_close_sock(f->f_fd[i]);
		free(f->f_buf[i]);
	}
	free(f);
}

/* Which watchers each side needs now. */
static void
fwd_arm(struct fwd *f)
{
	for (int i = 0; i < 2; i++) {
		bool rd = !f->f_eof[i] && f->f_len[i] < FWD_BUF;
		bool wr = f->f_len[1 - i] > f->f_off[1 - i];

		if (rd != (ev_is_active(&f->f_r[i]) != 0)) {
			if (rd)
				ev_io_start(fw.fw_loop, &f->f_r[i]);
			else
				ev_io_stop(fw.fw_loop, &f->f_r[i]);
		}
		if (wr != (ev_is_active(&f->f_w[i]) != 0)) {
			if (wr)
				ev_io_start(fw.fw_loop, &f->f_w[i]);
			else
				ev_io_stop(fw.fw_loop, &f->f_w[i]);
		}
	}
}

static void
fwd_fail(struct fwd *f, int side, int err)
{
	static const char body[] = "{\"code\":\"BadGateway\",\"message\":"
	    "\"the session's host is unreachable\"}";
	char resp[256];
	unsigned long skipped;
	int n;

	if (side == 1 && !f->f_heard) {
		fw.fw_failed++;
		n = snprintf(resp, sizeof (resp), "HTTP/1.1 502 Bad Gateway\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", sizeof (body) - 1, body);
		(void) !write(f->f_fd[0], resp, (size_t)n);
	}
	if (mlog_allow(&fw.fw_lim, &skipped))
		mlog(MLOG_WARN, "forwarded attach failed", "req_id=%s side=%s "
		    "error=\"%s\" times_since_last_line=%lu", f->f_reqid,
		    side == 0 ? "client" : "owner", strerror(err), skipped);
	fwd_free(f);
}

static void
fwd_io_cb(EV_P_ ev_io *w, int revents)
{
	struct fwd *f = w->data;
	int i;
	ssize_t n;

	(void) loop;
	(void) revents;
	i = (w == &f->f_r[0] || w == &f->f_w[0]) ? 0 : 1;
	if (w == &f->f_r[i]) {
		n = read(f->f_fd[i], f->f_buf[i] + f->f_len[i],
		    FWD_BUF - f->f_len[i]);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			fwd_fail(f, i, errno);
			return;
		}
		if (n == 0)
			f->f_eof[i] = true;
		f->f_len[i] += (size_t)n;
		if (i == 1 && n > 0)
			f->f_heard = true;
	} else {
		/* fd[i] is writable: the bytes read from the other side. */
		int o = 1 - i;

		n = write(f->f_fd[i], f->f_buf[o] + f->f_off[o],
		    f->f_len[o] - f->f_off[o]);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			fwd_fail(f, i, errno);
			return;
		}
		if (i == 1)
			ev_timer_stop(fw.fw_loop, &f->f_dial);
		f->f_off[o] += (size_t)n;
		if (f->f_off[o] == f->f_len[o])
			f->f_off[o] = f->f_len[o] = 0;
	}
	/* A side that ended and whose bytes are all out: pass the FIN on. */
	for (int s = 0; s < 2; s++) {
		if (f->f_eof[s] && f->f_len[s] == 0 && !f->f_shut[s]) {
			(void) shutdown(f->f_fd[1 - s], SHUT_WR);
			f->f_shut[s] = true;
		}
	}
	if (f->f_shut[0] && f->f_shut[1]) {
		fwd_free(f);
		return;
	}
	fwd_arm(f);
}

static void
fwd_dial_cb(EV_P_ ev_timer *w, int revents)
{
	(void) loop;
	(void) revents;
	fwd_fail(w->data, 1, ETIMEDOUT);
}

/* A socket connecting to "host:port" (numeric), or -1. */
static int
fwd_dial(const char *hostport)
{
	char host[CONFIG_ADDR_MAX], ps[8];
	struct addrinfo hints, *ai;
	int port, fd;

	if (config_hostport(hostport, host, sizeof (host), &port) != 0)
		return (-1);
	(void) snprintf(ps, sizeof (ps), "%d", port);
	memset(&hints, 0, sizeof (hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		return (-1);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		(void) close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return (fd);
}

/*
 * Forward the client's socket cfd (its request head[0..headlen) and the
 * bytes after it, early[0..earlyn)) to owner.  Takes cfd in every case.
 * While it lives, the splice counts against this worker's limits like a
 * connection of its own: host (the client's, as conn_host() gave it) per
 * address, and the splice as a session (forward_live(), session_admit()).
 */
void
forward_attach(int cfd, const char *reqid, const char *peer,
    const char *host, const char *owner, const uint8_t *secret, size_t sn,
    const struct httphead *h, const char *head, size_t headlen,
    const char *early, size_t earlyn)
{
	struct fwd *f;
	char method[16], path[4096], nonce[HOP_NONCE_LEN + 1], value[
	    HOP_VALUE_MAX], hpeer[HOP_PEER_MAX];
	uint8_t rb[HOP_NONCE_LEN / 2];
	int vn;
	size_t n;

	if ((f = calloc(1, sizeof (*f))) == NULL ||
	    (f->f_buf[0] = malloc(FWD_BUF)) == NULL ||
	    (f->f_buf[1] = malloc(FWD_BUF)) == NULL) {
		if (f != NULL) {
			free(f->f_buf[0]);
			free(f);
		}
		(void) close(cfd);
		return;
	}
	f->f_fd[0] = cfd;
	f->f_fd[1] = -1;
	fw.fw_live++;
	(void) snprintf(f->f_host, sizeof (f->f_host), "%s", host);
	if (!conn_host_hold(f->f_host))
		f->f_host[0] = '\0';
	(void) snprintf(f->f_reqid, sizeof (f->f_reqid), "%s", reqid);
	for (int i = 0; i < 2; i++) {
		ev_io_init(&f->f_r[i], fwd_io_cb, 0, EV_READ);
		ev_io_init(&f->f_w[i], fwd_io_cb, 0, EV_WRITE);
		f->f_r[i].data = f->f_w[i].data = f;
	}
	ev_timer_init(&f->f_dial, fwd_dial_cb, FWD_DIAL, 0);
	f->f_dial.data = f;
	/* The peer as a token: "[v6]:port" or "v4:port" has no space. */
	(void) snprintf(hpeer, sizeof (hpeer), "%s", peer[0] != '\0' ? peer :
	    "-");
	for (char *p = hpeer; *p != '\0'; p++) {
		if (*p == ' ')
			*p = '_';
	}
	if (RAND_bytes(rb, sizeof (rb)) != 1) {
		fwd_fail(f, 0, EIO);
		return;
	}
	netutil_hex(rb, sizeof (rb), nonce);
	vn = -1;
	if (h->hh_method.s_n < sizeof (method) &&
	    h->hh_target.s_n < sizeof (path)) {
		memcpy(method, h->hh_method.s_p, h->hh_method.s_n);
		method[h->hh_method.s_n] = '\0';
		memcpy(path, h->hh_target.s_p, h->hh_target.s_n);
		path[h->hh_target.s_n] = '\0';
		vn = hop_make(secret, sn, method, path,
		    (int64_t)(netutil_now_ms() / 1000), nonce, hpeer, value,
		    sizeof (value));
	}
	/* head ends with "\r\n\r\n": the header goes before the blank line. */
	n = headlen - 2 + sizeof (HOP_HEADER ": ") - 1 + (size_t)vn + 2 + 2 +
	    earlyn;
	if (vn < 0 || headlen < 4 || n > FWD_BUF) {
		fwd_fail(f, 0, EMSGSIZE);
		return;
	}
	memcpy(f->f_buf[0], head, headlen - 2);
	n = headlen - 2;
	n += (size_t)sprintf(f->f_buf[0] + n, "%s: %s\r\n\r\n", HOP_HEADER,
	    value);
	memcpy(f->f_buf[0] + n, early, earlyn);
	f->f_len[0] = n + earlyn;
	if ((f->f_fd[1] = fwd_dial(owner)) < 0) {
		fwd_fail(f, 1, errno != 0 ? errno : EINVAL);
		return;
	}
	for (int i = 0; i < 2; i++) {
		ev_io_set(&f->f_r[i], f->f_fd[i], EV_READ);
		ev_io_set(&f->f_w[i], f->f_fd[i], EV_WRITE);
	}
	fw.fw_out++;
	ev_timer_start(fw.fw_loop, &f->f_dial);
	mlog(MLOG_INFO, "attach forwarded to the session's host",
	    "req_id=%s owner=%s", reqid, owner);
	fwd_arm(f);
}
