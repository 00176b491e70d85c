"""What the tests share: displays, compositors, browsers, archives and subprocesses."""
