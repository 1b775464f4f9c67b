"""download_networks with a fake gdown: atomic placement, checksums, failures, CLI (no network access)."""

import hashlib
import json
import os
import sys
import types

import pytest

from pytracking import download_networks as dn

NAME = "dimp50.pth"
URL = "https://drive.google.com/uc?id=1qgachgqks2UGjKx-GdO1qylBDdB1f9KN"
PAYLOAD = b"\x80\x02fake network weights" * 100


class FakeGdown:
    """Stands in for the gdown module: writes ``payload`` to ``output``, or raises ``error``."""

    def __init__(self, payload=PAYLOAD, error=None, result="output"):
        self.payload, self.error, self.result = payload, error, result
        self.calls = []
        self.module = types.ModuleType("gdown")
        self.module.download = self.download

    def download(self, url=None, output=None, quiet=False, resume=False):
        self.calls.append({"url": url, "output": output, "resume": resume})
        if self.error is not None:
            raise self.error
        with open(output, "wb") as f:
            f.write(self.payload)
        return output if self.result == "output" else None


@pytest.fixture
def fake(monkeypatch):
    gdown = FakeGdown()
    monkeypatch.setitem(sys.modules, "gdown", gdown.module)
    return gdown


def checksums(directory):
    return json.loads((directory / dn.CHECKSUM_FILE).read_text())


def test_download_moves_file_into_place_and_records_checksum(fake, tmp_path, capsys):
    assert dn.main([NAME, "--dir", str(tmp_path)]) == 0
    assert (tmp_path / NAME).read_bytes() == PAYLOAD
    assert not (tmp_path / (NAME + ".part")).exists()
    assert fake.calls == [{"url": URL, "output": str(tmp_path / (NAME + ".part")), "resume": True}]
    assert checksums(tmp_path) == {NAME: hashlib.sha256(PAYLOAD).hexdigest()}
    assert str(tmp_path / NAME) in capsys.readouterr().out

    # Second run: the present file is verified against the record, nothing is downloaded.
    assert dn.main([NAME, "--dir", str(tmp_path)]) == 0
    assert len(fake.calls) == 1


def test_default_directory_is_first_network_path_entry(fake, tmp_path, monkeypatch):
    dirs = [tmp_path / "first", tmp_path / "second"]
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join(map(str, dirs)))
    assert dn.default_directory() == dirs[0]
    path = dn.download_network("atom_default.pth")
    assert path == dirs[0] / "atom_default.pth" and path.read_bytes() == PAYLOAD
    assert fake.calls[0]["url"] == "https://drive.google.com/uc?id=1VNyr-Ds0khjM0zaq6lU-xfY74-iWxBvU"
    assert not dirs[1].exists()


def test_corrupted_file_is_detected_and_force_repairs_it(fake, tmp_path, capsys):
    dn.download_network(NAME, tmp_path)
    (tmp_path / NAME).write_bytes(PAYLOAD[:-1] + b"!")
    assert dn.main([NAME, "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "corrupted" in err and "--force" in err and str(tmp_path / NAME) in err
    assert dn.main(["--verify", NAME, "--dir", str(tmp_path)]) == 1
    with pytest.raises(dn.ChecksumMismatchError):
        dn.verify_network(NAME, tmp_path)
    assert len(fake.calls) == 1

    assert dn.main([NAME, "--dir", str(tmp_path), "--force"]) == 0
    assert fake.calls[-1]["resume"] is False
    assert (tmp_path / NAME).read_bytes() == PAYLOAD
    assert dn.main(["--verify", "--dir", str(tmp_path)]) == 0


def test_manually_placed_file_is_recorded_by_verify(tmp_path, capsys):
    (tmp_path / "kys.pth").write_bytes(b"placed by hand")
    assert dn.main(["kys.pth", "--verify", "--dir", str(tmp_path)]) == 0
    digest = hashlib.sha256(b"placed by hand").hexdigest()
    assert checksums(tmp_path) == {"kys.pth": digest}
    assert digest in capsys.readouterr().out
    assert dn.main(["dimp18.pth", "--verify", "--dir", str(tmp_path)]) == 1  # absent: nothing to verify


def test_new_download_must_match_an_existing_record(fake, tmp_path):
    dn.download_network(NAME, tmp_path)
    (tmp_path / NAME).unlink()
    fake.payload = b"something else"
    with pytest.raises(dn.ChecksumMismatchError, match="--force"):
        dn.download_network(NAME, tmp_path)
    assert not (tmp_path / NAME).exists() and not (tmp_path / (NAME + ".part")).exists()
    assert dn.download_network(NAME, tmp_path, force=True).read_bytes() == b"something else"
    assert checksums(tmp_path)[NAME] == hashlib.sha256(b"something else").hexdigest()


def test_offline_gives_actionable_message_and_exit_code(fake, tmp_path, capsys):
    fake.error = OSError("Network is unreachable")
    assert dn.main([NAME, "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Network is unreachable" in err
    assert URL in err
    assert str(tmp_path / NAME) in err
    assert "by hand" in err and "--verify" in err
    assert not (tmp_path / NAME).exists()
    assert not (tmp_path / dn.CHECKSUM_FILE).exists()


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda g: setattr(g, "result", None), "did not produce"),
        (lambda g: setattr(g, "payload", b"\n<!DOCTYPE html><html>Quota exceeded</html>"), "web page"),
        (lambda g: setattr(g, "error", RuntimeError("Cannot retrieve the public link")), "public link"),
    ],
)
def test_other_download_failures_raise_download_error(fake, tmp_path, setup, match):
    setup(fake)
    with pytest.raises(dn.DownloadError, match=match) as info:
        dn.download_network(NAME, tmp_path)
    assert URL in str(info.value)
    assert not (tmp_path / NAME).exists()


def test_missing_gdown_is_reported(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gdown", None)  # makes `import gdown` raise ImportError
    with pytest.raises(dn.DownloadError, match="pip install gdown"):
        dn.download_network(NAME, tmp_path)


def test_unknown_name_lists_valid_names(fake, tmp_path, capsys):
    assert dn.main(["dimp51.pth", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "dimp51.pth" in err
    assert all(name in err for name in dn.NETWORKS)
    with pytest.raises(dn.UnknownNetworkError, match="super_dimp.pth.tar"):
        dn.download_network("dimp51.pth", tmp_path)
    assert fake.calls == []


def test_list_shows_presence(tmp_path, capsys):
    (tmp_path / "dimp18.pth").write_bytes(b"x")
    assert dn.main(["--list", "--dir", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == set(dn.NETWORKS)
    assert rows["dimp18.pth"] == ["present", dn.NETWORKS["dimp18.pth"]]
    assert rows["dimp50.pth"] == ["absent", dn.NETWORKS["dimp50.pth"]]


def test_no_names_is_a_usage_error(tmp_path, capsys):
    assert dn.main(["--dir", str(tmp_path)]) == 2
    assert "--list" in capsys.readouterr().err


def test_drive_url():
    assert dn.drive_url(NAME) == URL
