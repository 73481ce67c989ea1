"""What a reader of a figure or table is told: no axis offsets, noise shown as exact, n per point,
incomplete replications marked, log scales where the data span decades, a unit per panel and on
parameter axes (issue 18, items 6-8). Each test inspects the matplotlib Axes of the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sim.analysis import plots, stats
from sim.analysis.results import from_sweep_frame


def drawn(fig):
    FigureCanvasAgg(fig).draw()  # offset texts and tick labels are only set at draw time
    return fig


def offsets(fig) -> list[str]:
    return [t for ax in fig.axes for t in (ax.xaxis.get_offset_text().get_text(),
                                           ax.yaxis.get_offset_text().get_text()) if t]


def n_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts if t.get_text().startswith("n=")]


def sweep_frame(metric_values, slots=(2, 4, 8, 16), reps=4, **extra) -> pd.DataFrame:
    rows = []
    for res in (False, True):
        for k, s in enumerate(slots):
            for r in range(reps):
                v = metric_values(res, k, r)
                rows.append({"params.reservation": res, "params.send_queue_slots": s, "point": k + 10 * res,
                             "replication": r, "seed": 100 + r, "lag_p50_s": v, "deadlocked": 0.0,
                             "sim_time_s": 1.0, "duration": 1.0, **{c: f(res, k, r) for c, f in extra.items()}})
    return pd.DataFrame(rows)


# --- item 6: no offsets, noise shown as exact ------------------------------------------------------

def test_noise_level_values_have_no_offset_and_a_flat_axis():
    # 5.530325161 µs at every point, differing by 1e-17 s: float noise (the rate-200k panel)
    runs = sweep_frame(lambda res, k, r: 5.530325161e-6 + (k * 1e-17 if r % 2 else 0.0))
    fig = drawn(plots.metric_vs_param(runs, "lag_p50_s", "params.send_queue_slots", "params.reservation"))
    assert offsets(fig) == []
    ax = fig.axes[0]
    assert ax.get_ylabel() == "lag p50 (µs)"
    lo, hi = ax.get_ylim()
    assert lo < 5.530325161 < hi and hi - lo > 0.1  # flat around the value, not stretched over 1e-11
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(5.0 <= float(t) <= 6.0 for t in labels), labels


def test_large_values_get_no_offset_either():
    runs = sweep_frame(lambda res, k, r: 1.0, throughput_ops_s=lambda res, k, r: 1_000_000 + 50 * k + r)
    fig = drawn(plots.metric_vs_param(runs, "throughput_ops_s", "params.send_queue_slots", "params.reservation"))
    assert offsets(fig) == []


def test_identical_replications_have_an_exact_zero_spread():
    noisy = [0.1 + 0.2, 0.3, 0.3, 0.1 + 0.2]  # identical up to the last bit
    ci = stats.t_interval(noisy)
    assert ci.std == 0.0 and ci.half_width == 0.0
    a = pd.DataFrame({"seed": [1, 2, 3, 4], "m": [0.3] * 4})
    b = pd.DataFrame({"seed": [1, 2, 3, 4], "m": noisy})
    d = stats.paired_difference(a, b, "m")
    assert d.diff == 0.0 and d.half_width == 0.0 and d.p_value == 1.0


# --- item 7: n per point, incomplete replications marked -------------------------------------------

def test_n_is_annotated_where_it_varies():
    # the metric is NaN in some replications at small queues: n is 2-4, not "4 per point"
    runs = sweep_frame(lambda res, k, r: np.nan if (k < 2 and r >= 2 + k) else 1e-5 * (1 + k))
    fig = plots.metric_vs_param(runs, "lag_p50_s", "params.send_queue_slots", "params.reservation")
    assert "4 replications per point" not in fig.get_suptitle()
    assert "n = 2–4 per point" in fig.get_suptitle()
    texts = n_texts(fig)
    assert texts.count("n=2") == 2 and texts.count("n=3") == 2 and "n=4" not in texts


def test_deadlocked_replications_are_marked_in_a_comparison():
    # the baseline's p99 comes from the one replication that survived the warm-up: say so
    rows = [{"result": "no_reservation", "seed": s, "replication": s, "deadlocked": float(s > 0),
             "write_latency_p99_s": 1.1e-5 if s == 0 else np.nan, "sim_time_s": 0.02, "duration": 0.02}
            for s in range(4)]
    rows += [{"result": "reservation", "seed": s, "replication": s, "deadlocked": 0.0,
              "write_latency_p99_s": 2.6e-5 + 1e-7 * s, "sim_time_s": 0.02, "duration": 0.02} for s in range(4)]
    runs = pd.DataFrame(rows)
    fig = plots.metric_by_variant(runs, ["write_latency_p99_s", "deadlocked"], "result")
    texts = n_texts(fig)
    assert "n=1 of 4\n(3 deadlocked)" in texts
    assert "n=4" in texts
    assert "hollow" in fig.get_suptitle()
    dropped = plots.metric_by_variant(runs, ["write_latency_p99_s"], "result", incomplete="drop")
    assert "n=1 of 4\n(3 deadlocked)" in n_texts(dropped)


def test_outcomes_name_how_each_replication_ended():
    runs = pd.DataFrame({"deadlocked": [0, 1, 0, 0, 0], "stalled": [0, 0, 1, 0, 0],
                         "watchdog_timeout": [0, 0, 0, 1, 0], "sim_time_s": [2.0, 1.0, 2.0, 0.5, 1.2],
                         "duration": [2.0] * 5})
    assert list(stats.outcomes(runs)) == ["complete", "deadlocked", "stalled", "watchdog_timeout", "truncated"]
    assert stats.describe_incomplete(stats.outcomes(runs)) == "1 timed out, 1 deadlocked, 1 stalled, 1 truncated"
    s = stats.summarize(runs.assign(m=1.0), [], ["m"])
    assert s.loc[0, "replications"] == 5 and "1 truncated" in s.loc[0, "incomplete"]


# --- item 8: log scales, units per panel and on parameter axes -------------------------------------

def test_log_y_where_the_values_span_more_than_two_decades():
    runs = sweep_frame(lambda res, k, r: 1e-6 * 10 ** k * (1 + 0.01 * r))
    fig = plots.metric_vs_param(runs, "lag_p50_s", "params.send_queue_slots", "params.reservation")
    assert fig.axes[0].get_yscale() == "log"
    narrow = plots.metric_vs_param(runs.assign(lag_p50_s=1e-6 * (1 + runs["point"] % 3)), "lag_p50_s",
                                   "params.send_queue_slots", "params.reservation")
    assert narrow.axes[0].get_yscale() == "linear"
    forced = plots.metric_vs_param(runs, "lag_p50_s", "params.send_queue_slots", "params.reservation", logy=False)
    assert forced.axes[0].get_yscale() == "linear"


def test_cdf_log_x_when_spanning_decades():
    df = pd.DataFrame({"recovery_time_s": [1e-3, 3e-3, 0.1, 0.5, 2.0]})
    assert plots.cdf(df, "recovery_time_s").axes[0].get_xscale() == "log"
    assert plots.cdf(df, "recovery_time_s", logx=False).axes[0].get_xscale() == "linear"


def test_unit_per_panel_and_units_on_parameter_axes():
    # a µs panel at 200k ops/s and a ms panel at 600k ops/s: not "0.0082 ms"
    rows = []
    for rate, base in ((200e3, 8.2e-6), (600e3, 4.1e-3)):
        runs = sweep_frame(lambda res, k, r, base=base: base * (1 + 0.1 * k + 0.01 * r))
        rows.append(runs.assign(**{"workload.rate": rate}))
    runs = pd.concat(rows, ignore_index=True)
    fig = drawn(plots.metric_vs_param(runs, "lag_p50_s", "params.send_queue_slots", "params.reservation",
                                      col="workload.rate"))
    ylabels = [a.get_ylabel() for a in fig.axes]
    assert ylabels == ["lag p50 (µs)", "lag p50 (ms)"]
    assert [a.get_title() for a in fig.axes] == ["rate = 200 k ops/s", "rate = 600 k ops/s"]
    # the rate itself on the x axis
    fig = drawn(plots.metric_vs_param(runs, "lag_p50_s", "workload.rate", "params.reservation",
                                      fixed={"params.send_queue_slots": 2}))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "rate (k ops/s)"
    ticks = [float(t.get_text()) for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and max(ticks) <= 1000


@pytest.mark.parametrize("name, values, label", [
    ("workload.rate", [2e5, 6e5], "rate (k ops/s)"),
    ("params.checkpoint_interval", [5.0, 40.0], "checkpoint interval (s)"),
    ("params.link_latency", [2e-6], "link latency (µs)"),
    ("params.memory_size", [2**30], "memory size (GiB)"),
    ("params.send_queue_slots", [4, 8], "send queue slots"),
    ("suspensions", [2e5, 9e5], "suspensions (thousands)"),
    ("metadata_bytes_per_image", [3 * 2**20], "metadata bytes per image (MiB)"),
])
def test_parameter_and_count_units(name, values, label):
    assert plots.axis_label(name, values)[0] == label


def test_plot_cli_passes_log_flags(monkeypatch, tmp_path):
    from sim.analysis import figures
    from sim.cli import main

    runs = sweep_frame(lambda res, k, r: 1e-5 * (1 + k))
    seen = {}
    real = plots.metric_vs_param

    def spy(*a, **kw):
        seen.update(kw)
        return real(*a, **kw)

    monkeypatch.setattr(figures.plots, "metric_vs_param", spy)
    monkeypatch.setattr(figures, "ResultSet", figures.ResultSet)
    d = tmp_path / "sweep"
    d.mkdir()
    runs.to_parquet(d / "runs.parquet", index=False)
    (d / "manifest.json").write_text('{"scenario": {"name": "s"}, "sweep": {"parameters": '
                                     '["params.reservation", "params.send_queue_slots"]}}')
    assert from_sweep_frame(runs).runs is not None
    assert main(["plot", str(d), "--metric", "lag_p50_s", "--logy", "--no-logx", "--format", "png"]) == 0
    assert seen["logy"] is True and seen["logx"] is False and seen["incomplete"] == "mark"
