"""The data contract's names for the analyses (roles, pay models, activities) and the tables.

Declared once in :mod:`helpers.data.contract`; this module re-exports it for the analysis
modules and notebooks that import ``helpers.contract``.
"""

from __future__ import annotations

from helpers.data.contract import (
    ACTIVITIES,
    CLINICIAN_ROLES,
    COMP_MODELS,
    EXIT_REASONS,
    OPTIONAL_TABLES,
    PRODUCTION_LINE,
    REQUIRED_TABLES,
    ROLES,
    SOLUTION_SHOP,
    SPECS,
    TABLES,
    Column,
    Table,
)

__all__ = [
    "ACTIVITIES",
    "CLINICIAN_ROLES",
    "COMP_MODELS",
    "EXIT_REASONS",
    "OPTIONAL_TABLES",
    "PRODUCTION_LINE",
    "REQUIRED_TABLES",
    "ROLES",
    "SOLUTION_SHOP",
    "SPECS",
    "TABLES",
    "Column",
    "Table",
]
