"""The runtime: the one scheduling loop (runner) and the task a backend executes."""
