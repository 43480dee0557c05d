"""scripts/setup-capture.sh waits for the apt lock instead of failing (issue 9)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup-capture.sh"

# A dpkg that has nothing installed, and an apt-get that, like the real one while another
# process holds /var/lib/dpkg/lock-frontend, fails with rc 100 unless told to wait for it.
FAKE_DPKG_QUERY = "#!/bin/sh\nexit 1\n"
FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$APT_LOG"
case " $* " in
  *" -o DPkg::Lock::Timeout=600 "*) exit 0 ;;
esac
echo "E: Could not get lock /var/lib/dpkg/lock-frontend" >&2
exit 100
"""


def test_setup_capture_waits_for_the_apt_lock(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("dpkg-query", FAKE_DPKG_QUERY), ("apt-get", FAKE_APT_GET),
                       ("sudo", '#!/bin/sh\nexec "$@"\n')):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "apt.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "APT_LOG": str(log)}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert [c.split()[2] for c in calls] == ["update", "install"]
    assert all(c.startswith("-o DPkg::Lock::Timeout=600 ") for c in calls), calls
    assert "setup-capture: done" in done.stdout
