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
`drivers/foo/foo.c` rings it; the table is `kernel/devmgr/bindings.c`; [gate](../gate.md).
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
        "docs/gate.md": "# the gate\n",
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


def test_capos_mapping_must_link_a_design_doc(tmp_path):
    page = GOOD_PAGE.replace("; [gate](../gate.md)", "")
    out = problems(tmp_path, {"docs/devices/foo.md": page})
    assert out == ["docs/devices/foo.md:11: '## capOS mapping' links no design "
                   "document (../authority-gate-design.md, "
                   "../dma-isolation-design.md, ...) that the driver binds into"]
    page = GOOD_PAGE.replace("[gate](../gate.md)", "`docs/gate.md`")
    assert problems(tmp_path, {"docs/devices/foo.md": page}) == []
    page = GOOD_PAGE.replace("[gate](../gate.md)", "[foo](foo.md)")
    assert len(problems(tmp_path, {"docs/devices/foo.md": page})) == 1


def test_index_must_link_every_page(tmp_path):
    out = problems(tmp_path, {"docs/devices/bar.md": GOOD_PAGE})
    assert out == ["docs/devices/README.md: page bar.md is not listed (linked) "
                   "in the index"]


# ---- drift: restated values, named tests/proofs/targets, reference forms ----

FOO_H = """\
#define FOO_RING_SHIFT 10
#define FOO_RING_MAX (2u << FOO_RING_SHIFT) /* bytes */
#define FOO_POLLS 500
#define FOO_POLL_US 20
#define FOO_REG_LO 0x24
#define FOO_REG_HI 0x28
#define FOO_NAME "foo"
#define FOO_STS_UP (1u << 2)
#define FOO_STS_ERR 3
#define FOO_ADDR_LIMIT ((uint64_t)1 << 28)
enum foo_state { FOO_IDLE, FOO_BUSY = 5, FOO_DEAD };
static const unsigned FOO_LIMIT = FOO_RING_MAX * 2;
"""

FOO_TEST_C = """\
static void t_foo_rings(void **state) { (void)state; }
int main(void) { t_foo_rings(0); return 0; }
"""

FOO_TEST_PY = "def test_foo_boots():\n    assert True\n"

FOO_PROOF = FOO_C + 'PROOF_REGISTER("foo-dma", foo_ring, 10);\n'

MAKEFILE = "all:\n\t@true\ndocs-check run-foo: all\n\t@true\n"


def drift(tmp, extra, files=None):
    """Problems of GOOD_PAGE + extra in a tree that has foo's constants,
    a host test, a pytest file, a proof and a Makefile."""
    tree = {"drivers/foo/foo_reg.h": FOO_H, "drivers/foo/foo.c": FOO_PROOF,
            "tests/host/foo/test_foo.c": FOO_TEST_C,
            "tests/qemu/test_foo.py": FOO_TEST_PY, "Makefile": MAKEFILE,
            "docs/devices/foo.md": GOOD_PAGE + "\n" + textwrap.dedent(extra)}
    tree.update(files or {})
    return problems(tmp, tree)


def test_true_restated_values_pass(tmp_path):
    out = drift(tmp_path, """\
        In `drivers/foo/foo_reg.h`: rings of `FOO_RING_MAX` (2 KiB) or 2 KiB
        (`FOO_RING_MAX`); `FOO_LIMIT` (4096); `FOO_DEAD` (6); `FOO_IDLE` (0);
        `FOO_REG_LO` / `FOO_REG_HI` (0x24/0x28); polled `FOO_POLLS` x
        `FOO_POLL_US` (10 ms); named `FOO_NAME` ("foo"); below 2^28
        (`FOO_ADDR_LIMIT`) = 256 MiB (`FOO_ADDR_LIMIT`); `FOO_RING_SHIFT`
        (default 10); `FOO_NAME` (`drivers/foo/foo_reg.h`), `FOO_BUSY` (the
        busy state).
        """)
    assert out == []


