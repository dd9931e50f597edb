"""
Integration-test harness: starts the real `medusa` (and its workers) on a
port of its own, follows its bunyan log lines, and offers raw-socket helpers
for what an ordinary WebSocket client will not send.

Tests wait on events (a log line, a message, a close), never on fixed
sleeps.  What no event announces (a descriptor count, a socket's state in
/proc, a process gone, a counter another task moves) is polled by one
helper, wait_until() (until() in asyncio tests), with a generous time-out
that names what it waited for.  The few sleeps left pace traffic (a
canary sending every 10 ms, a slow reader) or are the scenario itself,
and say so.  The independent WebSocket implementation is Debian's
python3-websockets.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("MEDUSA_BIN", os.path.join(TOP, "bin"))
# Under valgrind (make valgrind) everything runs some tens of times slower.
VALGRIND = os.environ.get("MEDUSA_VALGRIND") == "1"
SLOW = 20.0 if VALGRIND else 1.0
TIMEOUT = float(os.environ.get("MEDUSA_TEST_TIMEOUT", "20")) * (6 if VALGRIND else 1)
VALGRIND_CMD = ["valgrind", "--trace-children=yes", "--quiet", "--vgdb=no",
                # Not the shells and stand-ins our programs start.
                "--trace-children-skip=/bin/*,/usr/bin/*,/usr/sbin/*",
                "--error-exitcode=99", "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect", "--num-callers=30"]

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
                   # assert(3) in our programs: a state they must never reach
                   "Assertion `")


# Valgrind's notes about itself rather than about our code: an ioctl it has
# no wrapper for (the pty's TIOCGPTPEER) and its three-line explanation.
VALGRIND_NOISE = ("Warning: noted but unhandled ioctl",
                  "This could cause spurious value errors",
                  "See README_MISSING_SYSCALL_OR_IOCTL")


# LeakSanitizer's tracer, when the process it checks at exit is killed
# under it (SIGKILL from a test's clean-up): not a finding about our code.
KILLED_NOISE = ("Unable to get registers from thread",)


def _is_report(line):
    """A sanitizer's or valgrind's report line (valgrind's start ==PID==)."""
    if any(m in line for m in SANITIZER_MARKS):
        return True
    if any(m in line for m in VALGRIND_NOISE):
        return False
    return line.startswith("==") and line[2:3].isdigit()


def _poll(cond, timeout, what, fail):
    """The poll behind wait_until() and until(): a generator that yields
    while cond() is false and returns its first true value.  At the
    deadline it raises an AssertionError naming `what` (a string, or a
    function that gives one then), or, with fail=False, returns cond()'s
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            if not fail:
                return v
            raise AssertionError("timed out after %g s waiting for %s" % (
                timeout, what() if callable(what) else what))
        yield


def wait_until(cond, timeout=TIMEOUT, what="the condition", fail=True,
               every=0.02):
    """Poll cond() (every `every` s) until it is true; returns its value.
    The one way the tests wait for what nothing announces."""
    g = _poll(cond, timeout, what, fail)
    try:
        while True:
            next(g)
            time.sleep(every)
    except StopIteration as e:
        return e.value


async def until(cond, timeout=TIMEOUT, what="the condition", fail=True,
                every=0.02):
    """wait_until() in an asyncio test: the loop runs while it waits."""
    g = _poll(cond, timeout, what, fail)
    try:
        while True:
            next(g)
            await asyncio.sleep(every)
    except StopIteration as e:
        return e.value


def fnv1a(s):
    """The shard hash (shared/server/shard.h): FNV-1a 32 over the lowercased id."""
    h = 2166136261
    for c in s.lower().encode():
        h ^= c
        h = (h * 16777619) & 0xffffffff
    return h


def ids_for_shards(nshards, prefix="sess"):
    """One session id per shard, deterministically."""
    found = {}
    i = 0
    while len(found) < nshards:
        sid = "%s-%d" % (prefix, i)
        found.setdefault(fnv1a(sid) % nshards, sid)
        i += 1
    return [found[k] for k in range(nshards)]


_LIVE = []


def _kill_leftovers():
    """A test that failed before stopping its processes leaves none behind."""
    for p in _LIVE:
        if p.poll() is None:
            p.kill()
            p.wait()


import atexit
atexit.register(_kill_leftovers)


class LogProc:
    """A child process whose stderr carries bunyan JSON lines we follow."""

    def __init__(self, cmd, env=None, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL):
        self.logs = []
        self.raw = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout,
                                     stderr=subprocess.PIPE, env=env)
        _LIVE.append(self.proc)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stderr:
            text = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.raw.append(text)
                try:
                    self.logs.append(json.loads(text))
                except ValueError:
                    pass
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log(self, pred, timeout=TIMEOUT, start=0, count=1):
        """Wait for `count` log lines (from index `start`) matching pred."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [l for l in self.logs[start:] if pred(l)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "timed out waiting for a log line; last lines:\n" +
                        "\n".join(self.raw[-20:]))
                if self.proc.poll() is not None and not self.reader.is_alive():
                    raise AssertionError("process exited (%s); last lines:\n%s"
                                         % (self.proc.returncode,
                                            "\n".join(self.raw[-20:])))
                self.cond.wait(min(left, 0.5))

    def wait_msg(self, msg, **kw):
        return self.wait_log(lambda l: l.get("msg") == msg, **kw)

    def mark(self):
        """Index of the next log line, for wait_log(start=...)."""
        with self.cond:
            return len(self.logs)

    def wait_exit(self, timeout=TIMEOUT):
        rc = self.proc.wait(timeout)
        self._reap()
        return rc

    def _reap(self):
        self.reader.join(TIMEOUT)
        if not self.reader.is_alive() and not self.proc.stderr.closed:
            self.proc.stderr.close()

    def sanitizer_reports(self):
        killed = getattr(self, "killed", False)
        with self.cond:
            return [l for l in self.raw if _is_report(l) and not (
                killed and any(m in l for m in KILLED_NOISE))]

    def check_clean(self, testcase):
        bad = self.sanitizer_reports()
        testcase.assertEqual(bad, [], "sanitizer reports:\n" + "\n".join(
            self.raw[-60:]))


