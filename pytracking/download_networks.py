"""Download the official tracking networks by file name: ``python -m pytracking.download_networks dimp50.pth``.

Files go to the first directory of the ``network_path`` setting (or ``--dir``). Each download is written to
``<name>.part`` and renamed when complete, so an interrupted run never leaves a truncated network under its real
name, and the next run resumes the partial file. The SHA-256 of every file is recorded in ``checksums.json`` next
to the files on first sight and checked on later runs (and with ``--verify``), which catches corrupted copies.

Usage::

    python -m pytracking.download_networks NAME [NAME ...] [--dir DIR] [--force] [--verify]
    python -m pytracking.download_networks --list
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "CHECKSUM_FILE",
    "NETWORKS",
    "ChecksumMismatchError",
    "DownloadError",
    "UnknownNetworkError",
    "default_directory",
    "download_network",
    "drive_url",
    "main",
    "read_checksums",
    "sha256_file",
    "verify_network",
]

# Official network file name -> Google Drive file id (the original authors' model zoo).
NETWORKS: dict[str, str] = {
    "atom_default.pth": "1VNyr-Ds0khjM0zaq6lU-xfY74-iWxBvU",
    "dimp18.pth": "1MAjrRJDCbL0DSjUKFyDkUuYS1-cYBNjk",
    "dimp50.pth": "1qgachgqks2UGjKx-GdO1qylBDdB1f9KN",
    "prdimp18.pth.tar": "1ycm3Uu63j-uCkz4qt0SG6rY_k5UFlhVo",
    "prdimp50.pth.tar": "1zbQUVXKsGvBEOc-I1NuGU6yTMPth_aI5",
    "super_dimp.pth.tar": "1qDptswis2FxihLRYLVRGDvx6aUoAVVLv",
    "super_dimp_simple.pth.tar": "1lzwdeX9HBefQwznMaX5AKAGda7tqeQtg",
    "kys.pth": "1nJTBxpuBhN0WGSvG7Zm3yBc9JAC6LnEn",
    "keep_track.pth.tar": "1JIhzF1yd1EFbVCKJMakqEjWngthySIS5",
    "tomp50.pth.tar": "1dU1IYIv5x_7iOUVTgh8uOq36POFOQBWT",
    "tomp101.pth.tar": "1XQAtrM9n_PHQn-B2i8y6Q-PQFcAoKObA",
    "tamos_resnet50.pth.tar": "1oHnVv4hbfGm5CHTaEbPWUkMyRJ6tzt7d",
    "tamos_swin_base.pth.tar": "1YFm-z-M02bq5Rag9tuqSqZ7r3H3X0YBw",
    "lwl_stage2.pth": "1Xnm4A2BRBliDBKO4EEFHAQfGyfOMsVyY",
    "lwl_boxinit.pth": "1aAsj_N1LAMpmmcb1iOxo2z66tJM6MEuM",
    "resnet18_vggmconv1.pth": "1aWC4waLv_te-BULoy0k-n_zS-ONms21S",
}

CHECKSUM_FILE = "checksums.json"
_PART_SUFFIX = ".part"


class DownloadError(RuntimeError):
    """A network could not be downloaded; the message says how to place the file by hand."""


class ChecksumMismatchError(RuntimeError):
    """A network file differs from the SHA-256 recorded when it was first downloaded."""


class UnknownNetworkError(ValueError):
    """The name is not an official network file; the message lists the valid names."""


def drive_url(name: str) -> str:
    """The Google Drive download URL of official network ``name``."""
    return f"https://drive.google.com/uc?id={NETWORKS[_check_name(name)]}"


def default_directory() -> Path:
    """The first directory of the ``network_path`` setting (where the loader looks first)."""
    from pytracking.evaluation.environment import env_settings
    from pytracking.utils.loading import network_dirs

    dirs = network_dirs(env_settings().network_path)
    if not dirs:
        raise DownloadError("network_path is empty; set PYTRACKING_NETWORK_PATH or pass --dir")
    return dirs[0]


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks (network files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_checksums(directory: str | os.PathLike) -> dict[str, str]:
    """The recorded ``{file name: sha256}`` of ``directory`` (empty when there is no ``checksums.json``)."""
    path = Path(directory) / CHECKSUM_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise ChecksumMismatchError(f"{path} is not valid JSON ({e}); delete it to record the checksums anew") from e
    if not isinstance(data, dict):
        raise ChecksumMismatchError(f"{path} does not hold a name -> sha256 mapping; delete it to record anew")
    return data


def _record_checksum(directory: Path, name: str, digest: str) -> None:
    checksums = read_checksums(directory)
    checksums[name] = digest
    # Written to a temporary file and renamed, so an interrupted run never leaves a truncated checksums.json.
    fd, tmp = tempfile.mkstemp(prefix=CHECKSUM_FILE, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(checksums, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, directory / CHECKSUM_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_name(name: str) -> str:
    if name not in NETWORKS:
        valid = "\n".join(f"  {n}" for n in NETWORKS)
        raise UnknownNetworkError(f"Unknown network {name!r}. Valid names:\n{valid}")
    return name


def verify_network(name: str, directory: str | os.PathLike | None = None) -> str:
    """Check a present network file against its recorded SHA-256, recording it if there is no record yet.

    Args:
        name: official network file name.
        directory: where the file is (default: :func:`default_directory`).

    Returns:
        The file's SHA-256.

    Raises:
        FileNotFoundError: the file is absent.
        ChecksumMismatchError: the file differs from the recorded checksum.
    """
    _check_name(name)
    directory = Path(directory) if directory is not None else default_directory()
    path = directory / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; run `python -m pytracking.download_networks {name}`")
    digest = sha256_file(path)
    recorded = read_checksums(directory).get(name)
    if recorded is None:
        _record_checksum(directory, name, digest)
    elif recorded != digest:
        raise ChecksumMismatchError(
            f"{path} is corrupted: its SHA-256 is {digest}, but {recorded} was recorded in "
            f"{directory / CHECKSUM_FILE} when it was first downloaded. Download it again with "
            f"`python -m pytracking.download_networks {name} --force`."
        )
    return digest


def _fetch(url: str, output: Path, resume: bool) -> None:
    """Download ``url`` to ``output`` with gdown (imported here: an optional dependency, only needed to fetch)."""
    try:
        import gdown
    except ImportError as e:
        raise DownloadError(f"gdown is not installed (pip install gdown): {e}") from e
    kwargs = {"url": url, "output": str(output), "quiet": False}
    if "resume" in inspect.signature(gdown.download).parameters:
        kwargs["resume"] = resume
    result = gdown.download(**kwargs)
    # Older gdown versions report failure by returning None instead of raising.
    if result is None or not output.is_file():
        raise DownloadError("gdown did not produce the file")


def _looks_like_html(path: Path) -> bool:
    # Google Drive answers a quota or permission problem with an HTML page, which gdown may save as the file.
    with open(path, "rb") as f:
        head = f.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def download_network(name: str, directory: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Download official network ``name`` unless it is already present and intact.

    Args:
        name: official network file name (a key of :data:`NETWORKS`).
        directory: target directory (created if needed; default: :func:`default_directory`).
        force: download again even if the file is present, and record the new file's checksum.

    Returns:
        The path of the network file.

    Raises:
        UnknownNetworkError: ``name`` is not an official network.
        DownloadError: the download failed (offline, Drive quota, gdown missing); the message gives the URL, the
            target path and how to place the file by hand.
        ChecksumMismatchError: the present or downloaded file differs from the recorded checksum.
    """
    url = drive_url(name)
    directory = Path(directory) if directory is not None else default_directory()
    target = directory / name
    if target.is_file() and not force:
        verify_network(name, directory)
        return target
    part = directory / (name + _PART_SUFFIX)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if force:
            part.unlink(missing_ok=True)
        _fetch(url, part, resume=not force)
        if _looks_like_html(part):
            part.unlink()
            raise DownloadError("Google Drive returned a web page instead of the file (download quota or access)")
    except Exception as e:  # any failure of the transfer gets the same manual-download instructions
        reason = str(e) or type(e).__name__
        raise DownloadError(
            f"Could not download {name!r}: {reason}\n"
            f"  URL:    {url}\n"
            f"  target: {target}\n"
            f"To install it by hand, open the URL in a browser (or run `gdown {url}` on a machine with internet "
            f"access), save the file as {target}, then check it with "
            f"`python -m pytracking.download_networks {name} --verify`."
        ) from e
    digest = sha256_file(part)
    recorded = read_checksums(directory).get(name)
    if recorded is not None and recorded != digest and not force:
        # Removed so that a retry downloads afresh instead of resuming from this file.
        part.unlink()
        raise ChecksumMismatchError(
            f"The downloaded {name} has SHA-256 {digest}, but {recorded} is recorded in "
            f"{directory / CHECKSUM_FILE}. Retry, or accept the new file with `--force`."
        )
    os.replace(part, target)
    _record_checksum(directory, name, digest)
    return target


