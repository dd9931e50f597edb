/*
 * resume.c: the sequenced end-to-end stream of a resumable session; see
 * resume.h for who holds what.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "mlproto.h"
#include "resume.h"

#ifndef MADV_POPULATE_WRITE
#define	MADV_POPULATE_WRITE	23	/* Linux 5.14; older kernels: EINVAL */
#endif

void
resume_init(struct resume *r, size_t window)
{
	memset(r, 0, sizeof (*r));
	r->window = window == 0 ? RESUME_DEFAULT_WINDOW : window;
}

static void
resume_trim(struct resume *r, uint64_t n)
{
	while (r->ecount > 0 && r->sent - r->ecount + 1 <= n) {
		r->bytes -= r->ents[r->efirst].len;
		r->efirst = (r->efirst + 1) % r->ecap;
		r->ecount--;
	}
	if (r->ecount == 0)
		r->wr = 0;
	if (n > r->trimmed)
		r->trimmed = n;
}

/*
 * The ring: its own mapping (page-aligned, so that its pages can be made
 * in bulk, and given back whole), cap a multiple of the page size, and a
 * page after it that cannot be touched: the ends read() straight into the
 * ring, and a read longer than its reservation must fault rather than
 * overwrite (the sanitizers do not watch a mapping of our own).
 */
static size_t
resume_page(void)
{
	static size_t pg;

	if (pg == 0)
		pg = (size_t)getpagesize();
	return (pg);
}

