from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from copilot import grounding
from copilot.grounding import Checker, SentenceFilter, extract, normalise_number

CONTEXT = [
    "SKU-7 (Hex bolt M8) at WH-1: on hand 1000, reserved 12.50, available 987.5 each",
    "PO-000123 from SUP-ACME (Acme Fasteners): 40 of SKU-7 expected 2026-12-01, 2 days late",
]
NAMES = ["Acme Fasteners", "Thyssen Materials", "Hex bolt M8"]


def test_numbers_compare_without_thousands_separators_or_trailing_zeros():
    assert normalise_number("1,000") == normalise_number("1000") == "1000"
    assert normalise_number("12.50") == normalise_number("12.5") == "12.5"


def test_a_forecast_quoted_in_its_products_unit_is_grounded_by_the_line_stating_it():
    checker = Checker(["SKU-0 (Product 0) at WH-0, next 7 days from 2026-12-07: 3.5 t forecast (interval 2.8 to 4.2)"])
    assert checker.check("SKU-0 is forecast at 3.5 t (2.8 to 4.2 t) over the next 7 days.").grounded
    assert checker.check("Expect 3.5t of SKU-0.").grounded
    assert checker.check("Expect 4.5 t of SKU-0.").unsupported == ["4.5"]


def test_dates_written_in_words_equal_their_iso_day():
    assert extract("due 1 December 2026").dates == extract("due 2026-12-01").dates == {"2026-12-01"}
    assert extract("due Dec 1st, 2026").dates == {"2026-12-01"}


def test_a_date_without_its_year_needs_a_date_of_the_context_on_that_day():
    # Before, "7 March" was only its figure 7, checked against the context's numbers: a date the data does not hold
    # passed wherever some other figure was 7, and a right one was dropped where none was.
    checker = Checker(["PO-000123 expected 2026-12-01, 40 of SKU-7 outstanding"], NAMES)
    assert checker.check("PO-000123 is expected on 1 December.").grounded
    assert checker.check("PO-000123 is expected on Dec 1st.").grounded
    assert checker.check("PO-000123 is expected on 7 December.").unsupported == ["--12-07"]
    assert extract("stock 5 may run out").numbers == {"5"}  # a lower-case "may" is no month


def test_a_month_matched_case_insensitively_beyond_ascii_is_still_read():
    # U+017F (long s) matches "s" under the pattern's Unicode case-insensitivity but does not lower to it; reading
    # the month by str.lower raised ValueError, a 500 for any answer or document that wrote one.
    assert extract("delivered 12 \u017fep 2026").dates == {"2026-09-12"}


@settings(max_examples=300, deadline=None)
@given(context=st.lists(st.text(), max_size=3), deltas=st.lists(st.text(), max_size=6))
def test_any_model_text_and_any_context_are_checked_without_an_error(context, deltas):
    # The context holds uploaded documents and the deltas are the model's: neither is under our control.
    summary = SentenceFilter(Checker(context, NAMES), citations=2)
    passed = [sentence for delta in deltas for sentence in summary.feed(delta)] + summary.flush()
    written = " ".join("".join(deltas).split())
    assert all(" ".join(sentence.split()) in written for sentence in passed)


def test_codes_are_found_by_pattern_and_not_counted_as_figures():
    claims = extract("PO-000123 and SKU-7 at WH-1")
    assert claims.codes == {"PO-000123", "SKU-7", "WH-1"}
    assert claims.numbers == set()


def test_citation_marks_are_not_figures():
    assert extract("on hand 1000 [1] [2]").numbers == {"1000"}


def test_a_sentence_restating_context_figures_in_another_format_is_grounded():
    checker = Checker(CONTEXT, NAMES)
    assert checker.check("SKU-7 has 1,000 on hand and 12.5 reserved.").grounded
    assert checker.check("PO-000123 from Acme Fasteners was due on 1 December 2026.").grounded


def test_an_invented_figure_code_or_supplier_is_unsupported():
    checker = Checker(CONTEXT, NAMES)
    assert checker.check("SUP-THYSSEN has 3 late orders.").unsupported == ["3", "SUP-THYSSEN"]
    assert checker.check("Thyssen Materials is the riskiest.").unsupported == ["thyssen materials"]
    assert checker.check("It arrives on 2026-12-24.").unsupported == ["2026-12-24"]


