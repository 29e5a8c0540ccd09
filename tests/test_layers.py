"""tests/test_layers.py — the kernel's layering, read from its includes.

Folders of the tree are the units (kernel/<x>, drivers/<x>, dma): an
include only ever points down, so the folder graph has no cycle, and the
authority layer and dma/ include nothing of the device manager or the
drivers (facts flow down: devmgr fills the authority layer's owner table).
"""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def folder(path):
    parts = path.split("/")
    return "/".join(parts[:2]) if parts[0] in ("kernel", "drivers") else parts[0]


def graph():
    edges = {}
    for top in ("kernel", "drivers", "dma"):
        for dp, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.relpath(os.path.join(dp, f), ROOT)
                with open(os.path.join(ROOT, path)) as fh:
                    src = fh.read()
                for inc in INC.findall(src):
                    tgt = inc if os.path.exists(os.path.join(ROOT, inc)) else \
                        os.path.normpath(os.path.join(os.path.dirname(path), inc))
                    if not os.path.exists(os.path.join(ROOT, tgt)):
                        continue
                    a, b = folder(path), folder(tgt)
                    if a != b:
                        edges.setdefault(a, {}).setdefault(b, []).append(f"{path} -> {inc}")
    return edges


def test_graph_is_read():
    # the checks below pass on an empty graph: the known downward edges
    # must be there (a driver reaches the authority layer, dma/ is used by
    # the authority layer, everything reaches kernel/lib)
    edges = graph()
    assert "kernel/authority" in edges.get("drivers/nvme", {}), sorted(edges)
    assert "dma" in edges.get("kernel/authority", {}), sorted(edges)
    assert "kernel/lib" in edges.get("kernel/net", {}), sorted(edges)


def test_bottom_layers_include_nothing_above():
    edges = graph()
    bad = [w for a in ("kernel/authority", "dma") for b, why in edges.get(a, {}).items()
           if b == "kernel/devmgr" or b.startswith("drivers/") for w in why]
    assert not bad, bad


def test_no_cycle_between_folders():
    edges = graph()
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in edges.get(n, {}):
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                why = [edges[x][y][0] for x, y in zip(cyc, cyc[1:])]
                raise AssertionError("include cycle: " + " -> ".join(cyc) + f" ({why})")
            if not state.get(m):
                visit(m)
        stack.pop()
        state[n] = 2
    for n in list(edges):
        if not state.get(n):
            visit(n)


# kernel/pci/pci.h also declares what only the kernel below the drivers
# may do to a function: write its configuration space (the Command
# register, MSI and MSI-X capabilities, and a virtio function's PCI
# configuration access capability, a path to its common configuration
# around the virtio broker), write its MSI-X table (an interrupt message
# names any vector of any CPU) and install the bus-mastering check. A
# driver reads configuration space and asks pci_enable, whose bus
# mastering the authority layer's check decides.
PCI_BELOW_DRIVERS = ("pci_cfg_write16", "pci_cfg_write32",
                     "pci_msix_entry_set", "pci_set_bus_master_check")
CALL = re.compile(r"\b(" + "|".join(PCI_BELOW_DRIVERS) + r")\b")
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def uses(top):
    found = []
    for dp, _, files in os.walk(os.path.join(ROOT, top)):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                with open(os.path.join(dp, f)) as fh:
                    src = COMMENT.sub(lambda c: "\n" * c.group().count("\n"), fh.read())
                for m in CALL.finditer(src):
                    line = src.count("\n", 0, m.start()) + 1
                    found.append(f"{os.path.relpath(os.path.join(dp, f), ROOT)}:{line}: {m.group(1)}")
    return found


def test_drivers_never_write_pci_configuration():
    # the names are pci.h's, and the kernel below the drivers calls each
    # of the writes: a rename cannot leave this scan looking for nothing
    with open(os.path.join(ROOT, "kernel/pci/pci.h")) as fh:
        hdr = fh.read()
    for name in PCI_BELOW_DRIVERS:
        assert re.search(r"\b" + name + r"\(", hdr), name
    below = " ".join(uses("kernel/authority") + uses("kernel/iommu"))
    for name in ("pci_cfg_write16", "pci_cfg_write32", "pci_msix_entry_set"):
        assert name in below, name
    bad = uses("drivers")
    assert not bad, bad
