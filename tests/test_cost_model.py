"""The cost model: fitted from results CSVs, validated, planning the archive."""

import csv
import json
from pathlib import Path

import pytest

from voice2series import cost_model
from voice2series.archive import ucr_names
from voice2series.benchmark import COLUMNS
from voice2series.cost_model import CostModel, dataset_shapes, default_model, fit_cost_model, plan

ROOT = Path(__file__).resolve().parents[1]


def write_results(path, units):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in units:
            writer.writerow(row)


def synthetic_rows():
    """1-NN DTW whose predict time is exactly 1e-6 * n_train * n_test * length."""
    rows = []
    for i, (n_train, n_test, length) in enumerate(
        [(20, 50, 100), (40, 30, 300), (100, 100, 60), (60, 200, 150), (30, 90, 500), (200, 400, 80)]
    ):
        rows.append(
            {
                "dataset": f"D{i}",
                "method": "1nn-dtw",
                "seed": "",
                "accuracy": "0.5",
                "fit_seconds": "0.0",
                "predict_seconds": f"{1e-6 * n_train * n_test * length:.6f}",
                "n_train": n_train,
                "n_test": n_test,
                "n_timepoints": length,
                "n_classes": 2,
                "config": json.dumps({"method": "1nn-dtw"}),
            }
        )
    return rows


def test_a_log_linear_cost_is_recovered_and_validated(tmp_path):
    write_results(tmp_path / "results.csv", synthetic_rows())
    model = fit_cost_model([tmp_path / "results.csv"])
    shape = {"n_train": 80, "n_test": 120, "n_timepoints": 200, "n_classes": 3}
    assert model.predict("1nn-dtw", shape) == pytest.approx(1e-6 * 80 * 120 * 200 + 1e-3, rel=0.05)
    assert model.validation["1nn-dtw"]["datasets"] == 6
    assert model.validation["1nn-dtw"]["median_factor"] < 1.1  # held-out datasets projected closely
    model.to_json(tmp_path / "model.json")
    again = CostModel.from_json(tmp_path / "model.json")
    assert again.predict("1nn-dtw", shape) == pytest.approx(model.predict("1nn-dtw", shape))


def test_a_csv_that_is_not_a_bench_results_file_is_left_out_with_a_warning(tmp_path):
    """The documented glob (benchmarks/results/*/results.csv) also picks up the reproduction's results."""
    write_results(tmp_path / "results.csv", synthetic_rows())
    (tmp_path / "reproduction.csv").write_text("dataset,config,seed,accuracy\nGunPoint,paper,0,0.9\n")
    with pytest.warns(UserWarning, match="reproduction.csv is not a benchmark results file .*no method, fit_seconds"):
        model = fit_cost_model([tmp_path / "results.csv", tmp_path / "reproduction.csv"])
    assert model.sources == [str(tmp_path / "results.csv")]


def test_v2s_time_scales_with_epochs_and_ensemble():
    model = default_model()
    shape = dataset_shapes()["GunPoint"]
    one = model.predict("v2s", shape, {"max_epochs": 100})
    assert model.predict("v2s", shape, {"max_epochs": 100, "ensemble": 3}) > 2.5 * one
    assert model.predict("v2s", shape, {"max_epochs": 10}) < 0.2 * one


def test_shapes_cover_the_archive():
    shapes = dataset_shapes()
    assert sorted(shapes) == sorted(ucr_names())
    assert shapes["GunPoint"] == {"n_train": 50, "n_test": 150, "n_timepoints": 150, "n_classes": 2}
    assert shapes["PLAID"]["n_timepoints"] == 1344  # variable length: the length it is equalised to


def test_effort_counts_the_estimators_default_epochs_and_views():
    from voice2series import V2SClassifier

    default = V2SClassifier().get_params()
    # views="auto": the series and its difference; time_scales="auto": each also stretched 4 times, with
    # programs trained there only (program_scales="auto"), so the members at scale 1 make one pass.
    assert cost_model._effort({}) == default["max_epochs"] * 2 + 2
    assert cost_model._effort({"time_scales": "1"}) == default["max_epochs"] * 2
    # A results row written before views existed: one waveform, at the epochs it stored.
    assert cost_model._effort(cost_model._params_of({"config": '{"max_epochs": 100}'})) == cost_model.REFERENCE_EFFORT
    assert cost_model._effort({"mapping": "random", "ensemble": 5}) == default["max_epochs"] * 5
    # A row written before time scales existed read each view at its own length, every program trained.
    row = cost_model._params_of({"config": '{"max_epochs": 30, "views": "series+diff"}'})
    assert cost_model._effort(row) == 30 * 2


