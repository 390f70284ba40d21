"""The trainer: learning, determinism, resuming, methods, files, errors, distributed runs.

Most tests train tiny networks (ResNet18 on 16 px patches, 32-d latent) on
in-memory datasets that follow the ``xmodal.data.Sen12MS`` contract; the
end-to-end tests read the tiny synthetic SEN12MS root of ``conftest.py``.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from xmodal.atomic import DiskFullError
from xmodal.config import ConfigError, ExperimentConfig
from xmodal.losses import ALIGNMENTS
from xmodal.metrics import f1_scores
from xmodal.rundir import Result, RunDir
from xmodal.training import (
    LossRecord,
    ResumeError,
    alignment_loss,
    build_model,
    load_model,
    make_optimizer,
    predict,
    run_experiment,
    total_loss,
    train_on_datasets,
    train_step,
)

BANDS = {"s1": 2, "s2": 10, "rgb": 3}
K = 4
TINY = dict(
    backbone_width=16, latent_dim=32, merge_hidden=[32, 32], classifier_hidden=32, modality_hidden=16, dropout=0.1,
    batch_size=16, lr=3e-3, progress=False, threads=1, n_latent=10, seed=0,
    data_root="/nonexistent/sen12ms",  # in-memory datasets; a finished run must not look for files
)


class MemoryPatches(torch.utils.data.Dataset):
    """Patches of one modality with the Sen12MS attributes, made from a shared scene table.

    Every patch has a dominant class (soft label: 0.7 dominant + 0.3 spread over
    a second class); its image is a per-modality class signature per band plus
    noise (noisier for s1, as SAR is the weaker sensor). The same ``seed`` and
    ``split`` give the same ids and labels for every modality (aligned pairs).
    """

    def __init__(self, modality: str, n: int, split: str = "train", size: int = 16, seed: int = 0) -> None:
        g = np.random.default_rng(seed + (0 if split == "train" else 1000))
        dom = g.integers(0, K, n)
        second = (dom + g.integers(1, K, n)) % K
        labels = np.zeros((n, K), np.float32)
        labels[np.arange(n), dom] = 0.7
        labels[np.arange(n), second] += 0.3
        self.labels = labels
        self.ids = [f"{split}_{i}" for i in range(n)]
        self.modality, self.in_channels, self.n_classes = modality, BANDS[modality], K
        self.class_names = [f"class{c}" for c in range(K)]
        self.stats = {"mean": [0.0] * self.in_channels}
        sig = np.random.default_rng(list(BANDS).index(modality) + 7).normal(0, 1, (K, self.in_channels))
        noise = 1.5 if modality == "s1" else 0.8
        gx = np.random.default_rng(seed + 17 + list(BANDS).index(modality) + (0 if split == "train" else 999))
        x = (labels @ sig)[:, :, None, None] + noise * gx.normal(0, 1, (n, self.in_channels, size, size))
        self.x = torch.from_numpy(x.astype(np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], torch.from_numpy(self.labels[i])

    def __getitems__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[idx], torch.from_numpy(self.labels[idx])


def _sets(mods: list[str], n_train: int = 64, n_test: int = 48) -> tuple[dict, dict]:
    return ({m: MemoryPatches(m, n_train, "train") for m in mods}, {m: MemoryPatches(m, n_test, "test") for m in mods})


def _cfg(**kw) -> ExperimentConfig:
    return ExperimentConfig(**{**TINY, **kw})


def _strip_times(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if k != "seconds" and not k.endswith("_seconds")} for h in history]


# ----------------------------------------------------------------------------- learning
@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, dict, dict]:
    out = tmp_path_factory.mktemp("learned")
    train, test = _sets(["s1", "s2"], n_train=96)
    result = train_on_datasets(_cfg(method="C+T+M", epochs=6), train, test, out)
    return result, out, train, test


@pytest.mark.slow
def test_short_run_lowers_loss_and_beats_majority_predictor(learned) -> None:
    result, _, train, test = learned
    hist = result.history
    assert hist[-1]["L_C"] < hist[0]["L_C"]
    assert hist[-1]["loss"] < hist[0]["loss"]
    # Majority-style predictor: the training mean histogram for every test patch.
    prior = np.tile(train["s2"].labels.mean(axis=0), (len(test["s2"]), 1))
    baseline = f1_scores(test["s2"].labels, prior)["weighted"]
    for m in ("s1", "s2"):
        assert result.metrics[m]["weighted"] > baseline + 0.1, (m, result.metrics[m], baseline)


@pytest.mark.slow
def test_result_schema_and_files(learned) -> None:
    result, out, _, test = learned
    run = RunDir(out)
    saved = json.loads(run.result_path.read_text())
    for key in ("schema", "status", "config", "config_hash", "data", "metrics", "homogeneity", "history",
                "timings", "versions", "device", "world_size"):
        assert key in saved
    assert Result.from_dict(saved) == result and run.status() == "ok"
    assert result.schema == 1 and result.ok and result.world_size == 1
    assert result.device == "cpu"
    assert set(result.metrics) == {"s1", "s2"} and set(result.homogeneity) == {"s1|s2"}
    assert 0.0 <= result.homogeneity["s1|s2"] <= 1.0
    assert result.data["n_train"] == {"s1": 96, "s2": 96} and result.data["n_test"] == 48
    assert result.data["skipped"] == []  # the datasets have no ``skipped_patches`` attribute
    assert len(result.data["train_prior"]) == len(result.class_names)
    assert abs(sum(result.data["train_prior"]) - 1.0) < 1e-6
    assert set(result.history[0]) >= {"epoch", "L_C", "L_M", "L_T", "loss", "grl_weight", "triplet_valid", "seconds"}
    assert set(result.timings) >= {"train_seconds", "seconds_per_epoch", "eval_seconds", "total_seconds"}
    pred = run.predictions()
    assert pred.prob["s1"].shape == pred.prob["s2"].shape == (48, K)
    assert np.allclose(pred.prob["s1"].sum(axis=1), 1.0, atol=1e-5)
    assert list(pred.ids["s1"]) == test["s1"].ids and np.allclose(pred.target["s1"], test["s1"].labels)
    lat = run.latents()
    assert lat.z.shape == (20, 32) and list(lat.modality) == ["s1"] * 10 + ["s2"] * 10
    assert list(lat.ids[:10]) == list(lat.ids[10:]) == test["s1"].ids[:10]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (run.result_path, run.checkpoint_path, run.predictions_path, run.latents_path))


@pytest.mark.slow
def test_finished_run_is_returned_without_retraining(learned) -> None:
    result, out, train, test = learned
    calls = []
    again = train_on_datasets(_cfg(method="C+T+M", epochs=6), train, test, out, on_epoch_end=calls.append)
    assert calls == [] and again == result  # train_on_datasets resumes from the complete checkpoint
    # run_experiment returns a finished result before even looking at the data (data_root does not exist).
    assert not Path(result.config["data_root"]).exists()
    assert run_experiment(_cfg(method="C+T+M", epochs=6), out) == result


@pytest.mark.slow
def test_load_model_and_predict_match_saved_predictions(learned) -> None:
    _, out, _, test = learned
    net, config = load_model(out)
    assert config.method == "C+T+M" and net.modalities == ("s1", "s2")
    x, _ = test["s2"].__getitems__([0, 1, 2, 3])
    prob = predict(net, x, "s2")
    saved = RunDir(out).predictions().prob["s2"][:4]
    assert np.allclose(prob, saved, atol=1e-5)


# ----------------------------------------------------------------------------- eq. (4)
@pytest.mark.parametrize("method", ["C", "C+M", "C+T", "C+T+M"])
def test_total_loss_is_eq_4_in_both_readings(method: str) -> None:
    cfg = _cfg(method=method, alpha=2.0, beta=3.0)
    L_C, L_M, L_T = torch.tensor(0.5), torch.tensor(0.25), torch.tensor(0.125)
    t = 2.0 * 0.125 if "T" in method else 0.0
    # back-propagated: L_M always enters with +1 (the GRL reverses and scales its gradient for the encoders)
    assert total_loss(L_C, L_M, L_T, cfg).item() == pytest.approx(3.0 * 0.5 + t + 0.25)
    # what the encoders minimise: - grl_w * L_M only with M
    m = -0.5 * 0.25 if "M" in method else 0.0
    assert total_loss(L_C, L_M, L_T, cfg, grl_w=0.5).item() == pytest.approx(3.0 * 0.5 + t + m)


@pytest.mark.slow
def test_history_holds_every_loss_record_field_by_name(learned) -> None:
    result = learned[0]
    assert list(LossRecord._fields) == ["L_C", "L_M", "L_T", "loss", "triplet_valid", "modality_accuracy", "L_align"]
    for i, h in enumerate(result.history):  # reversal: no alignment term of its own, so no L_align
        probed = i % 2 == 0 or i == len(result.history) - 1  # with M: every other epoch and the last
        assert set(h) == {"epoch", *LossRecord._fields, "grl_weight", "seconds"} - {"L_align"} | (
            {"probe_accuracy", "probe_seconds"} if probed else set())
        assert 0.0 <= h["triplet_valid"] <= 1.0
        assert 0.0 <= h["modality_accuracy"] <= 1.0
        if probed:
            assert 0.0 <= h["probe_accuracy"] <= 1.0 and h["probe_seconds"] > 0


# ----------------------------------------------------------------------------- alignments
@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_total_loss_replaces_minus_l_m_by_the_alignment_term(alignment: str) -> None:
    cfg = _cfg(method="C+T+M", alpha=2.0, beta=3.0, alignment=alignment)
    L_C, L_M, L_T, L_A = torch.tensor(0.5), torch.tensor(0.25), torch.tensor(0.125), torch.tensor(4.0)
    if alignment == "reversal":
        assert total_loss(L_C, L_M, L_T, cfg).item() == pytest.approx(1.5 + 0.25 + 0.25)
        assert total_loss(L_C, L_M, L_T, cfg, grl_w=0.5).item() == pytest.approx(1.5 + 0.25 - 0.125)
        return
    # back-propagated: L_M trains the modality classifier (reversal weight 0), w * L_align the encoders
    assert total_loss(L_C, L_M, L_T, cfg, 0.5, L_A, backprop=True).item() == pytest.approx(1.5 + 0.25 + 0.25 + 2.0)
    assert total_loss(L_C, L_M, L_T, cfg, 0.5, L_A).item() == pytest.approx(1.5 + 0.25 + 2.0)  # the encoders'
    with pytest.raises(ValueError, match=f"alignment '{alignment}' with M needs L_align"):
        total_loss(L_C, L_M, L_T, cfg)
    # methods without M ignore the alignment
    c = _cfg(method="C+T", alpha=2.0, beta=3.0, alignment=alignment)
    assert total_loss(L_C, L_M, L_T, c, grl_w=0.5).item() == pytest.approx(1.5 + 0.25)


@pytest.mark.slow
@pytest.mark.parametrize("alignment", ALIGNMENTS)
def test_every_alignment_trains(tmp_path: Path, alignment: str) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    r = train_on_datasets(_cfg(method="C+T+M", epochs=2, alignment=alignment), train, test, tmp_path)
    assert r.ok and r.config["alignment"] == alignment
    for h in r.history:
        assert ("L_align" in h) == (alignment != "reversal")
        assert all(np.isfinite(v) for v in h.values())
        assert 0.0 <= h["probe_accuracy"] <= 1.0
    if alignment == "confusion":  # L_conf = ln 2 + KL(uniform || softmax) >= ln 2
        assert all(h["L_align"] >= np.log(2) - 1e-6 for h in r.history)
    for m in ("s1", "s2"):
        assert 0.0 <= r.metrics[m]["weighted"] <= 1.0


def _confusion_step_setup() -> tuple:
    torch.manual_seed(0)
    cfg = _cfg(method="C+T+M", alignment="confusion", dropout=0.0)
    train, _ = _sets(["s1", "s2"], n_train=16, n_test=4)
    net = build_model(cfg, {m: ds.in_channels for m, ds in train.items()}, K)
    xs = {m: ds.__getitems__(list(range(8)))[0] for m, ds in train.items()}
    y = torch.cat([ds.__getitems__(list(range(8)))[1] for ds in train.values()])
    return cfg, net, xs, y


def test_confusion_term_trains_the_encoders_and_not_the_modality_classifier() -> None:
    cfg, net, xs, y = _confusion_step_setup()
    out = net(xs)
    L_align = alignment_loss(out["z"], [8, 8], net, cfg)
    head = list(net.modality_classifier.parameters())
    encoders = list(net.backbones.parameters()) + list(net.merges.parameters())
    grads = torch.autograd.grad(L_align, head + encoders, allow_unused=True)
    assert all(g is None or not g.any() for g in grads[:len(head)])  # the classifier: no gradient from L_conf
    assert any(g is not None and g.abs().sum() > 0 for g in grads[len(head):])  # the encoders: some
    # the classifier's own loss L_M, through the GRL at weight 0, reaches the classifier but not the encoders
    net.grl.weight = 0.0
    L_M = torch.nn.functional.cross_entropy(net(xs)["modality_logits"], out["modality"])
    grads = torch.autograd.grad(L_M, head + encoders, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads[:len(head)])
    assert all(g is None or not g.any() for g in grads[len(head):])


@pytest.mark.slow
def test_confusion_step_gives_the_modality_classifier_only_the_gradient_of_l_m() -> None:
    import copy

    cfg, net, xs, y = _confusion_step_setup()
    before = copy.deepcopy(net)  # the step changes the weights: L_M alone is computed on a copy
    opt = make_optimizer(cfg.replace(weight_decay=0.0), net.parameters())
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    record = train_step(net, xs, y, cfg, opt, scaler, 0.7)
    assert net.grl.weight == 0.0 and record.L_align.item() >= np.log(2) - 1e-6
    assert record.loss.item() == pytest.approx(
        (record.L_C + cfg.alpha * record.L_T + 0.7 * record.L_align).item(), rel=1e-5)
    out = before(xs)  # dropout 0: the same forward pass; L_M alone
    torch.nn.functional.cross_entropy(out["modality_logits"], out["modality"]).backward()
    mine = dict(before.modality_classifier.named_parameters())
    for n, p in net.modality_classifier.named_parameters():
        assert torch.allclose(p.grad, mine[n].grad, atol=1e-6), n


def test_config_rejects_an_unknown_alignment() -> None:
    with pytest.raises(ConfigError, match=r"Invalid value for 'alignment': 'flip'; choose one of \['reversal'"):
        _cfg(alignment="flip")


@pytest.mark.slow
def test_the_probe_does_not_change_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-epoch probe reads test patches without drawing random numbers: the run is the same without it."""
    from xmodal.training import loop

    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    cfg = _cfg(method="C+T+M", epochs=2)
    with_probe = train_on_datasets(cfg, train, test, tmp_path / "probe")
    monkeypatch.setattr(loop.ProbeSet, "of", classmethod(lambda cls, *a: None))
    without = train_on_datasets(cfg, train, test, tmp_path / "none")
    assert "probe_accuracy" in with_probe.history[0] and "probe_accuracy" not in without.history[0]
    assert _strip_times(without.history) == [
        {k: v for k, v in h.items() if k not in ("seconds", "probe_accuracy", "probe_seconds")}
        for h in with_probe.history]
    assert with_probe.metrics == without.metrics
    assert np.array_equal(RunDir(tmp_path / "probe").latents().z, RunDir(tmp_path / "none").latents().z)


