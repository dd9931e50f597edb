"""
Installing and shipping (packaging/packaging.mk, docs/man/, etc/medusa.service,
tools/deps.sh):

- `make install` into a DESTDIR (PREFIX=/usr) lays out the FHS tree, and its
  programs run from there and pass a session (the installed mlogin and
  medusa-agent through the installed medusa and its installed worker);
  `make install` into a PREFIX gives a medusa and a medusactl that find the
  installed configuration and worker with no flag at all; `make uninstall`
  leaves nothing behind (a key directory that holds keys excepted).
- `make deb`: the package's file list, control fields and stripped
  binaries, lintian with no error or warning, its install into this
  machine's root with dpkg (the medusa user made, the conffile, the
  installed programs run with their defaults, the unit verified by
  systemd-analyze), and its purge.
- The manual pages: mandoc -T lint and groff -ww say nothing, `man -l`
  renders them, and every program's --help names the right sections.
- tools/deps.sh: `run` installs what building and running need and no test
  tool or npm package; `test` installs those too.

The package test installs into the machine's root, as CI machines are
fresh: runs of it on one machine (other worktrees) take turns through a
lock, and it takes dpkg's frontend lock as apt does.  Tools missing here
skip, except under `make test` (MEDUSA_REQUIRE_ALL).
"""
import fcntl
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

import asyncio

import websockets

from harness import BIN, TIMEOUT, TOP, LogProc, http_get_json

REQUIRE_ALL = bool(os.environ.get("MEDUSA_REQUIRE_ALL"))
# The build under test: `make test` runs the suite for bin/ and build-san/bin/.
SAN = os.path.basename(os.path.dirname(BIN)) == "build-san"
BUILD_TIMEOUT = 900
PKG = "medusa-reflector"
PAGES = {"medusa": 8, "medusactl": 8, "medusa.json": 5, "mlogin": 1,
         "medusa-agent": 1}
PROGRAMS = ["medusa", "medusactl", "mlogin", "medusa-agent"]

# What `make install PREFIX=/usr` lays out, relative to DESTDIR.
INSTALLED = {
    "usr/bin/medusa", "usr/bin/medusactl", "usr/bin/mlogin",
    "usr/bin/medusa-agent", "usr/libexec/medusa/medusa-worker",
    "etc/medusa/medusa.json", "lib/systemd/system/medusa.service",
    "usr/share/man/man1/mlogin.1", "usr/share/man/man1/medusa-agent.1",
    "usr/share/man/man5/medusa.json.5", "usr/share/man/man8/medusa.8",
    "usr/share/man/man8/medusactl.8",
}
# And the package, besides (man pages compressed).
PACKAGED = {p + ".gz" if "/man/" in p else p for p in INSTALLED} | {
    "usr/lib/medusa/medusa-agent-static",
    "usr/share/doc/%s/copyright" % PKG, "usr/share/doc/%s/changelog.gz" % PKG,
    "usr/share/doc/%s/README.md.gz" % PKG,
    "usr/share/doc/%s/PROTOCOL.md.gz" % PKG,
    "usr/share/lintian/overrides/%s" % PKG,
}


def have(tool):
    return shutil.which(tool) is not None


def needs(*tools):
    """Skip unless every tool is here (never under make test)."""
    missing = [t for t in tools if not have(t)]
    return unittest.skipIf(missing and not REQUIRE_ALL,
                           "not installed: %s (make deps)" % " ".join(missing))


