/*
 * fuzz_mlogin.c: libFuzzer harness for what the agent and mlogin make of a
 * TEXT message from their peer: the "mlogin:" protocol's parser and
 * decoders (shared/client/mlproto.c) and what a start asks to run
 * (agent/start.c, ctrun included).
 *
 * The input is the message's payload.  Checks:
 *
 *   - mlproto_kind() points into the input just after the prefix;
 *   - a parsed message has a string type; a refused one has a reason;
 *   - a start that is accepted has a NUL-terminated argv whose first word
 *     is the program, a size in 1..START_SIZE_MAX, a term; with ctrun
 *     taken off, the program is not ctrun's own first word;
 *   - a stderr message that decodes re-encodes to the same base64 text;
 *   - the exit status is in 0..255;
 *   - wsurl_role() of the input as a path never reads past it.
 */
#include <jansson.h>

#include "fuzzutil.h"
#include "mlproto.h"
#include "start.h"
#include "wsurl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	json_object_seed(1);
	return (0);
}

static bool
fuzz_can_run(const char *path)
{
	return (strstr(path, "real") != NULL);
}

static void
check_start(const json_t *o)
{
	struct start_plan sp;
	char err[200];
	size_t n = 0;

	err[0] = '\0';
	if (start_parse(o, fuzz_can_run, &sp, err, sizeof (err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(sp.sp_argv == NULL);
		return;
	}
	FUZZ_CHECK(sp.sp_argv != NULL && sp.sp_argv[0] != NULL);
	FUZZ_CHECK(strcmp(sp.sp_argv[0], sp.sp_path) == 0);
	while (sp.sp_argv[n] != NULL)
		n++;
	FUZZ_CHECK(sp.sp_cols >= 1 && sp.sp_cols <= START_SIZE_MAX);
	FUZZ_CHECK(sp.sp_lines >= 1 && sp.sp_lines <= START_SIZE_MAX);
	FUZZ_CHECK(sp.sp_term != NULL);
	start_plan_free(&sp);
}

static void
check_stderr(const json_t *o)
{
	uint8_t *out;
	size_t on;
	char *again;

	if (mlproto_stderr_data(o, &out, &on) != 0) {
		FUZZ_CHECK(out == NULL);
		return;
	}
	again = mlproto_stderr(out, on);
	FUZZ_CHECK(again != NULL);
	/* The same bytes encode to the same text (base64 is canonical when
	 * its padding bits are zero; else only the bytes must agree). */
	{
		uint8_t *out2;
		size_t on2;
		const char *type;
		char err[100];
		json_t *o2 = mlproto_parse(again + 7, strlen(again) - 7, &type,
		    err, sizeof (err));

		FUZZ_CHECK(o2 != NULL);
		FUZZ_CHECK(mlproto_stderr_data(o2, &out2, &on2) == 0);
		FUZZ_CHECK(on2 == on && memcmp(out2, out, on) == 0);
		free(out2);
		json_decref(o2);
	}
	free(again);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json, *type;
	char err[200], *path;
	size_t jn;
	json_t *o;
	int st;

	path = malloc(size + 1);
	if (path != NULL) {
		memcpy(path, data, size);
		path[size] = '\0';
		(void) wsurl_role(path);
		FUZZ_CHECK(wsurl_loggable(path) <= strlen(path));
		free(path);
	}
	if (mlproto_kind(data, size, &json, &jn) == MLPROTO_OTHER) {
		FUZZ_CHECK(json == NULL && jn == 0);
		return (0);
	}
	FUZZ_CHECK(json == (const char *)data + 7 && jn == size - 7);
	err[0] = '\0';
	if ((o = mlproto_parse(json, jn, &type, err, sizeof (err))) == NULL) {
		FUZZ_CHECK(err[0] != '\0');
		return (0);
	}
	FUZZ_CHECK(type != NULL);
	if (strcmp(type, "start") == 0)
		check_start(o);
	else if (strcmp(type, "stderr") == 0)
		check_stderr(o);
	st = mlproto_exit_status(o);
	FUZZ_CHECK(st >= 0 && st <= 255);
	json_decref(o);
	return (0);
}
