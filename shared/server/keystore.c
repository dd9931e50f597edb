/*
 * keystore.c: the keys directory; see keystore.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "keystore.h"
#include "route.h"

/* A table slot: "<account>\0<normalized fingerprint>" -> key. */
struct ks_slot {
	char		*s_name;
	size_t		s_len;
	struct sshkey	*s_key;
};

struct ks_key {
	struct sshkey	k;
	struct ks_key	*next;
};

struct keystore {
	struct ks_slot	*ks_slots;
	size_t		ks_cap;		/* a power of two */
	size_t		ks_used;
	struct ks_key	*ks_keys;	/* every key, for freeing */
	size_t		ks_nkeys;
};

/*
 * The canonical form of a fingerprint: "md5:" and 47 lower-case
 * characters, or "SHA256:" and the base64 as given.  0, or -1 if fp is
 * neither.
 */
static int
ks_fpnorm(const char *fp, size_t n, char *out, size_t cap)
{
	if (n > 7 && strncasecmp(fp, "SHA256:", 7) == 0) {
		if (n >= cap || n > SSHKEY_SHA256_LEN)
			return (-1);
		memcpy(out, "SHA256:", 7);
		memcpy(out + 7, fp + 7, n - 7);
		out[n] = '\0';
		return (0);
	}
	if (n > 4 && strncasecmp(fp, "MD5:", 4) == 0) {
		fp += 4;
		n -= 4;
	}
	if (n != SSHKEY_MD5_LEN || cap < 4 + n + 1)
		return (-1);
	memcpy(out, "md5:", 4);
	for (size_t i = 0; i < n; i++) {
		char c = fp[i];

		if (i % 3 == 2 ? c != ':' : !((c >= '0' && c <= '9') ||
		    (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return (-1);
		out[4 + i] = (char)(c >= 'A' && c <= 'F' ? c + 32 : c);
	}
	out[4 + n] = '\0';
	return (0);
}

static uint32_t
ks_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 16777619u;
	}
	return (h);
}

/* "<account>\0<fp>" into buf; its length, or 0 if it does not fit. */
static size_t
ks_name(char *buf, size_t cap, const char *acct, size_t an, const char *fp)
{
	size_t fl = strlen(fp);

	if (an + 1 + fl > cap)
		return (0);
	memcpy(buf, acct, an);
	buf[an] = '\0';
	memcpy(buf + an + 1, fp, fl);
	return (an + 1 + fl);
}

static struct ks_slot *
ks_lookup(const struct keystore *ks, const char *name, size_t len)
{
	size_t i = ks_hash(name, len) & (ks->ks_cap - 1);

	for (;;) {
		struct ks_slot *s = &ks->ks_slots[i];

		if (s->s_name == NULL || (s->s_len == len &&
		    memcmp(s->s_name, name, len) == 0))
			return (s);
		i = (i + 1) & (ks->ks_cap - 1);
	}
}

static int
ks_grow(struct keystore *ks)
{
	struct ks_slot *old = ks->ks_slots;
	size_t ocap = ks->ks_cap, ncap = ocap == 0 ? 64 : ocap * 2;

	if ((ks->ks_slots = calloc(ncap, sizeof (*old))) == NULL) {
		ks->ks_slots = old;
		return (-1);
	}
	ks->ks_cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (old[i].s_name != NULL)
			*ks_lookup(ks, old[i].s_name, old[i].s_len) = old[i];
	}
	free(old);
	return (0);
}

/* Index k under name; a name already there keeps its first key. */
static int
ks_insert(struct keystore *ks, const char *acct, size_t an, const char *fp,
    struct sshkey *k)
{
	char name[ROUTE_ACCOUNT_MAX + 1 + 64];
	size_t len = ks_name(name, sizeof (name), acct, an, fp);
	struct ks_slot *s;

	if (len == 0)
		return (-1);
	if ((ks->ks_used + 1) * 2 > ks->ks_cap && ks_grow(ks) != 0)
		return (-1);
	s = ks_lookup(ks, name, len);
	if (s->s_name != NULL)
		return (0);
	if ((s->s_name = malloc(len)) == NULL)
		return (-1);
	memcpy(s->s_name, name, len);
	s->s_len = len;
	s->s_key = k;
	ks->ks_used++;
	return (0);
}

