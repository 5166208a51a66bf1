"""Write environment.yml (conda) from requirements.lock, so both install the same versions.

Run: python tools/environment_yml.py > environment.yml
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
pins = [
    line.strip()
    for line in (ROOT / "requirements.lock").read_text().splitlines()
    if re.match(r"^[A-Za-z0-9_.\-\[\]]+==", line.strip())
]
print("# conda env create -f environment.yml && conda activate clinician-workforce")
print("# Generated from requirements.lock by tools/environment_yml.py; do not edit by hand.")
print("name: clinician-workforce")
print("channels:\n  - conda-forge")
print("dependencies:\n  - python=3.11\n  - pip\n  - quarto>=1.10\n  - pip:")
for pin in pins:
    print(f"      - {pin}")
print("      - -e .")
