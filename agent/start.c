/*
 * start.c: the client's "start" message; see start.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "start.h"

/* An integer field in 1..START_SIZE_MAX, or dflt if absent; -1 if bad. */
static int
start_size(const json_t *o, const char *key, int dflt)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return (dflt);
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > START_SIZE_MAX)
		return (-1);
	return ((int)json_integer_value(v));
}

static const char *
start_str(const json_t *o, const char *key, const char *dflt, bool *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return (dflt);
	if (!json_is_string(v)) {
		*bad = true;
		return (dflt);
	}
	return (json_string_value(v));
}

static bool
start_bool(const json_t *o, const char *key, bool dflt, bool *bad)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return (dflt);
	if (!json_is_boolean(v)) {
		*bad = true;
		return (dflt);
	}
	return (json_is_true(v));
}

int
start_ctrun_command(char *const *argv, int argc, char *err, size_t errlen)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		for (const char *p = a + 1; *p != '\0'; p++) {
			if (strchr("tv", *p) != NULL)
				continue;
			if (strchr("ilofrFA", *p) == NULL) {
				snprintf(err, errlen, "ctrun: unknown option "
				    "-%c", *p);
				return (-1);
			}
			if (p[1] == '\0') {
				if (i + 1 >= argc) {
					snprintf(err, errlen, "ctrun: option -%c "
					    "needs an argument", *p);
					return (-1);
				}
				i++;
			}
			break;	/* the rest of the word is the argument */
		}
	}
	if (i >= argc) {
		snprintf(err, errlen, "ctrun: no command to run");
		return (-1);
	}
	return (i);
}

static bool
start_is_ctrun(const char *path)
{
	const char *b = strrchr(path, '/');

	return (strcmp(b != NULL ? b + 1 : path, "ctrun") == 0);
}

int
start_parse(const json_t *o, start_can_run_f *can_run,
    struct start_plan *sp, char *err, size_t errlen)
{
	const json_t *args, *e;
	const char *cmd;
	bool bad = false;
	size_t i, nargs;
	int cols, lines;

	memset(sp, 0, sizeof (*sp));
	cmd = start_str(o, "command", NULL, &bad);
	sp->sp_cwd = start_str(o, "cwd", NULL, &bad);
	sp->sp_term = start_str(o, "term", "xterm", &bad);
	sp->sp_pty = start_bool(o, "pty", true, &bad);
	sp->sp_stderr = start_bool(o, "stderr", false, &bad);
	args = json_object_get(o, "arguments");
	if (args != NULL && !json_is_array(args) && !json_is_null(args))
		bad = true;
	if (bad) {
		snprintf(err, errlen, "malformed start message");
		return (-1);
	}
	cols = start_size(o, "columns", 80);
	lines = start_size(o, "lines", 25);
	if (cols < 0 || lines < 0) {
		sp->sp_bad_size = true;
		cols = 80;
		lines = 25;
	}
	sp->sp_cols = cols;
	sp->sp_lines = lines;

	nargs = cmd != NULL && json_is_array(args) ? json_array_size(args) : 0;
	if ((sp->sp_argv = calloc(nargs + 3, sizeof (char *))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (cmd == NULL) {
		/* The default: bash without rc files. */
		sp->sp_path = "/bin/bash";
		sp->sp_argv[0] = (char *)"/bin/bash";
		sp->sp_argv[1] = (char *)"--norc";
		return (0);
	}
	sp->sp_argv[0] = (char *)cmd;
	for (i = 0; i < nargs; i++) {
		e = json_array_get(args, i);
		if (!json_is_string(e)) {
			start_plan_free(sp);
			snprintf(err, errlen, "arguments must be strings");
			return (-1);
		}
		sp->sp_argv[1 + i] = (char *)json_string_value(e);
	}
	sp->sp_path = cmd;
	if (start_is_ctrun(cmd) && !can_run(cmd)) {
		int at = start_ctrun_command(sp->sp_argv, (int)nargs + 1, err,
		    errlen);

		if (at < 0) {
			start_plan_free(sp);
			return (-1);
		}
		memmove(sp->sp_argv, sp->sp_argv + at, (nargs + 2 - (size_t)at) *
		    sizeof (char *));
		sp->sp_path = sp->sp_argv[0];
		sp->sp_ctrun = true;
	}
	return (0);
}

void
start_plan_free(struct start_plan *sp)
{
	free(sp->sp_argv);
	sp->sp_argv = NULL;
}
