"""
Hostile input, all of it against one worker while a canary session streams
through that same worker: every case gets its answer (an HTTP status, a
close code, or just a closed connection), and afterwards the canary has
every byte, the server answers, and no descriptor has leaked in the
supervisor or the worker.
"""
import asyncio
import base64
import os
import socket
import struct
import time
import unittest

import websockets

from harness import (AsyncTestCase, Medusa, close_payload, frame, open_fds, quiet_fds,
                     parse_response, fd_table, TIMEOUT, until)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPG = ("Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
       % KEY)
MAXMSG = 65536

# --- requests that must get a given HTTP status ------------------------------

HTTP_CASES = [
    ("request line over the head limit",
     b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 431),
    ("header value over the head limit",
     b"GET /status HTTP/1.1\r\nHost: t\r\nX: " + b"b" * 9000 + b"\r\n\r\n", 431),
    ("too many headers",
     b"GET /status HTTP/1.1\r\nHost: t\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(80))
     + b"\r\n", 431),
    ("request line without a target", b"GET\r\n\r\n", 400),
    ("request line without a version", b"GET /status\r\n\r\n", 400),
    ("HTTP/9.9", b"GET /status HTTP/9.9\r\n\r\n", 505),
    ("header without a colon", b"GET /status HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n", 400),
    ("folded header", b"GET /status HTTP/1.1\r\nHost: t\r\nA: b\r\n\tc\r\n\r\n", 400),
    ("NUL in a header", b"GET /status HTTP/1.1\r\nHost: t\r\nA: \x00\r\n\r\n", 400),
    ("bare CR in a header", b"GET /status HTTP/1.1\r\nHost: t\r\nA: x\ry\r\n\r\n", 400),
    ("space before the colon", b"GET /status HTTP/1.1\r\nHost: t\r\nA : b\r\n\r\n", 400),
    ("binary junk", os.urandom(64).replace(b" ", b"!"), 400),
    ("TLS ClientHello", bytes.fromhex("16030100c4010000c00303") + os.urandom(40), 400),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("POST", b"POST /attach/x/master HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc", 405),
    ("unknown path", b"GET /etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n", 404),
    ("path traversal", b"GET /attach/../../etc/master HTTP/1.1\r\nHost: t\r\n\r\n", 404),
    ("no Upgrade", b"GET /attach/h1/master HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("Upgrade: h2c", ("GET /attach/h2/master HTTP/1.1\r\nUpgrade: h2c\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n\r\n" % KEY)
     .encode(), 400),
    ("Connection without upgrade", ("GET /attach/h3/master HTTP/1.1\r\nUpgrade: "
                                    "websocket\r\nConnection: close\r\n"
                                    "Sec-WebSocket-Key: %s\r\n\r\n" % KEY).encode(), 400),
    ("no key", b"GET /attach/h4/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
     b"Connection: Upgrade\r\n\r\n", 400),
    ("short key", b"GET /attach/h5/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
     b"Connection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n", 400),
    ("two keys", ("GET /attach/h6/master HTTP/1.1\r\n" + UPG +
                  "Sec-WebSocket-Key: %s\r\n\r\n" % KEY).encode(), 400),
    ("version 8", ("GET /attach/h7/master HTTP/1.1\r\n" + UPG +
                   "Sec-WebSocket-Version: 8\r\n\r\n").encode(), 426),
    ("upgrade over HTTP/1.0", ("GET /attach/h8/master HTTP/1.0\r\n" + UPG +
                               "\r\n").encode(), 400),
    ("id with an escaped slash", b"GET /attach/a%2Fb/master HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("id ..", b"GET /attach/../master HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("id with an escaped NUL", b"GET /attach/a%00b/master HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("id with a raw NUL", b"GET /attach/a\x00b/master HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ("id of 200 characters", b"GET /attach/" + b"i" * 200 + b"/master HTTP/1.1\r\nHost: t\r\n\r\n",
     400),
    ("id of 10 KiB", b"GET /attach/" + b"i" * 10240 + b"/master HTTP/1.1\r\n\r\n", 431),
    ("id with a slash", b"GET /attach/a/b/master HTTP/1.1\r\nHost: t\r\n\r\n", 404),
    ("id with a space", b"GET /attach/a b/master HTTP/1.1\r\n\r\n", 400),
]

# --- frames from a paired master: the close code it must get -----------------

FRAME_CASES = [
    ("unmasked frame", frame(2, b"x", mask=None), 1002),
    ("reserved bit 1", frame(2, b"x", rsv=4), 1002),
    ("reserved bit 3", frame(2, b"x", rsv=1), 1002),
    ("opcode 3", frame(3, b"x"), 1002),
    ("opcode 0xb", frame(0xb, b"x"), 1002),
    ("ping of 126 bytes", frame(9, b"p" * 126), 1002),
    ("fragmented ping", frame(9, b"p", fin=False), 1002),
    ("continuation first", frame(0, b"x"), 1002),
    ("text inside a fragmented text", frame(1, b"a", fin=False) + frame(1, b"b"), 1002),
    ("64-bit length with the top bit set",
     bytes([0x82, 0xff]) + struct.pack("!Q", 2 ** 63 + 5) + b"\x01\x02\x03\x04", 1002),
    ("declared length of a terabyte", frame(2, b"", length=2 ** 40), 1009),
    ("message over the maximum", frame(2, b"", length=MAXMSG + 1), 1009),
    ("fragments over the maximum", frame(2, b"a" * 40000, fin=False) +
     frame(0, b"a" * 40000), 1009),
    ("invalid UTF-8", frame(1, b"\xc3\x28"), 1007),
    ("UTF-8 broken across fragments", frame(1, b"\xe2\x82", fin=False) +
     frame(0, b"A"), 1007),
    ("close with a one-byte payload", frame(8, b"\x03"), 1002),
    ("close with code 1005", frame(8, close_payload(1005)), 1002),
    ("close with code 5000", frame(8, close_payload(5000)), 1002),
    ("close with a reason that is not UTF-8", frame(8, close_payload(1000, b"\xff")),
     1002),
    ("close of 126 bytes", frame(8, close_payload(1000, b"r" * 124)), 1002),
]


def raw_request(port, data, timeout=TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        out += d
    s.close()
    return out


def attach(port, sid, role):
    s = socket.create_connection(("127.0.0.1", port), TIMEOUT)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET /attach/%s/%s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: "
              b"Upgrade\r\nSec-WebSocket-Key: %s\r\n\r\n" % (sid.encode(),
                                                           role.encode(), key))
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise AssertionError("no 101")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, rest


def read_close(s, rest, timeout=TIMEOUT):
    """Frames until a CLOSE: its code; None for a bare end."""
    buf = rest
    s.settimeout(timeout)
    while True:
        while len(buf) >= 2:
            n, off = buf[1] & 0x7f, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < off + n:
                break
            if buf[0] & 0x0f == 8:
                return struct.unpack("!H", buf[off:off + 2])[0] if n >= 2 else 1005
            buf = buf[off + n:]
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not d:
            return None
        buf += d


class HostileTest(AsyncTestCase):

    async def test_battery_costs_nothing_else(self):
        m = Medusa(workers=1, config={"head_timeout_s": 1, "close_timeout_s": 1,
                                      "max_message_bytes": MAXMSG})
        self.m = m
        sup, wpid = m.proc.pid, m.worker_pids()[0]
        base_sup, base_w = quiet_fds(sup), quiet_fds(wpid)
        canary = await self.canary_start()
        cases = 0
        for name, req, status in HTTP_CASES:
            with self.subTest(case=name):
                data = await asyncio.to_thread(raw_request, m.port, req)
                self.assertTrue(data, name)
                self.assertEqual(parse_response(data)[0], status, name)
            cases += 1
        for i, (name, data, code) in enumerate(FRAME_CASES):
            with self.subTest(case=name):
                self.assertEqual(await asyncio.to_thread(self.bad_frame, i, data),
                                 code)
            cases += 1
        for name in [n for n in dir(self) if n.startswith("case_")]:
            with self.subTest(case=name):
                await getattr(self, name)()
            cases += 1
        self.assertGreaterEqual(cases, 50)
        print("\n  %d hostile cases" % cases)
        # The canary kept every byte, and the server answers.
        await self.canary_check(canary)
        st, _, _ = parse_response(await asyncio.to_thread(
            raw_request, m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n"))
        self.assertEqual(st, 200)
        self.assertEqual(m.worker_pids()[0], wpid, "the worker survived")
        # Nothing leaked: descriptors back where they were.
        for pid, base in ((sup, base_sup), (wpid, base_w)):
            await until(lambda: open_fds(pid) == base, what=lambda:
                        "pid %d back at %d descriptors: %r" %
                        (pid, base, fd_table(pid)))
        self.assertEqual(m.stop(), 0)
        m.check_clean(self)

    # --- the canary --------------------------------------------------------

    async def canary_start(self):
        a = await websockets.connect(self.m.url("/attach/canary/master"),
                                     compression=None, ping_interval=None)
        b = await websockets.connect(self.m.url("/attach/canary/slave"),
                                     compression=None, ping_interval=None)
        await b.recv()
        await a.recv()
        await a.recv()
        state = {"a": a, "b": b, "sent": 0, "got": 0, "bad": None,
                 "stop": asyncio.Event()}

        async def send():
            while not state["stop"].is_set():
                await a.send(b"canary %d" % state["sent"])
                state["sent"] += 1
                await asyncio.sleep(0.01)   # the canary's pace

        async def recv():
            while True:
                msg = await b.recv()
                if msg != b"canary %d" % state["got"]:
                    state["bad"] = msg
                state["got"] += 1
        state["tasks"] = [asyncio.ensure_future(send()),
                          asyncio.ensure_future(recv())]
        return state

    async def canary_check(self, state):
        state["stop"].set()
        await state["tasks"][0]
        await until(lambda: state["got"] >= state["sent"], fail=False)
        self.assertIsNone(state["bad"])
        self.assertEqual(state["got"], state["sent"])
        self.assertGreater(state["sent"], 50)
        state["tasks"][1].cancel()
        await state["a"].close()
        await state["b"].close()

    # --- frames from a paired master ----------------------------------------

    def bad_frame(self, i, data):
        sid = "bad-%d" % i
        m, mrest = attach(self.m.port, sid, "master")
        s, srest = attach(self.m.port, sid, "slave")
        try:
            m.sendall(data)
        except OSError:
            pass
        code = read_close(m, mrest)
        peer = read_close(s, srest)
        m.close()
        s.close()
        assert peer == 1001, "the peer got %r" % peer
        return code

    # --- connection behaviour -----------------------------------------------

    async def case_slowloris_that_finishes_in_time(self):
        req = ("GET /attach/slow-ok/master HTTP/1.1\r\n" + UPG + "\r\n").encode()

        def drip():
            s = socket.create_connection(("127.0.0.1", self.m.port), TIMEOUT)
            for i in range(0, len(req), 8):
                s.sendall(req[i:i + 8])
                time.sleep(0.005)       # the drip is the case
            d = s.recv(4096)
            s.close()
            return d
        self.assertTrue((await asyncio.to_thread(drip)).startswith(b"HTTP/1.1 101"))

    async def case_slowloris_that_stalls(self):
        def stall():
            s = socket.create_connection(("127.0.0.1", self.m.port), TIMEOUT)
            for c in b"GET /status HTTP/1.1\r\nHost: t\r\nX-Slow: ":
                s.sendall(bytes([c]))
            d = b""
            while True:
                x = s.recv(4096)
                if not x:
                    break
                d += x
            s.close()
            return parse_response(d)[0]
        self.assertEqual(await asyncio.to_thread(stall), 408)

    async def case_silent_connection(self):
        self.assertEqual(await asyncio.to_thread(raw_request, self.m.port, b""), b"")

    async def case_half_frame_then_reset(self):
        def go():
            m, mrest = attach(self.m.port, "halfreset", "master")
            s, srest = attach(self.m.port, "halfreset", "slave")
            m.sendall(frame(2, b"z" * 1000)[:300])
            m.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            m.close()
            code = read_close(s, srest)
            s.close()
            return code
        self.assertEqual(await asyncio.to_thread(go), 1001)

    async def case_half_frame_then_silence_then_close(self):
        def go():
            m, mrest = attach(self.m.port, "halfopen", "master")
            s, srest = attach(self.m.port, "halfopen", "slave")
            m.sendall(frame(2, b"z" * 1000)[:500])
            # The half frame waits; the peer is not disturbed meanwhile.
            s.sendall(frame(2, b"still fine"))
            m.shutdown(socket.SHUT_WR)
            code = read_close(s, srest)
            m.close()
            s.close()
            return code
        self.assertEqual(await asyncio.to_thread(go), 1001)

    async def case_reset_during_the_handshake(self):
        def go():
            s = socket.create_connection(("127.0.0.1", self.m.port), TIMEOUT)
            s.sendall(("GET /attach/rst-hs/master HTTP/1.1\r\n" + UPG + "\r\n").encode())
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        await asyncio.to_thread(go)

    async def case_eof_right_after_the_upgrade(self):
        def go():
            m, _ = attach(self.m.port, "eof101", "master")
            s, srest = attach(self.m.port, "eof101", "slave")
            m.close()
            code = read_close(s, srest)
            s.close()
            return code
        self.assertEqual(await asyncio.to_thread(go), 1001)

    async def case_ping_flood(self):
        def go():
            m, mrest = attach(self.m.port, "pingflood", "master")
            s, srest = attach(self.m.port, "pingflood", "slave")
            blob = frame(9, b"p" * 125) * 2000
            m.settimeout(5)
            for _ in range(5):
                m.sendall(blob)
            # Still a working session afterwards.
            s.sendall(frame(2, b"after the flood"))
            m.sendall(frame(8, close_payload(1000)))
            code = read_close(s, srest)
            m.close()
            s.close()
            return code
        self.assertEqual(await asyncio.to_thread(go), 1000)

    async def case_connection_flood(self):
        def go():
            socks = [socket.create_connection(("127.0.0.1", self.m.port), TIMEOUT)
                     for _ in range(300)]
            for s in socks:
                s.close()
        await asyncio.to_thread(go)

    async def case_flood_of_partial_heads(self):
        def go():
            socks = []
            for i in range(200):
                s = socket.create_connection(("127.0.0.1", self.m.port), TIMEOUT)
                s.sendall(b"GET /attach/partial-%d/mas" % i)
                socks.append(s)
            for s in socks:
                s.close()
        await asyncio.to_thread(go)

    async def case_flood_of_second_masters(self):
        def go():
            first, _ = attach(self.m.port, "dupflood", "master")
            codes = set()
            for _ in range(50):
                d = raw_request(self.m.port, ("GET /attach/dupflood/master HTTP/1.1"
                                              "\r\n" + UPG + "\r\n").encode())
                codes.add(parse_response(d)[0])
            first.close()
            return codes
        self.assertEqual(await asyncio.to_thread(go), {409})

    async def case_messages_before_linkup(self):
        mark = self.m.mark()

        def go():
            m, mrest = attach(self.m.port, "early-flood", "master")
            for _ in range(64):
                m.sendall(frame(2, b"e" * 16384))
            # Once the reflector has read (and dropped) them all...
            self.m.wait_log(lambda l: l.get("msg") == "message before linkup "
                            "dropped" and l.get("session") == "early-flood",
                            start=mark, count=64)
            s, srest = attach(self.m.port, "early-flood", "slave")
            m.sendall(frame(2, b"on time"))
            # The slave sees linkup, then only what came after it.
            buf = srest
            s.settimeout(TIMEOUT)
            while b"on time" not in buf:
                buf += s.recv(65536)
            m.close()
            s.close()
            return b"eeee" in buf
        self.assertFalse(await asyncio.to_thread(go))


if __name__ == "__main__":
    unittest.main()
