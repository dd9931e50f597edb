"""
Regression tests, one per defect found in review, each of which crashed a
worker or broke a session before its fix.  A worker that crashes shows as
a changed pid; each test also checks that a canary session on the same
worker kept going.  Also one per defect found while measuring (the last).
"""
import asyncio
import base64
import json
import os
import re
import signal
import socket
import struct
import time
import unittest

import websockets

from harness import (AsyncTestCase, Medusa, RawWS, close_payload, frame,
                     http_get_json, server_end, worker_rss_kb, TIMEOUT,
                     VALGRIND, until, read_until)

LINKUP = 'medusa:{"type":"linkup"}'


def attach(port, sid, role, extra=b"", headers=b"", rcvbuf=None):
    """A raw client socket: the upgrade request (and `extra` in the same
    send), the response head, and bytes that came after it."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /attach/%s/%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n%s\r\n%s" %
              (sid.encode(), role.encode(), key, headers, extra))
    buf = b""
    s.settimeout(TIMEOUT)
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head, rest


class Frames:
    """Read server frames from a blocking socket."""

    def __init__(self, sock, rest=b""):
        self.s, self.buf = sock, rest

    def next(self, timeout=TIMEOUT):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 2:
                n, off = self.buf[1] & 0x7f, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                if n < 126 or off > 2:
                    if len(self.buf) >= off + n:
                        op = self.buf[0] & 0x0f
                        p = self.buf[off:off + n]
                        self.buf = self.buf[off + n:]
                        return op, p
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d


class RegressTest(AsyncTestCase):

    def start(self, **config):
        self.m = Medusa(workers=1, config=config)
        self.pid = self.m.worker_pids()[0]

    async def asyncTearDown(self):
        # The worker never died, and the process tree is clean.
        self.assertEqual(self.m.worker_pids()[0], self.pid)
        self.assertEqual(self.m.stop(), 0)
        self.m.check_clean(self)

    async def canary(self, sid):
        a = await websockets.connect(self.m.url("/attach/%s/master" % sid),
                                     compression=None, open_timeout=TIMEOUT)
        b = await websockets.connect(self.m.url("/attach/%s/slave" % sid),
                                     compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await b.recv(), LINKUP)
        await a.recv()
        self.assertEqual(await a.recv(), LINKUP)
        return a, b

    async def check_canary(self, a, b):
        await a.send(b"still there")
        self.assertEqual(await asyncio.wait_for(b.recv(), TIMEOUT), b"still there")
        await a.close()
        await b.close()

    async def test_paused_side_reads_its_close_reply(self):
        # A side paused by backpressure (its peer not reading) was paused
        # again after the session ended, so the reply to our CLOSE was never
        # read: a "close handshake timed out" and a reset instead of a FIN.
        self.start(outbound_high_water_bytes=65536,
                   outbound_low_water_bytes=16384, close_timeout_s=30)
        ma, _, rest_m = attach(self.m.port, "cp", "master", rcvbuf=4096)
        fm = Frames(ma, rest_m)
        self.assertEqual(fm.next()[0], 1)               # wait
        mark = self.m.mark()
        sl, _, rest_s = attach(self.m.port, "cp", "slave")
        fs = Frames(sl, rest_s)
        self.assertEqual(fs.next(), (1, LINKUP.encode()))
        self.assertEqual(fm.next(), (1, LINKUP.encode()))
        # The slave streams until the reflector stops reading it.
        msg = frame(2, b"x" * 16000)
        paused = lambda: any(l.get("msg") == "peer not reading; pausing"
                             for l in self.m.logs[mark:])
        sl.setblocking(False)
        pending = b""                   # the rest of a frame half sent

        def flood_until_paused():
            nonlocal pending
            try:
                while True:
                    n = sl.send(pending or msg)
                    pending = (pending or msg)[n:]
            except BlockingIOError:
                return paused()
        await until(flood_until_paused, what="the slave to be paused",
                    every=0.01)
        # The master ends the session; the slave gets the CLOSE, answers
        # (after the rest of its frame: the reflector reads it again now),
        # and must then see the connection end cleanly, at once.
        ma.sendall(frame(8, close_payload(1000, b"bye")))
        op, p = fs.next()
        while op != 8:
            op, p = fs.next()
        self.assertEqual(p, close_payload(1000, b"bye"))
        sl.settimeout(TIMEOUT)
        await asyncio.to_thread(sl.sendall, pending + frame(8, p[:2]))
        self.assertIsNone(fs.next(timeout=10))          # a FIN, no reset
        sl.close()
        ma.close()
        self.assertFalse([l for l in self.m.logs[mark:] if l.get("msg") ==
                          "close handshake timed out"])

    async def test_head_buffer_keeps_its_size_across_a_reload(self):
        # A head being read when SIGHUP raised head_max_bytes was read on
        # into its old, smaller buffer with the new size (a heap overflow
        # in the supervisor).  Its buffer keeps the size it was made with.
        self.start(head_max_bytes=1024)
        s = socket.create_connection(("127.0.0.1", self.m.port))
        s.settimeout(TIMEOUT)
        s.sendall(b"GET /attach/grow/master HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * 100)
        # A round trip after it: the supervisor has read those bytes.
        self.assertEqual(self.m.status()["health"], "ok")
        with open(self.m.config_path) as f:
            cfg = json.load(f)
        cfg["head_max_bytes"] = 65536
        with open(self.m.config_path, "w") as f:
            json.dump(cfg, f)
        mark = self.m.mark()
        self.m.proc.send_signal(signal.SIGHUP)
        await asyncio.to_thread(self.m.wait_log, lambda l: l.get("msg") ==
                                "rolling restart finished", start=mark)
        # The reload restarted the worker: the new one, once the old is gone.
        await until(lambda: len(self.m.status()
                                ["workers"]) == 1, what="the old worker to go")
        self.pid = self.m.worker_pids()[0]
        s.sendall(b"a" * 4000)                  # no end of head: 431 at 1024
        data = read_until(s, b"\r\n\r\n")
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 431"), data[:80])
        self.assertEqual(self.m.status()["health"], "ok")

    async def test_bad_frame_in_the_same_packet_as_the_head(self):
        self.start()
        a, b = await self.canary("canary")
        s, head, rest = attach(self.m.port, "onepacket", "master",
                               extra=b"\xff\xff")
        self.assertTrue(head.startswith(b"HTTP/1.1 101"))
        f = Frames(s, rest)
        got = f.next()
        while got[0] == 1:          # the wait pulse
            got = f.next()
        self.assertEqual(got[0], 8)
        self.assertEqual(struct.unpack("!H", got[1][:2])[0], 1002)
        s.close()
        await self.check_canary(a, b)

    async def test_close_right_after_a_large_message(self):
        self.start()
        a, b = await self.canary("canary")
        m = await websockets.connect(self.m.url("/attach/big/master"),
                                     compression=None, max_size=None)
        sl = await websockets.connect(self.m.url("/attach/big/slave"),
                                      compression=None, max_size=None)
        self.assertEqual(await sl.recv(), LINKUP)
        payload = bytes(range(256)) * 3600      # 900 KB
        await m.send(payload)
        await m.close(code=4000, reason="after big")
        self.assertEqual(await asyncio.wait_for(sl.recv(), TIMEOUT), payload)
        with self.assertRaises(websockets.ConnectionClosed) as cc:
            await asyncio.wait_for(sl.recv(), TIMEOUT)
        self.assertEqual(cc.exception.rcvd.code, 4000)
        await self.check_canary(a, b)

    async def test_peer_reset_while_paused_then_other_side_leaves(self):
        self.start()
        a, b = await self.canary("canary")
        mark = self.m.mark()
        m, _, _ = attach(self.m.port, "dbl", "master", rcvbuf=4096)
        sl, _, rest = attach(self.m.port, "dbl", "slave")
        Frames(sl, rest).next()     # linkup
        sl.setblocking(False)
        chunk = frame(2, b"y" * 65000)
        # Flood a master that never reads, until the slave is paused.
        def flood_until_paused():
            try:
                sl.send(chunk)
            except BlockingIOError:
                pass
            return any(l.get("msg") == "peer not reading; pausing"
                       for l in self.m.logs[mark:])
        await until(flood_until_paused, what="the slave to be paused",
                    every=0.01)
        # The slave resets; not being read, the worker does not notice.
        sl.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sl.close()
        # Now the master goes too: its session's CLOSE to the slave fails.
        m.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        m.close()
        await asyncio.to_thread(self.m.wait_log, lambda l: l.get("msg") ==
                                "session ended" and l.get("session") == "dbl",
                                start=mark)
        await self.check_canary(a, b)

    async def test_ping_flood_from_a_peer_that_never_reads(self):
        self.start(outbound_high_water_bytes=65536, outbound_low_water_bytes=16384)
        a, b = await self.canary("canary")
        before = worker_rss_kb(self.pid)
        m, _, _ = attach(self.m.port, "pingflood", "master", rcvbuf=4096)
        m.settimeout(5)
        blob = frame(9, b"p" * 125) * 8000       # 1 MB of pings
        sent = 0
        try:
            for _ in range(100):
                m.sendall(blob)
                sent += len(blob)
        except socket.timeout:
            pass    # the reflector stopped reading us: what we want
        grown = worker_rss_kb(self.pid) - before
        self.assertLess(grown, 32 * 1024, "worker grew %d KiB" % grown)
        m.close()
        await self.check_canary(a, b)

    async def test_paused_peer_is_not_killed_for_missing_pongs(self):
        self.start(ping_interval_s=0.2)
        mark = self.m.mark()
        m, _, mrest = attach(self.m.port, "pp", "master", rcvbuf=4096)
        s = await websockets.connect(self.m.url("/attach/pp/slave"), compression=None,
                                     extra_headers={"X-Medusa-Ping": "1"},
                                     ping_interval=None)
        self.assertEqual(await s.recv(), LINKUP)
        sent = 0

        async def flood():
            nonlocal sent
            while True:
                await s.send(b"o" * 16384)
                sent += 1
        task = asyncio.ensure_future(flood())
        await asyncio.to_thread(self.m.wait_log, lambda l: l.get("msg") ==
                                "peer not reading; pausing", start=mark)
        # Paused for many ping intervals (this wait is the scenario itself).
        await asyncio.sleep(1.5)
        self.assertFalse(task.done())
        self.assertFalse(any(l.get("msg") == "peer stopped answering pings"
                             for l in self.m.logs[mark:]))
        # Read it all: every message arrives, and the slave is still there.
        f = Frames(m, mrest)
        while f.next()[0] == 1:
            pass
        got = 1
        while got < sent - 4:
            op, p = f.next()
            self.assertEqual(op, 2)
            got += 1
        task.cancel()
        await s.close()
        m.close()

    async def test_slow_reader_gets_all_output_and_then_the_close(self):
        # (On loopback the kernel buffers megabytes, which hides the old
        # close-timer defect; this checks the behaviour it broke.)
        # Output below the watermarks: the slave is never paused, so its
        # CLOSE is queued right behind all of it.
        self.start(close_timeout_s=0.2)
        m, _, mrest = attach(self.m.port, "slow", "master", rcvbuf=4096)
        sl, _, srest = attach(self.m.port, "slow", "slave")
        Frames(sl, srest).next()
        total = 192 * 1024

        def slave():
            for _ in range(total // 32768):
                sl.sendall(frame(2, b"z" * 32768))
            sl.sendall(frame(8, close_payload(1000, b"exit")))
        writer = asyncio.get_running_loop().run_in_executor(None, slave)

        def reader():
            # 4 KiB every 16 ms, about 256 KiB/s: steady progress, yet
            # what is queued with the CLOSE takes far longer than the close
            # time-out (0.2 s) to deliver.
            buf = mrest
            m.settimeout(TIMEOUT)
            while True:
                time.sleep(0.016)       # the slow reader's pace
                d = m.recv(4096)
                if not d:
                    break
                buf += d
                if b"\x88\x06\x03\xe8exit" in buf[-200:]:
                    break
            f = Frames(m, buf)
            got, last = 0, None
            while last is None:
                op_p = f.next(timeout=1)
                if op_p is None:
                    break
                op, p = op_p
                if op == 2:
                    got += len(p)
                elif op == 8:
                    last = (struct.unpack("!H", p[:2])[0], p[2:])
            return got, last
        got, last = await asyncio.to_thread(reader)
        await writer
        self.assertEqual(got, total)
        self.assertEqual(last, (1000, b"exit"))
        m.close()
        sl.close()


class DescriptorLimitTest(AsyncTestCase):
    """A worker near its descriptor limit refuses sessions with 503
    instead of losing its shard."""

    async def test_sessions_beyond_the_fd_limit_get_503(self):
        m = Medusa(workers=1, wrapper=["prlimit", "--nofile=80:80"])
        pid = m.worker_pids()[0]
        line = m.wait_log(lambda l: l.get("msg") ==
                          "sessions limited by the descriptor limit")
        cap = line["max_sessions"]
        # (Valgrind keeps a few descriptors of the limit for itself.)
        self.assertEqual(line["fd_limit"], 80 if not VALGRIND else line["fd_limit"])
        self.assertEqual(cap, (line["fd_limit"] - 32) // 2)
        socks, codes = [], []
        for i in range(cap + 5):
            s, head, _ = attach(m.port, "fd-%d" % i, "master")
            socks.append(s)
            codes.append(int(head.split(b" ")[1]))
        self.assertEqual(codes[:cap], [101] * cap)
        self.assertEqual(codes[cap:], [503] * 5)
        for s in socks:
            s.close()
        self.assertEqual(m.worker_pids()[0], pid)
        self.assertEqual(m.stop(), 0)


def epoll_targets(pid):
    """The inodes in every epoll set the process has open."""
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[eventpoll]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    m = re.match(r"tfd:\s*\d+.*\sino:([0-9a-f]+)", line)
                    if m:
                        out.add(int(m.group(1), 16))
        except OSError:
            continue
    return out


def server_inode(port, client):
    """The inode of the server's end of client socket `client`."""
    end = server_end(port, client)
    return end[1] if end else None


