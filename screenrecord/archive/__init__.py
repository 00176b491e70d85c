"""The archive on disk: frame files and their names, the writer that adds kept frames, the catalog, the journal of moves, the lock, the pause file, reading images."""
