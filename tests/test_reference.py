import pytest

from helpers.reference import fee_schedule, published

CMS_LAYOUT = """\
"2025 National Physician Fee Schedule Relative Value File October Release"
"CPT codes and descriptions only are copyright 2024 American Medical Association."
,,,,,,
HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,NON-FAC PE RVU
99214,,Office o/p est mod 30 min,A,,1.92,1.95
99214,26,Office o/p est mod 30 min,A,,9.99,0
90833,,Psytx w pt w e/m 30 min,A,,1.64,0.61
"""


def test_shipped_schedule():
    fee = fee_schedule().set_index("code")
    assert len(fee) == 30
    assert fee.loc["99214", "work_rvu"] == 1.92 and fee.loc["96127", "work_rvu"] == 0
    assert fee.loc["99417", "status"] == "I"


def test_cms_relative_value_file_layout(tmp_path):
    path = tmp_path / "PPRRVU25_OCT.csv"
    path.write_text(CMS_LAYOUT)
    fee = fee_schedule(path).set_index("code")
    assert fee.loc["99214", "work_rvu"] == 1.92  # the modifier row is dropped
    assert fee.loc["90833", "status"] == "A" and len(fee) == 2


def test_bad_file(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="header row"):
        fee_schedule(tmp_path / "x.csv")


def test_every_published_block_is_cited():
    for key, block in published().items():
        assert "citation" in block or "citation_note" in block, key
