import pytest

from rag.errors import RagError
from rag.settings import load_settings


def test_layers_in_order(tmp_path):
    (tmp_path / "rag.toml").write_text('index = "from-file"\ntop_k = 9\nthreads = 3\n')
    env = {"RAG_TOP_K": "4", "RAG_THREADS": ""}
    settings = load_settings({"threads": 1}, cwd=tmp_path, env=env)
    assert (settings.index, settings.top_k, settings.threads) == ("from-file", 4, 1)
    assert settings.origins["index"] == str(tmp_path / "rag.toml")
    assert settings.origins["top_k"] == "RAG_TOP_K"
    assert settings.origins["threads"] == "flag"
    assert settings.origins["model"] == "default"


def test_user_config_folder_is_used_when_no_local_file(tmp_path):
    (tmp_path / "cfg" / "rag").mkdir(parents=True)
    (tmp_path / "cfg" / "rag" / "rag.toml").write_text('index_dir = "/data/idx"\n')
    settings = load_settings(cwd=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert settings.index_dir == "/data/idx"


def test_bad_values_name_the_source(tmp_path):
    with pytest.raises(RagError, match="RAG_TOP_K: 'top_k' must be a int, not 'many'"):
        load_settings(cwd=tmp_path, env={"RAG_TOP_K": "many"})
    (tmp_path / "rag.toml").write_text("colour = 1\n")
    with pytest.raises(RagError, match="unknown setting 'colour'"):
        load_settings(cwd=tmp_path, env={})
