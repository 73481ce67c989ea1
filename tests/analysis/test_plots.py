"""Each figure kind renders non-empty PNG and SVG files with labelled axes and units."""

from __future__ import annotations

import math

import pytest
from matplotlib.collections import PolyCollection
from matplotlib.patches import Rectangle

from sim.analysis import plots
from sim.analysis.results import load

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_saved(fig, tmp_path, name):
    paths = plots.save(fig, tmp_path / name)
    assert [p.suffix for p in paths] == [".png", ".svg"]
    png, svg = paths
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
    text = svg.read_text()
    assert "<svg" in text and len(text) > 5000
    return paths


def labels(fig):
    axes = [a for a in fig.axes if a.get_visible()]
    return [a.get_xlabel() for a in axes], [a.get_ylabel() for a in axes]


@pytest.mark.parametrize("name, values, expected", [
    ("latency_p99_s", [2e-5, 3e-5], "latency p99 (µs)"),
    ("recovery_time_s", [120.0, 300.0], "recovery time (min)"),
    ("time_to_deadlock_s", [0.5], "time to deadlock (ms)"),
    ("throughput_ops_s", [9e4], "throughput (k ops/s)"),
    ("bytes_mirrored_bytes", [3 * 2**30], "bytes mirrored (GiB)"),
    ("link_bandwidth_bytes_s", [1.25e10], "link bandwidth (GB/s)"),
    ("cost_usd", [12.0], "cost (USD)"),
    ("params.send_queue_slots", [4, 8], "send queue slots"),
    ("completed", [10.0], "completed"),
])
def test_axis_label_units(name, values, expected):
    label, factor = plots.axis_label(name, values)
    assert label == expected
    assert factor > 0


def test_unit_suffix_precedence():
    assert plots.split_unit("throughput_ops_s") == ("throughput", "rate", "ops/s")
    assert plots.split_unit("wait_s") == ("wait", "time", "s")
    assert plots.split_unit("bytes") == ("bytes", None, None)  # a bare word is not a suffix


def test_metric_vs_param_bands_per_variant(sweep_dir, tmp_path):
    rs = load(sweep_dir)
    fig = plots.metric_vs_param(rs.runs, "throughput_ops_s", "params.send_queue_slots", "params.reservation")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2  # one line per variant
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2  # one CI band each
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["reservation = False", "reservation = True"]
    xl, yl = labels(fig)
    assert xl == ["send queue slots"] and yl == ["throughput (k ops/s)"]
    # the baseline's deadlocked replications are marked, not silently averaged in
    assert "95% t CI; n = 8 per point" in fig.get_suptitle() and "not every replication completed" in fig.get_suptitle()
    check_saved(fig, tmp_path, "thr")


def test_headline_panel_deadlock_probability_and_throughput(sweep_dir, tmp_path):
    rs = load(sweep_dir)
    fig = plots.metric_vs_param(rs.runs, ["deadlocked", "throughput_ops_s"], "params.send_queue_slots",
                                "params.reservation")
    xl, yl = labels(fig)
    assert yl == ["P(deadlocked)", "throughput (k ops/s)"]
    assert xl[-1] == "send queue slots"
    # the deadlock band is a Wilson interval: non-degenerate even where every replication agrees
    band = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    assert len(band) == 2
    ys = [v[1] for c in band for p in c.get_paths() for v in p.vertices]
    assert max(ys) <= 1.0 + 1e-9 and min(ys) >= -1e-9 and max(ys) > 0.1
    check_saved(fig, tmp_path, "headline")


def test_categorical_x_axis(sweep_dir, tmp_path):
    rs = load(sweep_dir)
    fig = plots.metric_vs_param(rs.runs, "latency_p99_s", "params.reservation", "params.send_queue_slots")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["False", "True"]
    assert ax.get_ylabel() == "latency p99 (µs)"
    check_saved(fig, tmp_path, "cat")


def test_cdf_from_replications_and_timeseries(run_pair, tmp_path):
    rs = load(list(run_pair))
    fig = plots.cdf(rs.runs, "recovery_time_s", hue="result")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "recovery time (ms)" and ax.get_ylabel() == "cumulative fraction"
    assert len(ax.get_lines()) == 2
    for line in ax.get_lines():
        y = line.get_ydata()
        assert y[0] == 0.0 and y[-1] == pytest.approx(1.0) and all(a <= b for a, b in zip(y[:-1], y[1:], strict=True))
    check_saved(fig, tmp_path, "cdf")
    fig2 = plots.cdf(rs.timeseries, "lag_s", source="time-series samples")
    assert fig2.axes[0].get_xlabel().startswith("lag (")
    check_saved(fig2, tmp_path, "cdf_ts")


def test_timeline_marks_fault_span_and_events(run_pair, tmp_path):
    rs = load(list(run_pair))
    fig = plots.timeline(rs.timeseries, rs.events, result="mirror_no_reservation")
    assert len(fig.axes) == 3  # throughput, queue occupancy, lag
    xl, yl = labels(fig)
    assert xl[-1] == "simulated time (s)"
    assert yl == ["throughput (k ops/s)", "send queue occupancy", "lag (ms)"]
    ax = fig.axes[0]
    spans = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert spans, "fault span not shaded"
    x0 = spans[0].get_x()
    assert x0 == pytest.approx(0.5) and spans[0].get_width() == pytest.approx(0.3)
    vlines = {round(float(line.get_xdata()[0]), 3) for line in ax.get_lines()[1:]}
    assert {0.95, 1.2} <= vlines  # recovery and deadlock
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "fault link_down link" in legend and any(s.startswith("deadlock") for s in legend)
    check_saved(fig, tmp_path, "timeline")


