"""`sim plot` and `sim report`: files written, exit codes, one-line errors."""

from __future__ import annotations

import base64
import re

import pytest

from sim.cli import main


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plot_sweep_writes_figures_beside_results(sweep_dir, capsys):
    code, out, err = run(["plot", str(sweep_dir), "--metric", "deadlocked", "--metric", "throughput_ops_s",
                          "--x", "send_queue_slots", "--hue", "reservation"], capsys)
    assert code == 0, err
    figs = sweep_dir / "figures"
    names = sorted(p.name for p in figs.iterdir())
    assert "panel_deadlocked_throughput_ops_s_vs_send_queue_slots.png" in names
    assert "deadlocked_vs_send_queue_slots.svg" in names
    assert all((figs / n).stat().st_size > 1000 for n in names)
    assert set(out.split()) == {str(figs / n) for n in names}


def test_plot_defaults_on_run_and_pair(run_dir, run_pair, tmp_path, capsys):
    code, out, err = run(["plot", str(run_dir), "--format", "png"], capsys)
    assert code == 0, err
    assert (run_dir / "figures" / "timeline.png").is_file() and not (run_dir / "figures" / "timeline.svg").exists()
    code, out, err = run(["plot", *map(str, run_pair), "--out", str(tmp_path / "cmp"), "--format", "png"], capsys)
    assert code == 0, err
    names = {p.name for p in (tmp_path / "cmp").iterdir()}
    assert {"comparison.png", "timeline_mirror_no_reservation.png", "timeline_mirror_reservation.png"} <= names
    assert not any(n.endswith(".svg") for n in names)


def test_plot_real_toy_run(toy_run_dir, capsys):
    code, out, err = run(["plot", str(toy_run_dir)], capsys)
    assert code == 0, err
    assert (toy_run_dir / "figures" / "timeline.svg").is_file()


@pytest.mark.parametrize("command", ["plot", "report"])
def test_missing_and_bad_result_dirs_exit_2(tmp_path, command, capsys):
    code, out, err = run([command, str(tmp_path / "nope")], capsys)
    assert code == 2
    assert err.count("\n") == 1 and f"sim {command}: error:" in err and "no such result directory" in err
    (tmp_path / "empty").mkdir()
    code, out, err = run([command, str(tmp_path / "empty")], capsys)
    assert code == 2 and err.count("\n") == 1 and "no manifest.json" in err


@pytest.mark.parametrize("args, message", [
    (["--metric", "nope"], "no column 'nope'"),
    (["--metric", "params.send_queue_slots"], "is not a metric"),
    (["--x", "zz"], "no column 'zz'"),
    (["--hue", "zz"], "no column 'zz'"),
])
def test_bad_names_exit_2(sweep_dir, args, message, capsys):
    code, out, err = run(["plot", str(sweep_dir), *args], capsys)
    assert code == 2
    assert err.count("\n") == 1 and message in err


def test_bad_format_exit_2(run_dir, capsys):
    code, _out, err = run(["plot", str(run_dir), "--format", "gif"], capsys)
    assert code == 2 and "unsupported format" in err


def test_report_html_is_self_contained_with_summary(sweep_dir, capsys):
    code, out, err = run(["report", str(sweep_dir)], capsys)
    assert code == 0, err
    html = (sweep_dir / "report.html").read_text()
    assert out.strip() == str(sweep_dir / "report.html")
    assert "<h2>Summary</h2>" in html and 'class="summary"' in html
    # summary row: reservation off, 2 slots, 8 replications, throughput in k ops/s
    assert re.search(r"<tr><td>False</td><td>2</td><td>8</td>(<td>[^<]*</td>)*?<td>75\.\d+ ± ", html)
    assert "throughput_ops_s [k ops/s]" in html
    assert "Paired comparison" in html
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(imgs) >= 3
    assert base64.b64decode(imgs[0])[:4] == b"\x89PNG"
    assert "src='figures" not in html and 'src="http' not in html  # nothing external
    assert "send_queue_slots" in html and "synthetic results shaped like an NVLog sweep" in html


def test_report_markdown(run_dir, tmp_path, capsys):
    out_file = tmp_path / "rep" / "r.md"
    code, out, err = run(["report", str(run_dir), "--out", str(out_file)], capsys)
    assert code == 0, err
    md = out_file.read_text()
    assert "## Summary" in md and "| metric | mean ± 95% CI | std | n |" in md
    assert re.search(r"\| throughput_ops_s \[k ops/s\] \| [\d.]+ ± [\d.]+ \|", md)
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert links and all((out_file.parent / link).is_file() for link in links)
    assert "fault_start" in md and "```yaml" in md


def test_report_pair_of_runs(run_pair, tmp_path, capsys):
    code, out, err = run(["report", *map(str, run_pair), "--out", str(tmp_path / "pair.html")], capsys)
    assert code == 0, err
    html = (tmp_path / "pair.html").read_text()
    assert "mirror_no_reservation vs mirror_reservation" in html
    assert "Paired comparison (params.reservation: True minus False)" in html


def test_failed_run_reports_errors_and_plot_says_why(root, tmp_path, capsys, monkeypatch):
    import sim

    monkeypatch.chdir(root)
    out = tmp_path / "failed"
    sim.run(root / "tests" / "data" / "toy.yaml", out=out, params__fail_after=5, duration="2s", replications=2)
    code, _out, err = run(["plot", str(out)], capsys)
    assert code == 2 and "2 run(s) failed" in err and err.count("\n") == 1
    code, _out, err = run(["report", str(out)], capsys)
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "Errors and violations" in html and "RuntimeError: toy failure" in html