def _list_table(directory: Path) -> str:
    width = max(len(n) for n in NETWORKS)
    lines = [f"Networks in {directory}:", f"{'file':<{width}}  {'status':<7}  Google Drive id"]
    for name, drive_id in NETWORKS.items():
        status = "present" if (directory / name).is_file() else "absent"
        lines.append(f"{name:<{width}}  {status:<7}  {drive_id}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 ok, 1 a download or check failed, 2 bad usage)."""
    parser = argparse.ArgumentParser(
        prog="python -m pytracking.download_networks",
        description="Download the official tracking networks into network_path (or --dir).",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="network file names, e.g. dimp50.pth")
    parser.add_argument("--dir", type=Path, default=None, help="target directory (default: first network_path)")
    parser.add_argument("--list", action="store_true", help="list the networks and whether they are present")
    parser.add_argument("--force", action="store_true", help="download again even if present")
    parser.add_argument(
        "--verify", action="store_true", help="only check present files against checksums.json (no download)"
    )
    args = parser.parse_args(argv)

    try:
        directory = args.dir if args.dir is not None else default_directory()
    except DownloadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.list:
        print(_list_table(directory))
        if not args.names:
            return 0
    names = args.names
    if not names and args.verify:
        names = [n for n in NETWORKS if (directory / n).is_file()]
    if not names:
        parser.print_usage(sys.stderr)
        print("error: give at least one network name (see --list)", file=sys.stderr)
        return 2
    unknown = [n for n in names if n not in NETWORKS]
    if unknown:
        print(f"error: {_check_message(unknown)}", file=sys.stderr)
        return 2

    failed = False
    for name in names:
        try:
            if args.verify:
                digest = verify_network(name, directory)
                print(f"{name}: OK (sha256 {digest})")
            else:
                path = download_network(name, directory, force=args.force)
                print(f"{name}: {path}")
        except (DownloadError, ChecksumMismatchError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _check_message(unknown: list[str]) -> str:
    valid = ", ".join(NETWORKS)
    return f"unknown network(s): {', '.join(unknown)}. Valid names: {valid}"


if __name__ == "__main__":
    sys.exit(main())
