"""``python -m helpers.pipeline.execute`` is ``python -m papermill``, 1.4 s faster per notebook.

The runner starts one of these per notebook. Papermill imports nbformat, which imports
jsonschema, which imports ``rfc3987_syntax`` when it is installed (JupyterLab's server needs
it) and compiles a grammar for it at import. It only serves the "iri" string formats, which
no notebook schema uses; marking it absent makes jsonschema skip those two formats.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from papermill.cli import papermill  # noqa: E402

if __name__ == "__main__":
    papermill()
