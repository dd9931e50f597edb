/*
 * keystore.h: the accounts' public keys, from the keys directory (config
 * "keys_dir"): one file per account, named after the account, each line
 * an OpenSSH authorized_keys line (sshkey.h says which keys).  A key is
 * found by (account, fingerprint) in constant time, as MD5 ("aa:bb:...",
 * optionally "MD5:"-prefixed, any case) or "SHA256:..." fingerprint.
 *
 * A store is built whole and then only read, so a reload builds a new one
 * while the old serves.  Bad files and lines are skipped and reported to
 * the caller (who logs); the directory itself unreadable is an error.
 *
 * The management functions (medusactl keys add|list|remove) rewrite an
 * account's file atomically: a temporary file in the directory, then
 * rename(2); files are mode 0644 (public keys are not secrets, and the
 * reflector's unprivileged workers must read them).
 *
 * Functions fill err[errlen] and never log.
 */
#ifndef MEDUSA_KEYSTORE_H
#define MEDUSA_KEYSTORE_H

#include <stddef.h>

#include "sshkey.h"

#define	KEYSTORE_PROBLEMS	8	/* problems kept for the report */
#define	KEYSTORE_FILE_MAX	(1024 * 1024)	/* bytes in one account file */

struct keystore;

struct keystore_report {
	size_t	kr_accounts;
	size_t	kr_keys;
	size_t	kr_skipped;	/* files and lines that were not taken */
	char	kr_problems[KEYSTORE_PROBLEMS][160];	/* the first few */
	int	kr_nproblems;
};

/*
 * Read every account file of dir.  NULL with err if dir cannot be read;
 * otherwise a store (maybe empty) and, if rep is not NULL, what was taken
 * and skipped.
 */
struct keystore *keystore_load(const char *dir, struct keystore_report *rep,
    char *err, size_t errlen);
void keystore_free(struct keystore *);

/* The key of account[0..an) named fp[0..fn), or NULL. */
const struct sshkey *keystore_find(const struct keystore *,
    const char *account, size_t an, const char *fp, size_t fn);

size_t keystore_count(const struct keystore *);

/*
 * Add an authorized_keys line to account's file.  The key must parse and
 * not be there already.  0 (with its SHA256 fingerprint in fp), or -1.
 */
int keystore_add(const char *dir, const char *account, const char *line,
    char *fp, size_t fpcap, char *err, size_t errlen);

/* Remove the key named fp from account's file.  0, or -1. */
int keystore_remove(const char *dir, const char *account, const char *fp,
    char *err, size_t errlen);

/* One key, as keystore_list() reports it. */
typedef void keystore_list_f(void *arg, const char *account,
    const struct sshkey *, const char *comment);

/*
 * Every key of account (or of every account, if NULL), in file order, the
 * accounts in name order.  0, or -1 if the directory (or the account's
 * file) cannot be read.
 */
int keystore_list(const char *dir, const char *account, keystore_list_f *,
    void *arg, char *err, size_t errlen);

#endif