def make(*args, timeout=BUILD_TIMEOUT):
    """Run make in the top directory, for the build under test."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    argv = ["make", "--no-print-directory"] + (["SAN=1"] if SAN else [])
    return subprocess.run(argv + list(args), cwd=TOP, env=env, text=True,
                          capture_output=True, timeout=timeout)


def tree(root):
    """Files (and links) under root, relative to it."""
    out = set()
    for d, _, files in os.walk(root):
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def run(*argv, **kw):
    kw.setdefault("timeout", TIMEOUT)
    return subprocess.run(list(argv), capture_output=True, text=True, **kw)


def start_medusa(argv):
    """An installed medusa: wait until it listens and its workers are ready."""
    p = LogProc(argv)
    port = p.wait_log(lambda l: l.get("msg") == "listening" and
                      l.get("listener") == "public")["port"]
    p.status_port = p.wait_log(lambda l: l.get("msg") == "listening" and
                               l.get("listener") == "status")["port"]
    workers = p.wait_msg("starting")["workers"]
    p.wait_log(lambda l: l.get("msg") == "worker ready" and
               l.get("component") == "supervisor", count=workers)
    return p, port


def stop_medusa(test, p):
    """SIGTERM: it exits 0, and a sanitized build has reported nothing."""
    p.proc.send_signal(signal.SIGTERM)
    test.assertEqual(p.wait_exit(), 0)
    p.check_clean(test)


def private_config(src, dst, **changes):
    """A copy of an installed configuration with a private admin socket and
    port, run as nobody (the tests run as root; the medusa user of the
    package may not exist)."""
    with open(src) as f:
        cfg = json.load(f)
    cfg.update({"port": 0, "user": "nobody", "auth": "none",
                "status_listen": "127.0.0.1:0"})
    cfg.update(changes)
    with open(dst, "w") as f:
        json.dump(cfg, f)
    os.chmod(dst, 0o644)
    return cfg


def pipeline_session(bindir, port, sid):
    """The installed medusa-agent and mlogin, paired through the reflector:
    two lines through `wc -l` on the agent's side."""
    agent = LogProc([os.path.join(bindir, "medusa-agent"), "-l", "debug",
                     "ws://127.0.0.1:%d/attach/%s/slave" % (port, sid)])
    agent.wait_msg("attached; waiting for the client")
    r = subprocess.run("printf 'one\\ntwo\\n' | %s -q -c 'wc -l' "
                       "ws://127.0.0.1:%d/attach/%s/master"
                       % (os.path.join(bindir, "mlogin"), port, sid),
                       shell=True, capture_output=True, timeout=TIMEOUT)
    rc = agent.wait_exit()
    return r, rc, agent


async def ws_pair(url, data):
    """python3-websockets as slave and master: what the slave receives of
    data sent by the master after linkup."""
    async def recv(ws):
        return await asyncio.wait_for(ws.recv(), TIMEOUT)
    async with websockets.connect(url + "slave", open_timeout=TIMEOUT) as s:
        async with websockets.connect(url + "master",
                                      open_timeout=TIMEOUT) as c:
            assert await recv(s) == 'medusa:{"type":"linkup"}'
            while await recv(c) != 'medusa:{"type":"linkup"}':
                pass
            await c.send(data)
            return await recv(s)


class InstallTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="medusa-install-")
        # Run as root, medusa becomes nobody, who must reach its files.
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_destdir_layout_and_a_session_from_it(self):
        dest = os.path.join(self.tmp, "stage")
        r = make("install", "PREFIX=/usr", "DESTDIR=" + dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(tree(dest), INSTALLED)
        self.assertEqual(os.listdir(os.path.join(dest, "etc/medusa/keys")), [])
        for p in INSTALLED:
            mode = stat.S_IMODE(os.stat(os.path.join(dest, p)).st_mode)
            want = 0o755 if "bin/" in p or "libexec/" in p else 0o644
            self.assertEqual(mode, want, p)

        # The configuration: etc/medusa.json with a system's admin socket
        # and user.
        with open(os.path.join(TOP, "etc/medusa.json")) as f:
            want = json.load(f)
        want.update({"admin_socket": "/run/medusa/medusa.sock",
                     "keys_dir": "/etc/medusa/keys",
                     "secret_file": "/var/lib/medusa/secret",
                     "user": "medusa"})
        with open(os.path.join(dest, "etc/medusa/medusa.json")) as f:
            self.assertEqual(json.load(f), want)

        # The installed medusa and medusactl look in /etc/medusa and
        # /usr/libexec/medusa (what they do there: test_prefix_... below).
        bindir = os.path.join(dest, "usr/bin")
        r = run(os.path.join(bindir, "medusa"), "--help")
        self.assertIn("(default:\n                        "
                      "/etc/medusa/medusa.json)", r.stdout)
        for prog in ("medusa", "medusactl"):
            with open(os.path.join(bindir, prog), "rb") as f:
                self.assertIn(b"/etc/medusa/medusa.json\0", f.read(), prog)
        with open(os.path.join(bindir, "medusa"), "rb") as f:
            self.assertIn(b"/usr/libexec/medusa/medusa-worker\0", f.read())
        # The in-tree build keeps the relative defaults.
        r = run(os.path.join(BIN, "medusa"), "--help")
        self.assertIn(os.path.join(os.path.realpath(BIN), "..", "etc",
                                   "medusa.json"), r.stdout)

        # Run from the tree, on the installed worker, and pass a session
        # between the installed agent and mlogin.
        cfg = os.path.join(self.tmp, "medusa.json")
        sock = os.path.join(self.tmp, "admin.sock")
        worker = os.path.join(dest, "usr/libexec/medusa/medusa-worker")
        private_config(os.path.join(dest, "etc/medusa/medusa.json"), cfg,
                       admin_socket=sock, worker_path=worker)
        m, port = start_medusa([os.path.join(bindir, "medusa"), "-f", cfg,
                                "-w", "2", "-l", "debug"])
        try:
            for pid in http_get_json(m.status_port, "/status")["workers"]:
                self.assertEqual(os.readlink("/proc/%d/exe" % pid["pid"]),
                                 worker)
            r, agent_rc, agent = pipeline_session(bindir, port, "installed-1")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), b"2")
            self.assertEqual(agent_rc, 0)
            agent.check_clean(self)
            r = run(os.path.join(bindir, "medusactl"), "-f", cfg, "status")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("SHARD", r.stdout)
        finally:
            stop_medusa(self, m)

        # Uninstall keeps a key directory that holds keys, and says so.
        with open(os.path.join(dest, "etc/medusa/keys/tester"), "w") as f:
            f.write("ssh-ed25519 AAAA tester\n")
        r = make("uninstall", "PREFIX=/usr", "DESTDIR=" + dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(tree(dest), {"etc/medusa/keys/tester"})
        self.assertIn("kept %s/etc/medusa/keys" % dest, r.stdout)

    def test_prefix_defaults_and_uninstall(self):
        prefix = os.path.join(self.tmp, "opt")
        r = make("install", "PREFIX=" + prefix)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        want = {p.replace("usr/", "", 1) for p in INSTALLED}
        self.assertEqual(tree(prefix), want)
        with open(os.path.join(prefix, "lib/systemd/system/medusa.service")) as f:
            unit = f.read()
        self.assertIn("\nExecStart=%s/bin/medusa -f %s/etc/medusa/medusa.json\n"
                      % (prefix, prefix), unit)

        # With no flag: the configuration under the prefix, and from it the
        # installed worker; medusactl finds the admin socket the same way.
        config = os.path.join(prefix, "etc/medusa/medusa.json")
        sock = os.path.join(self.tmp, "admin.sock")
        private_config(config, config, admin_socket=sock)
        m, port = start_medusa([os.path.join(prefix, "bin/medusa"), "-w", "1",
                                "-l", "debug"])
        try:
            self.assertEqual(m.wait_msg("starting")["config"], config)
            st = http_get_json(m.status_port, "/status")
            self.assertEqual(os.readlink("/proc/%d/exe" % st["workers"][0]["pid"]),
                             os.path.join(prefix, "libexec/medusa/medusa-worker"))
            r = run(os.path.join(prefix, "bin/medusactl"), "--json", "status")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout)["workers"][0]["pid"],
                             st["workers"][0]["pid"])
            # A session paired by an independent WebSocket implementation.
            got = asyncio.run(ws_pair("ws://127.0.0.1:%d/attach/prefix-1/"
                                      % port, b"\x00installed\xff"))
            self.assertEqual(got, b"\x00installed\xff")
        finally:
            stop_medusa(self, m)

        # Installing again keeps the operator's configuration.
        with open(config) as f:
            edited = f.read()
        r = make("install", "PREFIX=" + prefix)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("kept %s" % config, r.stdout)
        with open(config) as f:
            self.assertEqual(f.read(), edited)

        r = make("uninstall", "PREFIX=" + prefix)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(tree(prefix), set())
        left = [d for d, _, _ in os.walk(prefix)
                if "medusa" in os.path.relpath(d, prefix)]
        self.assertEqual(left, [])


