"""tests/qemu/test_boot.py — foundation proofs in real QEMU.

- the inventory boot: NVMe, virtio-net, e1000, a function behind a
  pcie-root-port and one behind a pci-bridge, plus edu; the kernel's `pci`
  lines must match QEMU's own view (QMP query-pci, the data behind the
  monitor's `info pci`): same functions, same IDs, same classes, and every
  assigned BAR with the same base and size (from `info pci` itself); the
  MADT's I/O APIC has every redirection entry masked. The same
  boot runs the boot, mm, edu and authority proofs and carries an unknown
  command-line option. (Malformed ACPI tables are covered by the host tests
  in tests/host/foundation: OVMF's table loader recomputes the checksum of a
  table passed with -acpitable, so QEMU cannot present a broken one.)
- a provoked page fault: the dump names the faulting function.
- a boot with no capos.cfg at all: the kernel says so and comes up.
"""
import os
import re

from qemu import BUILD, EXIT_FAIL, Machine, qemu_functions, symbolize

PCI_LINE = re.compile(r"^pci (\w{4}):(\w\w):(\w\w)\.(\w) (\w{4}):(\w{4}) class (\w{6}) -> (\S+)$", re.M)




INFO_FN = re.compile(r"^\s*Bus\s+(\d+), device\s+(\d+), function (\d+):$")
INFO_BAR = re.compile(r"^\s*BAR(\d): (I/O|32 bit memory|64 bit memory|32 bit prefetchable memory|"
                      r"64 bit prefetchable memory) at (0x[0-9a-f]+) \[(0x[0-9a-f]+)\]\.$")
BAR_LINE = re.compile(r"^bar \w{4}:(\w\w):(\w\w)\.(\w) (\d) (\w+) base=(0x[0-9a-f]+) size=(0x[0-9a-f]+)$", re.M)


def info_pci_bars(text):
    """(bus, dev, fn, bar) -> (base, size) from the monitor's `info pci`, for
    BARs the firmware assigned (QEMU prints all ones for an unassigned one)."""
    out, fn = {}, None
    for line in text.splitlines():
        m = INFO_FN.match(line)
        if m:
            fn = tuple(int(x) for x in m.groups())
            continue
        m = INFO_BAR.match(line)
        if m and fn and m.group(3) != "0xffffffffffffffff":
            base, last = int(m.group(3), 16), int(m.group(4), 16)
            out[fn + (int(m.group(1)),)] = (base, last - base + 1)
    return out


def kernel_bars(log):
    return {(int(b, 16), int(d, 16), int(f, 16), int(i)): (int(base, 16), int(size, 16))
            for b, d, f, i, _, base, size in BAR_LINE.findall(log)}


def kernel_functions(log):
    return {(int(b, 16), int(d, 16), int(f, 16)):
            (int(v, 16), int(dv, 16), int(c, 16) >> 8, drv)
            for _, b, d, f, v, dv, c, drv in PCI_LINE.findall(log)}


def inventory_devices(disk_name):
    """The inventory device set: NVMe (on a blank image BUILD/qemu/disk_name),
    virtio-net, e1000, a virtio-net behind a pcie-root-port and edu behind a
    conventional pci-bridge."""
    disk = os.path.join(BUILD, "qemu", disk_name)
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    return [
        "-drive", f"file={disk},format=raw,if=none,id=nvm",
        "-device", "nvme,serial=capos-inv,drive=nvm",
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
        "-netdev", "user,id=n1", "-device", "e1000,netdev=n1",
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
        "-netdev", "user,id=n2", "-device", "virtio-net-pci,netdev=n2,bus=rp1",
        "-device", "pci-bridge,id=pb1,chassis_nr=2",
        "-device", "edu,bus=pb1,addr=3",
    ]


