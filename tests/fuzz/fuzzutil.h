/*
 * fuzzutil.h: the little the libFuzzer harnesses share.
 *
 * FUZZ_CHECK() states an invariant; when it does not hold the harness
 * prints which one and aborts, and libFuzzer records the input as a crash
 * (as it does for anything ASan or UBSan reports).
 */
#ifndef MEDUSA_FUZZUTIL_H
#define MEDUSA_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static inline void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

#define	FUZZ_CHECK(cond)						\
	do {								\
		if (!(cond))						\
			fuzz_fail(__FILE__, __LINE__, #cond);		\
	} while (0)

/* 1 if p[0..n) lies inside base[0..len); an empty span may be anywhere. */
static inline int
fuzz_within(const void *p, size_t n, const void *base, size_t len)
{
	const char *s = p, *b = base;

	if (n == 0)
		return (1);
	return (s != NULL && s >= b && n <= len && s - b <= (ptrdiff_t)(len - n));
}

/* Byte equality of two spans; never hands memcmp() a NULL pointer. */
static inline int
fuzz_span_eq(const void *a, size_t an, const void *b, size_t bn)
{
	return (an == bn && (an == 0 || memcmp(a, b, an) == 0));
}

/* A copy of p[0..n) in a block of exactly n bytes, so ASan sees overreads. */
static inline uint8_t *
fuzz_dup(const void *p, size_t n)
{
	uint8_t *q = malloc(n);	/* ASan: malloc(0) is a real, empty block */

	if (q == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return (q);
}

#endif
