"""Issue 18: validation for every task, best / kept / interrupted checkpoints, readable logs, the run page."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

import tiny_data
import zoo
from zoo.cli import main
from zoo.training import finish, prepare
from zoo.training.state import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
COMMON = {"log_every": 1, "progress": False, "threads": 1, "seed": 0, "sample_every": 0, "val_every": 1}
TRANSLATION = {"load_size": 36, "crop_size": 32, "discriminator_kwargs": {"ndf": 8}}
PIX2PIX = {**TRANSLATION, "generator_kwargs": {"num_downs": 5, "ngf": 8}, "batch_size": 2}
CYCLEGAN = {**TRANSLATION, "generator_kwargs": {"ngf": 8, "n_blocks": 1}, "pool_size": 2}
ESPCN = {"kwargs": {"num_feat": 8, "num_feat2": 4}, "patch_size": 24, "batch_size": 2}


@pytest.fixture(scope="module")
def data(tmp_path_factory, shared_dir: Path) -> dict[str, Path]:
    if not (shared_dir / "data").is_dir():
        pytest.skip(f"{shared_dir / 'data'} is missing")
    root = tmp_path_factory.mktemp("tiny")
    return {"sr": tiny_data.sr_folder(shared_dir, root), "paired": tiny_data.paired_folder(shared_dir, root),
            "unpaired": tiny_data.unpaired_folder(shared_dir, root), "photos": tiny_data.photo_folder(shared_dir, root),
            "style": shared_dir / "data" / "style" / "style-images" / "candy.jpg",
            "set5": shared_dir / "data" / "sr_bench" / "Set5"}


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


def _peak_at(trainer_cls, step: int, metric: str, better: float) -> None:
    """Make ``metric`` look best at ``step``: the real value, shifted by ``better`` there."""
    real = trainer_cls.validate

    def validate(self):
        values = real(self)
        if self.step == step:
            values[metric] += better
        return values

    trainer_cls.validate = validate


@pytest.mark.shared
@pytest.mark.parametrize("task, layout, options, metric, better, expected", [
    ("paired-translation", "paired", PIX2PIX, "psnr", 100.0, {"psnr", "ssim"}),
    ("unpaired-translation", "unpaired", CYCLEGAN, "cycle_l1_A", -1.0, {"cycle_l1_A", "cycle_l1_B"}),
])
def test_validation_rows_and_a_best_checkpoint_that_peaked_earlier(data, tmp_path, zoo_manager, monkeypatch, capsys,
                                                                  task, layout, options, metric, better, expected):
    trainer = prepare(task, data[layout], out=tmp_path / "run",
                      overrides={**COMMON, **options, "steps": 3, "checkpoint_every": 3, "keep_every": 1,
                                 "val_data": str(data[layout]), "best_metric": metric})
    monkeypatch.setattr(type(trainer), "validate", type(trainer).validate)
    _peak_at(type(trainer), 2, metric, better)
    finish(trainer, trainer.fit())
    run = tmp_path / "run"
    rows = _rows(run / "val_log.csv")
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) - {"step"} == expected  # the metrics the weights here allow, nothing random
    log = (run / "train.log").read_text()
    for name in trainer.val_metric_names:
        assert (name in expected) != (f"validation metric {name} unavailable:" in log)
    best, last = load_checkpoint(run / "checkpoints" / "best.pt"), load_checkpoint(run / "checkpoints" / "last.pt")
    assert best["step"] == 2 and last["step"] == 3 and best["best"]["metric"] == metric
    export = trainer.export_model
    assert any(not torch.equal(v, last["models"][export][k]) for k, v in best["models"][export].items())
    best_w = load_file(str(run / "best.safetensors"))
    kept = load_file(str(run / "checkpoints" / "step_0000002.safetensors"))
    assert all(torch.equal(best_w[k], kept[k]) for k in kept)
    catalog = yaml.safe_load((run / "catalog.yaml").read_text())["entries"][0]
    assert catalog["weights"][0]["url"] == "best.safetensors"
    for checkpoint, expected_file in (("best", run / "best.safetensors"), ("last", run / "model.safetensors"),
                                      (2, run / "checkpoints" / "step_0000002.safetensors")):
        pipe = zoo.load(str(run), checkpoint=checkpoint, device="cpu")
        state = load_file(str(expected_file))
        assert all(torch.equal(v, state[k]) for k, v in pipe.model.state_dict().items()), checkpoint
    with pytest.raises(zoo.OptionError, match="kept no weights of step 9 .*kept steps: 1, 2, 3"):
        zoo.load(str(run), checkpoint=9)


@pytest.mark.shared
def test_sr_validation_on_a_registered_dataset_names_lpips_unavailable(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_DATA", f"set5={data['set5']}")
    out = tmp_path / "run"
    assert main(["train", "super-resolution-luma", "--data", str(data["sr"]), "--out", str(out), "steps=2",
                 "checkpoint_every=2", "val_data=set5", "kwargs={num_feat: 8, num_feat2: 4}", "patch_size=24",
                 "batch_size=2", "progress=false", "threads=1"]) == 0
    printed = capsys.readouterr().out
    assert "validation on set5: psnr_y, ssim_y; best.pt follows psnr_y (max)" in printed
    assert ("validation metric lpips unavailable: LPIPS AlexNet trunk weights are not here "
            "(alexnet-owt-7be5be79.pth") in printed
    rows = _rows(out / "val_log.csv")
    assert set(rows[-1]) == {"step", "psnr_y", "ssim_y"} and 0 < float(rows[-1]["psnr_y"]) < 100
    record = json.loads((out / "run.json").read_text())
    assert record["validation"]["unavailable"].keys() == {"lpips"}


@pytest.mark.shared
@pytest.mark.parametrize("task, layout, options, expected", [
    ("colorization", "photos", {**PIX2PIX}, {"psnr"}),
    ("style-transfer", "photos", {"image_size": 32, "style_size": 32, "vgg_weights": None, "batch_size": 2}, set()),
])
def test_validation_of_the_other_tasks(data, tmp_path, zoo_manager, task, layout, options, expected):
    if task == "style-transfer":
        options = {**options, "style_image": str(data["style"])}
    trainer = prepare(task, data[layout], out=tmp_path / "run",
                      overrides={**COMMON, **options, "steps": 1, "val_data": str(data["photos"])})
    finish(trainer, trainer.fit())
    rows = _rows(tmp_path / "run" / "val_log.csv") if (tmp_path / "run" / "val_log.csv").stat().st_size else []
    assert (set(rows[0]) - {"step"} if rows else set()) == expected
    unavailable = json.loads((tmp_path / "run" / "run.json").read_text())["validation"]["unavailable"]
    assert set(unavailable) == set(trainer.val_metric_names) - expected


CHILD = textwrap.dedent("""
    import sys, time
    from zoo.cli import main
    from zoo.training.trainer import Trainer
    one_step = Trainer._one_step  # the loop's own step (trainers override after_step, e.g. SR's EMA)
    def slow(self, *args):
        out = one_step(self, *args)
        time.sleep(0.1)  # leaves the test time to send the signal mid-run
        return out
    Trainer._one_step = slow
    sys.exit(main(sys.argv[1:]))
