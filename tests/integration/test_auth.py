"""
Authentication (issue 12): nobody attaches without a credential of the
account named in the path.  The reflector runs with "auth": "signature"
and a keys directory of keys made by OpenSSH's ssh-keygen; credentials are
made by our signer (build/authtool), by ssh-agent, by npm http-signature
(the original client's signing code) and by the real msign of npm manta
5.4.2, and sent with python3-websockets or raw sockets.
"""
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import (AsyncTestCase, Medusa, TIMEOUT, TOP, BIN, LINKUP, WAIT,
                     http_get, parse_response, raw_exchange, ws_recv,
                     ws_close_of, wait_until)

AUTHTOOL = os.environ.get("MEDUSA_AUTHTOOL",
                          os.path.join(TOP, "build", "authtool"))
COMPAT = os.path.join(TOP, "tests", "compat")
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
REQUIRE = os.environ.get("MEDUSA_REQUIRE_ALL") == "1"


def have(*tools):
    return all(shutil.which(t) for t in tools)


class Keys:
    """A keys directory: alice has RSA 2048 and 4096, ECDSA P-256 and
    P-384, Ed25519; bob has one ECDSA key; "stranger" is registered
    nowhere.  All made by ssh-keygen."""

    TYPES = {"rsa2048": ["-t", "rsa", "-b", "2048"],
             "rsa4096": ["-t", "rsa", "-b", "4096"],
             "ecdsa256": ["-t", "ecdsa", "-b", "256"],
             "ecdsa384": ["-t", "ecdsa", "-b", "384"],
             "ed25519": ["-t", "ed25519"]}

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="medusa-keys-")
        os.chmod(self.tmp, 0o755)          # the workers run as nobody
        self.dir = os.path.join(self.tmp, "keys")
        os.mkdir(self.dir, 0o755)
        self.files = {}
        for name, args in list(self.TYPES.items()) + [
                ("bob", ["-t", "ecdsa", "-b", "256"]),
                ("stranger", ["-t", "ed25519"])]:
            path = os.path.join(self.tmp, name)
            subprocess.run(["ssh-keygen", "-q", "-N", "", "-C", name,
                            "-f", path] + args, check=True)
            self.files[name] = path
        with open(os.path.join(self.dir, "alice"), "w") as f:
            for name in self.TYPES:
                f.write(open(self.files[name] + ".pub").read())
        with open(os.path.join(self.dir, "bob"), "w") as f:
            f.write(open(self.files["bob"] + ".pub").read())
        for a in ("alice", "bob"):
            os.chmod(os.path.join(self.dir, a), 0o644)

    def md5(self, name):
        out = subprocess.run(["ssh-keygen", "-l", "-E", "md5", "-f",
                              self.files[name] + ".pub"],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()[1][4:]

    def sha256(self, name):
        out = subprocess.run(["ssh-keygen", "-l", "-f",
                              self.files[name] + ".pub"],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()[1]

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def authtool(*args, env=None):
    out = subprocess.run([AUTHTOOL] + list(args), capture_output=True,
                         text=True, env=env)
    if out.returncode != 0:
        raise AssertionError("authtool %s: %s" % (args, out.stderr))
    return out.stdout


def signed(keyfile, account, now=None, fp="-", env=None):
    """The Date and Authorization headers our signer makes, as a dict."""
    args = ["sign-request", keyfile, fp, account]
    if now is not None:
        args.append(str(int(now)))
    h = {}
    for line in authtool(*args, env=env).splitlines():
        k, v = line.split(": ", 1)
        h[k] = v
    return h


def presigned(keyfile, account, host, path, expires):
    return authtool("presign", keyfile, "-", account, host, path,
                    str(int(expires))).strip()


def upgrade(path, headers=(), host=None, port=None):
    req = "GET %s HTTP/1.1\r\nHost: %s\r\n" % (path, host or
                                               "127.0.0.1:%d" % port)
    req += ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % KEY)
    for k, v in headers:
        req += "%s: %s\r\n" % (k, v)
    return (req + "\r\n").encode()


def refusal(port, path, headers=(), host=None):
    """(status, code, response headers) of an attach that must fail."""
    data = raw_exchange(port, upgrade(path, headers, host, port))
    status, hdrs, body = parse_response(data)
    code = json.loads(body)["code"] if body else None
    return status, code, hdrs


class AuthMedusa:
    """A reflector with "auth": "signature" and the keys above."""

    @classmethod
    def start(cls, keys, workers=1, extra=None):
        cfg = {"auth": "signature", "keys_dir": keys.dir}
        cfg.update(extra or {})
        return Medusa(workers=workers, config=cfg)


@unittest.skipUnless(have("ssh-keygen") or REQUIRE, "no ssh-keygen")
class CredentialTest(AsyncTestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = Keys()
        cls.m = AuthMedusa.start(cls.keys)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        cls.keys.close()

    def path(self, sid, role, account="alice"):
        return "/%s/medusa/attach/%s/%s" % (account, sid, role)

    async def ws(self, path, headers=()):
        import websockets
        return await websockets.connect(
            "ws://127.0.0.1:%d%s" % (self.m.port, path),
            extra_headers=list(headers), compression=None,
            ping_interval=None, open_timeout=TIMEOUT)

    async def pair(self, sid, master_headers, slave_path, account="alice"):
        master = await self.ws(self.path(sid, "master", account),
                               master_headers.items())
        self.assertEqual(await ws_recv(master), WAIT)
        slave = await self.ws(slave_path)
        self.assertEqual(await ws_recv(slave), LINKUP)
        self.assertEqual(await ws_recv(master), LINKUP)
        return master, slave

    async def exchange(self, master, slave, n=5):
        for i in range(n):
            await master.send(b"m%d" % i)
            self.assertEqual(await ws_recv(slave), b"m%d" % i)
            await slave.send("s%d" % i)
            self.assertEqual(await ws_recv(master), "s%d" % i)

    async def test_every_key_type_signs_and_presigns(self):
        """A signed master and a presigned slave pair and relay, for every
        key type ssh-keygen makes."""
        host = "127.0.0.1:%d" % self.m.port
        for name in Keys.TYPES:
            with self.subTest(key=name):
                sid = "every-" + name
                f = self.keys.files[name]
                url = presigned(f, "alice", host, self.path(sid, "slave"),
                                time.time() + 300)
                master, slave = await self.pair(sid, signed(f, "alice"), url)
                await self.exchange(master, slave)
                await master.close()
                await slave.close()

    async def test_a_stranger_learns_nothing(self):
        """The public /status says only health; ids are on the status
        listener.  Bob can neither join nor block alice's session: his own
        under the same id is another session."""
        A, B = self.keys.files["ed25519"], self.keys.files["bob"]
        host = "127.0.0.1:%d" % self.m.port
        alice_m = await self.ws(self.path("shared-id", "master"),
                                signed(A, "alice").items())
        self.assertEqual(await ws_recv(alice_m), WAIT)
        st, _, body = http_get(self.m.port, "/status")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"health": "ok"})
        full = self.m.status()
        ids = [(s.get("account"), s["id"]) for s in
               full["sessions"]["sessions"]]
        self.assertIn(("alice", "shared-id"), ids)
        # Bob's credential on alice's path: refused, whatever the role.
        loop = asyncio.get_running_loop()
        for role in ("master", "slave"):
            got = await loop.run_in_executor(
                None, refusal, self.m.port, self.path("shared-id", role),
                list(signed(B, "bob").items()))
            self.assertEqual(got[:2], (403, "AuthorizationFailed"))
        # Bob's own session of the same id pairs, and alice's still waits.
        bm, bs = await self.pair(
            "shared-id", signed(B, "bob"),
            presigned(B, "bob", host, self.path("shared-id", "slave", "bob"),
                      time.time() + 60), account="bob")
        await self.exchange(bm, bs, 2)
        alice_s = await self.ws(presigned(A, "alice", host, self.path(
            "shared-id", "slave"), time.time() + 60))
        self.assertEqual(await ws_recv(alice_s), LINKUP)
        self.assertIn(await ws_recv(alice_m), (WAIT, LINKUP))
        for w in (bm, bs, alice_m, alice_s):
            await w.close()

    async def test_audit_line_names_account_and_fingerprints(self):
        """The session's audit line names the account and each side's key
        fingerprint as ssh-keygen -l prints it; /metrics counts a refused
        credential by its cause."""
        from test_metrics import parse, scrape
        host = "127.0.0.1:%d" % self.m.port
        E, R = self.keys.files["ed25519"], self.keys.files["rsa2048"]
        master, slave = await self.pair(
            "audited", signed(E, "alice"),
            presigned(R, "alice", host, self.path("audited", "slave"),
                      time.time() + 60))
        await master.send(b"x" * 10)
        self.assertEqual(await ws_recv(slave), b"x" * 10)
        await slave.send(b"y" * 3)
        self.assertEqual(await ws_recv(master), b"y" * 3)
        await master.close()
        await slave.wait_closed()
        loop = asyncio.get_running_loop()
        line = await loop.run_in_executor(None, lambda: self.m.wait_log(
            lambda l: l.get("msg") == "session ended" and
            l.get("session") == "alice/audited"))
        self.assertIs(line["audit"], True)
        self.assertEqual(line["account"], "alice")
        self.assertEqual(line["master_fingerprint"],
                         self.keys.sha256("ed25519"))
        self.assertEqual(line["slave_fingerprint"],
                         self.keys.sha256("rsa2048"))
        self.assertEqual(int(line["bytes_master_to_slave"]), 10)
        self.assertEqual(int(line["bytes_slave_to_master"]), 3)
        # A stranger's key: refused (no such key), counted by cause.
        before = parse(scrape(self.m)[1]).get(
            ("medusa_auth_refusals_total", (("cause", "no_key"),)), 0)
        got = await loop.run_in_executor(
            None, refusal, self.m.port, self.path("audited2", "master"),
            list(signed(self.keys.files["stranger"], "alice").items()))
        self.assertEqual(got[0], 401)
        await loop.run_in_executor(None, lambda: wait_until(
            lambda: parse(scrape(self.m)[1]).get(
                ("medusa_auth_refusals_total", (("cause", "no_key"),)),
                0) == before + 1, what="the refusal counted"))

    async def test_bare_paths_are_not_served_with_signatures(self):
        got = await asyncio.get_running_loop().run_in_executor(
            None, refusal, self.m.port, "/attach/x/master", [])
        self.assertEqual(got[:2], (404, "ResourceNotFound"))


