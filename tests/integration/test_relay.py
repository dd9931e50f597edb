"""
Pairing and relaying through the real reflector (3 workers), driven by
python3-websockets on both sides, and by raw frames where a library would
hide what is checked.
"""
import asyncio
import json
import random
import struct
import time
import unittest

from harness import (AsyncTestCase, SLOW, Medusa, RawWS, http_get, http_get_json, ids_for_shards,
                     worker_rss_kb, close_payload, TIMEOUT, VALGRIND,
                     WAIT, LINKUP, ws_connect, ws_recv, ws_pair, ws_close_of)


_POOL = "".join(random.Random(7).choice("abcdefghij \u00e9\u00fc\u20ac\U0001f600")
                for _ in range(200000))


def payloads(seed, n, maxlen):
    """n messages, text or binary, random sizes 0..maxlen, reproducible."""
    rng = random.Random(seed)
    for i in range(n):
        size = rng.randint(0, maxlen)
        if rng.random() < 0.5:
            # Text of 1- to 4-byte characters, about `size` bytes long.
            k = size // 2
            off = rng.randint(0, len(_POOL) - k)
            yield "%06d:" % i + _POOL[off:off + k]
        else:
            yield struct.pack("!I", i) + rng.randbytes(max(0, size - 4))


class RelayTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=3)

    @classmethod
    def tearDownClass(cls):
        rc = cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        assert rc == 0, rc

    async def test_wait_pulses_about_every_2s(self):
        master = await ws_connect(self.m, "/attach/pulse/master")
        times = []
        for _ in range(3):
            self.assertEqual(await ws_recv(master), WAIT)
            times.append(time.monotonic())
        gaps = [b - a for a, b in zip(times, times[1:])]
        for g in gaps:
            self.assertGreater(g, 1.5)
            self.assertLess(g, 3.0 + (SLOW - 1) * 0.2)
        await master.close()

    async def test_linkup_both_and_relay_both_ways(self):
        master, slave = await ws_pair(self.m, "Linkup-1")
        await master.send("from master")
        self.assertEqual(await ws_recv(slave), "from master")
        await slave.send(b"\x00\xff from slave")
        self.assertEqual(await ws_recv(master), b"\x00\xff from slave")
        await master.send("")
        self.assertEqual(await ws_recv(slave), "")
        await slave.send(b"")
        self.assertEqual(await ws_recv(master), b"")
        await master.close()
        await slave.close()

    async def test_slave_first_pairs(self):
        slave = await ws_connect(self.m, "/attach/slavefirst/slave")
        master = await ws_connect(self.m, "/attach/SLAVEFIRST/master")
        self.assertEqual(await ws_recv(slave), LINKUP)
        self.assertEqual(await ws_recv(master), LINKUP)
        await slave.send("hello master")
        self.assertEqual(await ws_recv(master), "hello master")
        await master.close()
        self.assertEqual(await ws_close_of(slave), (1000, ""))

    async def test_messages_before_linkup_are_dropped(self):
        master = await ws_connect(self.m, "/attach/early/master")
        self.assertEqual(await ws_recv(master), WAIT)
        mark = self.m.mark()
        await master.send("too early")
        await master.send(b"also too early")
        # Both must have reached the worker before the slave does; else the
        # second could fairly be relayed.
        await asyncio.to_thread(
            self.m.wait_log, lambda l: l.get("msg") ==
            "message before linkup dropped" and l.get("session") == "early",
            start=mark, count=2)
        slave = await ws_connect(self.m, "/attach/early/slave")
        self.assertEqual(await ws_recv(slave), LINKUP)
        self.assertEqual(await ws_recv(master), LINKUP)
        await master.send("on time")
        self.assertEqual(await ws_recv(slave), "on time")
        await master.close()
        await slave.close()

    async def test_thousand_messages_each_way_byte_exact(self):
        master, slave = await ws_pair(self.m, "bulk")
        n, maxlen = 1000, 256 * 1024

        async def send_all(ws, seed):
            for p in payloads(seed, n, maxlen):
                await ws.send(p)

        async def check_all(ws, seed):
            for i, want in enumerate(payloads(seed, n, maxlen)):
                got = await ws_recv(ws, 60)
                self.assertEqual(type(got), type(want), "message %d" % i)
                self.assertEqual(got, want, "message %d" % i)

        await asyncio.gather(send_all(master, 1), check_all(slave, 1),
                             send_all(slave, 2), check_all(master, 2))
        await master.close()
        self.assertEqual(await ws_close_of(slave), (1000, ""))

    async def test_fragmented_message_arrives_whole(self):
        master, slave = await ws_pair(self.m, "frag")
        await master.send(["frag-1 ", "fr\u00e9g-2 ", "frag-3"])
        self.assertEqual(await ws_recv(slave), "frag-1 fr\u00e9g-2 frag-3")
        await slave.send([b"\x01" * 70000, b"\x02" * 3, b""])
        self.assertEqual(await ws_recv(master), b"\x01" * 70000 + b"\x02" * 3)
        await master.close()
        await slave.close()

    async def test_text_split_inside_a_character_across_fragments(self):
        master = await RawWS.connect(self.m.port, "/attach/utf8split/master")
        self.assertEqual(master.status, 101)
        slave = await ws_connect(self.m, "/attach/utf8split/slave")
        self.assertEqual(await ws_recv(slave), LINKUP)
        await master.recv_frame()       # wait
        data = "\u20ac\U0001f600".encode()
        await master.send(1, data[:2], fin=False)
        await master.send(0, data[2:5], fin=False)
        await master.send(0, data[5:], fin=True)
        self.assertEqual(await ws_recv(slave), "\u20ac\U0001f600")
        master.close()
        await slave.close()

    async def test_close_passed_on_with_code_and_reason(self):
        master, slave = await ws_pair(self.m, "close-m")
        await master.close(code=4001, reason="master says bye")
        self.assertEqual(await ws_close_of(slave), (4001, "master says bye"))

        master, slave = await ws_pair(self.m, "close-s")
        await slave.close(code=4002, reason="slave says bye \u00e9")
        self.assertEqual(await ws_close_of(master), (4002, "slave says bye \u00e9"))

    async def test_disconnect_without_close_gives_peer_1001(self):
        master = await RawWS.connect(self.m.port, "/attach/vanish/master")
        slave = await ws_connect(self.m, "/attach/vanish/slave")
        self.assertEqual(await ws_recv(slave), LINKUP)
        master.writer.transport.abort()
        code, reason = await ws_close_of(slave)
        self.assertEqual(code, 1001)
        self.assertIn("master", reason)

    async def test_ping_answered_on_each_hop_not_forwarded(self):
        master = await ws_connect(self.m, "/attach/pinghop/master")
        slave = await RawWS.connect(self.m.port, "/attach/pinghop/slave")
        self.assertEqual(slave.status, 101)
        self.assertEqual(await ws_recv(master), WAIT)
        self.assertEqual(await ws_recv(master), LINKUP)
        f = await slave.recv_frame()
        self.assertEqual((f[1], f[2]), (1, LINKUP.encode()))
        pong = await master.ping(b"m-ping")
        await asyncio.wait_for(pong, TIMEOUT)
        await master.send("after ping")
        # The slave sees the text, not the master's ping.
        f = await slave.recv_frame()
        self.assertEqual((f[1], f[2]), (1, b"after ping"))
        # The slave's own ping is answered by the reflector.
        await slave.send(9, b"s-ping")
        f = await slave.recv_frame()
        self.assertEqual((f[1], f[2]), (10, b"s-ping"))
        await master.close()
        self.assertEqual(await slave.recv_close(), (1000, ""))
        slave.close()

    async def test_second_master_and_second_slave_get_409(self):
        master, slave = await ws_pair(self.m, "dup")
        status, headers, body = http_get(self.m.port, "/attach/dup/master", {
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13"})
        self.assertEqual(status, 409)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"code": "SessionExists",
                                            "message": "session exists already"})
        status, headers, body = http_get(self.m.port, "/attach/DUP/slave", {
            "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        self.assertEqual(status, 409)
        self.assertEqual(json.loads(body)["code"], "SessionHasSlave")
        self.assertEqual(json.loads(body)["message"], "session already has a slave")
        # The live session is untouched.
        await master.send("still here")
        self.assertEqual(await ws_recv(slave), "still here")
        await master.close()
        await slave.close()

    async def test_no_websocket_version_header_works(self):
        master = await RawWS.connect(self.m.port, "/attach/nover/master",
                                     version=False)
        self.assertEqual(master.status, 101)
        self.assertEqual(master.headers["connection"], "Upgrade")
        self.assertEqual(master.headers["upgrade"], "websocket")
        self.assertEqual(master.headers["sec-websocket-accept"],
                         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        slave = await ws_connect(self.m, "/attach/nover/slave")
        self.assertEqual(await ws_recv(slave), LINKUP)
        f = await master.recv_frame()
        self.assertEqual(f[2], WAIT.encode())
        f = await master.recv_frame()
        self.assertEqual(f[2], LINKUP.encode())
        await master.send(2, b"zero mask", mask=b"\0\0\0\0")
        self.assertEqual(await ws_recv(slave), b"zero mask")
        await slave.send("to raw master")
        f = await master.recv_frame()
        self.assertEqual((f[0], f[1], f[2]), (True, 1, b"to raw master"))
        await master.send(8, close_payload(1000, b"done"))
        self.assertEqual(await master.recv_close(), (1000, ""))
        self.assertEqual(await master.expect_eof(), b"")
        master.close()
        self.assertEqual(await ws_close_of(slave), (1000, "done"))

    async def test_status_shape_and_shards_on_distinct_pids(self):
        ids = ids_for_shards(3, "shape")
        pairs = [await ws_pair(self.m, i) for i in ids]
        lone = await ws_connect(self.m, "/attach/shape-lonely/master")
        self.assertEqual(await ws_recv(lone), WAIT)
        st = self.m.status()
        self.assertEqual(st["health"], "ok")
        self.assertEqual(set(st), {"health", "sessions", "workers", "version",
                                   "started"})
        sessions = {s["id"]: s for s in st["sessions"]["sessions"]}
        for s in sessions.values():
            self.assertTrue({"id", "state", "has_master", "has_slave",
                             "create_time"} <= set(s))
            self.assertRegex(s["create_time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        workers = {w["shard"]: w for w in st["workers"]}
        self.assertEqual(sorted(workers), [0, 1, 2])
        for w in workers.values():
            self.assertEqual(w["state"], "ready")
            self.assertIsInstance(w["pid"], int)
            self.assertIsInstance(w["sessions"], int)
            self.assertRegex(w["started"], r"Z$")
        pids = set()
        for shard, sid in enumerate(ids):
            s = sessions[sid]
            self.assertEqual((s["state"], s["has_master"], s["has_slave"]),
                             ("forwarding", True, True))
            self.assertEqual(s["shard"], shard)
            self.assertEqual(s["pid"], workers[shard]["pid"])
            pids.add(s["pid"])
        self.assertEqual(len(pids), 3)
        lonely = sessions["shape-lonely"]
        self.assertEqual((lonely["state"], lonely["has_master"], lonely["has_slave"]),
                         ("slave_wait", True, False))
        for a, b in pairs:
            await a.close()
            await b.close()
        await lone.close()

    async def test_backpressure_bounds_worker_memory(self):
        """A master that does not read: the slave is stopped by TCP, the
        worker's memory stays bounded, and nothing is lost."""
        sid = "backpressure"
        master = await RawWS.connect(self.m.port, "/attach/%s/master" % sid)
        mark = self.m.mark()
        slave = await ws_connect(self.m, "/attach/%s/slave" % sid)
        self.assertEqual(await ws_recv(slave), LINKUP)
        shard_pid = {l["shard"]: l["pid"] for l in self.m.logs
                     if l.get("msg") == "worker ready" and l.get("component") == "worker"}
        attach = await asyncio.to_thread(
            self.m.wait_log, lambda l: l.get("msg") == "attached" and
            l.get("session") == sid, start=mark)
        wpid = shard_pid[attach["shard"]]
        chunk, total = 64 * 1024, 48 * 1024 * 1024
        count = total // chunk

        async def sender():
            for i in range(count):
                await slave.send(struct.pack("!I", i) + bytes([i & 0xff]) * (chunk - 4))
        task = asyncio.ensure_future(sender())
        await asyncio.to_thread(
            self.m.wait_log, lambda l: l.get("msg") == "peer not reading; pausing"
            and l.get("session") == sid, start=mark, timeout=60)
        rss = worker_rss_kb(wpid)
        if not VALGRIND:        # (whose own footprint this would measure)
            self.assertLess(rss, 48 * 1024, "worker RSS %d KiB" % rss)
        self.assertFalse(task.done())
        # Now read everything: all of it, in order.
        f = await master.recv_frame()       # wait
        f = await master.recv_frame()       # linkup
        self.assertEqual(f[2], LINKUP.encode())
        for i in range(count):
            f = await master.recv_frame(60)
            self.assertEqual(f[1], 2)
            self.assertEqual(len(f[2]), chunk)
            self.assertEqual(struct.unpack("!I", f[2][:4])[0], i)
        await task
        await slave.close()
        self.assertEqual(await master.recv_close(), (1000, ""))
        master.close()


if __name__ == "__main__":
    unittest.main()