""")


def _env() -> dict[str, str]:
    paths = [str(REPO), str(REPO / "plugins"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}


SIGNAL_STEPS = 16


def _signal_args(data: dict[str, Path]) -> list[str]:
    return ["train", "super-resolution-luma", "--data", str(data["sr"]), "kwargs={num_feat: 8, num_feat2: 4}",
            "patch_size=24", "batch_size=2", "repeat=2", f"steps={SIGNAL_STEPS}", "checkpoint_every=1000",
            "log_every=1", "progress=false", "threads=1", "seed=5", "sample_every=0"]


@pytest.fixture(scope="module")
def straight_run(data, tmp_path_factory) -> Path:
    """The run the interrupted-and-resumed ones must reproduce, trained straight through."""
    out = tmp_path_factory.mktemp("straight") / "run"
    threads = torch.get_num_threads()
    try:
        assert main([*_signal_args(data), "--out", str(out)]) == 0
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.shared
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_checkpoints_the_current_step_and_resume_is_bit_exact(data, straight_run, tmp_path, capsys, signum):
    run = tmp_path / "stopped"
    child = subprocess.Popen([sys.executable, "-c", CHILD, *_signal_args(data), "--out", str(run)], env=_env(),
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    log = run / "train.log"
    while time.time() < deadline and not (log.is_file() and "step 3/" in log.read_text()):
        time.sleep(0.05)
    child.send_signal(signum)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signum, err[-2000:]
    stopped = load_checkpoint(run / "checkpoints" / "last.pt")["step"]
    assert 3 <= stopped < SIGNAL_STEPS
    assert f"checkpoint written at step {stopped}" in err and "--resume" in err and len(err.strip().splitlines()) == 1
    assert int(_rows(run / "train_log.csv")[-1]["step"]) == stopped
    assert json.loads((run / "run.json").read_text())["history"][-1]["event"] == "interrupt"

    assert main(["train", "super-resolution-luma", "--out", str(run), "--resume"]) == 0
    assert f"zoo train: resumed from step {stopped}" in capsys.readouterr().out
    a, b = load_file(str(run / "model.safetensors")), load_file(str(straight_run / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    losses = [{k: v for k, v in r.items() if k != "seconds"} for r in _rows(run / "train_log.csv")]
    straight_rows = _rows(straight_run / "train_log.csv")
    assert losses == [{k: v for k, v in r.items() if k != "seconds"} for r in straight_rows]


@pytest.mark.shared
def test_logs_a_person_reads(data, tmp_path, capsys):
    """A non-terminal stdout/stderr (a batch job's log; here pytest's capture): plain lines even with the default
    progress=true, no \r; train.log, run.json and the TensorBoard note."""
    out = tmp_path / "run"
    assert main(["train", "super-resolution-luma", "--data", str(data["sr"]), "--out", str(out), "steps=4",
                 "log_every=2", "kwargs={num_feat: 8, num_feat2: 4}", "patch_size=24", "batch_size=2",
                 "threads=1"]) == 0
    done = capsys.readouterr()
    assert "\r" not in done.out + done.err
    lines = [ln for ln in done.out.splitlines() if ln.startswith("step ")]
    assert [ln.split()[1] for ln in lines] == ["2/4", "4/4"]
    assert all(" epoch " in ln and "| pixel " in ln and "| lr " in ln and "img/s" in ln and "ETA" in ln for ln in lines)
    log = (out / "train.log").read_text()
    assert sum(" step " in ln for ln in log.splitlines()) == 2
    import importlib.util

    if importlib.util.find_spec("tensorboard") is None:
        assert "TensorBoard logging is off: the tensorboard package is not installed (pip install tensorboard" in log
    record = json.loads((out / "run.json").read_text())
    assert record["options"]["steps"] == 4 and record["command"] == sys.argv
    assert record["versions"]["torch"] == torch.__version__ and record["versions"]["zoo"] == zoo.__version__
    assert "cuda" in record["versions"] and record["device"] == "cpu" and record["status"] == "finished"
    assert record["git"] is None or len(record["git"]["commit"]) == 40
    assert [e["event"] for e in record["history"]] == ["start", "finish"]


CHECK_PAGE = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  console.log(broken.length ? "PAGE-BROKEN " + broken.join(" ") : "PAGE-OK " + document.images.length);
});
</script></body>"""