class Medusa(LogProc):
    """A running reflector: `medusa -p 0` with a config of our own."""

    def __init__(self, workers=3, config=None, args=(), wait_ready=True,
                 level="debug", wrapper=()):
        fd, self.config_path = tempfile.mkstemp(prefix="medusa-", suffix=".json")
        self.admin_socket = self.config_path[:-5] + ".sock"
        # Most tests speak bare /attach paths with no credential: "auth"
        # "none" (the tests of authentication set "signature").  The
        # status listener on a port of its own.
        cfg = {"bind": "127.0.0.1", "port": 0, "admin_socket": self.admin_socket,
               "auth": "none", "status_listen": "127.0.0.1:0"}
        cfg.update(config or {})
        with os.fdopen(fd, "w") as f:
            json.dump(cfg, f)
        # Run as root, medusa becomes nobody: it must still read this.
        os.chmod(self.config_path, 0o644)
        self.workers = workers
        cmd = list(wrapper) + (VALGRIND_CMD if VALGRIND else []) + [
            os.path.join(BIN, "medusa"), "-f", self.config_path,
            "-w", str(workers), "-l", level] + list(args)
        LogProc.__init__(self, cmd)
        line = self.wait_log(lambda l: l.get("msg") == "listening" and
                             l.get("listener", "public") == "public")
        self.port = line["port"]
        self.status_port = None
        if cfg.get("status_listen"):
            line = self.wait_log(lambda l: l.get("msg") == "listening" and
                                 l.get("listener") == "status")
            self.status_port = line["port"]
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, start=0, count=None):
        self.wait_log(lambda l: l.get("msg") == "worker ready" and
                      l.get("component") == "supervisor",
                      start=start, count=count or self.workers)

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def status(self):
        """The full /status, from the status listener."""
        return http_get_json(self.status_port, "/status")

    def worker_pids(self):
        st = self.status()
        return {w["shard"]: w["pid"] for w in st["workers"]}

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reap()
        os.unlink(self.config_path)
        return rc


class Agent(LogProc):
    """A medusa-agent dialling in as the slave of a session."""

    def __init__(self, url, args=(), env=None, binary="medusa-agent"):
        e = dict(os.environ)
        e.update(env or {})
        argv = (VALGRIND_CMD if VALGRIND else []) + [
            os.path.join(BIN, binary), "-l", "debug"] + list(args)
        if url is not None:
            argv.append(url)
        LogProc.__init__(self, argv, env=e)

    def stop(self):
        # An agent whose session ended is on its way out: let it finish.
        # Killed in the middle of LeakSanitizer's exit check, its tracer
        # prints "Unable to get registers from thread", a false report.
        if self.proc.poll() is None and any(
                l.get("msg") == "session ended" for l in list(self.logs)):
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.killed = True
            self.proc.kill()
        rc = self.proc.wait()
        self._reap()
        return rc


