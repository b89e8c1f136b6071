"""The command line (cli.py): run on bundled datasets and users' files, predict with a
saved model, bench, explain, sources, pretrain; options reach the estimator; errors are
one clear line."""

import csv
import dataclasses
import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voice2series import V2SClassifier, sources
from voice2series.archive import load_dataset
from voice2series.benchmark import COLUMNS
from voice2series.cli import _bench_params, _parser, _run_params, main
from voice2series.sources import source_names, synthetic_speech, vggish

from .helpers import make_archive, read_csv, report_cells, tiny_classifier

ROOT = Path(__file__).resolve().parents[1]

FAST = ["--max-epochs", "1", "--batch-size", "64"]


def write_labelled(path, n_series=12, length=20, seed=0, sep=","):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_series, length))
    y = np.array(["cat", "dog"] * (n_series // 2))
    X[y == "dog"] += np.sin(np.linspace(0, 6, length))
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(length)])
    frame.insert(0, "label", y)
    frame.to_csv(path, index=False, sep=sep, header=sep == ",")
    return X, y


@pytest.fixture
def files(tmp_path):
    write_labelled(tmp_path / "train.csv")
    X_test, y_test = write_labelled(tmp_path / "test.csv", n_series=8, seed=1)
    return tmp_path, X_test, y_test


