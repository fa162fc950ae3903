"""Read and write tables by file extension: .csv, .parquet, .jsonl, .xlsx."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["SUPPORTED", "read_table", "write_table"]

SUPPORTED = (".csv", ".parquet", ".jsonl", ".xlsx")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUPPORTED)}")
    return suffix


def read_table(path: str | Path, *, dtype: type[str] | None = None) -> pd.DataFrame:
    """Read a table; CSV and XLSX cells come back as strings (dtype=str) unless told otherwise."""
    path = Path(path)
    suffix = _suffix(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".jsonl":
        # pandas reads dtype=str for JSON too; pandas-stubs allow only a bool or a mapping there
        return pd.read_json(path, lines=True, dtype=dtype)  # type: ignore[arg-type]
    if suffix == ".xlsx":
        return pd.read_excel(path, dtype=dtype)
    return pd.read_csv(path, dtype=dtype, encoding="utf-8-sig")


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a table; the parent directory must exist."""
    path = Path(path)
    suffix = _suffix(path)
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False, date_format="iso")
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_csv(path, index=False, encoding="utf-8")
