"""The Jupyter Book: its page context on hand-written run folders, and the book built offline from a
tiny, really trained study (slow), checked in Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from book_study import shared_tiny_study
from browser import headless_chromium, remote, requested_urls

CDN_HOSTS = ("cdn.", "unpkg.com", "jsdelivr", "cdnjs", "googleapis", "plot.ly", "mathjax.org")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return shared_tiny_study(tmp_path_factory)


@pytest.fixture(scope="module")
def study_dir(trained: tuple[Path, Path]) -> Path:
    return trained[0]


@pytest.fixture(scope="module")
def book(trained: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from calibrated_archive import write_calibrated_archive
    from tuned_archive import write_tuned_archive

    from xmodal.book import ENV_ARCHIVES, build_book

    study_dir, data_root = trained
    out = tmp_path_factory.mktemp("book")
    archives = tmp_path_factory.mktemp("archives")  # the tuned profile's results: a hand-made archive
    write_tuned_archive(archives)
    write_calibrated_archive(archives)  # the calibrated world's search and runs, for the data page
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ENV_ARCHIVES, str(archives))
        index = build_book(runs_dir=study_dir.parent, study=study_dir.name, data_root=data_root,
                           out_dir=out, quiet=True)
    assert index == out / "_build" / "html" / "index.html"
    return index.parent


def _page(book: Path, name: str) -> str:
    return (book / "book" / f"{name}.html").read_text()


# ----------------------------------------------------------------------------- the pages' context
def _write_run(study: Path, method: str, sensors: list[str], config_hash: str, homogeneity: dict[str, float]) -> None:
    """A finished run written by hand through xmodal.rundir: result, predictions, latents, notebook."""
    import numpy as np

    from xmodal.rundir import Latents, Predictions, Result, RunDir

    run = RunDir(study / f"{method}-{'+'.join(sensors)}-nall-seed0-{config_hash}")
    run.write_result(Result.from_dict({
        "config": {"method": method, "modalities": sensors, "seed": 0, "n_train": None, "label_scheme": "dfc9"},
        "config_hash": config_hash, "data": {"kind": "synthetic", "n_test": 3, "class_names": ["A", "B"],
                                             "season": "winter", "split": "scene"},
        "metrics": {s: {"macro": 0.5, "weighted": 0.6, "micro": 0.6} for s in sensors},
        "homogeneity": homogeneity}))
    ids = np.array(["p1", "p2", "p3"])
    prob = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    run.write_predictions(Predictions(sensors, ["A", "B"], {s: ids for s in sensors}, {s: prob for s in sensors},
                                      {s: prob for s in sensors}))
    n = len(sensors) * 3
    run.write_latents(Latents(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.tile(prob, (len(sensors), 1)),
                              np.tile(prob, (len(sensors), 1)), np.repeat(sensors, 3), np.tile(ids, len(sensors))))
    run.notebook_path.write_text("{}")


def test_page_context_shows_the_sensors_the_runs_were_trained_on(tmp_path: Path) -> None:
    from xmodal.book import BookError, _run_title, page_context, run_notebooks

    study = tmp_path / "runs" / "three"
    for i, s in enumerate(("s1", "s2", "rgb")):
        _write_run(study, "baseline", [s], f"{i}" * 12, {})
    _write_run(study, "C+T+M", ["s1", "s2", "rgb"], "a" * 12, {"s1|s2": 0.7, "s1|rgb": 0.6, "s2|rgb": 0.9})
    ctx = page_context(runs_dir=tmp_path / "runs", study="three")
    assert ctx.sensors == ["s1", "s2", "rgb"] and ctx.n_runs == 4 and ctx.data_root is None
    assert ctx.config["method"] == "C+T+M" and ctx.class_names == ["A", "B"]
    assert ctx.run_dir("baseline", "rgb") == study / f"baseline-rgb-nall-seed0-{'2' * 12}"
    hom = ctx.homogeneity
    assert len(hom) == 6 and set(hom["method"]) == {"baseline", "C+T+M"}
    panels = ctx.latent_panels()
    assert list(panels) == ["Baseline (three models)", "C+T+M"] and len(panels["Baseline (three models)"]) == 3
    assert panels["C+T+M"][0].modalities == ["s1", "s2", "rgb"]
    notebooks = run_notebooks(study)
    assert len(notebooks) == 4 and all(nb.name == "experiment.ipynb" and res.ok for nb, res in notebooks)
    title, summary = _run_title("x", notebooks[0][1])
    assert title == "C+T+M, n_train=all, seed 0"
    assert "RGB macro 0.500 / weighted 0.600" in summary and "homogeneity s(S2, RGB) 0.900" in summary
    assert _run_title("x", None) == ("Run x (unfinished or failed)", "no result")
    with pytest.raises(BookError, match="The data the study ran on is not available"):
        ctx.datasets()
    with pytest.raises(BookError, match="No finished run in .*empty: run `xmodal sweep --study empty`"):
        (tmp_path / "runs" / "empty").mkdir()
        page_context(runs_dir=tmp_path / "runs", study="empty")


@pytest.mark.slow
def test_every_page_is_built(book: Path) -> None:
    for name in ("intro", "data", "method", "results", "tuning", "latent", "maps", "reproduce", "teaching", "runs"):
        assert (book / "book" / f"{name}.html").is_file(), name
    assert "book/intro.html" in (book / "index.html").read_text()


@pytest.mark.slow
def test_results_page_shows_figures_tables_and_the_paper(book: Path, study_dir: Path) -> None:
    html = _page(book, "results")
    assert len(re.findall(r'<img[^>]+src="[^"]+\.png"', html)) >= 2  # Figures 2 and 3
    from xmodal.rundir import find_runs

    n_runs = len(find_runs(study_dir))
    assert re.search(rf"synthetic SEN12MS-like data, winter, scene split; {n_runs} runs of study .booktest.", html)
    assert "reported by the paper" in html
    assert "0.67" in html  # the paper's C+T+M homogeneity beside the measured one
    assert re.search(r"Of \d+ claims checked", html)
    # the study's one seed: every Figure 2 model's last epochs compared, no interval (tests/test_report_validation.py
    # checks the sentences of every case, "Not measured" for runs of a single epoch among them)
    assert "Is every model on its plateau at this budget?" in html
    assert "With one seed there is no interval, so no verdict for Baseline S1, Baseline S2, C, C+M, C+T, C+T+M" in html


@pytest.mark.slow
def test_tuned_verdicts_and_tuning_page_render_the_archive_and_label_it(book: Path) -> None:
    def text_of(html: str) -> str:
        return re.sub(r"<[^>]+>", "", html).replace("\u2018", "'").replace("\u2019", "'")  # MyST's curly quotes

    results = text_of(_page(book, "results"))
    label = "archived results of profile 'tuned' (commit 0123456, 2026-12-03)"
    assert label in results and "20 claims tested as one Holm family" in results  # the archive's 3 seeds
    assert "tuned: verdict" in results and "hand-set: verdict" in results
    assert "no claim was tested on both" in results  # the tiny study has one seed: no verdict to compare
    html = _page(book, "tuning")
    text = text_of(html)
    assert label in text and "These are archived results" in text
    assert "xmodal tune --study tuned --jobs 2 --data data/default" in text
    assert "took 2.0 h of wall time" in text  # the hand-made archive's measured times
    assert "0.0003 to 0.003 (log scale)" in text and "hand-set (every model)" in text
    assert "18 of 18 runs stopped early" in text
    assert len(re.findall(r'<img[^>]+src="[^"]+\.png"', html)) >= 3  # history, importance, curves


@pytest.mark.slow
def test_latent_page_has_an_interactive_plotly_figure_with_points(book: Path) -> None:
    html = _page(book, "latent")
    assert "Plotly.newPlot" in html
    assert "_static/vendor/plotly/plotly.min.js" in html
    assert (book / "_static" / "vendor" / "plotly" / "plotly.min.js").stat().st_size > 1_000_000
    call = html[html.index("Plotly.newPlot"):]
    assert re.search(r'"x":(\[-?\d|\{"dtype":"f\d","bdata":")', call), "the figure holds no data points"
    assert "ROIs2017_winter" in call  # hover texts name the patches


@pytest.mark.slow
def test_latent_page_measures_every_cross_modal_method_and_the_adversary(book: Path) -> None:
    html = _page(book, "latent")
    text = re.sub(r"<[^>]+>", "", html)
    for method in ("C+M", "C+T", "C+T+M", "C+T+M (confusion)"):
        assert method in text, method
    assert "probe accuracy" in text and "label retrieval mAP S1→S2" in text and "chance" in text
    assert "At the last epoch." in text and "One seed per method" in text  # the tiny study has one seed
    assert "No finished run of the" in text  # the sensitivity study has not run beside it
    assert len(re.findall(r'<img[^>]+src="[^"]+\.png"', html)) >= 3  # measures, adversary, static UMAP


@pytest.mark.slow
def test_map_page_shows_the_maps_scored_with_intervals(book: Path) -> None:
    text = re.sub(r"<[^>]+>", "", _page(book, "maps"))
    assert len(re.findall(r'<img[^>]+src="[^"]+\.png"', _page(book, "maps"))) >= 2  # the scene, the maps
    assert "runs of study 'booktest'" in text or "Runs of study" in text
    for system in ("Baseline", "C+T+M"):
        assert re.search(rf"{re.escape(system)}: accuracy of the fallback map \d\.\d\d \[\d\.\d\d, \d\.\d\d\]", text)
    assert "illustration, not a test" in text


@pytest.mark.slow
def test_data_and_method_pages_show_the_data_and_the_code(book: Path) -> None:
    data = _page(book, "data")
    assert "synthetic" in data and "scene split" in data
    assert "s1_sigma0_db" in data or "Sentinel-1 class backscatter" in data or "s1_looks" in data
    text = re.sub(r"<[^>]+>", "", data).replace("\u2018", "'").replace("\u2019", "'")  # MyST's curly quotes
    assert "modality_n_train" in text  # the world knobs
    assert "archived results of profile 'calibrated' (commit fedcba9, 2026-12-05)" in text
    assert "within ± 0.02 of the target 0.63" in text and "outside ± 0.02 of the target 0.77" in text
    method = _page(book, "method")
    for name in ("def classification_loss", "def modality_loss", "def triplet_loss",
                 "def mine_triplets", "def homogeneity", "def train_step"):
        assert name in re.sub(r"<[^>]+>", "", method), name
    assert "positive" in method and "negative" in method


@pytest.mark.slow
def test_runs_page_links_every_executed_notebook(book: Path, study_dir: Path) -> None:
    from xmodal.book import run_page_name

    html = _page(book, "runs")
    from xmodal.rundir import RunDir

    runs = sorted(p.name for p in study_dir.iterdir() if RunDir(p).has_notebook())
    assert runs
    assert f"has {len(runs)} executed run notebook(s)" in html
    for name in runs:
        page = run_page_name(name)
        assert f"_generated/runs/{page}.html" in html, name
        run_html = (book / "book" / "_generated" / "runs" / f"{page}.html").read_text()
        assert "Run folder <code" in run_html and name in run_html
        assert "Train and evaluate" in run_html  # the executed template, with its outputs
        assert "cell_output" in run_html


@pytest.mark.slow
def test_no_page_loads_anything_from_the_network(book: Path) -> None:
    from xmodal.book import check_offline

    assert check_offline(book) == []
    for page in book.rglob("*.html"):
        text = page.read_text()
        heads = re.findall(r"<script[^>]*>", text) + re.findall(r"<link[^>]*>", text)
        for tag in heads:
            assert not any(h in tag for h in CDN_HOSTS), f"{page}: {tag}"
        for tag in re.findall(r"<script[^>]*mathjax[^>]*>", text, flags=re.I):
            assert "_static/vendor/mathjax/tex-chtml.js" in tag, f"{page}: {tag}"
        assert "unpkg.com" not in text and "cdn.jsdelivr" not in text, page


def test_check_offline_finds_remote_scripts_styles_and_css(tmp_path: Path) -> None:
    from xmodal.book import check_offline

    (tmp_path / "a.html").write_text(
        '<a href="https://example.org">fine: a link</a>'
        '<script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/f.css">'
        '<img src="_static/local.png">')
    (tmp_path / "s.css").write_text('@import "https://fonts.example.org/css"; body{}')
    found = check_offline(tmp_path)
    assert found == ["a.html: <script> https://cdn.example.org/x.js",
                     "a.html: <link> //fonts.example.org/f.css",
                     "s.css: url https://fonts.example.org/css"]


def test_build_errors_say_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xmodal.book import BookError, build_book, find_mathjax

    with pytest.raises(BookError, match="No runs folder .*nothing.*xmodal sweep --study nothing"):
        build_book(runs_dir=tmp_path, study="nothing", out_dir=tmp_path)
    monkeypatch.setenv("XMODAL_MATHJAX", str(tmp_path / "nowhere"))
    with pytest.raises(BookError, match="MathJax 3 is missing .*make mathjax"):
        find_mathjax(tmp_path)


@pytest.mark.slow
def test_latent_page_draws_its_points_in_chromium_without_network(book: Path, tmp_path: Path) -> None:
    browser = headless_chromium(tmp_path)
    try:
        page = (book / "book" / "latent.html").resolve()
        browser.get_log("performance")  # drop the browser's own start-up page
        browser.get(page.as_uri())
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 60).until(
            lambda b: b.execute_script("return document.querySelectorAll('.scatterlayer .point').length") > 0)
        drawn = browser.execute_script("return document.querySelectorAll('#latent-umap .scatterlayer .point').length")
        data = browser.execute_script(
            "const gd = document.getElementById('latent-umap');"
            "return gd._fullData.filter(t => t.visible === true).reduce((n, t) => n + t.x.length, 0);")
        assert data > 0 and drawn == data, (drawn, data)
        shots = book.parent / "screenshots"
        shots.mkdir(exist_ok=True)
        browser.execute_script("document.getElementById('latent-umap').scrollIntoView();")
        assert browser.save_screenshot(str(shots / "latent.png"))
        urls = requested_urls(browser)
        assert urls, "no request was recorded"
        assert remote(urls) == [], remote(urls)
    finally:
        browser.quit()


@pytest.mark.slow
def test_explorer_page_of_the_built_book_works_offline(book: Path, tmp_path: Path) -> None:
    """The book's explorer page, from file:// with the network off: switch the model, hover, click."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser = headless_chromium(tmp_path, window="1400,1200")
    state = "const I = window.XmodalExplorer.instances; return I[Object.keys(I)[0]].state();"
    try:
        browser.execute_cdp_cmd("Network.enable", {})
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
        browser.get((book / "book" / "explorer.html").resolve().as_uri())
        WebDriverWait(browser, 60).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".xme-pt")) > 0)
        menu = Select(browser.find_element(By.CSS_SELECTOR, 'select[data-key="method"]'))
        methods = [o.text for o in menu.options]
        assert "C" in methods and "Baseline" in methods
        menu.select_by_visible_text("C")
        assert browser.execute_script(state)["title"].startswith("C,")
        points = browser.find_elements(By.CSS_SELECTOR, ".xme-pt")
        ActionChains(browser).move_to_element(points[0]).perform()
        imgs = browser.find_elements(By.CSS_SELECTOR, ".xme-hover img")
        assert len(imgs) == 2 and all(i.is_displayed() for i in imgs)  # the patch's S1 and S2 thumbnails
        ActionChains(browser).move_to_element(points[0]).click().perform()
        s = browser.execute_script(state)
        assert len(s["partners"]) == 1 and len(browser.find_elements(By.CSS_SELECTOR, ".xme-ring-partner")) == 1
        shots = book.parent / "screenshots"
        shots.mkdir(exist_ok=True)
        assert browser.save_screenshot(str(shots / "explorer.png"))
    finally:
        browser.quit()
