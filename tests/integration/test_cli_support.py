"""The shared admin-command wrapper: settings errors exit 2, refusals exit 1, the DB is migrated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storyhub.lib.cli_support import run_with_database
from storyhub.lib.errors import Conflict
from storyhub.piccolo_app import TABLES
from storyhub.safety.tables import ModerationItem
from storyhub.settings import Settings
from tests.conftest import TEST_SECRET


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty data dir in the environment; the process-wide table binding is restored after."""
    from piccolo.apps.migrations.tables import Migration

    import storyhub.piccolo_conf as conf

    bound = {table: table._meta._db for table in [*TABLES, Migration]}
    previous_db = conf.DB
    monkeypatch.delenv("STORYHUB_DATABASE_URL", raising=False)
    monkeypatch.setenv("STORYHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STORYHUB_SECRET_KEY", TEST_SECRET)
    yield tmp_path / "data"
    conf.DB = previous_db
    for table, engine in bound.items():
        table._meta._db = engine


class TestRunWithDatabase:
    def test_work_runs_on_a_migrated_database(self, fresh_data_dir: Path) -> None:
        """A fresh data dir gets the schema before the work runs; its exit code is returned."""

        async def work(settings: Settings) -> int:
            assert settings.data_dir == fresh_data_dir
            return 7 + await ModerationItem.count()

        assert run_with_database(TABLES, work) == 7
        assert (fresh_data_dir / "storyhub.sqlite3").is_file()

    def test_a_refusal_is_one_line_with_its_code_and_exit_1(
        self, fresh_data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        async def work(_: Settings) -> int:
            raise Conflict("Already done.", code="alreadyDone")

        assert run_with_database(TABLES, work) == 1
        assert capsys.readouterr().err == "storyhub: Already done. (alreadyDone)\n"

    def test_a_bad_setting_exits_2_naming_the_variable(
        self,
        fresh_data_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("STORYHUB_AUTH_RATE_LIMIT", "lots")
        ran = []

        async def work(_: Settings) -> int:
            ran.append(True)
            return 0

        with pytest.raises(SystemExit) as caught:
            run_with_database(TABLES, work)
        assert caught.value.code == 2
        assert "STORYHUB_AUTH_RATE_LIMIT" in capsys.readouterr().err
        assert ran == []
        assert not (fresh_data_dir / "storyhub.sqlite3").exists()
