/*
 * bstats.c: medusa-bench's clocks, percentiles, resident memory of the
 * reflector's processes, descriptor limit, and the failure exit.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bench.h"

uint64_t
now_ns(void)
{
	struct timespec ts;

	(void) clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* A JSON string literal (quotes included) for s. */
void
json_str(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 3)
		return;
	out[o++] = '"';
	for (; *s != '\0' && o + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch >= 0x80) {
			out[o++] = '?';		/* keep the line ASCII */
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

void
bench_fail(const char *fmt, ...)
{
	char msg[1024], js[2200], lab[300];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(msg, sizeof (msg), fmt, ap);
	va_end(ap);
	if (B.b_child_up >= 0) {
		/* A child of idle --procs: the parent reports it. */
		(void) write(B.b_child_up, "F", 1);
		(void) write(B.b_child_up, msg, strlen(msg));
		_exit(1);
	}
	json_str(js, sizeof (js), msg);
	json_str(lab, sizeof (lab), B.b_label != NULL ? B.b_label : "");
	fflush(stdout);
	printf("{\"scenario\":\"%s\",\"label\":%s,\"ok\":false,\"error\":%s}\n",
	    B.b_sc_name != NULL ? B.b_sc_name : "", lab, js);
	fflush(stdout);
	fprintf(stderr, "medusa-bench %s: FAIL: %s\n",
	    B.b_sc_name != NULL ? B.b_sc_name : "", msg);
	exit(1);
}

int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/* Nearest-rank percentile of a sorted array. */
uint64_t
pct(const uint64_t *sorted, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return (0);
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (sorted[k - 1]);
}

static long
pid_rss_kb(int pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof (path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof (line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (kb);
}

static int
pid_ppid(int pid)
{
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int ppid = -1;

	snprintf(path, sizeof (path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof (buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold anything: parse after its last ')'. */
	if ((p = strrchr(buf, ')')) == NULL)
		return (-1);
	if (sscanf(p + 1, " %*c %d", &ppid) != 1)
		return (-1);
	return (ppid);
}

/*
 * The sum of VmRSS over pids[], plus (tree_root > 0) that process and all
 * its descendants.  -1 when not one of them could be read.
 */
long
rss_kb(const int *pids, int npids, int tree_root)
{
	long total = 0, kb;
	int found = 0, i;

	for (i = 0; i < npids; i++) {
		if ((kb = pid_rss_kb(pids[i])) >= 0) {
			total += kb;
			found++;
		}
	}
	if (tree_root > 0) {
		int *tree, ntree = 0, cap = 64, grew;
		int *all = NULL, *par = NULL, nall = 0, acap = 0;
		struct dirent *d;
		DIR *dir;

		if ((dir = opendir("/proc")) == NULL)
			return (found > 0 ? total : -1);
		while ((d = readdir(dir)) != NULL) {
			if (!isdigit((unsigned char)d->d_name[0]))
				continue;
			if (nall == acap) {
				acap = acap == 0 ? 1024 : acap * 2;
				all = realloc(all, sizeof (int) * (size_t)acap);
				par = realloc(par, sizeof (int) * (size_t)acap);
				if (all == NULL || par == NULL)
					bench_fail("out of memory");
			}
			all[nall] = atoi(d->d_name);
			par[nall] = pid_ppid(all[nall]);
			nall++;
		}
		closedir(dir);
		if ((tree = malloc(sizeof (int) * (size_t)cap)) == NULL)
			bench_fail("out of memory");
		tree[ntree++] = tree_root;
		do {
			grew = 0;
			for (i = 0; i < nall; i++) {
				int j, in = 0, parent_in = 0;

				for (j = 0; j < ntree; j++) {
					if (tree[j] == all[i])
						in = 1;
					if (tree[j] == par[i])
						parent_in = 1;
				}
				if (in || !parent_in)
					continue;
				if (ntree == cap) {
					cap *= 2;
					tree = realloc(tree,
					    sizeof (int) * (size_t)cap);
					if (tree == NULL)
						bench_fail("out of memory");
				}
				tree[ntree++] = all[i];
				grew = 1;
			}
		} while (grew);
		for (i = 0; i < ntree; i++) {
			if ((kb = pid_rss_kb(tree[i])) >= 0) {
				total += kb;
				found++;
			}
		}
		free(tree);
		free(all);
		free(par);
	}
	return (found > 0 ? total : -1);
}

/*
 * Make room for `want` descriptors: the soft limit up to the hard one, and
 * the hard one too when we may (CAP_SYS_RESOURCE).  Short of it, socket()
 * fails later with a message that says so.
 */
void
raise_nofile(size_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		struct rlimit r2 = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}