class Pty:
    """A program on a real pseudo-terminal of a given size."""

    def __init__(self, argv, rows=24, cols=80, env=None):
        import pty
        import termios
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                import fcntl
                fcntl.ioctl(0, termios.TIOCSWINSZ,
                            struct.pack("HHHH", rows, cols, 0, 0))
                os.execve(argv[0], argv, env if env is not None else os.environ)
            finally:
                os._exit(127)
        self.buf = b""
        self.pos = 0
        self.status = None

    def _fill(self, deadline):
        import select
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            raise EOFError
        self.buf += data
        return True

    def expect(self, pattern, timeout=TIMEOUT):
        """Wait until the output after the last match matches pattern."""
        import re
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            try:
                if not self._fill(deadline):
                    raise AssertionError("timed out waiting for %r; output:\n%r"
                                         % (pattern, self.buf[-2000:]))
            except EOFError:
                raise AssertionError("EOF waiting for %r; output:\n%r"
                                     % (pattern, self.buf[-2000:]))

    def send(self, data):
        os.write(self.fd, data)

    def resize(self, rows, cols):
        import fcntl
        import termios
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def wait(self, timeout=TIMEOUT):
        """Read to the end of output, then the exit status."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except EOFError:
            pass
        def exited():
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            return (st,) if pid else None
        st, = wait_until(exited, max(deadline - time.monotonic(), 0),
                         lambda: "the program to exit; output:\n%r" %
                         self.buf[-2000:])
        os.close(self.fd)
        self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def kill(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                os.close(self.fd)
            except OSError:
                pass


# --- raw HTTP ------------------------------------------------------------

def parse_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def raw_exchange(port, data, timeout=TIMEOUT, host="127.0.0.1", family=socket.AF_INET):
    """Send bytes, read until the server closes; returns what it sent."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    if data:
        s.sendall(data)
    out = read_to_eof(s, timeout)
    s.close()
    return out


def read_to_eof(s, timeout=TIMEOUT):
    """What s receives until the server closes (or resets) it."""
    s.settimeout(timeout)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    return out


def read_until(s, marker):
    """What s receives until marker has come (or the end)."""
    buf = b""
    while marker not in buf:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf


def http_get(port, path, headers=None):
    req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path
    for k, v in (headers or {}).items():
        req += "%s: %s\r\n" % (k, v)
    req += "\r\n"
    return parse_response(raw_exchange(port, req.encode()))


def http_get_json(port, path):
    status, headers, body = http_get(port, path)
    assert status == 200, (status, body)
    return json.loads(body)


# --- a WebSocket client (python3-websockets) ----------------------------------

WAIT = 'medusa:{"type":"wait"}'
LINKUP = 'medusa:{"type":"linkup"}'


def ws_connect(m, path, **kw):
    """python3-websockets on m's path: no compression, no size limit, no
    pings of its own unless asked."""
    import websockets
    kw.setdefault("compression", None)
    kw.setdefault("max_size", None)
    kw.setdefault("ping_interval", None)
    return websockets.connect(m.url(path), open_timeout=TIMEOUT, **kw)


async def ws_recv(ws, timeout=TIMEOUT):
    return await asyncio.wait_for(ws.recv(), timeout)


async def ws_pair(m, sid):
    """A linked master and slave; both linkups consumed."""
    master = await ws_connect(m, "/attach/%s/master" % sid)
    assert await ws_recv(master) == WAIT
    slave = await ws_connect(m, "/attach/%s/slave" % sid)
    assert await ws_recv(slave) == LINKUP
    assert await ws_recv(master) == LINKUP
    return master, slave


async def ws_close_of(ws):
    """The CLOSE ws got: (code, reason), or None for a bare disconnect."""
    import websockets
    try:
        while True:
            await ws_recv(ws)
    except websockets.ConnectionClosed as e:
        return (e.rcvd.code, e.rcvd.reason) if e.rcvd else None


# --- raw WebSocket frames ---------------------------------------------------

