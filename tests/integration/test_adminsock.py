"""
Two reflectors on one machine and one admin socket.  The second must fail
clearly before it announces anything ("listening"), and leave the first's
socket working; a stale socket file (bound once, nobody listening) is taken
over.  Checked against the old order (listeners first): the second then
logged "listening" before failing, and the first test fails on it.
"""

import json
import os
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, TIMEOUT, Medusa, LogProc


def medusactl_status(sock):
    r = subprocess.run([os.path.join(BIN, "medusactl"), "-S", sock, "status"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    return r


class TestAdminSocket(unittest.TestCase):

    def test_second_reflector_refused_before_listening(self):
        first = Medusa(workers=1)
        try:
            fd, cfg = tempfile.mkstemp(prefix="medusa-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump({"bind": "127.0.0.1", "port": 0, "auth": "none",
                           "status_listen": "127.0.0.1:0",
                           "admin_socket": first.admin_socket}, f)
            os.chmod(cfg, 0o644)
            second = LogProc([os.path.join(BIN, "medusa"), "-f", cfg,
                              "-w", "1", "-l", "debug"])
            rc = second.wait_exit()
            os.unlink(cfg)
            self.assertNotEqual(rc, 0)
            self.assertTrue(any("another medusa is using the admin socket "
                                + first.admin_socket in l
                                for l in second.raw), second.raw)
            self.assertEqual([l for l in second.logs
                              if l.get("msg") == "listening"], [])
            # The first still answers on its socket.
            r = medusactl_status(first.admin_socket)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(first.proc.poll() is None)
        finally:
            self.assertEqual(first.stop(), 0)

    def test_stale_socket_taken_over(self):
        d = tempfile.mkdtemp(prefix="medusa-stale-")
        path = os.path.join(d, "medusa.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()  # the file stays; connecting to it is refused
        with self.assertRaises(ConnectionRefusedError):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(path)
            finally:
                c.close()
        os.chmod(d, 0o755)
        m = Medusa(workers=1, config={"admin_socket": path})
        try:
            r = medusactl_status(path)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            self.assertEqual(m.stop(), 0)
            if os.path.exists(path):
                os.unlink(path)
            os.rmdir(d)


if __name__ == "__main__":
    unittest.main()
