"""The benchmark (benchmark.py): resume after an interruption, reports, groups,
threads, estimator configurations and their keys."""

import csv
import json

import pytest

from voice2series import benchmark
from voice2series.benchmark import COLUMNS, _config, expand_datasets, make_estimator, read_results, run_benchmark
from voice2series.datasets import bundled_datasets

from .helpers import make_archive, read_csv, report_cells

FAST_V2S = {"max_epochs": 1, "batch_size": 64}


def test_report_mean_std_beside_published_numbers(tmp_path):
    def row(method, seed, accuracy):
        return {
            "dataset": "ItalyPowerDemand",
            "method": method,
            "seed": seed,
            "accuracy": accuracy,
            "n_train": "67",
            "n_test": "1029",
            "n_timepoints": "24",
            "fit_seconds": "1",
            "predict_seconds": "1",
            "warmup_seconds": "0",
            "peak_rss_mb": "100",
            "config": "{}",
        }

    rows = [row("v2s", "0", "0.90"), row("v2s", "1", "0.94"), row("1nn-dtw", "", "0.95")]
    path = benchmark.write_report(
        rows,
        tmp_path / "r.md",
        seeds=2,
        methods=["v2s", "minirocket", "1nn-dtw"],
        names=["ItalyPowerDemand", "Nowhere"],
    )
    report = path.read_text()
    # V2S: mean and sample std of 0.90, 0.94; MiniRocket not run; then paper V2S_a, V2S_u,
    # SOTA (percent in the table) and redux MiniROCKET, 1NN-DTW.
    assert report_cells(report, "ItalyPowerDemand") == [
        "ItalyPowerDemand",
        "67/1029/24",
        "0.920 ± 0.028 (n=2)",
        "",
        "0.950",
        "0.971",
        "0.963",
        "0.971",
        "0.963",
        "0.950",
    ]
    assert report_cells(report, "Nowhere") == ["Nowhere"] + [""] * 9
    assert "seeds 0, 1" in report


@pytest.mark.parametrize(
    "configs, label",
    [
        ([{"train_program": True}], "V2S (this run)"),
        ([{"train_program": False, "max_epochs": 100}], "head only, δ = 0 (this run)"),
        ([{"train_program": False, "max_epochs": 0}], "probe, δ = 0 (this run)"),
        # One row with a program makes the column V2S rows: it is not relabelled.
        ([{"train_program": False, "max_epochs": 0}, {"train_program": True}], "V2S (this run)"),
        # A SourceChoiceClassifier stores the parameters of the V2SClassifier it wraps.
        (
            [{"estimator__train_program": False, "estimator__max_epochs": 0, "sources": ["a", "b"]}],
            "probe, δ = 0, source chosen per dataset (this run)",
        ),
        ([{"estimator__train_program": True, "sources": ["a", "b"]}], "V2S (this run)"),
    ],
)
def test_a_v2s_column_without_a_trained_program_is_not_called_v2s(tmp_path, configs, label):
    rows = [
        {
            "dataset": "Coffee",
            "method": "v2s",
            "seed": str(seed),
            "accuracy": "0.9",
            "n_train": "28",
            "n_test": "28",
            "n_timepoints": "286",
            "fit_seconds": "1",
            "predict_seconds": "1",
            "warmup_seconds": "0",
            "peak_rss_mb": "100",
            "config": json.dumps({"method": "v2s", **config}),
        }
        for seed, config in enumerate(configs)
    ]
    report = benchmark.write_report(rows, tmp_path / "r.md", seeds=1, methods=["v2s"], names=["Coffee"]).read_text()
    header = next(line for line in report.splitlines() if line.startswith("| dataset"))
    assert header.split(" | ")[2] == label
    assert f"| {label} | 1.00 |" in report


