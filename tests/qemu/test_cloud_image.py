"""tests/qemu/test_cloud_image.py — `make image CLOUD=gce|aws|azure`.

Each cloud's file is checked offline against what that cloud's import
documents (the sources are cited in docs/devices/gce-gvnic.md,
aws-nitro-ebs.md and azure-managed-disk.md):

- gce: a gzip'd tar in GNU (oldgnu) format whose one member is `disk.raw`,
  a whole number of GiB; extracted with GNU tar it is the GPT disk below.
- aws: a raw disk (`qemu-img info`: raw), a whole number of GiB (EBS
  volumes are GiB-sized).
- azure: a fixed VHD: `qemu-img info -f vpc` gives a virtual size that is
  a whole number of MiB, the file is that size plus the 512-byte footer,
  the footer says conectix / fixed (type 2) / current size = original
  size = the virtual size, with a valid checksum; `qemu-img compare` finds
  the VHD read by QEMU's vpc driver identical to its data area read raw.
  (`qemu-img check` supports neither raw nor vpc: "This image format does
  not support checks"; compare and the footer stand in for it.)

Every disk: a protective MBR, a GPT that `sgdisk --verify` accepts with the
backup header on the last LBA, one partition of the EFI system type named
"capOS ESP" at sector 2048, FAT32 holding \\EFI\\BOOT\\BOOTX64.EFI identical
to the proof image and \\capos.cfg asking for that cloud's first-boot
proofs, without `exit`.

Then each converted file boots once in QEMU from NVMe, as the clouds
present their boot disks, dressed in that cloud's SMBIOS strings:
GCE's disk.raw as extracted (with virtio-net on QEMU's user network: there
is no gVNIC model in QEMU), AWS's raw as the backing file of a 2 GiB
overlay (a volume created larger than its snapshot), Azure's VHD through
QEMU's vpc driver. The kernel prints one verdict per first-boot proof and
stays up. Outside witnesses: QEMU's trace shows reads and no
pci_nvme_write, the disk file is byte-identical afterwards (the overlay
has no cluster allocated: `qemu-img check`), and on GCE tshark finds the
DHCP ACK for the address the kernel reports. One more boot puts the Azure
VHD where it was not built to run (plain QEMU, virtio-blk): every verdict
fails and names what it found.
"""
import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from qemu import PROOF_BUILD, ROOT, Machine

