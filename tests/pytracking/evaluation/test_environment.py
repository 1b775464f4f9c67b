import os
import sys
from pathlib import Path

import pytest

from pytracking.evaluation import environment as envmod
from pytracking.evaluation.environment import EnvSettings, create_default_local_file, env_settings
from pytracking.utils.settings_base import SettingsError, UnknownSettingError

REFERENCE_ATTRIBUTES = [
    # Every path the original's EnvSettings declares or its loaders read.
    "results_path", "segmentation_path", "network_path", "result_plot_path", "otb_path", "nfs_path", "uav_path",
    "tpl_path", "vot_path", "got10k_path", "lasot_path", "lasot_extension_subset_path", "trackingnet_path",
    "oxuva_path", "davis_dir", "youtubevos_dir", "got_packed_results_path", "got_reports_path",
    "tn_packed_results_path", "trackingnet_mask_path", "got10k_mask_path", "lasot_mask_path", "dataspec_path",
    "avist_path", "lagot_path", "mobiface_path",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _defaults(default_output_settings):
    """These tests check the defaults, so the suite-wide output redirection is undone."""


def local_file() -> Path:
    return Path(os.environ["PYTRACKING_LOCAL_FILE"])


def test_defaults_cover_reference_attributes():
    s = EnvSettings()
    for name in REFERENCE_ATTRIBUTES:
        assert hasattr(s, name), name
    assert s.otb_path == ""
    assert s.results_path.rstrip(os.sep).endswith(os.path.join("pytracking", "tracking_results"))
    assert s.network_path.rstrip(os.sep).endswith(os.path.join("pytracking", "networks"))


def test_missing_local_file_is_created_and_used():
    assert not local_file().exists()
    s = env_settings()
    assert local_file().exists()
    assert s.results_path == EnvSettings().results_path
    # The generated file is valid Python holding every attribute.
    text = local_file().read_text()
    for name in REFERENCE_ATTRIBUTES:
        assert f"settings.{name} = " in text


def test_local_file_values_are_used():
    create_default_local_file(local_file())
    text = local_file().read_text().replace("settings.otb_path = ''", "settings.otb_path = '/data/otb'")
    local_file().write_text(text)
    assert env_settings().otb_path == "/data/otb"


def test_misspelled_attribute_reports_file_line_and_suggestion():
    local_file().write_text(
        "from pytracking.evaluation.environment import EnvSettings\n"
        "\n"
        "def local_env_settings():\n"
        "    settings = EnvSettings()\n"
        "    settings.otb_paht = '/data/otb'\n"
        "    return settings\n"
    )
    with pytest.raises(UnknownSettingError) as info:
        env_settings()
    msg = str(info.value)
    assert f"{local_file()}:5" in msg
    assert "'otb_paht'" in msg and "Did you mean 'otb_path'?" in msg


def test_syntax_error_names_file_and_fix():
    local_file().write_text("def local_env_settings(:\n")
    with pytest.raises(SettingsError, match="delete it"):
        env_settings()
    assert "pytracking.evaluation.local" not in sys.modules or sys.modules["pytracking.evaluation.local"] is not None


def test_file_without_factory_is_reported():
    local_file().write_text("x = 1\n")
    with pytest.raises(SettingsError, match="local_env_settings"):
        env_settings()


def test_environment_variables_override(monkeypatch):
    create_default_local_file(local_file())
    monkeypatch.setenv("PYTRACKING_OTB_PATH", "/env/otb")
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", os.pathsep.join(["/nets/a", "/nets/b"]))
    s = env_settings()
    assert s.otb_path == "/env/otb"
    assert s.network_path == ["/nets/a", "/nets/b"]
    assert EnvSettings.env_var("lasot_path") == "PYTRACKING_LASOT_PATH"


def test_single_network_path_from_environment_stays_a_string(monkeypatch):
    monkeypatch.setenv("PYTRACKING_NETWORK_PATH", "/nets/only")
    assert env_settings().network_path == "/nets/only"


@pytest.mark.parametrize("value", [r"C:\Users\me\data\otb", '/data/it\'s "quoted"', "/data/ünïcode\\n"])
def test_awkward_paths_round_trip_through_the_generated_file(monkeypatch, value):
    monkeypatch.setitem(EnvSettings._defaults, "otb_path", value)
    create_default_local_file(local_file())
    monkeypatch.setitem(EnvSettings._defaults, "otb_path", "")
    assert env_settings().otb_path == value


def test_legacy_settings_object_is_converted():
    # An old hand-written local.py returning its own object type.
    local_file().write_text(
        "class Old:\n"
        "    pass\n"
        "\n"
        "def local_env_settings():\n"
        "    s = Old()\n"
        "    s.otb_path = '/old/otb'\n"
        "    s.results_path = '/old/results'\n"
        "    return s\n"
    )
    s = env_settings()
    assert isinstance(s, EnvSettings)
    assert (s.otb_path, s.results_path) == ("/old/otb", "/old/results")


def test_unwritable_location_falls_back_to_defaults(monkeypatch, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    monkeypatch.setenv("PYTRACKING_LOCAL_FILE", str(blocker / "local.py"))
    s = env_settings()
    assert s.results_path == EnvSettings().results_path


def test_default_location_is_inside_the_package(monkeypatch):
    monkeypatch.delenv("PYTRACKING_LOCAL_FILE")
    assert envmod.local_file_path() == envmod.PACKAGE_DIR / "evaluation" / "local.py"


def test_settings_pickle_round_trip():
    import pickle

    s = EnvSettings()
    s.otb_path = "/x"
    t = pickle.loads(pickle.dumps(s))
    assert t.otb_path == "/x" and t.as_dict() == s.as_dict()
