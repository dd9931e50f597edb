/*
 * sdnotify.h: readiness and state notifications to systemd (or any service
 * manager that speaks its protocol), without libsystemd.
 *
 * The protocol (sd_notify(3)).  A service started with Type=notify finds in
 * $NOTIFY_SOCKET the address of a datagram socket of the manager's and
 * sends it, one datagram per notification, newline-separated KEY=VALUE
 * assignments: "READY=1" once it serves (until then `systemctl start`
 * waits, and units ordered after it wait), "RELOADING=1" when it begins a
 * reload and "READY=1" again when that is done, "STOPPING=1" when it begins
 * to stop, "STATUS=..." a line that `systemctl status` shows.  The address
 * is a file system path ("/run/systemd/notify") or, written with a leading
 * '@', a name in the abstract namespace (the '@' stands for the NUL byte
 * that starts such a name).  Newer managers also hand out "vsock:CID:PORT";
 * this module refuses it (Debian 12's systemd 252 never does).  The manager
 * learns the sender's pid from the kernel (SCM_CREDENTIALS), and with the
 * default NotifyAccess=main accepts only the main process's.
 *
 * sdnotify_init() reads the variable and removes it from the environment,
 * so that processes started later (the workers) do not inherit it.  With no
 * variable the module is off: a send does nothing and succeeds, so the same
 * binary runs under systemd and by hand.  A send never blocks (a full
 * queue at the manager is an error, reported, not a stalled event loop),
 * and it opens and closes its own socket: notifications are rare.
 *
 * Shared code: errors are returned with a message in err, never logged.
 */
#ifndef MEDUSA_SDNOTIFY_H
#define MEDUSA_SDNOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

struct sdnotify {
	bool			sn_on;		/* an address to send to */
	socklen_t		sn_len;		/* of sn_addr, as sendto wants */
	struct sockaddr_un	sn_addr;
};

/*
 * The address in a NOTIFY_SOCKET value: an absolute path or "@name".
 * 0 with sn on, or -1 with err (sn off).  No I/O.
 */
int sdnotify_parse(const char *value, struct sdnotify *sn, char *err,
    size_t errlen);

/*
 * Take $NOTIFY_SOCKET out of the environment and parse it.  0 (sn off if
 * the variable is unset or empty), or -1 with err for a value that is no
 * address we can use (sn off; the variable is removed all the same).
 */
int sdnotify_init(struct sdnotify *sn, char *err, size_t errlen);

/*
 * Send one notification, e.g. "READY=1" or "STATUS=3 of 4 workers
 * ready\nREADY=1".  0 when sent or when sn is off; -1 with err.
 */
int sdnotify_send(const struct sdnotify *sn, const char *state, char *err,
    size_t errlen);

#endif
