"""Embedded synthetic benchmark: determinism, exact annotations, attributes, atomic cached generation, loader."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pytracking.evaluation.synthetic import generator, layout
from pytracking.evaluation.synthetic.generator import (
    ATTRIBUTES,
    CHALLENGES,
    derive_attributes,
    visible_ratio_to_cover,
)
from pytracking.evaluation.synthetic.layout import ensure_split, generate_split, is_complete, read_frame_table
from pytracking.evaluation.syntheticdataset import SyntheticDataset
from pytracking.utils.box_ops import mask_to_xywh
from pytracking.utils.image_io import davis_palette, imread, imread_indexed

TINY = dict(num_sequences=3, min_frames=20, max_frames=20, width=96, height=72)
CYCLE = dict(num_sequences=len(CHALLENGES), min_frames=24, max_frames=30, width=96, height=72)


def _files(split_dir: Path) -> dict[str, bytes]:
    return {
        os.path.relpath(os.path.join(d, f), split_dir): Path(d, f).read_bytes()
        for d, _, names in os.walk(split_dir)
        for f in names
    }


def _scratch(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return generate_split(tmp_path_factory.mktemp("tiny"), "synthetic", **TINY)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory) -> Path:
    """One sequence per primary challenge."""
    return generate_split(tmp_path_factory.mktemp("cycle"), "synthetic", **CYCLE)


def _read_seq(seq_dir: Path):
    gt = np.loadtxt(seq_dir / "groundtruth.txt", delimiter=",", ndmin=2)
    absence = np.loadtxt(seq_dir / "absence.label", dtype=np.int64, ndmin=1)
    cover = np.loadtxt(seq_dir / "cover.label", dtype=np.int64, ndmin=1)
    masks = []
    for i in range(len(gt)):
        labels, palette = imread_indexed(seq_dir / "masks" / f"{i + 1:06d}.png")
        assert palette is not None
        np.testing.assert_array_equal(palette, davis_palette())
        masks.append(labels)
    return gt, absence, cover, np.stack(masks)


# ---------------------------------------------------------------------------------------------------------------
# Small pure functions


def test_cover_levels_follow_got10k_bins():
    ratio = np.array([0.0, 1e-6, 0.15, 0.150001, 0.3, 0.45, 0.6, 0.75, 0.9, 0.95, 0.999, 1.0])
    np.testing.assert_array_equal(visible_ratio_to_cover(ratio), [0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 7, 8])


def test_catmull_rom_passes_through_keys_and_is_linear_on_a_line():
    keys = np.array([[0.0, 5.0], [10.0, -3.0], [4.0, 4.0], [7.0, 1.0]])
    curve = generator._catmull_rom(keys, 5, 16)
    np.testing.assert_allclose(curve[[0, 5, 10, 15]], keys, atol=1e-12)
    line = generator._catmull_rom(np.array([[0.0], [3.0], [6.0]]), 3, 7)
    np.testing.assert_allclose(line[:, 0], np.arange(7.0), atol=1e-12)


def test_derive_attributes_thresholds():
    n = 4
    table = {
        "visible_pixels": np.array([100, 50, 0, 0]),
        "inframe_pixels": np.array([100, 100, 100, 0]),
        "occluded_pixels": np.array([0, 50, 100, 0]),
        "full_w": np.array([10, 10, 21, 10]),
        "full_h": np.array([10, 10, 10, 10]),
        "full_x": np.array([40, 40, 34, 60]),  # centres 44.5, 44.5, 44, 64.5
        "full_y": np.array([30, 30, 30, 30]),
        "angle_deg": np.array([0, 10, 29.9, 0]),
        "camera_x": np.zeros(n),
        "camera_y": np.array([0, 0, 0, 7.2]),  # 10 % of the shorter side (72) is 7.2
        "gain": np.array([1, 1.2, 1.249, 1]),
        "offset": np.array([5, 29.9, 0, 0]),
        "blur_length": np.array([0, 0, 3, 5]),  # blurred frames without a visible target do not count
        "distractors_in_view": np.zeros(n),
    }
    attrs = derive_attributes(table, 96, 72)
    assert set(attrs) == set(ATTRIBUTES)
    # Aspect 2.1 -> change; scale sqrt(2.1) < 2 -> none; the jump into frame 3 is out of view (not fast motion).
    assert attrs == {
        "occlusion": True,
        "partial_occlusion": True,
        "full_occlusion": True,
        "out_of_view": True,
        "scale_variation": False,
        "aspect_ratio_change": True,
        "rotation": False,
        "camera_motion": True,
        "illumination_variation": False,
        "motion_blur": False,
        "fast_motion": False,
        "distractors": False,
    }
    table["full_x"] = np.array([40, 46, 34, 60])  # centre moves 6 > 0.5 * sqrt(10 * 10)
    table["offset"] = np.array([5, 30, 0, 0])
    assert derive_attributes(table, 96, 72)["fast_motion"] is True
    assert derive_attributes(table, 96, 72)["illumination_variation"] is True


def test_split_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown synthetic split"):
        generator.split_config("lasot")
    with pytest.raises(ValueError, match="frames_per_seq"):
        generator.split_config("synthetic", frames_per_seq=3)


# ---------------------------------------------------------------------------------------------------------------
# Generated content


def test_same_seed_is_byte_identical_and_other_seed_differs(tiny, tmp_path):
    again = generate_split(tmp_path / "a", "synthetic", **TINY)
    ref = _files(tiny)
    assert _files(again) == ref
    other = _files(generate_split(tmp_path / "b", "synthetic", seed=7, **TINY))
    assert other.keys() != ref.keys() or other != ref
    differing = [k for k in ref if k.endswith("groundtruth.txt") and other.get(k) != ref[k]]
    assert len(differing) == TINY["num_sequences"]


def test_layout_and_manifest(tiny):
    names = (tiny / "list.txt").read_text().split()
    assert names == ["syn_0000", "syn_0001", "syn_0002"]
    manifest = json.loads((tiny / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["generator_version"] == generator.GENERATOR_VERSION
    assert manifest["params"]["width"] == 96 and manifest["num_sequences"] == 3
    # 20 frames + 20 masks + 6 annotation files per sequence, plus list.txt
    assert manifest["file_count"] == 3 * (40 + 6) + 1 == layout.count_files(tiny)
    seq = tiny / "syn_0000"
    expected = ["img", "masks", "groundtruth.txt", "absence.label", "cover.label", "attributes.json", "frames.csv"]
    assert sorted(p.name for p in seq.iterdir()) == sorted([*expected, "info.json"])
    assert imread(seq / "img" / "000001.jpg").shape == (72, 96, 3)


def test_boxes_are_tight_boxes_of_the_masks(tiny):
    for name in (tiny / "list.txt").read_text().split():
        gt, absence, cover, masks = _read_seq(tiny / name)
        table = read_frame_table(tiny / name)
        assert gt.shape == (20, 4) and masks.shape == (20, 72, 96)
        assert set(np.unique(masks)) <= {0, 1}
        np.testing.assert_array_equal(mask_to_xywh(masks), gt)
        np.testing.assert_array_equal(masks.sum(axis=(1, 2)), table["visible_pixels"])
        absent = masks.sum(axis=(1, 2)) == 0
        np.testing.assert_array_equal(absence, absent.astype(int))
        np.testing.assert_array_equal(gt[absent], 0.0)  # documented value of absent frames: 0,0,0,0
        np.testing.assert_array_equal(cover == 0, absent)
        # The initialisation frame shows the whole target, unoccluded.
        assert cover[0] == 8 and table["visible_pixels"][0] == table["full_pixels"][0]


def test_every_primary_challenge_is_realised_and_attributes_match_the_frames(cycle):
    names = (cycle / "list.txt").read_text().split()
    assert len(names) == len(CHALLENGES)
    for name, challenge in zip(names, CHALLENGES, strict=True):
        seq_dir = cycle / name
        attrs = json.loads((seq_dir / "attributes.json").read_text())
        info = json.loads((seq_dir / "info.json").read_text())
        assert info["primary_challenge"] == challenge and attrs[challenge], (name, challenge, attrs)
        table = read_frame_table(seq_dir)
        assert derive_attributes(table, 96, 72) == attrs
        gt, absence, _, masks = _read_seq(seq_dir)
        pixels = masks.sum(axis=(1, 2))
        inframe, occluded = table["inframe_pixels"], table["occluded_pixels"]
        # Pixel bookkeeping: every in-frame target pixel is either visible (in the mask) or occluded.
        np.testing.assert_array_equal(pixels + occluded, inframe)
        out_of_view = inframe == 0
        assert attrs["out_of_view"] == bool(out_of_view.any())
        assert np.all(absence[out_of_view] == 1) and np.all(gt[out_of_view] == 0)
        partly_hidden = (pixels > 0) & (pixels <= 0.9 * inframe)
        fully_hidden = (inframe > 0) & (pixels == 0)
        assert attrs["partial_occlusion"] == bool(partly_hidden.any())
        assert attrs["full_occlusion"] == bool(fully_hidden.any())
        if not attrs["occlusion"]:
            assert np.all(occluded < 0.1 * np.maximum(inframe, 1))
        assert attrs["motion_blur"] == bool(np.any((table["blur_length"] >= 3) & (pixels > 0)))
        if info["occluder_texture"] is None:
            assert not occluded.any()


def test_illumination_changes_the_pixels(cycle):
    seq_dir = cycle / (cycle / "list.txt").read_text().split()[CHALLENGES.index("illumination_variation")]
    table = read_frame_table(seq_dir)
    t = int(np.argmax(np.abs(np.log(table["gain"]))))
    assert abs(table["gain"][t] - 1) >= 0.25
    # With a static camera the background brightness follows the gain; with camera motion it only changes too.
    first = imread(seq_dir / "img" / "000001.jpg").astype(np.float64).mean()
    later = imread(seq_dir / "img" / f"{t + 1:06d}.jpg").astype(np.float64).mean()
    assert (later - first) * (table["gain"][t] - 1) > 0


def test_procedural_textures_without_scikit_image(tmp_path):
    split = generate_split(tmp_path, "synthetic", textures="procedural", **dict(TINY, num_sequences=1))
    manifest = json.loads((split / "manifest.json").read_text())
    assert manifest["texture_source"] == "procedural"
    assert all(t["name"].startswith("procedural:") for t in manifest["textures"])
    gt, _, _, masks = _read_seq(split / "syn_0000")
    np.testing.assert_array_equal(mask_to_xywh(masks), gt)


# ---------------------------------------------------------------------------------------------------------------
# Cache protocol


def test_crash_midway_leaves_no_complete_looking_split(tmp_path, monkeypatch):
    real = layout.render_sequence

    def crashing(cfg, index, textures=None):
        if index == 1:
            raise RuntimeError("simulated crash")
        return real(cfg, index, textures)

    monkeypatch.setattr(layout, "render_sequence", crashing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        generate_split(tmp_path, "synthetic", **TINY)
    assert not (tmp_path / "synthetic").exists()
    assert _scratch(tmp_path) == []

    # A killed process leaves its temporary folder; it never counts as the split and is removed later.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".synthetic.tmp-{dead.pid}-deadbeef-{socket.gethostname()}"
    leftover.mkdir()
    (leftover / "manifest.json").write_text("{}")
    monkeypatch.setattr(layout, "render_sequence", real)
    split = ensure_split("synthetic", tmp_path, **TINY)
    assert split == tmp_path / "synthetic" and is_complete(split)
    assert _scratch(tmp_path) == []


def test_incomplete_or_damaged_split_is_regenerated(tiny, tmp_path):
    damaged = tmp_path / "synthetic"
    shutil.copytree(tiny, damaged)
    (damaged / "syn_0001" / "masks" / "000007.png").unlink()
    assert not is_complete(damaged)
    assert is_complete(damaged, verify_files=False)
    ensure_split("synthetic", tmp_path, **TINY)
    assert _files(damaged) == _files(tiny)

    (damaged / "manifest.json").unlink()  # e.g. a copy interrupted before its last file
    ensure_split("synthetic", tmp_path, **TINY)
    assert _files(damaged) == _files(tiny)


def test_second_ensure_split_reuses_the_cache(tmp_path):
    split = ensure_split("synthetic", tmp_path, **TINY)

    def stamps():
        return {p: p.stat().st_mtime_ns for p in split.rglob("*")}

    before = stamps()
    assert ensure_split("synthetic", tmp_path, **TINY) == split
    assert stamps() == before
    # Different parameters make the cache stale: regenerated in place.
    ensure_split("synthetic", tmp_path, **dict(TINY, seed=3))
    assert json.loads((split / "manifest.json").read_text())["seed"] == 3
    assert stamps() != before


def test_concurrent_generation_of_the_same_split(tiny, tmp_path):
    barrier = threading.Barrier(3)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            results.append(generate_split(tmp_path, "synthetic", **TINY))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [tmp_path / "synthetic"] * 3
    assert _files(tmp_path / "synthetic") == _files(tiny)
    assert _scratch(tmp_path) == []


def test_growing_a_split_reuses_existing_sequences(tiny, tmp_path):
    small = generate_split(tmp_path, "synthetic", **dict(TINY, num_sequences=2))
    inode = (small / "syn_0001" / "img" / "000005.jpg").stat().st_ino
    grown = generate_split(tmp_path, "synthetic", **TINY)
    assert (grown / "syn_0001" / "img" / "000005.jpg").stat().st_ino == inode  # hard link, not re-rendered
    assert _files(grown) == _files(tiny)


def test_default_root(monkeypatch, tmp_path):
    class Settings:
        synthetic_path = str(tmp_path / "configured")

    monkeypatch.setenv(layout.ENV_VAR, str(tmp_path / "env"))
    assert layout.default_root(Settings()) == tmp_path / "env"
    monkeypatch.delenv(layout.ENV_VAR)
    assert layout.default_root(Settings()) == tmp_path / "configured"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert layout.default_root(object()) == tmp_path / "xdg" / "pytracking" / "synthetic"


# ---------------------------------------------------------------------------------------------------------------
# Loader


def test_loader_reads_sequences(tiny):
    dataset = SyntheticDataset("synthetic", root=tiny.parent, **TINY)
    seqs = dataset.get_sequence_list()
    assert seqs.names() == ["syn_0000", "syn_0001", "syn_0002"] and len(dataset) == 3
    for seq in seqs:
        gt, absence, _, masks = _read_seq(tiny / seq.name)
        assert seq.dataset == "synthetic" and seq.object_class == "synthetic"
        assert len(seq.frames) == 20 and seq.frames[0].endswith(os.path.join("img", "000001.jpg"))
        assert seq.ground_truth_rect.dtype == np.float64
        np.testing.assert_array_equal(seq.ground_truth_rect, gt)
        np.testing.assert_array_equal(seq.target_visible, absence == 0)
        assert len(seq.ground_truth_seg) == 20 and all(os.path.isfile(p) for p in seq.ground_truth_seg)
        assert seq.init_bbox() == list(gt[0])
        np.testing.assert_array_equal(seq.init_mask(), masks[0])

    attrs = dataset.get_attributes()
    assert set(ATTRIBUTES) <= set(attrs)
    for name in seqs.names():
        labels = json.loads((tiny / name / "attributes.json").read_text())
        assert {a for a, names in attrs.items() if name in names} == {a for a, v in labels.items() if v}


def test_loader_without_generation_needs_an_existing_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="list.txt"):
        SyntheticDataset(root=tmp_path, generate=False).get_sequence_list()
