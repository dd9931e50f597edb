/*
 * buf.c: growable byte buffer; see buf.h.
 */
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#include "buf.h"

int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *nd;

	if (b->b_cap - b->b_off - b->b_len >= n)
		return (0);
	/* Slide the live bytes to the front if that makes enough room. */
	if (b->b_off > 0 && b->b_cap - b->b_len >= n &&
	    b->b_off >= b->b_len) {
		memmove(b->b_data, b->b_data + b->b_off, b->b_len);
		b->b_off = 0;
		return (0);
	}
	if (b->b_len > SIZE_MAX - n)
		return (-1);
	need = b->b_len + n;
	ncap = b->b_cap < 256 ? 256 : b->b_cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((nd = malloc(ncap)) == NULL)
		return (-1);
	if (b->b_len > 0)
		memcpy(nd, b->b_data + b->b_off, b->b_len);
	free(b->b_data);
	b->b_data = nd;
	b->b_off = 0;
	b->b_cap = ncap;
	return (0);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return (0);
	if (buf_reserve(b, n) != 0)
		return (-1);
	memcpy(b->b_data + b->b_off + b->b_len, p, n);
	b->b_len += n;
	return (0);
}

void
buf_commit(struct buf *b, size_t n)
{
	assert(n <= buf_avail(b));
	b->b_len += n;
}

void
buf_consume(struct buf *b, size_t n)
{
	assert(n <= b->b_len);
	b->b_off += n;
	b->b_len -= n;
	if (b->b_len == 0)
		buf_free(b);
}

void
buf_free(struct buf *b)
{
	free(b->b_data);
	b->b_data = NULL;
	b->b_off = b->b_len = b->b_cap = 0;
}
