"""tests/test_docs.py — the docs checker on the real tree (so `make test`
fails when a page points at code that is gone), and its own self-tests on
small temporary trees that show each kind of problem is caught."""
import importlib.util
import os
import subprocess
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHECKER = os.path.join(HERE, "docs_check.py")

_spec = importlib.util.spec_from_file_location("docs_check", CHECKER)
docs_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(docs_check)

GOOD_PAGE = """\
# foo

## Spec basis

Foo spec 1.0 §3.

## Wire format

Register FOO_CTRL at 0x00.

## capOS mapping

`drivers/foo/foo.c` + `foo_attach` binds it; `foo_ring` in
`drivers/foo/foo.c` rings it; the table is `kernel/devmgr/bindings.c`.
"""

FOO_C = """\
#include "kernel/devmgr/devmgr.h"
static int foo_attach(struct pci_dev *d, unsigned short owner) { return 0; }
static void foo_ring(void) {}
struct foo_softc { int x; };
const struct driver foo_driver = {
\t.name = "foo",
\t.attach = foo_attach,
};
"""

BINDINGS = """\
extern const struct driver foo_driver;
const struct driver *const devmgr_drivers[] = {
    &foo_driver,
};
"""


def make_tree(tmp, files):
    base = {
        "kernel/devmgr/bindings.c": BINDINGS,
        "drivers/foo/foo.c": FOO_C,
        "docs/devices/foo.md": GOOD_PAGE,
        "docs/devices/README.md": "# index\n\nno sections needed; [foo](foo.md)\n",
        "docs/devices/template.md": "# name\n\n## Spec basis\n",
    }
    base.update(files)
    for path, text in base.items():
        if text is None:
            continue
        p = tmp / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return str(tmp)


def problems(tmp, files=None):
    lines, _ = docs_check.check(make_tree(tmp, files or {}))
    return lines


# ---- the real tree ----------------------------------------------------------

