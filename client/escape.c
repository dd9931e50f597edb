/*
 * escape.c: mlogin's escape state machine; see escape.h.
 */
#include "escape.h"

void
escape_init(struct escape *e, int ch)
{
	e->e_char = ch;
	e->e_bol = true;
	e->e_seen = false;
}

size_t
escape_feed(struct escape *e, const uint8_t *in, size_t n, uint8_t *out,
    size_t *outn, enum escape_action *act)
{
	size_t i, o = 0;

	*act = ESCAPE_NONE;
	for (i = 0; i < n && *act == ESCAPE_NONE; i++) {
		uint8_t ch = in[i];

		if (e->e_char < 0) {
			out[o++] = ch;
			continue;
		}
		if (e->e_seen) {
			e->e_seen = false;
			switch (ch) {
			case '.':
				*act = ESCAPE_END;
				continue;
			case '?':
				*act = ESCAPE_HELP;
				e->e_bol = true;
				continue;
			case 'i':
				*act = ESCAPE_INFO;
				e->e_bol = true;
				continue;
			case 0x1a:	/* ^Z */
				*act = ESCAPE_SUSPEND;
				e->e_bol = true;
				continue;
			default:
				break;
			}
			if (ch != (uint8_t)e->e_char)
				out[o++] = (uint8_t)e->e_char;
			out[o++] = ch;
			e->e_bol = ch == '\r' || ch == '\n';
			continue;
		}
		if (e->e_bol && ch == (uint8_t)e->e_char) {
			e->e_seen = true;
			continue;
		}
		e->e_bol = ch == '\r' || ch == '\n';
		out[o++] = ch;
	}
	*outn = o;
	return (i);
}
