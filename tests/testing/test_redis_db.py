"""Shared fuzz campaigns on a real Redis: one process finds a failure, another replays it first.

Starts Debian's ``redis-server`` on loopback (a free port, no persistence) for the module and
stops it after. The planted bug is the test's own: ``end_swap_bio_read`` raises on a failed
read, so any example in which the machine completes a swap-in read with an error fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("redis", reason="pip install 'kmodel[dev]' (the redis client)")
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)
from hypothesis.extra.redis import RedisExampleDatabase
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from kmodel.testing import profiles

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="redis-server not installed (CI: apt-get install -y redis-server)")

PLANTED = textwrap.dedent('''
    import sys

    import kmodel.mm.page_io as page_io
    from kmodel.cli import main
    from kmodel.testing import machines

    examples = 0
    first_failure = None
    original_init = machines.SwapIOMachine.__init__
    original_read = page_io.end_swap_bio_read


    def counting_init(self):
        global examples
        examples += 1
        original_init(self)


    def planted_end_swap_bio_read(k, bio):
        global first_failure
        if bio.bi_status:
            if first_failure is None:
                first_failure = examples
                print(f"PLANTED first failure in example {examples}", file=sys.stderr)
            raise RuntimeError("planted bug: a failed read")
        return original_read(k, bio)


    machines.SwapIOMachine.__init__ = counting_init
    page_io.end_swap_bio_read = planted_end_swap_bio_read
    sys.exit(main(["fuzz", *sys.argv[1:]]))
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert REDIS_SERVER is not None
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(200):  # until it accepts connections (a bounded poll, no timing)
            try:
                client.ping()
                break
            except RedisConnectionError:
                if proc.poll() is not None:
                    pytest.fail(f"redis-server exited with {proc.returncode}")
                subprocess.run(["sleep", "0.05"], check=True)
        else:
            pytest.fail("redis-server did not answer PING")
        yield f"redis://127.0.0.1:{port}"
    finally:
        client.close()
        proc.terminate()
        proc.wait()


def _fuzz(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``kmodel fuzz`` with the planted bug in a fresh directory (its own .hypothesis)."""
    script = tmp_path / "planted.py"
    script.write_text(PLANTED)
    cwd = tmp_path / name
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != profiles.DB_ENV}
    return subprocess.run([sys.executable, str(script), "--machine", "swapio", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _keys(url: str) -> list[bytes]:
    client = Redis.from_url(url)
    try:
        return sorted(client.keys("kmodel-example:*"))
    finally:
        client.close()


def _primary(url: str) -> int:
    """How many failing examples Redis holds (Hypothesis' primary corpus, not .secondary)."""
    client = Redis.from_url(url)
    try:
        return sum(int(client.scard(k)) for k in _keys(url) if not k.endswith(b".secondary"))
    finally:
        client.close()


def _first_failure(result: subprocess.CompletedProcess[str]) -> int:
    m = re.search(r"PLANTED first failure in example (\d+)\n", result.stderr)
    assert m is not None, result.stderr[-2000:]
    return int(m.group(1))


def test_a_second_process_replays_the_failure_from_redis_first(tmp_path: Path,
                                                               redis_url: str) -> None:
    for key in _keys(redis_url):
        Redis.from_url(redis_url).delete(key)
    first = _fuzz(tmp_path, "finder", "--db", redis_url, "--seconds", "300", "--rounds", "5")
    assert first.returncode == 1, first.stderr[-2000:]
    assert "RuntimeError: planted bug: a failed read" in first.stderr
    assert f"the failure is saved in {redis_url}" in first.stderr
    saved = _primary(redis_url)
    assert saved >= 1, "nothing saved in Redis"

    # A fresh directory: its own database is empty, so what it replays comes from Redis.
    # Hypothesis replays the saved failures before generating anything: the first failure
    # is among the first `saved` examples (the minimal one comes first).
    second = _fuzz(tmp_path, "replayer", "--db", redis_url, "--seconds", "300", "--rounds", "5")
    assert second.returncode == 1, second.stderr[-2000:]
    assert 1 <= _first_failure(second) <= saved, (saved, second.stderr[-2000:])

    readonly = _fuzz(tmp_path, "ci", "--db", f"readonly:{redis_url}", "--seconds", "300",
                     "--rounds", "5")
    assert readonly.returncode == 1, readonly.stderr[-2000:]
    assert 1 <= _first_failure(readonly) <= _primary(redis_url)
    assert not (tmp_path / "ci" / ".hypothesis").exists()  # read-only: nothing written here


def test_the_profile_database_reads_kmodel_hypothesis_db(redis_url: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(profiles.DB_ENV, redis_url)
    db = profiles.example_database()
    assert isinstance(db, MultiplexedDatabase)
    local, shared = db._wrapped  # the documented order: the local directory, then Redis
    assert isinstance(local, DirectoryBasedExampleDatabase)
    assert isinstance(shared, RedisExampleDatabase)
    db.save(b"k", b"v1")
    other = RedisExampleDatabase(Redis.from_url(redis_url), key_prefix=b"kmodel-example:")
    assert list(other.fetch(b"k")) == [b"v1"]  # another machine sees it

    monkeypatch.setenv(profiles.DB_ENV, f"readonly:{redis_url}")
    ro = profiles.example_database()
    assert isinstance(ro, ReadOnlyDatabase)
    ro.save(b"k", b"v2")
    assert list(ro.fetch(b"k")) == [b"v1"]


def test_a_directory_url_stays_a_directory_database(tmp_path: Path) -> None:
    db = profiles.database_from_url(str(tmp_path / "examples"))
    assert isinstance(db, DirectoryBasedExampleDatabase)
