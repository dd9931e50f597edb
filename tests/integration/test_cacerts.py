"""
Where the agent and mlogin find the CA certificates that vouch for the
reflector's (issue 15): besides OpenSSL's compiled-in default they honour
SSL_CERT_FILE and SSL_CERT_DIR, and they try the CA bundles of the common
distributions.  The static agent (make agent-static), built on Debian,
carries Debian's compiled-in paths; run in a chroot that holds only the
CA bundle where another distribution keeps it, it must still check the
reflector's certificate and attach.  TLS is haproxy's, in front of the
reflector, as in test_tls.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import Agent, BIN, LogProc, Medusa, TIMEOUT, TOP
from test_tls import HAPROXY, haproxy_cfg, make_pki, free_port, wait_listening

# The static agent is built by the plain build only (a static executable
# cannot carry the sanitizers); the sanitizer run uses the plain one.
STATIC = next((p for p in (os.path.join(BIN, "medusa-agent-static"),
                           os.path.join(TOP, "bin", "medusa-agent-static"))
               if os.path.exists(p)), None)

BUNDLES = ["etc/ssl/certs/ca-certificates.crt",          # Debian, Ubuntu
           "etc/pki/tls/certs/ca-bundle.crt",            # RHEL, Fedora
           "etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
           "etc/ssl/ca-bundle.pem",                      # SUSE
           "etc/ssl/cert.pem"]                           # Alpine


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    env.update(extra)
    return env


@unittest.skipUnless(os.path.exists(HAPROXY) or os.environ.get("MEDUSA_REQUIRE_ALL"),
                     "haproxy is not installed (make deps)")
class CaCertsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = tempfile.mkdtemp()
        make_pki(cls.d)
        cls.ca = os.path.join(cls.d, "ca.pem")
        cls.m = Medusa(workers=1)
        cls.port, port2 = free_port(), free_port()
        cfg = os.path.join(cls.d, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(haproxy_cfg(cls.port, port2, cls.d, cls.m.port))
        cls.hap = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        wait_listening(cls.hap, (cls.port, port2))
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.hap.terminate()
        cls.hap.wait()
        cls.hap.stderr.close()
        cls.m.stop()
        shutil.rmtree(cls.d)

    def sid(self):
        CaCertsTest.n += 1
        return "ca-%d" % CaCertsTest.n

    def url(self, sid, role, host="localhost"):
        return "wss://%s:%d/attach/%s/%s" % (host, self.port, sid, role)

    def test_a_ca_only_in_SSL_CERT_FILE(self):
        sid = self.sid()
        agent = Agent(self.url(sid, "slave"),
                      env={"SSL_CERT_FILE": self.ca})
        agent.wait_msg("attached; waiting for the client")
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-q", "-c",
                            "echo via-env", self.url(sid, "master")],
                           capture_output=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL,
                           env=clean_env(SSL_CERT_FILE=self.ca))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"via-env\n")
        self.assertEqual(agent.wait_exit(), 0)

    def test_a_ca_only_in_SSL_CERT_DIR(self):
        certs = os.path.join(self.d, "certs")
        os.makedirs(certs, exist_ok=True)
        h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in",
                            self.ca], capture_output=True, text=True,
                           check=True).stdout.strip()
        shutil.copy(self.ca, os.path.join(certs, h + ".0"))
        sid = self.sid()
        agent = Agent(self.url(sid, "slave"), env={"SSL_CERT_DIR": certs})
        agent.wait_msg("attached; waiting for the client")
        r = subprocess.run([os.path.join(BIN, "mlogin"), "-q", "-c",
                            "echo via-dir", self.url(sid, "master")],
                           capture_output=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL,
                           env=clean_env(SSL_CERT_DIR=certs))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"via-dir\n")
        self.assertEqual(agent.wait_exit(), 0)

    def test_without_the_ca_it_is_refused(self):
        r = subprocess.run([os.path.join(BIN, "mlogin"),
                            self.url(self.sid(), "master")],
                           capture_output=True, timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL, env=clean_env())
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"certificate was refused", r.stderr)
        self.assertIn(b"trusted CAs: the system's store", r.stderr)

    def static_agent_in(self, bundle):
        """The static agent in a chroot holding only its binary and the
        CA at `bundle` (None: nowhere); returns the LogProc."""
        root = tempfile.mkdtemp(dir=self.d)
        shutil.copy(STATIC, os.path.join(root, "agent"))
        if bundle is not None:
            os.makedirs(os.path.dirname(os.path.join(root, bundle)),
                        exist_ok=True)
            shutil.copy(self.ca, os.path.join(root, bundle))
        sid = self.sid()
        agent = LogProc(["chroot", root, "/agent", "-l", "debug",
                         self.url(sid, "slave", host="127.0.0.1")],
                        env=clean_env())
        self.addCleanup(lambda: (agent.proc.kill(), agent.proc.wait()))
        return agent

    @unittest.skipUnless(STATIC or os.environ.get("MEDUSA_REQUIRE_ALL"),
                         "make agent-static")
    def test_static_agent_finds_the_bundle_of_each_distribution(self):
        self.assertIsNotNone(STATIC, "bin/medusa-agent-static is missing")
        for bundle in BUNDLES:
            with self.subTest(bundle=bundle):
                agent = self.static_agent_in(bundle)
                line = agent.wait_msg("TLS established")
                self.assertIn("checked against the system's store and /" +
                              bundle, line["info"])
                agent.wait_msg("attached; waiting for the client")

    @unittest.skipUnless(STATIC or os.environ.get("MEDUSA_REQUIRE_ALL"),
                         "make agent-static")
    def test_static_agent_without_a_bundle_is_refused(self):
        self.assertIsNotNone(STATIC, "bin/medusa-agent-static is missing")
        agent = self.static_agent_in(None)
        self.assertEqual(agent.wait_exit(), 1)
        line = agent.wait_msg("cannot attach to the reflector")
        self.assertIn("certificate was refused", line["error"])


if __name__ == "__main__":
    unittest.main()
