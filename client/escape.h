/*
 * escape.h: mlogin's escapes, a pure state machine (tested with tables in
 * tests/unit/test_escape.c).
 *
 * As in ssh, the escape character (default ~) is recognised only at the
 * start of a line, that is first of all and after CR or LF:
 *
 *	~.	end the session		~?	list the escapes
 *	~i	session information	~^Z	suspend mlogin
 *	~~	send one ~
 *
 * Any other character after it sends both.  escape_feed() copies the bytes
 * to send and stops after an escape that asks for an action, which the
 * caller carries out before feeding the rest.
 */
#ifndef MEDUSA_ESCAPE_H
#define MEDUSA_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum escape_action {
	ESCAPE_NONE = 0,
	ESCAPE_END,		/* ~. */
	ESCAPE_HELP,		/* ~? */
	ESCAPE_INFO,		/* ~i */
	ESCAPE_SUSPEND		/* ~^Z */
};

struct escape {
	int	e_char;		/* -1: escapes off */
	bool	e_bol;		/* at the start of a line */
	bool	e_seen;		/* the escape character, just now */
};

void escape_init(struct escape *, int ch);
/*
 * Feed in[0..n).  Bytes to send go to out (room for n + 1), their count
 * in *outn; *act is the action found, after which it stops.  Returns how
 * many bytes of in it consumed (n unless it stopped at an action).
 */
size_t escape_feed(struct escape *, const uint8_t *in, size_t n,
    uint8_t *out, size_t *outn, enum escape_action *act);

#endif
