"""
Limits (the hardening issue): each limit is configurable, has a default,
and when it is hit the client gets the documented answer and the server
writes a log line.

One test per limit.  Each sets its limit small in a config of its own (key
names and ranges: shared/server/config.c), hits it against the real binaries, and
checks both what the client sees (an HTTP status with a JSON body before
the upgrade, a WebSocket close code after it, a sender that is no longer
read, or for max_connections that an extra connection is served only once
another has closed) and the bunyan line the server writes (the msg texts
are those of supervisor/front.c, worker/main.c, worker/conn.c and
worker/session.c):

  max_connections               accept pauses; served after one closes
  max_connections_per_address   503 TooManyConnections, both where counted:
                                the supervisor (heads being read) and each
                                worker (established connections)
  max_sessions_per_worker       503 TooManySessions
  head_max_bytes                431 (at the limit: served)
  head_timeout_s                408; a silent connection is just closed
  max_id_length, id characters  400 InvalidSessionId (or the parser's 400)
  max_message_bytes             close 1009 (at the limit: relayed)
  outbound_high/low_water_bytes the sender is not read, then read again;
                                also for a peer that never reads its pongs
  pairing_timeout_s             close 1001 "timed out waiting for the peer"
  idle_timeout_s                close 1001 "idle timeout"
  close_timeout_s               the close handshake, and a client that keeps
                                its socket open after an error answer
  hold_timeout_s                503 when the shard has no worker ready

plus every key accepted at its minimum and refused below it (medusa -t),
and the README's "at most a line a second" for refusals in a flood.

Everything waits on events (log lines, answers, closes).  Where a time-out
is the limit, the elapsed time is only checked from below.  The two places
where the test has to decide that the server stopped reading or closed a
socket poll for that condition (harness.wait_until) with a deadline.
"""
import asyncio
import json
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

from harness import (AsyncTestCase, BIN, Medusa, RawWS, UPGRADE,
                     close_payload, frame, parse_response, raw_exchange,
                     server_end, tcp_conns, wait_tcp_conns, SLOW,
                     TIMEOUT, wait_until, read_to_eof, read_until)

ERROR, WARN, INFO = 50, 40, 30
LINKUP = b'medusa:{"type":"linkup"}'
WAIT = b'medusa:{"type":"wait"}'
# How long a test that found a socket closed or stalled still waits for the
# log line that should already have been written (a generous margin for
# the log reader thread; failing gap tests cost no more than this).
LOG_GRACE = 1.0 * SLOW
# A socket we write to that accepts nothing for this long: the server has
# stopped reading it (loopback moves gigabytes a second otherwise).
STALL = 2.0 * SLOW
# The lower bound checked for a time-out of T seconds (timers fire at or
# after their time; this only allows for clock granularity).
EARLY = 0.05


# --- raw helpers ------------------------------------------------------------

def upgrade_req(path, extra=b""):
    return (UPGRADE.format(path=path) +
            "Sec-WebSocket-Version: 13\r\n").encode() + extra + b"\r\n"


def answer(data):
    """(status, headers, JSON body or None) of a whole raw HTTP answer."""
    st, headers, body = parse_response(data)
    return st, headers, (json.loads(body) if body else None)


