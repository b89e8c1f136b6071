"""Datasets by name (archive.py): a local archive folder, the offline error paths."""

import numpy as np
import pytest

from voice2series.archive import (
    ADJUSTED,
    ROOT_ENV,
    load_dataset,
    read_ucr_tsv,
    ucr_names,
)
from voice2series.datasets import load_ucr
from voice2series.series_input import equalise_lengths

from .helpers import make_archive, write_split


def test_local_archive_by_argument_and_environment(tmp_path, monkeypatch):
    folder = make_archive(tmp_path)
    expected = np.loadtxt(folder / "Synth_TRAIN.tsv", delimiter="\t")[:, 1:]
    for root in (tmp_path, tmp_path / "UCRArchive_2018"):  # the folder or its parent
        data = load_dataset("synth", ucr_root=root, download=False)
        assert data.name == "Synth" and data.X_train.shape == (12, 30) and data.X_test.shape == (12, 30)
        np.testing.assert_allclose(data.X_train, expected)
        assert list(data.y_train[:3]) == ["-1", "1", "10"]  # as written, not re-coded
    monkeypatch.setenv(ROOT_ENV, str(tmp_path))
    assert load_dataset("Synth", download=False).origin.startswith("archive")


def test_variable_length_and_missing_values_become_equal_length(tmp_path):
    write_split(tmp_path, "V", "TRAIN", ["a", "b"], [[0.0, np.nan, 2.0, 3.0], [0.0, 4.0, np.nan, np.nan]])
    X, y = read_ucr_tsv(tmp_path / "V_TRAIN.tsv")
    assert X.shape == (2, 4) and np.isfinite(X).all()
    np.testing.assert_allclose(X[0], [0, 1, 2, 3])  # gap interpolated
    np.testing.assert_allclose(X[1], [0, 4 / 3, 8 / 3, 4])  # length 2 stretched to 4
    assert list(y) == ["a", "b"]


def test_adjusted_version_is_preferred(tmp_path):
    make_archive(tmp_path, "Gappy")
    adjusted = tmp_path / "UCRArchive_2018" / ADJUSTED / "Gappy"
    for split in ("TRAIN", "TEST"):
        write_split(adjusted, "Gappy", split, ["1", "2"], np.ones((2, 5)))
    data = load_dataset("Gappy", ucr_root=tmp_path, download=False)
    assert data.X_train.shape == (2, 5) and str(adjusted) in data.origin


def test_offline_missing_dataset_is_one_clear_line_and_leaves_nothing(offline):
    with pytest.raises(ValueError) as caught:
        load_dataset("Beef")
    # Fast failure means no retry loop and no waiting on timeouts: a failed
    # name lookup ends the attempt (a wall-clock bound would only measure how
    # loaded the test machine is; benchmarks time things, tests do not).
    assert 1 <= len(offline.lookups) <= 2, offline.lookups
    message = str(caught.value)
    assert "\n" not in message
    assert "'Beef'" in message and "--ucr-root" in message and ROOT_ENV in message
    assert "Name or service not known" in message
    assert [p.name for p in offline.path.rglob("*")] == ["home"]  # no cache, staging or aeon folders


def test_download_gives_up_after_its_timeout_when_the_network_drops_packets(isolated_downloads, silent_network):
    # load_dataset's documented timeout ("seconds the download may take"; the
    # bench's --download-timeout) bounds the whole download, whatever timeouts
    # the downloader (aeon) sets on its own sockets.
    # Import the downloader now, so the 1 s is spent waiting on the network, not importing.
    pytest.importorskip("aeon.datasets")
    with pytest.raises(ValueError) as caught:
        load_dataset("Beef", timeout=1.0)
    message = str(caught.value)
    assert "\n" not in message
    assert "'Beef'" in message and "could not be downloaded (TimeoutError: no answer within 1 s)" in message
    assert "--ucr-root" in message and ROOT_ENV in message
    # The attempt did reach the network (the silent server), once, and nothing was cached.
    assert silent_network.server.first_connection.wait(30)
    assert len(silent_network.attempts) == 1, silent_network.attempts
    assert not (isolated_downloads / "home" / "cache").exists()


