"""
Answers before the upgrade: every bad request gets an HTTP status with a
JSON body {"code", "message"}, "Connection: close", and one log line.
"""
import asyncio
import json
import socket
import unittest

from harness import (AsyncTestCase, Medusa, RawWS, http_get, parse_response,
                     raw_exchange, TIMEOUT)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
UPG = "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n" % KEY

# (name, request bytes, status, code)
CASES = [
    ("unknown path", b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "ResourceNotFound"),
    # RFC 9112 section 3.2: an HTTP/1.1 request has exactly one Host.
    ("HTTP/1.1 without Host", b"GET /status HTTP/1.1\r\n\r\n", 400, "BadRequest"),
    ("two Hosts", b"GET /status HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "BadRequest"),
    ("attach without Host", ("GET /attach/abc/master HTTP/1.1\r\n" + UPG[len("Host: t\r\n"):] + "\r\n").encode(), 400, "BadRequest"),
    ("root", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", 404, "ResourceNotFound"),
    ("attach without role", b"GET /attach/abc HTTP/1.1\r\nHost: t\r\n\r\n", 404, "ResourceNotFound"),
    ("attach with bad role", b"GET /attach/abc/boss HTTP/1.1\r\nHost: t\r\n\r\n", 404, "ResourceNotFound"),
    ("POST status", b"POST /status HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405, "MethodNotAllowed"),
    ("PUT attach", b"PUT /attach/abc/master HTTP/1.1\r\nHost: t\r\n\r\n", 405, "MethodNotAllowed"),
    ("malformed request line", b"GET\r\n\r\n", 400, "BadRequest"),
    ("header without colon", b"GET /status HTTP/1.1\r\nHost: t\r\nHost x\r\n\r\n", 400, "BadRequest"),
    ("obs-fold header", b"GET /status HTTP/1.1\r\nHost: t\r\nA: b\r\n c\r\n\r\n", 400, "BadRequest"),
    ("NUL in header", b"GET /status HTTP/1.1\r\nHost: t\r\nA: b\x00c\r\n\r\n", 400, "BadRequest"),
    ("bare CR", b"GET /status HTTP/1.1\r\nHost: t\r\nA: b\rc\r\n\r\n", 400, "BadRequest"),
    ("TLS ClientHello", bytes([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]), 400, "BadRequest"),
    ("binary junk", b"\x00\x01\x02\x03garbage", 400, "BadRequest"),
    ("HTTP/2.0", b"GET /status HTTP/2.0\r\n\r\n", 505, "HTTPVersionNotSupported"),
    ("HTTP/1.x", b"GET /status HTTP/1.x\r\n\r\n", 400, "BadRequest"),
    ("id with %-escape", b"GET /attach/a%2fb/master HTTP/1.1\r\nHost: t\r\n\r\n", 400, "InvalidSessionId"),
    ("id ..", b"GET /attach/../master HTTP/1.1\r\nHost: t\r\n\r\n", 400, "InvalidSessionId"),
    ("id too long", b"GET /attach/" + b"a" * 129 + b"/master HTTP/1.1\r\nHost: t\r\n\r\n", 400, "InvalidSessionId"),
    ("id with @", b"GET /attach/a@b/slave HTTP/1.1\r\nHost: t\r\n\r\n", 400, "InvalidSessionId"),
    ("too many headers", b"GET /status HTTP/1.1\r\nHost: t\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(70)) + b"\r\n", 431, "RequestHeaderFieldsTooLarge"),
    ("head too large", b"GET /status HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431, "RequestHeaderFieldsTooLarge"),
    ("attach without upgrade", b"GET /attach/abc/master HTTP/1.1\r\nHost: x\r\n\r\n", 400, "BadUpgradeRequest"),
    ("attach upgrade h2c", ("GET /attach/abc/master HTTP/1.1\r\nHost: t\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n\r\n" % KEY).encode(), 400, "BadUpgradeRequest"),
    ("attach without Connection upgrade", ("GET /attach/abc/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive\r\nSec-WebSocket-Key: %s\r\n\r\n" % KEY).encode(), 400, "BadUpgradeRequest"),
    ("attach without key", b"GET /attach/abc/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 400, "BadUpgradeRequest"),
    ("attach with a short key", b"GET /attach/abc/master HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: abc\r\n\r\n", 400, "BadUpgradeRequest"),
    ("attach over HTTP/1.0", ("GET /attach/abc/master HTTP/1.0\r\n" + UPG + "\r\n").encode(), 400, "BadUpgradeRequest"),
    ("attach with version 8", ("GET /attach/abc/master HTTP/1.1\r\n" + UPG + "Sec-WebSocket-Version: 8\r\n\r\n").encode(), 426, "UnsupportedWebSocketVersion"),
]


class HttpTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=2, config={"head_timeout_s": 0.5})

    @classmethod
    def tearDownClass(cls):
        rc = cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        assert rc == 0, rc

    def test_error_table(self):
        for name, req, status, code in CASES:
            with self.subTest(case=name):
                mark = self.m.mark()
                data = raw_exchange(self.m.port, req)
                st, headers, body = parse_response(data)
                self.assertEqual(st, status, data)
                self.assertEqual(headers["connection"], "close")
                self.assertEqual(headers["content-type"], "application/json")
                self.assertEqual(int(headers["content-length"]), len(body))
                doc = json.loads(body)
                self.assertEqual(doc["code"], code)
                self.assertIsInstance(doc["message"], str)
                if status == 405:
                    self.assertEqual(headers["allow"], "GET")
                if status == 426:
                    self.assertEqual(headers["sec-websocket-version"], "13")
                line = self.m.wait_log(lambda l: l.get("msg") == "request refused"
                                       and l.get("status") == status, start=mark)
                self.assertEqual(line["code"], code)
                self.assertIn("req_id", line)

    def test_head_timeout_is_408(self):
        data = raw_exchange(self.m.port, b"GET /status HTTP/1.1\r\nHost: x\r\n")
        st, headers, body = parse_response(data)
        self.assertEqual(st, 408)
        self.assertEqual(json.loads(body)["code"], "RequestTimeout")

    def test_silent_connection_is_closed(self):
        self.assertEqual(raw_exchange(self.m.port, b""), b"")

    def test_status_over_http_1_0_and_lf_only(self):
        data = raw_exchange(self.m.port, b"GET /status HTTP/1.0\n\n")
        st, headers, body = parse_response(data)
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["health"], "ok")

    def test_status_with_query_string(self):
        st, headers, body = http_get(self.m.status_port, "/status?verbose=1")
        self.assertEqual(st, 200)
        self.assertEqual(headers["content-type"], "application/json")

    async def test_head_in_pieces_then_upgrade(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.m.port)
        req = ("GET /attach/drip/master HTTP/1.1\r\n" + UPG + "\r\n").encode()
        for i in range(0, len(req), 7):
            writer.write(req[i:i + 7])
            await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "))
        writer.close()

    async def test_account_path_and_signed_query(self):
        path = "/someone/medusa/attach/ACCT-1/slave?algorithm=rsa-sha256&expires=1&signature=x"
        raw = await RawWS.connect(self.m.port, path, version=False)
        self.assertEqual(raw.status, 101)
        master = await RawWS.connect(self.m.port, "/someone/medusa/attach/acct-1/master",
                                     version=False)
        self.assertEqual(master.status, 101)
        f = await raw.recv_frame()
        self.assertEqual(f[2], b'medusa:{"type":"linkup"}')
        raw.close()
        master.close()


class ShardDownTest(unittest.TestCase):
    """A shard with no ready worker: 503 with Retry-After, health degraded."""

    def test_503_when_the_worker_never_starts(self):
        m = Medusa(workers=1, config={"worker_path": "/bin/false"},
                   wait_ready=False)
        try:
            m.wait_log(lambda l: l.get("msg") == "worker exited")
            st, headers, body = http_get(m.port, "/attach/x/master", {
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Key": KEY})
            self.assertEqual(st, 503)
            self.assertEqual(headers["retry-after"], "1")
            self.assertEqual(json.loads(body)["code"], "ServiceUnavailable")
            st, headers, body = http_get(m.status_port, "/status")
            doc = json.loads(body)
            self.assertEqual(doc["health"], "degraded")
            self.assertNotEqual(doc["workers"][0]["state"], "ready")
        finally:
            self.assertEqual(m.stop(), 0)
        m.check_clean(self)


class Ipv6Test(unittest.TestCase):

    def test_listens_on_ipv6(self):
        m = Medusa(workers=1, args=["-b", "::1"])
        try:
            data = raw_exchange(m.port, b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n",
                                host="::1", family=socket.AF_INET6)
            st, _, body = parse_response(data)
            self.assertEqual(st, 200)
            self.assertEqual(json.loads(body)["health"], "ok")
        finally:
            self.assertEqual(m.stop(), 0)


if __name__ == "__main__":
    unittest.main()
