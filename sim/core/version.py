"""The package version (recorded in manifests and keyed into the run cache)."""

__version__ = "0.1.0"