@needs("mandoc", "groff", "man")
class ManPagesTest(unittest.TestCase):

    PAGES = sorted(glob.glob(os.path.join(TOP, "docs/man/*.[158]")))
    XR = re.compile(r"\b(medusa(?:ctl|-agent|-worker|\.json)?|mlogin)\((\d)\)")

    def test_the_pages(self):
        self.assertEqual(sorted(os.path.basename(p) for p in self.PAGES),
                         sorted("%s.%d" % kv for kv in PAGES.items()))

    def test_mandoc_lint_and_groff_say_nothing(self):
        for page in self.PAGES:
            with self.subTest(page=os.path.basename(page)):
                r = run("mandoc", "-T", "lint", page)
                # Whether a referenced page is installed on this machine
                # (mandoc looks in /usr/share/man) is no fault of the page.
                said = [l for l in (r.stdout + r.stderr).splitlines()
                        if "referenced manual not found" not in l and
                        "outdated mandoc.db" not in l]
                self.assertEqual(said, [])
                r = run("groff", "-ww", "-z", "-mandoc", page)
                self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_man_renders_them(self):
        for page in self.PAGES:
            name, sec = os.path.basename(page).rsplit(".", 1)
            with self.subTest(page=name):
                r = run("man", "--warnings=w", "-l", page,
                        env=dict(os.environ, MANWIDTH="80", MANPAGER="cat",
                                 PAGER="cat"))
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertIn("%s(%s)" % (name.upper(), sec), r.stdout)
                self.assertIn("NAME\n     %s \u2014 " % name, r.stdout)
                self.assertIn("SEE ALSO", r.stdout)

    def check_refs(self, text, where):
        refs = self.XR.findall(text)
        for name, sec in refs:
            if name == "medusa-worker":
                self.fail("%s names medusa-worker(%s): it has no page"
                          % (where, sec))
            self.assertEqual(int(sec), PAGES[name], "%s: %s(%s)"
                             % (where, name, sec))
        return refs

    def test_help_texts_name_the_right_sections(self):
        seen = 0
        for prog in PROGRAMS + ["medusa-worker"]:
            r = run(os.path.join(BIN, prog), "--help")
            self.assertEqual(r.returncode, 0, prog)
            seen += len(self.check_refs(r.stdout, prog + " --help"))
        self.assertGreaterEqual(seen, 2)     # medusa's and the worker's
        r = run(os.path.join(BIN, "medusa-worker"), "--control-fd", "0",
                stdin=subprocess.DEVNULL)
        self.check_refs(r.stderr, "medusa-worker's refusal")
        self.assertIn("medusa(8)", r.stderr)

    def test_pages_cross_reference_the_right_sections(self):
        for page in self.PAGES:
            with open(page) as f:
                text = f.read()
            xrs = re.findall(r"^\.Xr (\S+) (\d)", text, re.M)
            self.assertNotEqual(xrs, [], page)
            for name, sec in xrs:
                if name in PAGES:
                    self.assertEqual(int(sec), PAGES[name], "%s: .Xr %s %s"
                                     % (page, name, sec))
            name, sec = os.path.basename(page).rsplit(".", 1)
            self.assertIn("\n.Dt %s %s\n" % (name.upper(), sec), text)


