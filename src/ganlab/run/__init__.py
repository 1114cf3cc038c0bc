"""Run I/O: a run folder and what is in it (lock, checkpoints, summary.json, loggers, the saved
config read back as data), written so that a crash never leaves half a file and secrets never
reach it."""