def test_repository_docs_resolve():
    """`make docs-check` on this tree: every reference resolves, every bound
    driver has a three-part page."""
    r = subprocess.run(["/usr/bin/python3", CHECKER], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 problem(s)" in r.stdout


# ---- self-tests -------------------------------------------------------------

def test_good_tree_is_clean(tmp_path):
    lines, n = docs_check.check(make_tree(tmp_path, {}))
    assert lines == []
    assert n["drivers"] == 1 and n["pages"] == 1 and n["refs"] >= 3


def test_missing_file_is_caught(tmp_path):
    page = GOOD_PAGE.replace("`drivers/foo/foo.c` + `foo_attach`",
                             "`drivers/foo/gone.c` + `foo_attach`")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert len(out) == 1
    assert "docs/devices/foo.md:13:" in out[0] and "no such file drivers/foo/gone.c" in out[0]


def test_missing_symbol_is_caught(tmp_path):
    page = GOOD_PAGE.replace("+ `foo_attach`", "+ `foo_detach`")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert out == ["docs/devices/foo.md:13: `drivers/foo/foo.c` + `foo_detach`: "
                   "symbol foo_detach not found in drivers/foo/foo.c"]


def test_symbol_must_be_whole_identifier(tmp_path):
    # foo_att is a prefix of foo_attach, softc a part of foo_softc
    for sym in ("foo_att", "softc", "oo_attach"):
        page = GOOD_PAGE.replace("+ `foo_attach`", f"+ `{sym}`")
        out = problems(tmp_path, {"docs/devices/foo.md": page})
        assert len(out) == 1 and f"symbol {sym} not found" in out[0], sym


def test_symbol_forms(tmp_path):
    ok = GOOD_PAGE.replace("+ `foo_attach`",
                           "+ `foo_attach()` + `struct foo_softc`\n+ `foo_ring`")
    assert problems(tmp_path, {"docs/devices/foo.md": ok}) == []
    bad = GOOD_PAGE.replace("+ `foo_attach`", "+ `enum foo_softc`")
    out = problems(tmp_path, {"docs/devices/foo.md": bad})
    assert len(out) == 1 and "enum foo_softc not found" in out[0]
    junk = GOOD_PAGE.replace("+ `foo_attach`", "+ `foo attach`")
    out = problems(tmp_path, {"docs/devices/foo.md": junk})
    assert len(out) == 1 and "is not an identifier" in out[0]


def test_reference_split_across_lines(tmp_path):
    page = GOOD_PAGE.replace("`drivers/foo/foo.c` + `foo_attach` binds it",
                             "`drivers/foo/foo.c`\n+ `foo_nothere` binds it")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert len(out) == 1 and "foo_nothere" in out[0]


def test_in_form_is_checked(tmp_path):
    page = GOOD_PAGE.replace("`foo_ring` in", "`foo_rung` in")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert len(out) == 1 and "`foo_rung` in `drivers/foo/foo.c`" in out[0]


def test_bare_paths(tmp_path):
    page = GOOD_PAGE + textwrap.dedent("""
        See `drivers/foo/foo_reg.h` and `kernel/devmgr/`. Linux does this in
        `drivers/nvme/host/pci.c` (`nvme_id_table`), QEMU in
        `hw/nvme/ctrl.c`; every page is `docs/devices/<device>.md`.
        """)
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    # only the file in a folder capOS has is checked
    assert len(out) == 1 and "`drivers/foo/foo_reg.h`: no such file" in out[0]


def test_fenced_code_is_not_read(tmp_path):
    page = GOOD_PAGE + "\n```\n`drivers/foo/none.c` + `x`\n## Extra\n```\n"
    assert problems(tmp_path, {"docs/devices/foo.md": page}) == []


def test_missing_section_is_caught(tmp_path):
    page = GOOD_PAGE.replace("## Wire format\n", "")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert out == ["docs/devices/foo.md: missing section '## Wire format'"]


def test_extra_and_misordered_sections(tmp_path):
    extra = GOOD_PAGE + "\n## Notes\n\nmore\n"
    out = problems(tmp_path, {"docs/devices/foo.md": extra})
    assert len(out) == 1 and "'## Notes' is not one of the three" in out[0]
    swapped = GOOD_PAGE.replace("## Spec basis", "## TMP").replace(
        "## Wire format", "## Spec basis").replace("## TMP", "## Wire format")
    out = problems(tmp_path, {"docs/devices/foo.md": swapped})
    assert len(out) == 1 and "out of order" in out[0]


def test_driver_without_page_is_caught(tmp_path):
    out = problems(tmp_path, {"docs/devices/foo.md": None,
                              "docs/devices/README.md": "# index\n"})
    assert out == ["docs/devices/foo.md: driver foo (foo_driver in "
                   "kernel/devmgr/bindings.c) has no page docs/devices/foo.md"]


def test_driver_page_name_map(tmp_path):
    gve = FOO_C.replace('"foo"', '"gvnic"')
    out = problems(tmp_path, {"drivers/foo/foo.c": gve})
    assert out == ["docs/devices/gce-gvnic.md: driver gvnic (foo_driver in "
                   "kernel/devmgr/bindings.c) has no page docs/devices/gce-gvnic.md"]


def test_bound_driver_without_definition(tmp_path):
    b = BINDINGS.replace("&foo_driver,", "&foo_driver,\n    &bar_driver,")
    out = problems(tmp_path, {"kernel/devmgr/bindings.c": b})
    assert len(out) == 1 and "&bar_driver: no `const struct driver bar_driver" in out[0]


def test_commented_binding_is_ignored(tmp_path):
    b = BINDINGS.replace("&foo_driver,", "&foo_driver,\n    /* &bar_driver, */")
    assert problems(tmp_path, {"kernel/devmgr/bindings.c": b}) == []


def test_exempt_pages_and_exit_status(tmp_path):
    root = make_tree(tmp_path, {})
    r = subprocess.run(["/usr/bin/python3", CHECKER, "--root", root],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    (tmp_path / "docs/devices/foo.md").write_text("# foo\n")
    r = subprocess.run(["/usr/bin/python3", CHECKER, "--root", root],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stdout.count("missing section") == 3
    assert "3 problem(s)" in r.stdout


@pytest.mark.parametrize("doc", ["docs/design.md", "docs/devices/foo.md"])
def test_top_level_and_device_docs_both_read(tmp_path, doc):
    text = GOOD_PAGE if doc.endswith("foo.md") else "# d\n"
    text += "\nsee `kernel/devmgr/bindings.c` + `nothing_here`\n"
    out = problems(tmp_path, {doc: text})
    assert len(out) == 1 and out[0].startswith(doc) and "nothing_here" in out[0]


def test_relative_links_are_checked(tmp_path):
    page = GOOD_PAGE + "\nSee [the index](README.md), [gone](gone.md#x) and " \
        "[spec](https://example.org/spec.pdf).\n"
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert len(out) == 1 and "link (gone.md): no such file" in out[0]


def test_index_must_link_every_page(tmp_path):
    out = problems(tmp_path, {"docs/devices/bar.md": GOOD_PAGE})
    assert out == ["docs/devices/README.md: page bar.md is not listed (linked) "
                   "in the index"]
