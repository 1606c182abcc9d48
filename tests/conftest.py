from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pipeline import Pipeline, config_from
from tests.support.transcripts import copy_fixture_roots, exporter_config


@pytest.fixture
def fixture_roots(tmp_path: Path) -> tuple[Path, Path]:
    """Writable copies of the fixture roots: (claude_code_root, openclaw_root)."""
    return copy_fixture_roots(tmp_path / "transcripts")


@pytest.fixture
def fixture_pipeline(tmp_path: Path, fixture_roots: tuple[Path, Path]):
    """The in-process pipeline after one scan of both fixture roots."""
    claude_root, openclaw_root = fixture_roots
    pipeline = Pipeline(config_from(tmp_path, exporter_config(claude_root, openclaw_root))).scan()
    yield pipeline
    pipeline.close()
