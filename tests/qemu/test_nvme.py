"""tests/qemu/test_nvme.py — `make run-pci-nvme`: the NVMe driver behind the
DMA validator, proved in two QEMU boots (q35 + OVMF, TCG, -device nvme).

The kernel runs nvme-bringup, nvme-integrity, nvme-hostile, nvme-toctou,
nvme-zero and nvme-recover (kernel/proof/nvme_proof.c,
kernel/proof/nvme_hostile.c) and prints PROOF markers. This file checks them and, from outside the kernel:

* QEMU's own trace (pci_nvme_* events), cut into phases by the proofs'
  fences (Get Features Arbitration with CDW11 = 0xcaf000NN):
  - no pci_nvme_err_* / pci_nvme_ub_* event while the well-behaved driver
    brings the controller up and does I/O (everything before the recovery
    phase, which resets the controller on purpose);
  - during the hostile phase the device is told of nothing but the closing
    fence: no I/O command, no SQ doorbell except the admin queue's one;
  - never, in the whole run: a forbidden admin opcode, Doorbell Buffer
    Config, or a data/queue address inside the canary pages;
  - during the TOCTOU phase the decoy LBA is written exactly once (its
    set-up), the validated LBA exactly once.
* The disk image, read on the host after QEMU exits: every region the
  integrity proof wrote, and the TOCTOU target and decoy, hold the pattern
  this file computes itself.
* The orderly exit (kernel/devmgr/devmgr.c devmgr_shutdown): after the
  last I/O command the device saw, its I/O queues deleted (SQ then CQ),
  then CC.SHN set once (QEMU's nvme_ctrl_shutdown flushes every
  namespace), then the controller stopped, and nothing after; the console
  says the controller was shut down, after the proofs' tally.
* A second, short boot with nvme.poll=1: the same proofs of bring-up and
  integrity with the completion interrupts unbound.
* The vector files: every tests/qemu/nvme_vectors/nvme-*.vec was run and
  rejected for the reason it names.
* Namespace grants: the controller sits in an NVMe subsystem with two
  namespaces and `nvme.ns=1` grants the driver only the first. The second's
  image holds random bytes written before boot; after QEMU exits it is
  byte-for-byte the same, the kernel's own Get Features read of its Error
  Recovery setting is the same before and after the hostile phase, and the
  device never saw a Set Features naming it (or every namespace).
"""
import os
import re

import pytest

from qemu import BUILD, EXIT_FAIL, EXIT_PASS, Machine

HERE = os.path.dirname(os.path.abspath(__file__))
VEC_DIR = os.path.join(HERE, "nvme_vectors")
DISK_BYTES = 64 << 20
NS2_BYTES = 16 << 20
PROOFS = ["nvme-bringup", "nvme-integrity", "nvme-hostile", "nvme-toctou",
          "nvme-recover", "nvme-rebind"]
# this boot's alone (test_iommu.py reuses PROOFS): Write Zeroes and Discard
RUN_PROOFS = PROOFS + ["nvme-zero"]
FENCE = 0xCAF00000
FENCE_BRINGUP_DONE, FENCE_INTEGRITY, FENCE_HOSTILE_BEGIN = 1, 2, 3
FENCE_HOSTILE_END, FENCE_TOCTOU, FENCE_RECOVER = 4, 5, 6
FENCE_ZERO = 8
FENCE_REBIND_OLD, FENCE_REBIND_OLD_END = 9, 10
FENCE_HOSTILE_RESET = 11
CANARY_BYTES = 4 * 4096
# admin opcodes the validator refuses; the device must never see one
FORBIDDEN_ADMIN = {0x0D, 0x10, 0x11, 0x14, 0x15, 0x1C, 0x7C, 0x80, 0x81,
                   0x84}
TRACE = ["pci_nvme_err_*", "pci_nvme_ub_*", "pci_nvme_admin_cmd",
         "pci_nvme_io_cmd", "pci_nvme_getfeat", "pci_nvme_map_prp",
         "pci_nvme_read", "pci_nvme_write", "pci_nvme_dbbuf_config",
         "pci_nvme_create_sq", "pci_nvme_create_cq",
         "pci_nvme_mmio_doorbell_sq", "pci_nvme_irq_msix",
         # every page the controller maps for DMA, PRP list entries included
         "pci_nvme_map_addr", "pci_nvme_dma_read", "pci_nvme_setfeat",
         # the orderly exit (devmgr_shutdown): queues deleted, CC.SHN, CC.EN=0
         "pci_nvme_del_sq", "pci_nvme_del_cq", "pci_nvme_mmio_shutdown_set",
         "pci_nvme_mmio_shutdown_cleared", "pci_nvme_mmio_stopped",
         # nvme-rebind: the controller enabled again by the new instance
         "pci_nvme_mmio_start_success",
         # nvme-zero: Dataset Management (Write Zeroes is a pci_nvme_write)
         "pci_nvme_dsm", "pci_nvme_dsm_deallocate",
         "pci_nvme_dsm_single_range_limit_exceeded",
         # the broker's NVM limits (Identify CNS 06h) and the CSI it named
         "pci_nvme_identify_ctrl_csi",
         # each granted namespace's identifiers (Identify CNS 03h)
         "pci_nvme_identify_ns_descr_list"]
MSI_WINDOW = (0xFEE00000, 0xFEF00000)
EV_RE = re.compile(r"(pci_nvme_\w+) ?(.*)$")


