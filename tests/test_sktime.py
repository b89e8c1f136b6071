import numpy as np
import pytest

pytest.importorskip("sktime")

from sktime.datasets import load_unit_test  # noqa: E402
from sktime.utils.estimator_checks import check_estimator  # noqa: E402

from voice2series import V2SClassifier  # noqa: E402
from voice2series.sktime import V2SSktimeClassifier  # noqa: E402


def test_sktime_check_estimator_passes():
    results = check_estimator(V2SSktimeClassifier, raise_exceptions=False, verbose=False)
    failures = {name: str(outcome)[:200] for name, outcome in results.items() if outcome != "PASSED"}
    assert len(results) > 100
    assert not failures, failures


def test_parameters_mirror_the_sklearn_estimator():
    assert V2SSktimeClassifier().get_params() == V2SClassifier().get_params()


@pytest.mark.slow  # fits on sktime's unit_test data (a real dataset, Chinatown)
@pytest.mark.parametrize("return_type", ["nested_univ", "numpy3D", "pd-multiindex"])
def test_sktime_containers_give_the_same_predictions(return_type):
    X_train, y_train = load_unit_test(split="train", return_type=return_type)
    X_reference, _ = load_unit_test(split="train", return_type="numpy3D")
    clf = V2SSktimeClassifier(max_epochs=2, random_state=0).fit(X_train, y_train)
    reference = V2SClassifier(max_epochs=2, random_state=0).fit(X_reference, y_train)
    np.testing.assert_allclose(clf.predict_proba(X_train), reference.predict_proba(X_reference), atol=1e-6)