@pytest.mark.shared
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_run_page_opens_in_headless_chromium(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "paired-translation", "--data", str(data["paired"]), "--out", str(out), "steps=4",
                 "sample_every=2", "checkpoint_every=2", "log_every=1", "load_size=36", "crop_size=32",
                 "generator_kwargs={num_downs: 5, ngf: 8}", "discriminator_kwargs={ndf: 8}", "progress=false",
                 "threads=1", f"val_data={data['paired']}"]) == 0
    assert main(["runs", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "run page: file://" in shown and "best: psnr" in shown
    page = (out / "index.html").read_text()
    for text in ("zoo train run: run (paired-translation)", "curves/train.png", "curves/validation.png",
                 "samples/step_0000004.png", "row 1: input; row 2: output; row 3: target", "lpips: unavailable",
                 "<th>option</th>", "finished"):
        assert text in page, text
    probe = out / "probe.html"
    probe.write_text(page.replace("</body>", CHECK_PAGE))
    done = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    console = [ln for ln in done.stderr.splitlines() if ":CONSOLE" in ln]
    assert len(console) == 1 and "PAGE-OK 4" in console[0], console  # 2 curves + 2 grids; no other console message
    assert main(["runs", "ls", str(tmp_path)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split() == ["run", "name", "task", "status", "step", "best"]
    assert str(out) in listed[1] and "finished" in listed[1] and " 4 " in listed[1] and "psnr" in listed[1]


@pytest.mark.shared
def test_lpips_runs_with_a_local_trunk_file(data, tmp_path, zoo_manager):
    """metric_weights={lpips: PATH} (a torchvision AlexNet file, here a seeded one) makes LPIPS a validation
    metric, and best_metric=auto then follows it (lower is better)."""
    import torchvision

    torch.manual_seed(0)
    features = torchvision.models.alexnet(weights=None).features.state_dict()
    trunk = tmp_path / "alexnet-local.pth"
    torch.save({f"features.{k}": v for k, v in features.items()}, trunk)
    trainer = prepare("paired-translation", data["paired"], out=tmp_path / "run",
                      overrides={**COMMON, **PIX2PIX, "steps": 2, "checkpoint_every": 2,
                                 "val_data": str(data["paired"]), "metric_weights": {"lpips": str(trunk)}})
    finish(trainer, trainer.fit())
    rows = _rows(tmp_path / "run" / "val_log.csv")
    assert set(rows[0]) == {"step", "lpips", "psnr", "ssim"} and float(rows[0]["lpips"]) >= 0
    record = json.loads((tmp_path / "run" / "run.json").read_text())["validation"]
    assert record["best_metric"] == "lpips" and record["best_mode"] == "min" and "lpips" not in record["unavailable"]


@pytest.mark.shared
def test_tensorboard_event_files_when_installed(data, tmp_path, sr_data):
    pytest.importorskip("tensorboard")
    out = tmp_path / "run"
    assert main(["train", "super-resolution-luma", "--data", str(sr_data), "--out", str(out), "steps=2",
                 "kwargs={num_feat: 8, num_feat2: 4}", "patch_size=24", "batch_size=2", "progress=false",
                 "threads=1"]) == 0
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert "TensorBoard logging is off" not in (out / "train.log").read_text()
