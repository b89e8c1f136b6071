"""cli run/predict on users' files: round trip through --save and predict, bad inputs, progress."""

import json

import numpy as np
import pandas as pd
import pytest

from voice2series import V2SClassifier
from voice2series.cli import main

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
    assert main(["run", "--train", str(folder / "train.csv"), "--test", str(folder / "test.csv"),
                 "--save", str(model), "--json", "--quiet", *FAST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_train"] == 12 and result["n_test"] == 8 and result["saved"] == str(model)
    assert main(["predict", str(model), str(folder / "test.csv"), "--label-column", "label",
                 "--out", str(folder / "p.csv"), "--quiet"]) == 0
    written = pd.read_csv(folder / "p.csv")
    clf = V2SClassifier.load(model)
    expected = clf.predict_proba(pd.DataFrame(X_test, columns=[f"t{i}" for i in range(20)]))
    assert written["row"].tolist() == list(range(8)) and written["label"].tolist() == y_test.tolist()
    np.testing.assert_allclose(written[["proba_cat", "proba_dog"]].to_numpy(), expected, atol=1e-6)
    assert written["predicted"].tolist() == clf.classes_[expected.argmax(axis=1)].tolist()
    assert result["accuracy"] == pytest.approx(np.mean(written["predicted"] == written["label"]))


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
