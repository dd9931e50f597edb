/*
 * start.h: what the client's "start" asks the agent to run.  Pure: a
 * function of the message (and of whether a program can be run here), so
 * the tables of tests/unit/test_start.c cover it.
 *
 * Fields (PROTOCOL.md section 4), each optional: "command" (default
 * /bin/bash --norc, and then "arguments" are ignored), "arguments" (an
 * array of strings), "cwd", "term" (default xterm), "columns" and "lines"
 * (1..10000, default 80x25; a bad size is taken as the default and
 * flagged), "pty" (ours: false for pipes), "stderr" (ours: the client can
 * take standard error apart).  A field of the wrong type is an error.
 *
 * ctrun: the original mlogin always asks for its command wrapped in
 * SmartOS's process-contract tool, /usr/bin/ctrun -i core -l child
 * /bin/bash --norc (or ... /bin/bash -c CMD).  Where the command is a
 * ctrun that cannot be run here, the agent runs what follows ctrun's
 * options instead: -i, -l, -o, -f, -r, -F and -A take an argument (in the
 * same word or the next), -t and -v none, "--" ends them.
 */
#ifndef MEDUSA_START_H
#define MEDUSA_START_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define	START_SIZE_MAX	10000

struct start_plan {
	const char	*sp_path;	/* the program to run */
	char		**sp_argv;	/* its argv, NULL-terminated (malloc'd;
					   the strings are the message's) */
	const char	*sp_cwd;	/* NULL: the agent's */
	const char	*sp_term;
	int		sp_cols;
	int		sp_lines;
	bool		sp_pty;
	bool		sp_stderr;	/* the client takes stderr apart */
	bool		sp_bad_size;	/* a size was bad: 80x25 used */
	bool		sp_ctrun;	/* a ctrun wrapper was taken off */
};

/* Can this program be run here (the agent: access(X_OK)). */
typedef bool start_can_run_f(const char *path);

/*
 * Read a start message (o stays the caller's and must outlive the plan).
 * 0, or -1 with a message for the client in err.
 */
int start_parse(const json_t *o, start_can_run_f *can_run,
    struct start_plan *plan, char *err, size_t errlen);
void start_plan_free(struct start_plan *);
/*
 * The index in argv[0..argc) of the command a ctrun command line runs
 * (argv[0] is ctrun itself), or -1 with the reason in err.
 */
int start_ctrun_command(char *const *argv, int argc, char *err,
    size_t errlen);

#endif
