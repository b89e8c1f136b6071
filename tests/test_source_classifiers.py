"""Each offline source fits, predicts and pickles through V2SClassifier(source=name)."""

import pickle

import numpy as np
import pytest

from voice2series import V2SClassifier
from voice2series.sources import available

# Kept out of the CREPE sources: the estimator tests already fit those.
# Shortest inputs each source accepts, to keep the test fast.
NEW_SOURCES = {"speech-embedding": 12512, "speaker-encoder": 16000}


@pytest.mark.parametrize("name, input_length", NEW_SOURCES.items())
def test_fits_predicts_and_pickles_without_weights(name, input_length, small_xy, one_torch_thread):
    table = available()
    if name not in table.index or not table.loc[name, "offline"]:
        pytest.skip(f"{name} is not usable offline on this machine")
    X, y = small_xy
    clf = V2SClassifier(
        name, input_length=input_length, max_epochs=2, batch_size=24, random_state=0
    ).fit(X, y)
    predicted = clf.predict(X)
    assert set(predicted) <= set(y)
    blob = pickle.dumps(clf)
    assert len(blob) < 2_000_000  # the source's weights are rebuilt, not pickled
    np.testing.assert_array_equal(pickle.loads(blob).predict(X), predicted)