def test_run_on_files_saves_a_model_that_predict_round_trips(files, capsys):
    folder, X_test, y_test = files
    model = folder / "model.v2s"
    assert (
        main(
            [
                "run",
                "--train",
                str(folder / "train.csv"),
                "--test",
                str(folder / "test.csv"),
                "--save",
                str(model),
                "--json",
                "--quiet",
                *FAST,
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["n_train"] == 12 and result["n_test"] == 8 and result["saved"] == str(model)
    assert (
        main(
            [
                "predict",
                str(model),
                str(folder / "test.csv"),
                "--label-column",
                "label",
                "--out",
                str(folder / "p.csv"),
                "--quiet",
            ]
        )
        == 0
    )
    written = pd.read_csv(folder / "p.csv")
    clf = V2SClassifier.load(model)
    expected = clf.predict_proba(pd.DataFrame(X_test, columns=[f"t{i}" for i in range(20)]))
    assert written["row"].tolist() == list(range(8)) and written["label"].tolist() == y_test.tolist()
    np.testing.assert_allclose(written[["proba_cat", "proba_dog"]].to_numpy(), expected, atol=1e-6)
    assert written["predicted"].tolist() == clf.classes_[expected.argmax(axis=1)].tolist()
    assert result["accuracy"] == pytest.approx(np.mean(written["predicted"] == written["label"]))


def test_run_with_a_source_choosing_preset_reports_and_saves_the_chosen_model(files, capsys):
    folder, _, _ = files
    model = folder / "auto.v2s"
    args = ["run", "--train", str(folder / "train.csv"), "--test", str(folder / "test.csv")]
    assert main([*args, "--preset", "probe-auto", "--save", str(model), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["params"]["source"] in {"crepe-tiny", "crepe-full"} and result["epochs"] == 0
    assert V2SClassifier.load(model).source == result["params"]["source"]


def test_run_on_a_ucr_archive_folder(tmp_path, capsys):
    folder = tmp_path / "Toy"
    folder.mkdir()
    write_labelled(folder / "Toy_TRAIN.tsv", sep="\t")
    write_labelled(folder / "Toy_TEST.tsv", n_series=6, seed=2, sep="\t")
    assert main(["run", "Toy", "--ucr-root", str(tmp_path), "--no-download", "--quiet", *FAST]) == 0
    assert "Toy: test accuracy" in capsys.readouterr().out


def test_progress_is_one_line_per_stage_off_a_terminal_and_silent_with_quiet(files, capsys):
    folder, _, _ = files
    assert main(["run", "--train", str(folder / "train.csv"), *FAST]) == 0
    stages = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in stages] == ["reading", "fitting", "fitted"]
    assert main(["run", "--train", str(folder / "train.csv"), "--quiet", *FAST]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def saved(files):
    folder, _, _ = files
    main(["run", "--train", str(folder / "train.csv"), "--save", str(folder / "m.v2s"), "--quiet", *FAST])
    return folder


def _predict_fails(capsys, folder, series, match, *extra):
    out = folder / "out.csv"
    assert main(["predict", str(folder / "m.v2s"), str(series), "--out", str(out), "--quiet", *extra]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()  # nothing partially written
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".out")) == []


def test_predict_refuses_a_wrong_series_length(saved, capsys):
    pd.DataFrame(np.zeros((3, 19))).to_csv(saved / "short.csv", index=False)
    _predict_fails(capsys, saved, saved / "short.csv", "length 19, but the model was trained on 20")


def test_predict_refuses_a_wrong_channel_count(saved, capsys):
    (saved / "two.ts").write_text(
        "@problemName d\n@timeStamps false\n@univariate false\n@dimensions 2\n@equalLength true\n"
        "@seriesLength 20\n@classLabel false\n@data\n" + ":".join([",".join(["0.5"] * 20)] * 2) + "\n"
    )
    _predict_fails(capsys, saved, saved / "two.ts", "2 channel(s) but the model was fitted on 1")


def test_predict_refuses_non_numeric_cells(saved, capsys):
    frame = pd.DataFrame(np.zeros((2, 20)), columns=[f"t{i}" for i in range(20)]).astype(object)
    frame.iloc[1, 3] = "n/a?"
    frame.to_csv(saved / "text.csv", index=False)
    _predict_fails(capsys, saved, saved / "text.csv", "numbers only")


def test_predict_refuses_a_missing_file_and_a_corrupt_model(saved, capsys):
    _predict_fails(capsys, saved, saved / "nowhere.csv", "No such file")
    (saved / "m.v2s").write_bytes(b"not a model at all")
    corrupt = "not a readable voice2series model file"
    _predict_fails(capsys, saved, saved / "test.csv", corrupt, "--label-column", "label")


def test_run_needs_exactly_one_data_source(files, capsys):
    folder, _, _ = files
    assert main(["run", "GunPoint", "--train", str(folder / "train.csv")]) == 2
    assert main(["run"]) == 2
    assert "Give a dataset name or --train FILE" in capsys.readouterr().err


# ------------------------------------------------ options reach the estimator
def test_cli_passes_variant_options_to_the_estimator():
    args = _parser().parse_args(
        [
            "bench",
            "--mapping",
            "blm++",
            "--blm-topk-ratio",
            "0.3",
            "--training",
            "black-box",
            "--zo-queries",
            "5",
            "--query-budget",
            "1000",
        ]
    )
    params = _bench_params(args)
    assert params["mapping"] == "blm++" and params["blm_topk_ratio"] == 0.3
    assert params["training"] == "black-box" and params["zo_queries"] == 5 and params["query_budget"] == 1000
    args = _parser().parse_args(["run", "GunPoint", "--mapping", "ilm", "--finetune", "last", "--sample-specific-mask"])
    assert _run_params(args) == {"mapping": "ilm", "finetune": "last", "sample_specific_mask": True}
    V2SClassifier(**_run_params(args))  # every name is a parameter


def test_cli_passes_tuning_options():
    args = _parser().parse_args(["run", "GunPoint", "--lr-schedule", "cosine", "--label-smoothing", "0.1"])
    assert _run_params(args) == {"lr_schedule": "cosine", "label_smoothing": 0.1}
    V2SClassifier(**_run_params(args))  # every name is a parameter
    assert _bench_params(_parser().parse_args(["bench", "--amplitude", "3"]))["amplitude"] == 3.0


def test_cli_bench_preset_option_and_its_conflict_with_ensemble():
    args = _parser().parse_args(["bench", "--preset", "crepe-speech"])
    assert _bench_params(args)["preset"] == "crepe-speech"
    with pytest.raises(ValueError, match="--preset and --ensemble"):
        _bench_params(_parser().parse_args(["bench", "--preset", "ensemble", "--ensemble", "3"]))


def test_cli_bench_refuses_a_bad_option_value(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--datasets", "GunPoint", "--resample", "huge", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "'huge' is not a valid --resample" in capsys.readouterr().err


# ------------------------------------------------------------ run, end to end
@pytest.mark.slow
def test_cli_run_prints_accuracy_as_json():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "run", "ItalyPowerDemand", "--max-epochs", "2", "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT.parent,  # the CLI must not depend on the working directory
    )
    result = json.loads(completed.stdout)
    assert result["dataset"] == "ItalyPowerDemand" and result["n_test"] == 1029
    assert 0.0 <= result["accuracy"] <= 1.0 and result["epochs"] <= 2


def test_cli_unknown_dataset_is_one_clear_line():
    completed = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "run", "Beef", "--no-download", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: UCR dataset 'Beef' is not bundled")
    assert len(completed.stderr.strip().splitlines()) == 1 and "Traceback" not in completed.stderr


def test_cli_run_without_weights_is_one_clear_line(empty_hub, monkeypatch, capsys):
    monkeypatch.setattr(vggish, "WEIGHTS_URL", "http://127.0.0.1:9/vggish-10086976.pth")
    assert main(["run", "ItalyPowerDemand", "--source", "vggish", "--max-epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Could not download VGGish weights") and "copy it to" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------- bench
@pytest.mark.slow
def test_cli_bench_end_to_end_on_a_bundled_dataset(tmp_path):
    out = tmp_path / "out"
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "bench",
            "--datasets",
            "Coffee",
            "--methods",
            "v2s,1nn-euclidean",
            "--seeds",
            "1",
            "--max-epochs",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository: no cwd-relative files
    )  # standard error is not a terminal: one line per finished unit, no progress bar
    assert completed.returncode == 0, completed.stderr
    rows = read_csv(out / "results.csv")
    assert list(rows[0]) == COLUMNS
    assert [(r["dataset"], r["method"], r["seed"]) for r in rows] == [
        ("Coffee", "v2s", "0"),
        ("Coffee", "1nn-euclidean", ""),
    ]
    for row in rows:
        assert 0 <= float(row["accuracy"]) <= 1 and 0 <= float(row["balanced_accuracy"]) <= 1
        assert float(row["fit_seconds"]) >= 0 and float(row["peak_rss_mb"]) > 0
        assert (row["n_train"], row["n_test"], row["voice2series_version"]) == ("28", "28", "0.1.0")
    assert json.loads(rows[0]["config"])["max_epochs"] == 1
    report = (out / "report.md").read_text()
    cells = report_cells(report, "Coffee")
    assert cells[1] == "28/28/286" and cells[2] == f"{float(rows[0]['accuracy']):.3f}"
    assert cells[3] == f"{float(rows[1]['accuracy']):.3f}"
    assert cells[4:] == ["1.000"] * 5  # published Coffee numbers, from the shipped tables
    assert "seeds 0" in report and "training split only" in report
    assert "Coffee v2s seed 0: accuracy" in completed.stderr and "%|" not in completed.stderr


def test_cli_bench_offline_error(offline, capsys):
    out = offline.path / "results"
    assert main(["bench", "--datasets", "Beef", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: UCR dataset 'Beef' is not bundled")
    assert not out.exists()


def test_cli_bench_download_timeout_bounds_the_download(isolated_downloads, silent_network, capsys):
    # The option's default is load_dataset's documented timeout.
    default = inspect.signature(load_dataset).parameters["timeout"].default
    assert _parser().parse_args(["bench"]).download_timeout == default
    pytest.importorskip("aeon.datasets")  # the downloader, imported before the 1 s starts
    out = isolated_downloads / "results"
    assert main(["bench", "--datasets", "Beef", "--download-timeout", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: UCR dataset 'Beef' is not bundled")
    assert "could not be downloaded (TimeoutError: no answer within 1 s)" in err[0]
    assert silent_network.server.first_connection.wait(30)  # it was the network that did not answer
    assert not out.exists()


def test_cli_scheduler_needs_the_dask_backend(tmp_path, capsys):
    assert main(["bench", "--datasets", "GunPoint", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path)]) == 2
    assert "--scheduler needs --backend dask" in capsys.readouterr().err


def test_cli_plan_runs_nothing(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "bench",
            "--plan",
            "--datasets",
            "all",
            "--resamples",
            "30",
            "--seeds",
            "1",
            "--n-jobs",
            "64",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "128 datasets x seeds 1 x resamples 30: 15360 units" in completed.stdout
    assert "1nn-dtw" in completed.stdout and "wall time on 64" in completed.stdout
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------- sources, pretrain
def test_cli_sources_prints_the_table(capsys, monkeypatch):
    def missing():
        raise ImportError("pip install something")

    entry = sources._REGISTRY["crepe-full"]
    monkeypatch.setitem(sources._REGISTRY, "crepe-full", dataclasses.replace(entry, locate_weights=missing))
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    for name in source_names():
        assert name in out
    assert "crepe-full: pip install something" in out


def test_cli_pretrain_reports_errors(tmp_path, capsys):
    assert main(["pretrain", "--root", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_pretrain_synthetic_flag(monkeypatch, tmp_path, capsys):
    calls = []

    def fake_pretrain(root, **options):
        calls.append((root, options))
        return {"checkpoint": options["output"], "classes": list(synthetic_speech.WORDS), "best_val_accuracy": 0.5}

    monkeypatch.setattr("voice2series.cli.pretrain", fake_pretrain)
    out = str(tmp_path / "s.pt")
    assert main(["pretrain", "--synthetic", "--seed", "3", "--output", out]) == 0
    root, options = calls[0]
    assert root is None and options["synthetic"] and options["random_state"] == 3
    assert options["epochs"] is None  # the function's default for the synthetic corpus
    assert "AttRNNSource(checkpoint=" in capsys.readouterr().out
    monkeypatch.undo()
    assert main(["pretrain"]) == 2
    assert "exactly one of" in capsys.readouterr().err


# ------------------------------------------------------------------ explain
EXPLAIN_FIGURES = (
    "program",
    "reprogrammed",
    "mel_spectrogram",
    "training_curves",
    "mapping",
    "saliency",
    "grad_cam",
    "tsne",
)


@pytest.mark.slow
def test_cli_explain_writes_figures_and_summary(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "explain"
    code = main(
        [
            "explain",
            "ItalyPowerDemand",
            "--out",
            str(out),
            "--max-epochs",
            "1",
            "--max-series",
            "20",
            "--projections",
            "20",
        ]
    )
    assert code == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(f"{name}.png" for name in EXPLAIN_FIGURES)
    summary = (out / "summary.md").read_text()
    assert "Sliced Wasserstein" in summary and "![tsne](tsne.png)" in summary
    assert str(out) in capsys.readouterr().out


def test_cli_explain_loads_a_saved_model(tmp_path):
    pytest.importorskip("matplotlib")
    # A model for ItalyPowerDemand's series (length 24, labels "1" and "2"), fitted on noise.
    X = np.random.default_rng(0).normal(size=(12, 24))
    tiny_classifier(max_epochs=1).fit(X, np.array(["1", "2"] * 6)).save(tmp_path / "model.v2s")
    args = [
        "explain",
        "ItalyPowerDemand",
        "--out",
        str(tmp_path / "out"),
        "--model",
        str(tmp_path / "model.v2s"),
        "--max-series",
        "12",
        "--projections",
        "10",
        "--format",
        "svg",
        "--quiet",
    ]
    assert main(args) == 0
    assert "crepe-tiny" in (tmp_path / "out" / "summary.md").read_text()
    svg = (tmp_path / "out" / "saliency.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert sorted(p.name for p in (tmp_path / "out").glob("*.svg")) == sorted(f"{n}.svg" for n in EXPLAIN_FIGURES)
    assert not list((tmp_path / "out").glob("*.png"))


def test_cli_explain_reports_an_unknown_dataset(tmp_path, capsys):
    assert main(["explain", "NoSuchData", "--out", str(tmp_path), "--max-epochs", "1"]) == 2
    assert "error" in capsys.readouterr().err


# ---------------------------------------------------------------- reproduce
def test_cli_official_training_options_and_the_paper_preset():
    args = _parser().parse_args(
        [
            "run",
            "GunPoint",
            "--mapping-reduction",
            "probabilities",
            "--program-init",
            "glorot",
            "--program-l2",
            "0.05",
            "--lr-schedule",
            "inverse-time",
            "--lr-decay",
            "0.5",
        ]
    )
    assert (args.mapping_reduction, args.program_init, args.program_l2, args.lr_decay) == (
        "probabilities",
        "glorot",
        0.05,
        0.5,
    )
    assert "paper" in _parser().parse_args(["run", "GunPoint", "--preset", "paper"]).preset


def test_reproduce_command_on_a_generated_archive(tmp_path, capsys):
    # A Table 2 name labelled {-1, 1}: the official rule collapses it to one class.
    make_archive(tmp_path, "FordA", n=8, length=20, labels=("-1", "1"))
    out = tmp_path / "out"
    argv = [
        "reproduce",
        "--datasets",
        "FordA,NotThere",
        "--ucr-root",
        str(tmp_path),
        "--seeds",
        "1",
        "--max-epochs",
        "1",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 0
    assert "2 new and 0 resumed" in capsys.readouterr().out
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["config"], row["epochs"]) for row in rows] == [("paper", "1"), ("default", "1")]
    assert rows[0]["official_protocol_accuracy"] != "" and rows[1]["official_protocol_accuracy"] == ""
    assert json.loads(rows[0]["params"])["source"] == "attrnn-synth"
    report = (out / "report.md").read_text()
    assert "OFFICIAL PROTOCOL (selected on TEST)" in report
    assert "**COLLAPSED** (2 → 1)" in report
    assert '"max_epochs": 1' in report  # the deviation is stated
    assert "Not reachable here (pass --ucr-root): NotThere" in report
    line = next(line for line in report.splitlines() if line.startswith("| FordA"))
    assert "| 1.000 |" in line  # the paper's V2S_a on FordA
    assert main(argv) == 0  # resumes
    assert "0 new and 2 resumed" in capsys.readouterr().out
    (out / "report.md").unlink()
    assert main([*argv, "--seeds", "3", "--report-only"]) == 0  # fits nothing, rewrites the report
    assert "0 new and 0 resumed" in capsys.readouterr().out
    assert (out / "report.md").is_file()


@pytest.mark.parametrize(
    "target, command",
    [
        ("voice2series.cli.run_benchmark", ["bench", "--datasets", "GunPoint"]),
        ("voice2series.reproduction.run_reproduction", ["reproduce", "--datasets", "GunPoint"]),
    ],
)
@pytest.mark.parametrize(
    "error, code, line",
    [
        (KeyboardInterrupt(), 130, "rerun the same command to continue"),
        (ValueError("bad option"), 2, "error: bad option"),
    ],
)
def test_resumable_commands_stop_with_one_line_and_the_exit_code(
    monkeypatch, capsys, tmp_path, target, command, error, code, line
):
    def stopped(*args, **kwargs):
        raise error

    monkeypatch.setattr(target, stopped)
    assert main([*command, "--out", str(tmp_path / "out"), "--quiet"]) == code
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and line in message
    if code == 130:
        assert str(tmp_path / "out" / "results.csv") in message
