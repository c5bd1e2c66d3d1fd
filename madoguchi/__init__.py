"""madoguchi (窓口): the web shell, the top floor — the app, the CLI, the composition root, the JSON API and the
pages (README "Architecture")."""
__version__ = "0.1.0"
