from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GHOUTA = ROOT / "examples" / "ghouta"
GHOUTA_A = GHOUTA / "000_e51377812b574cd4.txt"
GHOUTA_B = GHOUTA / "001_b01e3d22d82a00e4.txt"


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped outside CI when it is missing."""
    p = SHARED.joinpath("data", *parts)
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


@pytest.fixture(scope="session")
def ghouta_texts() -> tuple[str, str]:
    return GHOUTA_A.read_text(encoding="utf-8"), GHOUTA_B.read_text(encoding="utf-8")
