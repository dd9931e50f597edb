/*
 * term.h: mlogin's terminal: raw mode and its restoration, the window's
 * size, status lines, and the screen modes to undo after an abnormal end.
 *
 * Two raw modes: while connecting and waiting for the agent, keys are read
 * one by one without echo (so an escape typed then is seen, and nothing
 * typed is drawn over the spinner) but ^C still interrupts and output
 * still turns "\n" into "\r\n"; once the command runs, everything goes to
 * it (cfmakeraw).  term_restore() puts back the modes found at start, on
 * every way out.
 *
 * Status lines go to standard error and always start on a line of their
 * own: term_output() remembers whether the last byte shown ended a line.
 *
 * term_reset_screen(): when the session ends abnormally in the middle of
 * a full-screen program, the program never undoes what it set; this sends
 * what undoes the modes programs commonly set (alternate screen, hidden
 * cursor, mouse reporting, bracketed paste, focus events, application
 * keypad and cursor keys, character attributes).
 */
#ifndef MEDUSA_TERM_H
#define MEDUSA_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

struct term {
	bool		t_in_tty;	/* standard input is a terminal */
	bool		t_out_tty;	/* standard output is one */
	bool		t_err_tty;	/* standard error is one */
	bool		t_raw;		/* in a raw mode now */
	bool		t_full;		/* ... and it is the full one */
	bool		t_at_bol;	/* the last byte shown ended a line */
	struct termios	t_saved;
};

/* The sequence term_reset_screen() writes. */
extern const char term_reset_seq[];

void term_init(struct term *);
/* Raw mode: full (the command runs) or not (waiting, ^C works). */
void term_raw(struct term *, bool full);
void term_restore(struct term *);
void term_reset_screen(struct term *);
/* The window's size, 80x24 if unknown. */
void term_size(int *cols, int *lines);
/* A status line on standard error, on a line of its own. */
void term_say(struct term *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes on standard error as they are (the spinner). */
void term_put(struct term *, const char *s, size_t n);
/* Write all of p to standard output (waiting while it is full). */
void term_output(struct term *, const uint8_t *p, size_t n);
/* Write all of p to standard error. */
void term_errput(struct term *, const uint8_t *p, size_t n);

#endif
