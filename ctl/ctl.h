/*
 * ctl.h: what medusactl's files share.  See ctl/main.c.
 */
#ifndef MEDUSA_CTL_H
#define MEDUSA_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* main.c */
int ctl_request(const char *sock, int command, int shard, bool json);

/* keys.c */
void ctl_keys_dir(const struct medusa_config *, const char *cfgpath,
    char *out, size_t cap);
int ctl_keys(int argc, char **argv, const char *dir, const char *sock);

#endif