def pat(lba, word, seed):
    """nvme_proof_pat (kernel/proof/nvme_proof.c), computed independently."""
    m = 0xFFFFFFFF
    x = (((lba & m) * 0x9E3779B1) & m) ^ ((((lba >> 32) & m) * 0x7FEB352D) & m) \
        ^ ((word * 0x85EBCA77) & m) ^ seed
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & m
    x ^= x >> 12
    return x


def expected_blocks(lba, nblk, bs, seed):
    out = bytearray()
    for b in range(nblk):
        for w in range(bs // 4):
            out += pat(lba + b, w, seed).to_bytes(4, "little")
    return bytes(out)


def vector_files():
    return sorted(f for f in os.listdir(VEC_DIR) if f.endswith(".vec"))


# Namespace 1's identifiers: QEMU 7.2's nvme-ns takes eui64 (default 0: none;
# eui64-default is off from machine type 7.1 on) and uuid (default "auto", a
# random one each boot), and has no nguid property (QEMU 9.0's hw/nvme/nguid.c)
# so its NGUID is none. Its CNS 03h list holds the UUID, the EUI64 when set and
# the CSI (hw/nvme/ctrl.c nvme_identify_ns_descr_list); Identify Namespace
# holds the EUI64, big-endian.
NS1_EUI64 = 0x0011223344556677
NS1_UUID = "5e1f6a2b-0c3d-4e5f-8a9b-0c1d2e3f4a5b"


def subsys_setup(img_name, ns2_name):
    """The proof boot's NVMe subsystem: one controller with namespace 1 on a
    blank image and namespace 2 (the one `nvme.ns=1` does not grant) on an
    image of random bytes, both under BUILD/qemu; and the vector files.
    Returns (img, img2, the random bytes, QEMU device arguments, files)."""
    img = os.path.join(BUILD, "qemu", img_name)
    img2 = os.path.join(BUILD, "qemu", ns2_name)
    os.makedirs(os.path.dirname(img), exist_ok=True)
    with open(img, "wb") as f:
        f.truncate(DISK_BYTES)
    ns2 = os.urandom(NS2_BYTES)
    with open(img2, "wb") as f:
        f.write(ns2)
    files = {}
    for name in vector_files():
        with open(os.path.join(VEC_DIR, name), "rb") as f:
            files[name] = f.read()
    # discard=unmap: a Deallocate punches a hole in the image (nvme-zero)
    devices = ["-drive", f"file={img},format=raw,if=none,id=nvm,discard=unmap",
               "-drive", f"file={img2},format=raw,if=none,id=nvm2",
               "-device", "nvme-subsys,id=subsys0,nqn=capos-subsys0",
               "-device", "nvme,id=nvmec,serial=capos-nvme0,subsys=subsys0",
               "-device", f"nvme-ns,drive=nvm,bus=nvmec,nsid=1,"
                          f"eui64={NS1_EUI64:#018x},uuid={NS1_UUID}",
               "-device", "nvme-ns,drive=nvm2,bus=nvmec,nsid=2"]
    return img, img2, ns2, devices, files


def parse_events(lines):
    ev = []
    for ln in lines:
        m = EV_RE.search(ln)
        if m:
            kv = dict(re.findall(r"(\w+)[ =]'?(0x[0-9a-fA-F]+|\d+)", m.group(2)))
            ev.append((m.group(1), m.group(2), kv))
    return ev


def num(s):
    return int(s, 0)


def fence_index(ev, code):
    for i, (name, _, kv) in enumerate(ev):
        if name == "pci_nvme_getfeat" and num(kv.get("cdw11", "0")) == FENCE | code:
            return i
    raise AssertionError(f"fence {code} not in the device trace")


def only_closing_fence(ev, begin, end, forbidden=("pci_nvme_map_prp", "pci_nvme_read",
                                                  "pci_nvme_write")):
    """The device trace between fences begin and end: the one command the
    device saw is the closing fence (Get Features on the admin SQ), and no
    event named in forbidden is there. The window, for further checks."""
    window = ev[fence_index(ev, begin) + 1:fence_index(ev, end)]
    cmds = [e for e in window if e[0] in ("pci_nvme_admin_cmd", "pci_nvme_io_cmd")]
    assert len(cmds) == 1 and num(cmds[0][2]["opc"]) == 0x0A, cmds
    sq_db = [e for e in window if e[0] == "pci_nvme_mmio_doorbell_sq"]
    assert len(sq_db) == 1 and num(sq_db[0][2]["sqid"]) == 0, sq_db
    assert not [e for e in window if e[0] in forbidden], window
    return window


@pytest.fixture(scope="module")
def run():
    # namespace 2 is not granted: its random bytes are checked after
    img, img2, ns2, devices, files = subsys_setup("nvme-disk.img", "nvme-ns2.img")
    m = Machine("nvme", devices=devices,
                cmdline="proofs=" + ",".join(RUN_PROOFS) + " nvme.ns=1 exit",
                files=files, trace=TRACE, timeout=300)
    with m:
        status = m.wait()
    with open(img, "rb") as f:
        disk = f.read()
    with open(img2, "rb") as f:
        ns2_after = f.read()
    return m, status, disk, parse_events(m.trace_lines()), (ns2, ns2_after)


def test_markers(run):
    m, status, _, _, _ = run
    proofs = m.proofs
    for p in RUN_PROOFS:
        assert p in proofs, f"no marker for {p}\n{m.tail()}"
        assert proofs[p].passed, f"{proofs[p]}\n{m.tail()}"
    assert status == EXIT_PASS, m.tail()


def test_bringup(run):
    m, _, _, ev, _ = run
    kv = m.proofs["nvme-bringup"].kv
    assert kv["model"] == "QEMU_NVMe_Ctrl" and kv["serial"] == "capos-nvme0"
    assert int(kv["ioq"]) >= 1 and int(kv["ns"]) == 1
    assert kv["namespaces"] == f"1:512:{DISK_BYTES // 512}"
    assert int(kv["blocks"]) * int(kv["bs"]) == DISK_BYTES
    assert int(kv["max_xfer"]) == 4096 << int(kv["mdts"])  # QEMU: MDTS 7
    assert kv["irq"] == "msix" and int(kv["io_irqs"]) > 0
    # the device saw the I/O queues created physically contiguous, each CQ
    # on its own MSI-X vector
    cqs = [e for e in ev if e[0] == "pci_nvme_create_cq"]
    sqs = [e for e in ev if e[0] == "pci_nvme_create_sq"]
    assert len(cqs) >= int(kv["ioq"]) and len(sqs) >= int(kv["ioq"])
    for _, text, _ in cqs[:int(kv["ioq"])]:
        assert "qflags=3" in text and "ien=1" in text, text
    # the device raised the admin vector and each I/O queue's own vector
    vectors = {num(f["vector"]) for n, _, f in ev if n == "pci_nvme_irq_msix"}
    assert set(range(int(kv["ioq"]) + 1)) <= vectors, vectors
    # well-behaved driver: no error or undefined-behaviour event from the
    # device model before the recovery phase resets it on purpose
    end = fence_index(ev, FENCE_RECOVER)
    bad = [e[1] for e in ev[:end] if e[0].startswith(("pci_nvme_err_", "pci_nvme_ub_"))]
    assert not bad, bad[:10]
    assert fence_index(ev, FENCE_BRINGUP_DONE) < fence_index(ev, FENCE_INTEGRITY)


def check_integrity_image(m, disk):
    kv = m.proofs["nvme-integrity"].kv
    assert kv["shapes"] == "prp1,prp2,list,chain"
    regions = re.findall(r"^NVME_REGION lba=(\d+) blocks=(\d+) bs=(\d+) "
                         r"seed=(0x[0-9a-f]+) shape=(\w+)", m.log, re.M)
    assert len(regions) == int(kv["regions"]) >= 12
    sizes = set()
    for lba, nblk, bs, seed, shape in regions:
        lba, nblk, bs, seed = int(lba), int(nblk), int(bs), int(seed, 16)
        sizes.add(nblk)
        want = expected_blocks(lba, nblk, bs, seed)
        got = disk[lba * bs:(lba + nblk) * bs]
        assert got == want, f"image differs at lba {lba} ({nblk} blocks, {shape})"
    # from one block to the maximum transfer size
    bs = int(regions[0][2])
    assert 1 in sizes and int(kv["max_xfer"]) // bs in sizes
    # the concurrent burst over every I/O queue (rings wrap several times)
    b = re.search(r"^NVME_BURST lba0=(\d+) stride=(\d+) ops=(\d+) blocks=(\d+) "
                  r"bs=(\d+) seed=(0x[0-9a-f]+) qd=(\d+) queues=(\d+) ok=1", m.log, re.M)
    assert b and kv["burst"] == "1", "no successful NVME_BURST line"
    lba0, stride, ops, nblk, bbs, seed, qd, nq = (int(x, 0) for x in b.groups())
    assert ops >= 256 and qd >= 32 and nq >= 2
    for op in range(ops):
        lba = lba0 + op * stride
        assert disk[lba * bbs:(lba + nblk) * bbs] == expected_blocks(lba, nblk, bbs, seed), \
            f"burst op {op} (lba {lba}) differs in the image"


def test_integrity_image(run):
    m, _, disk, _, _ = run
    check_integrity_image(m, disk)


def test_shutdown_at_exit(run):
    """`exit` detaches the drivers before QEMU leaves: the controller gets
    Delete I/O SQ and CQ for every queue pair after its last I/O command,
    then CC.SHN=01b, then CC.EN=0; the disk image read back on the host
    holds what the kernel wrote (test_integrity_image, same boot)."""
    m, status, _, ev, _ = run
    names = [e[0] for e in ev]
    # one at nvme-rebind's unbind (test_rebind), the last one at exit
    assert names.count("pci_nvme_mmio_shutdown_set") == 2, m.tail()
    shn = len(names) - 1 - names[::-1].index("pci_nvme_mmio_shutdown_set")
    io = [i for i, n in enumerate(names)
          if n in ("pci_nvme_io_cmd", "pci_nvme_read", "pci_nvme_write")]
    assert io and io[-1] < shn
    ioq = int(m.proofs["nvme-bringup"].kv["ioq"])
    between = [(n, num(kv.get("qid", kv.get("sqid", kv.get("cqid", "0")))))
               for n, _, kv in ev[io[-1]:shn] if n.startswith("pci_nvme_del_")]
    assert sorted(between) == sorted(
        [("pci_nvme_del_sq", q) for q in range(1, ioq + 1)] +
        [("pci_nvme_del_cq", q) for q in range(1, ioq + 1)]), between
    # each SQ deleted before its CQ
    for q in range(1, ioq + 1):
        assert between.index(("pci_nvme_del_sq", q)) < between.index(("pci_nvme_del_cq", q))
    # then stopped (CC.EN=0, CC.SHN back to 00b), and nothing more
    after = names[shn + 1:]
    assert "pci_nvme_mmio_stopped" in after, after
    assert not [n for n in after if n in ("pci_nvme_io_cmd", "pci_nvme_admin_cmd",
                                          "pci_nvme_mmio_doorbell_sq")], after
    tally = m.log.index("capOS: proofs pass=")
    line = re.search(r"^devmgr: (\S+) nvme shut down in (\d+) us$", m.log[tally:], re.M)
    assert line, m.tail()
    assert status == EXIT_PASS


def test_rebind(run):
    """nvme-rebind: the function unbound (its driver's detach: CC.SHN) and
    bound again (a fresh owner, broker and driver instance, which enables
    the controller again): the pattern written before reads back equal
    through the new instance, the old instance's handles are refused. The
    device's witness: the first CC.SHN, then CC.EN=1 with no command in
    between — nothing of the old instance reached it after its shutdown.
    With the new instance up, the old owner rings the admin doorbell, reaps
    and resets through its own handle and naming the new broker: each call
    refused with its line, and between the proof's fences around them the
    device sees only the closing fence (one Get Features, one admin SQ
    doorbell)."""
    m, _, _, ev, _ = run
    kv = m.proofs["nvme-rebind"].kv
    assert (kv["write"], kv["unbind"], kv["rebind"], kv["pattern"]) == ("ok", "0", "0", "equal"), kv
    assert kv["old_pool"] == kv["old_broker"] == kv["old_kmem"] == "refused", kv
    assert kv["old_calls"] == "refused", kv
    old, new = kv["owner"].split("->")
    assert old != new
    for what in ("sq ring", "cq reap", "reset"):
        assert re.search(rf"^nvme-broker: {what} refused: owner {old} named owner {new}'s broker$",
                         m.log, re.M), (what, m.tail())
    assert re.search(r"^nvme-broker: sq ring refused: the handle names a closed broker",
                     m.log, re.M), m.tail()
    only_closing_fence(ev, FENCE_REBIND_OLD, FENCE_REBIND_OLD_END,
                       ("pci_nvme_mmio_stopped", "pci_nvme_map_prp", "pci_nvme_read",
                        "pci_nvme_write"))
    assert re.search(rf"^authority: owner {old} unbound \(stop confirmed\): 0 pages withheld",
                     m.log, re.M), m.tail()
    names = [e[0] for e in ev]
    shn = names.index("pci_nvme_mmio_shutdown_set")
    en = names.index("pci_nvme_mmio_start_success", shn)
    between = [n for n in names[shn + 1:en]
               if n in ("pci_nvme_io_cmd", "pci_nvme_admin_cmd", "pci_nvme_mmio_doorbell_sq")]
    assert not between, between
    # and the new instance did I/O (the read back) after it
    assert "pci_nvme_io_cmd" in names[en:], names[en:][:20]


@pytest.fixture(scope="module")
def polled():
    """A second, short boot: bring-up and integrity with the completion
    interrupts unbound (nvme.poll=1), on a controller with two namespaces
    (the second formatted with 4 KiB blocks); and a second controller for
    nvme-lifetime, which needs two owners."""
    img = os.path.join(BUILD, "qemu", "nvme-polled.img")
    img2 = os.path.join(BUILD, "qemu", "nvme-polled-ns2.img")
    img3 = os.path.join(BUILD, "qemu", "nvme-polled-c2.img")
    for p, n in ((img, DISK_BYTES), (img2, 16 << 20), (img3, 16 << 20)):
        with open(p, "wb") as f:
            f.truncate(n)
    m = Machine("nvme-polled",
                devices=["-drive", f"file={img},format=raw,if=none,id=nvm",
                         "-drive", f"file={img2},format=raw,if=none,id=nvm2",
                         "-drive", f"file={img3},format=raw,if=none,id=nvm3",
                         "-device", "nvme,id=nvmec,serial=capos-nvme0",
                         "-device", "nvme-ns,drive=nvm,bus=nvmec,nsid=1",
                         "-device", "nvme-ns,drive=nvm2,bus=nvmec,nsid=2,"
                         "logical_block_size=4096,physical_block_size=4096",
                         "-device", "nvme,serial=capos-nvme1,drive=nvm3"],
                cmdline="proofs=nvme-bringup,nvme-integrity,nvme-lifetime "
                        "nvme.poll=1 exit",
                trace=["pci_nvme_create_cq", "pci_nvme_create_sq",
                       "pci_nvme_map_addr"],
                timeout=300)
    with m:
        status = m.wait()
    with open(img, "rb") as f:
        disk = f.read()
    return m, status, disk


def test_polled(polled):
    """The same completion path without interrupts (nvme.poll=1)."""
    m, status, disk = polled
    proofs = m.proofs
    for p in ("nvme-bringup", "nvme-integrity"):
        assert p in proofs and proofs[p].passed, m.tail()
    kv = proofs["nvme-bringup"].kv
    assert kv["irq"] == "polled" and kv["io_irqs"] == "0" and kv["admin_irqs"] == "0"
    assert kv["ns"] == "2" and kv["io"] == "1"
    # no nvme.ns here: every active namespace is granted, and the broker
    # says so (the policy's all_ns, which lets namespace lists through)
    assert re.search(r"^nvme-broker \S+: reset, .*serial \"capos-nvme0\".* 2 granted "
                     r"\(every active one\)$", m.log, re.M), m.tail()
    assert kv["namespaces"] == f"1:512:{DISK_BYTES // 512},2:4096:{(16 << 20) // 4096}"
    check_integrity_image(m, disk)


def test_lifetime(polled):
    """Issue 9's sequences (kernel/proof/nvme_lifetime.c): a pool holding a
    live CQ ring cannot be revoked, an abort owed after Delete SQ lands once
    in the live ring, nothing reaches the freed page afterwards; one owner
    spending every quota leaves the other's bring-up and I/O intact; a
    controller that will not stop stays fenced off the bus."""
    m, status, _ = polled
    p = m.proofs.get("nvme-lifetime")
    assert p and p.passed, m.tail()
    kv = p.kv
    assert kv["revoke_refused"] == "1" and kv["completed_once"] == "1"
    assert kv["canary_bad"] == "0" and kv["closed"] == "1"
    assert int(kv["shadow_pairs"]) >= 1 and kv["shadow_refused"] == "1"
    assert kv["grants_refused"] == "1" and kv["bytes_refused"] == "1"
    assert kv["other_owner_up"] == "1" and kv["released"] == "1"
    assert kv["enable_refused"] == "1" and kv["bus_master"] == "off"
    assert re.search(r"nvme-broker \S+: unable to reset controller .*fenced", m.log)
    assert re.search(r"authority: owner \d+ over its DMA quota", m.log)
    # outside witness: QEMU was never pointed at a driver ring, only at the
    # gate's shadows — so a revoked ring page can never be a device target
    rings = {int(a, 16) for a in re.findall(r"ring_cq=(0x[0-9a-f]+)", m.log)}
    assert rings, "the proof names its CQ ring page"
    for ln in m.trace_lines():
        for a in re.findall(r"addr[ =]'?(0x[0-9a-fA-F]+)", ln):
            assert int(a, 16) & ~0xfff not in rings, ln
    assert status == EXIT_PASS


def test_hostile_vectors(run):
    m, _, _, _, _ = run
    kv = m.proofs["nvme-hostile"].kv
    ran = {f.lower(): (exp, got, ok) for f, exp, got, ok in re.findall(
        r"^NVME_VECTOR file=(\S+) expect=(\S+) got=(\S+) .*ok=(\d)", m.log, re.M)}
    files = vector_files()
    assert len(files) >= 20
    assert set(ran) == {f.lower() for f in files}, "vector files not all run"
    for f in files:
        with open(os.path.join(VEC_DIR, f)) as fh:
            want = re.search(r"^expect\s*=\s*(\S+)", fh.read(), re.M).group(1)
        exp, got, ok = ran[f.lower()]
        assert exp == want and got == want and ok == "1", (f, exp, got)
    assert int(kv["canary_bad"]) == 0 and int(kv["revoked_bad"]) == 0
    assert int(kv["verdict_classes"]) >= 15
    # no vector file was dropped on the way in (the boot volume has no
    # file cap; a file it cannot keep is a loud line and fails this)
    assert int(kv["boot_files_lost"]) == 0
    assert not re.search(r"^bootfs: unable to keep", m.log, re.M), m.tail()
    # the boundaries the vectors name are really foreign to the driver
    assert kv["bounds_foreign"] == "1" and num(kv["msi"]) == MSI_WINDOW[0]
    # the driver cannot get a window over the doorbell page to bypass the gate
    assert kv["doorbell_window"] == "refused"
    assert re.search(r"^authority: \S+ is brokered; no DeviceMmio window on it$", m.log, re.M)
    # every refusal the gate posted itself came with the queue's interrupt
    # (irq_raise): the driver waited on it, not on its 1 ms fallback
    assert int(kv["refusals"]) >= 20
    assert kv["refusal_irqs"] == kv["refusals"], kv


def test_hostile_device_witness(run):
    m, _, _, ev, _ = run
    kv = m.proofs["nvme-hostile"].kv
    # the only command the device saw is the closing fence (Get Features)
    only_closing_fence(ev, FENCE_HOSTILE_BEGIN, FENCE_HOSTILE_END)
    # and in the whole run: nothing forbidden reached the device, nothing
    # it was told pointed into the canary or the revoked pool — including
    # every address it mapped (pci_nvme_map_addr covers PRP list entries)
    canary, revoked = num(kv["canary"]), num(kv["revoked"])
    mapped = [e for e in ev if e[0] == "pci_nvme_map_addr"]
    assert len(mapped) > 100, "too few pci_nvme_map_addr events: the witness would be empty"
    for name, text, f in ev:
        if name == "pci_nvme_admin_cmd":
            assert num(f["opc"]) not in FORBIDDEN_ADMIN, text
        assert name != "pci_nvme_dbbuf_config", text
        for key in ("prp1", "prp2", "addr"):
            if key in f:
                a = num(f[key])
                assert not canary <= a < canary + CANARY_BYTES, text
                assert not revoked <= a < revoked + 2 * 4096, text


def test_toctou(run):
    m, _, disk, ev, _ = run
    kv = m.proofs["nvme-toctou"].kv
    bs, nblk = int(kv["bs"]), int(kv["blocks"])
    lba, decoy = int(kv["lba"]), int(kv["decoy_lba"])
    assert disk[lba * bs:(lba + nblk) * bs] == \
        expected_blocks(lba, nblk, bs, int(kv["seed"], 16))
    assert disk[decoy * bs:(decoy + nblk) * bs] == \
        expected_blocks(decoy, nblk, bs, int(kv["decoy_seed"], 16))
    lo, hi = fence_index(ev, FENCE_TOCTOU), fence_index(ev, FENCE_RECOVER)
    writes = [num(f["lba"]) for n, t, f in ev[lo:hi]
              if n == "pci_nvme_write" and "lba" in f]
    assert writes.count(decoy) == 1 and writes.count(lba) == 1, writes
    assert int(kv["canary_bad_bytes"]) == 0


def test_zero(run):
    """nvme-zero: Write Zeroes and Discard through struct blockdev over a
    written pattern. From outside the kernel: the image holds the pattern
    around them and zeros in both ranges (the drive discards with
    discard=unmap and QEMU's DLFEAT promises zeros, which the kernel read
    back); the discarded range is a hole in the image file; QEMU's trace
    shows one Write Zeroes and one Deallocate of exactly those blocks, and
    no range skipped for its size."""
    m, _, disk, ev, _ = run
    kv = m.proofs["nvme-zero"].kv
    assert (kv["write"], kv["wz"], kv["discard"], kv["flush"]) == ("0",) * 4, kv
    assert kv["pattern"] == kv["zeros"] == "equal", kv
    assert kv["discarded"] == "zeros" and kv["past_end"] == "refused", kv
    assert int(kv["oncs"], 16) & 0xC == 0xC and kv["dlfeat"] == "1", kv
    z = re.search(r"^NVME_ZERO lba=(\d+) blocks=(\d+) bs=(\d+) seed=(0x[0-9a-f]+) "
                  r"wz=(\d+)\+(\d+) discard=(\d+)\+(\d+) discard_zeroes=1", m.log, re.M)
    assert z, m.tail()
    lba, nblk, bs, seed, wo, wn, do, dn = (int(x, 0) for x in z.groups())
    want = bytearray(expected_blocks(lba, nblk, bs, seed))
    want[wo * bs:(wo + wn) * bs] = bytes(wn * bs)
    want[do * bs:(do + dn) * bs] = bytes(dn * bs)
    assert disk[lba * bs:(lba + nblk) * bs] == bytes(want)
    # the hole: the file system says no data from the discarded range's start
    img = os.path.join(BUILD, "qemu", "nvme-disk.img")
    off, end = (lba + do) * bs, (lba + do + dn) * bs
    fd = os.open(img, os.O_RDONLY)
    try:
        assert os.lseek(fd, off, os.SEEK_HOLE) == off
        assert os.lseek(fd, off, os.SEEK_DATA) >= end
        # and the pattern written before it is data
        assert os.lseek(fd, lba * bs, os.SEEK_DATA) == lba * bs
    finally:
        os.close(fd)
    lo, hi = fence_index(ev, FENCE_ZERO), fence_index(ev, FENCE_RECOVER)
    wz = [f for n, t, f in ev[lo:hi] if n == "pci_nvme_write" and "WRITE_ZEROES" in t]
    assert len(wz) == 1 and num(wz[0]["lba"]) == lba + wo and num(wz[0]["nlb"]) == wn, wz
    dsm = [f for n, _, f in ev[lo:hi] if n == "pci_nvme_dsm"]
    assert len(dsm) == 1 and num(dsm[0]["nr"]) == 1 and num(dsm[0]["attr"]) == 4, dsm
    dealloc = [(num(f["slba"]), num(f["nlb"]))
               for n, _, f in ev[lo:hi] if n == "pci_nvme_dsm_deallocate"]
    assert dealloc == [(lba + do, dn)], dealloc
    assert not [e for e in ev if e[0] == "pci_nvme_dsm_single_range_limit_exceeded"]


# What QEMU 7.2's nvme_identify_ctrl_csi (hw/nvme/ctrl.c) answers for CSI
# 00h: VSL (params.vsl, 7) and DMRSL, the least over the attached
# namespaces of BDRV_REQUEST_MAX_BYTES (INT_MAX >> 9 << 9 = 2147483136)
# over one block (nvme_attach_ns); WZSL, DMRL and DMSL it leaves 0.
# Both namespaces here have 512-byte blocks.
QEMU_DMRSL = 2147483136 // 512


def test_nvm_limits(run):
    """The broker asks for the NVM Command Set's own limits (Identify CNS
    06h with CSI 00h: QEMU traces the CSI it was asked) and says what QEMU
    answers; QEMU's DMRSL is far above NVME_DSM_RANGE_BLOCKS, so the
    splits stay capOS's own (test_zero: one DSM range, one Write Zeroes)."""
    m, _, _, ev, _ = run
    csi = [kv for n, _, kv in ev if n == "pci_nvme_identify_ctrl_csi"]
    assert csi and all(num(kv["csi"]) == 0 for kv in csi), csi
    lines = re.findall(r"^nvme-broker \S+: NVM limits \(Identify CNS 06h\): "
                       r"WZSL (\d+) DMRL (\d+) DMRSL (\d+) DMSL (\d+) \(0: none\)$",
                       m.log, re.M)
    assert lines, m.tail()
    # one probe per broker open (boot and nvme-rebind), each the same
    # answer, and one per enable after a reset (the broker identifies the
    # controller again: "identified again after the reset")
    again = re.findall(r"^nvme-broker \S+: identified again after the reset in \d+ us: "
                       r"nothing changed$", m.log, re.M)
    assert again, m.tail()
    assert len(lines) + len(again) == len(csi), (lines, again, csi)
    assert set(lines) == {("0", "0", str(QEMU_DMRSL), "0")}, lines


def test_namespace_identifiers(run):
    """The broker reads each granted namespace's identifiers (Identify CNS 03h
    on QEMU's NVMe 1.4: QEMU traces it, for namespace 1 only: namespace 2 is
    not granted, so not identified) and the driver says exactly the EUI64 and
    UUID QEMU was given, and no NGUID (QEMU 7.2 has none), at the attach and
    at nvme-rebind's; no reset changed them (no namespace given up)."""
    m, _, _, ev, _ = run
    descr = [num(kv["nsid"]) for n, _, kv in ev if n == "pci_nvme_identify_ns_descr_list"]
    assert descr and set(descr) == {1}, descr
    lines = re.findall(r"^nvme\d: nvme\dn1: \d+ blocks of 512 bytes \(64 MiB\), "
                       r"NGUID (\S+) EUI64 (\S+) UUID (\S+)$", m.log, re.M)
    assert len(lines) == 2, m.tail()  # the attach and nvme-rebind's
    want = ("none", f"{NS1_EUI64:016x}", NS1_UUID.replace("-", ""))
    assert set(lines) == {want}, lines
    # one per open (boot, rebind) and one per re-identify after a reset
    again = re.findall(r"^nvme-broker \S+: identified again after the reset", m.log, re.M)
    assert len(descr) == 2 + len(again), (descr, again)
    assert not re.search(r"is another namespace|Identify CNS 03h", m.log), m.tail()


def test_recover(run):
    m, _, _, ev, _ = run
    kv = m.proofs["nvme-recover"].kv
    assert kv["timeout"] == "1" and kv["bad_cid"] == "1" and kv["bad_phase"] == "1"
    assert kv["bad_sqhd"] == "1"
    assert int(kv["inflight_done"]) == int(kv["inflight_sent"]) == 8
    assert kv["up"] == "1" and int(kv["resets"]) >= 5
    log = m.log
    # one clear line per fault, at the place it was seen
    assert re.search(r"nvme0: command 0x[0-9a-f]+ on queue 0 timed out", log)
    assert re.search(r"nvme0: queue 1: completion for unknown command", log)
    assert re.search(r"nvme0: queue 1: \d+ completions delivered, none with phase", log)
    assert re.search(r"nvme0: queue 1: completion names SQ 1 head \d+, ignored", log)
    assert "nvme0: controller fatal status" in log
    check_recover_deletes_first(ev, int(m.proofs["nvme-bringup"].kv["ioq"]))
    check_hostile_reset(m, ev, int(m.proofs["nvme-bringup"].kv["ioq"]))


def check_hostile_reset(m, ev, ioq):
    """nvme-recover's last step (rec_hostile_reset): the driver rings eight
    reads over its I/O queues, a doorbell each, and calls nvme_broker_reset
    at once, skipping its own deletes. From QEMU's trace: before that
    reset's CC.EN=0 (pci_nvme_mmio_stopped) and after the last read's
    doorbell, the broker deletes every I/O SQ, highest first, then every
    CQ (broker_halt_delete), so QEMU 7.2's reset finds no SQ with reads to
    free under them. Each read ends once, aborted (the reset answered
    none; the driver's recovery failed each), and the driver is back."""
    kv = m.proofs["nvme-recover"].kv
    assert int(kv["hreset_sent"]) == int(kv["hreset_done"]) == 8, kv
    assert int(kv["hreset_aborted"]) == 8, kv
    start = fence_index(ev, FENCE_HOSTILE_RESET)
    stop = next(i for i in range(start, len(ev)) if ev[i][0] == "pci_nvme_mmio_stopped")
    window = ev[start:stop]
    io_db = [i for i, (n, _, f) in enumerate(window)
             if n == "pci_nvme_mmio_doorbell_sq" and num(f["sqid"]) > 0]
    assert {num(window[i][2]["sqid"]) for i in io_db} == set(range(1, min(ioq, 8) + 1)), \
        [window[i][1] for i in io_db]
    assert len(io_db) == 8, [window[i][1] for i in io_db]
    deleted = [(n, num(f.get("qid", f.get("sqid", f.get("cqid", "0")))))
               for n, _, f in window[io_db[-1]:] if n.startswith("pci_nvme_del_")]
    assert deleted == [("pci_nvme_del_sq", q) for q in range(ioq, 0, -1)] + \
        [("pci_nvme_del_cq", q) for q in range(ioq, 0, -1)], deleted
    assert re.search(rf"^nvme-broker \S+: stop: {ioq} I/O SQs and {ioq} CQs deleted first$",
                     m.log, re.M), m.tail()


def check_recover_deletes_first(ev, ioq):
    """From QEMU's trace: the eight reads outstanding at the proof's second
    reset (the first is the Asynchronous Event Request's timeout) reach the
    device on eight doorbells, and the recovery deletes every I/O SQ and CQ
    (pci_nvme_del_sq, pci_nvme_del_cq) before CC.EN=0
    (pci_nvme_mmio_stopped); the device fetches no I/O command while it is
    stopped. QEMU 7.2's reset drains, then frees the SQs: a reset that
    caught reads in flight beside reads rung but not yet fetched had the
    drain fetch them, and they completed into the freed SQ (SIGSEGV in
    nvme_rw_complete_cb; README, Debugging). Its Delete I/O SQ waits out
    every read the SQ fetched, those fetched meanwhile too."""
    rec = fence_index(ev, FENCE_RECOVER)
    # the reset the reads met: the first stop after the fence whose
    # controller life (since its last start) rang I/O SQ 1 — not the first
    # reset (no I/O), nor a stop of the broker's re-identify after each
    # reset (it enables, identifies on its own admin queue, disables)
    stop2, sq1 = None, []
    for i in range(rec, len(ev)):
        name, _, kv = ev[i]
        if name == "pci_nvme_mmio_start_success":
            sq1 = []
        elif name == "pci_nvme_mmio_doorbell_sq" and num(kv["sqid"]) == 1:
            sq1.append(i)
        elif name == "pci_nvme_mmio_stopped" and sq1:
            stop2 = i
            break
    assert stop2 is not None and len(sq1) >= 8, sq1
    qsize = [num(kv["qsize"]) + 1 for n, _, kv in ev[:stop2]
             if n == "pci_nvme_create_sq" and num(kv["sqid"]) == 1][-1]
    tails = [num(ev[i][2]["new_tail"]) for i in sq1[-9:]]
    assert all((b - a) % qsize == 1 for a, b in zip(tails, tails[1:])), \
        ("the eight reads did not take a doorbell each", [ev[i][1] for i in sq1[-9:]])
    deleted = [(n, num(kv.get("qid", kv.get("sqid", kv.get("cqid", "0")))))
               for n, _, kv in ev[sq1[-1]:stop2] if n.startswith("pci_nvme_del_")]
    assert sorted(deleted) == sorted(
        [("pci_nvme_del_sq", q) for q in range(1, ioq + 1)] +
        [("pci_nvme_del_cq", q) for q in range(1, ioq + 1)]), deleted
    stopped = False
    for name, text, _ in ev:
        if name == "pci_nvme_mmio_stopped":
            stopped = True
        elif name == "pci_nvme_mmio_start_success":
            stopped = False
        elif stopped and name == "pci_nvme_io_cmd":
            raise AssertionError(f"I/O command fetched while stopped: {text}")


def test_namespace_grants(run):
    """nvme.ns=1 on a controller with namespaces 1 and 2: the driver gets
    only the first, every namespace-scoped attempt on the second is refused
    (vectors nvme-ungranted-*.vec), and the second's settings and data are
    unchanged."""
    m, _, _, ev, (ns2_before, ns2_after) = run
    log = m.log
    assert re.search(r"^nvme-broker \S+: namespace 2 not granted \(nvme\.ns\)$", log, re.M)
    assert re.search(r"^nvme-broker \S+: reset, .* 1 granted$", log, re.M), \
        "the broker must not call every namespace granted"
    kv = m.proofs["nvme-hostile"].kv
    assert kv["ungranted_ns"] == "2"
    # the driver's way to the kernel's Get Features (nvme_broker_get_feature)
    # stops at its grants: namespace 2's Error Recovery is refused unsent
    assert kv["ungranted_getfeat"] == "refused", kv
    assert re.search(r"^nvme-broker \S+: unable to read feature 0x5 of namespace 0x2 "
                     r"\(not granted to owner \d+\)$", log, re.M)
    # the kernel read namespace 2's Error Recovery (DULBE is bit 16) before
    # and after the hostile phase (nvme_broker_witness_feature, proof image
    # only): it exists and did not change
    assert kv["ungranted_errrec"] == "unchanged", kv
    assert num(kv["ungranted_errrec_before"]) == num(kv["ungranted_errrec_after"])
    assert not num(kv["ungranted_errrec_after"]) & (1 << 16)
    ran = dict(re.findall(r"^NVME_VECTOR file=(nvme-ungranted-\S+) expect=\S+ got=(\S+) ", log, re.M))
    assert len(ran) >= 15 and set(ran.values()) == {"nsid_not_granted"}, ran
    # outside the kernel: the device never saw a Set Features naming
    # namespace 2 or every namespace, and namespace 2's image is unchanged
    for name, text, f in ev:
        if name == "pci_nvme_setfeat":
            assert num(f["nsid"]) not in (2, 0xFFFFFFFF), text
    assert ns2_after == ns2_before, "namespace 2's image changed"


def test_hostile_mmio_msi_witness(run):
    """No address the controller was told or mapped lies in its own BAR0
    (registers, doorbells) or in the MSI window."""
    m, _, _, ev, _ = run
    kv = m.proofs["nvme-hostile"].kv
    bar0 = num(kv["bar0"])
    for name, text, f in ev:
        for key in ("prp1", "prp2", "addr"):
            if key in f:
                a = num(f[key])
                assert not bar0 <= a < bar0 + 0x2000, text
                assert not MSI_WINDOW[0] <= a < MSI_WINDOW[1], text


def test_bench_bad_options():
    """One short boot: nvme.bench_rows with a name no row has fails
    nvme-bench with one line naming the value, before any I/O, and a bad
    nvme.bench_rounds is said once (before: the named rows ran, the typo was
    skipped silently and the proof passed; the rounds line came once per row
    run)."""
    img = os.path.join(BUILD, "qemu", "nvme-bench-bad.img")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    rows = "randread4k_qd1,randread4k_qd32,nosuchrow"
    m = Machine("nvme-bench-bad",
                devices=["-drive", f"file={img},format=raw,if=none,id=nvm",
                         "-device", "nvme,serial=capos-bench,drive=nvm"],
                cmdline=f"proofs=nvme-bench nvme.bench_rows={rows} "
                        "nvme.bench_rounds=x nvme.bench_ops=64 exit",
                timeout=300)
    with m:
        status = m.wait()
    p = m.proofs.get("nvme-bench")
    assert p, m.tail()
    said = re.findall(r"^cmdline: nvme\.bench_rounds=x is not a number", m.log, re.M)
    assert len(said) == 1, f"bad nvme.bench_rounds said {len(said)} times"
    assert not p.passed and p.kv.get("reason") == "no-such-row", m.tail()
    assert p.kv.get("nvme.bench_rows") == rows, m.tail()
    assert not re.search(r"^BENCH nvme ", m.log, re.M), "measured despite the bad row"
    assert status == EXIT_FAIL
