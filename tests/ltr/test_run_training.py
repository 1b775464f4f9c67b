"""run_training: settings lookup, the tiny smoke setting end to end, script form, and a 2-process torchrun run."""

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ltr import run_training as rt
from ltr.admin.loading import load_network, safe_load

REPO_ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(workspace: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LTR_", "PYTRACKING_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        LTR_LOCAL_FILE=str(workspace / "ltr_local.py"),
        LTR_WORKSPACE_DIR=str(workspace),
        LTR_TENSORBOARD_DIR="",
        OMP_NUM_THREADS="1",
    )
    return env


def test_available_settings_and_unknown_names(capsys):
    assert "tests/tiny" in rt.available_settings()
    for module, name in (("tests", "nope"), ("nope", "tiny"), ("..", "x")):
        with pytest.raises(rt.UnknownTrainSettingsError, match=f"No training settings '{module}/{name}'") as e:
            rt.run_training(module, name)
        assert "  tests/tiny" in str(e.value)
    assert rt.main(["tests", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No training settings 'tests/nope'") and "tests/tiny" in err


def test_parser():
    args = rt.build_parser().parse_args(["dimp", "dimp50"])
    assert (args.train_module, args.train_name, args.cudnn_benchmark, args.seed) == ("dimp", "dimp50", True, None)
    args = rt.build_parser().parse_args(["bbreg", "atom", "--no-cudnn_benchmark", "--seed", "7"])
    assert (args.cudnn_benchmark, args.seed) == (False, 7)


def test_tiny_setting_trains_checkpoints_and_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LTR_WORKSPACE_DIR", str(tmp_path))
    monkeypatch.setenv("LTR_TENSORBOARD_DIR", "")
    trainer = rt.run_training("tests", "tiny", cudnn_benchmark=False, seed=3)
    settings = trainer.settings
    assert (settings.module_name, settings.script_name, settings.project_path) == ("tests", "tiny", "ltr/tests/tiny")
    assert settings.seed == 3 and not torch.backends.cudnn.benchmark
    directory = tmp_path / "checkpoints" / "ltr" / "tests" / "tiny"
    assert sorted(p.name for p in directory.iterdir()) == ["TinyIoUNet_ep0001.pth.tar", "TinyIoUNet_ep0002.pth.tar"]
    out = capsys.readouterr().out
    assert "[train: 2, 4 / 4] FPS:" in out and "[val: 2, 2 / 2] FPS:" in out and "[val: 1," not in out

    net, ckpt = load_network(directory)
    assert ckpt["epoch"] == 2 and ckpt["actor_type"] == "AtomActor"
    assert all(torch.equal(v, trainer.actor.net.state_dict()[k]) for k, v in net.state_dict().items())

    # Same seed: the same weights. Run again in the same workspace: resumes at epoch 2, nothing left to do.
    again = rt.run_training("tests", "tiny", seed=3)
    assert again.epoch == 2
    assert all(torch.equal(v, trainer.actor.net.state_dict()[k]) for k, v in again.actor.net.state_dict().items())


def test_script_form_from_inside_ltr(tmp_path):
    result = subprocess.run(
        [sys.executable, "run_training.py", "tests", "tiny", "--no-cudnn_benchmark", "--seed", "1"],
        cwd=REPO_ROOT / "ltr",
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("Finished training!")
    assert (tmp_path / "checkpoints/ltr/tests/tiny/TinyIoUNet_ep0002.pth.tar").is_file()


WORKER = """
import hashlib, os, sys
import ltr.admin.checkpoint as ckpt_io
from ltr.run_training import run_training

out, rank = sys.argv[1], os.environ["RANK"]
real_save = ckpt_io.save_checkpoint

def recording_save(path, **kwargs):
    with open(os.path.join(out, f"writes_rank{rank}.txt"), "a") as f:
        f.write(f"{kwargs['epoch']}\\n")
    return real_save(path, **kwargs)

ckpt_io.save_checkpoint = recording_save
trainer = run_training("tests", "tiny", seed=11)
net = trainer.actor.net.module
digest = hashlib.sha256()
for name, p in net.state_dict().items():
    digest.update(name.encode() + p.detach().numpy().tobytes())
losses = trainer.stats["train"]["Loss/total"].history
with open(os.path.join(out, f"rank{rank}.txt"), "w") as f:
    f.write(f"{type(trainer.actor.net).__name__} {trainer.settings.world_size} {digest.hexdigest()} {losses}\\n")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(textwrap.dedent(WORKER))
    out = tmp_path / "out"
    out.mkdir()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(worker),
        str(out),
    ]
    env = subprocess_env(tmp_path)
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    rank0, rank1 = ((out / f"rank{r}.txt").read_text().split(" ", 3) for r in (0, 1))
    assert rank0[:2] == rank1[:2] == ["DistributedNet", "2"]
    # Identical replicas: parameters through averaged gradients; buffers (BatchNorm statistics) because DDP copies
    # rank 0's before every forward pass and the last one (validation, eval mode) leaves them unchanged.
    assert rank0[2] == rank1[2]
    assert rank0[3] != rank1[3]  # ... trained on different data
    assert (out / "writes_rank0.txt").read_text().split() == ["1", "2"]
    assert not (out / "writes_rank1.txt").exists()  # only rank 0 writes checkpoints

    directory = tmp_path / "checkpoints" / "ltr" / "tests" / "tiny"
    assert sorted(p.name for p in directory.iterdir()) == ["TinyIoUNet_ep0001.pth.tar", "TinyIoUNet_ep0002.pth.tar"]
    state = safe_load(directory / "TinyIoUNet_ep0002.pth.tar")
    assert len(state["rng_state"]) == 2  # every process's random state, to resume each stream
    digest = hashlib.sha256()
    for name, p in state["net"].items():
        digest.update(name.encode() + p.numpy().tobytes())
    assert digest.hexdigest() == rank0[2]
    # Only rank 0 prints.
    assert result.stdout.count("Finished training!") == 1
