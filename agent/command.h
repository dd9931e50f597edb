/*
 * command.h: the command the agent runs for the client, and its terminal
 * or pipes.
 *
 * command_spawn() starts it on a new pseudo-terminal (its own session, the
 * terminal its controlling one) or on pipes: standard input, output, and
 * error apart (cs_stderr_apart) or together with output.  What it writes
 * goes to on_output as it is read (up to 64 KiB a read), tagged with its
 * stream (standard output read into cm_out_buffer's answer when there is
 * one: the agent's replay ring); command_pause_output() stops reading (the
 * socket is full), so a flood of output stops the command, not our
 * memory.  Input from the client is queued (bounded by the caller:
 * command_input() says when the queue is full, on_input_room when it has
 * fallen below half) and written as the command takes it.
 *
 * End of input: on pipes, command_eof() closes the command's standard
 * input once every queued byte is written (never before: a command that
 * reads slowly still gets all of it, then its end); on a terminal it is
 * the terminal's EOF character, as typed.
 *
 * When the command has exited, its output is drained: until every stream
 * reports its end, or a second passes with nothing new while we are
 * reading (a background process may hold the terminal open; time spent
 * paused on a full socket does not count).  Then on_done(status) is
 * called once.  command_hangup() gives the command's process group
 * SIGHUP (and SIGCONT), as a terminal hang-up would.
 */
#ifndef MEDUSA_COMMAND_H
#define MEDUSA_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "buf.h"

enum command_stream {
	COMMAND_OUT = 0,
	COMMAND_ERR = 1
};

struct command;
typedef void command_output_f(struct command *, enum command_stream,
    const uint8_t *, size_t);
typedef void command_event_f(struct command *);
typedef void command_done_f(struct command *, int status);
/* Where to read up to max bytes of output (NULL: cm_rbuf). */
typedef uint8_t *command_buffer_f(struct command *, size_t max);

struct command_spec {
	const char	*cs_path;
	char		**cs_argv;
	const char	*cs_cwd;	/* NULL: ours */
	const char	*cs_term;
	int		cs_cols;
	int		cs_lines;
	bool		cs_pty;
	bool		cs_stderr_apart; /* pipes only */
};

struct command_out {
	int		co_fd;		/* -1: none, or closed */
	bool		co_end;		/* its end was read (the fd is kept:
					   closing a terminal's master would
					   hang up on a command still exiting) */
	ev_io		co_io;
};

struct command {
	struct ev_loop	*cm_loop;
	pid_t		cm_pid;
	int		cm_status;	/* wait status, once exited */
	bool		cm_pty;
	bool		cm_exited;
	bool		cm_done;	/* on_done called */
	bool		cm_paused;
	bool		cm_eof;		/* close input when the queue empties */
	int		cm_in;		/* pty master or stdin pipe; -1 closed */
	ev_io		cm_in_io;
	struct command_out cm_out[2];
	ev_child	cm_child;
	ev_timer	cm_drain;
	struct buf	cm_input;
	size_t		cm_input_max;
	uint8_t		*cm_rbuf;
	command_output_f *cm_on_output;
	command_buffer_f *cm_out_buffer; /* optional: standard output's */
	command_event_f	*cm_on_input_room;
	command_done_f	*cm_on_done;
	void		*cm_arg;
};

/*
 * Start the command; the callbacks and cm_arg must be set (and the struct
 * zeroed) before.  0, or -1 with the reason for the client in err (for a
 * program that cannot run: "cannot run PATH: ...").
 */
int command_spawn(struct command *, struct ev_loop *,
    const struct command_spec *, size_t input_max, char *err, size_t errlen);
/* Queue input; true when the queue is full (stop reading the client). */
bool command_input(struct command *, const uint8_t *, size_t);
/* Bytes of input queued, not yet taken by the command. */
size_t command_queued(const struct command *);
void command_eof(struct command *);
/* 0, or -1 (errno) */
int command_resize(struct command *, int cols, int lines);
void command_pause_output(struct command *);
void command_resume_output(struct command *);
void command_hangup(struct command *);
static inline bool command_running(const struct command *c) { return (c->cm_pid > 0 && !c->cm_exited); }
void command_free(struct command *);

#endif
