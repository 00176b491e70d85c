# screenrecord: start the capture daemon at login, without a console window.
# Written to the Startup folder by `screenrecord service install`, removed by `uninstall`.
# Windows opens .pyw files with pythonw (no console); this starts the daemon under the
# interpreter screenrecord was installed with, also windowless, and sends its log to LOG.
import os
import subprocess

ARGV = ${argv}
LOG = ${log}

os.makedirs(os.path.dirname(LOG), exist_ok=True)
with open(LOG, "ab") as log:
    subprocess.Popen(
        ARGV,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        close_fds=True,
    )
