"""tests/qemu/test_image.py — `make image` builds a bootable GPT disk.

The image is checked from the host first (sgdisk: a valid GPT whose one
partition has the EFI system partition type; mtools: a FAT32 file system
holding \\EFI\\BOOT\\BOOTX64.EFI identical to the build's), then booted by
OVMF as a plain disk — no ESP folder, no ide-hd — twice:

- the user image (`make image`, no proofs in it) from NVMe itself: firmware
  read the kernel through its own NVMe driver, capOS's broker then resets
  the controller the firmware left running and the nvme driver binds it;
  `proofs=all exit` on its command line is refused with one line and no
  PROOF line appears; nothing is written, and the GPT is still valid after
  QEMU exits;
- the proof image (`make image PROOFS=1`) from virtio-blk, with an NVMe
  data disk and GCE's SMBIOS strings: the shape of a GCP VM booting its
  image and binding its Persistent Disk
  (`cloud-prod-storage-bound-local-proof` runs from the image).
"""
import filecmp
import os
import re
import shutil
import subprocess

import pytest

from cloud_witness import check_witness
from qemu import BUILD, EXIT_PASS, ROOT, Machine

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GCP_SMBIOS = ["-smbios", "type=1,manufacturer=Google,product=Google Compute Engine"]


def make_image(tmp_path_factory, *args):
    """Build with `make image` into a private path (parallel tests may be
    using build/capos.img)."""
    d = tmp_path_factory.mktemp("image")
    img = d / "capos.img"
    r = subprocess.run(["make", "-s", "-C", ROOT, "image", f"IMAGE={img}", *args],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    return img


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The image a user boots: `make image`."""
    return make_image(tmp_path_factory)


@pytest.fixture(scope="module")
def proof_image(tmp_path_factory):
    """The same disk around the proof image: `make image PROOFS=1`."""
    return make_image(tmp_path_factory, "PROOFS=1")


def with_cmdline(image, tmp_path, cmdline):
    """A copy of the image with \\capos.cfg written into its ESP (mtools
    at the partition's byte offset; the GPT is not touched)."""
    img = tmp_path / "boot.img"
    shutil.copy(image, img)
    cfg = tmp_path / "capos.cfg"
    cfg.write_text(cmdline + "\n")
    subprocess.run(["mcopy", "-o", "-i", f"{img}@@1M", str(cfg), "::/capos.cfg"],
                   check=True, capture_output=True)
    return img


def test_image_layout(image, tmp_path):
    r = subprocess.run(["sgdisk", "--verify", str(image)], capture_output=True, text=True)
    assert "No problems found" in r.stdout, r.stdout
    r = subprocess.run(["sgdisk", "--info=1", str(image)], capture_output=True, text=True)
    assert ESP_TYPE in r.stdout, r.stdout
    assert re.search(r"First sector: 2048\b", r.stdout)
    r = subprocess.run(["sgdisk", "--print", str(image)], capture_output=True, text=True)
    assert len(re.findall(r"^\s+\d+\s+\d+\s+\d+", r.stdout, re.M)) == 1, r.stdout
    info = subprocess.run(["minfo", "-i", f"{image}@@1M", "::"], capture_output=True,
                          text=True, check=True).stdout
    assert 'disk type="FAT32' in info
    out = tmp_path / "BOOTX64.EFI"
    subprocess.run(["mcopy", "-i", f"{image}@@1M", "::/EFI/BOOT/BOOTX64.EFI", str(out)],
                   check=True, capture_output=True)
    assert filecmp.cmp(out, os.path.join(BUILD, "esp/EFI/BOOT/BOOTX64.EFI"), shallow=False)


def test_image_boots_from_virtio_and_binds_data_disk(proof_image, tmp_path):
    name = "cloud-prod-storage-bound-local-proof"
    img = with_cmdline(proof_image, tmp_path, f"proofs={name},devmgr-policy exit")
    data = tmp_path / "pd.img"
    with open(data, "wb") as f:
        f.truncate(16 << 20)
    m = Machine("image-virtio", boot_disk=str(img), cmdline=None, timeout=180,
                devices=["-device", "virtio-blk-pci,drive=esp,bootindex=0",
                         "-drive", f"file={data},format=raw,if=none,id=pd",
                         "-device", "nvme,serial=nvme_card-pd,drive=pd"],
                extra=GCP_SMBIOS)
    with m:
        rc = m.wait()
    log = m.log
    assert "cmdline: \"proofs=" in log, m.tail()  # read from the image's ESP
    p = m.proofs
    assert name in p and p[name].passed, m.tail()
    assert p[name].kv["platform"] == "gce"
    assert p["devmgr-policy"].passed
    assert rc == EXIT_PASS
    # the outside witness: every byte of the blocks is on the data disk
    check_witness(data, p[name], name)


def test_image_boots_from_nvme(image, tmp_path):
    img = with_cmdline(image, tmp_path, "proofs=all exit")
    m = Machine("image-nvme", boot_disk=str(img), cmdline=None, timeout=180,
                elf=os.path.join(BUILD, "capos.elf"),
                devices=["-device", "nvme,drive=esp,serial=boot0,bootindex=0"])
    with m:
        m.wait_for(r"^capOS: up; main loop running")
        m.quit()
    log = m.log
    assert re.search(r"^pci \S+ 1b36:0010 class 010802 -> nvme$", log, re.M), m.tail()
    assert re.search(r"^nvme-broker \S+: reset", log, re.M)
    assert re.search(r"^nvme0: ", log, re.M), m.tail()
    # the user image runs no proof and does not leave QEMU on `exit`
    assert "capOS: proofs=, fault= and exit need the proof image" in log
    assert not re.search(r"^PROOF ", log, re.M) and "capOS: proofs pass=" not in log
    r = subprocess.run(["sgdisk", "--verify", str(img)], capture_output=True, text=True)
    assert "No problems found" in r.stdout, r.stdout
