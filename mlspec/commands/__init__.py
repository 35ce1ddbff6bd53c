"""One module per CLI command: `configure(parser)` adds its options, `run(args)` returns an exit code.

Keep top-level imports light; import the engine inside `run`.
"""
