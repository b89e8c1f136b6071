"""voice2series: time series classification by reprogramming frozen acoustic models.

Yang, Tsai & Chen, "Voice2Series: Reprogramming Acoustic Models for Time
Series Classification", ICML 2021.
"""

from .estimator import V2SClassifier

__version__ = "0.1.0"
__all__ = ["V2SClassifier", "__version__"]
