"""App processes sharing one models folder (issue 18): each stages uploads in a folder of its own, and the
start-up cleanup removes only what a process that is gone left behind — never another running process's upload
in progress."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from core.library.ingest import INCOMING, PROCESS_LOCK, claim_incoming

ROOT = Path(__file__).resolve().parent.parent

# A second app process: it claims its staging folder, starts an upload there, says so, and keeps running.
UPLOADING = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from core.library.ingest import claim_incoming
    claim, _ = claim_incoming(Path(sys.argv[1]))
    (claim.folder / "upload-in-progress.part").write_bytes(b"half a model")
    print(claim.folder, flush=True)
    time.sleep(600)
""")


def test_a_running_processs_upload_survives_another_start_and_a_dead_ones_leftovers_do_not(tmp_path):
    models = tmp_path / "models"
    other = subprocess.Popen([sys.executable, "-c", UPLOADING, str(models)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True)
    try:
        other_folder = Path(other.stdout.readline().strip())
        dead = models / INCOMING / "otherhost-4242"  # a process on another machine that crashed
        dead.mkdir()
        (dead / PROCESS_LOCK).touch()
        (dead / "upload-abandoned.part").write_bytes(b"left by a crash")
        legacy = models / INCOMING / "upload-old.part"  # from a version before per-process folders
        legacy.write_bytes(b"old")
        claim, removed = claim_incoming(models)  # this process starting beside it
        try:
            assert removed == 2 and not dead.exists() and not legacy.exists()
            assert (other_folder / "upload-in-progress.part").read_bytes() == b"half a model"
            assert claim.folder != other_folder and claim.folder.parent == other_folder.parent
        finally:
            claim.release()
    finally:
        other.kill()
        other.wait()
    restarted = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from core.library.ingest import claim_incoming; "
                                "print(claim_incoming(Path(sys.argv[1]))[1])", str(models)],
                               cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert restarted.stdout.strip() == "1", restarted.stderr  # the killed process's upload, now abandoned
    assert not other_folder.exists()
