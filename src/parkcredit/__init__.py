"""parkcredit: industrial-park enterprise credit scoring and loan eligibility (园区企业征信评分)."""

__version__ = "0.1.0"