# ----------------------------------------------------------------------------- run folder
@pytest.mark.slow
def test_full_disk_names_the_folder_and_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f".checkpoint.pt.tmp{dead.pid}"  # left by a killed run of an earlier version
    stale.write_bytes(b"half a checkpoint")

    def full_disk(obj: object, f: str | os.PathLike) -> None:
        Path(f).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    train, test = _sets(["s2"], n_train=16, n_test=8)
    with pytest.raises(DiskFullError, match=re.escape(f"No space left on the device of {tmp_path} ")):
        train_on_datasets(_cfg(method="baseline", modalities=["s2"], epochs=1), train, test, tmp_path)
    assert list(tmp_path.iterdir()) == []  # the stale temporary removed, the new one too, no checkpoint


# ----------------------------------------------------------------------------- determinism and resuming
@pytest.mark.slow
def test_same_seed_gives_identical_results(tmp_path: Path) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    cfg = _cfg(method="C+T+M", epochs=2)
    r1 = train_on_datasets(cfg, train, test, tmp_path / "a")
    r2 = train_on_datasets(cfg, train, test, tmp_path / "b")
    assert r1.metrics == r2.metrics and r1.homogeneity == r2.homogeneity
    assert _strip_times(r1.history) == _strip_times(r2.history)
    assert np.array_equal(RunDir(tmp_path / "a").predictions().prob["s1"],
                          RunDir(tmp_path / "b").predictions().prob["s1"])
    r3 = train_on_datasets(cfg.replace(seed=1), train, test, tmp_path / "c")
    assert _strip_times(r3.history) != _strip_times(r1.history)