const struct sshkey *
keystore_find(const struct keystore *ks, const char *account, size_t an,
    const char *fp, size_t fn)
{
	char norm[80], name[ROUTE_ACCOUNT_MAX + 1 + 80];
	size_t len;
	struct ks_slot *s;

	if (ks == NULL || ks->ks_cap == 0 || an > ROUTE_ACCOUNT_MAX ||
	    ks_fpnorm(fp, fn, norm, sizeof (norm)) != 0 ||
	    (len = ks_name(name, sizeof (name), account, an, norm)) == 0)
		return (NULL);
	s = ks_lookup(ks, name, len);
	return (s->s_name != NULL ? s->s_key : NULL);
}

size_t
keystore_count(const struct keystore *ks)
{
	return (ks != NULL ? ks->ks_nkeys : 0);
}

void
keystore_free(struct keystore *ks)
{
	struct ks_key *k, *next;

	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->ks_cap; i++)
		free(ks->ks_slots[i].s_name);
	free(ks->ks_slots);
	for (k = ks->ks_keys; k != NULL; k = next) {
		next = k->next;
		sshkey_free(&k->k);
		free(k);
	}
	free(ks);
}

static void
ks_problem(struct keystore_report *rep, const char *fmt, const char *a,
    size_t line, const char *why)
{
	char tmp[512];

	if (rep == NULL)
		return;

	rep->kr_skipped++;
	if (rep->kr_nproblems < KEYSTORE_PROBLEMS) {
		snprintf(tmp, sizeof (tmp), fmt, a, line, why);
		/* (cut to fit: a problem line is for a person to read) */
		snprintf(rep->kr_problems[rep->kr_nproblems++],
		    sizeof (rep->kr_problems[0]), "%.159s", tmp);
	}
}

/*
 * Read an account's file whole (bounded).  A malloc'd, NUL-terminated
 * buffer, or NULL with err (errno ENOENT when there is none).
 */