@pytest.mark.parametrize("claim,want", [
    ("`FOO_RING_MAX` (4 KiB)", "`FOO_RING_MAX` is 2048 in the code, the page says 4 KiB"),
    ("`FOO_RING_MAX` (2048)", None),
    ("`FOO_RING_MAX` (1024)", "is 2048 in the code, the page says 1024"),
    ("`FOO_LIMIT` (2048)", "`FOO_LIMIT` is 4096"),
    ("`FOO_DEAD` (7)", "`FOO_DEAD` is 6"),
    ("`FOO_REG_LO` / `FOO_REG_HI` (0x24/0x2c)", "`FOO_REG_HI` is 0x28"),
    ("`FOO_POLLS` x `FOO_POLL_US` (1 s)", "`FOO_POLLS` x `FOO_POLL_US` is 500 x 20"),
    ("`FOO_NAME` (\"bar\")", "`FOO_NAME` is \"foo\""),
    ("4 MiB (`FOO_RING_MAX`)", "the page says 4"),
    ("`FOO_GONE` (64)", "no definition of FOO_GONE"),
    ("`FOO_REG_LO` (0x28, be32)", "`FOO_REG_LO` is 0x24 in the code, the page says 0x28"),
    ("`FOO_STS_UP` bit 2 and `FOO_STS_ERR` bit 3", None),
    ("`FOO_STS_UP` bit 3", "`FOO_STS_UP` is 4 (0x4) in the code, the page says bit 3"),
    ("`FOO_STS_ERR` (bit 2)", "`FOO_STS_ERR` is 3 (0x3) in the code, the page says bit 2"),
])
def test_restated_value_that_differs_is_caught(tmp_path, claim, want):
    out = drift(tmp_path, f"Sizes: {claim}.\n")
    if want is None:
        assert out == []
    else:
        assert len(out) == 1 and want in out[0], out
        assert out[0].startswith("docs/devices/foo.md:16:")


def test_register_table_rows_are_checked(tmp_path):
    table = """\
        | offset | name | use |
        |---|---|---|
        | 0x24 | `FOO_REG_LO` | low half |
        | 0x24/0x28 | `FOO_REG_LO` / `FOO_REG_HI` | both |
        """
    assert drift(tmp_path, table) == []
    out = drift(tmp_path, table.replace("| 0x24/0x28 |", "| 0x24/0x2c |"))
    assert len(out) == 1 and "docs/devices/foo.md:19: `FOO_REG_HI` is 0x28 " \
        "in the code, the page says 0x2c" in out[0], out


def test_value_of_an_expression_is_not_the_constant(tmp_path):
    # "100 x `FOO_POLL_US` (2 ms)" restates the product, not FOO_POLL_US
    assert drift(tmp_path, "waits 100 x `FOO_POLL_US` (2 ms)\n") == []
    # a bullet's dash is not a minus
    out = drift(tmp_path, "- `FOO_POLL_US` (30 us)\n")
    assert len(out) == 1 and "`FOO_POLL_US` is 20" in out[0], out


@pytest.mark.parametrize("text,want", [
    ("`t_foo_rings` and `test_foo_boots()`", None),
    ("`t_foo_ringz`", "`t_foo_ringz`: no test function t_foo_ringz under tests/"),
    ("`test_foo_gone`", "no test function test_foo_gone"),
    ("`test_foo.py`", None),
    ("`test_bar.py`", "`test_bar.py`: no test file test_bar.py under tests/"),
    ("`tests/qemu/test_bar.py`", "`tests/qemu/test_bar.py`: no such file"),
    ("`tests/qemu/test_foo.py` + `test_foo_gone`", "symbol test_foo_gone not found"),
])
def test_named_test_that_does_not_exist_is_caught(tmp_path, text, want):
    out = drift(tmp_path, f"Proven by {text}.\n")
    if want is None:
        assert out == []
    else:
        assert len(out) == 1 and want in out[0], out


