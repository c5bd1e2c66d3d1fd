"""Settings (environment) and tenant configuration (one YAML file per municipality)."""