class _Stop(Exception):
    pass


@pytest.mark.slow
def test_interrupted_then_resumed_run_equals_uninterrupted(tmp_path: Path) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    cfg = _cfg(method="C+T+M", epochs=3)
    full = train_on_datasets(cfg, train, test, tmp_path / "full")

    def stop_after_first(info: dict) -> None:
        if info["epoch"] == 1:
            raise _Stop

    with pytest.raises(_Stop):
        train_on_datasets(cfg, train, test, tmp_path / "cut", on_epoch_end=stop_after_first)
    cut = RunDir(tmp_path / "cut")
    assert not cut.result_path.exists() and cut.status() == "partial"
    ckpt = torch.load(cut.checkpoint_path, weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["optimizer"] is not None
    seen = []
    resumed = train_on_datasets(cfg, train, test, tmp_path / "cut", on_epoch_end=lambda i: seen.append(i["epoch"]))
    assert seen == [2, 3]
    a, _ = load_model(tmp_path / "full")
    b, _ = load_model(tmp_path / "cut")
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert _strip_times(resumed.history) == _strip_times(full.history)
    assert resumed.metrics == full.metrics


@pytest.mark.slow
def test_resume_with_another_config_is_refused(tmp_path: Path) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    cfg = _cfg(method="C", epochs=2)

    def stop(info: dict) -> None:
        raise _Stop

    with pytest.raises(_Stop):
        train_on_datasets(cfg, train, test, tmp_path, on_epoch_end=stop)
    with pytest.raises(ResumeError, match="checkpoint.pt belongs to another config"):
        train_on_datasets(cfg.replace(lr=1e-4), train, test, tmp_path)
    # resume=False starts over instead.
    r = train_on_datasets(cfg.replace(lr=1e-4, epochs=1), train, test, tmp_path, resume=False)
    assert r.config["lr"] == 1e-4 and len(r.history) == 1
    with pytest.raises(ResumeError, match="result.json holds a finished run of another config"):
        run_experiment(cfg.replace(lr=1e-2, epochs=1), tmp_path)


@pytest.mark.slow
def test_a_damaged_checkpoint_is_set_aside_and_the_run_starts_again(tmp_path: Path) -> None:
    """Drift: a truncated checkpoint.pt failed its point on every later sweep with torch's zip-archive error."""
    from xmodal.atomic import remove_stale_temps
    from xmodal.rundir import find_runs
    from xmodal.training import DamagedCheckpointWarning

    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    cfg = _cfg(method="C", epochs=2)
    full = train_on_datasets(cfg, train, test, tmp_path / "full")

    def stop(info: dict) -> None:
        raise _Stop

    with pytest.raises(_Stop):
        train_on_datasets(cfg, train, test, tmp_path / "cut", on_epoch_end=stop)
    run = RunDir(tmp_path / "cut")
    half = run.checkpoint_path.read_bytes()[:4096]  # what a kill during the write of an earlier version left
    run.checkpoint_path.write_bytes(half)
    with pytest.warns(DamagedCheckpointWarning) as caught:
        resumed = train_on_datasets(cfg, train, test, run.path)
    [aside] = run.damaged_checkpoints()
    assert aside.name.startswith("checkpoint.pt.damaged-") and aside.read_bytes() == half
    [message] = [str(w.message) for w in caught]
    assert message.startswith(f"{run.checkpoint_path} cannot be read (") and "\n" not in message
    assert f"set it aside as {aside.name} and started the run again from scratch" in message
    # started from scratch: the same run as one never interrupted
    assert resumed.ok and _strip_times(resumed.history) == _strip_times(full.history)
    assert resumed.metrics == full.metrics
    # the file set aside trips nothing that scans run folders
    assert run.status() == "ok" and find_runs(tmp_path) == [RunDir(tmp_path / "cut"), RunDir(tmp_path / "full")]
    assert remove_stale_temps(run.path) == [] and aside.exists()
    load_model(run.path)  # the new checkpoint


@pytest.mark.slow
def test_a_damaged_checkpoint_of_a_finished_run_is_named_when_loaded(tmp_path: Path) -> None:
    from xmodal.rundir import RunFolderError

    train, test = _sets(["s2"], n_train=16, n_test=8)
    train_on_datasets(_cfg(method="baseline", modalities=["s2"], epochs=1), train, test, tmp_path)
    RunDir(tmp_path).checkpoint_path.write_bytes(b"not a checkpoint")
    with pytest.raises(RunFolderError, match=re.escape(f"{tmp_path / 'checkpoint.pt'} cannot be read (")
                       + r".*train the run again"):
        load_model(tmp_path)
    with pytest.raises(RunFolderError, match="No checkpoint in"):
        load_model(tmp_path / "nothing")


# ----------------------------------------------------------------------------- methods
@pytest.mark.slow
def test_baseline_trains_one_modality_without_homogeneity_and_reports_skipped_patches(tmp_path: Path) -> None:
    train, test = _sets(["s2"], n_train=32, n_test=16)
    p9 = {"patch": "p9", "file": "p9.tif", "error": "CorruptFileError", "reason": "p9.tif: unreadable"}
    p4 = {"patch": "p4", "file": "p4.tif", "error": "unlabelled", "reason": "no class"}
    train["s2"].skipped_patches = [p9]
    test["s2"].skipped_patches = [p9, p4]
    r = train_on_datasets(_cfg(method="baseline", modalities=["s2"], epochs=1), train, test, tmp_path)
    assert not {"modality_accuracy", "probe_accuracy", "probe_seconds"} & set(r.history[0])  # one sensor: no adversary
    assert r.data["skipped"] == [p9, p4]  # each once
    assert list(r.metrics) == ["s2"] and r.homogeneity == {}
    h = r.history[0]
    assert h["L_M"] == 0.0 and h["grl_weight"] == 0.0  # one modality: nothing to discriminate
    net, _ = load_model(tmp_path)
    assert net.modalities == ("s2",)


@pytest.mark.slow
def test_methods_without_m_do_not_reverse_and_c_ignores_triplets(tmp_path: Path) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    r = train_on_datasets(_cfg(method="C+T", epochs=1), train, test, tmp_path / "ct")
    assert r.history[0]["grl_weight"] == 0.0
    # C: the objective is beta * L_C only (L_T and L_M are logged as diagnostics).
    c = train_on_datasets(_cfg(method="C", epochs=1, beta=2.0), train, test, tmp_path / "c")
    h = c.history[0]
    assert h["loss"] == pytest.approx(2.0 * h["L_C"], rel=1e-5) and h["L_T"] > 0
    full = train_on_datasets(_cfg(method="C+T+M", epochs=1, grl_schedule="constant", grl_weight=0.5),
                             train, test, tmp_path / "ctm")
    h = full.history[0]
    assert h["grl_weight"] == 0.5


@pytest.mark.slow
def test_three_modalities_give_three_homogeneities(tmp_path: Path) -> None:
    mods = ["s1", "s2", "rgb"]
    train, test = _sets(mods, n_train=32, n_test=16)
    r = train_on_datasets(_cfg(method="C+T+M", modalities=mods, epochs=1), train, test, tmp_path)
    assert set(r.metrics) == set(mods)
    assert set(r.homogeneity) == {"s1|s2", "s1|rgb", "s2|rgb"}
    net, _ = load_model(tmp_path)
    assert net.modality_classifier[-1].out_features == 3
    assert RunDir(tmp_path).latents().modalities == mods


# ----------------------------------------------------------------------------- errors
def test_config_errors_surface(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Invalid value for 'method'"):
        run_experiment({"method": "C+X"}, tmp_path)
    with pytest.raises(ConfigError, match="Unknown config key"):
        run_experiment({"epoch": 3}, tmp_path)
    with pytest.raises(ConfigError, match="exactly one modality"):
        run_experiment({"method": "baseline", "modalities": ["s1", "s2"]}, tmp_path)
    train, test = _sets(["s1", "s2"], n_train=8, n_test=4)
    with pytest.raises(ConfigError, match="'fp16' needs CUDA"):
        train_on_datasets(_cfg(precision="fp16", device="cpu"), train, test, tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            train_on_datasets(_cfg(device="cuda"), train, test, tmp_path)
    with pytest.raises(ConfigError, match="BatchNorm needs at least 2"):
        train_on_datasets(_cfg(batch_size=1), train, test, tmp_path)
    with pytest.raises(ConfigError, match=r"test sets lack modalities \['s2'\]"):
        train_on_datasets(_cfg(), train, {"s1": test["s1"]}, tmp_path)
    assert RunDir(tmp_path).status() == "pending"


@pytest.mark.slow
def test_steps_per_epoch_fixes_the_budget_whatever_the_training_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Invalid value for 'steps_per_epoch': 0"):
        _cfg(steps_per_epoch=0)
    counts = {}
    for n in (8, 64):
        train, test = _sets(["s1", "s2"], n_train=n, n_test=8)
        seen = {m: 0 for m in train}
        for m, ds in train.items():  # count the patches each modality's loader serves
            orig = ds.__getitems__
            ds.__getitems__ = lambda idx, _o=orig, _m=m, _s=seen: (_s.__setitem__(_m, _s[_m] + len(idx)), _o(idx))[1]
        r = train_on_datasets(_cfg(method="C", epochs=2, steps_per_epoch=3), train, test, tmp_path / f"n{n}")
        assert r.data["steps_per_epoch"] == 3
        counts[n] = seen
    # 2 epochs x 3 steps x 16 patches per modality, for 8 and for 64 training patches alike
    assert counts[8] == counts[64] == {"s1": 96, "s2": 96}
    default = train_on_datasets(_cfg(method="C", epochs=1), *_sets(["s1", "s2"], n_train=40, n_test=8), tmp_path / "d")
    assert default.data["steps_per_epoch"] == 3  # ceil(40 / 16)


@pytest.mark.slow
def test_bf16_channels_last_run(tmp_path: Path) -> None:
    # 16 px patches: the last stages see 1x1 maps, where CPU bf16 convolutions read uninitialised memory unless
    # models.StridedConv2d steps in; freed memory full of NaNs makes a NaN loss likely without it (the reliable
    # check of the kernel itself is in test_models.py)
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    junk = [torch.full((n,), float("nan"), dtype=dtype) for n in (4096, 65536, 262144)
            for dtype in (torch.float32, torch.bfloat16) for _ in range(8)]
    del junk
    r = train_on_datasets(_cfg(epochs=1, precision="bf16", channels_last=True), train, test, tmp_path)
    losses = {k: r.history[0][k] for k in ("L_C", "L_M", "L_T")}
    assert all(v is not None and np.isfinite(v) for v in losses.values()), losses


# ----------------------------------------------------------------------------- distributed
def _ddp_worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank))
    train, test = _sets(["s1", "s2"], n_train=16, n_test=8)
    result = train_on_datasets(_cfg(method="C+T+M", epochs=2, device="cpu"), train, test, out)
    assert result.ok


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_ddp_two_cpu_processes_write_one_result(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    out = tmp_path / "ddp"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    run = RunDir(out)
    result = run.result()
    assert result.world_size == 2 and result.ok
    assert len(result.history) == 2 and set(result.homogeneity) == {"s1|s2"}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (run.result_path, run.checkpoint_path, run.predictions_path, run.latents_path))


# ----------------------------------------------------------------------------- end to end on SEN12MS files
@pytest.mark.slow
def test_run_experiment_on_synthetic_sen12ms(synthetic_root: Path, tmp_path: Path) -> None:
    from xmodal.data import Sen12MS

    cfg = _cfg(method="C+T+M", data_root=str(synthetic_root), test_fraction=0.25, epochs=1, batch_size=8)
    r = run_experiment(cfg, tmp_path / "run")
    test_ids = Sen12MS(synthetic_root, modality="s1", split="test", split_method="scene", test_fraction=0.25).ids
    assert r.data_kind == "synthetic" and r.data["n_test"] == len(test_ids) > 0
    assert r.class_names == list(Sen12MS(synthetic_root, modality="s2").class_names)
    assert set(r.data["stats"]) == {"s1", "s2"}
    ds = Sen12MS(synthetic_root, modality="s1", split="train", split_method="scene", test_fraction=0.25)
    assert r.data["skipped"] == ds.skipped_patches
    assert np.allclose(r.data["train_prior"], ds.labels.mean(axis=0))
    pred = RunDir(tmp_path / "run").predictions()
    assert list(pred.ids["s1"]) == list(pred.ids["s2"]) == list(test_ids)
    assert set(r.homogeneity) == {"s1|s2"} and r.config["data_root"] == str(synthetic_root)
    assert r.data["pairing"] == "aligned" and r.data["train_scenes"] == {"s1": 3, "s2": 3}
    assert r.data["shared_train_scenes"] == 3 and r.data["shared_train_patches"] == len(ds)


@pytest.mark.slow
def test_disjoint_pairing_trains_each_sensor_on_scenes_of_its_own(
    synthetic_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import xmodal.training.run as trainer
    from xmodal.data.layout import parse_patch_id

    seen: dict[str, dict] = {}
    real = trainer.train_on_datasets

    def spy(config, train_sets, test_sets, *args, **kwargs):  # the training sets run_experiment built
        seen.update(train=dict(train_sets), test=dict(test_sets))
        return real(config, train_sets, test_sets, *args, **kwargs)

    monkeypatch.setattr(trainer, "train_on_datasets", spy)
    cfg = _cfg(method="C+T+M", data_root=str(synthetic_root), test_fraction=0.25, epochs=1, batch_size=8,
               pairing="disjoint")
    r = run_experiment(cfg, tmp_path / "run")
    train = seen["train"]
    scenes = {m: {parse_patch_id(pid).scene for pid in train[m].ids} for m in ("s1", "s2")}
    assert scenes["s1"] and scenes["s2"] and scenes["s1"].isdisjoint(scenes["s2"])  # no place seen by both
    assert len(scenes["s1"] | scenes["s2"]) == 3  # every training scene of the split is used
    assert r.config["pairing"] == "disjoint" and r.data["pairing"] == "disjoint"
    assert r.data["n_train"] == {m: len(train[m]) for m in ("s1", "s2")}
    assert r.data["train_scenes"] == {m: len(scenes[m]) for m in ("s1", "s2")}
    assert r.data["shared_train_scenes"] == 0 and r.data["shared_train_patches"] == 0
    both = np.concatenate([train["s1"].labels, train["s2"].labels]).astype(np.float64)
    assert np.allclose(r.data["train_prior"], both.mean(axis=0))  # every training patch of the run
    for m in ("s1", "s2"):
        assert np.isfinite(r.metrics[m]["macro"]) and np.isfinite(r.metrics[m]["weighted"])
    pred = RunDir(tmp_path / "run").predictions()
    assert list(pred.ids["s1"]) == list(pred.ids["s2"]) == list(seen["test"]["s1"].ids)  # the test set stays aligned
    assert set(r.homogeneity) == {"s1|s2"} and np.isfinite(r.history[0]["L_T"])


@pytest.mark.slow
def test_disjoint_batches_carry_their_own_labels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xmodal.training.loop as trainer

    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    with pytest.raises(ConfigError, match=r"'pairing': 'disjoint', but the training sets of \['s1', 's2'\] share 32"):
        train_on_datasets(_cfg(pairing="disjoint"), train, test, tmp_path / "shared")
    own = MemoryPatches("s2", 32, "train", seed=5)
    own.ids = [f"s2_only_{i}" for i in range(32)]
    own.labels = np.full((32, K), 1.0 / K, np.float32)  # labels no s1 patch has
    train["s2"] = own
    steps: list[tuple[list[str], torch.Tensor]] = []
    real = trainer.train_step

    def spy(model, xs, y, *args, **kwargs):
        steps.append((list(xs), y.detach().cpu().clone()))
        return real(model, xs, y, *args, **kwargs)

    monkeypatch.setattr(trainer, "train_step", spy)
    r = train_on_datasets(_cfg(method="C+T+M", pairing="disjoint", epochs=1, steps_per_epoch=2), train, test,
                          tmp_path / "own")
    assert len(steps) == 2
    for mods, y in steps:
        assert mods == ["s1", "s2"] and y.shape == (2 * TINY["batch_size"], K)
        s1, s2 = y.split(TINY["batch_size"])
        assert torch.all(s1.max(dim=1).values >= 0.7) and torch.allclose(s2, torch.full_like(s2, 1.0 / K))
    assert r.data["shared_train_patches"] == 0 and r.data["train_scenes"] == {"s1": None, "s2": None}
    assert r.data["shared_train_scenes"] is None and np.isfinite(r.metrics["s1"]["weighted"])


@pytest.mark.slow
def test_module_entry_point(synthetic_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from xmodal.training.__main__ import main

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(json.dumps({**TINY, "method": "baseline", "modalities": ["s1"], "data_root": str(synthetic_root),
                               "test_fraction": 0.25}))
    assert main(["--config", str(cfg), "--set", "epochs=1", "--out", str(tmp_path / "run")]) == 0
    assert "s1: macro F1" in capsys.readouterr().out
    assert RunDir(tmp_path / "run").result().config["epochs"] == 1
    assert main(["--config", str(cfg), "--set", "epochs=0", "--out", str(tmp_path / "bad")]) == 2
    assert "Invalid value for 'epochs'" in capsys.readouterr().err


@pytest.mark.slow
def test_the_probe_runs_every_other_epoch_with_m_and_after_the_last_without(tmp_path: Path) -> None:
    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    r = train_on_datasets(_cfg(method="C", epochs=3), train, test, tmp_path / "c")
    assert ["probe_accuracy" in h for h in r.history] == [False, False, True]
    assert 0.0 <= r.history[-1]["probe_accuracy"] <= 1.0
    m = train_on_datasets(_cfg(method="C+M", epochs=4), train, test, tmp_path / "cm")  # every other epoch, and the last
    assert ["probe_accuracy" in h for h in m.history] == [True, False, True, True]


def test_a_diverged_network_gives_a_nan_probe_not_a_failed_run(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal.training import build_model, loop

    train, test = _sets(["s1", "s2"], n_train=32, n_test=16)
    net = build_model(_cfg(method="C+M"), {"s1": 2, "s2": 10}, 9)
    probe = loop.ProbeSet.of(test, ["s1", "s2"])
    assert probe is not None
    monkeypatch.setattr(net, "embed", lambda x, m: torch.full((x.shape[0], net.latent_dim), float("nan")))
    got = probe.measure(net, _cfg(method="C+M"), torch.device("cpu"))
    assert np.isnan(got["probe_accuracy"]) and got["probe_seconds"] >= 0


@pytest.mark.slow
def test_every_entry_point_gives_the_same_run_identity(synthetic_root: Path, tmp_path: Path) -> None:
    """Drift: only `xmodal train` recorded the data's fingerprint, so the same training landed in other folders.

    The same configuration through ``xmodal train``, ``python -m xmodal.training`` (a process of
    its own, as torchrun starts it), the teaching helpers and the sweep's grid has one hash.
    """
    import sys

    import yaml

    import xmodal
    from xmodal import teaching
    from xmodal.cli import main as cli_main
    from xmodal.sweep import check_data, grid
    from xmodal.training import identified_config

    tiny = dict(method="C", epochs=1, steps_per_epoch=2, batch_size=8, patch_size=16, test_fraction=0.25,
                latent_dim=16, merge_hidden=[16, 16], classifier_hidden=8, modality_hidden=8, n_latent=4)
    base = teaching.base_config(synthetic_root, **tiny)
    values = {k: v for k, v in base.to_dict().items() if k != "data_fingerprint"}  # what a user writes down
    expected = identified_config(values)
    assert expected.data_fingerprint is not None and expected.hash() == base.hash()
    assert ExperimentConfig.from_dict(values).hash() != expected.hash()  # the data is part of the identity
    config_file = tmp_path / "run.yaml"
    config_file.write_text(yaml.safe_dump(values))

    assert cli_main(["train", "--config", str(config_file), "--out", str(tmp_path / "cli")]) == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(xmodal.__file__).parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "xmodal.training", "--config", str(config_file), "--out",
                    str(tmp_path / "module")], check=True, env=env, capture_output=True, text=True)
    [taught] = teaching.train_variants(base, [{}], tmp_path / "teaching", verbose=False)
    hashes = {name: RunDir(tmp_path / name).result().config_hash for name in ("cli", "module")}
    hashes["teaching"] = taught.config_hash
    assert hashes == dict.fromkeys(hashes, expected.hash())
    assert teaching.variant_dir(tmp_path / "teaching", expected).name == f"C-{expected.hash()}"

    # the sweep: the grid point of a study whose base is this config, fingerprinted as run_sweep does
    grid_keys = ("method", "modalities", "n_train", "seed", "data_root")
    spec = {"name": "identity", "base": {k: v for k, v in values.items() if k not in grid_keys},
            "seeds": [values["seed"]], "runs": [{"method": values["method"]}]}
    [point] = grid(spec, data_root=synthetic_root)
    assert point.config.hash() == expected.hash() and point.dir_name.endswith(expected.hash())
    [summary] = check_data(grid(spec, data_root=synthetic_root, fingerprints=False)).values()
    assert summary.fingerprint == expected.data_fingerprint


def test_the_method_page_quotes_code_that_exists() -> None:
    """The book's method page shows the training code beside the equations: every quoted object is where it says."""
    import ast

    project = Path(__file__).resolve().parents[1]
    text = (project / "book" / "method.ipynb").read_text()
    quotes = re.findall(r"\{literalinclude\} /(xmodal/[\w/]+\.py)\\n\",\s*\":pyobject: ([\w.]+)", text)
    assert any(path.startswith("xmodal/training/") for path, _ in quotes)
    for path, obj in quotes:
        tree = ast.parse((project / path).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert obj.split(".")[-1] in names, f"{path} defines no {obj}"