def test_windows_count_one_source_frame_each():
    """resample="windows" (the default) runs the source over every window of a long series."""
    from voice2series import V2SClassifier

    epochs = V2SClassifier().get_params()["max_epochs"]
    at_length = {"time_scales": "1"}
    assert cost_model._effort(at_length, n_timepoints=1460) == epochs * 2 * 5  # window_layout(1460, 1024): 5
    assert cost_model._effort(at_length, n_timepoints=300) == epochs * 2  # a series that fits is one window
    # A row that shrank its series into one frame (resample=None or "fit", or before the parameter).
    shrunk = cost_model._params_of({"config": '{"max_epochs": 100, "resample": null}'})
    assert cost_model._effort(shrunk, n_timepoints=1460) == cost_model.REFERENCE_EFFORT
    assert cost_model._phase_scale("predict", {"views": "series", "time_scales": "1"}, 1460) == 5


def test_the_windows_counted_are_the_windows_the_model_builds_whatever_the_hop():
    import numpy as np

    from voice2series import V2SClassifier
    from voice2series.training import build_model

    for hop in (0.5, 1.0):
        params = V2SClassifier(stretched_window_hop=hop).get_params()
        model = build_model(params, (1, 1460), 3, np.random.RandomState(0))
        frames = sum(len(program.offsets) for program in model.program.programs)
        assert cost_model._source_frames(params, n_timepoints=1460) == frames == 2 * (5 + {0.5: 22, 1.0: 12}[hop])
    # A row written before the parameter existed had the stretched windows half a window apart.
    row = cost_model._params_of({"config": '{"time_scales": "1+4", "views": "series", "resample": "windows"}'})
    assert cost_model._source_frames(row, n_timepoints=1460) == 5 + 22


def test_every_time_scale_counts_the_windows_of_its_stretched_series():
    from voice2series import V2SClassifier

    epochs = V2SClassifier().get_params()["max_epochs"]
    # 1460 samples: 5 windows; stretched 4 times, 5840 samples: window_layout(5840, 1024, hop=1.0), 12 windows
    # end to end (the default since round 13).
    every = {"time_scales": "1+4", "program_scales": "all"}
    assert cost_model._effort(every, n_timepoints=1460) == epochs * 2 * (5 + 12)
    assert cost_model._effort({"time_scales": "2", "views": "series"}, n_timepoints=300) == epochs * 2
    # Without windows each scale is one frame.
    assert cost_model._effort({**every, "resample": "fit"}, n_timepoints=1460) == epochs * 2 * 2
    # Stretched members with a fixed program make one pass, the others one per epoch.
    fixed = {"time_scales": "1+4", "program_scales": "1"}
    assert cost_model._effort(fixed, n_timepoints=1460) == epochs * 2 * 5 + 2 * 12
    # The default trains the stretched members' programs (program_scales="auto").
    assert cost_model._effort({}, n_timepoints=1460) == epochs * 2 * 12 + 2 * 5
    head_only = {"time_scales": "1+4", "train_program": False, "max_epochs": 30}
    assert cost_model._effort(head_only, n_timepoints=1460) == 2 * (5 + 12)
    one_member = {"views": "series", "time_scales": "1", "train_program": False, "max_epochs": 30}
    assert cost_model._effort(one_member, 1460) == 30 * 5


def test_rows_copied_from_an_earlier_results_file_count_once(tmp_path):
    rows = [{**row, "key": f"k{i}", "finished_at": "t"} for i, row in enumerate(synthetic_rows())]
    write_results(tmp_path / "first.csv", rows)
    write_results(tmp_path / "second.csv", rows[:2] + [{**rows[2], "finished_at": "remeasured"}])
    read = cost_model._rows([tmp_path / "first.csv", tmp_path / "second.csv"])
    assert len(read) == len(rows) + 1  # the two copies left out, the remeasurement kept


def test_longest_first_wall_time():
    # Longest first: 5 | 4, then each 3 to the least loaded worker: 5+3 | 4+3+3.
    assert cost_model._lpt_makespan([3, 5, 3, 4, 3], 2) == 10
    assert cost_model._lpt_makespan([1] * 10, 3) == 4
    assert cost_model._lpt_makespan([2, 2], 8) == 2


def test_plan_counts_units_and_hours():
    shapes = {"A": {"n_train": 10, "n_test": 10, "n_timepoints": 10, "n_classes": 2}}
    flat = CostModel(
        {
            m: {"fit": [0.0] * (1 + len(f["fit"])), "predict": [0.0] * (1 + len(f["predict"]))}
            for m, f in cost_model.FEATURES.items()
        }
    )  # every phase 1 s at the reference effort: a unit is 2 s
    reference = {"max_epochs": cost_model.REFERENCE_EFFORT, "views": "series", "time_scales": "1"}
    result = plan(
        ["A", "Nowhere"], ["v2s", "1nn-dtw"], 3, 5, v2s_params=reference, workers=4, shapes=shapes, model=flat
    )
    assert result["units"] == 3 * 5 + 5 and result["missing"] == ["Nowhere"]
    assert result["core_hours"]["1nn-dtw"] == pytest.approx(5 * 2 / 3600)
    assert result["core_hours"]["v2s"] == pytest.approx(15 * 2 / 3600)
    assert result["wall_hours"] == pytest.approx(5 * 2 / 3600)  # 20 units of 2 s on 4 workers
