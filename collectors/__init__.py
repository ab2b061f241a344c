"""Collectors: the plugin contract and the built-in collectors.

Plugin authors import the contract from here::

    from collectors import Collector, Series, Sample

``merge_options(defaults, options)`` is the option check the base ``setup()`` runs (unknown
names with a did-you-mean, wrong types), for a plugin whose ``setup()`` does its own thing.
"""

from collectors.base import Collector, Sample, Series, merge_options

__all__ = ["Collector", "Sample", "Series", "merge_options"]