class DepsTest(unittest.TestCase):
    """tools/deps.sh on a stand-in machine where nothing is installed:
    stub dpkg-query, apt-get, npm and node record what would happen."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="medusa-deps-")
        os.makedirs(os.path.join(self.tmp, "tools"))
        os.makedirs(os.path.join(self.tmp, "tests/compat"))
        shutil.copy(os.path.join(TOP, "tools/deps.sh"),
                    os.path.join(self.tmp, "tools"))
        with open(os.path.join(self.tmp, "tests/compat/package.json"), "w") as f:
            f.write("{}\n")
        self.stubs = os.path.join(self.tmp, "stubs")
        self.log = os.path.join(self.tmp, "calls")
        os.makedirs(self.stubs)
        for name, body in [("dpkg-query", "exit 1"), ("apt-get", ""),
                           ("npm", "mkdir -p node_modules"), ("node", "")]:
            path = os.path.join(self.stubs, name)
            with open(path, "w") as f:
                f.write('#!/bin/sh\necho "%s $*" >> %s\n%s\n'
                        % (name, self.log, body))
            os.chmod(path, 0o755)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def deps(self, what):
        if os.path.exists(self.log):
            os.unlink(self.log)
        path = self.stubs + ":/usr/bin:/bin"
        r = run("sh", os.path.join(self.tmp, "tools/deps.sh"), what,
                env={"PATH": path})
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.log) as f:
            calls = f.read().splitlines()
        installs = [c for c in calls if c.startswith("apt-get install")]
        self.assertEqual(len(installs), 1, calls)
        return set(installs[0].split()[2:]), calls

    def test_run_installs_no_test_tool(self):
        pkgs, calls = self.deps("run")
        self.assertTrue({"build-essential", "libssl-dev", "libev-dev",
                         "libmsgpack-dev", "libjansson-dev",
                         "libhiredis-dev", "dpkg-dev"} <= pkgs, pkgs)
        for test_only in ("check", "python3-websockets", "haproxy",
                          "redis-server", "clang",
                          "lintian", "mandoc", "nodejs", "npm"):
            self.assertNotIn(test_only, pkgs)
        self.assertFalse([c for c in calls if c.startswith("npm")], calls)

    def test_make_run_uses_the_run_set(self):
        """make run (and install) call tools/deps.sh run, never the test
        set or npm: what make would do, printed by make -n."""
        for target in ("run", "install"):
            r = run("make", "-n", "-C", TOP, target)
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.splitlines()
            self.assertIn("tools/deps.sh run", lines, target)
            for l in lines:
                self.assertNotRegex(l, r"deps\.sh test|\bnpm\b|\bnode\b",
                                    target)

    def test_test_installs_everything(self):
        pkgs, calls = self.deps("test")
        self.assertTrue({"build-essential", "libssl-dev", "check",
                         "python3-websockets", "haproxy", "redis-server",
                         "lintian", "mandoc",
                         "systemd", "adduser"} <= pkgs, pkgs)
        self.assertIn("npm ci --no-audit --no-fund --loglevel=error "
                      "--ignore-scripts", calls)

    def test_a_bad_argument_is_refused(self):
        r = run("sh", os.path.join(self.tmp, "tools/deps.sh"), "bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage", r.stderr)


# --- the Debian package ------------------------------------------------------

LOCK_WAIT = 600.0


def take_lock(path, deadline, how=fcntl.LOCK_EX):
    """An exclusive lock on path, waited for until deadline."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    while True:
        try:
            fcntl.lockf(fd, how | fcntl.LOCK_NB)
            return fd
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise AssertionError("%s stayed locked" % path)
            time.sleep(0.2)


def dpkg(*args):
    """dpkg, holding its frontend lock as apt does: another apt or dpkg on
    this machine is waited for rather than failed on."""
    fd = take_lock("/var/lib/dpkg/lock-frontend", time.monotonic() + LOCK_WAIT)
    try:
        return run("dpkg", *args, timeout=LOCK_WAIT,
                   env=dict(os.environ, DPKG_FRONTEND_LOCKED="1",
                            DEBIAN_FRONTEND="noninteractive"))
    finally:
        os.close(fd)


def installed(pkg):
    r = run("dpkg-query", "-W", "-f=${Status}", pkg)
    return r.returncode == 0 and "install ok installed" in r.stdout


def forget_our_user():
    """A medusa user that a previous run's package made (purge keeps it) is
    removed, so that this run sees the package make it."""
    try:
        pw = pwd.getpwnam("medusa")
    except KeyError:
        return
    if pw.pw_gecos.startswith("Medusa reflector") and pw.pw_uid < 1000:
        r = run("deluser", "--system", "--quiet", "medusa")
        assert r.returncode == 0, r.stderr


