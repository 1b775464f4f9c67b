import os
import pickle
from pathlib import Path

import pytest

from ltr.admin import environment as envmod
from ltr.admin.environment import EnvironmentSettings, create_default_local_file, env_settings
from ltr.admin.settings import Settings
from pytracking.utils.settings_base import UnknownSettingError

REFERENCE_ATTRIBUTES = [
    "workspace_dir", "tensorboard_dir", "pretrained_networks", "pregenerated_masks", "lasot_dir", "got10k_dir",
    "trackingnet_dir", "coco_dir", "lvis_dir", "sbd_dir", "imagenet_dir", "imagenetdet_dir", "ecssd_dir",
    "hkuis_dir", "msra10k_dir", "davis_dir", "youtubevos_dir", "lasot_candidate_matching_dataset_path",
    "imagenet_vid_gmot_dir", "tao_burst_dir", "davis16_dir", "davis_testdev_dir",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _defaults(default_output_settings):
    """These tests check the defaults, so the suite-wide output redirection is undone."""


def local_file() -> Path:
    return Path(os.environ["LTR_LOCAL_FILE"])


def test_defaults_and_derived_directories():
    s = EnvironmentSettings()
    for name in REFERENCE_ATTRIBUTES:
        assert hasattr(s, name), name
    assert s.workspace_dir == str(envmod.PROJECT_DIR / "workspace")
    assert s.tensorboard_dir == os.path.join(s.workspace_dir, "tensorboard")
    s.workspace_dir = "/ws"
    assert s.pretrained_networks == os.path.join("/ws", "pretrained_networks")
    s.tensorboard_dir = "/tb"
    s.workspace_dir = "/ws2"
    assert s.tensorboard_dir == "/tb"


def test_missing_local_file_is_created_and_is_a_subclass():
    s = env_settings()
    assert local_file().exists()
    assert isinstance(s, EnvironmentSettings)
    assert type(s).__module__ == "ltr.admin.local"  # what legacy checkpoints pickle


def test_environment_variables_override_and_derived_follow(monkeypatch):
    monkeypatch.setenv("LTR_WORKSPACE_DIR", "/scratch/ltr")
    monkeypatch.setenv("LTR_LASOT_DIR", "/data/lasot")
    s = env_settings()
    assert s.workspace_dir == "/scratch/ltr"
    assert s.lasot_dir == "/data/lasot"
    assert s.tensorboard_dir == os.path.join("/scratch/ltr", "tensorboard")


def test_misspelled_attribute_in_local_file():
    create_default_local_file(local_file())
    text = local_file().read_text().replace("self.lasot_dir = ''", "self.lasot_dri = '/x'")
    local_file().write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "lasot_dri" in t)
    with pytest.raises(UnknownSettingError, match=rf"{local_file()}:{line}: 'lasot_dri'.*Did you mean 'lasot_dir'"):
        env_settings()


def test_original_style_hand_written_class_is_accepted():
    local_file().write_text(
        "class EnvironmentSettings:\n"
        "    def __init__(self):\n"
        "        self.workspace_dir = '/old/ws'\n"
        "        self.tensorboard_dir = self.workspace_dir + '/tensorboard/'\n"
        "        self.got10k_dir = '/old/got'\n"
    )
    s = env_settings()
    assert isinstance(s, EnvironmentSettings)
    assert (s.workspace_dir, s.tensorboard_dir, s.got10k_dir) == ("/old/ws", "/old/ws/tensorboard/", "/old/got")


def test_windows_path_round_trip(monkeypatch):
    monkeypatch.setitem(EnvironmentSettings._defaults, "workspace_dir", r"D:\work\it's")
    create_default_local_file(local_file())
    monkeypatch.setitem(EnvironmentSettings._defaults, "workspace_dir", "/elsewhere")
    assert env_settings().workspace_dir == r"D:\work\it's"


def test_run_settings_hold_env_and_accept_new_attributes():
    s = Settings()
    assert isinstance(s.env, EnvironmentSettings)
    s.batch_size = 26
    assert pickle.loads(pickle.dumps(s)).batch_size == 26


def test_settings_stay_picklable_after_settings_are_read_again():
    # Training creates Settings, then datasets call env_settings() again; the settings must still pickle (they
    # are saved in every checkpoint), so the unchanged local file must not be re-executed into new classes.
    s = Settings()
    env_settings()
    assert type(pickle.loads(pickle.dumps(s)).env) is type(env_settings())


def test_edited_local_file_is_reloaded():
    env_settings()
    text = local_file().read_text().replace("self.lasot_dir = ''", "self.lasot_dir = '/edited'")
    local_file().write_text(text)
    assert env_settings().lasot_dir == "/edited"
