"""tests/qemu/cloud_witness.py — the outside witness of the cloud storage
proofs (kernel/proof/cloud.c round_trip): the blocks the kernel wrote, read
back from the disk image by the host and compared byte for byte with the
pattern computed here independently. Used by test_cloud.py and
test_image.py."""

RT_BLOCKS = 8  # kernel/proof/cloud.c


def cloud_pattern(name, lba, block):
    """round_trip's blocks (kernel/proof/cloud.c), computed independently:
    byte i of the run is (i * 7 + lba) & 0xff, and each block starts with
    the NUL-terminated tag "CAPOS-CLOUD <name> block <n>" (ksnprintf into
    64 bytes)."""
    want = bytearray((i * 7 + lba) & 0xFF for i in range(RT_BLOCKS * block))
    for b in range(RT_BLOCKS):
        tag = f"CAPOS-CLOUD {name} block {b}".encode()[:63] + b"\0"
        want[b * block:b * block + len(tag)] = tag
    return bytes(want)


def check_witness(img, proof, name):
    """The blocks the kernel wrote are on the disk image, read by the host:
    every byte of the run, not only each block's tag."""
    lba, block = int(proof.kv["lba"]), int(proof.kv["block"])
    with open(img, "rb") as f:
        f.seek(lba * block)
        data = f.read(RT_BLOCKS * block)
    want = cloud_pattern(name, lba, block)
    assert len(data) == len(want), f"the image ends before lba {lba} + {RT_BLOCKS} blocks"
    bad = [i for i in range(len(want)) if data[i] != want[i]]
    assert not bad, (f"{len(bad)} bytes differ from the kernel's pattern, first at "
                     f"block {bad[0] // block} byte {bad[0] % block}: "
                     f"{data[bad[0]]:#04x} != {want[bad[0]]:#04x}")
