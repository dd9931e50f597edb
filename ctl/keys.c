/*
 * keys.c: medusactl keys add|list|remove: the accounts' public keys in the
 * reflector's keys directory (keystore.h), and telling a running reflector
 * to read them again (ADMIN_KEYS) so that a change takes effect without a
 * restart.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "config.h"
#include "ctl.h"
#include "keystore.h"
#include "proto.h"

/*
 * The keys directory of configuration c read from cfgpath: keys_dir, a
 * relative one taken from the configuration file's directory (as medusa
 * does).
 */
void
ctl_keys_dir(const struct medusa_config *c, const char *cfgpath, char *out,
    size_t cap)
{
	char copy[PATH_MAX];

	if (c->mc_keys_dir[0] == '/' || cfgpath == NULL) {
		snprintf(out, cap, "%s", c->mc_keys_dir);
		return;
	}
	snprintf(copy, sizeof (copy), "%s", cfgpath);
	snprintf(out, cap, "%s/%s", dirname(copy), c->mc_keys_dir);
}

static void
ctl_keys_print(void *arg, const char *account, const struct sshkey *k,
    const char *comment)
{
	int *n = arg;

	(*n)++;
	printf("%-16s %-8s %4d %s %s%s%s\n", account,
	    k->k_type == SSHKEY_RSA ? "RSA" : k->k_type == SSHKEY_ECDSA ?
	    "ECDSA" : "ED25519", k->k_bits, k->k_sha256, k->k_md5,
	    comment[0] != '\0' ? "  " : "", comment);
}

/* The one key line of a .pub file (or of standard input, "-"). */
static int
ctl_keys_read(const char *file, char *line, size_t cap)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	char buf[16384];
	int found = 0;

	if (f == NULL) {
		fprintf(stderr, "medusactl: %s: %s\n", file, strerror(errno));
		return (-1);
	}
	while (fgets(buf, sizeof (buf), f) != NULL) {
		size_t s = strspn(buf, " \t\r\n");

		if (buf[s] == '\0' || buf[s] == '#')
			continue;
		if (found++ > 0) {
			fprintf(stderr, "medusactl: %s holds more than one "
			    "key: add them one at a time\n", file);
			break;
		}
		snprintf(line, cap, "%s", buf);
	}
	if (f != stdin)
		(void) fclose(f);
	if (found != 1) {
		if (found == 0)
			fprintf(stderr, "medusactl: no key in %s\n", file);
		return (-1);
	}
	return (0);
}

int
ctl_keys(int argc, char **argv, const char *dir, const char *sock)
{
	char err[512], fp[128], line[16384];
	const char *sub = argc > 0 ? argv[0] : "";

	if (strcmp(sub, "list") == 0 && argc <= 2) {
		int n = 0;

		if (keystore_list(dir, argc == 2 ? argv[1] : NULL,
		    ctl_keys_print, &n, err, sizeof (err)) != 0) {
			fprintf(stderr, "medusactl: %s\n", err);
			return (1);
		}
		if (n == 0)
			fprintf(stderr, "medusactl: no keys in %s\n", dir);
		return (0);
	}
	if (strcmp(sub, "add") == 0 && (argc == 2 || argc == 3)) {
		if (ctl_keys_read(argc == 3 ? argv[2] : "-", line,
		    sizeof (line)) != 0)
			return (1);
		/* The first key: the directory may not be there yet. */
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "medusactl: %s: %s\n", dir,
			    strerror(errno));
			return (1);
		}
		if (keystore_add(dir, argv[1], line, fp, sizeof (fp), err,
		    sizeof (err)) != 0) {
			fprintf(stderr, "medusactl: %s\n", err);
			return (1);
		}
		printf("added %s to %s (%s/%s)\n", fp, argv[1], dir, argv[1]);
	} else if (strcmp(sub, "remove") == 0 && argc == 3) {
		if (keystore_remove(dir, argv[1], argv[2], err,
		    sizeof (err)) != 0) {
			fprintf(stderr, "medusactl: %s\n", err);
			return (1);
		}
		printf("removed %s from %s\n", argv[2], argv[1]);
	} else if (strcmp(sub, "reload") == 0 && argc == 1) {
		/* Below. */
	} else {
		fprintf(stderr, "usage: medusactl keys list [ACCOUNT] | "
		    "add ACCOUNT [FILE.pub|-] | remove ACCOUNT FINGERPRINT | "
		    "reload\n");
		return (2);
	}
	/* A running reflector reads them again; one that is not, at start. */
	if (access(sock, F_OK) != 0) {
		printf("no reflector runs at %s: it reads the keys when it "
		    "starts\n", sock);
		return (0);
	}
	return (ctl_request(sock, ADMIN_KEYS, -1, false));
}
