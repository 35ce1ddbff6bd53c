from mlspec.cli import entry

entry()
