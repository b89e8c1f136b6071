"""A fitted model outlives the process: V2SClassifier.save/load (persistence.py),
and pickle/joblib (ReprogrammedModel's __getstate__ rebuilds a registered source)."""

import json
import pathlib
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

from voice2series import V2SClassifier
from voice2series.persistence import FORMAT_VERSION
from voice2series.sources import CrepeSource

from .helpers import random_xy, tiny_classifier


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """The machine is shared; every test here runs on one torch thread."""


@pytest.fixture(scope="module")
def fitted_random(small_xy):
    X, y = small_xy
    return tiny_classifier(mapping="random", max_epochs=2).fit(X, y)


@pytest.fixture(scope="module")
def fitted_linear(small_xy):
    X, y = small_xy
    frame = pd.DataFrame(X, columns=[f"t{i}" for i in range(X.shape[1])])
    return tiny_classifier(max_epochs=2, segments=2).fit(frame, y), frame


def test_save_load_round_trip_random_mapping(fitted_random, small_xy, tmp_path):
    X, _ = small_xy
    fitted_random.save(tmp_path / "model.v2s")
    loaded = V2SClassifier.load(tmp_path / "model.v2s")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted_random.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted_random.predict(X))
    np.testing.assert_array_equal(loaded.mapping_, fitted_random.mapping_)
    assert loaded.get_params() == fitted_random.get_params()
    assert loaded.history_ == fitted_random.history_


def test_save_load_round_trip_linear_head_and_feature_names(fitted_linear, tmp_path):
    clf, frame = fitted_linear
    clf.save(tmp_path / "model.v2s")
    loaded = V2SClassifier.load(tmp_path / "model.v2s")
    np.testing.assert_array_equal(loaded.predict_proba(frame), clf.predict_proba(frame))
    assert list(loaded.feature_names_in_) == list(frame.columns)


def test_the_probes_cross_validated_loss_is_kept(small_xy, tmp_path):
    X, y = small_xy
    probe = tiny_classifier(max_epochs=0, head_init="logistic", train_program=False).fit(X, y)
    assert probe.head_cv_log_loss_ > 0
    probe.save(tmp_path / "probe.v2s")
    assert V2SClassifier.load(tmp_path / "probe.v2s").head_cv_log_loss_ == probe.head_cv_log_loss_


def test_the_tempered_loss_temperature_is_kept(small_xy, tmp_path):
    tempered = tiny_classifier(max_epochs=1, program_loss="tempered").fit(*small_xy)
    assert tempered.loss_temperature_ > 1
    tempered.save(tmp_path / "tempered.v2s")
    assert V2SClassifier.load(tmp_path / "tempered.v2s").loss_temperature_ == tempered.loss_temperature_


def test_integer_labels_keep_their_type(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 16))
    clf = tiny_classifier(max_epochs=1).fit(X, [3, 7] * 6)
    clf.save(tmp_path / "m.v2s")
    loaded = V2SClassifier.load(tmp_path / "m.v2s")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_model_file_loads_with_weights_only(fitted_random, tmp_path):
    fitted_random.save(tmp_path / "model.v2s")
    payload = torch.load(tmp_path / "model.v2s", weights_only=True)
    assert payload["format"] == "voice2series" and payload["format_version"] == FORMAT_VERSION
    assert not any(key.startswith("source.") for key in payload["state"])


def test_truncated_and_corrupt_files_are_refused_clearly(fitted_random, tmp_path):
    path = tmp_path / "model.v2s"
    fitted_random.save(path)
    data = path.read_bytes()
    (tmp_path / "truncated.v2s").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.v2s").write_bytes(b"not a model at all" * 100)
    for name in ("truncated.v2s", "garbage.v2s"):
        with pytest.raises(ValueError, match="not a readable voice2series model file"):
            V2SClassifier.load(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="No voice2series model file"):
        V2SClassifier.load(tmp_path / "missing.v2s")