def held(port, data=b"", rcvbuf=None):
    """A blocking client socket that has sent `data` (maybe nothing)."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(TIMEOUT)
    s.connect(("127.0.0.1", port))
    if data:
        s.sendall(data)
    return s


def peer_of(s):
    """What the server logs as the peer of client socket s."""
    return "%s:%d" % s.getsockname()[:2]


def read_head(s):
    """The response head of an upgrade request, and the bytes after it."""
    head, _, rest = read_until(s, b"\r\n\r\n").partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def wait_dropped(s, timeout=TIMEOUT):
    """After the server's FIN: poke the socket until the server has closed
    its end (our bytes then draw a reset).  True if it did in time."""
    def reset():
        try:
            s.send(b"x")
            s.recv(65536)
        except (BlockingIOError, InterruptedError):
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        return False
    s.setblocking(False)
    return wait_until(reset, timeout, fail=False)


class Frames:
    """Server frames from a blocking socket: (opcode, payload) or None."""

    def __init__(self, sock, rest=b""):
        self.s, self.buf, self.pos = sock, bytearray(rest), 0

    def _parse(self):
        b, p = self.buf, self.pos
        if len(b) - p < 2:
            return None
        n, off = b[p + 1] & 0x7f, 2
        if n == 126:
            if len(b) - p < 4:
                return None
            n, off = struct.unpack_from("!H", b, p + 2)[0], 4
        elif n == 127:
            if len(b) - p < 10:
                return None
            n, off = struct.unpack_from("!Q", b, p + 2)[0], 10
        if len(b) - p < off + n:
            return None
        self.pos = p + off + n
        return b[p] & 0x0f, bytes(b[p + off:p + off + n])

    def next(self, timeout=TIMEOUT):
        while True:
            f = self._parse()
            if f is not None:
                return f
            if self.pos > (1 << 20):
                del self.buf[:self.pos]
                self.pos = 0
            self.s.settimeout(timeout)
            d = self.s.recv(1 << 20)
            if not d:
                return None
            self.buf += d


async def ws(port, path, extra=""):
    """RawWS.connect, with the JSON body of a refusal in .body."""
    r = await RawWS.connect(port, path, extra=extra)
    r.body = None
    if r.status != 101:
        n = int(r.headers.get("content-length", "0"))
        r.body = json.loads(await asyncio.wait_for(r.reader.readexactly(n),
                                                   TIMEOUT))
    return r


async def ctl_status(m):
    """One round trip through the supervisor's loop on its admin socket."""
    r = await asyncio.to_thread(
        subprocess.run, [os.path.join(BIN, "medusactl"), "-S", m.admin_socket,
                         "--json", "status"], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


class LimitTest(AsyncTestCase):

    m = None

    def start(self, workers=1, **config):
        self.m = Medusa(workers=workers, config=config)
        return self.m

    async def asyncTearDown(self):
        if self.m is not None:
            self.assertEqual(self.m.stop(), 0)
            self.m.check_clean(self)

    async def log(self, pred, start, timeout=TIMEOUT):
        return await asyncio.to_thread(self.m.wait_log, pred, timeout=timeout,
                                       start=start)

    async def msg(self, msg, start, timeout=TIMEOUT, **fields):
        """The first line from `start` with this msg and these fields."""
        return await self.log(lambda l: l.get("msg") == msg and all(
            l.get(k) == v for k, v in fields.items()), start, timeout)

    async def expect_log(self, pred, start, what, timeout=LOG_GRACE):
        """A line that should have been written already; `what` says
        which, for the failure message."""
        try:
            return await self.log(pred, start, timeout)
        except AssertionError as e:
            self.fail("no log line: %s\n%s" % (what, e))

    def index(self, line):
        for i, l in enumerate(self.m.logs):
            if l is line:
                return i
        raise AssertionError("not a log line: %r" % line)

    def lines(self, start, pred):
        return [l for l in self.m.logs[start:] if pred(l)]

    # --- connections ------------------------------------------------------

    async def test_max_connections_pauses_accept_until_one_closes(self):
        m = self.start(max_connections=2)
        mark = m.mark()
        a = held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n")     # heads not ended
        b = held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n")
        a_peer = peer_of(a)
        line = await self.msg("connection limit reached; pausing accept", mark)
        self.assertEqual((line["level"], line["component"], line["max_connections"]),
                         (WARN, "supervisor", 2))
        # A third connection is completed by the kernel, but not accepted:
        # its whole request waits, unanswered, through two round trips of
        # the supervisor's loop (on the admin socket, which is not paused).
        c = held(m.port, b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n")
        c_peer = peer_of(c)
        for _ in range(2):
            await ctl_status(m)
        c.setblocking(False)
        with self.assertRaises(BlockingIOError):
            c.recv(1)
        self.assertEqual(self.lines(mark, lambda l: l.get("msg") == "request refused"), [])
        # One closes: the third is accepted and served, after that.
        freed = m.mark()
        a.close()
        gone = await self.msg("client closed before its head ended", freed, peer=a_peer)
        st, _, body = answer(await asyncio.to_thread(read_to_eof, c))
        self.assertEqual((st, body["code"]), (404, "ResourceNotFound"))
        served = await self.msg("request refused", freed, status=404, peer=c_peer)
        self.assertGreater(self.index(served), self.index(gone))
        b.close()
        c.close()

    async def test_per_address_limit_while_reading_heads(self):
        """The supervisor counts the connections whose heads it reads."""
        m = self.start(max_connections_per_address=2)
        a = held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n")
        b = held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n")
        a_peer = peer_of(a)
        mark = m.mark()
        st, headers, body = answer(await asyncio.to_thread(
            raw_exchange, m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n"))
        self.assertEqual((st, body["code"], headers.get("retry-after")),
                         (503, "TooManyConnections", "1"))
        line = await self.msg("too many connections from one address", mark,
                              component="supervisor")
        self.assertEqual((line["level"], line["address"], line["connections"],
                          line["max_connections_per_address"]),
                         (WARN, "127.0.0.1", 3, 2))
        # The refused one is gone (the supervisor saw it close) ...
        await asyncio.to_thread(wait_tcp_conns, m.proc.pid, 2)
        # ... and one of the two closes: the next request is served.
        freed = m.mark()
        a.close()
        await self.msg("client closed before its head ended", freed, peer=a_peer)
        await asyncio.to_thread(wait_tcp_conns, m.proc.pid, 1)
        st, _, body = answer(await asyncio.to_thread(
            raw_exchange, m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n"))
        self.assertEqual((st, body["health"]), (200, "ok"))
        b.close()

    async def test_defer_accept(self):
        """defer_accept_s: the kernel holds a connection until its first
        bytes arrive; 0, set by a reload, turns that off.  (10 s here, not
        the default 1: the kernel hands a silent connection over once its
        time is up, and the check must not depend on this test being quick.)"""
        m = self.start(defer_accept_s=10)

        def server_side_state(s):
            end = server_end(m.port, s)
            return end[0] if end else None

        s = held(m.port)
        # 03: SYN_RECV, still the kernel's, not accepted by the supervisor.
        self.assertEqual(server_side_state(s), "03")
        self.assertEqual(tcp_conns(m.proc.pid), 0)
        s.sendall(b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n")
        st, _, body = answer(await asyncio.to_thread(read_to_eof, s))
        self.assertEqual((st, body["health"]), (200, "ok"))
        s.close()

        with open(m.config_path) as f:
            cfg = json.load(f)
        cfg["defer_accept_s"] = 0
        with open(m.config_path, "w") as f:
            json.dump(cfg, f)
        mark = m.mark()
        m.proc.send_signal(signal.SIGHUP)
        await self.msg("configuration reloaded", mark)
        s = held(m.port)
        # 01: ESTABLISHED, and the supervisor holds it at once.
        self.assertEqual(server_side_state(s), "01")
        await asyncio.to_thread(wait_tcp_conns, m.proc.pid, 1)
        s.close()

    async def test_per_address_limit_on_established_connections(self):
        """Each worker counts the connections it holds, per address."""
        m = self.start(workers=1, max_connections_per_address=2)
        masters = []
        for i in range(2):
            r = await ws(m.port, "/attach/pa-%d/master" % i)
            self.assertEqual(r.status, 101)
            masters.append(r)
        mark = m.mark()
        c = await ws(m.port, "/attach/pa-2/master")
        self.assertEqual((c.status, c.body["code"], c.headers.get("retry-after")),
                         (503, "TooManyConnections", "1"))
        line = await self.msg("too many connections from one address", mark,
                              component="worker")
        self.assertEqual((line["level"], line["address"], line["connections"],
                          line["max_connections_per_address"]),
                         (WARN, "127.0.0.1", 3, 2))
        self.assertEqual(self.lines(mark, lambda l: l.get("msg") == "attached" and
                                    l.get("session") == "pa-2"), [])
        self.assertEqual(await c.expect_eof(), b"")
        c.close()
        # One master leaves: the next attach is upgraded.
        freed = m.mark()
        masters[0].close()
        await self.msg("connection closed without a close frame", freed,
                       session="pa-0")
        d = await ws(m.port, "/attach/pa-3/master")
        self.assertEqual(d.status, 101)
        self.assertEqual((await d.recv_frame())[2], WAIT)
        for r in masters[1:] + [d]:
            r.close()

    async def test_sessions_per_worker(self):
        m = self.start(workers=1, max_sessions_per_worker=2)
        s0 = await ws(m.port, "/attach/ms-0/master")
        s1 = await ws(m.port, "/attach/ms-1/master")
        self.assertEqual((s0.status, s1.status), (101, 101))
        mark = m.mark()
        x = await ws(m.port, "/attach/ms-2/master")
        self.assertEqual((x.status, x.body["code"], x.headers.get("retry-after")),
                         (503, "TooManySessions", "1"))
        # ("request refused" today; any line that names the code will do.)
        line = await self.log(lambda l: l.get("code") == "TooManySessions", mark)
        self.assertEqual(line["component"], "worker")
        self.assertGreaterEqual(line["level"], INFO)
        self.assertEqual(await x.expect_eof(), b"")
        x.close()
        # The other side of a session that exists is still let in.
        sl = await ws(m.port, "/attach/ms-0/slave")
        self.assertEqual(sl.status, 101)
        self.assertEqual((await sl.recv_frame())[2], LINKUP)
        # A session ends: there is room for a new one.
        freed = m.mark()
        s1.close()
        await self.msg("session ended", freed, session="ms-1")
        y = await ws(m.port, "/attach/ms-2/master")
        self.assertEqual(y.status, 101)
        for r in (s0, sl, y):
            r.close()

    # --- request heads and session ids --------------------------------------

    async def test_request_head_size(self):
        m = self.start(head_max_bytes=256)

        def padded(start, size):
            pad = size - len(start) - len(b"X-Pad: \r\n\r\n")
            return start + b"X-Pad: " + b"a" * pad + b"\r\n\r\n"
        status = b"GET /status HTTP/1.1\r\nHost: x\r\n"
        # Exactly the limit: served.
        st, _, body = answer(await asyncio.to_thread(
            raw_exchange, m.port, padded(status, 256)))
        self.assertEqual((st, body["health"]), (200, "ok"))
        up = upgrade_req("/attach/hm/master")[:-2]
        r = await ws(m.port, "/attach/hm/master",
                     extra=padded(up, 256)[len(up):-2].decode())
        self.assertEqual(r.status, 101)
        r.close()
        # One byte more: 431, whatever the request.
        for name, req in (("status", padded(status, 257)),
                          ("attach", padded(up, 257)),
                          ("never ends", status + b"X: " + b"a" * 300)):
            with self.subTest(case=name):
                mark = m.mark()
                st, _, body = answer(await asyncio.to_thread(raw_exchange, m.port, req))
                self.assertEqual((st, body["code"], body["message"]),
                                 (431, "RequestHeaderFieldsTooLarge",
                                  "the request head is too large"))
                line = await self.msg("request refused", mark, status=431)
                self.assertEqual((line["code"], line["error"], line["component"]),
                                 ("RequestHeaderFieldsTooLarge",
                                  "the request head is too large", "supervisor"))

    async def test_head_read_timeout(self):
        T = 0.3
        m = self.start(head_timeout_s=T)
        mark = m.mark()

        def slowloris():
            # A byte every 50 ms: the time-out counts from accept, not
            # from the last byte.
            s = held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            t0, deadline = time.monotonic(), time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                r, _, _ = select.select([s], [], [], 0.05)
                if r:
                    break
                s.sendall(b"z")
            data = read_to_eof(s)
            elapsed = time.monotonic() - t0
            peer = peer_of(s)
            s.close()
            return data, elapsed, peer
        data, elapsed, peer = await asyncio.to_thread(slowloris)
        st, _, body = answer(data)
        self.assertEqual((st, body["code"]), (408, "RequestTimeout"))
        self.assertGreaterEqual(elapsed, T - EARLY)
        line = await self.msg("request refused", mark, status=408, peer=peer)
        self.assertEqual((line["code"], line["component"]),
                         ("RequestTimeout", "supervisor"))
        # A connection that sends nothing is closed without an answer.
        s = held(m.port)
        peer = peer_of(s)
        t0 = time.monotonic()
        self.assertEqual(await asyncio.to_thread(read_to_eof, s), b"")
        self.assertGreaterEqual(time.monotonic() - t0, T - EARLY)
        s.close()
        await self.msg("connection idle before a request", mark, peer=peer)

    async def test_session_id_length_and_characters(self):
        m = self.start(max_id_length=8)
        for sid in ("abcdefgh", "A-z_0.9~", "x"):
            with self.subTest(good=sid):
                mark = m.mark()
                r = await ws(m.port, "/attach/%s/master" % sid)
                self.assertEqual(r.status, 101)
                await self.msg("attached", mark, session=sid.lower())
                r.close()
                await self.msg("session ended", mark, session=sid.lower())
        # (id bytes, code): everything else is a 400.
        bad = [(b"abcdefghi", "InvalidSessionId"), (b"a" * 200, "InvalidSessionId"),
               (b"", "InvalidSessionId"), (b".", "InvalidSessionId"),
               (b"..", "InvalidSessionId"), (b"a!b", "InvalidSessionId"),
               (b"a@b", "InvalidSessionId"), (b"a:b", "InvalidSessionId"),
               (b"a+b", "InvalidSessionId"), (b"a*b", "InvalidSessionId"),
               (b"a%41", "InvalidSessionId"), (b"a%2fb", "InvalidSessionId"),
               (b"a%00b", "InvalidSessionId"),
               # Not even a valid request target: the HTTP parser's 400.
               (b"a\x00b", "BadRequest"), ("\u00e9".encode(), "BadRequest")]
        for sid, code in bad:
            with self.subTest(bad=sid):
                mark = m.mark()
                req = (b"GET /attach/" + sid + b"/master" +
                       upgrade_req("/")[len(b"GET /"):])
                st, _, body = answer(await asyncio.to_thread(raw_exchange, m.port, req))
                self.assertEqual((st, body["code"]), (400, code))
                line = await self.msg("request refused", mark, status=400)
                self.assertEqual(line["code"], code)
        self.assertEqual(self.lines(0, lambda l: l.get("msg") == "attached" and
                                    l.get("session") not in ("abcdefgh", "a-z_0.9~", "x")), [])

    # --- messages and buffers ---------------------------------------------

    async def pair(self, sid):
        """A session of two raw clients, linked; slave first (no pulses)."""
        slave = await ws(self.m.port, "/attach/%s/slave" % sid)
        master = await ws(self.m.port, "/attach/%s/master" % sid)
        self.assertEqual((slave.status, master.status), (101, 101))
        self.assertEqual((await slave.recv_frame())[2], LINKUP)
        self.assertEqual((await master.recv_frame())[2], LINKUP)
        return master, slave

    async def test_message_size(self):
        MAX = 1000
        m = self.start(max_message_bytes=MAX)
        x = b"x" * MAX
        # (name, frames from the master, what the slave gets or None: 1009)
        cases = [
            ("exactly the limit", [frame(2, x)], (True, 2, x)),
            ("the limit in fragments", [frame(2, x[:500], fin=False),
                                        frame(0, x[500:])], (True, 2, x)),
            ("text at the limit", [frame(1, "\u00e9".encode() * (MAX // 2))],
             (True, 1, "\u00e9".encode() * (MAX // 2))),
            ("one byte over", [frame(2, x + b"y")], None),
            ("over in fragments", [frame(2, x[:600], fin=False),
                                   frame(0, x[:401])], None),
            ("over in many fragments", [frame(1, b"a" * 100, fin=False)] +
             [frame(0, b"a" * 100, fin=False)] * 9 + [frame(0, b"a")], None),
            ("text one byte over", [frame(1, b"a" * (MAX + 1))], None),
            ("a huge declared length", [frame(2, b"", length=1 << 40)], None),
        ]
        for i, (name, frames, relayed) in enumerate(cases):
            with self.subTest(case=name):
                sid = "mm-%d" % i
                master, slave = await self.pair(sid)
                mark = m.mark()
                for f in frames:
                    master.send_raw(f)
                await master.writer.drain()
                if relayed is not None:
                    self.assertEqual(await slave.recv_frame(), relayed)
                    await master.send(8, close_payload(1000))
                    self.assertEqual(await slave.recv_close(), (1000, ""))
                else:
                    self.assertEqual(await master.recv_close(), (1009, "message too big"))
                    self.assertEqual(await slave.recv_close(),
                                     (1001, "master: message too big"))
                    line = await self.msg("closing connection: bad input", mark,
                                          session=sid)
                    self.assertEqual((line["level"], line["close_code"], line["error"],
                                      line["role"]),
                                     (WARN, 1009, "message too big", "master"))
                master.close()
                slave.close()

    async def test_bytes_queued_for_a_connection(self):
        """Output queued for a master that does not read stops the slave
        being read above the high watermark and lets it go on below the
        low one; nothing is lost."""
        HIGH, LOW, CHUNK = 4096, 1024, 16384
        m = self.start(outbound_high_water_bytes=HIGH, outbound_low_water_bytes=LOW)
        sid = "hw"
        slave = await ws(m.port, "/attach/%s/slave" % sid)
        msock = await asyncio.to_thread(held, m.port,
                                        upgrade_req("/attach/%s/master" % sid), 4096)
        st, rest = await asyncio.to_thread(read_head, msock)
        self.assertEqual((slave.status, st), (101, 101))
        self.assertEqual((await slave.recv_frame())[2], LINKUP)
        mark = m.mark()
        sent, stop = 0, False

        async def sender():
            nonlocal sent
            while not stop:
                await slave.send(2, struct.pack("!I", sent) + bytes([sent & 0xff]) * (CHUNK - 4))
                sent += 1
        task = asyncio.ensure_future(sender())
        try:
            line = await self.msg("peer not reading; pausing", mark, session=sid)
        finally:
            stop = True
        self.assertEqual(line["paused"], "slave")
        # The queue stays within the high watermark plus one read of the
        # slave (the messages of one read are relayed together, in one
        # sendmsg; the worker reads up to 256 KiB at a time), each message
        # with a frame header.
        READ = 256 * 1024
        self.assertGreaterEqual(line["queued"], HIGH)
        self.assertLess(line["queued"], HIGH + READ + 14 * (READ // CHUNK + 1))
        self.assertFalse(task.done())

        def reader():
            f = Frames(msock, rest)
            self.assertEqual(f.next(), (1, LINKUP))
            got = []
            while True:
                op, p = f.next()
                if op == 1:
                    return got, p
                got.append(p)
        reading = asyncio.ensure_future(asyncio.to_thread(reader))
        await task
        await slave.send(1, b"end")
        got, last = await reading
        self.assertEqual(last, b"end")
        self.assertEqual(len(got), sent)
        for i, p in enumerate(got):
            self.assertEqual(p, struct.pack("!I", i) + bytes([i & 0xff]) * (CHUNK - 4))
        line = await self.msg("peer reading again; resuming", mark, session=sid)
        self.assertEqual(line["resumed"], "slave")
        self.assertLessEqual(line["queued"], LOW)
        await slave.send(8, close_payload(1000))
        self.assertEqual(await slave.recv_close(), (1000, ""))
        slave.close()
        msock.close()

    async def test_pongs_queued_for_a_peer_that_never_reads(self):
        """A peer that pings and never reads its pongs: above the high
        watermark it is not read any more (client-visible: its writes
        stall), and when it reads again every ping is answered.  That pause
        must be logged like the other one."""
        HIGH, LOW = 4096, 1024
        m = self.start(outbound_high_water_bytes=HIGH, outbound_low_water_bytes=LOW)
        sid = "pf"
        s = await asyncio.to_thread(held, m.port,
                                    upgrade_req("/attach/%s/master" % sid), 4096)
        st, rest = await asyncio.to_thread(read_head, s)
        self.assertEqual(st, 101)
        mark = m.mark()
        ping = frame(9, b"p" * 125)
        blob = ping * 512

        def flood():
            s.setblocking(False)
            sent = 0
            while sent < (1 << 30):
                _, w, _ = select.select([], [s], [], STALL)
                if not w:
                    return sent, True
                try:
                    sent += s.send(blob[sent % len(ping):])
                except BlockingIOError:
                    pass
            return sent, False
        sent, stalled = await asyncio.to_thread(flood)
        self.assertTrue(stalled, "the reflector read 1 GiB of pings")
        npings = sent // len(ping)

        def drain():
            f = Frames(s, rest)
            pongs = 0
            while pongs < npings:
                op, p = f.next()
                if op == 10:
                    self.assertEqual(p, b"p" * 125)
                    pongs += 1
                else:
                    self.assertEqual((op, p), (1, WAIT))
            return pongs
        self.assertEqual(await asyncio.to_thread(drain), npings)
        s.close()
        self.assertEqual(self.lines(mark, lambda l: l.get("level", 0) >= ERROR), [])
        await self.expect_log(lambda l: "paus" in l.get("msg", "") and
                              l.get("session") == sid, mark,
                              "the worker stopped reading a peer whose pongs "
                              "filled its queue (worker/conn.c conn_frame)")

    # --- time-outs ----------------------------------------------------------

    async def test_pairing_timeout(self):
        T = 0.3
        m = self.start(pairing_timeout_s=T)
        mark = m.mark()
        t0 = time.monotonic()
        master = await ws(m.port, "/attach/pt-m/master")
        slave = await ws(m.port, "/attach/pt-s/slave")
        self.assertEqual((master.status, slave.status), (101, 101))
        self.assertEqual(await master.recv_close(), (1001, "timed out waiting for the peer"))
        self.assertEqual(await slave.recv_close(), (1001, "timed out waiting for the peer"))
        self.assertGreaterEqual(time.monotonic() - t0, T - EARLY)
        for sid, state in (("pt-m", "slave_wait"), ("pt-s", "master_wait")):
            line = await self.msg("pairing timed out", mark, session=sid)
            self.assertEqual(line["state"], state)
            line = await self.msg("session ended", mark, session=sid)
            self.assertEqual(line["close_code"], 1001)
        master.close()
        slave.close()

    async def test_idle_timeout(self):
        T = 0.5 * SLOW
        m = self.start(idle_timeout_s=T)
        master, slave = await self.pair("idle")
        mark = m.mark()
        # Traffic keeps it alive well past T (one message every T/5)...
        for i in range(8):
            await master.send(2, b"tick")
            self.assertEqual(await slave.recv_frame(), (True, 2, b"tick"))
            await asyncio.sleep(T / 5)      # pacing of the traffic
        self.assertEqual(self.lines(mark, lambda l: l.get("msg") == "session ended"), [])
        # ...and silence ends it.
        t0 = time.monotonic()
        self.assertEqual(await master.recv_close(), (1001, "idle timeout"))
        self.assertEqual(await slave.recv_close(), (1001, "idle timeout"))
        self.assertGreaterEqual(time.monotonic() - t0, T - EARLY - T / 5)
        await self.msg("session idle too long", mark, session="idle")
        line = await self.msg("session ended", mark, session="idle")
        self.assertEqual(line["close_code"], 1001)
        master.close()
        slave.close()

    async def test_close_handshake_timeout(self):
        T = 0.3
        m = self.start(close_timeout_s=T)
        master, slave = await self.pair("ch")
        mark = m.mark()
        await slave.send(8, close_payload(1000, b"bye"))
        self.assertEqual(await slave.recv_close(), (1000, ""))
        self.assertEqual(await master.recv_close(), (1000, "bye"))
        t0 = time.monotonic()
        # The master never answers the CLOSE: it is dropped after T.
        self.assertEqual(await master.expect_eof(), b"")
        self.assertGreaterEqual(time.monotonic() - t0, T - EARLY)
        line = await self.msg("close handshake timed out", mark, role="master")
        self.assertEqual(line["component"], "worker")
        master.close()
        slave.close()

    async def test_error_answer_left_open_by_the_client(self):
        """A client that has its error answer and never closes is dropped
        after close_timeout_s, with a log line, by whoever answered it."""
        T = 0.3
        m = self.start(close_timeout_s=T)
        first = await ws(m.port, "/attach/lg/master")
        self.assertEqual(first.status, 101)
        cases = [("supervisor", b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 404),
                 ("worker", upgrade_req("/attach/lg/master"), 409)]
        for where, req, status in cases:
            with self.subTest(answered_by=where):
                mark = m.mark()
                s = held(m.port, req)
                peer = peer_of(s)
                st, _, _ = answer(await asyncio.to_thread(read_to_eof, s))
                self.assertEqual(st, status)
                refused = await self.msg("request refused", mark, peer=peer,
                                         status=status)
                self.assertEqual(refused["component"], where)
                t0 = time.monotonic()
                self.assertTrue(await asyncio.to_thread(wait_dropped, s))
                self.assertGreaterEqual(time.monotonic() - t0, T - EARLY)
                s.close()
                # A line with the same req_id that says it timed out.
                await self.expect_log(
                    lambda l: l.get("req_id") == refused["req_id"] and
                    "timed out" in l.get("msg", ""), self.index(refused),
                    "the %s dropped a connection whose client did not close "
                    "after its error answer (close_timeout_s)" % where)
        first.close()

    async def test_hold_timeout(self):
        """An attach for a shard with no ready worker waits hold_timeout_s,
        then gets 503."""
        T = 0.3
        self.m = m = Medusa(workers=1, config={"worker_path": "/bin/false",
                                               "hold_timeout_s": T},
                            wait_ready=False)
        m.wait_log(lambda l: l.get("msg") == "worker exited")
        mark = m.mark()
        t0 = time.monotonic()
        st, headers, body = answer(await asyncio.to_thread(
            raw_exchange, m.port, upgrade_req("/attach/ho/master")))
        self.assertGreaterEqual(time.monotonic() - t0, T - EARLY)
        self.assertEqual((st, body["code"], body["message"], headers.get("retry-after")),
                         (503, "ServiceUnavailable",
                          "the shard for this session has no worker ready", "1"))
        hold = await self.msg("holding an attach for its shard's worker", mark)
        line = await self.msg("request refused", mark, status=503,
                              req_id=hold["req_id"])
        self.assertEqual((line["level"], line["code"]), (WARN, "ServiceUnavailable"))

    # --- configuration and floods -------------------------------------------

    def test_each_limit_is_configurable(self):
        """Every limit key is accepted down to its minimum and refused,
        named, below it (medusa -t)."""
        # (key, smallest value, a value below it, other keys it needs)
        keys = [("max_connections", 1, 0, {}),
                ("max_connections_per_address", 1, 0, {}),
                ("max_sessions_per_worker", 1, 0, {}),
                ("head_max_bytes", 256, 255, {}),
                ("max_message_bytes", 125, 124, {}),
                ("outbound_high_water_bytes", 1024, 1023,
                 {"outbound_low_water_bytes": 0}),
                ("max_id_length", 1, 0, {}),
                ("head_timeout_s", 0.01, 0, {}),
                ("pairing_timeout_s", 0.01, 0, {}),
                ("idle_timeout_s", 0.01, 0, {}),
                ("close_timeout_s", 0.01, 0, {}),
                ("hold_timeout_s", 0.01, 0, {}),
                ("defer_accept_s", 0, -1, {})]
        for key, low, below, extra in keys:
            for value, rc in ((low, 0), (below, 2)):
                with self.subTest(key=key, value=value):
                    cfg = dict(extra)
                    cfg[key] = value
                    fd, path = tempfile.mkstemp(suffix=".json")
                    with os.fdopen(fd, "w") as f:
                        json.dump(cfg, f)
                    try:
                        r = subprocess.run([os.path.join(BIN, "medusa"), "-t", "-f", path],
                                           capture_output=True, text=True, timeout=TIMEOUT)
                    finally:
                        os.unlink(path)
                    self.assertEqual(r.returncode, rc, r.stdout + r.stderr)
                    if rc:
                        self.assertIn('"%s" must be' % key, r.stderr)

    async def test_refusals_at_a_limit_log_at_most_a_line_a_second(self):
        """README: a limit hit in a flood logs at most a line a second.
        Five refusals in a row, at each limit that refuses."""

        async def flood(paths, refused):
            t0 = time.monotonic()
            for p in paths:
                refused.append(await ws(self.m.port, p))
            return time.monotonic() - t0

        # (name, config, setup, paths of the flood, what counts as its line)
        cases = [
            ("per address, supervisor", {"max_connections_per_address": 1},
             "held", ["/attach/fs-%d/master" % i for i in range(5)],
             "TooManyConnections"),
            ("per address, worker", {"max_connections_per_address": 1},
             "/attach/fw-0/master", ["/attach/fw-%d/master" % i for i in range(1, 6)],
             "TooManyConnections"),
            ("sessions per worker", {"max_sessions_per_worker": 1},
             "/attach/fx-0/master", ["/attach/fx-%d/master" % i for i in range(1, 6)],
             "TooManySessions"),
        ]
        for name, config, setup, paths, code in cases:
            with self.subTest(limit=name):
                m = self.start(**config)
                keep, refused = [], []
                try:
                    if setup == "held":
                        keep.append(held(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n"))
                    else:
                        r = await ws(m.port, setup)
                        keep.append(r)
                        self.assertEqual(r.status, 101)
                        # (Logged just after the 101 went out.)
                        await self.msg("attached", 0, session=setup.split("/")[2])
                    mark = m.mark()
                    elapsed = await flood(paths, refused)
                    self.assertEqual([(r.status, r.body["code"]) for r in refused],
                                     [(503, code)] * len(paths))
                    # Every refusal has been logged by now, if it is.
                    for r in refused:
                        self.assertEqual(await r.expect_eof(), b"")
                    await ctl_status(m)
                    # Nothing else happens meanwhile: every line at info
                    # or above is about the refusals.
                    lines = self.lines(mark, lambda l: l.get("level", 0) >= INFO)
                    self.assertGreaterEqual(len(lines), 1)
                    self.assertLessEqual(len(lines), 1 + int(elapsed),
                                         "%d lines for %d refusals in %.2f s:\n%s" % (
                                             len(lines), len(paths), elapsed,
                                             "\n".join(json.dumps(l) for l in lines)))
                finally:
                    for r in refused + keep:
                        r.close()
                        if isinstance(r, RawWS):    # (stop() blocks the loop)
                            await r.writer.wait_closed()
                    self.m = None
                    self.assertEqual(m.stop(), 0)
                    m.check_clean(self)

if __name__ == "__main__":
    unittest.main()
