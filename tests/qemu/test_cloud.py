"""tests/qemu/test_cloud.py — the local cloud proofs.

QEMU cannot present a cloud's PCI IDs or NVMe model strings (those are
covered by tests/host/shapes/), but it can present each cloud's SMBIOS
identity and an ACPI DMAR table. Each boot here dresses q35 as one cloud,
with and without `-device intel-iommu`, and checks that:

- the kernel names the platform from SMBIOS alone (`platform:` line);
- the policy picks the IOMMU backend (kernel/iommu, Intel VT-d) for the
  NVMe function when ACPI has a DMAR table, the brokered validator
  otherwise, and says why;
- the NVMe function is bound to the nvme driver and a write/read round
  trip through the block interface returns what was written
  (`PROOF <cloud proof> PASS`), and the host finds the written blocks in
  the disk image after QEMU exits, every byte of them equal to the pattern
  it computes on its own (the outside witness);
- AWS's 48-bit DMA limit is applied on the EC2 platform and nowhere else.

More boots check the fail-closed side: devmgr.dma=strict binds NVMe and
the virtio-net NIC, whose virtqueues the kernel brokers (QEMU's record of
the queues: rings outside the driver's pool); devmgr.dma=iommu binds NVMe under VT-d on a
DMAR machine and refuses it where there is no IOMMU. One boot serves
/api/shape over the Web UI (virtio-net with ACCESS_PLATFORM, itself under
the IOMMU) and checks the JSON.
"""
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from cloud_witness import check_witness
from qemu import EXIT_FAIL, EXIT_PASS, Machine, free_port

AWS_SMBIOS = ["-smbios", "type=0,vendor=Amazon EC2",
              "-smbios", "type=1,manufacturer=Amazon EC2,product=m5.large"]
AZURE_SMBIOS = ["-smbios", "type=1,manufacturer=Microsoft Corporation,product=Virtual Machine",
                "-smbios", "type=3,manufacturer=Microsoft Corporation,"
                           "asset=7783-7084-3265-9085-8269-3286-77"]
HYPERV_SMBIOS = ["-smbios", "type=1,manufacturer=Microsoft Corporation,product=Virtual Machine",
                 "-smbios", "type=3,manufacturer=Microsoft Corporation,asset=None"]
GCP_SMBIOS = ["-smbios", "type=1,manufacturer=Google,product=Google Compute Engine"]

CLOUDS = {
    # cloud: (proof name, SMBIOS, NVMe serial the cloud would show, platform)
    "aws": ("cloud-aws-ebs-local-proof", AWS_SMBIOS, "vol0123456789abcdef0", "aws-ec2"),
    "azure": ("cloud-azure-disk-local-proof", AZURE_SMBIOS, "SN000001", "azure"),
    "gcp": ("cloud-prod-storage-bound-local-proof", GCP_SMBIOS, "nvme_card-pd", "gce"),
}
LIMIT_48 = "0x1000000000000"


def nvme_disk(tmp_path, serial, size=16 << 20):
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(size)
    return img, ["-drive", f"file={img},format=raw,if=none,id=nvm",
                 "-device", f"nvme,serial={serial},drive=nvm"]


def iommu_dev(on):
    # q35's VT-d model: ACPI gets a DMAR table and capOS takes the unit
    # over (kernel/iommu)
    return ["-device", "intel-iommu"] if on else []


def platform_line(log):
    m = re.search(r"^platform: (\S+) evidence=(\S+) .* iommu=(\S+) dma=(\S+)$", log, re.M)
    assert m, "no platform: line"
    return m.groups()


def shape_bind_line(log, driver):
    m = re.search(rf"^shape: (\S+) {driver} bind platform=(\S+) shape=(\S+) evidence=(\S+) "
                  r"dma_limit=(\S+) backend=(\S+) reason=\"(.*)\"$", log, re.M)
    assert m, f"no shape line for {driver}"
    return m.groups()


