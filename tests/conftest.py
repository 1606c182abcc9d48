from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.transcripts import copy_fixture_roots


@pytest.fixture
def fixture_roots(tmp_path: Path) -> tuple[Path, Path]:
    """Writable copies of the fixture roots: (claude_code_root, openclaw_root)."""
    return copy_fixture_roots(tmp_path / "transcripts")