def test_other_formats_and_versions_are_refused(fitted_random, tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not written by V2SClassifier.save"):
        V2SClassifier.load(tmp_path / "other.pt")
    fitted_random.save(tmp_path / "model.v2s")
    payload = torch.load(tmp_path / "model.v2s", weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, tmp_path / "future.v2s")
    with pytest.raises(ValueError, match="format version 2"):
        V2SClassifier.load(tmp_path / "future.v2s")
    del payload["state"]["program.delta"]
    payload["format_version"] = FORMAT_VERSION
    torch.save(payload, tmp_path / "incomplete.v2s")
    with pytest.raises(ValueError, match="missing"):
        V2SClassifier.load(tmp_path / "incomplete.v2s")


def test_custom_source_models_point_to_pickle(small_xy, tmp_path):
    X, y = small_xy
    clf = tiny_classifier(source=CrepeSource("tiny"), max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="pickle or joblib"):
        clf.save(tmp_path / "m.v2s")


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CPU-only machine")
def test_model_from_a_gpu_machine_predicts_on_cpu_with_a_warning(fitted_random, small_xy):
    X, _ = small_xy
    moved = pickle.loads(pickle.dumps(fitted_random))
    moved.device = "cuda"  # as it would come from a GPU machine
    with pytest.warns(UserWarning, match="predicting on the CPU"):
        np.testing.assert_array_equal(moved.predict_proba(X), fitted_random.predict_proba(X))


class _Touch:
    """Unpickling this object creates a file: what a hostile model file would run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def test_a_hostile_pickle_in_a_model_file_is_refused_without_running(fitted_random, tmp_path):
    fitted_random.save(tmp_path / "model.v2s")
    payload = torch.load(tmp_path / "model.v2s", weights_only=True)
    pwned = tmp_path / "pwned"
    # Everything a real model file holds, plus one object whose unpickling runs code.
    torch.save({**payload, "history": _Touch(pwned)}, tmp_path / "hostile.v2s")
    with pytest.raises(ValueError, match="not a readable voice2series model file"):
        V2SClassifier.load(tmp_path / "hostile.v2s")
    assert not pwned.exists()
    # The same payload without that object loads: the object was the one reason for refusing.
    torch.save(payload, tmp_path / "clean.v2s")
    assert V2SClassifier.load(tmp_path / "clean.v2s").history_ == fitted_random.history_


# ------------------------------------------------------------- pickle, joblib
@pytest.mark.parametrize("dump,load", [(pickle.dumps, pickle.loads), (None, None)])
def test_pickle_and_joblib_round_trip(fitted_random, small_xy, tmp_path, dump, load):
    X, _ = small_xy
    if dump is None:
        path = tmp_path / "model.joblib"
        joblib.dump(fitted_random, path)
        restored = joblib.load(path)
    else:
        payload = dump(fitted_random)
        # A registered source is rebuilt from its package, not pickled.
        assert len(payload) < 200_000
        restored = load(payload)
    np.testing.assert_array_equal(restored.predict_proba(X), fitted_random.predict_proba(X))


def test_custom_source_instance_is_pickled_with_its_weights(small_xy):
    X, y = small_xy
    clf = tiny_classifier(source=CrepeSource("tiny"), max_epochs=1).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


# ------------------------------------------------------------------ variants
VARIANTS = {
    "flm": {"mapping": "flm"},
    "ilm": {"mapping": "ilm", "outputs_per_class": 3},
    "blm": {"mapping": "blm"},
    "blm++": {"mapping": "blm++"},
    "black-box": {"training": "black-box", "zo_queries": 2},
    "finetune-last": {"finetune": "last"},
    "finetune-all": {"finetune": "all"},
    "smm": {"sample_specific_mask": True},
}


@pytest.mark.parametrize("params", list(VARIANTS.values()), ids=list(VARIANTS))
def test_save_load_and_pickle_round_trips_give_identical_probabilities(small_xy, tmp_path, params):
    X, y = small_xy
    clf = tiny_classifier(max_epochs=2, **params).fit(X, y)
    expected = clf.predict_proba(X)
    clf.save(tmp_path / "model.v2s")
    loaded = V2SClassifier.load(tmp_path / "model.v2s")
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    np.testing.assert_array_equal(loaded.mapping_, clf.mapping_)
    assert loaded.n_queries_ == clf.n_queries_
    # Twice through pickle: tuned source weights must survive being unpickled and pickled again.
    twice = pickle.loads(pickle.dumps(pickle.loads(pickle.dumps(clf))))
    np.testing.assert_array_equal(twice.predict_proba(X), expected)


def test_a_windowed_model_round_trips_with_its_frames(tmp_path, one_torch_thread):
    X, y = random_xy(n=12, length=1300)
    clf = tiny_classifier(resample="windows", max_epochs=1, views="series").fit(X, y)
    clf.save(tmp_path / "model.v2s")
    loaded = V2SClassifier.load(tmp_path / "model.v2s")
    assert loaded.model_.source.input_length == clf.model_.source.input_length == 5 * 1024  # 5 windows
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_tuned_source_weights_are_in_the_model_file(small_xy, tmp_path):
    X, y = small_xy
    tiny_classifier(finetune="last", max_epochs=1, views="series").fit(X, y).save(tmp_path / "m.v2s")
    state = torch.load(tmp_path / "m.v2s", weights_only=True)["state"]
    assert {k for k in state if k.startswith("source.")} == {"source.classifier.weight", "source.classifier.bias"}


def test_tuned_model_saves_and_loads_with_its_options(small_xy, tmp_path):
    X, y = small_xy
    clf = tiny_classifier(amplitude=2.0, lr_schedule="cosine", label_smoothing=0.1, resample="auto").fit(X, y)
    clf.save(tmp_path / "tuned.v2s")
    loaded = V2SClassifier.load(tmp_path / "tuned.v2s")
    assert (loaded.amplitude, loaded.lr_schedule, loaded.label_smoothing) == (2.0, "cosine", 0.1)
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_a_file_written_before_a_parameter_existed_loads_with_the_value_it_ran_with(small_xy, tmp_path):
    """A round-12 model file has no stretched_window_hop: its stretched windows were half a window apart,
    which today's default (end to end) would not fit."""
    X, y = small_xy
    X = np.repeat(X, 10, axis=1)  # 300 samples: stretched 4 times, 4 windows half a window apart, 3 end to end
    clf = tiny_classifier(time_scales="1+4", stretched_window_hop=0.5, max_epochs=1).fit(X, y)
    path = tmp_path / "round12.v2s"
    clf.save(path)
    payload = torch.load(path, weights_only=True)
    params = json.loads(payload["params"])
    del params["stretched_window_hop"]
    torch.save({**payload, "params": json.dumps(params)}, path)
    loaded = V2SClassifier.load(path)
    assert loaded.stretched_window_hop == 0.5
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
