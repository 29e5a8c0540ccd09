"""tests/bench/boot.py — the boot timeline (`make bench`).

Boots capOS under TCG with the full device set (NVMe, virtio-net, edu) in
-m 128M and prints, from the kernel's own TSC marks: ms from efi_main to
ExitBootServices, to PCI enumerated, to all drivers bound; the image size and
the kernel's peak page use. Target: efi_main -> all bound within 200 ms.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "qemu"))
from qemu import BUILD, Machine  # noqa: E402

TARGET_MS = 200


def main():
    disk = os.path.join(BUILD, "qemu", "bench-boot.img")
    os.makedirs(os.path.dirname(disk), exist_ok=True)
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    devices = ["-drive", f"file={disk},format=raw,if=none,id=nvm",
               "-device", "nvme,serial=bench,drive=nvm",
               "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
               "-device", "edu"]
    runs = []
    for i in range(3):
        with Machine(f"bench-boot-{i}", devices=devices, cmdline="exit", mem="128M") as m:
            m.wait()
        b = re.search(r"^BENCH boot (.*)$", m.log, re.M)
        if not b:
            print("boot bench: no BENCH line\n" + m.tail())
            return 1
        runs.append(dict(kv.split("=") for kv in b.group(1).split()))
    print("boot timeline (TCG, -m 128M; 3 boots)")
    print(f"{'':24}{'run1':>8}{'run2':>8}{'run3':>8}")
    for k, label in [("ebs_ms", "efi_main->EBS ms"), ("pci_ms", "efi_main->PCI ms"),
                     ("bound_ms", "efi_main->bound ms"), ("peak_pages", "peak pages (4 KiB)"),
                     ("image_bytes", "image bytes")]:
        print(f"{label:24}" + "".join(f"{r[k]:>8}" for r in runs))
    worst = max(int(r["bound_ms"]) for r in runs)
    print(f"efi_main->bound worst {worst} ms vs target {TARGET_MS} ms: "
          f"{worst / TARGET_MS:.2f}x of budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
