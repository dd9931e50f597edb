"""
What goes on the wire, segment by segment (the setup-rate work of the
benchmarks issue): the bytes are the same either way, so only a capture
tells these apart.

  - A slave and its master whose attaches reach the worker together (one
    ATTACH_BATCH) each get their 101 and their first messages in one TCP
    segment: the slave 101 + linkup, the master 101 + wait + linkup.
  - The reply to a client's CLOSE carries the FIN: the reflector closes
    the socket right after it, and MSG_MORE holds the reply for the FIN.

The capture is an AF_PACKET socket on the loopback interface, which needs
CAP_NET_RAW (root, as on the CI machines); without it the tests skip,
but not under `make test` (MEDUSA_REQUIRE_ALL).
Nothing is timed: the tests wait for the log lines and the frames, then
look at what the capture holds.
"""
import asyncio
import ctypes
import os
import socket
import struct
import threading
import unittest

from harness import (AsyncTestCase, Medusa, RawWS, TIMEOUT, close_payload,
                     frame, until)
from test_operations import worker_script

LINKUP = b'medusa:{"type":"linkup"}'
WAIT = b'medusa:{"type":"wait"}'
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
TH_FIN = 0x01


def text_frame(payload):
    """A server's (unmasked) text frame."""
    return bytes([0x81, len(payload)]) + payload


class Capture:
    """TCP segments to and from one port on lo, as (sport, dport, flags,
    payload), in the order they were sent."""

    def __init__(self, port):
        self.port = port
        self.segs = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(ETH_P_ALL))
        # Only this port's segments are queued (a filter in the kernel),
        # into a big buffer, so a busy machine does not drop ours.
        self._filter = port_filter(port)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                             self._filter[0])
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        self.drops = 0
        self.sock.bind(("lo", 0))
        self.sock.settimeout(0.05)
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                pkt, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            # Each loopback packet shows twice, going out and coming in.
            if addr[2] != PACKET_OUTGOING or len(pkt) < 14 + 20 + 20:
                continue
            if struct.unpack("!H", pkt[12:14])[0] != 0x0800:
                continue
            ip = pkt[14:]
            ihl = (ip[0] & 0x0f) * 4
            total = struct.unpack("!H", ip[2:4])[0]
            if ip[9] != socket.IPPROTO_TCP:
                continue
            tcp = ip[ihl:total]
            sport, dport = struct.unpack("!HH", tcp[:4])
            if self.port not in (sport, dport):
                continue
            off = (tcp[12] >> 4) * 4
            with self.lock:
                self.segs.append((sport, dport, tcp[13], bytes(tcp[off:])))

    def dropped(self):
        """Packets the kernel dropped for want of room, so far."""
        st = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        self.drops += struct.unpack("II", st)[1]
        return self.drops

    def to(self, client_port):
        """The segments the server sent to a client port."""
        with self.lock:
            return [s for s in self.segs
                    if s[0] == self.port and s[1] == client_port]

    def stop(self):
        self.done = True
        self.thread.join(TIMEOUT)
        self.sock.close()


def port_filter(port):
    """A classic BPF program that keeps IPv4 TCP segments to or from port
    (as tcpdump's "ip and tcp port P"): (struct sock_fprog, its buffer)."""
    prog = [
        (0x28, 0, 0, 12),          # ldh [12]: ethertype
        (0x15, 0, 9, 0x0800),      # IPv4, or drop
        (0x30, 0, 0, 23),          # ldb [23]: protocol
        (0x15, 0, 7, 6),           # TCP, or drop
        (0x28, 0, 0, 20),          # ldh [20]: fragment offset
        (0x45, 5, 0, 0x1fff),      # a later fragment: drop
        (0xb1, 0, 0, 14),          # ldxb 4*([14]&0xf): IP header length
        (0x48, 0, 0, 14),          # ldh [x+14]: source port
        (0x15, 3, 0, port),        # ours: keep
        (0x48, 0, 0, 16),          # ldh [x+16]: destination port
        (0x15, 1, 0, port),        # ours: keep
        (0x06, 0, 0, 0),           # drop
        (0x06, 0, 0, 0x40000),     # keep (up to 256 KiB of it)
    ]
    buf = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *i) for i in prog))
    return struct.pack("HL", len(prog), ctypes.addressof(buf)), buf


def can_capture():
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL)).close()
        return True
    except (OSError, AttributeError):
        return False


