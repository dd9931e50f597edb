/*
 * ctlchan.c: control channel framing and descriptor ownership; see
 * ctlchan.h and proto.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlchan.h"
#include "proto.h"

struct ctlchan_msg {
	struct ctlchan_msg	*m_next;
	size_t			m_len;
	size_t			m_off;
	int			m_fds[FDPASS_MAX];
	int			m_nfds;
	char			m_tag[CTLCHAN_TAG_MAX];
	uint8_t			m_data[];
};

#define	CTLCHAN_READ	65536

void
ctlchan_init(struct ctlchan *c, int fd, size_t qmax)
{
	memset(c, 0, sizeof (*c));
	c->cc_fd = fd;
	c->cc_tailp = &c->cc_head;
	c->cc_qmax = qmax;
}

int
ctlchan_send(struct ctlchan *c, const void *frame, size_t len,
    const int *fds, int nfds, const char *tag)
{
	struct ctlchan_msg *m;

	if (nfds < 0 || nfds > FDPASS_MAX || len == 0) {
		errno = EINVAL;
		return (-1);
	}
	if (c->cc_qbytes + len > c->cc_qmax) {
		errno = ENOBUFS;
		return (-1);
	}
	if ((m = malloc(sizeof (*m) + len)) == NULL)
		return (-1);
	m->m_next = NULL;
	m->m_len = len;
	m->m_off = 0;
	m->m_nfds = nfds;
	if (nfds > 0)
		memcpy(m->m_fds, fds, sizeof (int) * (size_t)nfds);
	snprintf(m->m_tag, sizeof (m->m_tag), "%s", tag != NULL ? tag : "");
	memcpy(m->m_data, frame, len);
	*c->cc_tailp = m;
	c->cc_tailp = &m->m_next;
	c->cc_qbytes += len;
	return (0);
}

int
ctlchan_flush(struct ctlchan *c)
{
	struct ctlchan_msg *m;

	while ((m = c->cc_head) != NULL) {
		struct iovec iov;
		ssize_t n;

		iov.iov_base = m->m_data + m->m_off;
		iov.iov_len = m->m_len - m->m_off;
		n = fdpass_send(c->cc_fd, &iov, 1, m->m_fds,
		    m->m_off == 0 ? m->m_nfds : 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			return (-1);
		}
		/* The descriptors went with this sendmsg(): ours to close. */
		for (int i = 0; i < m->m_nfds; i++)
			(void) close(m->m_fds[i]);
		m->m_nfds = 0;
		m->m_off += (size_t)n;
		c->cc_qbytes -= (size_t)n;
		if (m->m_off < m->m_len)
			continue;
		c->cc_head = m->m_next;
		if (c->cc_head == NULL)
			c->cc_tailp = &c->cc_head;
		free(m);
	}
	return (1);
}

static struct ctlchan_rgroup *
rg_first(struct ctlchan *c)
{
	return (c->cc_nrg > 0 ? &c->cc_rg[c->cc_rghead] : NULL);
}

/* Remove the oldest group; close its descriptors unless taken. */
static void
rg_pop(struct ctlchan *c, int close_fds)
{
	struct ctlchan_rgroup *g = &c->cc_rg[c->cc_rghead];

	if (close_fds) {
		for (int i = 0; i < g->rg_nfds; i++)
			(void) close(g->rg_fds[i]);
	}
	c->cc_nrfds -= g->rg_nfds;
	g->rg_nfds = 0;
	c->cc_rghead = (c->cc_rghead + 1) % CTLCHAN_RGROUPS_MAX;
	c->cc_nrg--;
}

