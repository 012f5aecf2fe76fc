"""The commands other than `analyze`, `compare` and `eval` (cli.py), one module per command or group."""
