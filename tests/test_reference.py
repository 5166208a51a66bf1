import pytest

from helpers.data.reference import fee_schedule, published

CMS_LAYOUT = """\
"2025 National Physician Fee Schedule Relative Value File October Release"
"CPT codes and descriptions only are copyright 2024 American Medical Association."
,,,,,,
HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,NON-FAC PE RVU
99214,,Office o/p est mod 30 min,A,,1.92,1.95
99214,26,Office o/p est mod 30 min,A,,9.99,0
90833,,Psytx w pt w e/m 30 min,A,,1.64,0.61
"""
CMS_TOTALS = """\
HCPCS,MOD,STATUS CODE,WORK RVU,NON-FACILITY TOTAL,FACILITY TOTAL
90834,,A,2.45,3.22,2.81
90834,26,A,9.99,9.99,9.99
"""


def test_shipped_schedule():
    fee = fee_schedule().set_index("code")
    assert len(fee) == 30
    assert fee.loc["99214", "work_rvu"] == 1.92 and fee.loc["96127", "work_rvu"] == 0
    assert fee.loc["99417", "status"] == "I"
    # total RVUs (CMS PFS CY2025, PPRRVU2025_Oct) for revenue: 90834 and 90837
    assert fee.loc["90834", ["nonfacility_total_rvu", "facility_total_rvu"]].tolist() == [
        3.22,
        2.81,
    ]
    assert fee.loc["90837", ["nonfacility_total_rvu", "facility_total_rvu"]].tolist() == [
        4.77,
        4.16,
    ]
    assert (fee["nonfacility_total_rvu"] >= fee["work_rvu"]).all()


def test_cms_relative_value_file_layout(tmp_path):
    path = tmp_path / "PPRRVU25_OCT.csv"
    path.write_text(CMS_LAYOUT)
    fee = fee_schedule(path).set_index("code")
    assert fee.loc["99214", "work_rvu"] == 1.92  # the modifier row is dropped
    assert fee.loc["90833", "status"] == "A" and len(fee) == 2
    assert fee["nonfacility_total_rvu"].isna().all()  # this file has no totals
    (tmp_path / "totals.csv").write_text(CMS_TOTALS)
    totals = fee_schedule(tmp_path / "totals.csv").set_index("code")
    assert totals.loc[
        "90834", ["work_rvu", "nonfacility_total_rvu", "facility_total_rvu"]
    ].tolist() == [
        2.45,
        3.22,
        2.81,
    ]


def test_bad_file(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="header row"):
        fee_schedule(tmp_path / "x.csv")


def test_every_published_block_is_cited():
    for key, block in published().items():
        assert "citation" in block or "citation_note" in block, key


def test_every_citation_key_of_the_reference_data_is_in_the_bibliography():
    import re

    import yaml

    from helpers import paths

    bib = (paths.REPORTS / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))

    def cited(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("cite", "sources", "salary_sources"):
                    yield from [v] if isinstance(v, str) else v
                else:
                    yield from cited(v)
        elif isinstance(node, list):
            for v in node:
                yield from cited(v)

    used = set()
    for path in (paths.REFERENCE).glob("*.yaml"):
        used |= set(cited(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert used and used <= keys, sorted(used - keys)
