"""Collectors: the plugin contract and the built-in collectors.

Plugin authors import the contract from here::

    from collectors import Collector, Series, Sample
"""

from collectors.base import Collector, Sample, Series

__all__ = ["Collector", "Sample", "Series"]