def test_names_outside_the_archive_get_suggestions():
    assert len(ucr_names()) == 128 and "GunPoint" in ucr_names()
    with pytest.raises(ValueError, match="not a UCR univariate dataset.*Did you mean GunPoint"):
        load_dataset("GunPont", download=False)


@pytest.mark.parametrize("name", ["PickupGestureWiimoteZ", "PLAID"])
def test_bundled_variable_length_dataset_is_equalised_for_every_method(name):
    dataset = load_dataset(name, download=False)
    assert dataset.X_train.ndim == 2 and dataset.X_test.ndim == 2
    # One width for both splits (PLAID's longest test series is shorter than
    # its longest training series): a model fitted on train can predict test.
    longest = max(len(x) for split in ("train", "test") for x in load_ucr(name, split)[0])
    assert dataset.X_train.shape[1] == dataset.X_test.shape[1] == longest


def test_resamples_follow_tsml_eval_and_keep_the_official_sizes(tmp_path):
    from voice2series.archive import resample_split

    make_archive(tmp_path, n=12)
    data = load_dataset("Synth", ucr_root=tmp_path, download=False)
    assert resample_split(data, 0) is data
    one, again, two = resample_split(data, 1), resample_split(data, 1), resample_split(data, 2)
    np.testing.assert_array_equal(one.X_train, again.X_train)  # seeded by the resample index
    assert not np.array_equal(one.X_train, two.X_train)
    for r in (one, two):
        assert r.X_train.shape == data.X_train.shape and r.X_test.shape == data.X_test.shape
        assert sorted(r.y_train) == sorted(data.y_train)  # stratified: the official class counts
        pooled = np.concatenate([r.X_train, r.X_test])
        np.testing.assert_array_equal(
            np.sort(pooled, axis=0), np.sort(np.concatenate([data.X_train, data.X_test]), axis=0)
        )
    assert one.origin.endswith("stratified resample 1")
    resampling = pytest.importorskip("aeon.benchmarking.resampling")
    expected = resampling.stratified_resample_data(data.X_train, data.y_train, data.X_test, data.y_test, random_state=2)
    for ours, theirs in zip((two.X_train, two.y_train, two.X_test, two.y_test), expected):
        np.testing.assert_array_equal(ours, theirs)


def test_a_variable_length_archive_dataset_keeps_each_series_at_its_own_length(tmp_path):
    folder = tmp_path / "UCRArchive_2018" / "V"
    write_split(folder, "V", "TRAIN", ["a", "b"], [[0.0, np.nan, 2.0, 3.0], [0.0, 4.0, np.nan, np.nan]])
    write_split(folder, "V", "TEST", ["a", "b"], [[1.0, 2.0, 3.0, np.nan], [5.0, 6.0, 7.0, 8.0]])
    data = load_dataset("V", ucr_root=tmp_path, download=False)
    np.testing.assert_allclose(data.X_train_own[0], [0, 1, 2, 3])  # the gap interpolated, not resampled
    np.testing.assert_allclose(data.X_train_own[1], [0, 4])
    np.testing.assert_allclose(data.X_test_own[0], [1, 2, 3])
    np.testing.assert_allclose(data.X_train[1], [0, 4 / 3, 8 / 3, 4])  # every method's arrays as before
    make_archive(tmp_path, "Even")
    assert load_dataset("Even", ucr_root=tmp_path, download=False).X_train_own is None


@pytest.mark.parametrize("resample", [0, 1])
def test_own_length_series_of_a_bundled_dataset_follow_its_splits(resample):
    from voice2series.archive import resample_split

    data = resample_split(load_dataset("PickupGestureWiimoteZ", download=False), resample)
    if resample == 0:
        assert [len(s) for s in data.X_train_own] == [len(s) for s in load_ucr("PickupGestureWiimoteZ", "train")[0]]
    for X, own in ((data.X_train, data.X_train_own), (data.X_test, data.X_test_own)):
        assert len(own) == len(X) and len({len(s) for s in own}) > 1
        np.testing.assert_allclose(equalise_lengths([s[None, :] for s in own], X.shape[1])[:, 0], X)