def test_unhealed_fault_is_open_span():
    import pandas as pd

    ev = pd.DataFrame([{"time_s": 1.0, "event": "fault_start", "kind": "crash", "target": "n1", "index": 0},
                       {"time_s": 2.0, "event": "heal_phase_start"}])
    spans, instants = plots._event_spans(ev)
    assert spans[0][0] == 1.0 and math.isinf(spans[0][1]) and "not healed" in spans[0][2]
    assert instants == [(2.0, "heal_phase_start")]


def test_tradeoff_scatter(sweep_dir, tmp_path):
    rs = load(sweep_dir)
    fig = plots.tradeoff(rs.runs, "cost_usd", "recovery_time_s", by=["params.send_queue_slots"],
                         hue="params.reservation")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "recovery time (s)" and ax.get_ylabel() == "cost (USD)"
    assert len(ax.get_legend().get_texts()) == 2
    assert len(ax.texts) == 8  # each configuration annotated with its slots
    check_saved(fig, tmp_path, "tradeoff")


def test_metric_by_variant(run_pair, tmp_path):
    rs = load(list(run_pair))
    fig = plots.metric_by_variant(rs.runs, ["throughput_ops_s", "deadlocked"], "result")
    xl, yl = labels(fig)
    assert yl == ["throughput (k ops/s)", "P(deadlocked)"]
    assert all(x == "result" for x in xl)
    check_saved(fig, tmp_path, "variants")


def test_bad_columns_raise(sweep_dir):
    rs = load(sweep_dir)
    with pytest.raises(KeyError):
        plots.metric_vs_param(rs.runs, "nope", "params.send_queue_slots")
    with pytest.raises(KeyError):
        plots.cdf(rs.runs, "nope")


def test_cumulative_probes_become_rates():
    import numpy as np
    import pandas as pd

    t = np.arange(0.0, 1.0, 0.1)
    ts = pd.DataFrame({"time_s": t, "writes_acknowledged": 1000 * t, "send_queue_occupancy": np.minimum(t * 50, 15),
                       "replication": 0})
    assert plots.is_cumulative(ts["writes_acknowledged"], "writes_acknowledged")
    assert not plots.is_cumulative(ts["send_queue_occupancy"], "send_queue_occupancy")  # a level, not a count
    assert not plots.is_cumulative(ts["writes_acknowledged"].head(5), "writes_acknowledged")  # too few samples
    reset = ts["writes_acknowledged"].where(ts["time_s"] < 0.45, 1000 * (ts["time_s"] - 0.45))  # warm-up reset
    assert plots.is_cumulative(reset, "writes_acknowledged")
    assert np.isnan(plots.cumulative_to_rate(ts["time_s"], reset)[5])
    rate = plots.cumulative_to_rate(ts["time_s"], ts["writes_acknowledged"])
    assert np.isnan(rate[0]) and np.allclose(rate[1:], 1000.0)
    fig = plots.timeline(ts)
    assert [a.get_ylabel() for a in fig.axes] == ["writes acknowledged rate (k ops/s)", "send queue occupancy"]


def test_further_swept_parameters_become_columns_or_files(sweep_dir, tmp_path):
    import pandas as pd

    from sim.analysis.figures import choose_axes, write_figures
    from sim.analysis.results import from_sweep_frame

    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    three = pd.concat([runs.assign(**{"workload.rate": r}) for r in (1e5, 3e5)], ignore_index=True)
    cols = ["params.reservation", "params.send_queue_slots", "workload.rate"]
    three = three[cols + [c for c in three.columns if c not in cols]]
    rs = from_sweep_frame(three, {"sweep": {"parameters": cols}})
    assert choose_axes(rs) == ("params.send_queue_slots", "params.reservation", ["workload.rate"])
    files = write_figures(rs, tmp_path / "a", metrics=["throughput_ops_s"], formats=("png",))
    assert [p.name for f in files for p in f.paths] == ["throughput_ops_s_vs_send_queue_slots.png"]
    fig = plots.metric_vs_param(rs.runs, ["deadlocked", "throughput_ops_s"], "params.send_queue_slots",
                                "params.reservation", col="workload.rate")
    assert len(fig.axes) == 4
    assert [a.get_title() for a in fig.axes[:2]] == ["rate = 100 k ops/s", "rate = 300 k ops/s"]
    four = pd.concat([three.assign(**{"params.workers": w}) for w in (2, 4)], ignore_index=True)
    rs4 = from_sweep_frame(four[["params.workers", *four.columns[:-1]]],
                           {"sweep": {"parameters": [*cols, "params.workers"]}})
    files = write_figures(rs4, tmp_path / "b", metrics=["throughput_ops_s"], formats=("png",))
    names = sorted(p.name for f in files for p in f.paths)
    assert names == [f"throughput_ops_s_vs_send_queue_slots__rate={r}__workers={w}.png"
                     for r in ("100k", "300k") for w in (2, 4)]
