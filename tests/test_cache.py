"""Each input of a notebook's cache key changes the key; nothing else does."""

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
