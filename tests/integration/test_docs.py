"""
The documentation against the code, so that they cannot drift apart:

- medusa.json(5) documents exactly the keys shared/server/config.c accepts
  (the table of numeric keys and the string keys it compares by name);
- every man page is clean under mandoc -T lint (warnings and above);
- every link in README.md and docs/*.md points inside the repository, to a
  file that exists.

Each check reads the files as they are; a key added to config.c without its
page entry fails the first test (checked by removing one entry by hand).
"""

import os
import re
import shutil
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


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


if __name__ == "__main__":
    unittest.main()
