/*
 * utf8.c: incremental UTF-8 validator; see utf8.h.
 *
 * Inside a character the state holds, in bits 0-1, how many continuation
 * bytes are still due, and in bits 4-6 the range the *next* one must fall
 * in.  Only the first continuation byte of some lead bytes is restricted
 * (that is what excludes overlongs, surrogates and values past U+10FFFF):
 *
 *	lead	first continuation
 *	E0	A0..BF	(no overlong 3-byte forms)
 *	ED	80..9F	(no surrogates)
 *	F0	90..BF	(no overlong 4-byte forms)
 *	F4	80..8F	(nothing above U+10FFFF)
 *	other	80..BF
 */
#include <string.h>

#include "utf8.h"

enum { R_ANY = 0, R_A0BF = 1, R_809F = 2, R_90BF = 3, R_808F = 4 };

static const uint8_t utf8_lo[] = { 0x80, 0xa0, 0x80, 0x90, 0x80 };
static const uint8_t utf8_hi[] = { 0xbf, 0xbf, 0x9f, 0xbf, 0x8f };

#define	ST(rem, range)	((uint32_t)(rem) | ((uint32_t)(range) << 4))

/*
 * 1 if utf8_feed() can return st: ACCEPT, REJECT, or what a lead byte, or
 * a continuation after one, leaves: 7 of the 15 combinations of 1-3 bytes
 * due and 5 ranges.
 */
static int
utf8_state_ok(uint32_t st)
{
	switch (st) {
	case UTF8_ACCEPT:
	case UTF8_REJECT:
	case ST(1, R_ANY):	/* after C2..DF; 2 into E0..EF; 3 into F0..F4 */
	case ST(2, R_ANY):	/* after E1..EC, EE, EF; 2 into F0..F4 */
	case ST(2, R_A0BF):	/* after E0 */
	case ST(2, R_809F):	/* after ED */
	case ST(3, R_ANY):	/* after F1..F3 */
	case ST(3, R_90BF):	/* after F0 */
	case ST(3, R_808F):	/* after F4 */
		return (1);
	default:
		return (0);
	}
}

uint32_t
utf8_feed(uint32_t st, const uint8_t *p, size_t n)
{
	size_t i = 0;

	/*
	 * A state utf8_feed() never returns (one that came from elsewhere,
	 * such as a session handed over by another worker) is invalid input,
	 * not an index into the tables above.
	 */
	if (!utf8_state_ok(st))
		return (UTF8_REJECT);
	while (i < n) {
		uint8_t c = p[i];

		if (st == UTF8_REJECT)
			return (UTF8_REJECT);
		if (st == UTF8_ACCEPT) {
			/* Fast path: skip ASCII eight bytes at a time. */
			while (i + 8 <= n) {
				uint64_t w;
				memcpy(&w, p + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			if (i >= n)
				break;
			c = p[i++];
			if (c < 0x80)
				continue;
			if (c >= 0xc2 && c <= 0xdf)
				st = ST(1, R_ANY);
			else if (c == 0xe0)
				st = ST(2, R_A0BF);
			else if (c == 0xed)
				st = ST(2, R_809F);
			else if (c >= 0xe1 && c <= 0xef)
				st = ST(2, R_ANY);
			else if (c == 0xf0)
				st = ST(3, R_90BF);
			else if (c >= 0xf1 && c <= 0xf3)
				st = ST(3, R_ANY);
			else if (c == 0xf4)
				st = ST(3, R_808F);
			else
				return (UTF8_REJECT);
			continue;
		}
		{
			uint32_t rem = st & 0x3, range = (st >> 4) & 0x7;

			if (c < utf8_lo[range] || c > utf8_hi[range])
				return (UTF8_REJECT);
			i++;
			rem--;
			st = rem == 0 ? UTF8_ACCEPT : ST(rem, R_ANY);
		}
	}
	return (st);
}

int
utf8_valid(const uint8_t *p, size_t n)
{
	return (utf8_feed(UTF8_ACCEPT, p, n) == UTF8_ACCEPT);
}