def frame(opcode, payload=b"", fin=True, mask=b"\x11\x22\x33\x44", rsv=0,
          length=None):
    """A client frame, masked unless mask is None; length overrides."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if mask is not None else 0
    if n <= 125:
        hdr = struct.pack("!BB", b0, m | n)
    elif n <= 0xffff:
        hdr = struct.pack("!BBH", b0, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, m | 127, n)
    if mask is None:
        return hdr + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return hdr + mask + body


UPGRADE = ("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


class RawWS:
    """A hand-driven WebSocket client on asyncio streams."""

    @classmethod
    async def connect(cls, port, path, version=True, extra=""):
        self = cls()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        req = UPGRADE.format(path=path)
        if version:
            req += "Sec-WebSocket-Version: 13\r\n"
        req += extra + "\r\n"
        self.writer.write(req.encode())
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        self.status, self.headers, _ = parse_response(head)
        return self

    def send_raw(self, data):
        self.writer.write(data)

    async def send(self, opcode, payload=b"", **kw):
        self.writer.write(frame(opcode, payload, **kw))
        await self.writer.drain()

    async def recv_frame(self, timeout=TIMEOUT):
        """(fin, opcode, payload), or None at end of stream."""
        try:
            h = await asyncio.wait_for(self.reader.readexactly(2), timeout)
        except asyncio.IncompleteReadError:
            return None
        fin, op = bool(h[0] & 0x80), h[0] & 0x0f
        assert not (h[1] & 0x80), "server frames must not be masked"
        n = h[1] & 0x7f
        if n == 126:
            n = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        payload = await asyncio.wait_for(self.reader.readexactly(n), timeout)
        return fin, op, payload

    async def recv_close(self, timeout=TIMEOUT):
        """Skip data frames up to a CLOSE; returns (code, reason) or None."""
        while True:
            f = await self.recv_frame(timeout)
            if f is None:
                return None
            if f[1] == 8:
                p = f[2]
                if len(p) >= 2:
                    return struct.unpack("!H", p[:2])[0], p[2:].decode()
                return (1005, "")

    async def expect_eof(self, timeout=TIMEOUT):
        data = await asyncio.wait_for(self.reader.read(), timeout)
        return data

    def close(self):
        self.writer.close()


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


def worker_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _tcp_conn_inodes():
    """Inodes of TCP sockets that are connections (not listening)."""
    out = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    p = line.split()
                    if p[3] != "0A":        # 0A: LISTEN
                        out.add(p[9])
        except OSError:
            pass
    return out


def server_end(port, client):
    """(state, inode) of the server's end, on 127.0.0.1:port, of client
    socket `client`, from /proc/net/tcp (state as there: "01"
    ESTABLISHED, "03" SYN_RECV); None if there is none."""
    want = "0100007F:%04X 0100007F:%04X" % (port, client.getsockname()[1])
    with open("/proc/net/tcp") as f:
        for line in f:
            p = line.split()
            if "%s %s" % (p[1], p[2]) == want:
                return p[3], int(p[9])
    return None


def tcp_conns(pid):
    """How many TCP connections (not listeners) the process holds."""
    conns = _tcp_conn_inodes()
    return len([t for t in fd_table(pid).values()
                if t.startswith("socket:[") and t[8:-1] in conns])


def wait_tcp_conns(pid, n, timeout=TIMEOUT):
    """Wait until the process holds exactly n TCP connections (it has seen
    the others close)."""
    wait_until(lambda: tcp_conns(pid) == n, timeout,
               lambda: "pid %d to hold %d TCP connections, not %d: %r" %
               (pid, n, tcp_conns(pid), fd_table(pid)))


def quiet_fds(pid, timeout=5.0):
    """open_fds(pid) once the process holds no TCP connection: its base
    count, not one that includes a client (the start-up /status probe)
    it has not yet seen close."""
    wait_tcp_conns(pid, 0, timeout)
    return open_fds(pid)


def fd_table(pid):
    """What each descriptor of a process is, for failure messages."""
    out = {}
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(f)] = os.readlink("/proc/%d/fd/%s" % (pid, f))
        except OSError:
            pass
    return out


class AsyncTestCase(unittest.IsolatedAsyncioTestCase):
    """Asyncio tests without asyncio's debug mode, which unittest turns on:
    it costs far too much with hundreds of connections."""

    async def asyncSetUp(self):
        asyncio.get_running_loop().set_debug(False)