static char *
ks_read(int dirfd, const char *dir, const char *name, size_t *lenp,
    char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = dirfd >= 0 ? openat(dirfd, name, O_RDONLY | O_CLOEXEC) :
	    -1;
	if (dirfd < 0) {
		char path[4096];

		snprintf(path, sizeof (path), "%s/%s", dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", name, strerror(e));
		errno = e;
		return (NULL);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYSTORE_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d "
		    "bytes", name, KEYSTORE_FILE_MAX);
		(void) close(fd);
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		(void) close(fd);
		return (NULL);
	}
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	(void) close(fd);
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

static int
ks_load_account(struct keystore *ks, int dirfd, const char *acct,
    struct keystore_report *rep)
{
	char err[160];
	size_t len, line = 0, an = strlen(acct);
	char *buf = ks_read(dirfd, NULL, acct, &len, err, sizeof (err));
	size_t taken = 0;

	if (buf == NULL) {
		ks_problem(rep, "%s:%zu: %s", acct, 0, err);
		return (0);
	}
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		struct ks_key *k;
		int rv;

		line++;
		if ((e = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			e = buf + len;
		if ((k = calloc(1, sizeof (*k))) == NULL) {
			free(buf);
			return (-1);
		}
		rv = sshkey_parse_line(p, (size_t)(e - p), &k->k, NULL, 0, err,
		    sizeof (err));
		if (rv <= 0) {
			free(k);
			if (rv < 0)
				ks_problem(rep, "%s:%zu: %s", acct, line, err);
			continue;
		}
		{
			char md5[4 + SSHKEY_MD5_LEN + 1];

			snprintf(md5, sizeof (md5), "md5:%s", k->k.k_md5);
			k->next = ks->ks_keys;
			ks->ks_keys = k;
			ks->ks_nkeys++;
			taken++;
			if (ks_insert(ks, acct, an, md5, &k->k) != 0 ||
			    ks_insert(ks, acct, an, k->k.k_sha256, &k->k) !=
			    0) {
				free(buf);
				return (-1);
			}
		}
	}
	free(buf);
	if (rep != NULL && taken > 0)
		rep->kr_accounts++;
	return (0);
}

struct keystore *
keystore_load(const char *dir, struct keystore_report *rep, char *err,
    size_t errlen)
{
	struct keystore *ks;
	struct dirent *de;
	DIR *d;
	int dfd;

	if (rep != NULL)
		memset(rep, 0, sizeof (*rep));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (d = fdopendir(dfd)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (dfd >= 0)
			(void) close(dfd);
		return (NULL);
	}
	if ((ks = calloc(1, sizeof (*ks))) == NULL || ks_grow(ks) != 0) {
		free(ks);
		(void) closedir(d);
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ., .., and our temporary files */
		if (!route_account_ok(de->d_name, strlen(de->d_name))) {
			ks_problem(rep, "%s:%zu: %s", de->d_name, 0,
			    "not an account name; file skipped");
			continue;
		}
		if (ks_load_account(ks, dirfd(d), de->d_name, rep) != 0) {
			keystore_free(ks);
			(void) closedir(d);
			snprintf(err, errlen, "out of memory");
			return (NULL);
		}
	}
	(void) closedir(d);
	if (rep != NULL)
		rep->kr_keys = ks->ks_nkeys;
	return (ks);
}

/* --- management -------------------------------------------------------- */

static int
ks_check_account(const char *account, char *err, size_t errlen)
{
	if (!route_account_ok(account, strlen(account))) {
		snprintf(err, errlen, "\"%s\" is not an account name (1 to %d "
		    "letters, digits, '-', '_', '.' or '@', not starting with "
		    "'.')", account, ROUTE_ACCOUNT_MAX);
		return (-1);
	}
	return (0);
}

/* Replace account's file with data[0..n) (or remove it if n is 0). */
static int
ks_write(const char *dir, const char *account, const char *data, size_t n,
    char *err, size_t errlen)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(path, sizeof (path), "%s/%s", dir, account);
	if (n == 0) {
		if (unlink(path) != 0 && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return (-1);
		}
		return (0);
	}
	snprintf(tmp, sizeof (tmp), "%s/.%s.%ld.tmp", dir, account,
	    (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return (-1);
	}
	(void) fchmod(fd, 0644);
	if (write(fd, data, n) != (ssize_t)n || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void) close(fd);
		(void) unlink(tmp);
		return (-1);
	}
	(void) close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void) unlink(tmp);
		return (-1);
	}
	return (0);
}

