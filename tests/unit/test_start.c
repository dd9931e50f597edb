/*
 * test_start.c: what a start message asks the agent to run (agent/start.c),
 * ctrun included: tables of good and bad.
 */
#include <stdio.h>
#include <string.h>

#include "start.h"
#include "suites.h"

/* Nothing called ctrun can run here, unless its path says "real". */
static bool
can_run(const char *path)
{
	return (strstr(path, "real") != NULL);
}

static void
join(char *const *argv, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; argv[i] != NULL; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", i > 0 ? "|" : "",
		    argv[i]);
}

static const struct {
	const char	*json;
	const char	*path;
	const char	*argv;		/* joined by | */
	const char	*cwd, *term;
	int		cols, lines;
	bool		pty, stderr_apart, bad_size, ctrun;
} good[] = {
	/* Defaults. */
	{ "{}", "/bin/bash", "/bin/bash|--norc", NULL, "xterm", 80, 25, true,
	    false, false, false },
	/* Without a command the arguments are not used. */
	{ "{\"arguments\":[\"-x\"]}", "/bin/bash", "/bin/bash|--norc", NULL,
	    "xterm", 80, 25, true, false, false, false },
	/* Ours: what mlogin sends. */
	{ "{\"command\":\"/bin/bash\",\"arguments\":[\"-c\",\"ls\"],"
	    "\"term\":\"vt100\",\"columns\":132,\"lines\":43,\"pty\":false,"
	    "\"stderr\":true,\"cwd\":\"/tmp\"}", "/bin/bash",
	    "/bin/bash|-c|ls", "/tmp", "vt100", 132, 43, false, true, false,
	    false },
	/* The original mlogin: ctrun, no size (stdout not a terminal). */
	{ "{\"cwd\":\"/\",\"term\":\"xterm\",\"command\":\"/usr/bin/ctrun\","
	    "\"arguments\":[\"-i\",\"core\",\"-l\",\"child\",\"/bin/bash\","
	    "\"--norc\"]}", "/bin/bash", "/bin/bash|--norc", "/", "xterm", 80,
	    25, true, false, false, true },
	{ "{\"command\":\"/usr/bin/ctrun\",\"arguments\":[\"-i\",\"core\","
	    "\"-l\",\"child\",\"/bin/bash\",\"-c\",\"uname -a\"],"
	    "\"columns\":100,\"lines\":30}", "/bin/bash",
	    "/bin/bash|-c|uname -a", NULL, "xterm", 100, 30, true, false, false,
	    true },
	/* A ctrun that can run is run. */
	{ "{\"command\":\"/opt/real/ctrun\",\"arguments\":[\"-l\",\"child\","
	    "\"sh\"]}", "/opt/real/ctrun", "/opt/real/ctrun|-l|child|sh", NULL,
	    "xterm", 80, 25, true, false, false, false },
	/* Bad sizes fall back to 80x25, flagged. */
	{ "{\"columns\":0,\"lines\":5}", "/bin/bash", "/bin/bash|--norc", NULL,
	    "xterm", 80, 25, true, false, true, false },
	{ "{\"columns\":100000,\"lines\":5}", "/bin/bash", "/bin/bash|--norc",
	    NULL, "xterm", 80, 25, true, false, true, false },
	{ "{\"columns\":\"80\"}", "/bin/bash", "/bin/bash|--norc", NULL,
	    "xterm", 80, 25, true, false, true, false },
	/* Nulls are absent fields. */
	{ "{\"command\":null,\"cwd\":null,\"pty\":null,\"columns\":null}",
	    "/bin/bash", "/bin/bash|--norc", NULL, "xterm", 80, 25, true, false,
	    false, false },
	/* stderr apart only matters with pipes; start takes it as given. */
	{ "{\"stderr\":true}", "/bin/bash", "/bin/bash|--norc", NULL, "xterm",
	    80, 25, true, true, false, false },
};

