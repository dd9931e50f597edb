"""
The documentation against the code, so that they cannot drift apart:

- medusa.json(5) documents exactly the keys shared/server/config.c accepts
  (the table of numeric keys and the string keys it compares by name);
- every man page is clean under mandoc -T lint (warnings and above);
- every link in README.md and docs/*.md points inside the repository, to a
  file that exists;
- every option each program's --help lists (short and long, mlogin's and
  the agent's -o keys, the environment variables it names, medusactl's
  commands) is described in its man page: the --help is read from the
  binaries at test time, so an option added to a program without its
  page entry fails (checked by removing one .It entry by hand).

Each check reads the files as they are; a key added to config.c without its
page entry fails the first test (checked by removing one entry by hand).
"""

import os
import re
import shutil
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("MEDUSA_BIN", os.path.join(ROOT, "bin"))
PROGRAM_PAGES = {"medusa": "medusa.8", "medusactl": "medusactl.8",
                 "mlogin": "mlogin.1", "medusa-agent": "medusa-agent.1"}


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def config_keys():
    """The keys config.c accepts: its cfield table and its strcmp chain."""
    src = read("shared/server/config.c")
    table = set(re.findall(r'\{\s*"([a-z_]+)",\s*CK_[A-Z]+', src))
    named = set(re.findall(r'strcmp\(key,\s*"([a-z_]+)"\)\s*==\s*0', src))
    return table | named


def page_keys():
    """The keys medusa.json(5) describes: its .It Cm entries."""
    page = read("docs/man/medusa.json.5")
    return set(re.findall(r"^\.It Cm ([a-z_]+)", page, re.M))


class TestDocs(unittest.TestCase):

    def test_config_keys_match_page(self):
        code, page = config_keys(), page_keys()
        self.assertGreater(len(code), 30)  # the parse found the tables
        self.assertEqual(sorted(code - page), [],
                         "keys config.c accepts that medusa.json(5) omits")
        self.assertEqual(sorted(page - code), [],
                         "keys in medusa.json(5) that config.c refuses")

    def test_shipped_config_keys_known(self):
        code = config_keys()
        import json
        for rel in ("etc/medusa.json",):
            keys = set(json.loads(read(rel)))
            self.assertEqual(sorted(keys - code), [], rel)

    @unittest.skipIf(shutil.which("mandoc") is None, "mandoc missing")
    def test_man_pages_lint_clean(self):
        mandir = os.path.join(ROOT, "docs", "man")
        pages = sorted(os.listdir(mandir))
        self.assertEqual(len(pages), 5)
        for p in pages:
            r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                                os.path.join(mandir, p)],
                               capture_output=True, text=True)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), p)

    def test_links_inside_repository(self):
        docs = ["README.md"] + ["docs/" + f for f in
                                os.listdir(os.path.join(ROOT, "docs"))
                                if f.endswith(".md")]
        link = re.compile(r"\]\(([^)\s]+)\)")
        for rel in docs:
            for target in link.findall(read(rel)):
                if target.startswith("#"):
                    continue
                self.assertNotRegex(target, r"^[a-z]+:",
                                    "%s links outside: %s" % (rel, target))
                path = target.split("#", 1)[0]
                full = os.path.normpath(os.path.join(
                    ROOT, os.path.dirname(rel), path))
                self.assertTrue(full.startswith(ROOT + os.sep) and
                                os.path.exists(full),
                                "%s: %s" % (rel, target))


def help_items(text, prog):
    """What a --help documents: options from its option lines (those
    starting "  -") and its usage lines, -o KEY=VALUE keys, $VARIABLES and, under
    "commands:", the command words."""
    opts, keys, env, cmds = set(), set(), set(), set()
    in_cmds = False
    for line in text.splitlines():
        if line.strip() == "commands:":
            in_cmds = True
            continue
        if in_cmds:
            m = re.match(r"  ([a-z]+)(?: ([a-z]+))?\b", line)
            if m:
                cmds.add(m.group(1))
                if m.group(2):
                    cmds.add(m.group(1) + " " + m.group(2))
                continue
            if not line.startswith("        "):
                in_cmds = False
        if re.match(r"(usage:)?\s+%s " % re.escape(prog), line):
            opts.update(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", line))
        if re.match(r"\s+-", line):
            lead = re.split(r"\s{2,}", line.strip())[0]
            opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", lead))
        keys.update(re.findall(r"\b([A-Z][a-z][A-Za-z]*)=", line))
        env.update(re.findall(r"\$([A-Z][A-Z_]+)", line))
    return opts, keys, env, cmds


class TestHelpAgainstPages(unittest.TestCase):

    def check(self, prog):
        exe = os.path.join(BIN, prog)
        if not os.access(exe, os.X_OK):
            self.skipTest("%s not built" % exe)
        r = subprocess.run([exe, "--help"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, prog)
        opts, keys, env, cmds = help_items(r.stdout, prog)
        self.assertIn("-h", opts, prog)     # the parse found the options
        page = read("docs/man/" + PROGRAM_PAGES[prog])
        items = "\n".join(re.findall(r"^\.It .*$", page, re.M))
        missing = []
        for o in sorted(opts):
            if o.startswith("--"):
                pat = r"Fl (?:[A-Za-z] , )?\\?-%s\b" % re.escape(o[2:])
            else:
                pat = r"Fl %s\b" % re.escape(o[1:])
            if not re.search(pat, items):
                missing.append(o)
        for k in sorted(keys):
            if not re.search(r"^\.It Cm %s\b" % k, page, re.M):
                missing.append("-o " + k)
        for e in sorted(env):
            if not re.search(r"^\.It Ev %s\b" % e, page, re.M):
                missing.append("$" + e)
        for c in sorted(cmds):
            if not re.search(r"^\.It Cm %s\b" % re.escape(c), page, re.M):
                missing.append("command " + c)
        self.assertEqual(missing, [], "%s --help lists what %s does not "
                         "describe" % (prog, PROGRAM_PAGES[prog]))
        # --help names pages with the right sections, its own among them.
        name, sec = PROGRAM_PAGES[prog].rsplit(".", 1)
        named = set(re.findall(r"\b([a-z][a-z.-]*\([1-8]\))", r.stdout))
        if "%s(%s)" % (name, sec) not in named:
            self.fail("%s --help does not name %s(%s)" % (prog, name, sec))
        for n, s in re.findall(r"\b([a-z][a-z.-]*)\(([1-8])\)", r.stdout):
            if n in ("medusa", "medusactl", "mlogin", "medusa-agent",
                     "medusa.json"):
                want = {"medusa": "8", "medusactl": "8", "mlogin": "1",
                        "medusa-agent": "1", "medusa.json": "5"}[n]
                self.assertEqual(s, want, "%s --help: %s(%s)" % (prog, n, s))

    def test_mlogin(self):
        self.check("mlogin")

    def test_medusa_agent(self):
        self.check("medusa-agent")

    def test_medusactl(self):
        self.check("medusactl")

    def test_medusa(self):
        self.check("medusa")


if __name__ == "__main__":
    unittest.main()
