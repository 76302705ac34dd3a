"""Top-k probability mass against the hit rate, on a model whose scores are known."""

import numpy as np
import torch

from sasrec_utils.data.sequences import Sequences, offsets_from_lengths
from sasrec_utils.data.splits import EvalSet
from sasrec_utils.evaluation.calibration import top_k_calibration


class FixedScores(torch.nn.Module):
    """Scores log(1, 2, 3, 4) for items 1..4 whatever the history: softmax 0.1 .. 0.4."""

    def score_last(self, seq: torch.Tensor) -> torch.Tensor:
        row = torch.log(torch.tensor([1.0, 1.0, 2.0, 3.0, 4.0]))
        return row.expand(len(seq), -1).clone()


def test_top_k_mass_masks_the_history_and_counts_hits():
    histories = Sequences(np.array([4, 1], dtype=np.int64), offsets_from_lengths(np.array([1, 1])))
    queries = EvalSet(histories, targets=np.array([3, 2]), users=np.array([0, 1]))
    result = top_k_calibration(FixedScores(), queries, max_len=4, k=1)
    # query 0: item 4 seen, left 1,2,3 with weights 1,2,3 (padding column 0 masked): top is
    # item 3 with 3/6; hit. Query 1: item 1 seen, left 2,3,4 (2,3,4): top item 4 with 4/9; miss
    assert np.isclose(result["top_k_probability"], (3 / 6 + 4 / 9) / 2)
    assert result["hit_rate"] == 0.5 and result["queries"] == 2
