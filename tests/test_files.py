"""voice2series.files: reading users' series files and writing predictions."""

import numpy as np
import pandas as pd
import pytest

from voice2series.files import read_series_file, write_predictions


def labelled_frame(n_series=6, length=5, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_series, length)), columns=[f"t{i}" for i in range(length)])
    frame.insert(0, "label", ["a", "b"] * (n_series // 2))
    return frame


def test_csv_label_column_by_name_or_first(tmp_path):
    frame = labelled_frame()
    frame.to_csv(tmp_path / "first.csv", index=False)
    X, y = read_series_file(tmp_path / "first.csv")
    assert y.tolist() == ["a", "b"] * 3
    np.testing.assert_allclose(np.asarray(X), frame.drop(columns="label").to_numpy())
    moved = frame[["t0", "t1", "label", "t2", "t3", "t4"]]
    moved.to_csv(tmp_path / "named.csv", index=False)
    X, y = read_series_file(tmp_path / "named.csv", label_column="label")
    assert list(X.columns) == ["t0", "t1", "t2", "t3", "t4"] and y.tolist() == ["a", "b"] * 3


def test_unlabelled_csv_keeps_every_column(tmp_path):
    frame = labelled_frame().drop(columns="label")
    frame.to_csv(tmp_path / "new.csv", index=False)
    X, y = read_series_file(tmp_path / "new.csv", labelled=False)
    assert y is None and X.shape == (6, 5)


def test_ucr_tsv_and_parquet_and_ts(tmp_path):
    frame = labelled_frame()
    frame.to_csv(tmp_path / "D_TRAIN.tsv", sep="\t", header=False, index=False)
    X, y = read_series_file(tmp_path / "D_TRAIN.tsv")
    assert X.shape == (6, 5) and y.tolist() == ["a", "b"] * 3
    pytest.importorskip("pyarrow")
    frame.to_parquet(tmp_path / "d.parquet")
    X, y = read_series_file(tmp_path / "d.parquet", label_column="label")
    assert X.shape == (6, 5) and y[0] == "a"


def test_sktime_ts_file_with_unequal_lengths(tmp_path):
    (tmp_path / "d.ts").write_text(
        "@problemName d\n@timeStamps false\n@univariate true\n@equalLength false\n"
        "@classLabel true a b\n@data\n1,2,3,4:a\n1,2,3:b\n4,3,2,1,0:a\n"
    )
    X, y = read_series_file(tmp_path / "d.ts")
    assert y.tolist() == ["a", "b", "a"]
    assert [len(X.iloc[i, 0]) for i in range(3)] == [4, 3, 5]


@pytest.mark.parametrize(
    ("name", "content", "error", "match"),
    [
        ("missing.csv", None, FileNotFoundError, "No such file"),
        ("series.xlsx", "x", ValueError, "use one of"),
        ("empty.csv", "", ValueError, "empty"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, name, content, error, match):
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(error, match=match):
        read_series_file(tmp_path / name)


def test_an_unknown_label_column_is_named(tmp_path):
    labelled_frame().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ValueError, match="no column 'class'.*--label-column"):
        read_series_file(tmp_path / "d.csv", label_column="class")


def test_predictions_keep_input_order_and_columns(tmp_path):
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    write_predictions(tmp_path / "p.csv", np.array(["x", "y", "x"]), probabilities, ["x", "y"], ["x", "x", "x"])
    written = pd.read_csv(tmp_path / "p.csv")
    assert list(written.columns) == ["row", "label", "predicted", "proba_x", "proba_y"]
    assert written["row"].tolist() == [0, 1, 2] and written["predicted"].tolist() == ["x", "y", "x"]
    np.testing.assert_allclose(written[["proba_x", "proba_y"]].to_numpy(), probabilities)


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    (tmp_path / "p.csv").write_text("previous results\n")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_predictions(tmp_path / "p.csv", np.array(["x"]), np.array([[1.0]]), ["x"])
    assert (tmp_path / "p.csv").read_text() == "previous results\n"  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]  # no temporary file left
