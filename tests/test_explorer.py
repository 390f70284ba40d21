"""The latent-space explorer: its data on hand-made arrays, and the page in headless Chromium.

Runs are faked: hand-made ``latents.npz`` / ``result.json`` whose patch ids are those of the
tiny synthetic root of ``conftest.py`` (so the thumbnails are real), no training.
"""

from __future__ import annotations

import json
import re
import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import headless_chromium, remote, requested_urls

from xmodal import explorer as xe
from xmodal.data import MissingFileError

#: Test patches of the fake runs (scenes 1-2 of the tiny root: 3 x 3 patches each).
FAKE_IDS = [f"ROIs2017_winter_{scene}_p{patch}" for scene in (1, 2) for patch in range(1, 10)]
#: A page built from two fake two-sensor models of FAKE_IDS stays below this (bytes).
TINY_PAGE_BOUND = 100_000


def _soft_labels(root: Path, ids: list[str], scheme: str = "dfc9") -> np.ndarray:
    from xmodal.data import soft_label
    from xmodal.data.layout import read_patch

    return np.stack([soft_label(read_patch(root, pid, "lc"), scheme) for pid in ids]).astype(np.float32)


def write_fake_run(study: Path, name: str, data_root: Path, *, method: str = "C",
                   modalities: tuple[str, ...] = ("s1", "s2"), seed: int = 0, n_train: int | None = None,
                   status: str = "ok", ids: list[str] = FAKE_IDS, dim: int = 8, **config: Any) -> Path:
    """A run folder as training leaves it: latents that cluster by dominant class, sensors offset."""
    from xmodal.config import ExperimentConfig
    from xmodal.data import class_names

    run = study / name
    run.mkdir(parents=True)
    cfg = ExperimentConfig(method=method, modalities=list(modalities), seed=seed, n_train=n_train,
                           data_root=str(data_root), device="cpu", **config).to_dict()
    names = class_names(cfg["label_scheme"])
    labels = _soft_labels(data_root, ids, cfg["label_scheme"])
    rng = np.random.default_rng(zlib.crc32(f"{name}-{seed}".encode()))
    centres = rng.normal(size=(len(names), dim))
    z, lab, prob, mod, pid = [], [], [], [], []
    for j, m in enumerate(modalities):
        zm = labels @ centres + 0.3 * rng.normal(size=(len(ids), dim)) + 0.5 * j
        logits = 4 * labels + rng.normal(scale=1.0 + j, size=labels.shape)
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        z.append(zm)
        lab.append(labels)
        prob.append(p)
        mod += [m] * len(ids)
        pid += ids
    np.savez(run / "latents.npz", z=np.concatenate(z).astype(np.float32), labels=np.concatenate(lab),
             prob=np.concatenate(prob).astype(np.float32), modality=np.array(mod), ids=np.array(pid))
    result = {"status": status, "config": cfg, "config_hash": name,
              "data": {"class_names": names, "root": str(data_root), "kind": "synthetic"},
              "metrics": {m: {"macro": 0.5, "weighted": 0.6} for m in modalities},
              "homogeneity": {"s1|s2": 0.7} if len(modalities) > 1 else {}}
    (run / "result.json").write_text(json.dumps(result))
    return run


