/*
 * paths.c: default paths; see paths.h.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "paths.h"

int
paths_resolve(const char *p, char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n;
	int w;

	if (p[0] == '/') {
		w = snprintf(out, cap, "%s", p);
	} else {
		n = readlink("/proc/self/exe", self, sizeof (self) - 1);
		self[n > 0 ? n : 0] = '\0';
		w = snprintf(out, cap, "%s/%s", n > 0 ? dirname(self) : ".",
		    p);
	}
	if (w < 0 || (size_t)w >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return (-1);
	}
	return (0);
}

int
paths_admin_socket(const char *fixed, const char *xdg, char *out, size_t cap)
{
	int w;

	if (fixed != NULL && fixed[0] != '\0') {
		w = snprintf(out, cap, "%s", fixed);
	} else if (xdg != NULL && xdg[0] == '/') {
		w = snprintf(out, cap, "%s/medusa.sock", xdg);
	} else {
		return (paths_resolve("../run/medusa.sock", out, cap));
	}
	if (w < 0 || (size_t)w >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return (-1);
	}
	return (0);
}
