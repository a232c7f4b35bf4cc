"""The release, in one place: the package metadata (``pyproject.toml`` reads it), the SDK, the
service's ``/healthz`` and ``notary --version`` all report this. See CHANGELOG.md."""

__version__ = "0.4.0"
