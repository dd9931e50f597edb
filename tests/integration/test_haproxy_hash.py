"""Several reflectors without a session directory (issue 16): haproxy in
front with the two hash lines of etc/haproxy-hash.cfg, two reflectors
behind it.  Both sides of every session land on the same host, so every
session pairs and relays; the sessions spread over both hosts."""

import asyncio
import os
import shutil
import tempfile
import unittest

from harness import (AsyncTestCase, Medusa, TOP, until, ws_pair, ws_recv)
from test_tls import (HAPROXY, HAPROXY_HEAD, free_port, start_haproxy,
                      stop_haproxy)

CFG = HAPROXY_HEAD + """frontend medusa
    bind 127.0.0.1:{port}
    default_backend reflectors
backend reflectors
{hash}
    server r1 127.0.0.1:{p1}
    server r2 127.0.0.1:{p2}
"""


def hash_lines():
    """The lines of the shipped example marked "# medusa-hash"."""
    with open(os.path.join(TOP, "etc", "haproxy-hash.cfg")) as f:
        lines = [l.split("#")[0].rstrip() for l in f
                 if l.rstrip().endswith("# medusa-hash")]
    assert len(lines) == 2, lines
    return "\n".join(lines)


class Front:
    def __init__(self, port):
        self.port = port

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)


@unittest.skipUnless(os.path.exists(HAPROXY) or
                     os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "haproxy is not installed (make deps)")
class HaproxyHashTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        cls.ms = [Medusa(workers=2), Medusa(workers=2)]
        cls.port = free_port()
        cls.hap = start_haproxy(cls.d, CFG.format(
            port=cls.port, hash=hash_lines(), p1=cls.ms[0].port,
            p2=cls.ms[1].port), cls.port)

    @classmethod
    def tearDownClass(cls):
        stop_haproxy(cls.hap)
        for m in cls.ms:
            m.stop()
        shutil.rmtree(cls.d)

    def linked(self, m):
        with m.cond:
            return sum(1 for l in m.logs if l.get("msg") == "session linked")

    async def test_both_sides_on_one_host(self):
        front = Front(self.port)

        async def one(i):
            # Mixed case: the reflector keys sessions lowercased.
            sid = "Hash-%d" % i
            master, slave = await ws_pair(front, sid)
            await master.send("m%d" % i)
            self.assertEqual(await ws_recv(slave), "m%d" % i)
            await slave.send(b"s%d" % i)
            self.assertEqual(await ws_recv(master), b"s%d" % i)
            await master.close()
            await slave.close()
        await asyncio.gather(*(one(i) for i in range(60)))
        # Every session linked on one host, and both hosts took some:
        # the hash spreads ids.
        await until(lambda: sum(self.linked(m) for m in self.ms) == 60,
                    what="60 sessions linked")
        counts = [self.linked(m) for m in self.ms]
        self.assertTrue(all(counts), counts)


if __name__ == "__main__":
    unittest.main()
