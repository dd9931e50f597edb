/*
 * buf.h: a growable byte buffer with a read offset.
 *
 * The live bytes are data[off, off + len).  Appending compacts or grows the
 * allocation; consuming moves off forward.  A buffer that becomes empty
 * releases its memory, so an idle connection holds no buffer at all.  The
 * callers bound how far a buffer may grow; buf itself only fails on ENOMEM.
 */
#ifndef MEDUSA_BUF_H
#define MEDUSA_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*b_data;
	size_t	b_off;
	size_t	b_len;
	size_t	b_cap;
};

#define	BUF_INIT	{ NULL, 0, 0, 0 }

/* Make room for at least n more bytes after the live bytes. 0 or -1. */
int buf_reserve(struct buf *, size_t n);
/* Append n bytes. 0, or -1 on ENOMEM (the buffer is unchanged). */
int buf_append(struct buf *, const void *, size_t n);
/* The live bytes, and the free space after them. */
static inline uint8_t *buf_head(const struct buf *b) { return (b->b_data + b->b_off); }
static inline uint8_t *buf_tail(const struct buf *b) { return (b->b_data + b->b_off + b->b_len); }
static inline size_t buf_avail(const struct buf *b) { return (b->b_cap - b->b_off - b->b_len); }
/* Record n bytes written into the free space at buf_tail(). */
void buf_commit(struct buf *, size_t n);
/* Drop n bytes from the front; frees the memory when the buffer empties. */
void buf_consume(struct buf *, size_t n);
void buf_free(struct buf *);

#endif
