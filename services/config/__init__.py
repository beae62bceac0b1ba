"""The configuration: built-in defaults, config.yaml, environment variables, checked at start."""
from services.config.loading import DEFAULTS, ConfigError, load_settings, merge

__all__ = ["DEFAULTS", "ConfigError", "load_settings", "merge"]
