"""
TLS in front of the reflector, as in production: haproxy terminates TLS
with a certificate made here by openssl, and mlogin and medusa-agent reach
the reflector through it over wss://, checking the certificate.  haproxy
runs the shipped etc/haproxy.cfg (its bind and server lines pointed at
the test's certificates and reflector), so the example cannot rot.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import Agent, BIN, Medusa, TIMEOUT, wait_until

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True)


def make_pki(d):
    """A test CA, a server certificate for localhost/127.0.0.1 signed by
    it, one for another name, and an unrelated CA."""
    for ca, cn in (("ca", "Medusa Test CA"), ("other", "Unrelated CA")):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                ca + ".key", "-out", ca + ".pem", "-days", "2", "-subj",
                "/CN=" + cn, cwd=d)
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"),
                      ("wrongname", "DNS:elsewhere.example")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/CN=" + name, cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n" % san)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey",
                "ca.key", "-CAcreateserial", "-out", name + ".crt", "-days", "2",
                "-extfile", name + ".ext", cwd=d)
        with open(os.path.join(d, name + ".pem"), "w") as f:
            for part in (name + ".crt", name + ".key"):
                with open(os.path.join(d, part)) as g:
                    f.write(g.read())


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_haproxy(d, text, port):
    """haproxy in the foreground with the configuration text (written into
    directory d), once it accepts on port."""
    cfg = os.path.join(d, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write(text)
    hap = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(hap, (port,))
    return hap


def stop_haproxy(hap):
    hap.terminate()
    hap.wait()
    hap.stderr.close()


def wait_listening(hap, ports):
    """Wait until haproxy accepts connections on every port."""
    def accepts(p):
        try:
            socket.create_connection(("127.0.0.1", p), 1).close()
            return True
        except OSError:
            if hap.poll() is not None:
                raise AssertionError("haproxy exited: %s" %
                                     hap.stderr.read())
            return False
    for p in ports:
        wait_until(lambda: accepts(p), what="haproxy to listen on %d" % p)


# haproxy's global and defaults sections for the tests (HTTP mode).
HAPROXY_HEAD = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
"""


def haproxy_cfg(port, port2, d, backend):
    """The shipped etc/haproxy.cfg, on our ports and certificates: its
    one bind line becomes two (a right and a wrong certificate), its
    server our reflector."""
    with open(os.path.join(TOP, "etc", "haproxy.cfg")) as f:
        text = f.read()
    text, n = re.subn(r"^\s*bind \S+ ssl crt \S+$",
                      "    bind 127.0.0.1:%d ssl crt %s/server.pem\n"
                      "    bind 127.0.0.1:%d ssl crt %s/wrongname.pem"
                      % (port, d, port2, d), text, flags=re.M)
    assert n == 1, "etc/haproxy.cfg: one bind line expected"
    text, n = re.subn(r"^(\s*server reflector )\S+",
                      r"\g<1>127.0.0.1:%d" % backend, text, flags=re.M)
    assert n == 1, "etc/haproxy.cfg: one server line expected"
    return text


@unittest.skipUnless(os.path.exists(HAPROXY) or os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "haproxy is not installed (make deps)")
class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        make_pki(cls.d)
        cls.m = Medusa(workers=2)
        cls.port, cls.port2 = free_port(), free_port()
        cfg = os.path.join(cls.d, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(haproxy_cfg(cls.port, cls.port2, cls.d, cls.m.port))
        cls.hap = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        wait_listening(cls.hap, (cls.port, cls.port2))

    @classmethod
    def tearDownClass(cls):
        cls.hap.terminate()
        cls.hap.wait()
        cls.hap.stderr.close()
        cls.m.stop()
        shutil.rmtree(cls.d)

    def url(self, sid, role, host="localhost", port=None):
        return "wss://%s:%d/attach/%s/%s" % (host, port or self.port, sid, role)

    def mlogin(self, *args, stdin=b"uname\nexit 6\n"):
        return subprocess.run([os.path.join(BIN, "mlogin"), "-c", "sh"] +
                              list(args), input=stdin, capture_output=True,
                              timeout=TIMEOUT)

    def test_session_over_wss_with_verification(self):
        ca = os.path.join(self.d, "ca.pem")
        agent = Agent(self.url("tls-1", "slave"), args=["--cacert", ca])
        agent.wait_msg("attached; waiting for the client")
        r = self.mlogin("--cacert", ca, self.url("tls-1", "master"))
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertEqual(r.stdout, b"Linux\n")
        self.assertEqual(agent.wait_exit(), 0)
        line = agent.wait_msg("connecting")
        self.assertIs(line["tls"], True)

    def test_ip_address_is_checked_against_the_certificate(self):
        ca = os.path.join(self.d, "ca.pem")
        agent = Agent(self.url("tls-ip", "slave", host="127.0.0.1"),
                      args=["--cacert", ca])
        agent.wait_msg("attached; waiting for the client")
        r = self.mlogin("--cacert", ca, self.url("tls-ip", "master", host="127.0.0.1"))
        self.assertEqual(r.returncode, 6, r.stderr)
        agent.wait_exit()

    def test_wrong_ca_is_refused_with_a_clear_error(self):
        other = os.path.join(self.d, "other.pem")
        r = self.mlogin("--cacert", other, self.url("tls-2", "master"))
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"certificate was refused", r.stderr)
        self.assertIn(b"unable to get local issuer certificate", r.stderr)
        agent = Agent(self.url("tls-2", "slave"), args=["--cacert", other])
        self.assertEqual(agent.wait_exit(), 1)
        line = agent.wait_msg("cannot attach to the reflector")
        self.assertIn("certificate was refused", line["error"])

    def test_system_ca_store_refuses_a_private_ca(self):
        r = self.mlogin(self.url("tls-3", "master"))
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"certificate was refused", r.stderr)

    def test_wrong_host_name_is_refused(self):
        ca = os.path.join(self.d, "ca.pem")
        r = self.mlogin("--cacert", ca, self.url("tls-4", "master", port=self.port2))
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"hostname mismatch", r.stderr)

    def test_insecure_skips_the_checks_and_says_so(self):
        other = os.path.join(self.d, "other.pem")
        agent = Agent(self.url("tls-5", "slave", port=self.port2), args=["--insecure"])
        agent.wait_msg("attached; waiting for the client")
        agent.wait_msg("TLS certificate checks are off (--insecure)")
        r = self.mlogin("--insecure", "--cacert", other,
                        self.url("tls-5", "master", port=self.port2))
        self.assertEqual(r.returncode, 6, r.stderr)
        self.assertIn(b"not checking the reflector's TLS certificate", r.stderr)
        agent.wait_exit()


if __name__ == "__main__":
    unittest.main()
