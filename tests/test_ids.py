"""Ids are normalised by one rule at ingest and at query time."""

import math

import numpy as np
import pytest

from kg.ids import InvalidIdError, id_variants, normalise_id


@pytest.mark.parametrize("raw", [1001, 1001.0, np.int64(1001), "1001", " 1001 ", "1001\n"])
def test_numbers_and_padded_strings_are_the_same_id(raw):
    assert normalise_id(raw) == "1001"


@pytest.mark.parametrize("raw", [True, math.nan, math.inf, [1, 2], {"a": 1}, "", "   ", None, "x" * 513])
def test_values_that_are_not_ids_are_refused_with_a_reason(raw):
    with pytest.raises(InvalidIdError):
        normalise_id(raw)


def test_variants_include_the_raw_and_canonical_forms():
    assert {"7", " 7 ", "7.0"} <= id_variants(" 7 ") | id_variants(7.0)
