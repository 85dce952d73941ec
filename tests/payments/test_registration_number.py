"""The qualified-invoice registration number (payments.registration_number): what people type
is read as "T" and 13 ASCII digits, anything else is refused on its field with a message that
shows a good number, and a number that is not a corporate number needs the person's word."""

from __future__ import annotations

import pytest
from flask_babel import LazyString

from community.core.errors import DomainError
from community.payments.registration_number import (
    NotACorporateNumber,
    check_registration_number,
    corporate_check_digit,
    normalise_registration_number,
    passes_corporate_check,
)

NTA = "T7000012050002"  # the National Tax Agency's own
EXAMPLE = "T7000012050002"  # the good number every message shows


def _check_digit_by_hand(twelve: str) -> int:
    """The rule as the National Tax Agency writes it, independently of the module's code: P1
    is the last digit, Q is 1 for odd n and 2 for even n."""
    total = 0
    for n in range(1, 13):
        p = int(twelve[12 - n])
        q = 1 if n % 2 == 1 else 2
        total += p * q
    return 9 - (total % 9)


def refusal(raw: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        normalise_registration_number(raw)
    assert caught.value.field == "registration_number"
    assert isinstance(caught.value.message, LazyString), "messages are translated when shown"
    assert EXAMPLE in str(caught.value), "a refusal shows what a good number looks like"
    return caught.value


# --- the check digit -----------------------------------------------------------------------------


def test_the_national_tax_agencys_own_number_passes_the_check_digit():
    assert corporate_check_digit("000012050002") == 7
    assert passes_corporate_check(NTA)
    assert check_registration_number(NTA) == NTA


@pytest.mark.parametrize(
    "number",
    [
        "T1180301018771",  # Toyota Motor Corporation
        "T4000012010017",  # the Digital Agency
        "T9000000000000",  # a weighted sum of 0: the check digit is 9, never 0
        "T9000000000009",  # a weighted sum of 9
    ],
)
def test_real_and_edge_corporate_numbers_pass_the_check_digit(number):
    assert passes_corporate_check(number)
    assert passes_corporate_check(number[1:]), "the 13 digits alone are checked the same way"
    assert check_registration_number(number) == number


@pytest.mark.parametrize(
    "twelve",
    [
        "000012050002",
        "180301018771",
        "123456789012",
        "999999999999",
        "010101010101",
        "000000000001",
    ],
)
def test_the_check_digit_is_nine_less_the_weighted_sum_mod_nine(twelve):
    digit = corporate_check_digit(twelve)
    assert digit == _check_digit_by_hand(twelve)
    assert passes_corporate_check(f"T{digit}{twelve}")


def test_every_other_first_digit_fails_the_check():
    failing = [
        first for first in "0123456789" if not passes_corporate_check(f"T{first}000012050002")
    ]
    assert failing == [first for first in "0123456789" if first != "7"]


def test_weights_count_from_the_right_not_the_left():
    # Weighted from the left, 100000000000 would weigh 1 × 2 and its check digit would be 7.
    assert corporate_check_digit("100000000000") == 9 - (1 * 2) % 9 == 7
    assert corporate_check_digit("000000000001") == 9 - 1 == 8
    assert corporate_check_digit("000000000010") == 9 - 2 == 7


@pytest.mark.parametrize(
    "twelve",
    [
        "",
        "12345678901",
        "1234567890123",
        "12345678901x",
        "١٢٣٤٥٦٧٨٩٠١٢",
        "１２３４５６７８９０１２",
    ],
)
def test_the_check_digit_is_computed_only_from_twelve_ascii_digits(twelve):
    with pytest.raises(ValueError, match="12 ASCII digits"):
        corporate_check_digit(twelve)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "T",
        "T700001205000",
        "T70000120500021",
        "X7000012050002",
        "t7000012050002",
        "T 7000012050002",
        "T٧000012050002",
    ],
)
def test_anything_but_a_canonical_number_does_not_pass_the_check(number):
    assert not passes_corporate_check(number)


# --- confirming a number that is not a corporate number ------------------------------------------


def test_a_number_failing_the_check_digit_is_refused_unless_confirmed():
    sole_proprietor = "T1234567890123"
    assert not passes_corporate_check(sole_proprietor)
    with pytest.raises(NotACorporateNumber) as caught:
        check_registration_number(sole_proprietor)
    error = caught.value
    assert isinstance(error, DomainError)
    assert error.field == "registration_number"
    assert error.number == sole_proprietor
    assert error.code != DomainError.code, "a form tells it from other refusals by its code"
    assert error.http_status == 422
    assert str(error) == (
        "T1234567890123 is not a corporation's registration number: its check digit does not"
        " match. Check the number, or, if it is a sole proprietor's registration number, tick the"
        " box to confirm it."
    )
    assert isinstance(error.message, LazyString)
    assert check_registration_number(sole_proprietor, confirmed=True) == sole_proprietor


def test_the_confirmation_shows_the_number_as_normalised():
    with pytest.raises(NotACorporateNumber) as caught:
        check_registration_number("ｔ１２３４ー５６７８ー９０１２３")
    assert caught.value.number == "T1234567890123"
    assert str(caught.value).startswith("T1234567890123 is not")


