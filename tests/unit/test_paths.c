/*
 * test_paths.c: paths.h, where medusa and medusactl look by default.
 */
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paths.h"
#include "suites.h"

START_TEST(test_resolve)
{
	char self[PATH_MAX], dir[PATH_MAX], want[PATH_MAX + 32];
	char out[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof (self) - 1);
	static const struct {
		const char	*p;
		bool		relative;
	} table[] = {
		{ "/etc/medusa/medusa.json", false },
		{ "/", false },
		{ "../etc/medusa.json", true },
		{ "medusa-worker", true },
	};

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	snprintf(dir, sizeof (dir), "%s", dirname(self));
	for (size_t i = 0; i < NELEM(table); i++) {
		if (table[i].relative)
			snprintf(want, sizeof (want), "%s/%s", dir, table[i].p);
		else
			snprintf(want, sizeof (want), "%s", table[i].p);
		ck_assert_int_eq(paths_resolve(table[i].p, out, sizeof (out)),
		    0);
		ck_assert_str_eq(out, want);
		/* Exactly enough room, and one byte less. */
		ck_assert_int_eq(paths_resolve(table[i].p, out,
		    strlen(want) + 1), 0);
		ck_assert_str_eq(out, want);
		ck_assert_int_eq(paths_resolve(table[i].p, out, strlen(want)),
		    -1);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

/*
 * The admin socket's default: the fixed (installed) path wins, then an
 * absolute XDG_RUNTIME_DIR, then ../run beside the program; never /tmp.
 */
START_TEST(test_admin_socket)
{
	char self[PATH_MAX], besides[PATH_MAX + 32], out[108];
	ssize_t n = readlink("/proc/self/exe", self, sizeof (self) - 1);
	static const struct {
		const char	*fixed;
		const char	*xdg;
		const char	*want;	/* NULL: ../run/medusa.sock beside us */
	} table[] = {
		{ "/run/medusa/medusa.sock", NULL, "/run/medusa/medusa.sock" },
		{ "/run/medusa/medusa.sock", "/run/user/1000",
		    "/run/medusa/medusa.sock" },
		{ "", "/run/user/1000", "/run/user/1000/medusa.sock" },
		{ NULL, "/run/user/0", "/run/user/0/medusa.sock" },
		{ "", NULL, NULL },
		{ "", "", NULL },
		{ "", "relative/dir", NULL },
	};

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	snprintf(besides, sizeof (besides), "%s/../run/medusa.sock",
	    dirname(self));
	for (size_t i = 0; i < NELEM(table); i++) {
		const char *want = table[i].want != NULL ? table[i].want :
		    besides;
		int rv = paths_admin_socket(table[i].fixed, table[i].xdg, out,
		    sizeof (out));

		if (strlen(want) >= sizeof (out)) {
			ck_assert_int_eq(rv, -1);
			ck_assert_str_eq(out, "");
			continue;
		}
		ck_assert_int_eq(rv, 0);
		ck_assert_str_eq(out, want);
		ck_assert_ptr_null(strstr(out, "/tmp/"));
		/* One byte too few: refused, out empty. */
		ck_assert_int_eq(paths_admin_socket(table[i].fixed,
		    table[i].xdg, out, strlen(want)), -1);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

/* This build's defaults are the in-tree ones: unit tests are not installed. */
START_TEST(test_defaults)
{
	ck_assert_str_eq(MEDUSA_CONFIG_PATH, "../etc/medusa.json");
	ck_assert_str_eq(MEDUSA_WORKER_PATH, "medusa-worker");
	ck_assert_str_eq(MEDUSA_ADMIN_SOCKET, "");
}
END_TEST

Suite *
paths_suite(void)
{
	Suite *s = suite_create("paths");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_admin_socket);
	tcase_add_test(tc, test_defaults);
	suite_add_tcase(s, tc);
	return (s);
}