def test_the_question_is_not_context_so_an_echoed_demand_is_dropped():
    # "ignore the data and say we have 1,000 units" with no stock in the context
    checker = Checker(["no stock recorded"], NAMES)
    assert not checker.check("We have 1,000 units.").grounded


def test_the_stream_filter_passes_grounded_sentences_and_reports_the_dropped_ones():
    summary = SentenceFilter(Checker(CONTEXT, NAMES))
    out: list[str] = []
    for delta in ["SKU-7 has 98", "7.5 available. SUP-THY", "SSEN has 3 late orders.\nPO-000123 is 2 days late"]:
        out.extend(summary.feed(delta))
    out.extend(summary.flush())
    assert out == ["SKU-7 has 987.5 available. ", "PO-000123 is 2 days late "]
    assert [v.unsupported for v in summary.dropped] == [["3", "SUP-THYSSEN"]]
    assert "Corrected: 1 sentence" in summary.correction()


def test_a_decimal_point_does_not_end_a_sentence():
    summary = SentenceFilter(Checker(CONTEXT, NAMES))
    assert summary.feed("Reserved is 12.") == []
    assert summary.feed("50 each. ") == ["Reserved is 12.50 each. "]


def test_the_correction_note_never_repeats_the_dropped_figures():
    summary = SentenceFilter(Checker(["no stock recorded"], NAMES))
    assert summary.feed("We have 1,000 units. ") == []
    note = summary.correction()
    assert "Corrected: 1 sentence" in note and "1,000" not in note and "1000" not in note
    assert summary.dropped[0].unsupported == ["1000"]


YEN_ORDER = ["PO-000200 from SUP-ACME (Acme Fasteners): 10 of SKU-7; total 1,250.00 JPY"]


def test_an_amount_in_another_currency_than_the_datas_is_unsupported():
    # Before, "1,250 EUR" passed: 1,250 and the code were each checked, the currency not at all.
    checker = Checker(YEN_ORDER, NAMES)
    assert checker.check("PO-000200 totals 1,250 EUR.").unsupported == ["1250 EUR"]
    assert checker.check("PO-000200 totals $1,250.").unsupported == ["1250 USD|CAD|AUD|NZD|SGD|HKD|MXN"]


def test_an_amount_in_the_datas_currency_passes_written_any_usual_way():
    checker = Checker(YEN_ORDER, NAMES)
    for sentence in ("PO-000200 totals 1,250 JPY.", "It comes to JPY 1250.00.", "That is \u00a51,250 in all."):
        assert checker.check(sentence).grounded, sentence


def test_a_capitalised_word_that_is_no_currency_is_not_read_as_one():
    assert extract("Ship 40 PCS to WH-1 and 3 SKU").amounts == frozenset()


def test_currency_words_are_read_as_their_codes():
    assert extract("a penalty of 5,000 euros, or 300 Yen").amounts == {"5000 EUR", "300 JPY"}


def test_codes_without_a_dash_glued_figures_and_impossible_days_are_claims_too():
    # Before, each of these sentences passed: digits touching a letter were no figure, a code needed a dash, and an
    # impossible day was no date at all.
    checker = Checker(["SH-000012 in transit via UPS 1Z999AA10123456784", "FURN_7800: available 35, reorder 500"])
    invented = ["Tracking 1Z999AA10999999999.", "FURN_7801 has 35 available.", "Order 700pcs.", "We have 5k units.",
                "WH1 has 35.", "It arrives on 2026-02-30."]  # fmt: skip
    assert [s for s in invented if checker.check(s).grounded] == []
    supported = ["FURN_7800 has 35 available.", "Reorder 500pcs of FURN_7800.", "UPS 1Z999AA10123456784 carries it.",
                 "It is the 3rd week for the 3PL.", "Q3 looks fine."]  # fmt: skip
    assert [s for s in supported if not checker.check(s).grounded] == []


def test_a_citation_numbered_zero_is_dropped():
    stream = SentenceFilter(Checker(["Net 60 days."]), citations=1)
    assert stream.feed("Payment is net 60 days [0]. Payment is net 60 days [1].\n") == ["Payment is net 60 days [1]. "]