@needs("dpkg-deb", "lintian", "systemd-analyze", "man", "adduser", "readelf")
@unittest.skipIf(os.geteuid() != 0 and not REQUIRE_ALL, "needs root (dpkg -i)")
class PackageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # One run at a time on this machine: the package goes into its root.
        cls.lock = take_lock("/run/lock/medusa-package-test.lock",
                             time.monotonic() + LOCK_WAIT)
        try:
            r = make("deb")
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
            ver = run(os.path.join(BIN, "medusa"), "--version").stdout.split()[1]
            arch = run("dpkg", "--print-architecture").stdout.strip()
            cls.deb = os.path.join(TOP, "build-deb", "%s_%s_%s.deb"
                                   % (PKG, ver, arch))
            assert os.path.exists(cls.deb), cls.deb
            cls.version, cls.arch = ver, arch
            if installed(PKG):
                dpkg("--purge", PKG)
            forget_our_user()
            cls.install = dpkg("-i", cls.deb)
        except BaseException:
            os.close(cls.lock)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if installed(PKG):
                dpkg("--purge", PKG)
        finally:
            os.close(cls.lock)

    def test_contents(self):
        r = run("dpkg-deb", "-c", self.deb)
        self.assertEqual(r.returncode, 0, r.stderr)
        files, modes = set(), {}
        for line in r.stdout.splitlines():
            perms, owner, _, _, _, path = line.split(None, 5)
            self.assertEqual(owner, "root/root", line)
            path = path[2:]
            if not perms.startswith("d"):
                files.add(path)
                modes[path] = perms
        self.assertEqual(files, PACKAGED)
        for p in PACKAGED:
            want = "-rwxr-xr-x" if "bin/" in p or "/medusa/medusa-" in p \
                else "-rw-r--r--"
            self.assertEqual(modes[p], want, p)
        info = run("dpkg-deb", "-f", self.deb).stdout
        fields = dict(l.split(": ", 1) for l in info.splitlines()
                      if ": " in l and not l.startswith(" "))
        self.assertEqual(fields["Package"], PKG)
        self.assertEqual(fields["Version"], self.version)
        self.assertEqual(fields["Architecture"], self.arch)
        deps = {d.split()[0] for d in fields["Depends"].split(", ")}
        self.assertEqual(deps, {"libc6", "libssl3", "libev4", "libmsgpackc2",
                                "libjansson4", "libhiredis0.14", "adduser"})
        self.assertEqual(fields["Conflicts"], "medusa")
        r = run("dpkg-deb", "-I", self.deb, "conffiles")
        self.assertEqual(r.stdout, "/etc/medusa/medusa.json\n")
        # A sane size: 2 MB today, most of it the static agent.
        self.assertLess(os.path.getsize(self.deb), 4 << 20)

    def test_binaries_are_stripped_and_the_agent_static(self):
        for p in PACKAGED:
            path = "/" + p
            if not ("bin/" in p or "/medusa/medusa-" in p):
                continue
            with self.subTest(path=path):
                r = run("readelf", "-S", "-W", path)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn(".symtab", r.stdout)
                self.assertNotIn(".debug_", r.stdout)
        # Built afresh with Debian's flags, whatever the build under test.
        r = run("readelf", "-d", "/usr/bin/medusa")
        self.assertIn("libev.so", r.stdout)
        self.assertNotIn("libasan", r.stdout)
        self.assertIn("BIND_NOW", r.stdout)
        r = run("readelf", "-l", "-d", "/usr/lib/medusa/medusa-agent-static")
        self.assertIn("There is no dynamic section", r.stdout)
        self.assertNotIn("INTERP", r.stdout)
        r = run("/usr/lib/medusa/medusa-agent-static", "--version")
        self.assertEqual(r.stdout.split(), ["medusa-agent", self.version])

    def test_lintian_finds_no_error_or_warning(self):
        r = run("lintian", "--fail-on", "error,warning", self.deb,
                timeout=300)
        tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")]
        self.assertEqual(tags, [])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_installed_with_the_medusa_user(self):
        self.assertEqual(self.install.returncode, 0,
                         self.install.stdout + self.install.stderr)
        self.assertTrue(installed(PKG))
        pw = pwd.getpwnam("medusa")
        self.assertLess(pw.pw_uid, 1000)
        self.assertIn(pw.pw_shell, ("/usr/sbin/nologin", "/bin/false"))
        self.assertEqual(pw.pw_dir, "/nonexistent")
        self.assertFalse(os.path.exists("/nonexistent"))
        import grp
        self.assertEqual(grp.getgrgid(pw.pw_gid).gr_name, "medusa")
        r = run("dpkg-query", "-W", "-f=${Conffiles}", PKG)
        self.assertRegex(r.stdout, r"^\s*/etc/medusa/medusa.json [0-9a-f]{32}")
        self.assertEqual(os.listdir("/etc/medusa/keys"), [])
        for prog in PROGRAMS:
            r = run("/usr/bin/" + prog, "--version")
            self.assertEqual(r.returncode, 0, prog)
            self.assertIn(self.version, r.stdout)
        # The defaults compiled in: /etc/medusa/medusa.json, whose user
        # exists now, and the worker under /usr/libexec.
        r = run("/usr/bin/medusa", "-t")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("configuration /etc/medusa/medusa.json is valid",
                      r.stdout)

    def test_installed_reflector_runs_on_its_defaults(self):
        """As systemd would run it, but by hand: /run/medusa made as
        RuntimeDirectory= makes it, no -f, medusactl with no flag."""
        made = not os.path.isdir("/run/medusa")
        if made:
            os.mkdir("/run/medusa", 0o755)
        pw = pwd.getpwnam("medusa")
        os.chown("/run/medusa", pw.pw_uid, pw.pw_gid)
        try:
            probe = socket.socket(socket.AF_UNIX)
            live = probe.connect_ex("/run/medusa/medusa.sock") == 0
            probe.close()
            self.assertFalse(live, "a medusa is running on this machine")
            m, port = start_medusa(["/usr/bin/medusa", "-p", "0", "-w", "1",
                                    "-l", "debug"])
            try:
                self.assertEqual(m.wait_msg("starting")["config"],
                                 "/etc/medusa/medusa.json")
                self.assertEqual(m.wait_msg("dropped privileges")["user"],
                                 "medusa")
                st = http_get_json(m.status_port, "/status")
                wpid = st["workers"][0]["pid"]
                self.assertEqual(os.readlink("/proc/%d/exe" % wpid),
                                 "/usr/libexec/medusa/medusa-worker")
                self.assertEqual(os.stat("/proc/%d" % wpid).st_uid, pw.pw_uid)
                r = run("/usr/bin/medusactl", "--json", "status")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(json.loads(r.stdout)["workers"][0]["pid"],
                                 wpid)
            finally:
                stop_medusa(self, m)
            self.assertFalse(os.path.exists("/run/medusa/medusa.sock"))
        finally:
            if made:
                shutil.rmtree("/run/medusa", ignore_errors=True)

    def test_unit_verifies_and_is_hardened(self):
        unit = "/lib/systemd/system/medusa.service"
        # verify also runs `man` on every Documentation= page.
        r = run("systemd-analyze", "verify", unit)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        with open(unit) as f:
            text = f.read()
        for line in ("Type=notify",
                     "ExecStart=/usr/bin/medusa -f /etc/medusa/medusa.json",
                     "ExecReload=/bin/kill -HUP $MAINPID", "User=medusa",
                     "RuntimeDirectory=medusa", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ProtectHome=yes",
                     "PrivateTmp=yes",
                     "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"):
            self.assertIn("\n%s\n" % line, text)
        r = run("systemd-analyze", "security", "--offline=true", unit)
        m = re.search(r"Overall exposure level for medusa.service: "
                      r"([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0, r.stdout)

    def test_man_finds_the_installed_pages(self):
        env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat")
        for name, sec in PAGES.items():
            with self.subTest(page=name):
                r = run("man", "-w", str(sec), name, env=env)
                self.assertEqual(r.stdout.strip(), "/usr/share/man/man%d/%s.%d.gz"
                                 % (sec, name, sec))
                r = run("man", "--warnings=w", str(sec), name, env=env)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertIn(name, r.stdout)

    def test_zz_purge_leaves_only_the_user(self):
        # (Last: unittest runs a class's tests in name order.)
        r = dpkg("--purge", PKG)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(installed(PKG))
        for p in PACKAGED:
            self.assertFalse(os.path.exists("/" + p), p)
        for d in ("/etc/medusa", "/usr/libexec/medusa", "/usr/lib/medusa",
                  "/usr/share/doc/" + PKG):
            self.assertFalse(os.path.exists(d), d)
        # systemd's record of the unit (enabled, masked on remove) goes too.
        for d in ("/etc/systemd/system",
                  "/var/lib/systemd/deb-systemd-helper-enabled",
                  "/var/lib/systemd/deb-systemd-helper-masked"):
            for top, _, files in os.walk(d):
                self.assertEqual([f for f in files if "medusa" in f], [], top)
        # Debian keeps system users on purge (files they owned may remain).
        pwd.getpwnam("medusa")


if __name__ == "__main__":
    unittest.main()
