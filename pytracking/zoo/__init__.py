"""Networks trained by this project and shipped inside the package (recipes and scores: MODEL_ZOO.md).

Unlike the official networks, which are downloaded into ``network_path``, these files come with the code, so the
trackers that use them work on a fresh machine without a download. Each file's SHA-256 is recorded here and
checked before use.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["SHA256", "ZOO_DIR", "zoo_file"]

ZOO_DIR = Path(__file__).resolve().parent

SHA256 = {
    "dimp_tiny_synthetic.pth.tar": "916df33212c3e5547de0dc92a6ee8054b294bd9499e52f9a283b2745de6e3d72",
}
"""File name -> SHA-256 hex digest of the released file."""


def zoo_file(name: str, verify: bool = True) -> Path:
    """Path of the shipped network ``name``, after checking that it is present and intact.

    Raises:
        KeyError: ``name`` is not a shipped network (the message lists them).
        FileNotFoundError: the file is missing (e.g. a checkout without it).
        ValueError: its contents do not match the recorded checksum (a partial or modified copy).
    """
    if name not in SHA256:
        raise KeyError(f"{name!r} is not a network shipped with pytracking; shipped: {sorted(SHA256)}")
    path = ZOO_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: it ships with the package; reinstall it (bash install.sh) or restore the file "
            "from the repository (git checkout -- pytracking/zoo)"
        )
    if verify:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SHA256[name]:
            raise ValueError(
                f"{path} is damaged: its SHA-256 is {digest}, expected {SHA256[name]}; restore it from the "
                "repository (git checkout -- pytracking/zoo) or reinstall the package"
            )
    return path
