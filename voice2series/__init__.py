"""voice2series: time series classification by reprogramming frozen acoustic models.

Yang, Tsai & Chen, "Voice2Series: Reprogramming Acoustic Models for Time
Series Classification", ICML 2021.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("voice2series")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

from .estimator import V2SClassifier  # noqa: E402  (after __version__, which it records)
from .presets import make_ensemble, make_preset  # noqa: E402

__all__ = ["V2SClassifier", "make_ensemble", "make_preset", "__version__"]