@pytest.mark.parametrize("text,want", [
    ("`PROOF foo-dma PASS` and the `foo-dma` proof", None),
    ("`PROOF foo-dmx PASS`", 'PROOF foo-dmx: no PROOF_REGISTER("foo-dmx", ...)'),
    ("PROOF foo-gone prints", "PROOF foo-gone: no PROOF_REGISTER"),
    ("the `foo-gone` proof", 'proof `foo-gone`: no PROOF_REGISTER("foo-gone"'),
    ("(proof `foo-gone`)", "proof `foo-gone`"),
    ("`PROOF <name> PASS|FAIL`", None),
])
def test_named_proof_that_is_not_registered_is_caught(tmp_path, text, want):
    out = drift(tmp_path, f"It prints {text}.\n")
    if want is None:
        assert out == []
    else:
        assert len(out) == 1 and want in out[0], out


@pytest.mark.parametrize("text,want", [
    ("`make docs-check`, `make run-foo`, `make -j2 CMDLINE=x all`", None),
    ("`make bench`", "`make bench`: no make target bench in the Makefile"),
    ("`make CMDLINE=exit run-bar`", "no make target run-bar"),
])
def test_named_make_target_that_does_not_exist_is_caught(tmp_path, text, want):
    out = drift(tmp_path, f"Run {text}.\n")
    if want is None:
        assert out == []
    else:
        assert len(out) == 1 and want in out[0], out


@pytest.mark.parametrize("text,want", [
    # the forms edu.md used: a path and its symbol side by side
    ("`drivers/foo/foo.c` `foo_gone` binds it",
     "`drivers/foo/foo.c` `foo_gone`: symbol foo_gone not found in drivers/foo/foo.c"),
    ("(`drivers/foo/foo.c` `foo_attach`)", None),
    ("`drivers/foo/foo.c` (`foo_attach`, `foo_gone`)",
     "`drivers/foo/foo.c` (`foo_gone`): symbol foo_gone not found"),
    ("`drivers/foo/foo.c` (`foo_attach` and `foo_ring`)", None),
    ("`drivers/foo/foo.c:foo_gone`", "`drivers/foo/foo.c:foo_gone`: symbol foo_gone not found"),
    ("`drivers/foo/foo.c:foo_ring`", None),
    ("`./drivers/foo/gone.c`", "`drivers/foo/gone.c`: no such file"),
    ("`foo_gone` (drivers/foo/foo.c)", "`foo_gone` (`drivers/foo/foo.c`): symbol foo_gone not found"),
    ("`foo_gone` (`drivers/foo/foo.c`)", "symbol foo_gone not found"),
    ("`foo_ring` (`drivers/foo/foo.c`)", None),
    ("in plain prose drivers/foo/gone.h too", "drivers/foo/gone.h: no such file"),
    ("`drivers/foo/foo.c` + `struct\nfoo_gone`", "symbol struct foo_gone not found"),
    ("[foo.c](../../drivers/foo/gone.c)", "link (../../drivers/foo/gone.c): no such file"),
    ("[foo.c](../../drivers/foo/foo.c#foo_gone)", "link (../../drivers/foo/foo.c#foo_gone): symbol foo_gone not found"),
    ("[foo.c](../../drivers/foo/foo.c#foo_ring)", None),
    ("[foo.c](../../drivers/foo/foo.c#L3)", "a line number; name the symbol"),
    ("the project's DESIGN.md", "DESIGN.md: no such file in the repository"),
    ("\n```\n`drivers/foo/foo.c` + `foo_gone`\n```\n", "symbol foo_gone not found"),
])
def test_reference_forms_do_not_escape(tmp_path, text, want):
    out = drift(tmp_path, f"See {text}.\n")
    if want is None:
        assert out == []
    else:
        assert len(out) == 1 and want in out[0], out


def test_top_level_readme_is_read(tmp_path):
    out = drift(tmp_path, "", {"README.md": "# x\n\nsee `drivers/foo/foo.c` "
                               "+ `foo_gone` and `make bench`\n"})
    assert len(out) == 2 and all(o.startswith("README.md:3:") for o in out)