START_TEST(test_good)
{
	json_t *o = json_loads(good[_i].json, 0, NULL);
	struct start_plan sp;
	char err[200] = "", argv[400];

	ck_assert_ptr_nonnull(o);
	ck_assert_msg(start_parse(o, can_run, &sp, err, sizeof (err)) == 0,
	    "%s: %s", good[_i].json, err);
	ck_assert_str_eq(sp.sp_path, good[_i].path);
	join(sp.sp_argv, argv, sizeof (argv));
	ck_assert_str_eq(argv, good[_i].argv);
	if (good[_i].cwd == NULL)
		ck_assert_ptr_null(sp.sp_cwd);
	else
		ck_assert_str_eq(sp.sp_cwd, good[_i].cwd);
	ck_assert_str_eq(sp.sp_term, good[_i].term);
	ck_assert_int_eq(sp.sp_cols, good[_i].cols);
	ck_assert_int_eq(sp.sp_lines, good[_i].lines);
	ck_assert_int_eq(sp.sp_pty, good[_i].pty);
	ck_assert_int_eq(sp.sp_stderr, good[_i].stderr_apart);
	ck_assert_int_eq(sp.sp_bad_size, good[_i].bad_size);
	ck_assert_int_eq(sp.sp_ctrun, good[_i].ctrun);
	start_plan_free(&sp);
	json_decref(o);
}
END_TEST

static const struct {
	const char	*json;
	const char	*why;
} bad[] = {
	{ "{\"command\":5}", "malformed start message" },
	{ "{\"cwd\":[]}", "malformed start message" },
	{ "{\"term\":1}", "malformed start message" },
	{ "{\"pty\":\"no\"}", "malformed start message" },
	{ "{\"stderr\":1}", "malformed start message" },
	{ "{\"arguments\":\"-c ls\"}", "malformed start message" },
	{ "{\"command\":\"/bin/sh\",\"arguments\":[\"-c\",5]}",
	    "arguments must be strings" },
	{ "{\"command\":\"/usr/bin/ctrun\",\"arguments\":[\"-i\",\"core\"]}",
	    "ctrun: no command to run" },
	{ "{\"command\":\"/usr/bin/ctrun\",\"arguments\":[\"-x\",\"sh\"]}",
	    "ctrun: unknown option -x" },
	{ "{\"command\":\"ctrun\",\"arguments\":[\"-l\"]}",
	    "ctrun: option -l needs an argument" },
};

START_TEST(test_bad)
{
	json_t *o = json_loads(bad[_i].json, 0, NULL);
	struct start_plan sp;
	char err[200] = "";

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(start_parse(o, can_run, &sp, err, sizeof (err)), -1);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "%s: %s", bad[_i].json,
	    err);
	ck_assert_ptr_null(sp.sp_argv);
	json_decref(o);
}
END_TEST

/* ctrun's command lines: the index of the command, or -1. */
static const struct {
	const char	*argv[10];
	int		at;
} ctruns[] = {
	{ { "ctrun", "-i", "core", "-l", "child", "/bin/bash", "--norc" }, 5 },
	{ { "ctrun", "-icore", "-lchild", "sh" }, 3 },
	{ { "ctrun", "-o", "noorphan", "-f", "hwerr", "sh", "-i" }, 5 },
	{ { "ctrun", "-r", "3", "-t", "-v", "sh" }, 5 },
	{ { "ctrun", "-tv", "-F", "svc:/x", "-A", "aux", "sh" }, 6 },
	{ { "ctrun", "--", "-weird" }, 2 },
	{ { "ctrun", "sh", "-l", "x" }, 1 },
	{ { "ctrun", "-", "x" }, 1 },		/* "-" is a word, not options */
	{ { "ctrun" }, -1 },
	{ { "ctrun", "-i" }, -1 },
	{ { "ctrun", "-i", "core" }, -1 },
	{ { "ctrun", "--" }, -1 },
	{ { "ctrun", "-z", "sh" }, -1 },
	{ { "ctrun", "-tz", "sh" }, -1 },
};

START_TEST(test_ctrun)
{
	char err[100] = "";
	int argc = 0;

	while (ctruns[_i].argv[argc] != NULL)
		argc++;
	ck_assert_int_eq(start_ctrun_command((char *const *)ctruns[_i].argv,
	    argc, err, sizeof (err)), ctruns[_i].at);
	if (ctruns[_i].at < 0)
		ck_assert(strncmp(err, "ctrun: ", 7) == 0);
}
END_TEST

Suite *
start_suite(void)
{
	Suite *s = suite_create("start");
	TCase *tc = tcase_create("start");

	tcase_add_loop_test(tc, test_good, 0, NELEM(good));
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	tcase_add_loop_test(tc, test_ctrun, 0, NELEM(ctruns));
	suite_add_tcase(s, tc);
	return (s);
}
