/*
 * term.c: mlogin's terminal; see term.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "term.h"

/*
 * Leave the alternate screen (1049, and the older 47 and 1047), show the
 * cursor (25), mouse reporting off (9, 1000-1003, 1005, 1006, 1015),
 * focus events off (1004), bracketed paste off (2004), normal cursor keys
 * (1) and keypad (ESC >), plain characters (SGR 0).
 */
const char term_reset_seq[] =
    "\033[?1049l\033[?1047l\033[?47l"
    "\033[?25h"
    "\033[?9l\033[?1000l\033[?1001l\033[?1002l\033[?1003l"
    "\033[?1005l\033[?1006l\033[?1015l"
    "\033[?1004l\033[?2004l"
    "\033[?1l\033>"
    "\033[0m";

void
term_init(struct term *t)
{
	memset(t, 0, sizeof (*t));
	t->t_in_tty = isatty(STDIN_FILENO) != 0;
	t->t_out_tty = isatty(STDOUT_FILENO) != 0;
	t->t_err_tty = isatty(STDERR_FILENO) != 0;
	t->t_at_bol = true;
}

void
term_raw(struct term *t, bool full)
{
	struct termios r;

	if (!t->t_in_tty || (t->t_raw && t->t_full == full))
		return;
	if (!t->t_raw && tcgetattr(STDIN_FILENO, &t->t_saved) != 0)
		return;
	r = t->t_saved;
	cfmakeraw(&r);
	if (!full) {
		/*
		 * ^C and ^\ still interrupt; ^Z does not stop us with the
		 * terminal in this mode (~^Z does, restoring it first).
		 */
		r.c_lflag |= ISIG;
		r.c_cc[VSUSP] = _POSIX_VDISABLE;
		r.c_oflag |= OPOST;
	}
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &r) == 0) {
		t->t_raw = true;
		t->t_full = full;
	}
}

void
term_restore(struct term *t)
{
	if (t->t_raw) {
		(void) tcsetattr(STDIN_FILENO, TCSADRAIN, &t->t_saved);
		t->t_raw = t->t_full = false;
	}
}

static void
term_write(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = { fd, POLLOUT, 0 };

			(void) poll(&pfd, 1, 1000);
		} else {
			return;		/* gone; the session goes on */
		}
	}
}

void
term_reset_screen(struct term *t)
{
	if (!t->t_out_tty)
		return;
	term_write(STDOUT_FILENO, term_reset_seq, sizeof (term_reset_seq) - 1);
}

void
term_size(int *cols, int *lines)
{
	struct winsize w;

	*cols = 80;
	*lines = 24;
	if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 ||
	    ioctl(STDIN_FILENO, TIOCGWINSZ, &w) == 0) &&
	    w.ws_col > 0 && w.ws_row > 0) {
		*cols = w.ws_col;
		*lines = w.ws_row;
	}
}

void
term_say(struct term *t, const char *fmt, ...)
{
	char buf[1200];
	size_t o = 0;
	va_list ap;
	int n;

	/*
	 * Not after what is on the line: on one of its own.  Fully raw,
	 * a line needs its CR; else the terminal adds it (OPOST).
	 */
	if (!t->t_at_bol && (t->t_err_tty || t->t_out_tty)) {
		if (t->t_full)
			buf[o++] = '\r';
		buf[o++] = '\n';
	}
	va_start(ap, fmt);
	n = vsnprintf(buf + o, sizeof (buf) - o - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o += (size_t)n < sizeof (buf) - o - 2 ? (size_t)n :
	    sizeof (buf) - o - 3;
	if (t->t_full)
		buf[o++] = '\r';
	buf[o++] = '\n';
	term_write(STDERR_FILENO, buf, o);
	t->t_at_bol = true;
}

void
term_put(struct term *t, const char *s, size_t n)
{
	term_write(STDERR_FILENO, s, n);
	if (n > 0)
		t->t_at_bol = s[n - 1] == '\n';
}

void
term_output(struct term *t, const uint8_t *p, size_t n)
{
	term_write(STDOUT_FILENO, p, n);
	if (n > 0)
		t->t_at_bol = p[n - 1] == '\n';
}

void
term_errput(struct term *t, const uint8_t *p, size_t n)
{
	term_write(STDERR_FILENO, p, n);
	if (n > 0)
		t->t_at_bol = p[n - 1] == '\n';
}