int
keystore_add(const char *dir, const char *account, const char *line,
    char *fp, size_t fpcap, char *err, size_t errlen)
{
	struct sshkey k;
	char *buf, *out, comment[256];
	size_t len = 0, ll;
	int rv;

	if (ks_check_account(account, err, errlen) != 0)
		return (-1);
	ll = strcspn(line, "\n");
	if (line[ll] != '\0' && line[ll + strspn(line + ll, "\r\n")] != '\0') {
		snprintf(err, errlen, "give one key (one line)");
		return (-1);
	}
	rv = sshkey_parse_line(line, ll, &k, comment, sizeof (comment), err,
	    errlen);
	if (rv == 0)
		snprintf(err, errlen, "no key in what was given");
	if (rv <= 0)
		return (-1);
	snprintf(fp, fpcap, "%s", k.k_sha256);
	if ((buf = ks_read(-1, dir, account, &len, err, errlen)) == NULL) {
		if (errno != ENOENT) {
			sshkey_free(&k);
			return (-1);
		}
		len = 0;
	}
	for (char *p = buf, *e; buf != NULL && p < buf + len; p = e + 1) {
		struct sshkey o;
		char e2[64];

		if ((e = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			e = buf + len;
		if (sshkey_parse_line(p, (size_t)(e - p), &o, NULL, 0, e2,
		    sizeof (e2)) == 1) {
			bool same = strcmp(o.k_sha256, k.k_sha256) == 0;

			sshkey_free(&o);
			if (same) {
				snprintf(err, errlen, "%s already has the key "
				    "%s", account, k.k_sha256);
				sshkey_free(&k);
				free(buf);
				return (-1);
			}
		}
	}
	/* The file as it was (ending in a newline), then the new line. */
	if ((out = malloc(len + ll + 2)) == NULL) {
		snprintf(err, errlen, "out of memory");
		sshkey_free(&k);
		free(buf);
		return (-1);
	}
	if (len > 0)
		memcpy(out, buf, len);
	if (len > 0 && out[len - 1] != '\n')
		out[len++] = '\n';
	memcpy(out + len, line, ll);
	while (ll > 0 && out[len + ll - 1] == '\r')
		ll--;
	out[len + ll] = '\n';
	rv = ks_write(dir, account, out, len + ll + 1, err, errlen);
	sshkey_free(&k);
	free(buf);
	free(out);
	return (rv);
}

int
keystore_remove(const char *dir, const char *account, const char *fp,
    char *err, size_t errlen)
{
	char want[80], *buf, *out;
	size_t len, o = 0;
	int found = 0, rv;

	if (ks_check_account(account, err, errlen) != 0)
		return (-1);
	if (ks_fpnorm(fp, strlen(fp), want, sizeof (want)) != 0) {
		snprintf(err, errlen, "\"%s\" is not a key fingerprint "
		    "(SHA256:... or aa:bb:...)", fp);
		return (-1);
	}
	if ((buf = ks_read(-1, dir, account, &len, err, errlen)) == NULL)
		return (-1);
	if ((out = malloc(len + 1)) == NULL) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		struct sshkey k;
		char e2[64], md5[80];
		bool drop = false;

		if ((e = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			e = buf + len;
		if (sshkey_parse_line(p, (size_t)(e - p), &k, NULL, 0, e2,
		    sizeof (e2)) == 1) {
			snprintf(md5, sizeof (md5), "md5:%s", k.k_md5);
			drop = strcmp(want, md5) == 0 ||
			    strcmp(want, k.k_sha256) == 0;
			sshkey_free(&k);
		}
		if (drop) {
			found++;
			continue;
		}
		memcpy(out + o, p, (size_t)(e - p));
		o += (size_t)(e - p);
		if (e < buf + len)
			out[o++] = '\n';
	}
	free(buf);
	if (found == 0) {
		snprintf(err, errlen, "%s has no key %s", account, fp);
		free(out);
		return (-1);
	}
	/* Nothing but blank lines left: no file. */
	rv = ks_write(dir, account, out, strspn(out, "\n") == o ? 0 : o, err,
	    errlen);
	free(out);
	return (rv);
}

static int
ks_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
ks_list_one(const char *dir, const char *account, keystore_list_f *f,
    void *arg, char *err, size_t errlen)
{
	size_t len;
	char *buf = ks_read(-1, dir, account, &len, err, errlen);

	if (buf == NULL)
		return (-1);
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		struct sshkey k;
		char e2[64], comment[256];

		if ((e = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			e = buf + len;
		if (sshkey_parse_line(p, (size_t)(e - p), &k, comment,
		    sizeof (comment), e2, sizeof (e2)) == 1) {
			f(arg, account, &k, comment);
			sshkey_free(&k);
		}
	}
	free(buf);
	return (0);
}

int
keystore_list(const char *dir, const char *account, keystore_list_f *f,
    void *arg, char *err, size_t errlen)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	int rv = 0;

	if (account != NULL) {
		if (ks_check_account(account, err, errlen) != 0)
			return (-1);
		return (ks_list_one(dir, account, f, arg, err, errlen));
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !route_account_ok(de->d_name, strlen(de->d_name)))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) *
			    sizeof (*names));

			if (nn == NULL)
				break;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	(void) closedir(d);
	if (n > 0)
		qsort(names, n, sizeof (*names), ks_cmp);
	for (size_t i = 0; i < n; i++) {
		char e2[160];

		(void) ks_list_one(dir, names[i], f, arg, e2, sizeof (e2));
		free(names[i]);
	}
	free(names);
	return (rv);
}