class PassedSocketTest(AsyncTestCase):

    async def test_a_passed_socket_leaves_the_supervisors_epoll_sets(self):
        """A head that came in pieces was watched in the supervisor's
        (libev's) epoll set; the socket went on in the worker, so the
        supervisor's close() left it in the set, and its first traffic
        woke the supervisor into rebuilding the whole set.  Now it is out
        of every set of the supervisor's before it is passed."""
        m = Medusa(workers=1)
        pid = m.proc.pid
        s = socket.create_connection(("127.0.0.1", m.port), TIMEOUT)
        s.sendall(b"GET /attach/pieces/master HTTP/1.1\r\nHost: x\r\n")

        def watched():
            ino = server_inode(m.port, s)
            return ino if ino is not None and ino in epoll_targets(pid) else None
        ino = await until(watched, what="the supervisor to watch the "
                          "connection", every=0.01)
        s.sendall(b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        s.settimeout(TIMEOUT)
        got = b""
        while b'{"type":"wait"}' not in got:
            d = s.recv(4096)
            self.assertTrue(d, "closed before the wait pulse: %r" % got)
            got += d
        self.assertTrue(got.startswith(b"HTTP/1.1 101 "), got)
        # The worker has it; the supervisor watches it nowhere.
        self.assertNotIn(ino, epoll_targets(pid))
        # And the session works: its slave links it up.
        sl = await RawWS.connect(m.port, "/attach/pieces/slave")
        self.assertEqual(sl.status, 101)
        self.assertEqual((await sl.recv_frame())[2], LINKUP.encode())
        s.close()
        sl.close()
        await sl.writer.wait_closed()
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)