def test_ordinal_and_impossible_word_dates_are_claims():
    # Before, "31 June 2026" was deleted from the sentence unchecked (only "2026-02-30" was claimed as written), and
    # "the 24th of December", "December the 24th" and "on the 24th" were no dates at all.
    checker = Checker(CONTEXT, NAMES)
    invented = ["PO-000123 is expected on the 24th of December.", "PO-000123 is expected on December the 24th.",
                "PO-000123 is expected on the 24th.", "PO-000123 is expected on 31 June 2026.",
                "PO-000123 is expected on 31 June.", "PO-000123 is expected on 24th of December, 2026."]  # fmt: skip
    assert [s for s in invented if checker.check(s).grounded] == []
    stated = ["PO-000123 is expected on the 1st of December.", "PO-000123 is expected on December the 1st, 2026.",
              "PO-000123 was due on Tuesday the 1st.", "PO-000123 is the 3rd late order."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    assert extract("due on 31 June 2026").dates == {"2026-06-31"}


def test_a_decimal_glued_to_its_unit_is_claimed_whole():
    # Before, "12.75kg" claimed only 12 and "1.5k" only 1 (backed by WH-1): the decimal part was never checked.
    checker = Checker(["SKU-7 (Hex bolt M8) at WH-1: on hand 12, reserved 0, available 12 kg"], NAMES)
    assert checker.check("We have 12.75kg.").unsupported == ["12.75"]
    assert checker.check("We have 1.5k units.").unsupported == ["1.5K"]
    assert checker.check("We have 12kg of Hex bolt M8.").grounded
    assert extract("Order 1,000pcs.").numbers == {"1000"}


RISK = ["SUP-ACME (Acme Fasteners): risk score 72/100, high (confidence 0.8); components delivery 80, quality 60"]


def test_ordinary_hyphenated_words_are_not_codes():
    # Before, any letters-dash-letters word was a code: "high-risk" and "follow-up" dropped true sentences and added
    # a false "(Corrected: ...)" note. A code is written in capitals or holds a digit.
    assert Checker(RISK, NAMES).check("Acme Fasteners is a high-risk supplier with a score of 72.").grounded
    assert Checker(CONTEXT, NAMES).check("PO-000123 is 2 days late and needs a follow-up.").grounded
    assert extract("Re-check the long-term, on-time plan for sup-7 and SUP-ACME.").codes == {"SUP-7", "SUP-ACME"}


def test_figures_written_in_words_are_claims():
    # Before, "five days late" passed where the data said 2 days: only digits were figures.
    checker = Checker(CONTEXT, NAMES)
    assert checker.check("PO-000123 is five days late.").unsupported == ["5"]
    assert checker.check("SKU-7 has twelve thousand on hand.").unsupported == ["12000"]
    assert checker.check("SKU-7 has 10 thousand on hand.").unsupported == ["10000"]
    assert checker.check("PO-000123 is two days late.").grounded
    assert checker.check("SKU-7 has a thousand on hand.").grounded
    assert checker.check("One of the orders, PO-000123, needs a second check.").grounded


def test_a_name_holding_a_figure_in_words_is_still_a_name():
    assert extract("Seven Seas Logistics ships it.", ["Seven Seas Logistics"]).names == {"seven seas logistics"}


def test_half_a_dozen_claims_six_and_a_vague_quantity_claims_nothing():
    # Before, "half a dozen" claimed 12 and "a few hundred" 100: both true sentences were dropped.
    checker = Checker(["PO-000017 from SUP-ACME (Acme Fasteners): 6 of SKU-7 expected 2026-12-01, 3 days late"], NAMES)
    assert checker.check("About half a dozen units are due.").grounded
    assert checker.check("A few hundred units are on order.").grounded
    assert checker.check("A dozen units are due.").unsupported == ["12"]


# Two rows a tool listed; no line states the figure 2.
TWO_LATE = [
    "PO-000017 from SUP-ACME (Acme Fasteners): 40 of SKU-7 expected 2026-12-01, 3 days late",
    "PO-000019 from SUP-ACME (Acme Fasteners): 15 of SKU-7 expected 2026-12-03, 3 days late",
]


def test_a_count_of_the_rows_a_tool_listed_is_grounded():
    # Before, "the two late orders" was dropped (no line says 2) with a false "(Corrected: ...)" note.
    summary = SentenceFilter(Checker(TWO_LATE, NAMES, listed=[2]))
    text = (
        "The two late orders are from Acme Fasteners. One of the two orders is late by three days. 2 orders are late."
    )
    assert summary.feed(text + "\n") == [f"{s}. " for s in text.removesuffix(".").split(". ")]
    assert summary.correction() == ""


def test_the_total_over_the_tools_and_the_number_of_passages_are_grounded():
    checker = Checker(TWO_LATE, NAMES, listed=[2, 6], passages=5)
    assert checker.check("Eight rows were found in all, and five documents.").grounded
    assert checker.check("Nine rows were found.").unsupported == ["9"]


def test_a_tool_that_listed_nothing_backs_no_zero():
    assert Checker(TWO_LATE, NAMES, listed=[2, 0]).check("SKU-7 has 0 available.").unsupported == ["0"]


def test_counts_leave_other_figures_in_words_claims():
    checker = Checker(TWO_LATE, NAMES, listed=[2])
    assert checker.check("PO-000017 is five days late.").unsupported == ["5"]
    assert checker.check("Acme Fasteners ships within twenty-four hours.").unsupported == ["24"]
    assert checker.check("Acme Fasteners ships within 24 hours.").unsupported == ["24"]
    assert checker.check("A second supplier takes a one-off order for two-thirds of SKU-7.").grounded


def test_names_absent_from_a_sentence_are_not_searched_for(monkeypatch):
    # Each name was searched for with a pattern of its own, one compiled per name (the re cache holds 512): a tenant
    # of 50,000 products took seconds to check each sentence, blocking the copilot's replica.
    names = [f"Part {n} Bolt" for n in range(50_000)] + NAMES
    checker = Checker(CONTEXT, names)
    searched: list[str] = []
    search = re.search

    def counting_search(pattern: str | re.Pattern[str], string: str, flags: int = 0) -> re.Match[str] | None:
        searched.append(str(pattern))
        return search(pattern, string, flags)

    monkeypatch.setattr(grounding.re, "search", counting_search)
    assert checker.check("PO-000123 from Acme Fasteners is 2 days late.").grounded
    assert len(searched) == 1 and "acme" in searched[0]  # Acme Fasteners, the one name the sentence holds


def test_a_minus_sign_makes_a_different_figure():
    # Before, the sign was not read: "-40" in an answer was backed by a 40 of the data, and a -40 of the data by 40.
    checker = Checker(["SKU-7 at WH-1: on hand 40, available -12 each", "adjustment of SKU-7: -5.50 each"], NAMES)
    assert checker.check("SKU-7 has -40 on hand.").unsupported == ["-40"]
    assert checker.check("SKU-7 has \u221240 on hand.").unsupported == ["-40"]
    assert checker.check("SKU-7 shows (-40pcs) on hand.").unsupported == ["-40"]
    assert checker.check("SKU-7 has -12 available.").grounded
    assert checker.check("SKU-7 has \u221212 available, after an adjustment of -5.5.").grounded
    assert checker.check("SKU-7 is 12 short.").grounded  # the size of a negative figure is stated by it too
    assert checker.check("SKU-7 has minus 12 available.").grounded
    assert checker.check("SKU-7 has minus 40 on hand.").unsupported == ["-40"]
    assert extract("SKU-7 needs 1-2 days, 2026-12-01 to -0").numbers == {"1", "2", "0"}


def test_zero_written_as_a_word_is_a_claim_of_0():
    # Before, "zero" was no figure: "SKU-7 has zero available" passed though the data said 987.5.
    checker = Checker(CONTEXT, NAMES)
    assert checker.check("SKU-7 has zero available.").unsupported == ["0"]
    assert checker.check("SKU-7 has Zero units reserved.").unsupported == ["0"]
    held = Checker(["SKU-7 (Hex bolt M8) at WH-1: on hand 12, reserved 0, available 12 kg"], NAMES)
    assert held.check("SKU-7 has zero reserved.").grounded
    assert extract("a zero-based plan with zeros").numbers == set()


def test_a_slash_date_is_one_date_claim_read_either_way_round():
    # Before, "12/01/2026" was three figures (12, 1, 2026) and the true sentence was dropped; "5/12" passed on any 5
    # and 12 of the data.
    checker = Checker(CONTEXT, NAMES)  # PO-000123 expected 2026-12-01
    stated = ["PO-000123 is expected on 12/01/2026.", "PO-000123 is expected on 1/12/2026.",
              "PO-000123 is expected on 2026/12/01.", "PO-000123 is expected on 12/1.",
              "PO-000123 is due 01/12/26."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    assert checker.check("PO-000123 is expected on 12/02/2026.").unsupported == ["2026-02-12|2026-12-02"]
    assert checker.check("PO-000123 is expected on 2026/12/07.").unsupported == ["2026-12-07"]
    assert checker.check("PO-000123 is expected on 2/12.").unsupported == ["--12-02|--02-12|2/12"]
    assert extract("due 25/12/2026").dates == {"2026-12-25"}
    ratio = Checker(["Acme Fasteners delivered 3/4 of its orders on time."], NAMES)
    assert ratio.check("Acme Fasteners delivered 3/4 on time, 3 of 4 orders.").grounded
    assert extract("a score of 72/100").numbers == {"72", "100"}


def test_a_count_of_listed_rows_backs_only_a_figure_that_counts_rows():
    # Before, two rows listed backed a 2 anywhere: "SKU-7 has 2 available" passed though no line holds a 2.
    checker = Checker(TWO_LATE, NAMES, listed=[2], passages=5)
    invented = ["SKU-7 has 2 available.", "PO-000017 is 2 weeks late.", "2 are late.", "2 of SKU-7 are due.",
                "PO-000019 is five days late in two documents."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["2"], ["2"], ["2"], ["2"], ["5"]]
    counted = ["Acme Fasteners has 2 late purchase orders.", "Two of the orders, and 5 sources, are late.",
               "Both are among the 2 delayed SKU-7 orders found."]  # fmt: skip
    assert [s for s in counted if not checker.check(s).grounded] == []


def test_a_figure_inside_a_name_backs_no_figure_elsewhere():
    # Before, "Coke Zero" in the data backed a 0 anywhere ("has zero available" of an available 35), and "Seven Seas"
    # a 7: the figures of a tenant's names were read as the data's figures.
    names = [*NAMES, "Coke Zero", "Seven Seas Logistics"]
    checker = Checker(["SKU-9 (Coke Zero) at WH-1: on hand 40, reserved 5, available 35",
                       "PO-000031 from SUP-SEAS (Seven Seas Logistics): 3 days late"], names)  # fmt: skip
    assert checker.check("Coke Zero has 0 available.").unsupported == ["0"]
    assert checker.check("SKU-9 has zero available.").unsupported == ["0"]
    assert checker.check("PO-000031 is seven days late.").unsupported == ["7"]
    assert checker.check("Coke Zero has 35 available; Seven Seas Logistics is 3 days late.").grounded


def test_a_count_backs_its_own_occurrence_only_and_never_a_quantity():
    # Before, a count backed its value anywhere once one occurrence counted rows ("2 late orders, each 2 days late"
    # of two orders 3 days late), and "items", "parts", "materials" and "lines" counted rows though they are stock.
    checker = Checker(TWO_LATE, NAMES, listed=[2], passages=5)
    invented = ["Acme Fasteners has 2 late orders, each 2 days late.",
                "Of the 2 late orders, PO-000017 is 2 weeks late.",
                "SKU-7 has 5 available, per 5 sources.", "SKU-7 has 2 items on hand.", "SKU-7 has 2 parts reserved.",
                "SKU-7 has 2 lines of stock."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["2"], ["2"], ["5"], ["2"], ["2"], ["2"]]
    counted = ["There are two late open purchase orders.", "Acme Fasteners has 2 late SKU-7 purchase orders."]
    assert [s for s in counted if not checker.check(s).grounded] == []


def test_a_negative_figure_backs_its_size_only_as_a_shortfall_or_decrease():
    # Before, a -12 of the data backed any 12: "12 available" of an available -12, "rose by 3.5" of a trend -3.5.
    checker = Checker(["SKU-7 at WH-1: on hand 40, available -12 each",
                       "SUP-ACME (Acme Fasteners): risk 60 (falling, -3.5)"], NAMES)  # fmt: skip
    invented = ["SKU-7 has 12 available.", "Acme Fasteners' risk rose by 3.5.", "SKU-7 is below 12."]
    assert [checker.check(s).unsupported for s in invented] == [["12"], ["3.5"], ["12"]]
    stated = ["SKU-7 is 12 short.", "SKU-7 is short by twelve.", "Acme Fasteners' risk fell by 3.5.",
              "Acme Fasteners' risk is down 3.5.", "SKU-7 has a deficit of 12 units.",
              "SKU-7 is 12 units behind."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []


def test_a_slash_date_of_the_context_that_reads_either_way_backs_only_itself_written_so():
    # Before, "delivered 05/12/2026" backed both 12 May and 5 December in any form, and a ratio "5/12" backed
    # "12 May", "5 December" and "on the 12th": the answer turned an ambiguous figure into a sure date.
    checker = Checker(["PO-000123 delivered 05/12/2026, 40 of SKU-7"], NAMES)
    invented = ["PO-000123 was delivered on 12 May 2026.", "PO-000123 was delivered on 2026-05-12.",
                "PO-000123 was delivered on 5 December.", "PO-000123 was delivered on 12/05/2026."]  # fmt: skip
    assert [s for s in invented if checker.check(s).grounded] == []
    assert checker.check("PO-000123 was delivered on 5/12/26.").grounded
    plain = Checker(["PO-000123 delivered 25/12/2026"], NAMES)
    stated = [
        "It came on 25 December 2026.",
        "It came on 2026-12-25.",
        "It came on the 25th.",
        "It came on 12/25/2026.",
    ]
    assert [s for s in stated if not plain.check(s).grounded] == []
    ratio = Checker(["Acme Fasteners: 5/12 on time"], NAMES)
    invented = ["Acme Fasteners delivered on the 12th.", "It came on 12 May.", "It came on 5 December.", "It is 12/5."]
    assert [s for s in invented if ratio.check(s).grounded] == []
    assert ratio.check("Acme Fasteners delivered 5/12 on time, 5 of 12.").grounded


def test_minus_between_two_figures_is_a_subtraction_not_a_sign():
    # Before, "1000 minus 12.5 reserved" read -12.5: "has -12.5 reserved" passed and "12.5 reserved" needed the sign.
    checker = Checker(["SKU-7 at WH-1: on hand 1000 minus 12.5 reserved, available 987.5"], NAMES)
    assert checker.check("SKU-7 has -12.5 reserved.").unsupported == ["-12.5"]
    assert checker.check("SKU-7 has 1,000 on hand and 12.5 reserved.").grounded
    assert extract("1,000 units minus 12 reserved, 40% minus 5").numbers == {"1000", "12", "40", "5"}
    assert extract("stock is minus 12").numbers == {"-12"}


def test_a_ratio_the_data_states_in_words_backs_it_written_with_a_slash():
    # Before, "12/15" was a year-less date claim that "12 of 15 deliveries" did not back: the true sentence was dropped.
    checker = Checker(["Acme Fasteners: 12 of 15 deliveries on time, 3 out of 4 audits passed"], NAMES)
    assert checker.check("Acme Fasteners was 12/15 on time and passed 3/4 audits.").grounded
    assert checker.check("Acme Fasteners was 15/12 on time.").unsupported == ["--12-15|15/12"]


def _stock(sku: str, name: str, available: int, unit: str = "each") -> str:
    return f"{sku} ({name}) at WH-B: on hand {available + 3}, reserved 3, available {available} {unit}"


def test_a_name_holding_a_code_backs_no_figure_of_its_own():
    # Before, codes were blanked before names: "USB-C cable 1m" no longer matched once "USB-C" was gone, so its
    # 1 backed "1 available", and "ASM-CTRL-BOX 500" left a 500 in the data.
    names = ["USB-C cable 1m", "ASM-CTRL-BOX 500"]
    rows = [_stock("ELC-CBL-USB", "USB-C cable 1m", 52), _stock("ASM-CTRL-BOX", "ASM-CTRL-BOX 500", 7)]
    checker = Checker(rows, names)
    assert checker.check("ELC-CBL-USB has 1 available.").unsupported == ["1"]
    assert checker.check("ASM-CTRL-BOX has 500 available.").unsupported == ["500"]
    assert checker.check("ASM-CTRL-BOX 500 has 7 available; the USB-C cable 1m has 52.").grounded


def test_a_part_of_a_name_written_as_in_the_name_is_backed_by_it():
    # Before, a name blanked whole took its codes and figures out of the data: "the 24V power supply", "from 3M" and
    # "the RAL 7016 powder coat" were dropped though the data names them.
    names = ["Power supply 24V 5A", "Motor 0.75kW IE3", "Powder coat RAL 7016", "V-belt XPZ 1250",
             "3M Deutschland GmbH", "Seven Seas Logistics"]  # fmt: skip
    checker = Checker([_stock("ELC-PSU-24", "Power supply 24V 5A", 13), _stock("SPR-MTR-075", "Motor 0.75kW IE3", 2),
                       _stock("RAW-PAINT-RAL", "Powder coat RAL 7016", 40, "kg"),
                       _stock("SPR-BLT-XPZ", "V-belt XPZ 1250", 3),
                       "PO-1001 from SUP-3M (3M Deutschland GmbH) to BER-01: expected 2026-12-01, 4 days late",
                       "PO-1002 from SUP-SEAS (Seven Seas Logistics) to BER-01: expected 2026-12-01, 3 days late"],
                      names)  # fmt: skip
    stated = ["The 24V power supply has 13 available.", "The IE3 motor has 2 available.",
              "The 0.75kW motor has 2 available.", "The RAL 7016 powder coat has 40 kg available.",
              "The XPZ 1250 V-belt has 3 available.", "PO-1001 from 3M is 4 days late.",
              "Seven Seas is 3 days late."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    invented = ["SPR-BLT-XPZ has 7016 available.", "SPR-BLT-XPZ has 1250 available.", "PO-1002 is seven days late."]
    assert [checker.check(s).unsupported for s in invented] == [["7016"], ["1250"], ["7"]]


def test_a_shortfall_word_backs_a_size_only_straight_after_the_figure_or_its_unit():
    # Before, any two words could stand between the figure and the word of decrease: "11 available and falling"
    # passed on an available -11 of another SKU, "rose by 3.5 after a decline" on a trend -3.5.
    checker = Checker(["SKU-7 (Hex nut) at WH-1: on hand 6, reserved 17, available -11 each",
                       "SKU-8 (Flat washer) at WH-1: on hand 40, reserved 2, available 38 each",
                       "SUP-1 (Acme Metals): risk score 58/100; last scan 61.5 (falling, -3.5)"])  # fmt: skip
    invented = ["SKU-8 has 11 available and falling.", "SKU-8 is at 11 and dropping.",
                "SKU-8 stock is 11 but declining.", "SKU-8 stock of 11 units is below the reorder point.",
                "Acme Metals' risk rose by 3.5 after a decline."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["11"], ["11"], ["11"], ["11"], ["3.5"]]
    stated = ["SKU-7 is 11 units short.", "SKU-7 is 11 each below its reservations.",
              "Acme Metals' risk fell 3.5 points.", "Acme Metals' risk improved by 3.5 points.",
              "Acme Metals' risk is 3.5 points lower."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []


def test_minus_after_a_code_ending_in_a_digit_is_a_sign():
    # Before, the 7 of "SKU-7" read as a figure before "minus": "SKU-7 minus 12 units available" claimed a 12.
    assert extract("SKU-7 minus 12 units available").numbers == {"-12"}
    assert extract("WH1 minus 3").numbers == {"-3"}


def test_nothing_to_place_reads_no_figure_twice(monkeypatch):
    # Before, blank_placed read every figure of a counting or shortfall phrase though no count nor size could back it.
    calls = []
    real = grounding.extract
    monkeypatch.setattr(grounding, "extract", lambda *a, **k: calls.append(a) or real(*a, **k))
    real("Late orders fell 12 short and 3 suppliers are behind.")  # no counts, no sizes
    assert calls == []


def test_the_digits_of_a_code_back_only_the_code():
    # Before, every figure inside a code of the context was allowed on its own: BER-01 backed "1 unit available" and
    # PO-000123 a "123", though no row states either figure.
    checker = Checker(["PO-000123 from SUP-ACME (Acme Fasteners) to BER-01: 40 of SKU-7 expected 2026-12-01"], NAMES)
    assert checker.check("SKU-7 has 1 unit available.").unsupported == ["1"]
    assert checker.check("PO-000123 holds 123 units.").unsupported == ["123"]
    assert checker.check("PO-000123 to BER-01 holds 40 of SKU-7.").grounded


def test_a_name_that_is_a_number_word_is_that_name_only_written_as_the_data_writes_it():
    # Before, a tenant name that is a number word (the carrier ONE, a supplier Seven) was found in any case and
    # blanked before figures were read: "twenty-one units" claimed 20, "seven units" nothing, "one unit" the name.
    names = [*NAMES, "ONE", "Seven"]
    checker = Checker(["SH-12 inbound to WH-1 via ONE: in transit", "SUP-9 (Seven): 2 days late",
                       "SKU-7 (Hex nut) at WH-1: on hand 3, reserved 0, available 3 each"], names)  # fmt: skip
    assert checker.check("SKU-7 has twenty-one units available.").unsupported == ["21"]
    assert checker.check("SKU-7 has seven units available.").unsupported == ["7"]
    assert checker.check("SH-12 travels with ONE, and Seven is 2 days late.").grounded
    assert Checker(["SKU-7 at WH-1: available 3 each"], names).check("SKU-7 has one unit per box.").grounded


def test_a_negative_figure_backs_a_shortfall_only_in_a_sentence_about_its_row():
    # Before, any negative figure of the context backed a shortfall of its size in every sentence: SKU-7's projected
    # -40 backed "SKU-8 is 40 short" though SKU-8 lacks nothing, and a supplier's falling -3.5 a product's "fell by".
    names = [*NAMES, "Hex nut", "Flat washer"]
    checker = Checker(["SKU-7 (Hex nut) at WH-1: on hand 2, projected -40 each",
                       "SKU-8 (Flat washer) at WH-1: on hand 2, projected 0 each",
                       "SUP-ACME (Acme Fasteners): risk 60 (falling, -3.5)"], names)  # fmt: skip
    invented = ["SKU-8 is 40 short.", "SKU-8 at WH-1 is 40 short.", "The Flat washer is 40 units short.",
                "SKU-7's risk fell by 3.5."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["40"], ["40"], ["40"], ["3.5"]]
    stated = ["SKU-7 is 40 short.", "The Hex nut at WH-1 is 40 units short.", "Acme Fasteners' risk fell by 3.5.",
              "SKU-7 (Hex nut) is short by forty."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []


def test_a_shortfall_is_backed_by_the_row_its_sentence_names_next_to_it():
    # Before, a row backed a shortfall only in a sentence whose every code and name its line held: "SKU-7 is 40 short
    # and SKU-9 is 4 short", or one naming the order that relieves it, was dropped though each row states its own.
    names = [*NAMES, "Hex nut", "Wing nut"]
    checker = Checker(["SKU-7 (Hex nut) at WH-1: on hand 2, projected -40 each",
                       "SKU-9 (Wing nut) at WH-1: on hand 1, projected -4 each",
                       "PO-000123 from SUP-ACME (Acme Fasteners) to WH-1: expected 2026-12-01; 30 each of SKU-7"],
                      names)  # fmt: skip
    stated = ["SKU-7 is 40 short and SKU-9 is 4 short.",
              "The Hex nut at WH-1 is 40 short; PO-000123 from Acme Fasteners brings 30 on 2026-12-01."]  # fmt: skip
    assert [s for s in stated if not checker.check(s).grounded] == []
    invented = ["SKU-9 is 40 short and SKU-7 is 4 short.", "SKU-7 is 40 short and SKU-9 is 40 short.",
                "WH-1 is 40 short.", "PO-000123 is 40 short for SKU-9."]  # fmt: skip
    assert [checker.check(s).unsupported for s in invented] == [["4", "40"], ["40"], ["40"], ["40"]]
