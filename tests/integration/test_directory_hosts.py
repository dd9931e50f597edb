"""Three reflector hosts on 127.0.0.2, .3 and .4 sharing a session
directory (a real redis-server) behind haproxy in TCP round-robin (issue
16): the two sides of most sessions reach different hosts, and every
session pairs (at the host that claimed it, through the forwarding hop)
and relays byte-exact."""

import asyncio
import os
import shutil
import tempfile
import unittest

from harness import AsyncTestCase, Medusa, until, ws_pair, ws_recv
from test_directory import REDIS, Redis, free_port
from test_directory_claims import counters
from test_tls import HAPROXY, HAPROXY_HEAD, start_haproxy, stop_haproxy

CFG = HAPROXY_HEAD + """frontend medusa
    mode tcp
    bind 127.0.0.1:{port}
    default_backend reflectors
backend reflectors
    mode tcp
    balance roundrobin
{servers}
"""
N = 600


class Front:
    def __init__(self, port):
        self.port = port

    def url(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)


@unittest.skipUnless(os.path.exists(HAPROXY) and REDIS is not None,
                     "haproxy or redis-server is not installed (make deps)")
class ThreeHostsTest(AsyncTestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        os.chmod(cls.d, 0o755)
        secret = os.path.join(cls.d, "secret")
        with open(secret, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(secret, 0o644)
        cls.redis = Redis(free_port())
        cls.ms = [Medusa(workers=2, config={
            "bind": "127.0.0.%d" % h, "secret_file": secret,
            "directory": "redis://127.0.0.1:%d" % cls.redis.port})
            for h in (2, 3, 4)]
        cls.port = free_port()
        servers = "\n".join("    server r%d 127.0.0.%d:%d" % (i, i + 2, m.port)
                            for i, m in enumerate(cls.ms))
        cls.hap = start_haproxy(cls.d, CFG.format(port=cls.port,
                                                  servers=servers), cls.port)

    @classmethod
    def tearDownClass(cls):
        stop_haproxy(cls.hap)
        for m in cls.ms:
            m.stop()
            m.check_clean(unittest.TestCase())
        cls.redis.stop()
        shutil.rmtree(cls.d)

    async def test_600_sessions_pair_across_hosts(self):
        front = Front(self.port)
        sem = asyncio.Semaphore(50)

        async def one(i):
            async with sem:
                master, slave = await ws_pair(front, "Three-%d" % i)
                data = os.urandom(100 + i)
                await master.send(data)
                self.assertEqual(await ws_recv(slave), data)
                await slave.send("s%d" % i)
                self.assertEqual(await ws_recv(master), "s%d" % i)
                await master.close()
                await slave.close()
        await asyncio.gather(*(one(i) for i in range(N)))
        total = lambda k: sum(counters(m).get(k, 0) for m in self.ms)
        await until(lambda: total("forwards_in") == total("forwards_out") and
                    total("claims") >= N, what="the counters reported")
        # Round-robin: most sessions had their sides on two hosts.
        self.assertGreater(total("forwards_out"), N // 2)
        self.assertEqual(total("forwards_refused"), 0)
        self.assertEqual(total("forwards_failed"), 0)


if __name__ == "__main__":
    unittest.main()