static uint8_t *
resume_ring_map(size_t cap)
{
	uint8_t *p = mmap(NULL, cap + resume_page(), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return (NULL);
	if (mprotect(p + cap, resume_page(), PROT_NONE) != 0) {
		(void) munmap(p, cap + resume_page());
		return (NULL);
	}
	return (p);
}

static void
resume_ring_unmap(uint8_t *ring, size_t cap)
{
	if (ring != NULL)
		(void) munmap(ring, cap + resume_page());
}

/*
 * Make the pages of ring[*made, end) (rounded up to RESUME_POPULATE) in
 * one call, before the first write to them: on our virtual machine the
 * first write to 6 MiB took 18 ms in page faults, 9 ms after such a call
 * (the call 1 ms; the rest is the hypervisor's).  Pages are made only as
 * the write point first reaches them, so a session that never streams
 * holds only the ring's first chunk.  A kernel without
 * MADV_POPULATE_WRITE (before 5.14) fails the call: its pages then fault
 * in one by one, as they would have.
 */
static void
resume_populate(uint8_t *ring, size_t cap, size_t *made, size_t end)
{
	size_t to;

	if (end <= *made)
		return;
	to = (end + RESUME_POPULATE - 1) / RESUME_POPULATE * RESUME_POPULATE;
	if (to > cap)
		to = cap;
	(void) madvise(ring + *made, to - *made, MADV_POPULATE_WRITE);
	*made = to;
}

void
resume_fini(struct resume *r)
{
	resume_trim(r, UINT64_MAX);
	resume_ring_unmap(r->ring, r->rcap);
	free(r->ents);
	r->ring = NULL;
	r->ents = NULL;
	r->rcap = r->ecap = r->efirst = r->ecount = r->wr = r->made = 0;
	r->rsv = false;
	r->phase = RESUME_OFF;
}

/* Room for one more entry. */
static int
resume_ents_room(struct resume *r)
{
	struct resume_ent *ne;
	size_t ncap;

	if (r->ecount < r->ecap)
		return (0);
	ncap = r->ecap == 0 ? 64 : r->ecap * 2;
	if ((ne = malloc(ncap * sizeof (*ne))) == NULL)
		return (-1);
	for (size_t i = 0; i < r->ecount; i++)
		ne[i] = r->ents[(r->efirst + i) % r->ecap];
	free(r->ents);
	r->ents = ne;
	r->ecap = ncap;
	r->efirst = 0;
	return (0);
}

/* A ring of at least cap bytes, the live messages first, in order. */
static int
resume_ring_grow(struct resume *r, size_t cap)
{
	size_t pg = resume_page(), at = 0, made = 0;
	uint8_t *nr;

	cap = (cap + pg - 1) / pg * pg;
	if ((nr = resume_ring_map(cap)) == NULL)
		return (-1);
	resume_populate(nr, cap, &made, r->bytes);
	for (size_t i = 0; i < r->ecount; i++) {
		struct resume_ent *e = &r->ents[(r->efirst + i) % r->ecap];

		if (e->len > 0)
			memcpy(nr + at, r->ring + e->off, e->len);
		e->off = at;
		at += e->len;
	}
	resume_ring_unmap(r->ring, r->rcap);
	r->ring = nr;
	r->rcap = cap;
	r->made = made;
	r->wr = at;
	return (0);
}

/*
 * Where n bytes go, whole.  The live bytes are [head, wr) or, once
 * wrapped, [head, end) and [0, wr) with wr < head (kept strictly below:
 * wr == head would be ambiguous).
 */
static int
resume_place(struct resume *r, size_t n, size_t *off)
{
	size_t head = r->ecount > 0 ? r->ents[r->efirst].off : r->wr;

	if (r->ring != NULL) {
		if (r->wr >= head && r->rcap - r->wr >= n) {
			*off = r->wr;
			return (0);
		}
		if (r->wr >= head && n < head) {
			*off = 0;
			return (0);
		}
		if (r->wr < head && n < head - r->wr) {
			*off = r->wr;
			return (0);
		}
	}
	/* First use, or no room: the window and its slack, or more. */
	{
		size_t cap = r->window + RESUME_RING_SLACK;

		if (cap < r->rcap * 2)
			cap = r->rcap * 2;
		if (cap < r->bytes + n + r->window / 2)
			cap = r->bytes + n + r->window / 2;
		if (resume_ring_grow(r, cap) != 0)
			return (-1);
	}
	*off = r->wr;
	return (0);
}

int
resume_linkup(struct resume *r, bool resume, const char *link)
{
	if (link != NULL && strlen(link) <= RESUME_LINK_MAX)
		(void) snprintf(r->link, sizeof (r->link), "%s", link);
	else
		r->link[0] = '\0';
	r->link_resumed = false;
	if (r->phase == RESUME_OFF) {
		if (resume) {
			r->phase = RESUME_LIVE;
			r->announce = true;
		}
		return (0);
	}
	r->phase = RESUME_AWAIT;
	return (1);
}

bool
resume_full(const struct resume *r)
{
	return (r->phase != RESUME_OFF && (r->bytes >= r->window ||
	    r->ecount >= RESUME_MAX_MSGS));
}

bool
resume_holding(const struct resume *r)
{
	return (r->phase == RESUME_AWAIT);
}

/* Room for n bytes, whole, at *off: entry and ring (made), or -1. */
static int
resume_room(struct resume *r, size_t n, size_t *off)
{
	if (resume_ents_room(r) != 0 || resume_place(r, n, off) != 0)
		return (-1);
	resume_populate(r->ring, r->rcap, &r->made, *off + n);
	return (0);
}

/* Keep the message of n bytes now at ring[off]. */
static void
resume_keep(struct resume *r, bool text, size_t off, size_t n)
{
	struct resume_ent *e = &r->ents[(r->efirst + r->ecount) % r->ecap];

	e->off = off;
	e->len = n;
	e->text = text;
	r->ecount++;
	r->wr = off + n;
	r->sent++;
	r->bytes += n;
}

uint8_t *
resume_reserve(struct resume *r, size_t max)
{
	size_t off;

	r->rsv = false;
	if (r->phase == RESUME_OFF || max == 0 ||
	    resume_room(r, max, &off) != 0)
		return (NULL);
	r->rsv = true;
	r->rsv_off = off;
	r->rsv_max = max;
	return (r->ring + off);
}

int
resume_sent(struct resume *r, bool text, const uint8_t *p, size_t n,
    char *err, size_t errlen)
{
	size_t off;
	bool rsv = r->rsv;

	r->rsv = false;
	if (r->phase == RESUME_OFF)
		return (0);
	if (rsv && n <= r->rsv_max && p == r->ring + r->rsv_off) {
		/* Read straight into the ring (resume_reserve): no copy. */
		resume_keep(r, text, r->rsv_off, n);
		return (0);
	}
	/*
	 * Any other pointer into the ring is a caller's bug (a reservation
	 * made void, or overrun): the copy below could regrow the ring under
	 * it, or place the message over it.
	 */
	if (r->ring != NULL && (uintptr_t)p >= (uintptr_t)r->ring &&
	    (uintptr_t)p < (uintptr_t)r->ring + r->rcap)
		abort();
	if (resume_room(r, n, &off) != 0) {
		snprintf(err, errlen, "out of memory for the replay buffer");
		return (-1);
	}
	if (n > 0)
		memmove(r->ring + off, p, n);
	resume_keep(r, text, off, n);
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
	size_t every = r->peer_window / RESUME_ACK_PART;

	if (every < RESUME_ACK_BYTES)
		every = RESUME_ACK_BYTES;

	if (r->phase != RESUME_LIVE)
		return (false);
	if (r->announce)
		return (true);
	if (r->recv == r->acked)
		return (false);
	return (r->recv_bytes >= every ||
	    r->recv - r->acked >= RESUME_MAX_MSGS / 4 ||
	    now_ms >= r->ack_at + RESUME_ACK_MS);
}

static char *
resume_msg(struct resume *r, const char *type, uint64_t now_ms)
{
	json_t *o = json_pack("{s:s,s:I,s:I}", "type", type, "recv",
	    (json_int_t)r->recv, "window", (json_int_t)r->window);

	if (o == NULL)
		return (NULL);
	/* A resume names the link it answers (an ack needs none). */
	if (strcmp(type, "resume") == 0 && r->link[0] != '\0' &&
	    json_object_set_new(o, "link", json_string(r->link)) != 0) {
		json_decref(o);
		return (NULL);
	}
	r->announce = false;
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
resume_classify(const json_t *o, const char *type, uint64_t *n,
    size_t *window, const char **link)
{
	enum resume_ctl c;
	json_t *v;
	json_int_t w;

	*link = NULL;
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
	/* Optional (main's peers send none); out of bounds: as none. */
	v = json_object_get(o, "window");
	w = json_is_integer(v) ? json_integer_value(v) : 0;
	*window = w >= RESUME_MIN_WINDOW && w <= RESUME_MAX_WINDOW ?
	    (size_t)w : 0;
	/* Optional too (a peer before session 24 names none; "": none). */
	*link = json_string_value(json_object_get(o, "link"));
	if (*link != NULL && (*link)[0] == '\0')
		*link = NULL;
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
resume_on_resume(struct resume *r, uint64_t n, const char *link,
    char *err, size_t errlen)
{
	/*
	 * Only the answer to our latest linkup, once: the peer sends one
	 * resume per linkup it sees, and may have seen one more than we did
	 * (a link whose other side was already gone).  Its resume of that
	 * link, or a second of ours, would replay again what this one
	 * replays.  Either side naming no link: as before links were named.
	 */
	if (link != NULL && r->link[0] != '\0' &&
	    (strcmp(link, r->link) != 0 || r->link_resumed))
		return (1);
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
	r->link_resumed = true;
	return (0);
}

int
resume_on_ctl(struct resume *r, enum resume_ctl ctl, uint64_t n,
    size_t window, const char *link, char *err, size_t errlen)
{
	if (window != 0 && (ctl == RESUME_CTL_ACK || ctl == RESUME_CTL_RESUME))
		r->peer_window = window;
	switch (ctl) {
	case RESUME_CTL_ACK:
		return (resume_on_ack(r, n, err, errlen));
	case RESUME_CTL_RESUME:
		return (resume_on_resume(r, n, link, err, errlen));
	default:
		snprintf(err, errlen, "the peer sent a malformed ack or resume");
		return (-1);
	}
}

const uint8_t *
resume_replay_next(const struct resume *r, size_t *k, bool *text,
    size_t *len, uint64_t *seq)
{
	const struct resume_ent *e;

	if (*k >= r->ecount)
		return (NULL);
	e = &r->ents[(r->efirst + *k) % r->ecap];
	if (seq != NULL)
		*seq = r->sent - r->ecount + 1 + *k;
	(*k)++;
	*text = e->text;
	*len = e->len;
	return (r->ring + e->off);
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
