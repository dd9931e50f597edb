/*
 * utf8.h: incremental UTF-8 validation (RFC 3629), for WebSocket text
 * messages that may arrive split across frames at any byte.
 *
 * The state is a small integer: UTF8_ACCEPT between whole characters,
 * UTF8_REJECT once invalid (sticky), anything else inside a character.
 * Overlong forms, surrogates (U+D800..U+DFFF) and code points above
 * U+10FFFF are rejected.  A state that utf8_feed() could not have
 * returned is taken as UTF8_REJECT.
 */
#ifndef MEDUSA_UTF8_H
#define MEDUSA_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define	UTF8_ACCEPT	0u
#define	UTF8_REJECT	0xffu

/* Feed n bytes; returns the new state. */
uint32_t utf8_feed(uint32_t state, const uint8_t *p, size_t n);
/* 1 if p[0..n) is complete, valid UTF-8; else 0. */
int utf8_valid(const uint8_t *p, size_t n);

#endif
