import nbformat
import pytest

from helpers.pipeline import params

KERNEL = {"name": "helpers", "display_name": "Python (helpers)", "language": "python"}


def make_notebook(path, source):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}}
    )
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def nb(tmp_path):
    return make_notebook(
        tmp_path / "05_time.ipynb",
        'data_dir = ""\nout_dir = ""\n'
        "min_cell_size = 11\nseed = 1\nfraction = 0.5\nroles = ['a']\n",
    )


def test_declared_defaults_are_literals(nb):
    assert params.declared(nb) == {
        "data_dir": "",
        "out_dir": "",
        "min_cell_size": 11,
        "seed": 1,
        "fraction": 0.5,
        "roles": ["a"],
    }


def test_globals_only_reach_notebooks_that_declare_them(nb):
    got = params.for_notebook(nb, {"seed": 7, "other": 3}, {"05_time": {"fraction": 1}})
    assert got == {"seed": 7, "fraction": 1.0}


@pytest.mark.parametrize(
    ("overrides", "own", "message"),
    [
        ({"seed": "x"}, {}, "must be int"),
        ({}, {"fraction": "half"}, "must be float"),
        ({}, {"nope": 1}, "unknown parameter"),
        ({"min_cell_size": 0}, {}, "min_cell_size"),
        ({"min_cell_size": 10}, {}, "min_cell_size must be a whole number >= 11"),
        ({}, {"roles": "a"}, "must be list"),
        ({"seed": True}, {}, "must be int"),
    ],
)
def test_bad_parameters_are_refused(nb, overrides, own, message):
    with pytest.raises(params.ParameterError, match=message):
        params.for_notebook(nb, overrides, {"05_time": own})


def test_params_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("all:\n  seed: 3\nnotebooks:\n  05_time:\n    fraction: 0.2\n")
    assert params.read_file(f) == {"all": {"seed": 3}, "notebooks": {"05_time": {"fraction": 0.2}}}
    f.write_text("all: [unclosed\n")
    with pytest.raises(params.ParameterError, match="not valid YAML"):
        params.read_file(f)
    f.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(params.ParameterError):
        params.read_file(f)
    with pytest.raises(params.ParameterError, match="not found"):
        params.read_file(tmp_path / "missing.yaml")
    f.write_text("everything: {}\n")
    with pytest.raises(params.ParameterError, match="top-level"):
        params.read_file(f)


def test_non_literal_default_is_refused(tmp_path):
    bad = make_notebook(tmp_path / "01_x.ipynb", "x = len('abc')\n")
    with pytest.raises(params.ParameterError, match="literal default"):
        params.declared(bad)
    code = make_notebook(tmp_path / "02_x.ipynb", "import os\n")
    with pytest.raises(params.ParameterError, match="may only assign"):
        params.declared(code)
