"""How ``chainsight forecast`` reads a file's ``ds`` (``training.file_dates``): whole numbers only as ISO years and
yyyymmdd days, or as ``--date-format`` says; dates written in more than one way refused, naming two of them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import common.ray_connection
from deployments.cli import app as cli
from training.errors import ForecastInputError
from training.file_forecast import prepare_file, read_history

HEADER = "unique_id,ds,y\n"
NOT_DATES = "write dates as 2024-01-31, years as 2024 or days as 20240131, or give --date-format"


def _history(tmp_path: Path, text: str) -> pd.DataFrame:
    source = tmp_path / "history.csv"
    source.write_text(HEADER + text)
    return read_history(source)


@pytest.mark.parametrize(
    ("rows", "example"),
    [
        ("a,1,5\na,2,6\na,3,7\n", "1 (data row 1)"),
        ("a,1.0,5\n", "1 (data row 1)"),  # before: 1970-01-01 00:00:00.000000001, forecast without a word
        ("a,1.0,5\nb,2.0,6\n", "1 (data row 1)"),
        ("a,2024-01-01,5\na,1700000000,6\n", "1700000000 (data row 2)"),  # seconds since 1970: not said which
        ("a,240101,5\na,240102,6\n", "240101 (data row 1)"),  # before: pandas read 24 January 2001
        ("a,1.5,5\n", "1.5 (data row 1)"),
    ],
)
def test_numbers_that_are_not_years_or_yyyymmdd_days_are_refused_naming_the_column(tmp_path, rows, example):
    with pytest.raises(ForecastInputError) as refused:
        prepare_file(_history(tmp_path, rows), "D", 3, [0.5])
    assert str(refused.value).startswith(f"column 'ds' has numbers that are not dates, e.g. {example}: {NOT_DATES}")


def test_numbers_held_as_objects_are_refused_not_read_as_nanoseconds():
    # A Parquet or pandas column of Python ints: before, 1970-01-01 00:00:00.000000001 and .000000002.
    frame = pd.DataFrame({"unique_id": ["a", "b"], "ds": pd.Series([1, 2], dtype=object), "y": [1.0, 2.0]})
    with pytest.raises(ForecastInputError, match=r"column 'ds' has numbers that are not dates, e.g. 1 \(data row 1\)"):
        prepare_file(frame, "D", 3, [0.5])


@pytest.mark.parametrize(
    "ds", [pd.Series([20240101, 20240102]), pd.Series([20240101.0, 20240102.0]), pd.Series(["20240101", "20240102"])]
)
def test_yyyymmdd_days_are_read_as_iso_8601_writes_them_whatever_their_type(ds):
    frame = pd.DataFrame({"unique_id": "a", "ds": ds, "y": [1.0, 2.0]})
    prepared = prepare_file(frame, "D", 3, [0.5])
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-01-01", periods=2, freq="D"))


def test_a_yyyymmdd_that_is_no_day_is_refused_as_unreadable(tmp_path):
    with pytest.raises(ForecastInputError, match=r"column 'ds' has 1 unreadable timestamp\(s\), e.g. '20241301'"):
        prepare_file(_history(tmp_path, "a,20240101,5\na,20241301,6\n"), "D", 3, [0.5])


def test_numbers_are_read_by_the_date_format_given():
    # Whole numbers written as 20240101.0 (a float column) are read as their digits, not refused by the format.
    frame = pd.DataFrame({"unique_id": "a", "ds": [20240131.0, 20240201.0], "y": [1.0, 2.0]})
    prepared = prepare_file(frame, "D", 3, [0.5], date_format="%Y%m%d")
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-01-31", periods=2, freq="D"))


@pytest.mark.parametrize(
    ("rows", "first", "second"),
    [
        ("a,13/02/2024,5\na,14/02/2024,6\na,15-02-2024,7\n", "'13/02/2024' (data row 1)", "'15-02-2024' (data row 3)"),
        ("a,13/02/2024,5\na,14/02/24,6\n", "'13/02/2024' (data row 1)", "'14/02/24' (data row 2)"),
        ("a,01/02/2024,5\na,01.03.2024,6\n", "'01/02/2024' (data row 1)", "'01.03.2024' (data row 2)"),
    ],
)
def test_dates_written_in_more_than_one_way_are_refused_naming_two_and_their_rows(tmp_path, rows, first, second):
    # Before, the message said no day above 12 told the month, of files whose days (13, 14, 15) did.
    with pytest.raises(ForecastInputError) as refused:
        prepare_file(_history(tmp_path, rows), "D", 3, [0.5])
    message = str(refused.value)
    assert message.startswith(f"column 'ds' mixes date formats: {first} and {second}"), message
    assert "day above 12" not in message


def test_the_futures_dates_in_more_than_one_way_are_refused_naming_the_future(tmp_path):
    history = _history(tmp_path, "a,13/02/2024,5\na,14/02/2024,6\n")
    future = pd.DataFrame({"unique_id": "a", "ds": ["15/02/2024", "16-02-2024"]})
    with pytest.raises(ForecastInputError, match=r"^the future's column 'ds' mixes date formats: '15/02/2024'"):
        prepare_file(history, "D", 2, [0.5], future=future)


def test_the_command_refuses_numbers_that_are_not_dates_without_starting_ray(tmp_path, monkeypatch):
    def no_ray(**_: object) -> None:
        raise AssertionError("Ray was started for a command that is refused")

    monkeypatch.setattr(common.ray_connection, "ray_session", no_ray)
    source = tmp_path / "history.csv"
    source.write_text(HEADER + "a,1,5\na,2,6\na,3,7\n")
    options = ["--input", str(source), "--horizon", "3", "--output", str(tmp_path / "o.csv")]
    result = CliRunner().invoke(cli, ["forecast", *options], env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert "column 'ds' has numbers that are not dates, e.g. 1 (data row 1)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("ds", "date_format", "days"),
    [
        ("01022024\n01032024", "%m%d%Y", ["2024-01-02", "2024-01-03"]),  # before: 2 and 3 October, as 1022024
        ("01012024\n02012024\n03012024", "%d%m%Y", ["2024-01-01", "2024-01-02", "2024-01-03"]),  # before: 10, 20, 30
        ("1022024\n1032024", "%m%d%Y", ["2024-01-02", "2024-01-03"]),  # a spreadsheet wrote them without the 0
        ("010224\n010324", "%m%d%y", ["2024-01-02", "2024-01-03"]),
    ],
)
def test_a_date_format_of_digits_reads_dates_that_lost_their_leading_zero(tmp_path, ds, date_format, days):
    # Before, pandas read the column as the numbers 1022024 and 1032024, which %m%d%Y read as 2 and 3 October.
    rows = "".join(f"a,{value},{y}\n" for y, value in enumerate(ds.split("\n")))
    prepared = prepare_file(_history(tmp_path, rows), "D", 3, [0.5], date_format=date_format)
    assert [str(day.date()) for day in prepared.history["ds"]] == days


@pytest.mark.parametrize("ds", [[1022024.0, 1032024.0], [1022024, 1032024], ["1022024", "1032024"]])
def test_numbers_of_a_date_format_of_digits_are_read_with_the_zeros_they_lost(ds):
    # Before, 1022024.0 (a float column) was read as 2 October 2024, where the file said 01022024: 2 January.
    frame = pd.DataFrame({"unique_id": "a", "ds": ds, "y": [1.0, 2.0]})
    prepared = prepare_file(frame, "D", 3, [0.5], date_format="%m%d%Y")
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-01-02", periods=2, freq="D"))


def test_a_date_format_of_digits_refuses_a_number_too_short_even_with_its_zeros():
    frame = pd.DataFrame({"unique_id": "a", "ds": [2024011, 20240102], "y": [1.0, 2.0]})
    with pytest.raises(ForecastInputError, match=r"1 unreadable timestamp\(s\), e.g. '2024011' \(--date-format %Y%m%d"):
        prepare_file(frame, "D", 3, [0.5], date_format="%Y%m%d")


def test_rows_are_numbered_as_the_file_has_them_blank_ones_included(tmp_path):
    # Before, blank lines were skipped before rows were counted: a number on the file's fifth line was "data row 2".
    with pytest.raises(ForecastInputError, match=r"e.g. 1700000000 \(data row 5\)"):
        prepare_file(_history(tmp_path, "a,2024-01-01,5\n\n,,\n\na,1700000000,6\n"), "D", 3, [0.5])
    with pytest.raises(ForecastInputError, match=r"'13/02/2024' \(data row 1\) and '15-02-2024' \(data row 4\)"):
        prepare_file(_history(tmp_path, "a,13/02/2024,5\n\na,14/02/2024,6\na,15-02-2024,7\n"), "D", 3, [0.5])
    prepared = prepare_file(_history(tmp_path, "a,2024-01-01,5\n\n,,\na,2024-01-02,6\n\n"), "D", 3, [0.5])
    assert prepared.history["y"].tolist() == [5.0, 6.0]  # a blank row, or one of empty cells, is no data row
