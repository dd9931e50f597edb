"""
RFC 6455 as an endpoint: each bad frame from a raw client costs only that
connection, with the right close code; its peer gets a 1001; and a canary
session on the same worker keeps every byte.
"""
import asyncio
import struct
import unittest

import websockets

from harness import AsyncTestCase, Medusa, RawWS, close_payload, frame, TIMEOUT

WAIT = b'medusa:{"type":"wait"}'
LINKUP = 'medusa:{"type":"linkup"}'
MAXMSG = 65536

# (name, frames to send after linkup, expected close code)
BAD = [
    ("unmasked frame", [frame(2, b"x", mask=None)], 1002),
    ("rsv1 set", [frame(2, b"x", rsv=4)], 1002),
    ("rsv2 set", [frame(1, b"x", rsv=2)], 1002),
    ("rsv3 set", [frame(1, b"x", rsv=1)], 1002),
    ("opcode 3", [frame(3, b"x")], 1002),
    ("opcode 7", [frame(7, b"x")], 1002),
    ("opcode 0xb", [frame(0xb, b"x")], 1002),
    ("opcode 0xf", [frame(0xf, b"")], 1002),
    ("ping of 126 bytes", [frame(9, b"p" * 126)], 1002),
    ("close of 126 bytes", [frame(8, close_payload(1000, b"r" * 124))], 1002),
    ("fragmented ping", [frame(9, b"p", fin=False)], 1002),
    ("continuation first", [frame(0, b"x")], 1002),
    ("text inside a fragmented message",
     [frame(1, b"a", fin=False), frame(1, b"b")], 1002),
    ("binary inside a fragmented message",
     [frame(2, b"a", fin=False), frame(2, b"b")], 1002),
    ("invalid utf-8", [frame(1, b"\xff\xfe")], 1007),
    ("overlong utf-8", [frame(1, b"\xc0\xaf")], 1007),
    ("surrogate in utf-8", [frame(1, b"\xed\xa0\x80")], 1007),
    ("utf-8 broken across fragments",
     [frame(1, b"ok \xe2\x82", fin=False), frame(0, b"\x28")], 1007),
    ("utf-8 cut at the end of a message",
     [frame(1, b"ok", fin=False), frame(0, b"\xe2\x82")], 1007),
    ("utf-8 cut at the end of one frame", [frame(1, b"\xf0\x9f\x98")], 1007),
    ("frame over the maximum message size",
     [frame(2, b"", length=MAXMSG + 1)], 1009),
    ("huge declared length", [frame(2, b"", length=2 ** 62)], 1009),
    ("fragments over the maximum",
     [frame(2, b"a" * 40000, fin=False), frame(0, b"b" * 40000)], 1009),
    ("64-bit length with the top bit set",
     [bytes([0x82, 0xff]) + struct.pack("!Q", 2 ** 63) + b"\x11\x22\x33\x44"],
     1002),
    ("close with a one-byte payload", [frame(8, b"\x03")], 1002),
    ("close with code 1005", [frame(8, close_payload(1005))], 1002),
    ("close with code 1006", [frame(8, close_payload(1006))], 1002),
    ("close with code 999", [frame(8, close_payload(999))], 1002),
    ("close with code 2000", [frame(8, close_payload(2000))], 1002),
    ("close with code 5000", [frame(8, close_payload(5000))], 1002),
    ("close with a bad utf-8 reason", [frame(8, close_payload(1000, b"\xff"))],
     1002),
]


class FrameTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        # One worker: every case shares it with the canary.
        cls.m = Medusa(workers=1, config={"max_message_bytes": MAXMSG})

    @classmethod
    def tearDownClass(cls):
        rc = cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        assert rc == 0, rc

    async def connect(self, path):
        return await websockets.connect(self.m.url(path), compression=None,
                                        max_size=None, ping_interval=None,
                                        open_timeout=TIMEOUT)

    async def test_bad_frames_cost_only_their_connection(self):
        cm = await self.connect("/attach/canary/master")
        cs = await self.connect("/attach/canary/slave")
        self.assertEqual(await cs.recv(), LINKUP)
        self.assertEqual(await cm.recv(), 'medusa:{"type":"wait"}')
        self.assertEqual(await cm.recv(), LINKUP)
        seq = 0
        for i, (name, frames, code) in enumerate(BAD):
            with self.subTest(case=name):
                sid = "bad-%d" % i
                raw = await RawWS.connect(self.m.port, "/attach/%s/master" % sid)
                self.assertEqual(raw.status, 101)
                peer = await self.connect("/attach/%s/slave" % sid)
                self.assertEqual(await peer.recv(), LINKUP)
                f = await raw.recv_frame()
                self.assertEqual(f[2], WAIT)
                f = await raw.recv_frame()
                self.assertEqual(f[2], LINKUP.encode())
                for fr in frames:
                    raw.send_raw(fr)
                try:
                    await raw.writer.drain()
                except ConnectionError:
                    pass
                got = await raw.recv_close()
                self.assertIsNotNone(got, name)
                self.assertEqual(got[0], code, name)
                self.assertEqual(await raw.expect_eof(), b"")
                raw.close()
                # The peer is told with a 1001 naming the side that failed.
                with self.assertRaises(websockets.ConnectionClosed) as cc:
                    await asyncio.wait_for(peer.recv(), TIMEOUT)
                self.assertEqual(cc.exception.rcvd.code, 1001)
                self.assertIn("master", cc.exception.rcvd.reason)
                # The canary keeps going, byte for byte.
                seq += 1
                msg = b"canary %d " % seq + bytes(range(256)) * 8
                await cm.send(msg)
                self.assertEqual(await cs.recv(), msg)
                await cs.send("back %d" % seq)
                self.assertEqual(await cm.recv(), "back %d" % seq)
        await cm.close()
        await cs.close()

    async def test_max_size_message_passes(self):
        m = await self.connect("/attach/big/master")
        s = await self.connect("/attach/big/slave")
        self.assertEqual(await s.recv(), LINKUP)
        await m.recv()
        await m.recv()
        await m.send(b"\x07" * MAXMSG)
        self.assertEqual(await s.recv(), b"\x07" * MAXMSG)
        await m.send(["a" * (MAXMSG // 2), "b" * (MAXMSG // 2)])
        self.assertEqual(await s.recv(), "a" * (MAXMSG // 2) + "b" * (MAXMSG // 2))
        await m.close()
        await s.close()

    async def test_close_without_code_is_passed_on_empty(self):
        raw = await RawWS.connect(self.m.port, "/attach/nocode/master")
        peer = await self.connect("/attach/nocode/slave")
        self.assertEqual(await peer.recv(), LINKUP)
        await raw.recv_frame()
        await raw.recv_frame()
        await raw.send(8, b"")
        self.assertEqual(await raw.recv_close(), (1005, ""))
        raw.close()
        with self.assertRaises(websockets.ConnectionClosed) as cc:
            await asyncio.wait_for(peer.recv(), TIMEOUT)
        self.assertEqual(cc.exception.rcvd.code, 1005)

    async def test_frames_split_one_byte_at_a_time(self):
        raw = await RawWS.connect(self.m.port, "/attach/drip/master")
        peer = await self.connect("/attach/drip/slave")
        self.assertEqual(await peer.recv(), LINKUP)
        await raw.recv_frame()
        await raw.recv_frame()
        data = frame(1, "drip \u20ac".encode()) + frame(2, b"\x00" * 300)
        for i in range(len(data)):
            raw.send_raw(data[i:i + 1])
            await raw.writer.drain()
        self.assertEqual(await peer.recv(), "drip \u20ac")
        self.assertEqual(await peer.recv(), b"\x00" * 300)
        raw.close()
        await peer.close()


if __name__ == "__main__":
    unittest.main()
