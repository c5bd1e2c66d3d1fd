"""madoguchi (窓口): the application shell — CLI, web app, storage."""
__version__ = "0.1.0"
