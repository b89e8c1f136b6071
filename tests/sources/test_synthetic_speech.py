"""The synthetic keyword corpus: declared classes and shapes, reproducible from a seed."""

import json
import shutil

import numpy as np
import pytest

from voice2series.sources.synthetic_speech import SILENCE, UNKNOWN, WORDS, synthesize_keywords

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)
# 3 words x 2 voices (2 accents x 1 variant, plus the held-out one), 4 clips per class.
TINY = {
    "clips_per_class": 4,
    "accents": ("en-us", "en-gb"),
    "variants": ("", "f3"),
    "unknown_words": ("hello", "table"),
    "validation_fraction": 0.5,
}


@pytest.fixture(scope="module")
def tiny():
    return synthesize_keywords(["yes", "no", "up"], random_state=3, **TINY)


@needs_espeak
def test_corpus_has_the_declared_classes_and_shapes(tiny):
    assert tiny.classes == ["yes", "no", "up", SILENCE, UNKNOWN]
    assert tiny.waves.shape == (20, 16000) and tiny.waves.dtype == np.float32
    assert np.bincount(tiny.labels).tolist() == [4] * 5
    assert np.isfinite(tiny.waves).all() and np.abs(tiny.waves).max() <= 1.0
    assert (np.abs(tiny.waves).max(axis=1) > 1e-4).all()  # no empty clip
    silent = tiny.labels == tiny.classes.index(SILENCE)
    assert set(tiny.voices[silent]) == {""}
    assert set(tiny.voices[~silent]) <= {"en-us", "en-gb", "en-us+f3", "en-gb+f3"}
    (held_out,) = tiny.recipe["held_out_variants"]  # half of the two variants
    spoken_by_held_out = np.array([v.partition("+")[2] == held_out for v in tiny.voices[~silent]])
    assert (tiny.validation[~silent] == spoken_by_held_out).all()
    assert json.loads(json.dumps(tiny.recipe))["classes"] == tiny.classes
    _, _, classes, validation = tiny.clips
    assert classes == tiny.classes and validation is tiny.validation


@needs_espeak
def test_the_same_seed_gives_the_same_corpus(tiny):
    again = synthesize_keywords(["yes", "no", "up"], random_state=3, **TINY)
    assert np.array_equal(again.waves, tiny.waves)
    assert np.array_equal(again.labels, tiny.labels) and np.array_equal(again.voices, tiny.voices)
    other = synthesize_keywords(["yes", "no", "up"], random_state=4, **TINY)
    assert not np.array_equal(other.waves, tiny.waves)


@needs_espeak
def test_options_without_silence_or_unknown():
    corpus = synthesize_keywords(
        ["go"],
        clips_per_class=3,
        clips_per_rendering=3,
        silence=False,
        unknown_words=(),
        accents=["en-us"],
        variants=[""],
        validation_fraction=0.0,
        length=8000,
    )
    assert corpus.classes == ["go"] and corpus.waves.shape == (3, 8000)
    assert corpus.recipe["n_renderings"] == 1 and not corpus.validation.any()


def test_default_classes_are_the_speech_commands_words():
    assert len(WORDS) == 35 and sorted(WORDS) == list(WORDS)


def test_a_missing_espeak_ng_says_how_to_install_it():
    with pytest.raises(FileNotFoundError, match="apt-get install espeak-ng"):
        synthesize_keywords(["yes"], executable="no-such-espeak-ng-program")