def test_resume_after_interruption_keeps_every_row_once(tmp_path, monkeypatch):
    make_archive(tmp_path)
    out = tmp_path / "out"
    args = dict(
        methods=["1nn-euclidean", "v2s"],
        seeds=2,
        v2s_params=FAST_V2S,
        ucr_root=tmp_path,
        download=False,
        quiet=True,
        log=lambda line: None,
    )
    real_unit, calls = benchmark._run_unit, []

    def interrupted_unit(*a, **k):
        calls.append(a[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_unit(*a, **k)

    monkeypatch.setattr(benchmark, "_run_unit", interrupted_unit)
    with pytest.raises(KeyboardInterrupt):
        run_benchmark("Synth", out, **args)
    first = read_csv(out / "results.csv")
    assert len(first) == 1
    with open(out / "results.csv", "a") as handle:  # killed halfway through writing a row
        handle.write('Synth,v2s,0,0.5,0.5,1.0,"{""method')
    monkeypatch.setattr(benchmark, "_run_unit", real_unit)

    with pytest.warns(UserWarning, match="corrupt last line"):
        result = run_benchmark("Synth", out, **args)
    assert (result.n_resumed, result.n_new) == (1, 2)
    rows = read_csv(out / "results.csv")
    assert rows[0] == first[0]  # kept, not recomputed
    assert sorted((r["method"], r["seed"]) for r in rows) == [("1nn-euclidean", ""), ("v2s", "0"), ("v2s", "1")]

    again = run_benchmark("Synth", out, **args)
    assert (again.n_resumed, again.n_new) == (3, 0) and read_csv(out / "results.csv") == rows

    # Another V2S configuration is new work; the 1-NN row does not depend on it.
    changed = run_benchmark("Synth", out, **{**args, "v2s_params": {**FAST_V2S, "max_epochs": 2}})
    assert (changed.n_resumed, changed.n_new) == (1, 2)
    assert len(read_csv(out / "results.csv")) == 5 and len(changed.rows) == 3


@pytest.mark.parametrize(
    "dropped, pinned, resumed",
    [
        # Added later with the default that keeps earlier results: the same run.
        ("program_loss", {}, True),
        # Its default changed after it was added: a row without it ran "logits", not today's "auto".
        ("readout", {}, False),
        # Round 7's defaults: a row without them read the series alone, with the head at the program's step.
        ("views", {}, False),
        ("views", {"views": "series"}, True),
        ("head_learning_rate", {}, False),
        ("head_learning_rate", {"head_learning_rate": None}, True),
        # Round 12's: a row without time scales read each view at its own length, every program trained.
        ("time_scales", {}, False),
        ("time_scales", {"time_scales": "1"}, True),
        ("program_scales", {"time_scales": "1", "program_scales": "all"}, True),
        # Round 13's: a row without the hop had the stretched windows half a window apart.
        ("stretched_window_hop", {}, False),
        ("stretched_window_hop", {"stretched_window_hop": 0.5}, True),
        # Round 15's: a row without it stretched variable-length series, which on Synth (one length) is the same run.
        ("unequal_lengths", {}, True),
    ],
)
def test_a_row_written_before_a_parameter_existed_resumes_when_it_ran_the_same(tmp_path, dropped, pinned, resumed):
    make_archive(tmp_path)
    out = tmp_path / "out"
    v2s_params = {**FAST_V2S, **pinned}
    args = dict(methods=["v2s"], seeds=1, v2s_params=v2s_params, ucr_root=tmp_path, download=False, quiet=True)
    run_benchmark("Synth", out, log=lambda line: None, **args)
    (row,) = read_csv(out / "results.csv")
    config = json.loads(row["config"])
    del config[dropped]
    older = {**row, "config": json.dumps(config, sort_keys=True), "key": row["key"].rsplit("|", 1)[0] + "|0ld0ld0ld0ld"}
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerow(older)
    again = run_benchmark("Synth", out, log=lambda line: None, **args)
    assert (again.n_resumed, again.n_new) == ((1, 0) if resumed else (0, 1))
    assert (again.rows[0]["key"] == older["key"]) is resumed


def test_a_results_file_from_before_round_2_resumes_with_an_empty_program_fraction(tmp_path):
    path = tmp_path / "results.csv"
    legacy = COLUMNS[:-1]
    row = [
        "Coffee",
        "1nn-euclidean",
        "",
        "1.0",
        "1.0",
        "0",
        "0",
        "0",
        "1",
        "28",
        "28",
        "286",
        "2",
        "1",
        "x",
        "{}",
        "Coffee|1nn-euclidean|-|abc",
        "0.1.0",
        "sklearn",
        "2026-01-01",
    ]
    path.write_text(",".join(legacy) + "\n" + ",".join(row) + "\n")
    (read,) = read_results(path)
    assert read["key"] == "Coffee|1nn-euclidean|-|abc" and read["program_fraction"] == ""
    assert read_csv(path) == [read]  # rewritten with the new column


def test_rows_record_the_share_of_the_waveform_the_program_acts_on(tmp_path):
    make_archive(tmp_path)
    result = run_benchmark(
        "Synth",
        tmp_path / "out",
        methods=["v2s", "1nn-euclidean"],
        v2s_params=FAST_V2S,
        ucr_root=tmp_path,
        download=False,
        quiet=True,
        log=lambda line: None,
    )
    fractions = {row["method"]: row["program_fraction"] for row in result.rows}
    assert fractions["1nn-euclidean"] == "" and 0.25 <= float(fractions["v2s"]) < 1


def test_corruption_before_the_last_line_is_refused(tmp_path):
    path = tmp_path / "results.csv"
    good = ",".join(["x"] * len(COLUMNS))
    path.write_text(",".join(COLUMNS) + "\n" + "broken\n" + good + "\n")
    with pytest.raises(ValueError, match="corrupt rows before its last line"):
        read_results(path)


def test_groups_and_names():
    offline = expand_datasets("offline")
    assert offline == bundled_datasets(univariate_only=True)
    assert "BasicMotions" not in offline and {"GunPoint", "PLAID"} <= set(offline)
    paper = expand_datasets("paper")
    assert len(paper) == 30 and {"SonyAIBORobotSurface1", "Ham", "Wine"} <= set(paper)
    assert len(expand_datasets("all")) == 128
    assert expand_datasets("GunPoint, Coffee,GunPoint") == ["GunPoint", "Coffee"]
    with pytest.raises(ValueError, match="No datasets"):
        expand_datasets(" , ")


def test_workers_times_threads_never_exceed_the_cores(monkeypatch):
    monkeypatch.setattr(benchmark.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert benchmark._threads(1) == (1, 8)
    assert benchmark._threads(3) == (3, 2)
    assert benchmark._threads(-1) == (8, 1)
    assert benchmark._threads(50) == (8, 1)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="Unknown method.*rocket"):
        run_benchmark("GunPoint", tmp_path, methods="rocket")
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        run_benchmark("GunPoint", tmp_path, seeds=0)


def test_parallel_workers_write_every_row(tmp_path):
    make_archive(tmp_path, "SynthA")
    make_archive(tmp_path, "SynthB", seed=1)
    result = run_benchmark(
        "SynthA,SynthB",
        tmp_path / "out",
        methods="1nn-euclidean",
        n_jobs=2,
        ucr_root=tmp_path,
        download=False,
        quiet=True,
        log=lambda line: None,
    )
    rows = read_csv(result.csv_path)
    assert sorted(r["dataset"] for r in rows) == ["SynthA", "SynthB"]
    workers, threads = benchmark._threads(2)
    assert all(int(r["threads"]) == threads for r in rows) and workers * threads <= benchmark.os.cpu_count()


@pytest.mark.slow
def test_numba_baselines(tmp_path):
    """MiniRocket and 1-NN DTW (first use compiles numba code: 30-40 s)."""
    make_archive(tmp_path, n=30)
    result = run_benchmark(
        "Synth",
        tmp_path / "out",
        methods="minirocket,1nn-dtw",
        seeds=2,
        ucr_root=tmp_path,
        download=False,
        quiet=True,
        log=lambda line: None,
    )
    rows = read_csv(result.csv_path)
    assert sorted((r["method"], r["seed"]) for r in rows) == [("1nn-dtw", ""), ("minirocket", "0"), ("minirocket", "1")]
    assert all(float(r["accuracy"]) >= 0.8 for r in rows)  # separable classes; chance is 1/3
    dtw = json.loads(next(r["config"] for r in rows if r["method"] == "1nn-dtw"))
    assert dtw["distance"] == "dtw" and dtw["distance_params"] is None  # full warping window
    assert "MiniRocket" in result.report_path.read_text()


def test_report_mean_row_covers_only_datasets_every_method_ran(tmp_path):
    def row(dataset, method, accuracy):
        return {
            "dataset": dataset,
            "method": method,
            "seed": "0",
            "accuracy": accuracy,
            "n_train": "1",
            "n_test": "1",
            "n_timepoints": "1",
            "fit_seconds": "1",
            "predict_seconds": "1",
            "warmup_seconds": "0",
            "peak_rss_mb": "1",
            "config": "{}",
        }

    rows = [
        row("A", "v2s", "0.8"),
        row("A", "minirocket", "1.0"),
        row("B", "v2s", "0.6"),
        row("B", "minirocket", "0.9"),
        row("C", "v2s", "0.1"),
    ]  # C has no MiniRocket row: left out of both means
    report = benchmark.write_report(
        rows, tmp_path / "r.md", seeds=1, methods=["v2s", "minirocket"], names=["A", "B", "C"]
    ).read_text()
    mean_line = next(line for line in report.splitlines() if line.startswith("| **mean**"))
    cells = [cell.strip() for cell in mean_line.strip("|").split("|")]
    assert cells[0] == "**mean** (2 datasets run by every method)"
    assert cells[2:4] == ["**0.700**", "**0.950**"]


def test_bench_builds_an_ensemble_and_records_its_size():
    estimator, _ = make_estimator("v2s", 0, {"ensemble": 3, "max_epochs": 7})
    assert len(estimator.estimators) == 3
    config = json.loads(_config("v2s", estimator))
    assert config["ensemble"] == 3 and config["max_epochs"] == 7
    single, _ = make_estimator("v2s", 0, {"max_epochs": 7})
    assert "ensemble" not in json.loads(_config("v2s", single))


def test_bench_keys_tell_a_two_source_preset_from_a_two_seed_ensemble():
    preset, _ = make_estimator("v2s", 0, {"preset": "crepe-speech"})
    seeds, _ = make_estimator("v2s", 0, {"ensemble": 2})
    preset_config, seeds_config = json.loads(_config("v2s", preset)), json.loads(_config("v2s", seeds))
    assert preset_config["ensemble"] == seeds_config["ensemble"] == 2
    assert [m["source"] for m in preset_config["members"]] == ["crepe-tiny", "speech-embedding"]
    assert "members" not in seeds_config


def test_resamples_extend_keys_and_resume_official_split_rows(tmp_path):
    make_archive(tmp_path)
    args = dict(methods="1nn-euclidean", ucr_root=tmp_path, download=False, quiet=True, log=lambda line: None)
    official = run_benchmark("Synth", tmp_path / "out", **args)
    key = official.rows[0]["key"]
    assert key.count("|") == 3 and benchmark.resample_of(official.rows[0]) == 0  # as before resamples
    more = run_benchmark("Synth", tmp_path / "out", resamples=3, **args)
    assert (more.n_resumed, more.n_new) == (1, 2)
    assert [benchmark.resample_of(r) for r in more.rows] == [0, 1, 2]
    assert [r["key"] for r in more.rows] == [key, f"{key}|r1", f"{key}|r2"]
    report = more.report_path.read_text()
    assert "3 resamples per dataset" in report and "redux 1NN-DTW 30 res." in report
    with pytest.raises(ValueError, match="resamples must be at least 1"):
        run_benchmark("Synth", tmp_path / "out", resamples=0, **args)


def test_units_run_longest_first(tmp_path):
    make_archive(tmp_path, "Small", n=6, length=20)
    make_archive(tmp_path, "Large", n=30, length=200, seed=1)
    data = {name: benchmark.load_dataset(name, ucr_root=tmp_path, download=False) for name in ("Small", "Large")}
    units = benchmark._plan(data, ["1nn-euclidean", "1nn-dtw"], 1, {})
    ordered = benchmark._longest_first([(u, "", "") for u in units], data)
    assert [(u.dataset, u.method) for u, _, _ in ordered][:1] == [("Large", "1nn-dtw")]
    model, shapes = benchmark.default_model(), {name: benchmark._shape(d) for name, d in data.items()}
    seconds = [model.predict(u.method, shapes[u.dataset]) for u, _, _ in ordered]
    assert seconds == sorted(seconds, reverse=True)


def test_only_an_estimator_reading_own_lengths_gets_the_series_at_their_own_lengths():
    from voice2series import V2SClassifier
    from voice2series.archive import load_dataset

    data = load_dataset("PickupGestureWiimoteZ", download=False)
    own, _ = benchmark.series_as_read(V2SClassifier(unequal_lengths="own"), data)
    assert own is data.X_train_own
    for estimator in (V2SClassifier(unequal_lengths="resample"), make_estimator("minirocket", 0, {}, 1)[0]):
        assert benchmark.series_as_read(estimator, data)[0] is data.X_train
    even = load_dataset("GunPoint", download=False)
    assert benchmark.series_as_read(V2SClassifier(unequal_lengths="own"), even)[0] is even.X_train


def test_rows_of_one_length_resume_whatever_unequal_lengths_says_and_variable_length_rows_do_not(tmp_path):
    import numpy as np

    from .helpers import write_split

    make_archive(tmp_path)
    rng = np.random.default_rng(0)
    for split in ("TRAIN", "TEST"):
        rows = [np.r_[rng.normal(size=n), [np.nan] * (40 - n)] for n in rng.integers(20, 41, size=12)]
        write_split(tmp_path / "UCRArchive_2018" / "Ragged", "Ragged", split, ["a", "b"] * 6, rows)
    out = tmp_path / "out"
    args = dict(methods=["v2s"], seeds=1, ucr_root=tmp_path, download=False, quiet=True, log=lambda line: None)
    run_benchmark(["Synth", "Ragged"], out, v2s_params={**FAST_V2S, "unequal_lengths": "resample"}, **args)
    again = run_benchmark(["Synth", "Ragged"], out, v2s_params={**FAST_V2S, "unequal_lengths": "own"}, **args)
    assert (again.n_resumed, again.n_new) == (1, 1)
    assert [row["dataset"] for row in read_csv(out / "results.csv")].count("Ragged") == 2
