"""The CSV reader: pyarrow's columns of text give the importer exactly the cells pandas' C parser gave."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from parkcredit.profile import importer
from parkcredit.profile.importer import ProfileImportError, Upload, import_table
from parkcredit.profile.uscc import check_char, org_check_char

HEADER = "统一社会信用代码,企业名称,营业收入（万元）,纳税信用等级,是否高新技术企业,数据日期,备注"
ROW = "91510311MA6K223W37,四川盛邦航空装备有限公司,12.5,A,是,2026-06-30,x"
CELLS = ["", " ", "-", "－", "N/A", "ＮＡ", " null ", "\u3000", '"1,000"', "85%", "1e3", "是", "否", "A级", "B",
         '"quoted, with comma"', '"multi\nline"', '"a ""q"" b"', 'x"y', "9007199254740993", "2024年1月31日",
         "20240131", " 12 ", "１２", "四川鑫通贸易有限公司"]  # fmt: skip


def uscc(n: int) -> str:
    org8 = f"MA6{n:05d}"
    body = "91510311" + org8 + org_check_char(org8)
    return body + check_char(body)


def _pandas_grid(data: bytes) -> np.ndarray:
    """The cells as the reader before pyarrow gave them (pandas' C parser, trailing empty rows dropped)."""
    import io

    text = data.decode("utf-8-sig")
    frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False, na_filter=False,
                        skip_blank_lines=False, engine="c")  # fmt: skip
    return importer._grid(frame)


def _cells(grid: object) -> list[list[object]]:
    assert isinstance(grid, importer._Columns)
    return [list(grid[i]) for i in range(len(grid))]


def _files() -> list[bytes]:
    rng = random.Random(18)
    files = [f"{HEADER}\n{ROW}\n".encode(), f"\ufeff{HEADER}\r\n{ROW}\r\n".encode(), f"{HEADER}\r{ROW}\r".encode(),
             f"{HEADER}\n{ROW}\n,,,,,,\n,,,,,,\n".encode(), f"{HEADER}\n{ROW}\n\n{ROW}\n".encode(),
             f"{HEADER}\n{ROW}\n\n\n".encode()]  # fmt: skip
    for _ in range(20):
        rows = [",".join([uscc(rng.randrange(99_999)) if rng.random() < 0.8 else rng.choice(CELLS),
                          *(rng.choice(CELLS) for _ in range(6))]) for _ in range(30)]  # fmt: skip
        files.append(("\n".join([HEADER, *rows]) + "\n").encode())
    return files


@pytest.mark.parametrize("data", _files())
def test_pyarrow_reads_the_cells_pandas_read(data: bytes) -> None:
    grid = importer._csv_rows(data)
    assert _cells(grid) == _pandas_grid(data).tolist()


@pytest.mark.parametrize(
    "data",
    [
        f"{HEADER}\n{ROW}\n{ROW[:40]}\n".encode(),  # a short row
        f"{HEADER}\n{ROW},extra\n".encode(),  # a long row
    ],
)
def test_what_pyarrow_reads_otherwise_is_read_by_pandas(data: bytes) -> None:
    assert importer._arrow_columns(data) is None
    assert isinstance(importer._csv_rows(data), np.ndarray)


def test_the_same_result_through_either_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    fast = [import_table(Upload(d, "f.csv"), partial=True, as_of=dt.date(2026, 6, 30)) for d in files]
    monkeypatch.setattr(importer, "_arrow_columns", lambda raw: None)  # the pandas reader for every file
    slow = [import_table(Upload(d, "f.csv"), partial=True, as_of=dt.date(2026, 6, 30)) for d in files]
    for a, b in zip(fast, slow, strict=True):
        assert (a.records, a.row_numbers, a.fields, a.rows_read) == (b.records, b.row_numbers, b.fields, b.rows_read)
        assert [str(e) for e in a.errors] == [str(e) for e in b.errors]
        assert [str(e) for e in a.warnings] == [str(e) for e in b.warnings]
    assert sum(len(r.records) for r in fast) > 30 and sum(len(r.errors) for r in fast) > 10


def test_a_huge_cell_is_named_by_row_and_column() -> None:
    data = f"{HEADER}\n{ROW}\n91510311MA6K223W37,{'x' * 140_000},1,A,是,2026-06-30,x\n".encode()
    with pytest.raises(ProfileImportError, match="row 3, column B: a cell of 140,000 characters"):
        importer._csv_rows(data)
