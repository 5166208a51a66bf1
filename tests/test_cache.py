"""Each input of a notebook's cache key changes the key; nothing else does."""

from pathlib import Path

import nbformat

from helpers.pipeline import cache
from tests.test_params import make_notebook


def key(nb, params=None, data="d", code="c", env="e"):
    return cache.notebook_key(nb, params or {"seed": 1}, data, code, env)


def test_key_changes_with_each_input(tmp_path):
    nb = make_notebook(tmp_path / "01_a.ipynb", "seed = 1\n")
    base = key(nb)
    assert key(nb) == base
    assert key(nb, params={"seed": 2}) != base
    assert key(nb, data="d2") != base
    assert key(nb, code="c2") != base
    assert key(nb, env="e2") != base
    doc = nbformat.read(nb, as_version=4)
    doc.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nbformat.write(doc, nb)
    assert key(nb) != base


def test_outputs_do_not_change_the_key(tmp_path):
    nb = make_notebook(tmp_path / "01_a.ipynb", "seed = 1\n")
    base = key(nb)
    doc = nbformat.read(nb, as_version=4)
    doc.cells[0].outputs = [nbformat.v4.new_output("stream", text="hello")]
    doc.cells[0].execution_count = 4
    nbformat.write(doc, nb)
    assert key(nb) == base


def test_tree_hash_sees_code_not_bytecode(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\n")
    base = cache.tree_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"junk")
    assert cache.tree_hash(tmp_path) == base
    (tmp_path / "m.py").write_text("x = 2\n")
    assert cache.tree_hash(tmp_path) != base


def test_data_hash_ignores_order():
    a = [{"table": "sites", "sha256": "1"}, {"table": "access", "sha256": "2"}]
    assert cache.data_hash(a) == cache.data_hash(list(reversed(a)))
    assert cache.data_hash(a) != cache.data_hash([{"table": "sites", "sha256": "3"}, a[1]])


def test_tree_hash_leaves_out_the_files_and_folders_named_in_skip(tmp_path):
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "demo.py").write_text("d = 1\n")
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "r.yaml").write_text("r: 1\n")
    skip = ("demo.py", "reference")
    before = cache.tree_hash(tmp_path, skip=skip)
    (tmp_path / "demo.py").write_text("d = 2\n")
    (tmp_path / "reference" / "r.yaml").write_text("r: 2\n")
    assert cache.tree_hash(tmp_path, skip=skip) == before
    assert cache.tree_hash(tmp_path) != cache.tree_hash(tmp_path, skip=skip)
    (tmp_path / "a.py").write_text("a = 2\n")
    assert cache.tree_hash(tmp_path, skip=skip) != before


def test_a_store_key_covers_the_data_layer_but_not_the_demonstration_or_references():
    from helpers.data import store

    here = Path(store.__file__).parent
    # every name skipped is there (the list is not stale), and every demonstration module is
    assert {p.name for p in here.iterdir()} >= set(store.NOT_THE_LAYER)
    assert {p.name for p in here.glob("demo*.py")} <= set(store.NOT_THE_LAYER)
    assert store.layer_hash() == cache.tree_hash(here, skip=store.NOT_THE_LAYER)
    assert store.layer_hash() != cache.tree_hash(here)
