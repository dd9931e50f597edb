/*
 * b64.h: base64 (RFC 4648 section 4) and the percent-encoding that
 * credentials use (RFC 3986, as JavaScript's encodeURIComponent with
 * !'()* escaped too, which is what node-manta signs).  Pure: no I/O, no
 * allocation, no globals.
 */
#ifndef MEDUSA_B64_H
#define MEDUSA_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes base64 takes for n bytes (with padding), without a NUL. */
#define	B64_ENCLEN(n)	((((n) + 2) / 3) * 4)
/* Bytes at most n characters of base64 decode to. */
#define	B64_DECLEN(n)	(((n) / 4) * 3 + 2)

/*
 * Encode src[0..n) into out (NUL-terminated); cap must be at least
 * B64_ENCLEN(n) + 1.  Returns the length, or -1 if cap is too small.
 */
int b64_encode(const uint8_t *src, size_t n, char *out, size_t cap);

/*
 * Decode src[0..n) strictly: only the standard alphabet, padding only at
 * the end and only where it belongs, no whitespace, no bits left over in
 * the last character, length a multiple of 4 (unpadded input is refused).
 * Returns the decoded length, or -1 (bad input, or more than cap bytes).
 */
int b64_decode(const char *src, size_t n, uint8_t *out, size_t cap);

/*
 * Percent-encode src[0..n) as encodeURIComponent() with "!'()*" escaped
 * too: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex).
 * Returns the length written (out NUL-terminated), or -1 if cap is too
 * small (3 * n + 1 always suffices).
 */
int b64_pct_encode(const char *src, size_t n, char *out, size_t cap);

/*
 * Decode %XX escapes (either case) of src[0..n); "+" stays "+" (a query
 * value of a presigned URL is percent-encoded, not form-encoded).  A "%"
 * not followed by two hex digits is an error.  Returns the length written
 * (out NUL-terminated), or -1.
 */
int b64_pct_decode(const char *src, size_t n, char *out, size_t cap);

#endif
