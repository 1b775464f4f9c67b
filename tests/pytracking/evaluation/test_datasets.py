"""Benchmark loaders on miniature copies of each on-disk layout, the registry, and the shared real sequences."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytracking.evaluation import SequenceList, get_dataset, load_dataset
from pytracking.evaluation.avistdataset import AVisTDataset
from pytracking.evaluation.data import read_name_list, read_table
from pytracking.evaluation.datasets import create_dataset, dataset_dict
from pytracking.evaluation.davisdataset import DAVISDataset
from pytracking.evaluation.got10kdataset import GOT10KDataset
from pytracking.evaluation.lasotdataset import LaSOTDataset, LaSOTTrainSequencesDataset
from pytracking.evaluation.lasotextensionsubsetdataset import LaSOTExtensionSubsetDataset
from pytracking.evaluation.nfsdataset import NFSDataset
from pytracking.evaluation.otbdataset import OTBDataset, OTBStyleFolderDataset
from pytracking.evaluation.oxuvadataset import OxUvADataset
from pytracking.evaluation.tpldataset import TPLDataset
from pytracking.evaluation.trackingnetdataset import TrackingNetDataset
from pytracking.evaluation.uavdataset import UAVDataset
from pytracking.evaluation.votdataset import VOTDataset
from pytracking.evaluation.youtubevosdataset import YouTubeVOSDataset
from pytracking.utils.image_io import imwrite_indexed


def write_jpg(path: Path, size=(8, 6)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 20, 30)).save(path)


def write_rows(path: Path, rows, delimiter=",", line_end="\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = line_end.join(delimiter.join(str(v) for v in row) for row in rows) + line_end
    path.write_bytes(text.encode())


def boxes(n: int, offset: int = 0) -> np.ndarray:
    """Distinct rows [i, i+1, 10, 20] for i = offset .. offset + n - 1."""
    i = np.arange(offset, offset + n)
    return np.stack([i, i + 1, np.full(n, 10), np.full(n, 20)], axis=1)


# ---- sequence tables ---------------------------------------------------------------------------------------------


def test_tables_have_the_benchmark_sizes():
    assert [len(read_table(f)) for f in ("otb.csv", "nfs.csv", "uav.csv", "tpl.csv")] == [100, 100, 123, 129]
    sizes = [len(set(read_name_list(f))) for f in ("vot2018.txt", "lasot_test.txt", "lasot_extension_subset.txt")]
    assert sizes == [60, 280, 150]
    assert len(set(read_name_list("avist.txt"))) == 120
    assert len(read_name_list("tpl_otb_overlap.txt")) == 44


# ---- OTB / NFS / UAV / TPL -----------------------------------------------------------------------------------------


def test_otb_special_cases_and_partial_folder(tmp_path):
    write_rows(tmp_path / "Tiger1/groundtruth_rect.txt", boxes(354))
    write_rows(tmp_path / "BlurCar3/groundtruth_rect.txt", boxes(357), "\t", "\r\n")
    write_rows(tmp_path / "Board/groundtruth_rect.txt", boxes(698))
    write_rows(tmp_path / "KiteSurf/groundtruth_rect.txt", boxes(84), " ")
    write_rows(tmp_path / "Jogging/groundtruth_rect.2.txt", boxes(307, offset=50))
    ds = OTBDataset(root=tmp_path)
    seqs = ds.get_sequence_list()
    assert len(ds) == 100 and len(seqs) == 100

    tiger = seqs["Tiger1"]
    assert len(tiger.frames) == 349 and tiger.frames[0] == os.path.join(tmp_path, "Tiger1/img", "0006.jpg")
    np.testing.assert_array_equal(tiger.ground_truth_rect, boxes(354)[5:])
    assert tiger.init_bbox() == [5.0, 6.0, 10.0, 20.0] and tiger.object_class == "other"

    blur = seqs["BlurCar3"]
    assert blur.frames[0].endswith(os.path.join("BlurCar3", "img", "0003.jpg")) and blur.frames[-1].endswith("0359.jpg")
    assert blur.ground_truth_rect.shape == (357, 4)
    assert seqs["Board"].frames[0].endswith(os.path.join("Board", "img", "00001.jpg"))
    assert seqs["KiteSurf"].frames[0].endswith(os.path.join("KiteSurf", "jpg", "0001.png"))
    assert seqs["KiteSurf"].ground_truth_rect.shape == (84, 4)
    assert seqs["Jogging_2"].init_bbox() == [50.0, 51.0, 10.0, 20.0]
    assert seqs["David"].frames[0].endswith("0300.jpg") and len(seqs["David"].frames) == 471

    missing = seqs["Basketball"]
    assert len(missing.frames) == 725  # frame paths need no disk access
    with pytest.raises(FileNotFoundError, match=r"otb sequence 'Basketball'.*Basketball[/\\]groundtruth_rect\.txt"):
        _ = missing.ground_truth_rect


def test_nfs_tab_ground_truth(tmp_path):
    write_rows(tmp_path / "anno/nfs_yoyo.txt", boxes(67), "\t")
    seq = NFSDataset(root=tmp_path).get_sequence_list()["nfs_yoyo"]
    assert seq.frames[0] == os.path.join(tmp_path, "sequences/yoyo", "00001.jpg") and len(seq.frames) == 67
    np.testing.assert_array_equal(seq.ground_truth_rect, boxes(67))


def test_uav_shared_folder_frame_range_and_nan_rows(tmp_path):
    gt_path = tmp_path / "anno/UAV123/bird1_2.txt"
    gt_path.parent.mkdir(parents=True)
    rows = [",".join(map(str, r)) for r in boxes(703)]
    rows[1] = "NaN,NaN,NaN,NaN"
    gt_path.write_text("\n".join(rows) + "\n")
    seq = UAVDataset(root=tmp_path).get_sequence_list()["uav_bird1_2"]
    assert seq.frames[0] == os.path.join(tmp_path, "data_seq/UAV123/bird1", "000775.jpg")
    assert seq.frames[-1].endswith("001477.jpg") and len(seq.frames) == 703
    assert np.isnan(seq.ground_truth_rect[1]).all() and seq.ground_truth_rect[2].tolist() == [2, 3, 10, 20]
    assert seq.object_class == "bird"


def test_tpl_exclude_otb(tmp_path):
    assert len(TPLDataset(root=tmp_path)) == 129
    names = TPLDataset(exclude_otb=True, root=tmp_path).sequence_names()
    assert len(names) == 85 and "tpl_Skating2" not in names and "tpl_Pool_ce3" in names
    write_rows(tmp_path / "tpl_Hurdle_ce2/Hurdle_ce2_gt.txt", boxes(304))
    seq = TPLDataset(root=tmp_path).get_sequence_list()["tpl_Hurdle_ce2"]
    assert seq.frames[0].endswith("0027.jpg") and seq.ground_truth_rect.shape == (304, 4)


# ---- VOT / LaSOT / AVisT ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("color_dir", [True, False])
def test_vot_polygons_and_both_frame_layouts(tmp_path, color_dir):
    write_rows(tmp_path / "ants1/groundtruth.txt", [[1, 2, 5, 1, 6, 7, 2, 8], [0, 0, 4, 0, 4, 3, 0, 3]])
    img_dir = tmp_path / "ants1" / ("color" if color_dir else "")
    write_jpg(img_dir / "00000001.jpg")
    seq = VOTDataset(root=tmp_path).get_sequence_list()["ants1"]
    np.testing.assert_array_equal(seq.ground_truth_rect, [[1, 1, 5, 7], [0, 0, 4, 3]])
    assert seq.frames == [os.path.join(img_dir, "00000001.jpg"), os.path.join(img_dir, "00000002.jpg")]
    assert len(VOTDataset(root=tmp_path)) == 60


def write_lasot_like(root: Path, name: str, n: int = 4) -> None:
    seq_dir = root / name.rsplit("-", 1)[0] / name
    write_rows(seq_dir / "groundtruth.txt", boxes(n))
    write_rows(seq_dir / "full_occlusion.txt", [[0, 1, 0, 0][:n]])
    write_rows(seq_dir / "out_of_view.txt", [[0, 0, 0, 1][:n]])


def test_lasot_visibility_class_and_frames(tmp_path):
    write_lasot_like(tmp_path, "airplane-1")
    seqs = LaSOTDataset(root=tmp_path).get_sequence_list()
    assert len(seqs) == 280
    seq = seqs["airplane-1"]
    np.testing.assert_array_equal(seq.target_visible, [True, False, True, False])
    assert seq.object_class == "airplane" and seq.target_class() == "airplane"
    assert seq.frames[-1] == os.path.join(tmp_path, "airplane", "airplane-1", "img", "00000004.jpg")
    with pytest.raises(FileNotFoundError, match="airplane-9"):
        _ = seqs["airplane-9"].frames


def test_lasot_train_and_extension(tmp_path, monkeypatch):
    write_lasot_like(tmp_path, "atv-1")
    ext = LaSOTExtensionSubsetDataset(root=tmp_path).get_sequence_list()
    assert len(ext) == 150 and ext["atv-1"].target_visible.tolist() == [True, False, True, False]
    with pytest.raises(FileNotFoundError, match="PYTRACKING_DATASPEC_PATH"):
        LaSOTTrainSequencesDataset(root=tmp_path)
    split = tmp_path / "train.txt"
    split.write_text("atv-1\nairplane-2\n")
    assert LaSOTTrainSequencesDataset(split_file=split, root=tmp_path).sequence_names() == ["atv-1", "airplane-2"]


def test_avist_visibility(tmp_path):
    name = "air_show"
    write_rows(tmp_path / "anno" / f"{name}.txt", boxes(3), " ")
    write_rows(tmp_path / "full_occlusion" / f"{name}_full_occlusion.txt", [[0, 0, 1]])
    write_rows(tmp_path / "out_of_view" / f"{name}_out_of_view.txt", [[1, 0, 0]])
    seq = AVisTDataset(root=tmp_path).get_sequence_list()[name]
    assert seq.target_visible.tolist() == [False, True, False]
    assert seq.frames[0] == os.path.join(tmp_path, "sequences", name, "img_00001.jpg") and len(seq.frames) == 3


# ---- GOT-10k / TrackingNet / OxUvA ----------------------------------------------------------------------------------


def test_got10k_splits(tmp_path):
    for split, names in (("test", ["GOT-10k_Test_000001"]), ("train", ["t_a", "t_b", "t_c"])):
        (tmp_path / split).mkdir()
        (tmp_path / split / "list.txt").write_text("\n".join(names) + "\n")
    seq_dir = tmp_path / "test" / "GOT-10k_Test_000001"
    for i in (10, 2, 1):
        write_jpg(seq_dir / f"{i:08d}.jpg")
    write_rows(seq_dir / "groundtruth.txt", [[1.5, 2, 3, 4]])
    seq = GOT10KDataset("test", root=tmp_path).get_sequence_list()[0]
    assert [os.path.basename(f) for f in seq.frames] == ["00000001.jpg", "00000002.jpg", "00000010.jpg"]
    assert seq.init_bbox() == [1.5, 2.0, 3.0, 4.0]

    split_file = tmp_path / "val_split.txt"
    split_file.write_text("2\n0\n")
    assert GOT10KDataset("ltrval", split_file=split_file, root=tmp_path).sequence_names() == ["t_c", "t_a"]
    with pytest.raises(FileNotFoundError, match="PYTRACKING_DATASPEC_PATH"):
        GOT10KDataset("ltrval", root=tmp_path).sequence_names()
    with pytest.raises(ValueError, match="split"):
        GOT10KDataset("nope", root=tmp_path)


def test_trackingnet_numeric_frame_order_and_vos_mode(tmp_path):
    write_rows(tmp_path / "TEST/anno/seqA.txt", [[4, 5, 6, 7]])
    for i in (0, 1, 2, 10, 9):
        write_jpg(tmp_path / f"TEST/frames/seqA/{i}.jpg")
    (tmp_path / "masks/seqA").mkdir(parents=True)
    mask = np.zeros((6, 8), dtype=np.uint8)
    mask[2:4, 3:5] = 1
    imwrite_indexed(tmp_path / "masks/seqA/0.png", mask)
    ds = TrackingNetDataset(root=tmp_path, vos_mode=True, mask_root=tmp_path / "masks")
    seq = ds.get_sequence_list()["seqA"]
    assert [os.path.basename(f) for f in seq.frames] == ["0.jpg", "1.jpg", "2.jpg", "9.jpg", "10.jpg"]
    assert seq.init_data[0]["mask"] == os.path.join(tmp_path / "masks", "seqA", "0.png")
    assert seq.init_bbox() == [4.0, 5.0, 6.0, 7.0]
    np.testing.assert_array_equal(seq.init_mask(), mask)


def test_oxuva_tasks_to_pixels(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "dev.csv").write_text("vid0001,obj0002,30,90,0.25,0.75,0.5,1.0\n")
    write_jpg(tmp_path / "images/dev/vid0001/000030.jpeg", size=(40, 20))
    seq = OxUvADataset("dev", root=tmp_path).get_sequence_list()["vid0001_obj0002"]
    assert len(seq.frames) == 61 and seq.frames[-1].endswith("000090.jpeg")
    assert seq.init_bbox() == [10.0, 10.0, 20.0, 10.0]
    assert (seq.ground_truth_rect[1:] == -1).all()


# ---- DAVIS / YouTube-VOS --------------------------------------------------------------------------------------------


def test_davis_2017_multi_object(tmp_path):
    (tmp_path / "ImageSets/2017").mkdir(parents=True)
    (tmp_path / "ImageSets/2017/val.txt").write_text("cows\n")
    labels = np.zeros((6, 8), dtype=np.uint8)
    labels[0:2, 0:3] = 1
    labels[3:6, 4:8] = 2
    for i in range(3):
        write_jpg(tmp_path / f"JPEGImages/480p/cows/{i:05d}.jpg")
    (tmp_path / "Annotations/480p/cows").mkdir(parents=True)
    imwrite_indexed(tmp_path / "Annotations/480p/cows/00000.png", labels)
    imwrite_indexed(tmp_path / "Annotations/480p/cows/00002.png", (labels == 1).astype(np.uint8))
    seq = DAVISDataset("2017", "val", root=tmp_path).get_sequence_list()["cows"]
    assert seq.object_ids == ["1", "2"] and seq.multiobj_mode
    info = seq.init_info()
    assert info["init_bbox"] == {"1": [0.0, 0.0, 3.0, 2.0], "2": [4.0, 3.0, 4.0, 3.0]}
    np.testing.assert_array_equal(info["init_mask"], labels)
    assert seq.ground_truth_seg[1] is None
    gt = seq.ground_truth_rect
    assert np.isnan(gt["1"][1]).all() and gt["1"][2].tolist() == [0, 0, 3, 2] and np.isnan(gt["2"][2]).all()


def test_youtubevos_late_objects_and_trimming(tmp_path):
    split = tmp_path / "2019" / "valid"
    meta = {"videos": {"v1": {"objects": {"2": {"category": "cat", "frames": ["00010"]},
                                          "1": {"category": "dog", "frames": ["00005", "00010"]}}}}}  # fmt: skip
    split.mkdir(parents=True)
    (split / "meta.json").write_text(json.dumps(meta))
    for stem in ("00000", "00005", "00010"):
        write_jpg(split / "JPEGImages/v1" / f"{stem}.jpg")
    (split / "Annotations/v1").mkdir(parents=True)
    first = np.zeros((6, 8), dtype=np.uint8)
    first[1:3, 1:3] = 1
    second = first.copy()
    second[4:6, 5:8] = 2
    imwrite_indexed(split / "Annotations/v1/00005.png", first)
    imwrite_indexed(split / "Annotations/v1/00010.png", second)
    seq = YouTubeVOSDataset("2019", "valid", root=tmp_path).get_sequence_list()["v1"]
    assert [os.path.basename(f) for f in seq.frames] == ["00005.jpg", "00010.jpg"]
    assert seq.object_ids == ["1", "2"]
    assert seq.frame_info(0)["object_ids"] == ["1"] and seq.init_bbox(0) == {"1": [1.0, 1.0, 2.0, 2.0]}
    assert seq.frame_info(1)["object_ids"] == ["2"] and seq.init_bbox(1) == {"2": [5.0, 4.0, 3.0, 2.0]}
    assert seq.frame_info(1)["sequence_object_ids"] == ["1", "2"]


# ---- registry ------------------------------------------------------------------------------------------------------


def test_registry_lookup_concatenation_and_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"'nope'.*otb.*yt2019_valid"):
        load_dataset("nope")
    with pytest.raises(FileNotFoundError, match=r"`nfs_path`.*PYTRACKING_NFS_PATH"):
        get_dataset("nfs")
    monkeypatch.setenv("PYTRACKING_OTB_PATH", str(tmp_path))
    monkeypatch.setenv("PYTRACKING_NFS_PATH", str(tmp_path))
    both = get_dataset("otb", "nfs")
    assert isinstance(both, SequenceList) and len(both) == 200
    assert both[0].dataset == "otb" and both[-1].dataset == "nfs"
    assert len(load_dataset("tpl_nootb", root=tmp_path)) == 85
    assert create_dataset("got10k_val", root=tmp_path).split == "val"
    assert {"otb", "lasot_train", "dv2017_val", "yt2019_jjval_all", "oxuva_test", "avist"} <= set(dataset_dict)


# ---- shared real sequences -----------------------------------------------------------------------------------------


def test_real_otb_sequences(shared_real):
    seqs = OTBDataset(root=shared_real / "OTB").get_sequence_list()
    crossing, girl = seqs["Crossing"], seqs["Girl"]
    assert crossing.ground_truth_rect.shape == (120, 4) and crossing.init_bbox() == [205.0, 151.0, 17.0, 50.0]
    assert girl.ground_truth_rect.shape == (500, 4) and girl.ground_truth_rect[1].tolist() == [58, 22, 31, 43]
    assert all(os.path.isfile(f) for f in crossing.frames + girl.frames)


def test_real_vot_bag_without_color_folder(shared_real):
    seq = VOTDataset(root=shared_real / "VOT").get_sequence_list()["bag"]
    assert len(seq.frames) == 196 and all(os.path.isfile(f) for f in seq.frames)
    np.testing.assert_allclose(seq.ground_truth_rect[0], [292.23, 128.36, 438.19 - 292.23, 260.83 - 128.36])


def test_real_uav_person11_otb_style_folder(shared_real):
    seq = OTBStyleFolderDataset(shared_real / "UAV123_10fps", "uav").get_sequence_list()["person11"]
    assert len(seq.frames) == 241 and seq.frames[0].endswith("000001.jpg") and seq.frames[-1].endswith("000241.jpg")
    assert seq.init_bbox() == [551.0, 233.0, 41.0, 82.0] and seq.ground_truth_rect.shape == (241, 4)


def test_real_davis_2016_without_imagesets(shared_real):
    ds = DAVISDataset("2016", "val", root=shared_real / "DAVIS")
    assert {"blackswan", "car-shadow"} <= set(ds.sequence_names())
    seq = ds.get_sequence_list()["car-shadow"]
    assert len(seq.frames) == 40 and seq.object_ids == ["1"]
    mask = seq.init_info()["init_mask"]
    assert mask.shape == (480, 854) and set(np.unique(mask)) == {0, 1}
    box = seq.init_bbox()["1"]
    ys, xs = np.nonzero(mask)
    assert box == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