@unittest.skipUnless(have("ssh-keygen") or REQUIRE, "no ssh-keygen")
class BadCredentialTest(CredentialTest):
    """The table of bad credentials, on a reflector of its own (its log
    lines are rate-limited per cause: each cause's first must show)."""

    async def test_the_table_of_bad_credentials(self):
        """Each bad credential gets its own status and code (401 with
        WWW-Authenticate, 403 for another account's valid key), one log
        line with the cause and never the signature, while a canary
        session streams through the same worker untouched."""
        k = self.keys
        A, B, S = k.files["rsa2048"], k.files["bob"], k.files["stranger"]
        host = "127.0.0.1:%d" % self.m.port
        now = time.time()
        canary_m, canary_s = await self.pair(
            "canary", signed(A, "alice"),
            presigned(A, "alice", host, self.path("canary", "slave"),
                      now + 300))
        good = signed(A, "alice")
        date, authz = good["Date"], good["Authorization"]
        sig = authz.split('signature="')[1].rstrip('"')
        keyid = '/alice/keys/%s' % k.md5("rsa2048")

        def az(**p):
            params = {"keyId": keyid, "algorithm": "rsa-sha256",
                      "headers": "date", "signature": sig}
            params.update(p)
            return "Signature " + ",".join('%s="%s"' % (a, b) for a, b in
                                           params.items() if b is not None)

        mpath = self.path("victim", "master")
        spath = self.path("victim", "slave")
        good_url = presigned(A, "alice", host, spath, now + 300)
        path_q = urllib.parse.urlsplit(good_url)
        other_b = signed(B, "bob")
        cases = [
            ("none", mpath, [], None, 401, "MissingAuthorization"),
            ("another scheme", mpath, [("Date", date),
             ("Authorization", "Basic YWxpY2U6cHc=")], None, 401,
             "InvalidAuthorization"),
            ("unknown key", mpath, [("Date", date), ("Authorization", az(
                keyId="/alice/keys/" + k.md5("stranger")))], None, 401,
             "KeyNotFound"),
            ("a key of another account", mpath, [
                ("Date", other_b["Date"]),
                ("Authorization", other_b["Authorization"])], None, 403,
             "AuthorizationFailed"),
            ("another account's key named as ours", mpath, [
                ("Date", other_b["Date"]), ("Authorization", other_b[
                    "Authorization"].replace("/bob/", "/alice/"))],
             None, 401, "KeyNotFound"),
            ("a key id of no form", mpath, [("Date", date), (
                "Authorization", az(keyId="alice-key"))], None, 401,
             "InvalidKeyId"),
            ("tampered date", mpath, [("Date", time.strftime(
                "%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now - 1))),
                ("Authorization", authz)], None, 401, "InvalidSignature"),
            ("skewed date", mpath, list(signed(A, "alice", now - 1000)
                                        .items()), None, 401, "ClockSkew"),
            ("date ahead", mpath, list(signed(A, "alice", now + 1000)
                                       .items()), None, 401, "ClockSkew"),
            ("algorithm of another key type", mpath, [("Date", date), (
                "Authorization", az(algorithm="ecdsa-sha256"))], None, 401,
             "InvalidAlgorithm"),
            ("sha1", mpath, [("Date", date), ("Authorization", az(
                algorithm="rsa-sha1"))], None, 401, "InvalidAlgorithm"),
            ("hmac", mpath, [("Date", date), ("Authorization", az(
                algorithm="hmac-sha256"))], None, 401, "InvalidAlgorithm"),
            ("missing signature", mpath, [("Date", date), (
                "Authorization", az(signature=None))], None, 401,
             "InvalidAuthorization"),
            ("missing keyId", mpath, [("Date", date), (
                "Authorization", az(keyId=None))], None, 401,
             "InvalidAuthorization"),
            ("repeated parameter", mpath, [("Date", date), (
                "Authorization", az() + ',keyId="%s"' % keyid)], None, 401,
             "InvalidAuthorization"),
            ("unquoted parameter", mpath, [("Date", date), (
                "Authorization", az().replace('algorithm="rsa-sha256"',
                                              "algorithm=rsa-sha256"))],
             None, 401, "InvalidAuthorization"),
            ("bad base64", mpath, [("Date", date), ("Authorization", az(
                signature=sig[:-4] + "!!!="))], None, 401,
             "InvalidAuthorization"),
            ("date not signed", mpath, [("Date", date), ("Authorization",
             az(headers="host"))], None, 401, "InvalidAuthorization"),
            ("two Authorization headers", mpath, [("Date", date), (
                "Authorization", authz), ("Authorization", authz)], None,
             401, "InvalidAuthorization"),
            ("a 64 KiB signature", mpath, [("Date", date), (
                "Authorization", az(signature="A" * 65536))], None, 431,
             "RequestHeaderFieldsTooLarge"),
            ("presigned: tampered path", self.path("other", "slave") + "?" +
             path_q.query, [], None, 401, "InvalidSignature"),
            ("presigned: tampered role", self.path("victim", "master") +
             "?" + path_q.query, [], None, 401, "InvalidSignature"),
            ("presigned: tampered host", good_url, [], "medusa.example:1",
             401, "InvalidSignature"),
            ("presigned: tampered query", good_url + "&role=x", [], None,
             401, "InvalidSignature"),
            ("presigned: repeated parameter", good_url + "&expires=1", [],
             None, 401, "InvalidAuthorization"),
            ("presigned: expired", presigned(A, "alice", host, spath,
                                             now - 10), [], None, 401,
             "RequestExpired"),
            ("presigned: too far ahead", presigned(
                A, "alice", host, spath, now + 30 * 86400), [], None, 401,
             "ExpiryTooFar"),
            ("presigned: another account's key", presigned(
                B, "bob", host, spath, now + 300), [], None, 403,
             "AuthorizationFailed"),
            ("presigned: unknown key", presigned(
                S, "alice", host, spath, now + 300), [], None, 401,
             "KeyNotFound"),
        ]
        loop = asyncio.get_running_loop()
        logged = set()
        for name, path, headers, hosthdr, status, code in cases:
            with self.subTest(case=name):
                mark = self.m.mark()
                got = await loop.run_in_executor(
                    None, refusal, self.m.port, path, headers, hosthdr)
                self.assertEqual(got[:2], (status, code))
                if status == 401:
                    self.assertIn("Signature", got[2].get(
                        "www-authenticate", ""))
                # One line per cause a second at most: the first of each.
                if status in (401, 403) and code not in logged:
                    logged.add(code)
                    line = self.m.wait_log(lambda l: l.get("msg") ==
                                           "credential refused" and
                                           l.get("code") == code, start=mark)
                    self.assertEqual(line["code"], code)
                    self.assertEqual(line["account"], "alice")
                    self.assertIn("peer", line)
                    self.assertIn("fingerprint", line)
        # The canary never noticed.
        await self.exchange(canary_m, canary_s, 20)
        await canary_m.close()
        await canary_s.close()
        # No credential in any log line.
        with self.m.cond:
            text = "\n".join(self.m.raw)
        for secret in (sig, urllib.parse.parse_qs(path_q.query)[
                "signature"][0], "signature="):
            self.assertNotIn(secret, text)


    test_every_key_type_signs_and_presigns = None
    test_a_stranger_learns_nothing = None
    test_bare_paths_are_not_served_with_signatures = None


@unittest.skipUnless(have("ssh-keygen", "node") or REQUIRE,
                     "no ssh-keygen or node")
class OriginalToolsTest(AsyncTestCase):
    """Credentials made by the original's own code: npm http-signature
    (what node-manta signs its requests with) and the msign command of npm
    manta 5.4.2; and ours checked by http-signature's verifier."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Keys()
        cls.m = AuthMedusa.start(cls.keys)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.keys.close()

    def node(self, *args, stdin=None, env=None):
        out = subprocess.run(["node"] + list(args), capture_output=True,
                             text=True, input=stdin, env=env,
                             timeout=TIMEOUT)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    async def test_http_signature_and_msign_credentials_pair(self):
        import websockets
        host = "127.0.0.1:%d" % self.m.port
        for name in ("rsa2048", "ecdsa256", "ed25519"):
            with self.subTest(key=name):
                sid = "orig-" + name
                f = self.keys.files[name]
                lines = self.node(os.path.join(COMPAT, "httpsig.js"), "sign",
                                  f, "/alice/keys/" + self.keys.md5(name),
                                  "GET", "/alice/medusa/attach/%s/master" % sid)
                hdrs = [tuple(l.split(": ", 1)) for l in lines.splitlines()]
                # msign finds the key in $HOME/.ssh, as for a user.
                home = tempfile.mkdtemp(prefix="medusa-home-")
                os.mkdir(os.path.join(home, ".ssh"))
                shutil.copy(f, os.path.join(home, ".ssh", "id_" + name))
                shutil.copy(f + ".pub", os.path.join(home, ".ssh",
                                                     "id_%s.pub" % name))
                env = {k: v for k, v in os.environ.items()
                       if k != "SSH_AUTH_SOCK"}
                env.update(HOME=home, MANTA_URL="http://" + host,
                           MANTA_USER="alice",
                           MANTA_KEY_ID=self.keys.md5(name))
                url = self.node(os.path.join(
                    COMPAT, "node_modules", "manta", "bin", "msign"), "-e",
                    str(int(time.time()) + 600),
                    "/alice/medusa/attach/%s/slave" % sid, env=env).strip()
                shutil.rmtree(home)
                self.assertTrue(url.startswith("http://" + host))
                master = await websockets.connect(
                    "ws://%s/alice/medusa/attach/%s/master" % (host, sid),
                    extra_headers=hdrs, compression=None,
                    open_timeout=TIMEOUT)
                self.assertEqual(await ws_recv(master), WAIT)
                slave = await websockets.connect(
                    "ws" + url[4:], compression=None, open_timeout=TIMEOUT)
                self.assertEqual(await ws_recv(slave), LINKUP)
                self.assertEqual(await ws_recv(master), LINKUP)
                await master.send(b"hello")
                self.assertEqual(await ws_recv(slave), b"hello")
                await master.close()
                await slave.close()

    def test_http_signature_verifies_ours(self):
        for name in Keys.TYPES:
            if name == "ecdsa384":
                continue    # http-signature 1.4 knows sha1/256/512 only
            with self.subTest(key=name):
                h = signed(self.keys.files[name], "alice")
                out = self.node(os.path.join(COMPAT, "httpsig.js"), "verify",
                                self.keys.files[name] + ".pub", "GET", "/x",
                                stdin="Date: %s\nAuthorization: %s\n" %
                                (h["Date"], h["Authorization"]))
                self.assertEqual(out.strip(), "ok")


@unittest.skipUnless(have("ssh-keygen", "ssh-agent", "ssh-add") or REQUIRE,
                     "no ssh-agent")
class AgentSigningTest(AsyncTestCase):
    """Keys held by a real ssh-agent sign attaches (our signer speaks the
    agent protocol); fingerprints are ssh-keygen's."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Keys()
        cls.m = AuthMedusa.start(cls.keys)
        cls.sock = os.path.join(cls.keys.tmp, "agent.sock")
        cls.agent = subprocess.Popen(["ssh-agent", "-D", "-a", cls.sock],
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(cls.sock):
            if time.monotonic() > deadline:
                raise AssertionError("ssh-agent did not start")
            time.sleep(0.05)    # a socket file appearing: nothing to wait on
        cls.env = dict(os.environ, SSH_AUTH_SOCK=cls.sock)
        for name in ("rsa2048", "ecdsa384", "ed25519"):
            subprocess.run(["ssh-add", "-q", cls.keys.files[name]],
                           env=cls.env, check=True,
                           stderr=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        cls.agent.kill()
        cls.agent.wait()
        cls.m.stop()
        cls.keys.close()

    async def test_agent_keys_sign_by_either_fingerprint(self):
        import websockets
        for name in ("rsa2048", "ecdsa384", "ed25519"):
            for fp in (self.keys.md5(name), self.keys.sha256(name)):
                with self.subTest(key=name, fp=fp[:8]):
                    h = signed("-", "alice", fp=fp, env=self.env)
                    ws = await websockets.connect(
                        "ws://127.0.0.1:%d/alice/medusa/attach/ag-%s/master"
                        % (self.m.port, name), extra_headers=list(h.items()),
                        compression=None, open_timeout=TIMEOUT)
                    self.assertEqual(await ws_recv(ws), WAIT)
                    await ws.close()

    def test_a_key_the_agent_lacks(self):
        out = subprocess.run([AUTHTOOL, "sign-request", "-",
                              self.keys.sha256("bob"), "alice"],
                             capture_output=True, text=True, env=self.env)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ssh-agent holds no key", out.stderr)


@unittest.skipUnless(have("ssh-keygen") or REQUIRE, "no ssh-keygen")
class KeysAdminTest(AsyncTestCase):
    """medusactl keys add/remove change who may attach at once, without a
    restart, and without touching a session that is streaming."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Keys()
        cls.m = AuthMedusa.start(cls.keys, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.keys.close()

    def ctl(self, *args, stdin=None):
        return subprocess.run(
            [os.path.join(BIN, "medusactl"), "-S", self.m.admin_socket,
             "-K", self.keys.dir] + list(args), capture_output=True,
            text=True, input=stdin)

    async def test_add_and_remove_take_effect_live(self):
        import websockets
        A, S = self.keys.files["rsa2048"], self.keys.files["stranger"]
        host = "127.0.0.1:%d" % self.m.port

        async def attach(keyfile, account, sid):
            try:
                ws = await websockets.connect(
                    "ws://%s/%s/medusa/attach/%s/master" % (host, account,
                                                            sid),
                    extra_headers=list(signed(keyfile, account).items()),
                    compression=None, open_timeout=TIMEOUT)
            except websockets.InvalidStatusCode as e:
                return e.status_code
            await ws.close()
            return 101

        m = await websockets.connect(
            "ws://%s/alice/medusa/attach/live/master" % host,
            extra_headers=list(signed(A, "alice").items()),
            compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await ws_recv(m), WAIT)
        s = await websockets.connect("ws" + "://" + host + presigned(
            A, "alice", host, "/alice/medusa/attach/live/slave",
            time.time() + 60)[0:], compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await ws_recv(s), LINKUP)
        self.assertEqual(await ws_recv(m), LINKUP)

        self.assertEqual(await attach(S, "carol", "c1"), 401)
        r = self.ctl("keys", "add", "carol", S + ".pub")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.keys.sha256("stranger"), r.stdout)
        self.assertEqual(await attach(S, "carol", "c1"), 101)
        r = self.ctl("keys", "list", "carol")
        self.assertIn(self.keys.md5("stranger"), r.stdout)
        r = self.ctl("keys", "add", "carol", S + ".pub")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already has", r.stderr)
        r = self.ctl("keys", "remove", "carol", self.keys.md5("stranger"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(await attach(S, "carol", "c2"), 401)
        self.assertFalse(os.path.exists(os.path.join(self.keys.dir,
                                                     "carol")))
        for bad in (["keys", "add", "../etc", S + ".pub"],
                    ["keys", "remove", "alice", "nope"],
                    ["keys", "add", "alice", "/nonexistent.pub"]):
            self.assertNotEqual(self.ctl(*bad).returncode, 0, bad)
        # The session went on through all of it.
        for i in range(10):
            await m.send(b"x%d" % i)
            self.assertEqual(await ws_recv(s), b"x%d" % i)
        await m.close()
        await s.close()


class TrustedListenerTest(AsyncTestCase):
    """Behind a front door that authenticates, a trusted listener takes
    the bare paths without a credential, while the public one does not."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Keys() if have("ssh-keygen") else None
        cls.m = Medusa(workers=1, config={
            "auth": "signature", "trusted_listen": ["127.0.0.1:0"],
            "keys_dir": cls.keys.dir if cls.keys else "/nonexistent"})
        line = cls.m.wait_log(lambda l: l.get("msg") == "listening" and
                              l.get("listener") == "trusted")
        cls.tport = line["port"]

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        if cls.keys:
            cls.keys.close()

    async def test_trusted_bare_paths_pair(self):
        import websockets
        master = await websockets.connect(
            "ws://127.0.0.1:%d/attach/t1/master" % self.tport,
            compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await ws_recv(master), WAIT)
        slave = await websockets.connect(
            "ws://127.0.0.1:%d/attach/t1/slave" % self.tport,
            compression=None, open_timeout=TIMEOUT)
        self.assertEqual(await ws_recv(slave), LINKUP)
        self.assertEqual(await ws_recv(master), LINKUP)
        await master.close()
        await slave.close()
        got = await asyncio.get_running_loop().run_in_executor(
            None, refusal, self.m.port, "/attach/t2/master", [])
        self.assertEqual(got[:2], (404, "ResourceNotFound"))
        got = await asyncio.get_running_loop().run_in_executor(
            None, refusal, self.m.port, "/alice/medusa/attach/t2/master", [])
        self.assertEqual(got[:2], (401, "MissingAuthorization"))


class AuthNoneTest(unittest.TestCase):
    def test_auth_none_warns_at_start(self):
        m = Medusa(workers=1, config={"auth": "none"})
        try:
            line = m.wait_log(lambda l: "auth" in l.get("msg", "") and
                              l.get("level") == 40)
            self.assertIn("anyone", line["msg"])
        finally:
            m.stop()


if __name__ == "__main__":
    unittest.main()


@unittest.skipUnless(have("ssh-keygen", "ssh-agent", "node") or REQUIRE,
                     "no ssh-keygen, ssh-agent or node")
class ProgramsSignTest(unittest.TestCase):
    """mlogin and medusa-agent sign their attaches (key files and
    ssh-agent), mlogin mints the agent's presigned URL and configuration,
    and the agent takes the URLs the real msign prints."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Keys()
        cls.m = AuthMedusa.start(cls.keys)
        cls.host = "127.0.0.1:%d" % cls.m.port
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.m.stop()
        cls.m.check_clean(unittest.TestCase())
        cls.keys.close()

    def sid(self):
        ProgramsSignTest.n += 1
        return "prog-%d" % ProgramsSignTest.n

    def env(self, **kw):
        e = {k: v for k, v in os.environ.items()
             if k not in ("SSH_AUTH_SOCK", "MANTA_KEY_ID", "MANTA_USER",
                          "MANTA_URL", "MEDUSA_URL")}
        e.update(MANTA_URL="ws://" + self.host)
        e.update(kw)
        return e

    def mlogin(self, *args, env=None, stdin=b""):
        return subprocess.run([os.path.join(BIN, "mlogin")] + list(args),
                              input=stdin, capture_output=True,
                              timeout=TIMEOUT, env=env or self.env())

    def agent(self, *args, env=None):
        from harness import Agent
        return Agent(None, args=list(args), env=env or self.env())

    def test_key_file_sign_and_presign(self):
        sid, key = self.sid(), self.keys.files["rsa2048"]
        r = self.mlogin("-a", "alice", "-i", key, "--presign=600", sid)
        self.assertEqual(r.returncode, 0, r.stderr)
        url = r.stdout.decode().strip()
        self.assertTrue(url.startswith("ws://%s/alice/medusa/attach/%s/slave?"
                                       % (self.host, sid)), url)
        a = self.agent(url)
        a.wait_msg("attached; waiting for the client")
        r = self.mlogin("-a", "alice", "-i", key, "-q", "-s", sid,
                        "echo", "signed", "by", "file")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"signed by file\n")
        self.assertEqual(a.wait_exit(), 0)
        # The agent never logs its credential.
        q = urllib.parse.urlsplit(url).query
        sig = urllib.parse.parse_qs(q)["signature"][0]
        with a.cond:
            text = "\n".join(a.raw)
        self.assertNotIn(q, text)
        self.assertNotIn(sig, text)
        self.assertNotIn(urllib.parse.quote(sig, safe=""), text)

    def test_ssh_agent_and_an_msign_url_in_the_agent_config(self):
        sid, name = self.sid(), "ecdsa256"
        sock = os.path.join(self.keys.tmp, "agent-%s.sock" % sid)
        agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock],
                                 stdout=subprocess.DEVNULL)
        try:
            from harness import wait_until
            wait_until(lambda: os.path.exists(sock), what="ssh-agent")
            env = self.env(SSH_AUTH_SOCK=sock, MANTA_USER="alice",
                           MANTA_KEY_ID=self.keys.sha256(name))
            subprocess.run(["ssh-add", "-q", self.keys.files[name]], env=env,
                           check=True, stderr=subprocess.DEVNULL)
            # The real msign (npm manta 5.4.2), with a key in ~/.ssh (its
            # ssh-agent path fails on this node.js: smartdc-auth's agent
            # client predates it).
            home = os.path.join(self.keys.tmp, "home-" + sid)
            os.makedirs(os.path.join(home, ".ssh"))
            for ext in ("", ".pub"):
                shutil.copy(self.keys.files["rsa2048"] + ext,
                            os.path.join(home, ".ssh", "id_rsa" + ext))
            menv = {k: v for k, v in env.items() if k != "SSH_AUTH_SOCK"}
            menv.update(MANTA_URL="http://" + self.host, HOME=home,
                        MANTA_KEY_ID=self.keys.md5("rsa2048"))
            out = subprocess.run(
                ["node", os.path.join(COMPAT, "node_modules", "manta", "bin",
                                      "msign"), "-e",
                 str(int(time.time()) + 600),
                 "/alice/medusa/attach/%s/slave" % sid], env=menv,
                capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(out.returncode, 0, out.stderr)
            cfg = os.path.join(self.keys.tmp, "agent-%s.json" % sid)
            with open(cfg, "w") as f:
                json.dump({"signed_url": out.stdout.strip(),
                           "insecure_tls": False}, f)
            a = self.agent("-f", cfg, env=self.env())
            a.wait_msg("attached; waiting for the client")
            r = self.mlogin("-q", "-s", sid, "echo", "via", "agent", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"via agent\n")
            self.assertEqual(a.wait_exit(), 0)
        finally:
            agent.kill()
            agent.wait()

    def test_the_agent_signs_its_own_attach(self):
        sid, key = self.sid(), self.keys.files["ed25519"]
        a = self.agent("-i", key, "ws://%s/alice/medusa/attach/%s/slave"
                       % (self.host, sid))
        a.wait_msg("attached; waiting for the client")
        self.assertIn("SHA256:", a.wait_msg("signing attaches")["key"])
        r = self.mlogin("-a", "alice", "-i", key, "-q", "-s", sid, "true")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(a.wait_exit(), 0)

    def test_agent_config_object(self):
        r = self.mlogin("-a", "alice", "-i", self.keys.files["rsa2048"],
                        "--insecure", "--agent-config", "cfg-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["insecure_tls"], True)
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(doc["signed_url"])
                                  .query)
        self.assertAlmostEqual(int(q["expires"][0]), time.time() + 86400,
                               delta=120)

    def test_refusals_are_clear(self):
        # No credential at all: the reflector's refusal, exit 255.
        r = self.mlogin("-a", "alice", "-q", "-s", self.sid(), "true")
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"MissingAuthorization", r.stderr)
        # A key of nobody's.
        r = self.mlogin("-a", "alice", "-i", self.keys.files["stranger"],
                        "-q", "-s", self.sid(), "true")
        self.assertEqual(r.returncode, 255)
        self.assertIn(b"KeyNotFound", r.stderr)
        # An encrypted key: pointed at ssh-agent.
        enc = os.path.join(self.keys.tmp, "encrypted")
        if not os.path.exists(enc):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N",
                            "secret", "-f", enc], check=True)
        r = self.mlogin("-a", "alice", "-i", enc, "-s", self.sid(), "true")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"ssh-agent", r.stderr)
        # A key file without an account.
        r = self.mlogin("-i", self.keys.files["rsa2048"], "--presign",
                        "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"account", r.stderr)
