"""A planner's own file (``chainsight forecast --input``): every mistake in it is a ForecastInputError that names
what is wrong, found before Ray starts."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import common.ray_connection
from deployments.cli import app as cli
from training.errors import ForecastInputError
from training.file_forecast import prepare_file, read_history

HEADER = "unique_id,ds,y\n"


def _history(tmp_path: Path, text: str) -> pd.DataFrame:
    source = tmp_path / "history.csv"
    source.write_text(text)
    return read_history(source)


def test_a_file_with_only_its_header_is_refused_as_empty(tmp_path):
    with pytest.raises(ForecastInputError, match="history is empty"):
        prepare_file(_history(tmp_path, HEADER), "D", 7, [0.5])


def test_a_duplicate_row_is_refused_by_name_before_gaps_are_filled(tmp_path):
    text = HEADER + "a,2024-01-01,1\na,2024-01-01,2\na,2024-01-04,3\n"
    with pytest.raises(ForecastInputError, match=r"1 duplicate \(unique_id, ds\) row\(s\), e.g. unique_id='a'"):
        prepare_file(_history(tmp_path, text), "D", 7, [0.5], fill="zero")


def test_hours_across_the_end_of_daylight_saving_are_read_as_utc_instants(tmp_path):
    # Before, a change of offset was refused, and local times without one repeat 02:00 (refused as a duplicate).
    hours = ["00:00+02:00", "01:00+02:00", "02:00+02:00", "02:00+01:00", "03:00+01:00"]
    text = HEADER + "".join(f"a,2024-10-27T{hour},{i}\n" for i, hour in enumerate(hours))
    prepared = prepare_file(_history(tmp_path, text), "h", 3, [0.5])
    assert prepared.filled_gaps == 0
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-10-26 22:00", periods=5, freq="h", tz="UTC"))
    assert prepared.history["y"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_an_hour_repeated_without_its_offset_is_refused_with_the_offset_advised(tmp_path):
    text = HEADER + "a,2024-10-27T01:00,1\na,2024-10-27T02:00,2\na,2024-10-27T02:00,3\na,2024-10-27T03:00,4\n"
    with pytest.raises(ForecastInputError, match=r"ds=2024-10-27 02:00:00 \(a local time repeated .* UTC offset\)"):
        prepare_file(_history(tmp_path, text), "h", 3, [0.5])


def test_days_whose_utc_offset_changes_keep_the_dates_they_were_written_on(tmp_path):
    text = HEADER + "a,2024-03-30T00:00+01:00,1\na,2024-03-31T00:00+01:00,2\na,2024-04-01T00:00+02:00,3\n"
    prepared = prepare_file(_history(tmp_path, text), "D", 7, [0.5])
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-03-30", periods=3, freq="D"))


def _with_promo(tmp_path: Path, name: str, rows: str) -> pd.DataFrame:
    """The history (``unique_id, ds, y, promo``) or, named future.csv, the future (``unique_id, ds, promo``)."""
    history = name == "history.csv"
    source = tmp_path / name
    source.write_text(("unique_id,ds,y,promo\n" if history else "unique_id,ds,promo\n") + rows)
    return read_history(source, ["promo"], target=history)


def test_future_hours_across_the_end_of_daylight_saving_meet_the_forecast_steps(tmp_path):
    # Before, a future whose offset changed was read as objects and the merge with the steps failed in pandas.
    history = _with_promo(tmp_path, "history.csv", "a,2024-10-27T00:00+02:00,1,0\na,2024-10-27T01:00+02:00,2,0\n")
    future = _with_promo(tmp_path, "future.csv", "a,2024-10-27T02:00+02:00,1\na,2024-10-27T02:00+01:00,0\n")
    prepared = prepare_file(history, "h", 2, [0.5], future=future)
    assert prepared.future is not None
    assert prepared.future["ds"].tolist() == list(pd.date_range("2024-10-27 00:00", periods=2, freq="h", tz="UTC"))
    assert prepared.future["promo"].tolist() == [1.0, 0.0]


def test_future_days_meet_the_steps_at_the_dates_written_whatever_their_offset(tmp_path):
    # Before, a history whose offset changed was refused, and days with another offset than the history's missed.
    history = _with_promo(tmp_path, "history.csv", "a,2024-03-30T00:00+01:00,1,0\na,2024-03-31T00:00+02:00,2,0\n")
    future = _with_promo(tmp_path, "future.csv", "a,2024-04-01T00:00+02:00,1\na,2024-04-02T00:00+02:00,0\n")
    prepared = prepare_file(history, "D", 2, [0.5], future=future)
    assert prepared.future is not None
    assert prepared.future["ds"].tolist() == list(pd.date_range("2024-04-01", periods=2, freq="D"))
    assert prepared.future["promo"].tolist() == [1.0, 0.0]


def test_future_hours_without_the_historys_offsets_are_refused_naming_them(tmp_path):
    history = _with_promo(tmp_path, "history.csv", "a,2024-10-27T00:00+02:00,1,0\na,2024-10-27T01:00+02:00,2,0\n")
    future = _with_promo(tmp_path, "future.csv", "a,2024-10-27T02:00,1\na,2024-10-27T03:00,0\n")
    with pytest.raises(ForecastInputError, match="future's timestamps carry no UTC offset where the history's do"):
        prepare_file(history, "h", 2, [0.5], future=future)


@pytest.mark.parametrize(("freq", "advice"), [("h", "or all in UTC"), ("D", "or local dates without one")])
def test_local_times_without_an_offset_are_advised_for_dates_only(tmp_path, freq, advice):
    text = HEADER + "a,2024-01-01T00:00,1\na,2024-01-02T00:00+01:00,2\n"
    with pytest.raises(ForecastInputError, match=f"1 unreadable timestamp.*{advice}"):
        prepare_file(_history(tmp_path, text), freq, 7, [0.5])


def test_an_unreadable_timestamp_is_quoted(tmp_path):
    text = HEADER + "a,2024-01-01,1\na,next tuesday-ish,2\n"
    with pytest.raises(ForecastInputError, match=r"1 unreadable timestamp\(s\), e.g. 'next tuesday-ish'"):
        prepare_file(_history(tmp_path, text), "D", 7, [0.5])


def test_gaps_filled_with_zero_are_counted(tmp_path):
    prepared = prepare_file(_history(tmp_path, HEADER + "a,2024-01-01,1\na,2024-01-04,3\n"), "D", 7, [0.9, 0.1])
    assert prepared.filled_gaps == 2
    assert prepared.history["y"].tolist() == [1.0, 0.0, 0.0, 3.0]
    assert prepared.quantiles == [0.1, 0.9]


@pytest.mark.parametrize("fill", ["zero", "ffill", "none"])
def test_a_missing_y_is_refused_whatever_the_fill(tmp_path, fill):
    # Before, --fill zero read it as 0 and --fill ffill as the day before's figure, without a word.
    text = HEADER + "a,2024-01-01,5\na,2024-01-02,\na,2024-01-03,7\n"
    with pytest.raises(ForecastInputError, match="missing"):
        prepare_file(_history(tmp_path, text), "D", 3, [0.5], fill=fill)


def test_ids_are_kept_as_written_and_an_empty_one_is_refused(tmp_path):
    # Before, 001 and 1 were read as one number (two products summed), "NA" as "nan".
    text = HEADER + "001,2024-01-01,5\n001,2024-01-02,6\n1,2024-01-03,7\nNA,2024-01-01,1\n"
    assert sorted(prepare_file(_history(tmp_path, text), "D", 3, [0.5]).history["unique_id"].unique()) == [
        "001", "1", "NA",
    ]  # fmt: skip
    with pytest.raises(ForecastInputError, match="'unique_id' is empty in 1 row"):
        prepare_file(_history(tmp_path, HEADER + ",2024-01-01,5\n"), "D", 3, [0.5])


def test_years_read_as_years_and_a_horizon_past_2262_is_refused_before_any_work(tmp_path):
    # Before, a column of years was read as nanoseconds after 1970, and a horizon past 2262 failed inside Ray.
    yearly = _history(tmp_path, HEADER + "a,2020,5\na,2021,6\n")
    assert prepare_file(yearly, "YS", 3, [0.5]).history["ds"].dt.year.tolist() == [2020, 2021]
    with pytest.raises(ForecastInputError, match="past 2262"):
        prepare_file(yearly, "YS", 300, [0.5])


CELLS = st.one_of(
    st.floats().map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)
KNOWN_TIMESTAMPS = ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-01T05:00", "2024-01-01 00:00+05:00"]
ODD_TIMESTAMPS = ["2024-01-02T00:00Z", "1500-01-01", "9999-12-31", "1e20", "12/01/2024", "2024-13-01", ""]
TIMESTAMPS = st.one_of(st.sampled_from(KNOWN_TIMESTAMPS + ODD_TIMESTAMPS), st.text(max_size=12))
ROWS = st.lists(st.tuples(st.sampled_from(["a", "b", "", "NA"]), TIMESTAMPS, CELLS), max_size=10)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROWS, st.sampled_from(["D", "h", "W", "MS", "B", "2D"]), st.sampled_from(["zero", "ffill", "none"]))
def test_any_csv_is_prepared_or_refused_with_a_forecast_input_error(rows, freq, fill):
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "history.csv"
        with source.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["unique_id", "ds", "y"])
            writer.writerows(rows)
        try:
            prepared = prepare_file(read_history(source), freq, 3, [0.5], fill=fill)
        except ForecastInputError:
            return
    assert not prepared.history.empty
    assert not prepared.history.duplicated(["unique_id", "ds"]).any()


@pytest.fixture
def forecast_without_ray(tmp_path, monkeypatch):
    """Runs ``chainsight forecast --input`` on a history.csv of the header and ``rows``, failing the test if Ray is
    started; returns the CLI's result (its message on one line, whatever the path's length)."""

    def no_ray(**_: object) -> None:
        raise AssertionError("Ray was started for a command that is refused")

    monkeypatch.setattr(common.ray_connection, "ray_session", no_ray)

    def run(rows: str, *options: str, output: str = "o.csv") -> Result:
        source = tmp_path / "history.csv"
        source.write_text(HEADER + rows)
        arguments = ["forecast", "--input", str(source), "--horizon", "3", "--output", str(tmp_path / output)]
        return CliRunner().invoke(cli, [*arguments, *options], env={"COLUMNS": "400"})

    return run


def test_the_command_refuses_a_bad_file_in_one_line_without_starting_ray(forecast_without_ray):
    result = forecast_without_ray("a,2024-01-01,1\na,2024-01-01,2\n")
    assert result.exit_code == 2, result.output
    assert "1 duplicate (unique_id, ds) row(s)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("freq", ["0D", "0h", "-1D"])
def test_a_frequency_that_does_not_step_forward_is_refused_without_starting_ray(forecast_without_ray, freq):
    # Before, 0D and 0h ended in a ZeroDivisionError traceback and -1D blamed the dates for being off its grid.
    result = forecast_without_ray("a,2024-01-01,1\na,2024-01-02,2\n", "--freq", freq)
    assert result.exit_code == 2, result.output
    assert "positive multiple" in result.output
    assert "Traceback" not in result.output


def test_a_frequency_without_a_known_season_is_refused_without_starting_ray(forecast_without_ray):
    # Before, business hours passed every check and failed inside Ray's first task.
    result = forecast_without_ray("a,2024-01-01 09:00,1\na,2024-01-01 10:00,2\n", "--freq", "bh")
    assert result.exit_code == 2, result.output
    assert "frequency 'bh' has no known seasonal period" in result.output


@pytest.mark.parametrize(("output", "reason"), [("missing/o.csv", "does not exist"), ("o.xlsx", ".csv or .parquet")])
def test_the_command_refuses_an_output_it_cannot_write_before_starting_ray(forecast_without_ray, output, reason):
    # Before, every forecast was computed first; then a traceback for a missing directory, or an .xlsx name
    # silently written as CSV.
    result = forecast_without_ray("a,2024-01-01,1\na,2024-01-02,2\n", output=output)
    assert result.exit_code == 2 and reason in result.output, result.output


def test_weeks_dated_off_the_frequencys_anchor_are_refused_not_read_as_zero_demand(tmp_path):
    # "W" is weeks ending Sunday; before, Monday-dated rows were dropped and their weeks filled with zeros.
    mondays = _history(tmp_path, HEADER + "a,2024-01-01,5\na,2024-01-08,6\na,2024-01-15,7\n")
    with pytest.raises(ForecastInputError, match=r"3 timestamp\(s\) off the 'W' grid, e.g. 2024-01-01.*W-MON"):
        prepare_file(mondays, "W", 4, [0.5])
    prepared = prepare_file(mondays, "W-MON", 4, [0.5])
    assert prepared.history["y"].tolist() == [5.0, 6.0, 7.0]


def test_months_dated_mid_month_are_refused_for_month_starts(tmp_path):
    mid_month = _history(tmp_path, HEADER + "a,2024-01-15,5\na,2024-02-15,6\na,2024-03-15,7\n")
    with pytest.raises(ForecastInputError, match=r"off the 'MS' grid"):
        prepare_file(mid_month, "MS", 4, [0.5])


EUROPEAN_FEBRUARY = "".join(f"a,{day:02d}/02/2024,{10 + day}\n" for day in range(1, 13))  # 1-12 February


def test_dates_that_read_day_first_and_month_first_alike_are_refused_naming_one(tmp_path):
    # Before, pandas read 01/02/2024 ... 12/02/2024 as 2 January ... 2 December and filled 324 days with zeros.
    with pytest.raises(ForecastInputError, match=r"'01/02/2024' that read as %d/%m/%Y and as %m/%d/%Y .*--date-format"):
        prepare_file(_history(tmp_path, HEADER + EUROPEAN_FEBRUARY), "D", 3, [0.5])


def test_a_date_format_given_reads_the_dates_as_it_says(tmp_path):
    prepared = prepare_file(_history(tmp_path, HEADER + EUROPEAN_FEBRUARY), "D", 3, [0.5], date_format="%d/%m/%Y")
    assert prepared.history["ds"].tolist() == list(pd.date_range("2024-02-01", periods=12, freq="D"))
    assert prepared.filled_gaps == 0


@pytest.mark.parametrize(
    ("written", "start"),
    [
        ("{day:02d}/02/2024", "2024-02-01"),
        ("02/{day:02d}/2024", "2024-02-01"),
        ("{day}.2.24 09:00", "2024-02-01 09:00"),
    ],
)
def test_a_day_above_12_tells_whether_the_day_or_the_month_comes_first(tmp_path, written, start):
    rows = "".join(f"a,{written.format(day=day)},{day}\n" for day in range(1, 15))
    prepared = prepare_file(_history(tmp_path, HEADER + rows), "D", 3, [0.5])
    assert prepared.history["ds"].tolist() == list(pd.date_range(start, periods=14, freq="D"))


@pytest.mark.parametrize("date_format", ["dd/mm/yyyy", "%Y-%m-%m"])
def test_a_date_format_that_reads_no_date_back_is_refused(tmp_path, date_format):
    with pytest.raises(ForecastInputError, match=f"--date-format '{date_format}'"):
        prepare_file(_history(tmp_path, HEADER + "a,2024-01-01,1\n"), "D", 3, [0.5], date_format=date_format)


def test_the_command_refuses_ambiguous_dates_in_one_line_naming_the_option(forecast_without_ray):
    result = forecast_without_ray(EUROPEAN_FEBRUARY, "--profile", "fast")
    assert result.exit_code == 2, result.output
    assert "'01/02/2024'" in result.output and "give --date-format" in result.output


@pytest.mark.parametrize(
    ("quantiles", "message"),
    [
        ("abc", "must be comma-separated numbers between 0 and 1, got 'abc'"),
        ("0.1,,0.9", "must be comma-separated numbers between 0 and 1, got '0.1,,0.9'"),
        ("0.1,1.5", "quantiles must lie strictly between 0 and 1, got [1.5]"),
    ],
)
def test_the_command_refuses_bad_quantiles_as_the_batch_does_naming_the_option(
    forecast_without_ray, quantiles, message
):
    # Before, abc was refused as "could not convert string to float: 'abc'", naming no option, and 0.1,,0.9 was
    # read as 0.1,0.9.
    result = forecast_without_ray("a,2024-01-01,1\na,2024-01-02,2\n", "--quantiles", quantiles)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--quantiles': {message}" in result.output
    assert "Traceback" not in result.output


def test_only_rows_without_any_value_are_dropped_and_the_rest_keep_their_place(tmp_path):
    # The check for blank rows looks only at rows whose id is blank (1M rows read in 0.2 s, not 1.9 s).
    path = tmp_path / "history.csv"
    path.write_text("unique_id,ds,y\na,2024-01-01,5\n\n,,\n  ,  , \nb,2024-01-01,6\n , 2024-01-02,7\n,,8\n")
    frame = read_history(path)
    assert frame.index.tolist() == [0, 4, 5, 6]  # blank rows still counted in each row's place
    assert frame["y"].tolist() == ["5", "6", "7", "8"]
    with pytest.raises(ForecastInputError, match=r"column 'unique_id' is empty in 2 row\(s\)"):
        prepare_file(frame, "D", 3, [0.5])