@pytest.fixture(scope="module")
def fake_study(synthetic_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline S1 + S2, C (seeds 0 and 1), C+T+M (all and 12 training patches), one failed run."""
    study = tmp_path_factory.mktemp("runs") / "fakestudy"
    for mod in ("s1", "s2"):
        write_fake_run(study, f"baseline-{mod}", synthetic_root, method="baseline", modalities=(mod,))
    write_fake_run(study, "C-seed0", synthetic_root, method="C")
    write_fake_run(study, "C-seed1", synthetic_root, method="C", seed=1)
    write_fake_run(study, "CTM-nall", synthetic_root, method="C+T+M")
    write_fake_run(study, "CTM-n12", synthetic_root, method="C+T+M", n_train=12)
    write_fake_run(study, "C+M-failed", synthetic_root, method="C+M", status="failed")
    return study


@pytest.fixture(scope="module")
def built(fake_study: Path) -> xe.Explorer:
    """The explorer of the fake study, built once with the real UMAP (and cached)."""
    return xe.explore(fake_study)


# ---------------------------------------------------------------------------------
# the model menu
# ---------------------------------------------------------------------------------
def test_model_menu_lists_exactly_the_varying_keys() -> None:
    base = {"method": "C", "modalities": ["s1", "s2"], "seed": 0, "n_train": None, "alpha": 1.0,
            "data_root": "/a", "device": "cpu", "merge_hidden": [64, 64]}
    configs = [base, {**base, "seed": 1}, {**base, "n_train": 24}, {**base, "method": "C+T+M", "alpha": 0.5},
               {**base, "method": "baseline", "data_root": "/b", "device": "cuda"}]
    menu = xe.model_menu(configs)
    assert list(menu) == ["method", "n_train", "seed", "alpha"]  # device/data_root: runtime, not a model
    assert menu["method"] == ["Baseline", "C", "C+T+M"]  # the paper's order
    assert menu["n_train"] == ["24", "all"]
    assert menu["seed"] == ["0", "1"]
    assert menu["alpha"] == ["0.5", "1.0"]
    assert xe.model_menu([base, {**base, "device": "cuda"}]) == {}


@pytest.mark.slow
def test_baseline_runs_of_one_sensor_each_become_one_model(fake_study: Path) -> None:
    runs = [xe.load_run(p) for p in xe.find_runs(fake_study) if "failed" not in p.name]
    models = xe.group_models(runs)
    titles = [(m.config["method"], m.config["n_train"], m.config["seed"]) for m in models]
    assert titles == [("baseline", None, 0), ("C", None, 0), ("C", None, 1), ("C+T+M", 12, 0), ("C+T+M", None, 0)]
    base = models[0]
    assert [r.path.name for r in base.runs] == ["baseline-s1", "baseline-s2"]
    assert base.sensors == ["s1", "s2"] and not base.shared_space and models[1].shared_space
    assert list(xe.model_menu([m.config for m in models])) == ["method", "n_train", "seed"]


@pytest.mark.slow
def test_runs_the_config_keeps_apart_are_two_models(synthetic_root: Path, tmp_path: Path) -> None:
    """The menu tells runs apart as the config hash does: ``threads`` is in a run's identity, its data folder is not."""
    from xmodal.config import ExperimentConfig

    study = tmp_path / "s"
    for threads in (1, 2):
        write_fake_run(study, f"C-t{threads}", synthetic_root, method="C", threads=threads)
        for mod in ("s1", "s2"):
            write_fake_run(study, f"b-{mod}-t{threads}", synthetic_root, method="baseline", modalities=(mod,),
                           threads=threads)
    runs = [xe.load_run(p) for p in xe.find_runs(study)]
    assert len({ExperimentConfig.from_dict(r.config).hash() for r in runs}) == 6
    models = xe.group_models(runs)
    assert len(models) == 4  # C twice, and two Baselines of two one-sensor runs each
    for m in models:
        assert len({r.config["threads"] for r in m.runs}) == 1, "a model mixes runs the config keeps apart"
    menu = xe.model_menu([m.config for m in models])
    assert menu["threads"] == ["1", "2"]
    entries = [tuple(xe.menu_value(k, m.config.get(k)) for k in menu) for m in models]
    assert len(set(entries)) == len(models)  # every model reachable from the menu
    moved = [{**m.config, "data_root": "/elsewhere", "device": "cuda"} for m in models[:1]]
    assert "data_root" not in xe.model_menu([models[0].config, *moved])  # where a run read its data: no menu


@pytest.mark.slow
def test_explore_lists_the_models_and_leaves_out_unfinished_runs(built: xe.Explorer) -> None:
    data = built.data
    assert built.models == ["Baseline, n_train all, seed 0", "C, n_train all, seed 0", "C, n_train all, seed 1",
                            "C+T+M, n_train 12, seed 0", "C+T+M, n_train all, seed 0"]
    assert data["models"][data["default"]]["title"] == "C+T+M, n_train all, seed 0"
    assert any("C+M-failed" in n and "status 'failed'" in n for n in data["notes"])
    with pytest.raises(xe.ExplorerError, match="No such folder"):
        xe.explore(Path("/nonexistent-xmodal-study"))


@pytest.mark.slow
def test_explore_fails_with_a_clear_message_without_finished_runs(tmp_path: Path, synthetic_root: Path) -> None:
    write_fake_run(tmp_path / "s", "r", synthetic_root, status="failed")
    with pytest.raises(xe.ExplorerError, match="No finished run with latent vectors"):
        xe.explore(tmp_path / "s")


# ---------------------------------------------------------------------------------
# UMAP cache
# ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_umap_cache_is_hit_on_a_second_build(built: xe.Explorer, fake_study: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import umap

    caches = sorted(fake_study.glob(f"*/{xe.CACHE_PREFIX}*.npz"))
    assert len(caches) == len(built.data["models"])  # one per model, in its (first) run folder

    class Boom:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise AssertionError("UMAP ran although the embedding is cached")

    monkeypatch.setattr(umap, "UMAP", Boom)
    again = xe.explore(fake_study)
    n = len(built.data["models"])
    assert f"{n} of {n} embeddings read from the cache" in again.data["notes"][0]
    for a, b in zip(built.data["models"], again.data["models"], strict=True):
        assert a["points"]["x"] == b["points"]["x"] and a["points"]["y"] == b["points"]["y"]
    # another UMAP setting is another key: UMAP has to run again
    with pytest.raises(AssertionError, match="UMAP ran"):
        xe.explore(fake_study, umap_params={**xe.UMAP_PARAMS, "min_dist": 0.3})


@pytest.mark.slow
def test_cache_key_follows_the_latents_content_and_the_params(fake_study: Path, tmp_path: Path) -> None:
    src = fake_study / "C-seed0" / "latents.npz"
    copy = tmp_path / "latents.npz"
    shutil.copy(src, copy)
    key = xe.cache_key([copy], xe.UMAP_PARAMS)
    assert key == xe.cache_key([src], xe.UMAP_PARAMS)  # content, not path
    assert key != xe.cache_key([copy], {**xe.UMAP_PARAMS, "random_state": 1})
    with np.load(copy) as f:
        arrays = dict(f)
    arrays["z"][0, 0] += 1
    np.savez(copy, **arrays)
    assert key != xe.cache_key([copy], xe.UMAP_PARAMS)


@pytest.mark.slow
def test_embedding_is_recomputed_when_the_cache_is_stale(fake_study: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(xe.embedding, "_run_umap",
                        lambda z, p: calls.append(len(z)) or np.asarray(z[:, :2], np.float32))
    model = xe.Model(runs=[xe.load_run(fake_study / "C-seed0")])
    _, how = xe.embed(model, cache=tmp_path)
    assert how == "umap" and calls == [len(model.z)]
    assert xe.embed(model, cache=tmp_path)[1] == "cache" and len(calls) == 1
    (cached,) = tmp_path.glob(f"{xe.CACHE_PREFIX}*.npz")
    np.savez(cached, xy=np.zeros((3, 2)), key=np.array("another key"))
    assert xe.embed(model, cache=tmp_path)[1] == "umap" and len(calls) == 2
    assert xe.embed(model, cache=False)[1] == "umap" and not list(tmp_path.glob(".*tmp*"))


# ---------------------------------------------------------------------------------
# colours, partners, neighbours
# ---------------------------------------------------------------------------------
def test_colour_categories() -> None:
    from xmodal.metrics import homogeneity

    ids = ["a", "b", "c", "a", "b"]  # S2 did not see c
    mod = ["s1", "s1", "s1", "s2", "s2"]
    labels = np.array([[0.6, 0.4, 0], [0, 0.3, 0.7], [1, 0, 0], [0.6, 0.4, 0], [0, 0.3, 0.7]])
    prob = np.array([[0.5, 0.3, 0.2], [0.6, 0.1, 0.3], [0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    partners = xe.aligned_partners(ids, mod, ["s1", "s2"])
    cats = xe.colour_categories(labels, prob, partners)
    assert cats["dominant"].tolist() == [0, 2, 0, 0, 2]
    assert cats["predicted"].tolist() == [0, 0, 0, 1, 2]
    assert cats["right"].tolist() == [True, False, True, False, True]
    h = cats["homogeneity"]
    assert h[0] == h[3] == pytest.approx(0.2 + 0.3 + 0.1)  # sum_c min(p_S1, p_S2), eq. 5's summand
    assert h[1] == h[4] == pytest.approx(0.1 + 0.1 + 0.3)
    assert np.isnan(h[2])  # no partner
    assert np.nanmean(h[:2]) == pytest.approx(homogeneity(prob[:2], prob[3:]))


def test_partners_and_cross_sensor_neighbours() -> None:
    ids = ["a", "b", "c", "a", "b", "c"]
    mod = ["s1", "s1", "s1", "s2", "s2", "s2"]
    z = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1],            # S1: a, b, c
                  [0.9, 0.1, 0], [0, 0.2, 1], [0, 1, 0.1]])   # S2: a near a, b near c, c near b
    partners = xe.aligned_partners(ids, mod, ["s1", "s2"])
    assert partners.tolist() == [[0, 3], [1, 4], [2, 5], [0, 3], [1, 4], [2, 5]]
    nn, rank = xe.cross_sensor_neighbours(z, mod, ["s1", "s2"], k=2, partners=partners)
    assert nn.shape == (6, 2, 2)
    assert nn[0, 1].tolist() == [3, 4]  # a: a' first, then a tie broken by order
    assert nn[1, 1].tolist() == [5, 4] and nn[2, 1].tolist() == [4, 5]
    assert nn[3, 0].tolist() == [0, 1]
    assert (nn[:3, 0] == -1).all() and (nn[3:, 1] == -1).all()  # never the own sensor
    assert rank[:, 1].tolist()[:3] == [1, 2, 2] and rank[3:, 0].tolist() == [1, 2, 2]
    assert (rank[:3, 0] == 0).all()


@pytest.mark.slow
def test_three_sensors_have_two_partners_and_neighbours_from_each(synthetic_root: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xe.embedding, "_run_umap", lambda z, p: np.asarray(z[:, :2], np.float32))
    write_fake_run(tmp_path, "three", synthetic_root, modalities=("s1", "s2", "rgb"), ids=FAKE_IDS[:6])
    data = xe.explore(tmp_path / "three", k=3, cache=False).data
    assert data["sensors"] == ["s1", "s2", "rgb"]
    assert list(data["views"]) == ["s1", "s2"]  # rgb reads the S2 file: the same thumbnail
    assert data["sensor_views"] == ["s1", "s2", "s2"]
    pts = data["models"][0]["points"]
    assert len(pts["x"]) == 18
    assert all(len(p) == 2 for p in pts["partner"]) and all(len(n) == 6 for n in pts["nn"])
    for i, partners in enumerate(pts["partner"]):
        assert all(pts["patch"][j] == pts["patch"][i] and pts["sensor"][j] != pts["sensor"][i] for j in partners)


@pytest.mark.slow
def test_a_model_with_other_soft_labels_keeps_its_own(synthetic_root: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xe.embedding, "_run_umap", lambda z, p: np.asarray(z[:, :2], np.float32))
    write_fake_run(tmp_path, "dfc9", synthetic_root, ids=FAKE_IDS[:4])
    write_fake_run(tmp_path, "dfc10", synthetic_root, ids=FAKE_IDS[:4], label_scheme="dfc10")
    data = xe.explore(tmp_path, cache=False).data
    assert list(data["menu"]) == ["label_scheme"]
    assert "Savanna" in data["classes"] and len(data["classes"]) == 10
    shared = [m for m in data["models"] if "label" not in m["points"]]
    own = [m for m in data["models"] if "label" in m["points"]]
    assert len(shared) == len(own) == 1
    assert len(own[0]["points"]["label"][0]) == len(own[0]["classes"])
    assert len(data["patches"]["label"][0]) == len(shared[0]["classes"])
    nine = next(m for m in data["models"] if len(m["classes"]) == 9)
    assert "Savanna" not in [data["classes"][c] for c in nine["classes"]]


# ---------------------------------------------------------------------------------
# the page: weight, thumbnails, offline
# ---------------------------------------------------------------------------------
@pytest.fixture()
def tiny_page(synthetic_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> xe.Explorer:
    """Two fake two-sensor models of 18 patches, with thumbnails (UMAP replaced: fast)."""
    monkeypatch.setattr(xe.embedding, "_run_umap", lambda z, p: np.asarray(z[:, :2], np.float32))
    for seed in (0, 1):
        write_fake_run(tmp_path / "study", f"C-seed{seed}", synthetic_root, seed=seed)
    return xe.explore(tmp_path / "study", cache=False)


@pytest.mark.slow
def test_page_weight_is_small_and_each_thumbnail_is_encoded_once(tiny_page: xe.Explorer, tmp_path: Path) -> None:
    html = tiny_page.html(standalone=True)
    weight = tiny_page.weight()
    assert len(html.encode()) < TINY_PAGE_BOUND, weight
    assert weight["total"] == pytest.approx(len(html.encode()), rel=0.05)
    thumbs = tiny_page.data["patches"]["thumbs"]
    assert set(thumbs) == {"s1", "s2"} and all(len(t) == len(FAKE_IDS) for t in thumbs.values())
    uris = [t for ts in thumbs.values() for t in ts]
    assert all(u.startswith("data:image/jpeg;base64,") for u in uris)
    assert weight["thumbnails"] / len(uris) < 2000  # 32 x 32 JPEG
    assert all(html.count(u) == 1 for u in uris)  # shared by both models
    assert all("label" not in m["points"] for m in tiny_page.data["models"])  # soft labels: once per patch
    assert len(tiny_page.data["patches"]["label"]) == len(FAKE_IDS)
    assert "Page weight" in xe.page._asset("explorer.js")  # the page states its weight


@pytest.mark.slow
def test_thumbnails_use_the_projects_display_conventions(synthetic_root: Path) -> None:
    import base64
    import io

    from PIL import Image

    uri = xe.thumbnail(synthetic_root, FAKE_IDS[0], "s2", size=16)
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.size == (16, 16) and img.mode == "RGB"
    with pytest.raises(MissingFileError, match="No s1 file for patch"):
        xe.thumbnail(synthetic_root, "ROIs2017_winter_99_p1", "s1")


@pytest.mark.slow
def test_without_the_data_the_explorer_works_and_says_so(synthetic_root: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xe.embedding, "_run_umap", lambda z, p: np.asarray(z[:, :2], np.float32))
    run = write_fake_run(tmp_path, "moved", synthetic_root)
    data = xe.explore(run, data_root=tmp_path / "gone", cache=False).data
    assert not data["has_thumbs"]
    assert any(n.startswith("No thumbnails: the data the runs read is not here") for n in data["notes"])
    assert all(t is None for ts in data["patches"]["thumbs"].values() for t in ts)


@pytest.mark.slow
def test_a_relative_data_root_is_found_beside_the_runs(synthetic_root: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(synthetic_root, project / "data" / "tiny", ignore=shutil.ignore_patterns(".xmodal_cache"))
    run = write_fake_run(project / "runs" / "study", "r", synthetic_root, ids=FAKE_IDS[:2])
    result = json.loads((run / "result.json").read_text())
    result["data"]["root"] = result["config"]["data_root"] = "data/tiny"
    (run / "result.json").write_text(json.dumps(result))
    assert xe.load_run(run).data_root == str((project / "data" / "tiny").resolve())


@pytest.mark.slow
def test_notebook_and_standalone_html_load_nothing(tiny_page: xe.Explorer, tmp_path: Path) -> None:
    from xmodal.book import check_offline

    fragment = tiny_page._repr_html_()
    assert fragment.startswith('<div class="xme" id="xme-') and "XmodalExplorer.mount(" in fragment
    assert "<style>" in fragment and 'class="xme-data"' in fragment  # everything inline
    path = tiny_page.save(tmp_path / "out" / "explorer.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and fragment.split("xme-data", 1)[1][:200] in text
    assert check_offline(path.parent) == []
    assert not re.search(r"https?:|//[a-z]", re.sub(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+", "", text)), \
        "no address of any kind in the page"
    data_json = text.split('class="xme-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data_json  # the JSON cannot close its <script>


# ---------------------------------------------------------------------------------
# in a browser, as a person would use it
# ---------------------------------------------------------------------------------
def _browser(tmp_path: Path) -> Any:
    return headless_chromium(tmp_path, window="1200,1250")


@pytest.mark.slow
def test_explorer_in_chromium_offline(built: xe.Explorer, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    page = built.save(tmp_path / "explorer.html")
    browser = _browser(tmp_path)
    state = "const I = window.XmodalExplorer.instances; return I[Object.keys(I)[0]].state();"
    try:
        browser.execute_cdp_cmd("Network.enable", {})
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        browser.get_log("performance")
        browser.get(page.resolve().as_uri())
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".xme-pt")) > 0)
        assert browser.execute_script(state)["title"] == "C+T+M, n_train all, seed 0"

        # choose the model: method C (seed 0 and all training patches stay as they were)
        Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="method"]')).select_by_visible_text("C")
        s = browser.execute_script(state)
        assert s["title"] == "C, n_train all, seed 0" and s["points"] == 2 * len(FAKE_IDS)
        Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="seed"]')).select_by_visible_text("1")
        assert browser.execute_script(state)["title"] == "C, n_train all, seed 1"
        Select(browser.find_element(By.CSS_SELECTOR, "select.xme-colour")).select_by_value("dominant")
        fills = {p.get_attribute("fill") for p in browser.find_elements(By.CSS_SELECTOR, ".xme-pt")}
        assert len(fills) >= 2  # several dominant classes

        # hover a point: its thumbnails and its class shares
        points = browser.find_elements(By.CSS_SELECTOR, ".xme-pt")
        ActionChains(browser).move_to_element(points[3]).perform()
        imgs = browser.find_elements(By.CSS_SELECTOR, ".xme-hover img")
        assert len(imgs) == 2 and all(i.is_displayed() for i in imgs)
        assert all(i.get_attribute("src").startswith("data:image/jpeg;base64,") for i in imgs)
        assert all(browser.execute_script("return arguments[0].naturalWidth", i) == xe.THUMB_SIZE for i in imgs)
        hover = browser.find_element(By.CSS_SELECTOR, ".xme-hover").text
        assert re.search(r"ROIs2017_winter_\d_p\d", hover) and "soft label" in hover and "S2" in hover

        # click it: its partner from the other sensor is ringed and joined by a line
        ActionChains(browser).move_to_element(points[3]).click().perform()
        s = browser.execute_script(state)
        assert s["focus"] >= 0 and len(s["partners"]) == 1 and len(s["neighbours"]) == xe.K_NEIGHBOURS
        assert len(browser.find_elements(By.CSS_SELECTOR, ".xme-ring-partner")) == 1
        assert len(browser.find_elements(By.CSS_SELECTOR, ".xme-link")) == 1
        assert len(browser.find_elements(By.CSS_SELECTOR, ".xme-ring-nn")) == xe.K_NEIGHBOURS
        assert len(browser.find_elements(By.CSS_SELECTOR, ".xme-pt.xme-lit")) >= 2
        partner_id = browser.find_element(By.CSS_SELECTOR, ".xme-status .xme-partner-id").text
        assert partner_id == s["focusId"]  # an aligned pair: the same patch seen by the other sensor
        assert "nearest of the" in browser.find_element(By.CSS_SELECTOR, ".xme-status").text

        # box-select the whole plot: class histogram and sensor shares
        browser.find_element(By.CSS_SELECTOR, 'button[data-mode="box"]').click()
        svg = browser.find_element(By.CSS_SELECTOR, ".xme-svg")
        w, h = svg.size["width"], svg.size["height"]
        (ActionChains(browser).move_to_element_with_offset(svg, -w // 2 + 3, -h // 2 + 3).click_and_hold()
         .move_by_offset(w // 2, h // 2).move_by_offset(w // 2 - 6, h // 2 - 6).release().perform())
        assert browser.execute_script(state)["selected"] == 2 * len(FAKE_IDS)
        rows = browser.find_elements(By.CSS_SELECTOR, ".xme-selection .xme-hist-row")
        assert rows and all(r.is_displayed() for r in rows)
        sel = browser.find_element(By.CSS_SELECTOR, ".xme-selection").text
        assert f"Selected {2 * len(FAKE_IDS)} of {2 * len(FAKE_IDS)} points" in sel and "S1 18 (50%)" in sel

        # the Baseline: two models, no neighbours, and the page says why
        Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="method"]')).select_by_visible_text("Baseline")
        s = browser.execute_script(state)
        assert s["title"] == "Baseline, n_train all, seed 0" and s["selected"] == 0
        assert "not shared" in browser.find_element(By.CSS_SELECTOR, ".xme-model").text

        # back to C, a point clicked and a lasso drawn, for the screenshot
        Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="method"]')).select_by_visible_text("C")
        points = browser.find_elements(By.CSS_SELECTOR, ".xme-pt")
        ActionChains(browser).move_to_element(points[5]).click().perform()
        browser.find_element(By.CSS_SELECTOR, 'button[data-mode="lasso"]').click()
        (ActionChains(browser).move_to_element_with_offset(svg, -w // 4, -h // 4).click_and_hold()
         .move_by_offset(w // 3, 0).move_by_offset(0, h // 3).move_by_offset(-w // 3, 0).release().perform())
        ActionChains(browser).move_to_element(points[5]).perform()
        assert browser.save_screenshot("/tmp/explorer-shot.png")

        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        urls = requested_urls(browser)
        assert urls, "no request was recorded"
        assert remote(urls) == [], remote(urls)

        # the notebook output (_repr_html_): put in a page the way JupyterLab does it
        # (innerHTML, then every <script> re-created so that it runs)
        notebook = tmp_path / "notebook.html"
        fragment = json.dumps(built._repr_html_()).replace("</", "<\\/")
        notebook.write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><div id="out"></div><script>'
            f'const host = document.getElementById("out"); host.innerHTML = {fragment};'
            'for (const s of Array.from(host.getElementsByTagName("script"))) {'
            '  const c = document.createElement("script");'
            '  for (const a of s.attributes) c.setAttribute(a.name, a.value);'
            '  c.textContent = s.textContent; s.parentNode.replaceChild(c, s); }'
            "</script></body></html>")
        browser.get(notebook.resolve().as_uri())
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".xme-pt")) > 0)
        assert not browser.find_elements(By.CSS_SELECTOR, ".xme-nojs")
        assert browser.execute_script(state)["title"] == "C+T+M, n_train all, seed 0"
    finally:
        browser.quit()
