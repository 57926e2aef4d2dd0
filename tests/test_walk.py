import os

from ingest.walk import discover, resolve_roots


def _walk(*roots, max_file_bytes=10**9):
    return discover(resolve_roots(roots), max_file_bytes=max_file_bytes)


def test_links_hidden_and_lock_files(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("secret")
    (root / "a.md").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (root / ".hidden.md").write_text("h")
    (root / ".git").mkdir()
    (root / ".git" / "c.md").write_text("c")
    (root / "~$report.docx").write_bytes(b"lock")
    (root / "link-out.md").symlink_to(outside / "secret.md")
    (root / "link-dir-out").symlink_to(outside)
    (root / "dangling.md").symlink_to(root / "missing.md")
    (root / "loop").symlink_to(root)
    (root / "twice").symlink_to(root / "sub")
    (root / "a-again.md").symlink_to(root / "a.md")
    result = _walk(root)
    assert [os.path.relpath(f.path, root) for f in result.files] == ["a.md", os.path.join("sub", "b.txt")]
    reasons = {os.path.basename(p): r for p, r in result.skipped}
    assert reasons["link-out.md"].startswith("link to a place outside")
    assert reasons["link-dir-out"].startswith("link to a place outside")
    assert reasons["dangling.md"].startswith("dangling link")
    assert "secret.md" not in reasons and ".hidden.md" not in reasons


def test_fifo_unsupported_and_oversized_files_are_reported(tmp_path):
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "model.stl").write_bytes(b"solid x")
    (tmp_path / "big.txt").write_text("x" * 3000)
    (tmp_path / "ok.txt").write_text("fine")
    result = _walk(tmp_path, max_file_bytes=2000)
    reasons = {os.path.basename(p): r for p, r in result.skipped}
    assert reasons["pipe.txt"].startswith("not a regular file")
    assert reasons["model.stl"] == "unsupported file type '.stl'"
    assert reasons["big.txt"].startswith("larger than the")
    assert [os.path.basename(f.path) for f in result.files] == ["ok.txt"]


def test_odd_file_names(tmp_path):
    for name in ["with space.md", "ünïcödé.md", "שלום.md", "new\nline.md"]:
        (tmp_path / name).write_text("text")
    assert len(_walk(tmp_path).files) == 4
