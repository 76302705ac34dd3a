"""IdMap: external ids <-> internal indices, each id's value and type kept through files."""

import json

import numpy as np
import pytest

from sasrec_utils.data import IdMap

HASHED = np.array([2**53 + 1, 2**64 - 1, 7], dtype=np.uint64)  # float64 would round both


def test_internal_ids_start_at_one_and_unknown_ids_map_to_padding():
    ids = IdMap(np.array(["b", "a", "c"]))
    assert ids.to_internal(["a", "zz", "c"]).tolist() == [2, 0, 3]
    assert ids.to_external([3, 1]).tolist() == ["c", "b"]
    assert len(ids) == 3 and "a" in ids and "zz" not in ids and ids.get("zz") == 0


def test_hashed_uint64_ids_survive_a_json_round_trip_exactly():
    values, dtype = IdMap(HASHED).to_plain()
    back = IdMap.from_plain(json.loads(json.dumps(values)), dtype)
    assert back.external.dtype == np.uint64
    assert back.external.tolist() == HASHED.tolist()
    assert back.to_internal([2**64 - 1]).tolist() == [2]


def test_mixed_int_and_str_ids_keep_their_types():
    mixed = np.array([7003, "7003", np.int64(12)], dtype=object)
    values, dtype = IdMap(mixed).to_plain()
    assert [type(v) for v in values] == [int, str, int]  # plain Python, no numpy scalars
    back = IdMap.from_plain(values, dtype)
    assert back.to_internal([7003, "7003", 12]).tolist() == [1, 2, 3]


def test_the_map_is_read_only_and_independent_of_the_caller_array():
    source = np.array([5, 6])
    ids = IdMap(source)
    source[0] = 9
    assert ids.to_external([1]).tolist() == [5]
    with pytest.raises(ValueError):
        ids.external[0] = 1


def test_a_single_id_where_a_list_is_expected_is_named():
    with pytest.raises(TypeError, match=r"exclude must be a collection of item ids.*\[7003\]"):
        IdMap(np.array([7003])).to_internal(7003, name="exclude")


def test_duplicate_ids_are_refused_naming_them():
    with pytest.raises(
        ValueError, match=r"item ids must be unique; 1 repeated: 7000 at positions 0 and 1"
    ):
        IdMap(np.array([7000, 7000, 7001, 7002]))


def test_padding_and_out_of_range_indices_have_no_external_id():
    ids = IdMap(np.array([7000, 7001, 7002]))
    assert ids.to_external([1, 3]).tolist() == [7000, 7002]
    with pytest.raises(ValueError, match=r"\[0\] are not items: items are 1\.\.3 \(0 is padding\)"):
        ids.to_external([0])
    with pytest.raises(ValueError, match=r"\[4\] are not items"):
        ids.to_external([4])


def test_missing_ids_are_refused_naming_positions():
    with pytest.raises(ValueError, match=r"must not be missing.*2 are, at positions \[0, 2\]"):
        IdMap(np.array([np.nan, 5.0, np.nan]))
    with pytest.raises(ValueError, match=r"at positions \[1\]"):
        IdMap(np.array(["a", None], dtype=object))


def test_a_fractional_internal_index_is_refused_not_cut():
    ids = IdMap(np.array([7000, 7001, 7002]))
    with pytest.raises(ValueError, match=r"must be integers, got float64 \(e\.g\. 1\.9\)"):
        ids.to_external([1.9])
    assert ids.to_external(np.array([2], dtype=np.uint32)).tolist() == [7001]