@unittest.skipUnless(can_capture() or os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "needs CAP_NET_RAW for an AF_PACKET capture")
class SegmentTest(AsyncTestCase):

    m = None
    cap = None

    async def asyncTearDown(self):
        if self.cap is not None:
            self.cap.stop()
        if self.m is not None:
            self.assertEqual(self.m.stop(), 0)
            self.m.check_clean(self)

    async def wait_segment(self, client_port, pred):
        """Wait until the server has sent client_port a segment with
        pred(flags, payload); returns the segments sent it so far."""
        def sent():
            segs = self.cap.to(client_port)
            return segs if any(pred(f, p) for _, _, f, p in segs) else None
        return await until(sent, what=lambda: "a segment to port %d; sent "
                           "%r (the capture dropped %d packets)" % (
                               client_port, self.cap.to(client_port),
                               self.cap.dropped()), every=0.01)

    async def test_a_pair_attached_together_gets_one_segment_each(self):
        # The worker starts only when told, so the master and then the
        # slave are held and reach it in one ATTACH_BATCH of two.
        d, path = worker_script('while [ ! -e $D/go ]; do sleep 0.02; done')
        self.m = m = Medusa(workers=1, config={"worker_path": path,
                                               "hold_timeout_s": 60},
                            wait_ready=False)
        self.cap = Capture(m.port)
        held = []
        for role in ("master", "slave"):
            mark = m.mark()
            held.append(asyncio.ensure_future(
                RawWS.connect(m.port, "/attach/seg-pair/%s" % role)))
            await asyncio.to_thread(
                m.wait_log, lambda l: l.get("msg") ==
                "holding an attach for its shard's worker", start=mark)
        mark = m.mark()
        open(os.path.join(d, "go"), "w").close()
        master, slave = [await f for f in held]
        line = await asyncio.to_thread(
            m.wait_log, lambda l: l.get("msg") == "attaches received together",
            start=mark)
        self.assertEqual(line["connections"], 2)
        self.assertEqual(await slave.recv_frame(), (True, 1, LINKUP))
        self.assertEqual(await master.recv_frame(), (True, 1, WAIT))
        self.assertEqual(await master.recv_frame(), (True, 1, LINKUP))
        for ws, first in ((slave, text_frame(LINKUP)),
                          (master, text_frame(WAIT) + text_frame(LINKUP))):
            port = ws.writer.get_extra_info("sockname")[1]
            data = [p for _, _, _, p in await self.wait_segment(
                port, lambda f, p: p.endswith(text_frame(LINKUP)))
                if p]
            self.assertEqual(self.cap.dropped(), 0, "the capture dropped packets")
            self.assertEqual(len(data), 1, data)
            self.assertTrue(data[0].startswith(b"HTTP/1.1 101 "), data[0])
            self.assertTrue(data[0].endswith(b"\r\n\r\n" + first), data[0])
        master.close()
        slave.close()

    async def test_the_reply_to_a_close_carries_the_fin(self):
        self.m = m = Medusa(workers=1)
        self.cap = Capture(m.port)
        master = await RawWS.connect(m.port, "/attach/seg-close/master")
        self.assertEqual(await master.recv_frame(), (True, 1, WAIT))
        slave = await RawWS.connect(m.port, "/attach/seg-close/slave")
        self.assertEqual(await slave.recv_frame(), (True, 1, LINKUP))
        self.assertEqual(await master.recv_frame(), (True, 1, LINKUP))
        await master.send(8, close_payload(1000, b"bye"))
        # The master gets its code echoed, then the end of the stream.
        self.assertEqual(await master.recv_frame(),
                         (True, 8, close_payload(1000)))
        self.assertEqual(await master.expect_eof(), b"")
        # The slave gets the master's CLOSE and answers it.
        self.assertEqual(await slave.recv_close(), (1000, "bye"))
        slave.send_raw(frame(8, close_payload(1000)))
        self.assertEqual(await slave.expect_eof(), b"")
        port = master.writer.get_extra_info("sockname")[1]
        reply = bytes([0x88, 2]) + close_payload(1000)
        segs = await self.wait_segment(port, lambda f, p: f & TH_FIN)
        self.assertEqual(self.cap.dropped(), 0, "the capture dropped packets")
        fins = [(f, p) for _, _, f, p in segs if f & TH_FIN]
        self.assertEqual(fins, [(fins[0][0], reply)], segs)
        master.close()
        slave.close()


if __name__ == "__main__":
    unittest.main()
