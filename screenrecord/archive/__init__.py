"""The archive on disk: frame files and their names, the catalog, the journal of moves, the lock, the pause file, reading images."""
