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

ssize_t
ctlchan_fill(struct ctlchan *c)
{
	int fds[FDPASS_MAX], nfds = 0, trunc = 0;
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
	if (trunc)
		c->cc_lost++;
	if (c->cc_nrfds + nfds > CTLCHAN_RFDS_MAX) {
		for (int i = 0; i < nfds; i++)
			(void) close(fds[i]);
		errno = EPROTO;
		return (-1);
	}
	memcpy(c->cc_rfds + c->cc_nrfds, fds, sizeof (int) * (size_t)nfds);
	c->cc_nrfds += nfds;
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
	buf_consume(&c->cc_in, c->cc_cur);
	c->cc_cur = 0;
}

int
ctlchan_take_fds(struct ctlchan *c, int *fds, int n)
{
	if (n <= 0)
		return (0);
	if (c->cc_nrfds < n) {
		/*
		 * Not here: either the kernel dropped them (one truncated
		 * receive loses one message's descriptors, all of them) or
		 * the sender never sent them.
		 */
		if (c->cc_lost == 0)
			return (-1);
		c->cc_lost--;
		for (int i = 0; i < n; i++)
			fds[i] = -1;
		return (1);
	}
	memcpy(fds, c->cc_rfds, sizeof (int) * (size_t)n);
	c->cc_nrfds -= n;
	memmove(c->cc_rfds, c->cc_rfds + n, sizeof (int) * (size_t)c->cc_nrfds);
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
	for (int i = 0; i < c->cc_nrfds; i++)
		(void) close(c->cc_rfds[i]);
	c->cc_nrfds = 0;
	buf_free(&c->cc_in);
	c->cc_cur = 0;
}