def check_identify(log, serial):
    """The broker's own Identify reached the classifier: model and serial
    as the device reported them, and the refined line counts the model.
    (Present once the broker calls devmgr_shape_identify.)"""
    m = re.search(r'^shape: \S+ identify model="([^"]*)" serial="([^"]*)"$', log, re.M)
    if m:
        assert m.groups() == ("QEMU NVMe Ctrl", serial)
        r = re.search(r"^shape: \S+ nvme identified .* evidence=(\S+) ", log, re.M)
        assert r and "model" in r.group(1).split(","), "identified line lacks model evidence"
    return m


def run_cloud(tmp_path, cloud, iommu, extra_devices=(), cmdline_extra="", exit_=True):
    name, smbios, serial, _ = CLOUDS[cloud]
    img, disk = nvme_disk(tmp_path, serial)
    m = Machine(f"cloud-{cloud}{'-iommu' if iommu else ''}",
                devices=iommu_dev(iommu) + disk + list(extra_devices),
                cmdline=f"proofs={name},devmgr-policy {cmdline_extra}"
                        f"{' exit' if exit_ else ''}".strip(),
                extra=smbios, timeout=180)
    return m, img, name


@pytest.mark.parametrize("iommu", [False, True], ids=["no-iommu", "dmar"])
@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_cloud_storage_local(tmp_path, cloud, iommu):
    m, img, name = run_cloud(tmp_path, cloud, iommu)
    with m:
        rc = m.wait()
    log = m.log
    want = CLOUDS[cloud][3]
    plat, ev, seen_iommu, mode = platform_line(log)
    assert plat == want, m.tail()
    assert seen_iommu == ("DMAR" if iommu else "none")
    if cloud == "azure":
        assert "smbios-asset-tag" in ev
    pci, plat2, shape, sev, limit, backend, why = shape_bind_line(log, "nvme")
    assert (plat2, shape) == (want, "qemu-nvme")
    assert backend == ("iommu" if iommu else "brokered-validator")
    if iommu:
        assert why == "DMAR present: iommu backend"
    else:
        assert "no iommu table" in why
    assert limit == (LIMIT_48 if cloud == "aws" else "0x0")
    assert re.search(rf"^pci {pci} 1b36:0010 class 010802 -> nvme$", log, re.M)
    p = m.proofs
    assert name in p, m.tail()
    assert p[name].passed, p[name]
    assert p[name].kv["rw"] == "ok" and p[name].kv["bound"] == "yes"
    assert p[name].kv["iommu"] == ("DMAR" if iommu else "none")
    assert p["devmgr-policy"].passed, p["devmgr-policy"]
    assert rc == EXIT_PASS, m.tail()
    check_witness(img, p[name], name)
    check_identify(log, CLOUDS[cloud][2])


VNET_PCI = re.compile(r"^pci (\S+) 1af4:10[04]1 class 020000 -> virtio-net$", re.M)


def vnet_reset_at_exit(m):
    """QEMU's own trace of the virtio-net function at the proof image's
    exit: the device status the kernel wrote last is 0 (a reset, virtio 1.2
    §2.4), after DRIVER_OK and after the last frame the device took from
    the guest's transmit queue (virtqueue_pop with only device-readable
    buffers: out_num > 0, in_num 0); and the kernel said it in its devmgr
    line before QEMU left."""
    trace = m.trace_lines()
    status = [(i, int(v)) for i, l in enumerate(trace)
              for v in re.findall(r"virtio_set_status .* val (\d+)$", l)]
    tx = [i for i, l in enumerate(trace)
          if re.search(r"virtqueue_pop .* in_num 0 out_num [1-9]", l)]
    assert status and tx, (len(status), len(tx))
    driver_ok = [i for i, v in status if v & 4]
    assert driver_ok, status
    last_i, last_v = status[-1]
    assert last_v == 0, status[-5:]
    assert last_i > driver_ok[-1] and last_i > tx[-1], (last_i, driver_ok[-1], tx[-1])
    pci = VNET_PCI.search(m.log).group(1)
    assert re.search(rf"^devmgr: {pci} virtio-net shut down in \d+ us$", m.log, re.M), m.tail()
    assert re.search(r"^vnet0: removed; the IP stack on it stopped$", m.log, re.M), m.tail()
    return len(tx)


