"""Errors that end a run with one clear message instead of a traceback."""


class GanlabError(Exception):
    """Base class: the message names the field or file at fault and how to fix it."""


class ConfigError(GanlabError):
    """A composed config value is invalid (wrong type, out of range, inconsistent)."""


class DataError(GanlabError):
    """A dataset is missing, empty or unreadable."""


class MetricsError(GanlabError):
    """A metric input, feature extractor or evaluator file is missing, malformed or mismatched."""
