"""The configuration: built-in defaults, config.yaml, environment variables, checked at start."""
