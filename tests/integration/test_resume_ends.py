"""
Sessions that resume, the ends' part (issue 14): mlogin and the agent
through TCP proxies (tcpproxy.py) that reset and black-hole their
connections; the streams stay byte-exact, the shell stays the same
process, ~. still ends the session while mlogin reconnects, and a resume
after the agent's grace period is refused clearly.
"""
import hashlib
import os
import subprocess
import tempfile
import unittest

from harness import Agent, BIN, Medusa, Pty, TIMEOUT
from tcpproxy import TcpProxy

BIG_TIMEOUT = max(TIMEOUT * 10, 300)
# Liveness fast enough that a black hole is noticed within a second.
ALIVE = ["-o", "ServerAliveInterval=0.3", "-o", "ServerAliveCountMax=2"]


class ResumeEndsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1, level="info")
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0

    def setUp(self):
        ResumeEndsTest.n += 1
        self.sid = "resume-ends-%d" % ResumeEndsTest.n
        self.pa = TcpProxy(("127.0.0.1", self.m.port))
        self.pm = TcpProxy(("127.0.0.1", self.m.port))

    def tearDown(self):
        self.pa.close()
        self.pm.close()

    def agent(self, args=()):
        a = Agent("ws://127.0.0.1:%d/attach/%s/slave" % (self.pa.port,
                                                         self.sid),
                  args=ALIVE + list(args))
        a.wait_msg("attached; waiting for the client")
        return a

    def murl(self):
        return "ws://127.0.0.1:%d/attach/%s/master" % (self.pm.port, self.sid)

    def brk(self, proxy, how):
        """Break the proxy's connection: reset, or a black hole until the
        end behind it has noticed and dialled again."""
        if how == "reset":
            proxy.reset()
            return
        n = proxy.accepted
        proxy.blackhole()
        proxy.wait_connections(n + 1)
        proxy.reset()   # the old, held connections: gone for good
        proxy.restore()

    def test_pipe_50MB_each_way_with_20_breaks(self):
        data = os.urandom(50 * 1000 * 1000)
        want = hashlib.sha256(data).hexdigest()
        a = self.agent()
        with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as out:
            src.write(data)
            src.seek(0)
            p = subprocess.Popen([os.path.join(BIN, "mlogin")] + ALIVE +
                                 ["-q", "-c", "cat", self.murl()],
                                 stdin=src, stdout=out,
                                 stderr=subprocess.PIPE)
            try:
                for i in range(20):
                    proxy = self.pm if i % 2 == 0 else self.pa
                    # Wait for the stream to move on, then break it.
                    proxy.wait_down(proxy.down + 1000000, BIG_TIMEOUT)
                    self.brk(proxy, "reset" if i % 4 < 2 else "blackhole")
                _, err = p.communicate(timeout=BIG_TIMEOUT)
            finally:
                p.kill()
            self.assertEqual(p.returncode, 0, err)
            out.seek(0)
            h = hashlib.sha256()
            n = 0
            while True:
                b = out.read(1 << 20)
                if not b:
                    break
                n += len(b)
                h.update(b)
            self.assertEqual(n, len(data))
            self.assertEqual(h.hexdigest(), want)
        self.assertEqual(a.wait_exit(BIG_TIMEOUT), 0)
        self.assertGreaterEqual(self.pm.accepted, 11)
        self.assertGreaterEqual(self.pa.accepted, 11)

    def test_shell_survives_breaks_and_tilde_dot_while_reconnecting(self):
        a = self.agent()
        t = Pty([os.path.join(BIN, "mlogin")] + ALIVE + [self.murl()])
        try:
            a.wait_msg("starting command")
            t.send(b"echo pid=$$\r")
            pid = t.expect(rb"pid=(\d+)").group(1)
            for i in range(10):
                self.brk(self.pm if i % 2 == 0 else self.pa,
                         "reset" if i % 4 < 2 else "blackhole")
                t.send(b"echo again-%d=$$\r" % i)
                got = t.expect(rb"again-%d=(\d+)" % i).group(1)
                self.assertEqual(got, pid)
            # Now a black hole that stays: ~. ends the session at once.
            self.pm.blackhole()
            t.expect(rb"reconnecting")
            t.send(b"\r~.")
            self.assertEqual(t.wait(), 255)
        finally:
            t.kill()
        self.pm.restore()
        a.stop()

    def test_resume_after_the_grace_period_is_refused(self):
        a = self.agent(["--grace", "1"])
        t = Pty([os.path.join(BIN, "mlogin")] + ALIVE + [self.murl()])
        try:
            a.wait_msg("starting command")
            t.send(b"echo up\r")
            t.expect(rb"up")
            # mlogin cut off (its redials reset): the agent's grace
            # ends, it hangs up and ends the session for good.
            self.pm.refusing = True
            self.pm.reset()
            t.expect(rb"reconnecting")
            a.wait_msg("no client came back within the grace period; "
                       "hanging up")
            self.assertEqual(a.wait_exit(), 4)
            self.pm.refusing = False
            t.expect(rb"cannot be resumed")
            self.assertEqual(t.wait(), 254)
        finally:
            t.kill()
