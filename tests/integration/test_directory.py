"""The session directory's client (worker/directory.c, through
build/dirtool) against a real redis-server started here: claims with
fences, refresh and release only by the owner, lookups, claims lapsing,
Redis stopped (answers "down" at once, counted) and back (works again
without a restart).  The reflectors' forwarding is not wired yet."""

import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import TIMEOUT, TOP, wait_until

DIRTOOL = os.environ.get("MEDUSA_DIRTOOL",
                         os.path.join(TOP, "build", "dirtool"))
REDIS = shutil.which("redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self, port):
        self.port = port
        self.p = subprocess.Popen(
            [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        wait_until(self.up, what="redis-server listening")

    def up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
            return True
        except OSError:
            return False

    def cmd(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port)] +
                              list(args), capture_output=True, text=True,
                              check=True).stdout.strip()

    def stop(self):
        self.p.kill()
        self.p.wait()
        self.p.stdout.close()


class DirTool:
    def __init__(self, port, advertise, ttl="30"):
        self.p = subprocess.Popen(
            [DIRTOOL, "redis://127.0.0.1:%d" % port, advertise, ttl],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)

    def q(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(TIMEOUT)
        self.p.stdout.close()
        err = self.p.stderr.read()
        self.p.stderr.close()
        return rc, err


F1 = "0" * 32
F2 = "1" * 32


@unittest.skipIf(REDIS is None, "redis-server is not installed")
class DirectoryTest(unittest.TestCase):
    def setUp(self):
        self.redis = Redis(free_port())
        self.tools = []

    def tearDown(self):
        for t in self.tools:
            if t.p.poll() is None:
                t.close()
        if self.redis.p.poll() is None:
            self.redis.stop()

    def tool(self, advertise, ttl="30"):
        t = DirTool(self.redis.port, advertise, ttl)
        self.tools.append(t)
        wait_until(lambda: t.q("counters").endswith("connects=1"),
                   what="the directory connected")
        return t

    def test_claims(self):
        a = self.tool("10.0.0.2:8381")
        b = self.tool("10.0.0.3:8381")
        key = "medusa:s:alice/s1"
        self.assertEqual(a.q("lookup " + key), "none")
        self.assertEqual(a.q("claim %s %s" % (key, F1)), "owner")
        self.assertEqual(self.redis.cmd("GET", key), "10.0.0.2:8381 " + F1)
        ttl = int(self.redis.cmd("PTTL", key))
        self.assertTrue(25000 < ttl <= 30000, ttl)
        # Another host finds it taken, and by whom.
        self.assertEqual(b.q("claim %s %s" % (key, F2)), "other 10.0.0.2:8381")
        self.assertEqual(b.q("lookup " + key), "other 10.0.0.2:8381")
        self.assertEqual(a.q("lookup " + key), "owner")
        # Only the fence holder refreshes or releases.
        self.assertEqual(b.q("refresh %s %s" % (key, F2)), "none")
        self.assertEqual(b.q("release %s %s" % (key, F2)), "none")
        self.assertEqual(a.q("release %s %s" % (key, F2)), "none")
        self.assertEqual(self.redis.cmd("GET", key), "10.0.0.2:8381 " + F1)
        self.redis.cmd("PEXPIRE", key, "1000")
        self.assertEqual(a.q("refresh %s %s" % (key, F1)), "owner")
        self.assertTrue(int(self.redis.cmd("PTTL", key)) > 25000)
        self.assertEqual(a.q("release %s %s" % (key, F1)), "owner")
        self.assertEqual(self.redis.cmd("EXISTS", key), "0")
        self.assertEqual(b.q("claim %s %s" % (key, F2)), "owner")
        self.assertIn("errors=0", a.q("counters"))

    def test_lapse(self):
        a = self.tool("10.0.0.2:8381", ttl="1")
        b = self.tool("10.0.0.3:8381")
        key = "medusa:s:/lapse"
        self.assertEqual(a.q("claim %s %s" % (key, F1)), "owner")
        # A dead owner refreshes nothing: its claim lapses within the TTL.
        a.close()
        t0 = time.monotonic()
        wait_until(lambda: b.q("lookup " + key) == "none",
                   what="the claim lapsed")
        self.assertLess(time.monotonic() - t0, 1.0 + 1.0)
        self.assertEqual(b.q("claim %s %s" % (key, F2)), "owner")

    def test_outage(self):
        a = self.tool("10.0.0.2:8381")
        key = "medusa:s:/out"
        self.assertEqual(a.q("claim %s %s" % (key, F1)), "owner")
        port = self.redis.port
        self.redis.stop()
        # Down: each request answers "down" (at once, or after its
        # 200 ms time-out), counted; the tool stays up.
        for _ in range(5):
            t0 = time.monotonic()
            self.assertEqual(a.q("claim medusa:s:/x " + F2), "down")
            self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIsNone(a.p.poll())
        c = a.q("counters")
        self.assertNotIn("errors=0 ", c)
        # Back on the same port: claims work again, no restart.
        self.redis = Redis(port)
        wait_until(lambda: a.q("claim medusa:s:/y " + F2) == "owner",
                   what="the directory back")
        self.assertIn("connects=2", a.q("counters"))
        rc, err = a.close()
        self.assertEqual(rc, 0)
        self.assertIn("session directory unreachable", err)


if __name__ == "__main__":
    unittest.main()
