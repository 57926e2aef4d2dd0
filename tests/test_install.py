"""install/llama.py: a build that dies on this CPU is replaced, never left in place."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def llama(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("install_llama", ROOT / "install" / "llama.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(module, "stamp_path", lambda: tmp_path / "stamp.json")
    return module


def test_a_child_killed_by_a_signal_is_named(llama, monkeypatch):
    monkeypatch.setattr(llama, "PROOF", "import os, signal; os.kill(os.getpid(), signal.SIGILL)")
    ok, what = llama.run_proof()
    assert not ok
    assert "SIGILL" in what


def test_a_child_that_fails_says_its_last_line(llama, monkeypatch):
    monkeypatch.setattr(llama, "PROOF", "import sys; sys.exit('the model file is damaged')")
    ok, what = llama.run_proof()
    assert not ok
    assert "exit 1" in what and "the model file is damaged" in what


def test_the_real_proof_passes_with_the_installed_build(llama):
    ok, what = llama.run_proof()
    assert ok, what
    assert "written" in what


def test_a_crashing_native_build_is_thrown_away_and_portable_installed(llama, monkeypatch, tmp_path, capsys):
    native = tmp_path / "cache" / "llama-wheels" / "native-abc"
    native.mkdir(parents=True)
    (native / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl").write_bytes(b"broken")
    llama.write_stamp({"build": "native", "key": "native-abc"})
    proofs = iter([(False, "the model's process died by SIGILL"), (True, "ok 78 prompt tokens read, 4 written")])
    monkeypatch.setattr(llama, "run_proof", lambda: next(proofs))
    built = []
    monkeypatch.setattr(llama, "build_wheel", lambda build, out, carried: built.append(build) or out / "w.whl")
    monkeypatch.setattr(
        llama, "install_wheel", lambda wheel, build, key: llama.write_stamp({"build": build, "key": key})
    )
    llama.prove(type("Args", (), {"carried": None})())
    stamp = json.loads((tmp_path / "stamp.json").read_text())
    assert built == ["portable"]
    assert not native.exists()  # never installed again on this CPU
    assert stamp["build"] == "portable" and stamp["failed_native"] == "native-abc"
    assert stamp["proven"].startswith("ok")
    assert "rebuilding it the portable way" in capsys.readouterr().err


def test_a_portable_build_that_crashes_stops_the_set_up(llama, monkeypatch):
    llama.write_stamp({"build": "portable", "key": "portable-abc"})
    monkeypatch.setattr(llama, "run_proof", lambda: (False, "the model's process died by SIGILL"))
    with pytest.raises(SystemExit, match="does not run here"):
        llama.prove(type("Args", (), {"carried": None})())


def test_the_cache_key_does_not_depend_on_where_the_clone_is(llama, monkeypatch, tmp_path):
    key = llama.build_key("portable")
    elsewhere = tmp_path / "clone" / "install"
    elsewhere.mkdir(parents=True)
    (elsewhere / "portable.cmake").write_text((ROOT / "install" / "portable.cmake").read_text())
    monkeypatch.setattr(llama, "HERE", elsewhere)
    cmake = str(elsewhere / "portable.cmake")
    monkeypatch.setitem(
        llama.BUILDS,
        "portable",
        [a.replace(str(ROOT / "install"), str(elsewhere)) for a in llama.BUILDS["portable"]],
    )
    assert any(cmake in a for a in llama.BUILDS["portable"])
    assert llama.build_key("portable") == key
    assert llama.build_key("native") != key


def test_a_carried_folder_installs_its_wheel_without_building(llama, monkeypatch, tmp_path):
    carried = tmp_path / "carry"
    (carried / "llama").mkdir(parents=True)
    wheel = carried / "llama" / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl"
    wheel.write_bytes(b"")
    installed = []
    monkeypatch.setattr(llama, "install_wheel", lambda w, build, key: installed.append((w, build)))
    monkeypatch.setattr(llama, "build_wheel", lambda *a: pytest.fail("a carried install never compiles"))
    llama.install(type("Args", (), {"wheel": None, "carried": str(carried), "portable": False})())
    assert installed == [(wheel.resolve(), "portable")]
