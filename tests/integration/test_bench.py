"""
The benchmark tools themselves (bench/): medusa-bench against the real
reflector and against the bare relay, briefly, so that `make bench` is not
the first to find them broken.  No figure is asserted (timings are the
benchmarks' business): only that every scenario ran, checked its bytes
(medusa-bench exits 1 on a wrong, lost or reordered byte), and reported
the counts it was asked for.  And that it fails, with exit status 1, when
there is no server to talk to.
"""
import json
import os
import re
import socket
import subprocess
import unittest

from harness import BIN, TIMEOUT, VALGRIND, LogProc, Medusa

BENCH = os.path.join(BIN, "medusa-bench")
BARE = os.path.join(BIN, "bare-relay")


def run_bench(*args):
    p = subprocess.run([BENCH] + list(args) + ["-q"], capture_output=True,
                       text=True, timeout=TIMEOUT * 3)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, (json.loads(lines[-1]) if lines else None), p


@unittest.skipIf(VALGRIND, "the bench tools are not under test in memcheck")
@unittest.skipUnless(os.path.exists(BENCH) and os.path.exists(BARE),
                     "bin/medusa-bench or bin/bare-relay not built")
class BenchToolTest(unittest.TestCase):

    def scenarios(self, url):
        rc, r, p = run_bench("setup", "--url", url, "-n", "200", "-c", "20")
        self.assertEqual(rc, 0, p.stderr)
        self.assertTrue(r["ok"])
        self.assertEqual(r["sessions"], 200)
        self.assertGreater(r["sessions_per_s"], 0)
        rc, r, p = run_bench("latency", "--url", url, "-s", "5", "-r", "50",
                             "-d", "1")
        self.assertEqual(rc, 0, p.stderr)
        self.assertTrue(r["ok"])
        rc, r, p = run_bench("throughput", "--url", url, "-s", "2", "-d", "1")
        self.assertEqual(rc, 0, p.stderr)
        self.assertTrue(r["ok"])
        self.assertGreater(r["messages"], 0)
        self.assertGreater(r["bytes"], 0)
        return r

    def test_signed_attaches_against_medusa_with_credentials(self):
        """--key: every attach signed; the reflector checks them (a key it
        does not know fails the run: the signing is really checked)."""
        import shutil
        import tempfile
        tmp = tempfile.mkdtemp(prefix="medusa-bench-keys-")
        os.chmod(tmp, 0o755)
        keys = os.path.join(tmp, "keys")
        os.mkdir(keys, 0o755)
        for name in ("k", "other"):
            subprocess.run(["ssh-keygen", "-q", "-N", "", "-t", "ed25519",
                            "-f", os.path.join(tmp, name)], check=True)
        shutil.copy(os.path.join(tmp, "k.pub"), os.path.join(keys, "bench"))
        os.chmod(os.path.join(keys, "bench"), 0o644)
        m = Medusa(workers=2, config={"auth": "signature",
                                      "keys_dir": keys})
        try:
            url = "ws://127.0.0.1:%d/bench/medusa" % m.port
            rc, r, p = run_bench("setup", "--url", url, "-n", "200", "-c",
                                 "20", "--key", os.path.join(tmp, "k"),
                                 "--account", "bench")
            self.assertEqual(rc, 0, p.stderr)
            self.assertEqual(r["sessions"], 200)
            rc, r, p = run_bench("setup", "--url", url, "-n", "20",
                                 "--key", os.path.join(tmp, "other"),
                                 "--account", "bench")
            self.assertEqual(rc, 1)
            self.assertIn("401", p.stderr)
            rc, r, p = run_bench("setup", "--url", url, "-n", "20",
                                 "--key", os.path.join(tmp, "k"))
            self.assertEqual(rc, 1)
            self.assertIn("--account", p.stderr)
        finally:
            m.stop()
            shutil.rmtree(tmp)

    def test_against_medusa(self):
        m = Medusa(workers=2)
        try:
            self.scenarios("ws://127.0.0.1:%d" % m.port)
            rc, r, p = run_bench("idle", "--url", "ws://127.0.0.1:%d" % m.port,
                                 "-s", "50", "-d", "0", "--proc-tree",
                                 str(m.proc.pid))
            self.assertEqual(rc, 0, p.stderr)
            self.assertTrue(r["ok"])
            self.assertEqual(r["sessions"], 50)
        finally:
            self.assertEqual(m.stop(), 0)

    def test_against_bare_relay(self):
        bare = LogProc([BARE, "-p", "0"])
        try:
            port = bare.wait_log(lambda l: l.get("msg") == "listening")["port"]
            self.scenarios("tcp://127.0.0.1:%d" % port)
        finally:
            bare.proc.terminate()
            bare.proc.wait(TIMEOUT)

    def test_no_server_fails(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # Nobody listens there now.
        rc, r, p = run_bench("setup", "--url", "ws://127.0.0.1:%d" % port,
                             "-n", "5", "--timeout", "5")
        self.assertEqual(rc, 1)
        self.assertTrue(r is None or not r["ok"])

    def test_bad_arguments(self):
        # An unknown scenario: the usage, exit 2.
        p = subprocess.run([BENCH, "bogus"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertEqual(p.returncode, 2)
        self.assertIn("usage: medusa-bench", p.stderr)
        # A value out of range: a failed result that names it, exit 1.
        rc, r, p = run_bench("setup", "--url", "ws://127.0.0.1:1", "-n", "0")
        self.assertEqual(rc, 1)
        self.assertFalse(r["ok"])
        self.assertTrue(re.search(r"^-n: 0 is not a number", r["error"]),
                        r["error"])
        # bare-relay: each bad option named, exit 2.
        for args, says in ((["-p", "x"], "bad port x"),
                           (["-p", "65536"], "bad port 65536"),
                           (["-D", "11"], "bad -D 11"),
                           (["-D", ""], "bad -D"),
                           (["-x"], "usage: bare-relay")):
            with self.subTest(args=args):
                p = subprocess.run([BARE] + args, capture_output=True,
                                   text=True, timeout=TIMEOUT)
                self.assertEqual(p.returncode, 2)
                self.assertIn(says, p.stderr)


if __name__ == "__main__":
    unittest.main()