def test_confirming_does_not_let_a_malformed_number_through():
    for raw in ["", "7000012050002", "T123", "T12345678901x3"]:
        with pytest.raises(DomainError) as caught:
            check_registration_number(raw, confirmed=True)
        assert not isinstance(caught.value, NotACorporateNumber)
        assert caught.value.field == "registration_number"


def test_a_confirmed_corporate_number_is_simply_accepted():
    assert check_registration_number(NTA, confirmed=True) == NTA


# --- normalising what people type ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "T7000012050002",
        "t7000012050002",
        "  T7000012050002\u3000",
        "T 7000-0120-50002",
        "T-7000-0120-50002",
        "T 7000 0120 50002",
        "Ｔ７０００－０１２０－５０００２",  # full-width, as a Japanese input method types it
        "ｔ７０００ ０１２０ ５０００２",
        "Ｔ\u3000７０００\u3000０１２０\u3000５０００２",  # ideographic spaces
        "T7000ー0120ー50002",  # the long vowel mark a Japanese input method types for "-"
        "T7000\u22120120\u201350002",  # a minus sign and an en dash from a word processor
        "T7000\u00a00120\u00a050002",  # no-break spaces, from a PDF or a web page
    ],
)
def test_what_people_type_is_read_as_t_and_thirteen_ascii_digits(typed):
    assert normalise_registration_number(typed) == NTA
    assert check_registration_number(typed) == NTA


def test_the_normalised_number_is_pure_ascii():
    number = normalise_registration_number("Ｔ７０００－０１２０－５０００２")
    assert number.isascii() and len(number) == 14


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "   ", "\u3000", "\t\n"])
def test_an_empty_number_is_asked_for(typed):
    assert str(refusal(typed)) == (
        "Enter the registration number: T followed by 13 digits, such as T7000012050002."
    )


def test_none_is_asked_for_like_an_empty_number():
    assert "Enter the registration number" in str(refusal(None))  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["7000012050002", "7000-0120-50002", "X7000012050002", "番号T70"])
def test_a_number_without_its_leading_t_is_refused(typed):
    assert str(refusal(typed)) == (
        "A registration number starts with T, followed by 13 digits, such as T7000012050002."
    )


@pytest.mark.parametrize(
    ("typed", "count"),
    [("T", 0), ("T-", 0), ("T700001205000", 12), ("T70000120500021", 14), ("T7000 0120 5000", 12)],
)
def test_a_number_with_other_than_thirteen_digits_is_refused_with_the_count(typed, count):
    assert str(refusal(typed)) == (
        f"This number has {count} digits after the T; a registration number has 13, such as"
        " T7000012050002."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "T\x007000012050002",  # NUL: PostgreSQL refuses it
        "T7000012050002\x00",
        "T7000\x0112050002",
        "T7000012050002\x7f",  # DEL
        "T7000012050002\x85",  # NEL, a C1 control
        "T7000\u202801205000",  # a line separator
        "T7000\u200b012050002",  # a zero-width space
        "T\u202e7000012050002",  # a right-to-left override
        "\ufeffT7000012050002",  # a byte order mark
        "T\ud8007000012050002",  # a lone surrogate
    ],
)
def test_control_and_invisible_characters_are_refused(typed):
    assert str(refusal(typed)) == (
        "Remove the control or invisible characters from the registration number: it is T"
        " followed by 13 digits, such as T7000012050002."
    )


NOT_A_DIGIT = (
    "A registration number holds only T and the digits 0 to 9 (spaces and hyphens between them"
    " are fine), such as T7000012050002."
)


@pytest.mark.parametrize(
    "typed",
    [
        "T700001205000O",  # a letter O for a zero
        "TT7000012050002",
        "T7000.0120.50002",
        "T7000/0120/50002",
        "T+7000012050002",
        "T٧٠٠٠٠١٢٠٥٠٠٠٢",  # Arabic-Indic digits: str.isdigit() says yes, NFKC leaves them be
        "T700001205000٧",
        "T७००००१२०५०००२",  # Devanagari
        "T700001205000²",  # a superscript, which NFKC would read as 2
        "T700001205000①",  # a circled digit, which NFKC would read as 1
        "T700001205000𝟐",  # mathematical bold, which NFKC would read as 2
        "T7000012050002 円",
        "T<script>1</script>",
    ],
)
def test_anything_that_is_not_an_ascii_digit_is_refused(typed):
    assert str(refusal(typed)) == NOT_A_DIGIT


def test_arabic_indic_digits_are_refused_although_python_calls_them_digits():
    arabic_indic = "٧٠٠٠٠١٢٠٥٠٠٠٢"
    assert arabic_indic.isdigit() and len(arabic_indic) == 13
    assert str(refusal("T" + arabic_indic)) == NOT_A_DIGIT


@pytest.mark.parametrize(
    "typed",
    ["T" + "1" * 10_000, "x" * 10_000, "T7000012050002" + " " * 9_000 + "1", "Ｔ" + "１" * 9_999],
)
def test_a_huge_input_is_refused_as_too_long(typed):
    assert str(refusal(typed)) == (
        "This is too long for a registration number, which is T followed by 13 digits, such as"
        " T7000012050002."
    )


def test_a_huge_input_with_a_nul_is_refused_without_reading_it_all():
    assert "too long" in str(refusal("T" + "\x00" * 10_000))