class CloseReplyTest(AsyncTestCase):

    async def test_close_reply_survives_bytes_sent_after_the_close(self):
        """The reply to a CLOSE goes with MSG_MORE so that the FIN rides in
        its segment.  A client that sent more after its CLOSE has unread
        bytes at our close(), which then sends a reset and drops what is
        unsent: the held reply was lost (8 times in 20 in review).  The
        FIN is now sent (shutdown) before the close, with the reply."""
        m = Medusa(workers=1)
        trailing = frame(2, b"x" * 60000) * 6       # ~360 KB after the CLOSE

        def one(i):
            sid = "rst-%d" % i
            ma, _, rest = attach(m.port, sid, "master")
            sl, _, srest = attach(m.port, sid, "slave")
            ma.settimeout(TIMEOUT)
            while LINKUP.encode() not in rest:
                d = ma.recv(4096)
                self.assertTrue(d)
                rest += d
            try:
                ma.sendall(frame(8, close_payload(1000, b"bye")) + trailing)
            except OSError:
                pass            # the reflector closed after its reply
            got = b""
            try:
                while True:
                    d = ma.recv(65536)
                    if not d:
                        break
                    got += d
            except ConnectionResetError:
                pass
            ma.close()
            sl.close()
            return got
        for i in range(10):
            got = await asyncio.to_thread(one, i)
            self.assertIn(b"\x88\x02\x03\xe8", got, "run %d" % i)
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)


if __name__ == "__main__":
    unittest.main()
