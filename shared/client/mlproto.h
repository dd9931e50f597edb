/*
 * mlproto.h: the "mlogin:" protocol between mlogin and the agent
 * (PROTOCOL.md section 4), written once for both ends.  Pure apart from
 * jansson and OpenSSL's base64; no I/O.
 *
 * A TEXT message is the reflector's ("medusa:" + JSON), the peer's
 * ("mlogin:" + JSON object with a string "type"), or anything else (the
 * original client's plain "ping"), which both ends ignore.
 *
 * Our extension, which both ends announce (an original peer announces
 * nothing, and everything stays as it was):
 *
 *	start	 "stderr": true		mlogin can take the command's
 *					standard error apart
 *	started	 "stderr": true		the agent will send it apart: the
 *					command runs on pipes and its
 *					stderr is not its stdout
 *	stderr	 {"type":"stderr","data":"<base64>"}
 *					bytes the command wrote to its
 *					standard error, in order with the
 *					BINARY messages of its output
 *
 * Also ours, older: "pty": false in start (pipes, not a terminal) and its
 * answer in started, "eof" (the end of the command's input), "code" or
 * "signal" in exit.
 */
#ifndef MEDUSA_MLPROTO_H
#define MEDUSA_MLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define	MLPROTO_PREFIX		"mlogin:"
#define	MLPROTO_REFLECTOR	"medusa:"

enum mlproto_kind {
	MLPROTO_OTHER = 0,	/* neither: ignored */
	MLPROTO_FROM_REFLECTOR,	/* medusa: */
	MLPROTO_FROM_PEER	/* mlogin: */
};

/* What a TEXT message is; *json and *jn are its JSON after the prefix. */
enum mlproto_kind mlproto_kind(const uint8_t *p, size_t n, const char **json,
    size_t *jn);
/*
 * The JSON object of a message, with its "type" in *type; NULL with a
 * reason in err if it is not an object with a string type.  The caller
 * json_decref()s it.
 */
json_t *mlproto_parse(const char *json, size_t n, const char **type,
    char *err, size_t errlen);
/* "mlogin:" + o as compact JSON; o is consumed.  malloc'd, or NULL. */
char *mlproto_encode(json_t *o);
/* A "stderr" message carrying p[0..n). malloc'd, or NULL. */
char *mlproto_stderr(const uint8_t *p, size_t n);
/* The bytes of a "stderr" message into *out (malloc'd).  0 or -1. */
int mlproto_stderr_data(const json_t *o, uint8_t **out, size_t *outn);
/*
 * The exit status an "exit" message stands for, as a shell gives it:
 * "code" & 255, 128 + the number of "signal" (255 if unknown), 0 if it has
 * neither (the original agent's exit).
 */
int mlproto_exit_status(const json_t *o);
/* 128 + N for "SIGKILL" or "KILL" (signal N); 255 if unknown. */
int mlproto_signal_status(const char *name);

#endif