ssize_t
ctlchan_fill(struct ctlchan *c)
{
	int fds[FDPASS_MAX], nfds = 0, trunc = 0;
	struct ctlchan_rgroup *g;
	ssize_t n;

	if (buf_reserve(&c->cc_in, CTLCHAN_READ) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	n = fdpass_recv(c->cc_fd, buf_tail(&c->cc_in), buf_avail(&c->cc_in),
	    fds, &nfds, &trunc);
	if (n < 0) {
		if (c->cc_in.b_len == 0)
			buf_free(&c->cc_in);
		return (-1);
	}
	if (nfds > 0 || trunc) {
		if (c->cc_nrg == CTLCHAN_RGROUPS_MAX ||
		    c->cc_nrfds + nfds > CTLCHAN_RFDS_MAX) {
			for (int i = 0; i < nfds; i++)
				(void) close(fds[i]);
			errno = EPROTO;
			return (-1);
		}
		g = &c->cc_rg[(c->cc_rghead + c->cc_nrg) % CTLCHAN_RGROUPS_MAX];
		g->rg_start = c->cc_base + c->cc_in.b_len;
		g->rg_end = g->rg_start + (uint64_t)n;
		memcpy(g->rg_fds, fds, sizeof (int) * (size_t)nfds);
		g->rg_nfds = nfds;
		g->rg_lost = trunc;
		c->cc_nrg++;
		c->cc_nrfds += nfds;
	}
	buf_commit(&c->cc_in, (size_t)n);
	if (c->cc_in.b_len == 0)
		buf_free(&c->cc_in);
	return (n);
}

int
ctlchan_next(struct ctlchan *c, const uint8_t **body, size_t *len)
{
	const uint8_t *p;
	size_t n;

	if (c->cc_in.b_len < 4)
		return (0);
	p = buf_head(&c->cc_in);
	n = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) |
	    p[3];
	if (n > PROTO_FRAME_MAX || n == 0)
		return (-1);
	if (c->cc_in.b_len < 4 + n)
		return (0);
	*body = p + 4;
	*len = n;
	c->cc_cur = 4 + n;
	return (1);
}

void
ctlchan_done(struct ctlchan *c)
{
	struct ctlchan_rgroup *g;

	buf_consume(&c->cc_in, c->cc_cur);
	c->cc_base += c->cc_cur;
	c->cc_cur = 0;
	/* Groups whose reads are all consumed: no later frame's. */
	while ((g = rg_first(c)) != NULL && g->rg_end <= c->cc_base)
		rg_pop(c, 1);
}

int
ctlchan_take_fds(struct ctlchan *c, int *fds, int n)
{
	uint64_t start = c->cc_base, end = c->cc_base + c->cc_cur;
	struct ctlchan_rgroup *g;

	if (n <= 0)
		return (0);
	for (int i = 0; i < n; i++)
		fds[i] = -1;
	/* The frame's group: the read that holds its start, not its end. */
	if (c->cc_cur == 0 || (g = rg_first(c)) == NULL ||
	    g->rg_start > start || g->rg_end <= start || g->rg_end > end)
		return (-1);
	if (g->rg_lost || g->rg_nfds != n) {
		int lost = g->rg_lost;

		rg_pop(c, 1);
		return (lost ? 1 : -1);
	}
	memcpy(fds, g->rg_fds, sizeof (int) * (size_t)n);
	rg_pop(c, 0);
	return (0);
}

void
ctlchan_close(struct ctlchan *c, ctlchan_unsent_f *unsent, void *arg)
{
	struct ctlchan_msg *m, *next;

	if (c->cc_fd >= 0)
		(void) close(c->cc_fd);
	c->cc_fd = -1;
	for (m = c->cc_head; m != NULL; m = next) {
		next = m->m_next;
		if (m->m_nfds > 0) {
			if (unsent != NULL) {
				unsent(m->m_tag, m->m_data, m->m_len, m->m_fds,
				    m->m_nfds, arg);
			} else {
				for (int i = 0; i < m->m_nfds; i++)
					(void) close(m->m_fds[i]);
			}
		}
		free(m);
	}
	c->cc_head = NULL;
	c->cc_tailp = &c->cc_head;
	c->cc_qbytes = 0;
	while (c->cc_nrg > 0)
		rg_pop(c, 1);
	buf_free(&c->cc_in);
	c->cc_cur = 0;
}

enum ctlchan_result
ctlchan_pump(struct ctlchan *c, ctlchan_frame_f *fn, void *arg, int maxreads)
{
	const uint8_t *body;
	size_t len;
	ssize_t n;
	int r, reads = 0;

	for (;;) {
		while ((r = ctlchan_next(c, &body, &len)) == 1) {
			int v = fn(arg, body, len);

			if (c->cc_fd < 0)
				return (CTLCHAN_CLOSED);
			ctlchan_done(c);
			if (v == CTLCHAN_REFUSE)
				return (CTLCHAN_BAD);
			if (v != CTLCHAN_NEXT)
				return (CTLCHAN_AGAIN);
		}
		if (r < 0)
			return (CTLCHAN_BAD);
		if (maxreads > 0 && reads++ == maxreads)
			return (CTLCHAN_AGAIN);
		if ((n = ctlchan_fill(c)) == 0)
			return (CTLCHAN_END);
		if (n < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR ? CTLCHAN_AGAIN : CTLCHAN_ERROR);
	}
}
