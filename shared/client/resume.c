/*
 * resume.c: the sequenced end-to-end stream of a resumable session; see
 * resume.h for who holds what.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlproto.h"
#include "resume.h"

void
resume_init(struct resume *r, size_t window)
{
	memset(r, 0, sizeof (*r));
	r->window = window == 0 ? RESUME_DEFAULT_WINDOW : window;
}

static void
resume_trim(struct resume *r, uint64_t n)
{
	while (r->head != NULL && r->head->seq <= n) {
		struct resume_msg *m = r->head;

		r->head = m->next;
		r->bytes -= m->len;
		free(m);
	}
	if (r->head == NULL)
		r->tail = NULL;
	if (n > r->trimmed)
		r->trimmed = n;
}

void
resume_fini(struct resume *r)
{
	resume_trim(r, UINT64_MAX);
	r->phase = RESUME_OFF;
}

int
resume_linkup(struct resume *r, bool resume)
{
	if (r->phase == RESUME_OFF) {
		if (resume)
			r->phase = RESUME_LIVE;
		return (0);
	}
	r->phase = RESUME_AWAIT;
	return (1);
}

bool
resume_full(const struct resume *r)
{
	return (r->phase != RESUME_OFF && r->bytes >= r->window);
}

bool
resume_holding(const struct resume *r)
{
	return (r->phase == RESUME_AWAIT);
}

int
resume_sent(struct resume *r, bool text, const uint8_t *p, size_t n,
    char *err, size_t errlen)
{
	struct resume_msg *m;

	if (r->phase == RESUME_OFF)
		return (0);
	if ((m = malloc(sizeof (*m) + n)) == NULL) {
		snprintf(err, errlen, "out of memory for the replay buffer");
		return (-1);
	}
	m->next = NULL;
	m->seq = ++r->sent;
	m->text = text;
	m->len = n;
	if (n > 0)
		memcpy(m->data, p, n);
	if (r->tail != NULL)
		r->tail->next = m;
	else
		r->head = m;
	r->tail = m;
	r->bytes += n;
	return (0);
}

bool
resume_received(struct resume *r, size_t n)
{
	if (r->phase == RESUME_AWAIT)
		return (false);
	if (r->phase == RESUME_LIVE) {
		r->recv++;
		r->recv_bytes += n;
	}
	return (true);
}

bool
resume_ack_due(const struct resume *r, uint64_t now_ms)
{
	if (r->phase != RESUME_LIVE || r->recv == r->acked)
		return (false);
	return (r->recv_bytes >= RESUME_ACK_BYTES ||
	    now_ms >= r->ack_at + RESUME_ACK_MS);
}

static char *
resume_msg(struct resume *r, const char *type, uint64_t now_ms)
{
	json_t *o = json_pack("{s:s,s:I}", "type", type, "recv",
	    (json_int_t)r->recv);

	if (o == NULL)
		return (NULL);
	r->acked = r->recv;
	r->recv_bytes = 0;
	r->ack_at = now_ms;
	return (mlproto_encode(o));
}

char *
resume_ack_msg(struct resume *r, uint64_t now_ms)
{
	return (resume_msg(r, "ack", now_ms));
}

char *
resume_resume_msg(struct resume *r, uint64_t now_ms)
{
	return (resume_msg(r, "resume", now_ms));
}

enum resume_ctl
resume_classify(const json_t *o, const char *type, uint64_t *n)
{
	enum resume_ctl c;
	json_t *v;

	if (strcmp(type, "ack") == 0)
		c = RESUME_CTL_ACK;
	else if (strcmp(type, "resume") == 0)
		c = RESUME_CTL_RESUME;
	else
		return (RESUME_CTL_NONE);
	v = json_object_get(o, "recv");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return (RESUME_CTL_BAD);
	*n = (uint64_t)json_integer_value(v);
	return (c);
}

int
resume_on_ack(struct resume *r, uint64_t n, char *err, size_t errlen)
{
	if (n > r->sent) {
		snprintf(err, errlen, "the peer acknowledged message %llu, "
		    "only %llu were sent", (unsigned long long)n,
		    (unsigned long long)r->sent);
		return (-1);
	}
	resume_trim(r, n);	/* a stale ack (n <= trimmed) trims nothing */
	return (0);
}

int
resume_on_resume(struct resume *r, uint64_t n, char *err, size_t errlen)
{
	if (n < r->trimmed) {
		snprintf(err, errlen, "the session cannot resume: the peer "
		    "asks for message %llu, already acknowledged and "
		    "dropped (%llu)", (unsigned long long)n + 1,
		    (unsigned long long)r->trimmed);
		return (-1);
	}
	if (n > r->sent) {
		snprintf(err, errlen, "the session cannot resume: the peer "
		    "holds %llu messages, only %llu were sent",
		    (unsigned long long)n, (unsigned long long)r->sent);
		return (-1);
	}
	resume_trim(r, n);
	r->phase = RESUME_LIVE;
	return (0);
}

int
resume_on_ctl(struct resume *r, enum resume_ctl ctl, uint64_t n, char *err,
    size_t errlen)
{
	switch (ctl) {
	case RESUME_CTL_ACK:
		return (resume_on_ack(r, n, err, errlen));
	case RESUME_CTL_RESUME:
		return (resume_on_resume(r, n, err, errlen));
	default:
		snprintf(err, errlen, "the peer sent a malformed ack or resume");
		return (-1);
	}
}

const struct resume_msg *
resume_replay(const struct resume *r)
{
	return (r->head);
}

int
resume_headers(const char *token, char *out, size_t cap, char *err,
    size_t errlen)
{
	int n;

	if (token != NULL && token[0] != '\0') {
		for (const char *t = token; *t != '\0'; t++) {
			if (*t <= ' ' || *t >= 0x7f) {
				snprintf(err, errlen, "the resume token is "
				    "not header-safe");
				return (-1);
			}
		}
		n = snprintf(out, cap, "X-Medusa-Resume: 1\r\n"
		    "X-Medusa-Resume-Token: %s\r\n", token);
	} else {
		n = snprintf(out, cap, "X-Medusa-Resume: 1\r\n");
	}
	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "the resume token is too long");
		return (-1);
	}
	return (0);
}

unsigned
resume_backoff_ms(unsigned attempt, uint32_t rnd)
{
	unsigned base;

	if (attempt == 0)
		return (0);
	base = attempt >= 6 ? RESUME_BACKOFF_CAP_MS :
	    100u << (attempt - 1);
	if (base > RESUME_BACKOFF_CAP_MS)
		base = RESUME_BACKOFF_CAP_MS;
	/* In [base/2, base]: many ends lost at once spread out. */
	return (base / 2 + rnd % (base / 2 + 1));
}
