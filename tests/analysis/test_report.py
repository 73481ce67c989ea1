"""`sim report` as a document a researcher would send (issue 18, item 9): human units in every table,
tables that scroll instead of running off the page, the scenario with its sweep grid, figures
embedded, one sentence per metric stating the comparison with its CI, the wall time of every run.
The browser test renders the report in headless Chromium and is skipped without it."""

from __future__ import annotations

import json
import re

import pytest

from sim.analysis.report import browser, screenshot
from sim.cli import main

RAW_FLOAT = re.compile(r"\d(?:\.\d+)?e[-+]?\d+", re.I)


def tables(html: str) -> list[str]:
    return re.findall(r"<table class=\"(?:summary|paired|events|grid)\">.*?</table>", html, re.S)


def report(dirs, out, capsys) -> str:
    code = main(["report", *map(str, dirs), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    return out.read_text()


def test_sweep_report_is_readable(sweep_dir, tmp_path, capsys):
    html = report([sweep_dir], tmp_path / "r.html", capsys)
    found = tables(html)
    assert len(found) >= 3  # summary, paired comparison, sweep grid
    for t in found:
        cells = re.findall(r"<td>([^<]*)</td>", t)
        raw = [c for c in cells if RAW_FLOAT.search(c)]
        assert not raw, f"raw SI floats in a table: {raw[:5]}"
    # every table sits in a container that scrolls rather than running off a 1280 px page
    assert html.count('<div class="scroll"><table') == len(found)
    assert re.search(r"\.scroll\{overflow:auto", html) and "white-space:nowrap" in html
    # the scenario with its sweep grid
    assert "Sweep grid" in html and "params.send_queue_slots" in html and "2, 4, 8, 16" in html
    # figures embedded as data URIs
    assert len(re.findall(r"src='data:image/png;base64,", html)) >= 3
    # a sentence per metric: the comparison with its CI
    findings = re.search(r"<h2>Findings</h2>.*?<ul class='findings'>(.*?)</ul>", html, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", findings)
    assert any(i.startswith("throughput: reservation = True against reservation = False over 4 points")
               for i in items), items
    assert any("95% CI [" in i for i in items)
    assert not any(RAW_FLOAT.search(i) for i in items)
    # 0/1 metrics as a fraction with the Wilson interval, not 0.3333 ± 1.4
    assert re.search(r"<td>\d+% \[\d+%, \d+%\]</td>", html)


def test_pair_report_states_each_comparison_and_the_total_wall_time(run_pair, tmp_path, capsys):
    import pandas as pd

    for d, t in zip(run_pair, (1.5, 2.5), strict=True):
        m = json.loads((d / "manifest.json").read_text())
        (d / "manifest.json").write_text(json.dumps({**m, "wall_time_s": t}))
    base = pd.read_parquet(run_pair[0] / "metrics.parquet")
    base["deadlocked"] = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # 4 of the baseline's 6 replications deadlocked
    base.to_parquet(run_pair[0] / "metrics.parquet", index=False)
    html = report(run_pair, tmp_path / "pair.html", capsys)
    assert "4 s in total (mirror_no_reservation: 1.5 s, mirror_reservation: 2.5 s)" in html
    items = re.findall(r"<li>(.*?)</li>", re.search(r"<ul class='findings'>(.*?)</ul>", html, re.S).group(1))
    lat = next(i for i in items if i.startswith("latency p99:"))
    assert "µs" in lat and "95% CI [" in lat and "6 of 6 paired seeds" in lat
    # the baseline's replications deadlocked: a sentence about latency says so
    assert "not every replication completed (reservation = False: 4 deadlocked of 6)" in lat
    dead = next(i for i in items if i.startswith("P(deadlocked):"))
    assert "pp" in dead


def test_identical_replications_show_an_exact_zero_spread(run_pair, tmp_path, capsys):
    import pandas as pd

    for d in run_pair:  # the same value in every replication, up to the last bit
        m = pd.read_parquet(d / "metrics.parquet")
        m["latency_p99_s"] = [5.530325161e-6 + (1e-21 if i % 2 else 0.0) for i in range(len(m))]
        m.to_parquet(d / "metrics.parquet", index=False)
    html = report(run_pair, tmp_path / "same.html", capsys)
    assert "5.53 ± 0" in html
    assert not RAW_FLOAT.search("".join(tables(html)))


@pytest.mark.skipif(browser() is None, reason="no chromium on PATH (Debian: apt-get install chromium)")
def test_report_fits_a_1280_px_browser_window(sweep_dir, tmp_path, capsys):
    from PIL import Image

    html = tmp_path / "r.html"
    report([sweep_dir], html, capsys)
    png = screenshot(html, tmp_path / "r.png", width=1280, height=1600)
    img = Image.open(png).convert("L")
    assert img.size == (1280, 1600)
    assert img.crop((0, 0, 1280, 400)).getextrema()[0] < 100  # the page drew text
    # nothing right of the text column: wide tables scroll inside it instead of being cut off at the edge
    assert img.crop((1230, 0, 1280, 1600)).getextrema()[0] >= 250