def test_inventory_and_foundation_proofs():
    # a CPU with RDRAND and a virtio-rng device, whose OVMF driver gives
    # the EFI_RNG_PROTOCOL: both seed the kernel's random pool
    devices = inventory_devices("inventory-disk.img") + ["-device", "virtio-rng-pci"]
    with Machine("inventory", devices=devices, extra=["-cpu", "max"],
                 cmdline="proofs=boot,mm,edu,authority capos.nonsense=1 bogus") as m:
        m.wait_for(r"^capOS: proofs pass=\d+ fail=\d+")
        theirs = qemu_functions(m)
        info_pci = m.hmp("info pci")
        with open(os.path.join(m.dir, "info-pci.txt"), "w") as f:
            f.write(info_pci)
        m.quit()
    log = m.log
    ours = kernel_functions(log)
    assert ours, "no pci lines on serial"
    assert set(ours) == set(theirs), (
        f"functions differ: kernel-only {sorted(set(ours) - set(theirs))}, "
        f"QEMU-only {sorted(set(theirs) - set(ours))}")
    for bdf, (v, d, c) in theirs.items():
        assert ours[bdf][:3] == (v, d, c), f"{bdf}: kernel {ours[bdf]} vs QEMU {(v, d, c)}"
    # every BAR the firmware assigned: same base, same size as QEMU says
    theirs_bars, ours_bars = info_pci_bars(info_pci), kernel_bars(log)
    assert theirs_bars, "no BARs parsed from info pci"
    for key, (base, size) in theirs_bars.items():
        assert key in ours_bars, f"BAR {key} in info pci, not decoded by the kernel"
        assert ours_bars[key] == (base, size), \
            f"BAR {key}: kernel {ours_bars[key][0]:#x}+{ours_bars[key][1]:#x}, QEMU {base:#x}+{size:#x}"
    # behind both bridges: found through the bridges' secondary buses
    assert any(b > 0 and v == 0x1af4 for (b, _, _), (v, _, _, _) in ours.items())
    assert any(b > 0 and v == 0x1234 for (b, _, _), (v, _, _, _) in ours.items())
    assert any(drv == "edu" for (_, _, _, drv) in ours.values())
    proofs = m.proofs
    for name in ("boot", "mm", "edu", "authority"):
        assert name in proofs, f"proof {name} never printed"
        assert proofs[name].passed, proofs[name]
    seeded = re.search(r"^random: seeded from (\S+)$", log, re.M)
    assert seeded, "no random line"
    assert {"efi-rng", "rdrand", "tsc-jitter"} <= set(seeded.group(1).split(",")), seeded.group(0)
    assert "cmdline: unknown option 'bogus' ignored" in log
    # a dotted word is checked like any other (a mistyped nvme.ns must not
    # pass unnoticed), and the options the image reads are listed once
    assert "cmdline: unknown option 'capos.nonsense' ignored" in log
    assert re.search(r"^cmdline:   nvme\.ns +namespace ids", log, re.M), log
    assert re.search(r"^authority: refusals out-of-window=[1-9]", log, re.M)
    # the MADT's I/O APIC (q35: id 0 at 0xfec00000, QEMU's 24 pins): every
    # redirection entry masked (kernel/cpu/ioapic.c), and no BAR QEMU placed
    # on a platform device's registers
    assert re.search(r"^ioapic 0 at 0xfec00000: GSI 0-23, 24 entries, \d+ found unmasked; "
                     r"all masked$", log, re.M), log
    assert not re.search(r"registers at 0x[0-9a-f]+; ignored$", log, re.M), log


def test_page_fault_dump_names_function():
    with Machine("pagefault", devices=[], cmdline="fault=pagefault exit") as m:
        status = m.wait()
    log = symbolize(m.log)
    assert status == EXIT_FAIL, f"exit status {status}"
    assert "EXCEPTION 14 (page fault)" in log, log[-3000:]
    assert re.search(r"cr2=0000000000000008", log)
    rip = re.search(r"^  rip (capos\+0x[0-9a-f]+ <\w+>)", log, re.M)
    assert rip and "proof_fault_trigger" in rip.group(1), log[-3000:]
    # the frame-pointer walk reaches the callers (proof_fault is inlined)
    assert re.search(r"#1 capos\+0x[0-9a-f]+ <kmain_stack>", log), "backtrace misses the caller"


def test_stack_overflow_hits_guard_page():
    with Machine("guard", devices=[], cmdline="fault=guard exit") as m:
        status = m.wait()
    log = symbolize(m.log)
    assert status == EXIT_FAIL
    # the overflow lands on the unmapped guard page: a page fault whose
    # handler cannot push its frame becomes a double fault on its own stack
    assert re.search(r"EXCEPTION (8 \(double fault\)|14 \(page fault\))", log), log[-3000:]
    assert "proof_fault_recurse" in log


def test_boot_without_config():
    with Machine("nocfg", devices=[], cmdline=None) as m:
        m.wait_for(r"^capOS: up; main loop running")
        m.quit()
    assert "boot: no command line and no capos.cfg; using defaults" in m.log
    # QEMU's default CPU has no RDRAND and OVMF then no RNG: said plainly
    assert "random: seeded from tsc-jitter only: no RDSEED/RDRAND and no EFI RNG" in m.log
    assert "capOS: proofs pass=0 fail=0" in m.log
