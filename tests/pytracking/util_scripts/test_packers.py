"""GOT-10k and TrackingNet packers: archive layout and number formats, and every validation error."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from pytracking.evaluation import Sequence, SequenceList, Tracker
from pytracking.evaluation.environment import EnvSettings
from pytracking.util_scripts._packing import PackingError
from pytracking.util_scripts.pack_got10k_results import pack_got10k_results
from pytracking.util_scripts.pack_trackingnet_results import pack_trackingnet_results

LENGTHS = {"GOT-10k_Test_000001": 3, "GOT-10k_Test_000002": 2}


@pytest.fixture
def env(tmp_path) -> EnvSettings:
    env = EnvSettings()
    env.results_path = str(tmp_path / "results")
    env.got_packed_results_path = str(tmp_path / "packed_got")
    env.tn_packed_results_path = str(tmp_path / "packed_tn")
    return env


def dataset(lengths=LENGTHS, tag="got10k") -> SequenceList:
    return SequenceList(
        Sequence(name, [f"{i}.jpg" for i in range(n)], tag, np.zeros((1, 4))) for name, n in lengths.items()
    )


def write_results(env, run_id, lengths=LENGTHS, times=True, offset=0.0):
    folder = Path(Tracker("trk", "par", run_id, env=env).results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for k, (name, n) in enumerate(lengths.items()):
        boxes = np.arange(n * 4, dtype=float).reshape(n, 4) + 100 * k + offset
        np.savetxt(folder / f"{name}.txt", boxes, fmt="%d", delimiter="\t")
        if times:
            np.savetxt(folder / f"{name}_time.txt", np.full(n, 0.015625), fmt="%f")
    return folder


def pack_got(env, **kw):
    kw.setdefault("dataset", dataset())
    kw.setdefault("expected_num_sequences", 2)
    return pack_got10k_results("trk", "par", env=env, **kw)


# ---- GOT-10k ---------------------------------------------------------------------------------------------------


def test_got10k_archive_layout_and_formats(env, tmp_path):
    for run in range(3):
        write_results(env, run, offset=run)
    path = pack_got(env)
    assert path == tmp_path / "packed_got" / "trk_par.zip"
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(f"{s}/{s}_{suffix}.txt" for s in LENGTHS for suffix in ("001", "002", "003", "time"))
        run2 = zf.read("GOT-10k_Test_000001/GOT-10k_Test_000001_002.txt").decode()
        assert run2 == (
            "1.000000,2.000000,3.000000,4.000000\n5.000000,6.000000,7.000000,8.000000\n"
            "9.000000,10.000000,11.000000,12.000000\n"
        )
        second = zf.read("GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt").decode().splitlines()
        assert second[0] == "100.000000,101.000000,102.000000,103.000000" and len(second) == 2
        assert zf.read("GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt").decode() == "0.015625\n0.015625\n"
    assert [p.name for p in path.parent.iterdir()] == ["trk_par.zip"]  # no temporary file left


def test_got10k_custom_runs_and_output(env, tmp_path):
    write_results(env, 4)
    path = pack_got(env, run_ids=[4], output_name="mine", output_dir=tmp_path / "out")
    with zipfile.ZipFile(path) as zf:
        assert "GOT-10k_Test_000001/GOT-10k_Test_000001_005.txt" in zf.namelist()
    assert path == tmp_path / "out" / "mine.zip"


def test_got10k_dataset_size_is_checked(env):
    with pytest.raises(PackingError, match="dataset has 2 sequences but the GOT-10k test set has 180"):
        pack_got10k_results("trk", "par", dataset=dataset(), env=env)
    dup = dataset() + dataset()
    with pytest.raises(PackingError, match="duplicate sequence names"):
        pack_got(env, dataset=dup, expected_num_sequences=None)


def test_got10k_missing_run_and_time_files_are_all_listed(env, tmp_path):
    write_results(env, 0, times=False)
    write_results(env, 1)
    existing = tmp_path / "packed_got" / "trk_par.zip"
    existing.parent.mkdir()
    existing.write_bytes(b"old")
    with pytest.raises(PackingError) as info:
        pack_got(env)
    msg = str(info.value)
    assert "missing result files (4):" in msg  # run 2's two box files and run 0's two time files
    assert "par_002/GOT-10k_Test_000002.txt" in msg and "par_000/GOT-10k_Test_000001_time.txt" in msg
    assert existing.read_bytes() == b"old"  # nothing written on failure


def test_got10k_row_count_and_values_are_checked(env):
    for run in range(3):
        folder = write_results(env, run)
    np.savetxt(folder / "GOT-10k_Test_000001.txt", np.zeros((2, 4)), fmt="%d", delimiter="\t")
    with pytest.raises(PackingError, match=r"GOT-10k_Test_000001.txt: 2 rows, sequence has 3 frames"):
        pack_got(env)
    (folder / "GOT-10k_Test_000001.txt").write_text("1,2,3,4\n1,2,3,nan\n1,2,3,4\n")
    with pytest.raises(PackingError, match=r"non-finite values \(1\)"):
        pack_got(env)
    (folder / "GOT-10k_Test_000001.txt").write_text("1,2,3\n1,2,3\n1,2,3\n")
    with pytest.raises(PackingError, match="wrong column count"):
        pack_got(env)
    (folder / "GOT-10k_Test_000001.txt").write_text("1,2,3,4\n1,2,x,4\n1,2,3,4\n")
    with pytest.raises(PackingError, match=r"(?s)unreadable result files.*line 2"):
        pack_got(env)


def test_got10k_time_rows_and_run_ids_and_output_setting(env):
    for run in range(3):
        folder = write_results(env, run)
    first = Path(Tracker("trk", "par", 0, env=env).results_dir)
    (first / "GOT-10k_Test_000002_time.txt").write_text("0.1\n")
    with pytest.raises(PackingError, match="GOT-10k_Test_000002_time.txt: shape"):
        pack_got(env)
    assert folder.is_dir()
    with pytest.raises(PackingError, match="run_ids"):
        pack_got(env, run_ids=[0, 0])
    env.got_packed_results_path = ""
    with pytest.raises(PackingError, match="got_packed_results_path.*PYTRACKING_GOT_PACKED_RESULTS_PATH"):
        pack_got(env)


# ---- TrackingNet -----------------------------------------------------------------------------------------------

TN = {"seqA": 2, "seqB": 1}


def test_trackingnet_archive(env, tmp_path):
    folder = Path(Tracker("trk", "par", env=env).results_dir)
    folder.mkdir(parents=True)
    (folder / "seqA.txt").write_text("1\t2\t3\t4\n5\t6\t7\t8\n")
    (folder / "seqB.txt").write_text("1.234,2.345,3.5,4\n")
    path = pack_trackingnet_results("trk", "par", dataset=dataset(TN, "trackingnet"), expected_num_sequences=2, env=env)
    assert path == tmp_path / "packed_tn" / "trk_par.zip"
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["seqA.txt", "seqB.txt"]
        assert zf.read("seqA.txt").decode() == "1.00,2.00,3.00,4.00\n5.00,6.00,7.00,8.00\n"
        assert zf.read("seqB.txt").decode() == "1.23,2.35,3.50,4.00\n"


def test_trackingnet_validation(env):
    folder = Path(Tracker("trk", "par", 2, env=env).results_dir)
    folder.mkdir(parents=True)
    (folder / "seqA.txt").write_text("1\t2\t3\t4\n")
    with pytest.raises(PackingError, match="TrackingNet test set has 511"):
        pack_trackingnet_results("trk", "par", 2, dataset=dataset(TN, "trackingnet"), env=env)
    with pytest.raises(PackingError) as info:
        pack_trackingnet_results("trk", "par", 2, dataset=dataset(TN, "trackingnet"), expected_num_sequences=2, env=env)
    msg = str(info.value)
    assert "trk/par_002" in msg and "seqA.txt: 1 rows, sequence has 2 frames" in msg and "par_002/seqB.txt" in msg
    (folder / "seqA.txt").write_text("1\t2\t3\t4\n1\t2\t3\t4\n")
    (folder / "seqB.txt").write_text("1\t2\t3\t4\n")
    path = pack_trackingnet_results(
        "trk", "par", 2, dataset=dataset(TN, "trackingnet"), expected_num_sequences=2, env=env
    )
    assert path.name == "trk_par_002.zip"
