"""
A dead network (issue 13 defect 2): with the traffic silently dropped (a
proxy that stops forwarding without closing anything), mlogin and the
agent each notice within the bound their ServerAlive options set
((count + 1) x interval), say so, and exit: mlogin 255, the agent 1 after
hanging up on the command.  A reset is noticed at once.  The dial is
bounded by ConnectTimeout, and a slow one says what it waits for.
"""
import os
import subprocess
import time
import unittest

from harness import Agent, BIN, Medusa, Pty, SLOW, TIMEOUT
from tcpproxy import TcpProxy

# The reflector's own pings would end the session too; keep them out of it.
QUIET_REFLECTOR = {"ping_interval_s": 3600}
ALIVE = ["-o", "ServerAliveInterval=0.5", "-o", "serveralivecountmax=2"]
BOUND = (2 + 1) * 0.5


# A lost connection ends the session only with resume off (issue 14).
NORESUME = ["-o", "Resume=no"]


class LivenessTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1, config=QUIET_REFLECTOR)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.m.stop() == 0
        cls.m.check_clean(unittest.TestCase())

    def setUp(self):
        LivenessTest.n += 1
        self.sid = "live-%d" % LivenessTest.n
        self.proxy = TcpProxy(("127.0.0.1", self.m.port))
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            for f in (p.stdout, p.stderr, p.stdin):
                if f is not None:
                    f.close()
        self.proxy.close()

    def proxied(self, role):
        return "ws://127.0.0.1:%d/attach/%s/%s" % (self.proxy.port, self.sid,
                                                   role)

    def mlogin(self, *args, url=None):
        p = subprocess.Popen([os.path.join(BIN, "mlogin")] + NORESUME +
                             list(args) + [url or self.proxied("master")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def test_mlogin_notices_a_black_hole_and_exits_255(self):
        agent = Agent(self.m.url("/attach/%s/slave" % self.sid), args=NORESUME)
        agent.wait_msg("attached; waiting for the client")
        p = self.mlogin(*ALIVE, "-c", "echo started; sleep 1000")
        self.assertEqual(p.stdout.readline(), b"started\n")
        self.proxy.blackhole()
        t0 = time.monotonic()
        _, err = p.communicate(timeout=TIMEOUT)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 255, err)
        self.assertIn(b"lost the connection to the reflector: no answer from "
                      b"the reflector", err)
        self.assertLess(took, BOUND * SLOW + 3.0)
        self.assertGreater(took, 0.5)
        agent.stop()

    def test_agent_notices_a_black_hole_hangs_up_and_exits_1(self):
        agent = Agent(self.proxied("slave"), args=NORESUME + ALIVE)
        agent.wait_msg("attached; waiting for the client")
        p = self.mlogin("-c", "echo started; sleep 1000",
                        url=self.m.url("/attach/%s/master" % self.sid))
        self.assertEqual(p.stdout.readline(), b"started\n")
        self.proxy.blackhole()
        t0 = time.monotonic()
        self.assertEqual(agent.wait_exit(), 1)
        self.assertLess(time.monotonic() - t0, BOUND * SLOW + 3.0)
        line = agent.wait_msg("connection to the reflector lost")
        self.assertIn("no answer from the reflector", line["error"])
        self.assertEqual(line["end"], "lost")
        agent.wait_msg("session ended; hanging up on the command")
        # The reflector saw the agent's socket close only if the proxy
        # passes it on; either way mlogin ends when the session does.
        self.proxy.restore()
        _, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 255, err)

    def test_a_black_hole_while_waiting_for_the_agent(self):
        p = self.mlogin(*ALIVE)
        self.proxy.wait_connections(1)
        self.m.wait_log(lambda l: l.get("msg") == "attached" and
                        l.get("session") == self.sid)
        # The 101 (and the first wait) have reached mlogin, not only left
        # the reflector: a black hole before would leave it dialling.
        self.proxy.wait_down(129)
        self.proxy.blackhole()
        _, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 255, err)
        self.assertIn(b"no answer from the reflector", err)

    def test_answered_pings_keep_a_quiet_session(self):
        # Silence from the command is no dead network: the reflector answers
        # our pings, so 5 intervals of a quiet command pass.
        agent = Agent(self.m.url("/attach/%s/slave" % self.sid), args=NORESUME + ALIVE)
        agent.wait_msg("attached; waiting for the client")
        p = self.mlogin(*ALIVE, "-c", "sleep 2.5; echo still-here")
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(out, b"still-here\n")
        self.assertEqual(agent.wait_exit(), 0)

    def test_a_reset_is_noticed_at_once(self):
        agent = Agent(self.m.url("/attach/%s/slave" % self.sid), args=NORESUME)
        agent.wait_msg("attached; waiting for the client")
        p = self.mlogin("-c", "echo started; sleep 1000")
        self.assertEqual(p.stdout.readline(), b"started\n")
        self.proxy.reset()
        _, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 255, err)
        self.assertIn(b"lost the connection to the reflector", err)
        agent.stop()

    def test_connect_timeout_and_what_it_waits_for(self):
        # The proxy takes the connection but the upgrade is never answered.
        self.proxy.blackhole()
        t0 = time.monotonic()
        p = self.mlogin("-o", "ConnectTimeout=2.5")
        _, err = p.communicate(timeout=TIMEOUT)
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 255, err)
        self.assertIn(b" * still waiting for 127.0.0.1:%d to answer "
                      b"the WebSocket upgrade" % self.proxy.port, err)
        self.assertRegex(err, rb"timed out after 2\.[5-9] s waiting for")
        self.assertLess(took, 2.5 + 2.0)

    def test_options_are_checked(self):
        for opt, want in (("ServerAliveInterval=-1", "ServerAliveInterval must"),
                          ("ServerAliveCountMax=0", "ServerAliveCountMax must"),
                          ("ConnectTimeout=0", "ConnectTimeout must"),
                          ("ConnectTimeout", "expected KEY=VALUE"),
                          ("Compression=yes", "unknown option")):
            for prog in ("mlogin", "medusa-agent"):
                with self.subTest(opt=opt, prog=prog):
                    r = subprocess.run([os.path.join(BIN, prog), "-o", opt,
                                        self.proxied("master" if prog ==
                                                     "mlogin" else "slave")],
                                       capture_output=True, text=True,
                                       timeout=TIMEOUT,
                                       stdin=subprocess.DEVNULL)
                    self.assertEqual(r.returncode, 2)
                    self.assertIn(want, r.stderr)


if __name__ == "__main__":
    unittest.main()
