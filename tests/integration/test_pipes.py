"""
mlogin in pipe mode (standard input not a terminal: the agent runs the
command on pipes, as ssh -T): large streams both ways, byte-exact, the
end of input after the last byte whatever the command's pace (issue 13
defect 1), and the command's standard error apart from its output
(defect 6: the "stderr" extension both ends announce).
"""
import hashlib
import os
import subprocess
import tempfile
import unittest

from harness import Agent, BIN, Medusa, TIMEOUT

# Generous: 50 MB through two relays on a shared machine, maybe under ASan.
BIG_TIMEOUT = max(TIMEOUT * 10, 300)


class PipeTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.m = Medusa(workers=1, level="info")
        cls.n = 0
        cls.tmp = tempfile.mkdtemp()
        cls.big = os.path.join(cls.tmp, "50MB.bin")
        with open(cls.big, "wb") as f:
            f.write(os.urandom(50 * 1000 * 1000))
        with open(cls.big, "rb") as f:
            cls.big_sha = hashlib.sha256(f.read()).hexdigest()

    @classmethod
    def tearDownClass(cls):
        os.unlink(cls.big)
        os.rmdir(cls.tmp)
        assert cls.m.stop() == 0
        cls.m.check_clean(unittest.TestCase())

    def setUp(self):
        PipeTest.n += 1
        self.sid = "pipe-%d" % PipeTest.n
        self.agent = Agent(self.m.url("/attach/%s/slave" % self.sid))
        self.agent.wait_msg("attached; waiting for the client")

    def tearDown(self):
        self.agent.stop()
        self.agent.check_clean(self)

    def mlogin(self, command, stdin, stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, timeout=BIG_TIMEOUT):
        url = self.m.url("/attach/%s/master" % self.sid)
        kw = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
        return subprocess.run([os.path.join(BIN, "mlogin"), "-q", "-c",
                               command, url], stdout=stdout, stderr=stderr,
                              timeout=timeout, **kw)

    def test_end_of_input_reaches_a_slow_reader(self):
        # Defect 1: sha256sum reads more slowly than wc -c; the end of input
        # arrived while bytes were still queued for it and was lost.
        data = os.urandom(3 * 1000 * 1000)
        r = self.mlogin("sha256sum", data, timeout=TIMEOUT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[0].decode(),
                         hashlib.sha256(data).hexdigest())
        self.assertEqual(self.agent.wait_exit(), 0)

    def test_end_of_input_after_a_pause(self):
        # The command does not read at all for a while.
        r = self.mlogin("sleep 1; wc -c", b"x" * 2000000, timeout=TIMEOUT * 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), b"2000000")

    def test_50MB_through_sha256sum(self):
        with open(self.big, "rb") as f:
            r = self.mlogin("sha256sum", f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split()[0].decode(), self.big_sha)
        self.assertEqual(r.stderr, b"")

    def test_50MB_through_gzip_and_gunzip_both_ways(self):
        out = os.path.join(self.tmp, "out.bin")
        with open(self.big, "rb") as f, open(out, "wb") as o:
            r = self.mlogin("gzip -1 | gunzip", f, stdout=o)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out, "rb") as o:
            got = hashlib.sha256(o.read()).hexdigest()
        os.unlink(out)
        self.assertEqual(os.path.getsize(self.big), 50 * 1000 * 1000)
        self.assertEqual(got, self.big_sha)

    def test_50MB_on_stderr_apart_from_stdout(self):
        # The command's output and its error, each 50 MB, come back each on
        # its own stream, byte-exact.
        out = os.path.join(self.tmp, "out.bin")
        err = os.path.join(self.tmp, "err.bin")
        with open(self.big, "rb") as f, open(out, "wb") as o, \
                open(err, "wb") as e:
            r = self.mlogin("tee /dev/stderr | gzip -1 | gunzip", f,
                            stdout=o, stderr=e)
        self.assertEqual(r.returncode, 0)
        for path in (out, err):
            with open(path, "rb") as g:
                self.assertEqual(hashlib.sha256(g.read()).hexdigest(),
                                 self.big_sha, path)
            os.unlink(path)

    def test_stderr_apart(self):
        # Defect 6: stderr came on mlogin's stdout.
        r = self.mlogin("echo out; echo err >&2; echo out2; exit 4",
                        subprocess.DEVNULL, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertEqual(r.stdout, b"out\nout2\n")
        self.assertEqual(r.stderr, b"err\n")
        line = self.agent.wait_msg("starting command")
        self.assertIs(line["stderr_apart"], True)

    def test_binary_stderr_is_byte_exact(self):
        data = bytes(range(256)) * 40
        r = self.mlogin("cat >&2", data, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr, data)


if __name__ == "__main__":
    unittest.main()