GIB, MIB = 1 << 30, 1 << 20
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
DISK_PROOFS = ["firstboot-cloud", "firstboot-nvme", "firstboot-disk"]
CLOUDS = {
    # cloud: (file extension, first-boot proofs, SMBIOS, NVMe serial, platform)
    "gce": ("tar.gz", DISK_PROOFS + ["firstboot-gvnic", "firstboot-dhcp"],
            ["-smbios", "type=1,manufacturer=Google,product=Google Compute Engine"],
            "nvme_card-pd", "gce"),
    "aws": ("raw", DISK_PROOFS,
            ["-smbios", "type=0,vendor=Amazon EC2",
             "-smbios", "type=1,manufacturer=Amazon EC2,product=m6i.large"],
            "vol0123456789abcdef0", "aws-ec2"),
    "azure": ("vhd", DISK_PROOFS,
              ["-smbios", "type=1,manufacturer=Microsoft Corporation,product=Virtual Machine",
               "-smbios", "type=3,manufacturer=Microsoft Corporation,"
                          "asset=7783-7084-3265-9085-8269-3286-77"],
              "SN000001", "azure"),
}
TRACE = ["pci_nvme_read", "pci_nvme_write"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The three files, built into a private directory (parallel tests may
    use build/cloud/)."""
    d = tmp_path_factory.mktemp("cloud")
    out = {}
    for cloud, (ext, *_) in CLOUDS.items():
        path = d / f"capos-{cloud}.{ext}"
        r = subprocess.run(["make", "-s", "-C", ROOT, "image", f"CLOUD={cloud}",
                            f"CLOUD_IMAGE={path}"],
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"{cloud} image" in r.stdout and "import and boot: docs/devices/" in r.stdout
        out[cloud] = path
    return out


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}: {r.stdout}{r.stderr}"
    return r.stdout


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_disk(raw, cloud, tmp_path):
    """The GPT disk every cloud file carries, read from the host."""
    size = os.path.getsize(raw)
    assert size == GIB, size
    out = run("sgdisk", "--verify", str(raw))
    assert "No problems found" in out, out
    out = run("sgdisk", "--print", str(raw))
    assert len(re.findall(r"^\s+\d+\s+\d+\s+\d+", out, re.M)) == 1, out
    info = run("sgdisk", "--info=1", str(raw))
    assert ESP_TYPE in info and re.search(r"First sector: 2048\b", info), info
    assert "Partition name: 'capOS ESP'" in info, info
    with open(raw, "rb") as f:
        mbr = f.read(512)
        assert mbr[510:] == b"\x55\xaa" and mbr[446 + 4] == 0xEE, "no protective MBR"
        hdr = f.read(92)
        assert hdr[:8] == b"EFI PART"
        alt = int.from_bytes(hdr[32:40], "little")
        assert alt == size // 512 - 1, f"backup header at {alt}, not the last LBA"
        f.seek(alt * 512)
        assert f.read(8) == b"EFI PART"
    esp = f"{raw}@@1M"
    minfo = run("minfo", "-i", esp, "::")
    assert 'disk type="FAT32' in minfo and 'disk label="CAPOS ' in minfo, minfo
    files = set(run("mdir", "-i", esp, "-/", "-b", "::").split())
    assert files == {"::/EFI/", "::/EFI/BOOT/", "::/EFI/BOOT/BOOTX64.EFI",
                     "::/capos.cfg"}, files
    efi = tmp_path / f"{cloud}-BOOTX64.EFI"
    run("mcopy", "-i", esp, "::/EFI/BOOT/BOOTX64.EFI", str(efi))
    assert filecmp.cmp(efi, os.path.join(PROOF_BUILD, "esp/EFI/BOOT/BOOTX64.EFI"),
                       shallow=False), "ESP does not hold the proof image"
    cfg = run("mtype", "-i", esp, "::/capos.cfg")
    proofs = CLOUDS[cloud][1]
    assert cfg == f"proofs={','.join(proofs)} firstboot.cloud={cloud}\n", cfg
    assert "exit" not in cfg.split()


# ---- offline: each cloud's published format ---------------------------------------
def extract_gce(tarball, dest):
    """GNU tar's own reading of the archive (sparse member restored)."""
    dest.mkdir(exist_ok=True)
    run("tar", "-x", "-z", "-f", str(tarball), "-C", str(dest))
    return dest / "disk.raw"


def test_gce_tar_gz(images, tmp_path):
    tgz = images["gce"]
    with open(tgz, "rb") as f:
        assert f.read(2) == b"\x1f\x8b", "not gzip"
    with tarfile.open(tgz, "r:gz") as t:
        members = t.getmembers()
        assert [m.name for m in members] == ["disk.raw"], [m.name for m in members]
        m = members[0]
        assert m.isfile() and m.size % GIB == 0 and m.size == GIB, m.size
    # oldgnu: the header's magic is "ustar  \0", not POSIX "ustar\0" "00"
    head = subprocess.run(["gzip", "-dc", str(tgz)], capture_output=True).stdout[:512]
    assert head[:9] == b"disk.raw\0" and head[257:265] == b"ustar  \0", head[257:265]
    listing = run("tar", "-t", "-v", "-z", "-f", str(tgz))
    assert re.search(r"^-\S+ 0/0\s+1073741824 .* disk\.raw$", listing, re.M), listing
    check_disk(extract_gce(tgz, tmp_path / "x"), "gce", tmp_path)


def test_aws_raw(images, tmp_path):
    raw = images["aws"]
    info = json.loads(run("qemu-img", "info", "--output=json", str(raw)))
    assert info["format"] == "raw" and info["virtual-size"] % GIB == 0, info
    check_disk(raw, "aws", tmp_path)


def vhd_footer(vhd):
    """Virtual Hard Disk Image Format Specification (Microsoft, 2006) §"Hard
    Disk Footer Format": every field big-endian, the checksum the one's
    complement of the byte sum without the checksum field."""
    with open(vhd, "rb") as f:
        f.seek(-512, os.SEEK_END)
        ft = f.read(512)
    be = lambda a, b: int.from_bytes(ft[a:b], "big")  # noqa: E731
    return {
        "cookie": ft[0:8], "features": be(8, 12), "version": be(12, 16),
        "data_offset": be(16, 24), "creator_app": ft[28:32],
        "original_size": be(40, 48), "current_size": be(48, 56),
        "disk_type": be(60, 64), "checksum": be(64, 68),
        "sum": (~(sum(ft[:64]) + sum(ft[68:]))) & 0xFFFFFFFF,
    }


def test_azure_fixed_vhd(images, tmp_path):
    vhd = images["azure"]
    info = json.loads(run("qemu-img", "info", "--output=json", "-f", "vpc", str(vhd)))
    vsize = info["virtual-size"]
    assert info["format"] == "vpc" and vsize % MIB == 0 and vsize == GIB, info
    assert os.path.getsize(vhd) == vsize + 512, "a fixed VHD is its data plus a footer"
    ft = vhd_footer(vhd)
    assert ft["cookie"] == b"conectix"
    assert ft["disk_type"] == 2, "not a fixed VHD"
    assert ft["features"] & 2 and ft["version"] == 0x00010000
    assert ft["data_offset"] == 0xFFFFFFFFFFFFFFFF
    assert ft["current_size"] == ft["original_size"] == vsize
    assert ft["checksum"] == ft["sum"], "footer checksum"
    assert ft["creator_app"] == b"qem2", "not written with force_size"
    # the data area, read as raw, is the disk; QEMU's vpc driver agrees
    raw = tmp_path / "azure.raw"
    with open(vhd, "rb") as src, open(raw, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.truncate(vsize)
    out = run("qemu-img", "compare", "-f", "vpc", "-F", "raw", str(vhd), str(raw))
    assert "Images are identical" in out, out
    check_disk(raw, "azure", tmp_path)


# ---- booted once each: the first-boot verdicts -----------------------------------------
def first_boot(name, cloud, disk, fmt, tmp_path, extra_devices=(), smbios=None):
    _, proofs, cloud_smbios, serial, _ = CLOUDS[cloud]
    smbios = cloud_smbios if smbios is None else smbios
    m = Machine(name, boot_disk=str(disk), boot_format=fmt, cmdline=None, timeout=240,
                trace=TRACE, mem="256M",
                devices=["-device", f"nvme,drive=esp,serial={serial},bootindex=0",
                         *extra_devices],
                extra=smbios)
    with m:
        m.wait_for(r"^capOS: up; main loop running")
        # no `exit`: the kernel is still running its main loop
        assert m.proc.poll() is None, "QEMU left after the proofs"
        m.quit()
    log = m.log
    assert 'cmdline: "proofs=' in log and f"firstboot.cloud={cloud}" in log, m.tail()
    p = m.proofs
    assert sorted(p) == sorted(proofs), (sorted(p), m.tail())
    nv = p["firstboot-nvme"]
    assert nv.passed and nv.kv["shapes"] == "qemu-nvme" and nv.kv["shape_match"] == "emulated", nv
    cl = p["firstboot-cloud"]
    assert cl.kv["want"] == CLOUDS[cloud][4], cl
    assert cl.passed == (smbios == cloud_smbios), cl
    if cl.passed:
        assert cl.kv["platform"] == cl.kv["want"], cl
    dk = p["firstboot-disk"]
    assert dk.passed, dk
    assert (dk.kv["gpt"], dk.kv["backup"], dk.kv["esp_named"], dk.kv["fs"],
            dk.kv["label"], dk.kv["same_bytes"], dk.kv["cfg"]) == \
        ("ok", "ok", "yes", "FAT32", "CAPOS", "yes", "agrees"), dk
    assert dk.kv["backup_lba"] == str(GIB // 512 - 1) and dk.kv["esp_lba"] == "2048"
    assert int(dk.kv["cfg_words"]) == 2 and int(dk.kv["reads"]) > 0
    ev = m.trace_lines()
    reads = [e for e in ev if "pci_nvme_read" in e]
    writes = [e for e in ev if "pci_nvme_write" in e]
    assert reads and not writes, f"{len(reads)} reads, writes: {writes[:5]}"
    return m, p


def test_gce_first_boot(images, tmp_path):
    disk = extract_gce(images["gce"], tmp_path / "x")
    before = sha256(disk)
    pcap = tmp_path / "gce.pcap"
    nic = ["-netdev", "user,id=n0",
           "-device", "virtio-net-pci,netdev=n0,disable-legacy=on",
           "-object", f"filter-dump,id=f0,netdev=n0,file={pcap}"]
    m, p = first_boot("cloud-image-gce", "gce", disk, "raw", tmp_path, nic)
    assert sha256(disk) == before, "the boot disk changed"
    # QEMU has no gVNIC model: the proof runs and says there is none
    gv = p["firstboot-gvnic"]
    assert not gv.passed and gv.kv["functions"] == "0" and \
        gv.kv["reason"] == "no-gvnic-function", gv
    dh = p["firstboot-dhcp"]
    assert dh.passed and dh.kv["source"] == "dhcp" and dh.kv["nic"] == "vnet0", dh
    ip = dh.kv["ip"].split("/")[0]
    assert "capOS: proofs pass=4 fail=1" in m.log
    assert shutil.which("tshark"), "tshark missing (make deps)"
    out = run("tshark", "-r", str(pcap), "-Y",
              f"dhcp.option.dhcp == 5 && dhcp.ip.your == {ip}")
    assert out.strip(), f"no DHCP ACK for {ip} on the wire"


def test_aws_first_boot(images, tmp_path):
    """The raw file as the snapshot behind a 2 GiB volume (register-image
    may make the root volume larger than the snapshot): the GPT's backup
    header stays where the image put it, and the proof says grown=yes."""
    raw = images["aws"]
    before = sha256(raw)
    vol = tmp_path / "volume.qcow2"
    run("qemu-img", "create", "-f", "qcow2", "-b", str(raw), "-F", "raw", str(vol), "2G")
    m, p = first_boot("cloud-image-aws", "aws", vol, "qcow2", tmp_path)
    dk = p["firstboot-disk"]
    assert dk.kv["grown"] == "yes" and dk.kv["blocks"] == str(2 * GIB // 512), dk
    assert "capOS: proofs pass=3 fail=0" in m.log
    assert sha256(raw) == before
    chk = run("qemu-img", "check", "--output=json", str(vol))
    assert json.loads(chk).get("allocated-clusters", 0) == 0, chk


def test_azure_first_boot(images, tmp_path):
    vhd = images["azure"]
    before = sha256(vhd)
    m, p = first_boot("cloud-image-azure", "azure", vhd, "vpc", tmp_path)
    assert p["firstboot-disk"].kv["grown"] == "no"
    assert "capOS: proofs pass=3 fail=0" in m.log
    assert sha256(vhd) == before, "the VHD changed"


def test_image_on_another_platform(images, tmp_path):
    """The Azure VHD where it was not built to boot: plain QEMU (no cloud in
    SMBIOS) and the disk on virtio-blk, as on a machine whose disks are not
    NVMe. Every verdict fails and says what it found, and the kernel stays
    up."""
    m = Machine("cloud-image-azure-elsewhere", boot_disk=str(images["azure"]),
                boot_format="vpc", cmdline=None, timeout=240, mem="256M", trace=TRACE,
                devices=["-device", "virtio-blk-pci,drive=esp,bootindex=0"])
    before = sha256(images["azure"])
    with m:
        m.wait_for(r"^capOS: up; main loop running")
        assert m.proc.poll() is None
        m.quit()
    p = m.proofs
    assert sorted(p) == sorted(DISK_PROOFS), m.tail()
    cl, nv, dk = p["firstboot-cloud"], p["firstboot-nvme"], p["firstboot-disk"]
    assert not cl.passed and cl.kv["platform"] == "qemu" and cl.kv["want"] == "azure", cl
    assert not nv.passed and nv.kv["functions"] == "0", nv
    assert not dk.passed and dk.kv["gpt"] == "no-boot-disk" and dk.kv["scanned"] == "0", dk
    assert "capOS: proofs pass=0 fail=3" in m.log
    assert sha256(images["azure"]) == before
