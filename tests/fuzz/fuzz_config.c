/*
 * fuzz_config.c: libFuzzer harness for the configuration parser
 * (shared/server/config.c; JSON by jansson).
 *
 * The input is the text of a configuration file.  config_parse() starts
 * from the defaults, as config_load() callers do.  Checks:
 *
 *   - a refusal comes with a message, NUL-terminated within the buffer,
 *     and a small error buffer gives the same answer (only a shorter
 *     message);
 *   - an accepted configuration has every value within the documented
 *     range, every string NUL-terminated within its array, and passes
 *     config_check();
 *   - parsing is deterministic, and parsing the same text again on top of
 *     the result changes nothing (every key sets a value outright).
 */
#include <jansson.h>

#include "config.h"
#include "fuzzutil.h"
#include "route.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	/* A fixed hash seed: the same input always runs the same way. */
	json_object_seed(1);
	return (0);
}

#define	STR_OK(a)	FUZZ_CHECK(memchr((a), '\0', sizeof (a)) != NULL)

static void
check_accepted(const struct medusa_config *c)
{
	char err[256];

	FUZZ_CHECK(c->mc_nbind >= 1 && c->mc_nbind <= CONFIG_MAX_BINDS);
	for (int i = 0; i < c->mc_nbind; i++) {
		STR_OK(c->mc_bind[i]);
		FUZZ_CHECK(c->mc_bind[i][0] != '\0');
	}
	STR_OK(c->mc_worker_path);
	STR_OK(c->mc_admin_socket);
	FUZZ_CHECK(c->mc_admin_socket[0] != '\0');
	STR_OK(c->mc_user);
	STR_OK(c->mc_group);
	FUZZ_CHECK(c->mc_max_per_addr >= 1 && c->mc_max_per_addr <= 10000000);
	FUZZ_CHECK(c->mc_port >= 0 && c->mc_port <= 65535);
	FUZZ_CHECK(c->mc_workers >= 0 && c->mc_workers <= 256);
	FUZZ_CHECK(c->mc_log_level >= 1 && c->mc_log_level <= 100);
	FUZZ_CHECK(c->mc_head_max >= 256 && c->mc_head_max <= 1024 * 1024);
	FUZZ_CHECK(c->mc_head_timeout >= 0.01 && c->mc_head_timeout <= 3600);
	FUZZ_CHECK(c->mc_pairing_timeout >= 0.01 &&
	    c->mc_pairing_timeout <= 86400 * 7);
	FUZZ_CHECK(c->mc_idle_timeout >= 0.01 &&
	    c->mc_idle_timeout <= 86400 * 7);
	FUZZ_CHECK(c->mc_close_timeout >= 0.01 && c->mc_close_timeout <= 3600);
	FUZZ_CHECK(c->mc_ping_interval >= 0.01 && c->mc_ping_interval <= 86400);
	FUZZ_CHECK(c->mc_shutdown_timeout >= 0.01 &&
	    c->mc_shutdown_timeout <= 3600);
	FUZZ_CHECK(c->mc_wait_interval >= 0.01 && c->mc_wait_interval <= 3600);
	FUZZ_CHECK(c->mc_max_message >= 125 &&
	    c->mc_max_message <= 256u * 1024 * 1024);
	FUZZ_CHECK(c->mc_out_high >= 1024 &&
	    c->mc_out_high <= 1024u * 1024 * 1024);
	FUZZ_CHECK(c->mc_out_low < c->mc_out_high);
	FUZZ_CHECK(c->mc_max_id >= 1 && c->mc_max_id <= ROUTE_ID_MAX);
	FUZZ_CHECK(c->mc_max_conns >= 1 && c->mc_max_conns <= 10000000);
	FUZZ_CHECK(c->mc_max_sessions >= 1 && c->mc_max_sessions <= 10000000);
	FUZZ_CHECK(c->mc_hold_timeout >= 0.01 && c->mc_hold_timeout <= 60);
	FUZZ_CHECK(c->mc_drain_timeout >= 0.01 &&
	    c->mc_drain_timeout <= 86400 * 7);
	FUZZ_CHECK(config_check(c, err, sizeof (err)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Large (PATH_MAX inside): on the heap, like config_load()'s callers. */
	struct medusa_config *c1 = malloc(sizeof (*c1));
	struct medusa_config *c2 = malloc(sizeof (*c2));
	const char *text = (const char *)data;
	char err[256], small[8];
	int rv;

	if (c1 == NULL || c2 == NULL)
		abort();
	config_defaults(c1);
	config_defaults(c2);
	FUZZ_CHECK(config_check(c1, err, sizeof (err)) == 0);

	err[0] = '\0';
	rv = config_parse(c1, text, size, err, sizeof (err));
	FUZZ_CHECK(rv == 0 || rv == -1);
	FUZZ_CHECK(config_parse(c2, text, size, small, sizeof (small)) == rv);
	if (rv != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof (err)) != NULL);
		FUZZ_CHECK(memchr(small, '\0', sizeof (small)) != NULL);
		FUZZ_CHECK(strncmp(err, small, sizeof (small) - 1) == 0);
		goto out;
	}
	check_accepted(c1);
	/* Deterministic: a second parse from the defaults is identical. */
	FUZZ_CHECK(memcmp(c1, c2, sizeof (*c1)) == 0);
	/* Idempotent: the same text again on top changes nothing. */
	FUZZ_CHECK(config_parse(c2, text, size, err, sizeof (err)) == 0);
	FUZZ_CHECK(memcmp(c1, c2, sizeof (*c1)) == 0);
out:
	free(c1);
	free(c2);
	return (0);
}
