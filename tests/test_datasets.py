import numpy as np
import pytest

from voice2series.datasets import bundled_datasets, load_ucr


@pytest.mark.parametrize(
    "name,split,shape,labels",
    [
        ("GunPoint", "train", (50, 150), {"1", "2"}),
        ("ItalyPowerDemand", "test", (1029, 24), {"1", "2"}),
        ("Coffee", "train", (28, 286), {"0", "1"}),
        ("Trace", "test", (100, 275), {"1", "2", "3", "4"}),
    ],
)
def test_official_splits_with_archive_labels(name, split, shape, labels):
    X, y = load_ucr(name, split)
    assert X.shape == shape and X.dtype == np.float64
    assert set(y) == labels
    assert np.isfinite(X).all()


def test_names_are_case_insensitive():
    np.testing.assert_array_equal(load_ucr("gunpoint")[0], load_ucr("GunPoint")[0])


def test_unknown_dataset_lists_the_available_ones():
    with pytest.raises(ValueError, match="Available offline: .*GunPoint"):
        load_ucr("Beef")
    with pytest.raises(ValueError, match="split must be one of"):
        load_ucr("GunPoint", "validation")


def test_bundled_datasets_lists_the_issue_datasets():
    assert {"GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "Coffee", "Trace"} <= set(
        bundled_datasets()
    )