def nic_rebind_witness(m, pcap):
    """PROOF nic-rebind (kernel/proof/nic_rebind.c) and QEMU's side of it:
    the device status the kernel wrote goes DRIVER_OK (15), 0 (the unbind's
    reset), 15 again (the new instance's bring-up), and the device takes a
    transmit buffer after that (virtqueue_pop, device-readable only); the
    capture holds two DHCP ACKs for the NIC's address, the boot's and the
    new instance's."""
    p = m.proofs["nic-rebind"]
    assert p.passed, p
    kv = p.kv
    assert kv["nic"] == "vnet0->vnet0" and kv["lease"] == "dhcp", p
    old, new = (int(x) for x in kv["owner"].split("->"))
    assert old and new and old != new, p
    assert kv["old_nic"] == "gone" and kv["send"] == "refused-counted", p
    assert kv["old_pool"] == "refused" and kv["old_kmem"] == "refused", p
    trace = m.trace_lines()
    status = [(i, int(v)) for i, l in enumerate(trace)
              for v in re.findall(r"virtio_set_status .* val (\d+)$", l)]
    vals = [v for _, v in status]
    ok1 = vals.index(15)
    reset = vals.index(0, ok1)
    ok2 = vals.index(15, reset)
    tx2 = [i for i, l in enumerate(trace)
           if re.search(r"virtqueue_pop .* in_num 0 out_num [1-9]", l)
           and i > status[ok2][0]]
    assert tx2, "no transmit by the new instance"
    ip = kv["ip"].split("->")[1]
    assert kv["ip"].split("->")[0] == ip, p  # slirp hands the same address
    r = subprocess.run(["tshark", "-r", str(pcap), "-Y",
                        f"dhcp.option.dhcp == 5 && dhcp.ip.your == {ip}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    acks = [l for l in r.stdout.splitlines() if l.strip()]
    # the boot's, the new instance's (and nic-restart's, when it ran)
    assert len(acks) == (3 if "nic-restart" in m.proofs else 2), r.stdout


def nic_restart_witness(m, pcap):
    """PROOF nic-restart (kernel/proof/nic_restart.c) and QEMU's side of it:
    QEMU's own virtio_error line on its stderr for the descriptor index the
    proof wrote; after nic-rebind's DRIVER_OK the device status goes 15,
    then the FAILED write of the give-up (bit 128), 0 (the reset), 15 again
    (the restart's bring-up); the supervisor's one restart line; a third
    DHCP ACK in the capture."""
    p = m.proofs["nic-restart"]
    assert p.passed, p
    kv = p.kv
    assert kv["why"] == "DEVICE_NEEDS_RESET" and kv["lease"] == "dhcp", p
    # the outage's refused send still counted after the takeover, and
    # nic-rebind's before it (counters cumulative since boot)
    assert kv["outage_send"] == "refused-counted", p
    t0, t1 = (int(x) for x in kv["tx_fail"].split("->"))
    assert t0 >= 1 and t1 >= t0 + 1, p
    old, new = (int(x) for x in kv["owner"].split("->"))
    assert old and new and old != new, p
    with open(os.path.join(m.dir, "qemu.stderr")) as f:
        err = f.read()
    assert "Guest says index 65535 is available" in err, err[-2000:]
    vals = [int(v) for l in m.trace_lines()
            for v in re.findall(r"virtio_set_status .* val (\d+)$", l)]
    ok1 = vals.index(15)
    ok2 = vals.index(15, vals.index(0, ok1))  # nic-rebind's
    failed = next(i for i in range(ok2, len(vals)) if vals[i] & 128)
    reset = vals.index(0, failed)
    assert 15 in vals[reset:], vals[ok2:]
    pci = VNET_PCI.search(m.log).group(1)
    lines = re.findall(rf"^devmgr: {pci} virtio-net restarted \(DEVICE_NEEDS_RESET\), "
                       rf"1 of 3 in this streak: owner {old} -> {new} in \d+ us$", m.log, re.M)
    assert len(lines) == 1, m.tail()
    r = subprocess.run(["tshark", "-r", str(pcap), "-Y", "dhcp.option.dhcp == 5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len([l for l in r.stdout.splitlines() if l.strip()]) == 3, r.stdout


def test_gcp_storage_local(tmp_path):
    """`cloud-prod-storage-bound-local-proof`: GCE's SMBIOS, no IOMMU, and
    the 64-bit SMBIOS 3.0 entry point (the other boots use 2.x). With a
    virtio-net NIC that takes a DHCP lease (firstboot-dhcp), is unbound and
    bound again and takes a lease again (nic-rebind: nic_rebind_witness)
    before the exit, then breaks its ring on purpose so that QEMU flags the
    device and the device manager restarts it (nic-restart:
    nic_restart_witness); its detach resets it after its last frame
    (vnet_reset_at_exit)."""
    pcap = tmp_path / "nic.pcap"
    m, img, name = run_cloud(tmp_path, "gcp", False, extra_devices=[
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,disable-legacy=on",
        "-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"])
    m.extra = ["-machine", "smbios-entry-point-type=64"] + m.extra
    m.cmdline = m.cmdline.replace("devmgr-policy",
                                  "devmgr-policy,firstboot-dhcp,nic-rebind,"
                                  "nic-restart")
    m.trace = ["virtio_set_status", "virtqueue_pop"]
    with m:
        rc = m.wait()
    assert m.proofs["firstboot-dhcp"].passed, m.tail()
    nic_rebind_witness(m, pcap)
    nic_restart_witness(m, pcap)
    vnet_reset_at_exit(m)
    assert re.search(r"^platform: .* smbios=3\.0 ", m.log, re.M), m.tail()
    plat, ev, seen_iommu, _ = platform_line(m.log)
    assert (plat, seen_iommu) == ("gce", "none")
    assert ev == "smbios-vendor,smbios-product"
    _, _, shape, _, limit, backend, why = shape_bind_line(m.log, "nvme")
    assert (shape, limit, backend) == ("qemu-nvme", "0x0", "brokered-validator")
    p = m.proofs
    assert name in p and p[name].passed, m.tail()
    assert rc == EXIT_PASS
    check_witness(img, p[name], name)
    check_identify(m.log, "nvme_card-pd")


def test_gcp_storage_local_dmar_and_api(tmp_path):
    """The same on a DMAR machine, with the NIC up: /api/shape from the
    host matches what the serial lines said."""
    port = free_port()
    nic = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
           "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,iommu_platform=on"]
    m, img, name = run_cloud(tmp_path, "gcp", True, extra_devices=nic, exit_=False)
    with m:
        m.wait_for(r"^capOS: proofs pass=\d+ fail=\d+", timeout=180)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body = None
        for _ in range(60):
            try:
                body = opener.open(f"http://127.0.0.1:{port}/api/shape", timeout=10).read()
                break
            except OSError:
                time.sleep(1)
        log = m.log
        m.quit()
    assert body is not None, "no /api/shape answer"
    api = json.loads(body)
    assert api["platform"] == "gce" and api["iommu"] == "DMAR"
    assert api["iommu_backend"] is True and api["dma_mode"] == "auto"
    assert api["smbios"]["vendor"] == "Google"
    assert api["smbios"]["product"] == "Google Compute Engine"
    devs = {d["driver"]: d for d in api["devices"]}
    nv = devs["nvme"]
    assert nv["id"] == "1b36:0010" and nv["bound"] is True
    assert nv["backend"] == "iommu"
    assert "DMAR present" in nv["reason"]
    net = devs["virtio-net"]
    assert net["backend"] == "iommu" and net["shape"] == "none"
    assert net["reason"] == "DMAR present: iommu backend"
    p = m.proofs
    assert p[name].passed and p[name].kv["iommu"] == "DMAR", log[-3000:]
    check_witness(img, p[name], name)


def virtio_queue_areas(m):
    """QEMU's own record of the virtio-net function's queues (QMP
    x-query-virtio-queue-status): per queue its descriptor, available and
    used ring addresses and size, and the buffers its descriptors name
    (x-query-virtio-queue-element, each descriptor of the table)."""
    path = next(v["path"] for v in m.qmp("x-query-virtio")
                if v["name"] == "virtio-net")
    queues = []
    for q in (0, 1):
        st = m.qmp("x-query-virtio-queue-status", path=path, queue=q)
        size = st["vring-num"]
        bufs = []
        for i in range(size):
            el = m.qmp("x-query-virtio-queue-element", path=path, queue=q, index=i)
            bufs += [(d["addr"], d["len"]) for d in el["descs"]]
        queues.append((st["vring-desc"], st["vring-avail"], st["vring-used"], size, bufs))
    return queues


def test_strict_binds_brokered_nic(tmp_path):
    """devmgr.dma=strict on Azure with no IOMMU: virtio-net is bound, its
    backend line says brokered virtqueues, and it takes a DHCP lease
    (firstboot-dhcp) and serves HTTP; NVMe (validated) still passes its
    proof. Outside the kernel, QEMU's record of the queues: the descriptor
    table, available and used rings lie outside the driver's 1 MiB pool
    (its buffers from the lowest receive buffer on), and every descriptor
    names a buffer inside it. Before the broker, strict refused the NIC (no validator)."""
    port = free_port()
    nic = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80",
           "-device", "virtio-net-pci,netdev=n0,disable-legacy=on"]
    m, img, name = run_cloud(tmp_path, "azure", False, extra_devices=nic,
                             cmdline_extra="devmgr.dma=strict", exit_=False)
    m.cmdline = m.cmdline.replace("devmgr-policy", "devmgr-policy,firstboot-dhcp")
    with m:
        m.wait_for(r"^capOS: proofs pass=\d+ fail=\d+", timeout=180)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        body = None
        for _ in range(60):
            try:
                body = opener.open(f"http://127.0.0.1:{port}/api/virtio-net", timeout=10).read()
                break
            except OSError:
                time.sleep(1)
        queues = virtio_queue_areas(m)
        log = m.log
        m.quit()
    assert platform_line(log)[3] == "strict"
    pci, _, _, _, _, backend, why = shape_bind_line(log, "virtio-net")
    assert backend == "brokered-validator" and why.endswith("; brokered virtqueues"), why
    assert re.search(rf"^devmgr: {pci} virtio-net: dma backend brokered-validator \(", log, re.M)
    assert re.search(rf"^pci {pci} 1af4:1041 class 020000 -> virtio-net$", log, re.M)
    p = m.proofs
    assert p[name].passed, p[name]
    assert p["firstboot-dhcp"].passed and p["firstboot-dhcp"].kv["source"] == "dhcp", log[-3000:]
    assert p["devmgr-policy"].passed and p["devmgr-policy"].kv["refused"] == "0"
    assert body is not None, "no HTTP answer from the guest"
    nics = json.loads(body)
    assert nics[0]["rxq"]["posted"] == nics[0]["rxq"]["size"] > 0
    assert nics[0]["rx_packets"] > 0 and nics[0]["tx_packets"] > 0
    # the pool: 256 receive then 256 transmit buffers of 2 KiB from its
    # start (vnet_queues_alloc), the lowest receive buffer's address
    allbufs = [b for q in queues for b in q[4]]
    lo = min(a for a, _ in allbufs)
    hi = lo + (2 * 256 * 2048)
    for desc, avail, used, size, bufs in queues:
        assert size == 256 and len(bufs) == size
        for area, n in ((desc, 16 * size), (avail, 6 + 2 * size), (used, 6 + 8 * size)):
            assert area + n <= lo or area >= hi, (hex(area), hex(lo), hex(hi))
        for a, n in bufs:
            assert lo <= a and a + n <= hi


@pytest.mark.parametrize("iommu", [True, False], ids=["dmar", "no-iommu"])
def test_iommu_required(tmp_path, iommu):
    """Plain Hyper-V strings (no Azure tag) with devmgr.dma=iommu: on a
    DMAR machine the NVMe function is bound under VT-d and its I/O works;
    with no IOMMU it is not bound, the line says so, and no driver code
    runs for it. The policy proof passes either way."""
    img, disk = nvme_disk(tmp_path, "SN000002")
    m = Machine(f"cloud-hyperv-iommu-required-{'dmar' if iommu else 'none'}",
                devices=iommu_dev(iommu) + disk,
                cmdline="proofs=devmgr-policy,nvme-bringup devmgr.dma=iommu exit",
                extra=HYPERV_SMBIOS, timeout=180)
    with m:
        rc = m.wait()
    log = m.log
    plat, ev, seen_iommu, mode = platform_line(log)
    assert (plat, seen_iommu, mode) == ("hyper-v", "DMAR" if iommu else "none", "iommu")
    assert "smbios-asset-tag" not in ev
    pci, _, _, _, _, backend, why = shape_bind_line(log, "nvme")
    p = m.proofs
    if iommu:
        assert backend == "iommu" and why == "DMAR present: iommu backend"
        assert re.search(rf"^pci {pci} 1b36:0010 class 010802 -> nvme$", log, re.M)
        assert p["nvme-bringup"].passed, p["nvme-bringup"]
        assert p["devmgr-policy"].kv["refused"] == "0"
    else:
        assert backend == "none"
        assert "no iommu table" in why and "dma=iommu requires one: not bound" in why
        assert re.search(rf"^pci {pci} 1b36:0010 class 010802 -> none$", log, re.M)
        assert "nvme-broker" not in log  # no driver code ran for it
        assert not p["nvme-bringup"].passed
        assert p["devmgr-policy"].kv["refused"] == "1"
    assert p["devmgr-policy"].passed, p["devmgr-policy"]
    assert rc == (EXIT_PASS if iommu else EXIT_FAIL)


@pytest.mark.parametrize("dev,table", [("amd-iommu", "IVRS"), ("virtio-iommu-pci", "VIOT")])
def test_other_iommu_tables(tmp_path, dev, table):
    """AMD-Vi (IVRS) and virtio-iommu (VIOT) are named the same way as
    DMAR: the policy sees the table, says capOS has no backend for it, and
    the GCP proof still passes on the validator."""
    name, smbios, serial, _ = CLOUDS["gcp"]
    img, disk = nvme_disk(tmp_path, serial)
    m = Machine(f"cloud-gcp-{table.lower()}", devices=["-device", dev] + disk,
                cmdline=f"proofs={name},devmgr-policy exit", extra=smbios, timeout=180)
    with m:
        rc = m.wait()
    assert platform_line(m.log)[2] == table, m.tail()
    why = shape_bind_line(m.log, "nvme")[6]
    assert f"{table} present but capOS has no iommu backend yet; brokered validator" == why
    p = m.proofs
    assert p[name].passed and p[name].kv["iommu"] == table, p[name]
    assert rc == EXIT_PASS
    check_witness(img, p[name], name)
