"""voice2series: time series classification by reprogramming frozen acoustic models.

Yang, Tsai & Chen, "Voice2Series: Reprogramming Acoustic Models for Time
Series Classification", ICML 2021.
"""

__version__ = "0.1.0"

from .estimator import V2SClassifier, make_ensemble  # noqa: E402  (after __version__, which it records)
from .presets import make_preset  # noqa: E402
__all__ = ["V2SClassifier", "make_ensemble", "make_preset", "__version__"]
