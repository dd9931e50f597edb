"""
Two reflectors on one machine and one admin socket.  The second must fail
clearly before it announces anything ("listening"), and leave the first's
socket working; a stale socket file (bound once, nobody listening) is taken
over.  With no "admin_socket" and no -S, medusa and medusactl agree on the
default (paths.h): $XDG_RUNTIME_DIR/medusa.sock, else bin/../run/medusa.sock
in a directory medusa makes owner-only.  Checked against the old order (listeners first): the second then
logged "listening" before failing, and the first test fails on it.
"""

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import unittest

from harness import BIN, TIMEOUT, Medusa, LogProc


def default_tree():
    """A copy of bin/ and etc/medusa.json (ours: port 0) in a fresh
    directory, since the in-tree defaults are taken beside the program."""
    top = tempfile.mkdtemp(prefix="medusa-tree-")
    os.mkdir(os.path.join(top, "bin"))
    os.mkdir(os.path.join(top, "etc"))
    for p in ("medusa", "medusa-worker", "medusactl"):
        shutil.copy2(os.path.join(BIN, p), os.path.join(top, "bin", p))
    with open(os.path.join(top, "etc", "medusa.json"), "w") as f:
        json.dump({"bind": "127.0.0.1", "port": 0, "auth": "none",
                   "status_listen": "127.0.0.1:0", "user": ""}, f)
    return top


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

    def _default_pair(self, xdg):
        """medusa with its default config, medusactl with no -S nor -f."""
        top = default_tree()
        env = {k: v for k, v in os.environ.items()
               if k != "XDG_RUNTIME_DIR"}
        if xdg is not None:
            env["XDG_RUNTIME_DIR"] = xdg
            want = os.path.join(xdg, "medusa.sock")
        else:
            want = os.path.join(top, "run", "medusa.sock")
        m = LogProc([os.path.join(top, "bin", "medusa"), "-w", "1",
                     "-l", "debug"], env=env)
        try:
            m.wait_log(lambda l: l.get("msg") == "worker ready")
            self.assertTrue(stat.S_ISSOCK(os.stat(want).st_mode), want)
            self.assertNotIn("/tmp/medusa.sock",
                             "\n".join(m.raw))
            if xdg is None:
                st = os.stat(os.path.dirname(want))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
            r = subprocess.run([os.path.join(top, "bin", "medusactl"),
                                "status"], capture_output=True, text=True,
                               timeout=TIMEOUT, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("health: ok", r.stdout)
        finally:
            m.proc.terminate()
            self.assertEqual(m.wait_exit(), 0)
            m.check_clean(self)
            shutil.rmtree(top)
        self.assertFalse(os.path.exists(want))

    def test_default_socket_beside_build(self):
        self._default_pair(None)

    def test_default_socket_in_xdg_runtime_dir(self):
        xdg = tempfile.mkdtemp(prefix="medusa-xdg-")
        try:
            self._default_pair(xdg)
        finally:
            os.rmdir(xdg)


if __name__ == "__main__":
    unittest.main()
